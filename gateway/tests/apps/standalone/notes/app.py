import json
import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE"])


def handler(event, context):
    connection_id = event["requestContext"]["connectionId"]
    text = json.loads(event["body"])["text"]
    table.put_item(Item={"connectionId": connection_id, "text": text})
    stored = table.get_item(Key={"connectionId": connection_id})["Item"]
    return {"statusCode": 200, "body": json.dumps({"stored": stored["text"]})}
