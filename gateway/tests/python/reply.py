"""Answers each message through @connections at the API's AWS URL, built from the
event as code written for AWS does (boto3)."""
import os

import boto3


def handler(event, context):
    ctx = event["requestContext"]
    region = os.environ["AWS_REGION"]
    api = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"https://{ctx['apiId']}.execute-api.{region}.amazonaws.com/{ctx['stage']}",
    )
    api.post_to_connection(ConnectionId=ctx["connectionId"], Data=f"python: {event['body']}".encode())
    return {"statusCode": 200}
