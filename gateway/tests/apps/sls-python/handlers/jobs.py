import json


def work(event, context):
    failures = []
    for record in event["Records"]:
        job = json.loads(record["body"])
        if "joined" not in job:
            failures.append({"itemIdentifier": record["messageId"]})
        else:
            print(f"someone joined {job['joined']}")
    return {"batchItemFailures": failures}
