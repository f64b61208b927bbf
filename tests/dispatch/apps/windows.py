"""A tumbling window whose state holds an integer beyond 64 bits, which Python's json keeps exact."""

import json

import ripple
from ripple import App

app = App("windows")
counts = app.stream("counts", shards=1)
app.table("finals", hash_key="window:S")


@app.on_stream(counts, batch_size=2, starting_position="TRIM_HORIZON", tumbling_window_s=60)
def tally(event, context):
    total = event["state"].get("total", 2**70) + len(event["Records"])
    if event["isFinalInvokeForWindow"]:
        ripple.connect().table("finals").put({"window": event["window"]["start"], "state": json.dumps(event["state"])})
    return {"state": {"total": total}}
