"""Sample events for ``ripple generate-event``, built by the same builders as the change log's records,
so a handler tested with a sample sees exactly what a real trigger will hand it."""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Any

from ripple.events import dynamodb, kinesis, s3, schedule, sns
from ripple.store import values


def generate(kind: str, opts: dict[str, Any], *, now: float | None = None) -> dict[str, Any]:
    """One complete event of ``kind`` (see ripple.events.SAMPLE_KINDS). ``opts`` override the sample's values; raises
    ValidationError for a bad option value (e.g. an item that is not a valid DynamoDB item)."""
    ts = time.time() if now is None else now
    seq = int(ts * 1000)
    if kind in ("s3-put", "s3-delete"):
        bucket, key = opts.get("bucket") or "example-bucket", opts.get("key") or "test/key"
        if kind == "s3-put":
            body = (opts.get("body") or "Hello from ripple").encode()
            rec = s3.record(
                "ObjectCreated:Put", bucket, key, ts=ts, seq=seq, size=len(body), etag=hashlib.md5(body).hexdigest()
            )
        else:
            rec = s3.record("ObjectRemoved:Delete", bucket, key, ts=ts, seq=seq)
        return {"Records": [rec]}
    if kind.startswith("dynamodb-"):
        table = opts.get("table") or "ExampleTable"
        keys = values.normalize_item(opts.get("keys") or {"Id": 101})
        new = values.normalize_item({**(opts.get("new") or {"Message": "New item!"}), **keys})
        old = values.normalize_item({**(opts.get("old") or {"Message": "Old item"}), **keys})
        view = opts.get("view") or "NEW_AND_OLD_IMAGES"
        event = {"dynamodb-insert": "INSERT", "dynamodb-modify": "MODIFY", "dynamodb-remove": "REMOVE"}[kind]
        new_av = values.item_to_av(new) if event != "REMOVE" else None
        old_av = values.item_to_av(old) if event != "INSERT" else None
        rec = dynamodb.record(
            event,
            values.item_to_av(keys),
            new=new_av,
            old=old_av,
            view=view,
            seq=seq,
            ts=ts,
            size_bytes=64,
            arn=dynamodb.stream_arn(table, ts),
        )
        return {"Records": [rec]}
    if kind == "kinesis":
        stream, pkey = opts.get("stream") or "example-stream", opts.get("partition_key") or "1"
        data = (opts.get("data") or "Hello, this is a test.").encode()
        shard = kinesis.shard_for(kinesis.hash_key(pkey), int(opts.get("shards") or 1))
        return {"Records": [kinesis.record(stream, shard, pkey, data, seq=seq, ts=ts)]}
    if kind == "sns":
        topic = opts.get("topic") or "example-topic"
        rec = sns.record(
            topic,
            opts.get("message") or "Hello from SNS!",
            message_id=str(uuid.uuid4()),
            ts=ts,
            subject=opts.get("subject"),
            subscription=str(uuid.uuid4()),
        )
        return {"Records": [rec]}
    if kind == "schedule":
        return schedule.event(opts.get("rule") or "my-schedule", ts=ts)
    raise ValueError(kind)
