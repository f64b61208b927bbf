"""Object triggers that batch (as S3 -> SQS -> Lambda does) and destinations that chain functions."""

import json

import ripple
from ripple import App

app = App("batching")
site = app.bucket("site-src")
app.table("log", hash_key="id:S")


def log(kind, payload):
    r = ripple.connect().table("log")
    n = r.update({"id": f"{kind}#n"}, update="ADD n :one", values={":one": 1}, return_values="ALL_NEW")["n"]
    r.put({"id": f"{kind}#{n}", "payload": json.dumps(payload, sort_keys=True)})


@app.on_object(site, events=["s3:ObjectCreated:*", "s3:ObjectRemoved:*"], prefix="content/", batch_size=100,
               batch_window_s=0.5, on_success="function:after_build")  # fmt: skip
def build(event, context):
    log("build", sorted(r["s3"]["object"]["key"] for r in event["Records"]))
    return {"built": len(event["Records"])}


@app.function()
def after_build(event, context):
    log("after", {"condition": event["requestContext"]["condition"], "response": event["responsePayload"]})


@app.on_object(site, events=["s3:ObjectCreated:*"], prefix="big/", on_success="function:after_build")
def big_numbers(event, context):
    return {"big": 2**70 + len(event["Records"]), "key": event["Records"][0]["s3"]["object"]["key"]}
