import json
import os

import boto3

sqs = boto3.client("sqs")


def handler(event, context):
    data = json.loads(event["body"])["data"]
    sqs.send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=json.dumps({"data": data}))
    return {"statusCode": 200}
