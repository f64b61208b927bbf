"""The ripple side of bench/dispatch: one no-op function per feed, run by ``ripple serve``.

- ``noop_object``: one invocation per object-created event (``@app.on_object``); the object key is
  ``o/<id>``.
- ``noop_table``: batches of up to 100 stream records of the ``feed`` table (``@app.on_table``); the
  item's hash key is the id.

Each handler takes ``time.time()`` on entry and records it for every event it got (see stamp.py).
"""

import os
import time

import stamp

from ripple import App

app = App("benchdispatch")
bucket = app.bucket("bench-objects")
feed = app.table("feed", hash_key="id:N", stream="NEW_AND_OLD_IMAGES")

# The sandbox's environment is the function's, not the platform's: hand the stamp folder on.
ENV = {"BENCH_STAMPS": os.environ.get("BENCH_STAMPS", "/dev/shm")}


def noop_object(event, context):
    t = time.time()
    stamp.mark([int(r["s3"]["object"]["key"][2:]) for r in event["Records"]], t)


def noop_table(event, context):
    t = time.time()
    stamp.mark([int(r["dynamodb"]["Keys"]["id"]["N"]) for r in event["Records"]], t)


# One feed per platform (BENCH_FEED), so neither run pays for polling the other's idle trigger.
if os.environ.get("BENCH_FEED", "object") == "object":
    app.on_object(bucket, events=["s3:ObjectCreated:*"], env=ENV)(noop_object)
else:
    app.on_table(feed, batch_size=100, starting_position="LATEST", env=ENV)(noop_table)
