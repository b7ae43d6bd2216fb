import json
import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def on_connect(event, context):
    table.put_item(Item={"connectionId": event["requestContext"]["connectionId"]})
    return {"statusCode": 200, "body": "Connected."}


def on_disconnect(event, context):
    table.delete_item(Key={"connectionId": event["requestContext"]["connectionId"]})
    return {"statusCode": 200, "body": "Disconnected."}


def send_message(event, context):
    ctx = event["requestContext"]
    api = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"https://{ctx['domainName']}/{ctx['stage']}",
    )
    data = json.loads(event["body"])["data"]
    for item in table.scan(ProjectionExpression="connectionId")["Items"]:
        try:
            api.post_to_connection(ConnectionId=item["connectionId"], Data=data.encode())
        except api.exceptions.GoneException:
            print(f"Found stale connection, deleting {item['connectionId']}")
            table.delete_item(Key={"connectionId": item["connectionId"]})
    return {"statusCode": 200, "body": "Data sent."}
