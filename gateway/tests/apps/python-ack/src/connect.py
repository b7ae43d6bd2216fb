"""$connect: store the socket, then let a worker greet it. The socket is not open
until this function returns, so it cannot post to it itself."""
import json
import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
lambda_client = boto3.client("lambda")


def handler(event, context):
    ctx = event["requestContext"]
    table.put_item(Item={"connectionId": ctx["connectionId"]})
    lambda_client.invoke(
        FunctionName=os.environ["WELCOME_FUNCTION"],
        InvocationType="Event",
        Payload=json.dumps(
            {"connectionId": ctx["connectionId"], "domainName": ctx["domainName"], "stage": ctx["stage"]}
        ),
    )
    return {"statusCode": 200}
