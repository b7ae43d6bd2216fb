"""Starts a helper in a session of its own, as handlers that shell out do."""
import subprocess


def handler(event, context):
    subprocess.Popen(["sleep", "300"], start_new_session=True)
    return {"statusCode": 200, "body": "spawned"}
