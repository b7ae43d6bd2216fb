import json
import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["ROOMS_TABLE"])
jobs = boto3.client("sqs")


def join(event, context):
    body = json.loads(event["body"])
    connection_id = event["requestContext"]["connectionId"]
    table.update_item(
        Key={"room": body["room"]},
        UpdateExpression="ADD members :me",
        ExpressionAttributeValues={":me": {connection_id}},
    )
    members = table.get_item(Key={"room": body["room"]})["Item"]["members"]
    jobs.send_message(QueueUrl=os.environ["JOBS_QUEUE_URL"], MessageBody=json.dumps({"joined": body["room"]}))
    return {
        "statusCode": 200,
        "body": json.dumps({"greeting": os.environ["GREETING"], "room": body["room"], "members": len(members)}),
    }


def default(event, context):
    offline = bool(os.environ.get("IS_OFFLINE"))
    return {"statusCode": 200, "body": json.dumps({"unknown": event.get("body"), "offline": offline})}


def health(event, context):
    return {"statusCode": 200, "body": json.dumps({"ok": True, "stage": os.environ.get("STAGE", "?")})}
