import json
import subprocess

from greeting import greet


def handler(event, context):
    tool = subprocess.run(["layer-tool"], capture_output=True, text=True, check=True).stdout.strip()
    return {"statusCode": 200, "body": json.dumps({"imported": greet("python"), "tool": tool})}
