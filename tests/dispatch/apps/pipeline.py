"""An app exercising every trigger kind; handlers record what they saw in a table, so the test can
read it back through the store (sandboxes have a private /tmp)."""

import base64
import json
import os

import ripple
from ripple import App

app = App("pipeline")
uploads = app.bucket("uploads")
games = app.table("games", hash_key="event_key:S", range_key="start_timestamp:N", stream="NEW_AND_OLD_IMAGES")
seen = app.table("seen", hash_key="fn:S", range_key="n:N")
jobs = app.stream("jobs", shards=2)
alerts = app.topic("alerts")
failures = app.topic("failures")


def note(fn, payload):
    r = ripple.connect()
    t = r.table("seen")
    n = t.update({"fn": f"{fn}#count", "n": 0}, update="ADD c :one", values={":one": 1}, return_values="ALL_NEW")["c"]
    t.put({"fn": fn, "n": n, "payload": json.dumps(payload, sort_keys=True)})


@app.on_object(uploads, events=["s3:ObjectCreated:*"], prefix="in/", suffix=".txt")
def on_upload(event, context):
    rec = event["Records"][0]
    note(
        "on_upload", {"key": rec["s3"]["object"]["key"], "name": rec["eventName"], "cfg": rec["s3"]["configurationId"]}
    )


@app.on_object(uploads, events=["s3:ObjectRemoved:*"], prefix="in/")
def on_remove(event, context):
    note("on_remove", {"key": event["Records"][0]["s3"]["object"]["key"]})


@app.on_table(games, batch_size=10, starting_position="TRIM_HORIZON")
def roll_a(event, context):
    note("roll_a", [r["dynamodb"]["Keys"]["start_timestamp"]["N"] for r in event["Records"]])


@app.on_table(games, batch_size=3, starting_position="TRIM_HORIZON")
def roll_b(event, context):
    note("roll_b", [r["dynamodb"]["Keys"]["start_timestamp"]["N"] for r in event["Records"]])


@app.on_table(games, batch_size=100, starting_position="TRIM_HORIZON", filters=[{"eventName": ["INSERT"]}])
def inserts_only(event, context):
    note("inserts_only", [(r["eventName"], r["dynamodb"]["Keys"]["start_timestamp"]["N"]) for r in event["Records"]])


KEYS_FILTER = {
    "dynamodb": {"Keys": {"event_key": {"S": [{"prefix": "u"}]}, "start_timestamp": {"N": [{"anything-but": ["2"]}]}}}
}


@app.on_table(games, batch_size=100, starting_position="TRIM_HORIZON", filters=[KEYS_FILTER])
def keys_filtered(event, context):
    note(
        "keys_filtered",
        [
            [
                r["dynamodb"]["Keys"]["event_key"]["S"],
                r["dynamodb"]["Keys"]["start_timestamp"]["N"],
                r["dynamodb"]["NewImage"]["score"]["N"] if "NewImage" in r["dynamodb"] else None,
            ]
            for r in event["Records"]
        ],
    )


@app.on_stream(
    jobs,
    batch_size=50,
    starting_position="TRIM_HORIZON",
    bisect_on_error=True,
    max_retry_attempts=1,
    on_failure="topic:failures",
)
def work(event, context):
    data = [json.loads(base64.b64decode(r["kinesis"]["data"])) for r in event["Records"]]
    if any(d.get("poison") for d in data):
        raise ValueError("poison record")
    note("work", data)


@app.on_topic(alerts, filter_policy={"level": ["error"]}, retry_attempts=1)
def page(event, context):
    msg = event["Records"][0]["Sns"]["Message"]
    if msg == "explode":
        raise RuntimeError("cannot page")
    note("page", msg)


@app.on_topic(failures)
def failed(event, context):
    note("failed", json.loads(event["Records"][0]["Sns"]["Message"]))


@app.schedule("rate(5 minutes)")
def tick(event, context):
    note("tick", event["time"])


@app.function()
def echo(event, context):
    return {"pid": os.getpid(), "event": event}
