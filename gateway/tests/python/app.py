"""A Python Lambda handler for the gateway's tests, run by the official awslambdaric."""
import json


def handler(event, context):
    ctx = event["requestContext"]
    if ctx["eventType"] != "MESSAGE":
        return {"statusCode": 200}
    if json.loads(event["body"]).get("do") == "error":
        raise ValueError("python handler failing on purpose")
    reply = {
        "python": True,
        "echo": event["body"],
        "routeKey": ctx["routeKey"],
        "function": context.function_name,
        "arn": context.invoked_function_arn,
        "remainingMs": context.get_remaining_time_in_millis(),
    }
    return {"statusCode": 200, "body": json.dumps(reply)}
