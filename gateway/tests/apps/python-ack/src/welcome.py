"""Greets a new socket through @connections, once its handshake is done."""
import time

import boto3


def handler(event, context):
    api = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"https://{event['domainName']}/{event['stage']}",
    )
    # The invoke can win the race with the handshake it was sent from: retry briefly.
    for _ in range(20):
        try:
            api.post_to_connection(
                ConnectionId=event["connectionId"],
                Data=f"welcome, {event['connectionId']}".encode(),
            )
            return
        except api.exceptions.GoneException:
            time.sleep(0.1)
    raise RuntimeError(f"connection {event['connectionId']} never opened")
