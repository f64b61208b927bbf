"""The short demo that README's first command runs: one write to each kind of resource, and the
change records they produced, as a handler will receive them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ripple.client import Client
from ripple.errors import BucketAlreadyExists, Conflict


def run(client: Client, echo: Callable[[str], Any] = print) -> int:
    """Create the demo resources (idempotently), write to each, and print the records written.
    Returns the number of change records printed."""
    start = client.log.latest()
    for create in (
        lambda: client.create_bucket("demo-uploads"),
        lambda: client.create_table(
            "games", hash_key="event_key:S", range_key="start_timestamp:N", stream="NEW_AND_OLD_IMAGES"
        ),
        lambda: client.create_stream("jobs", shards=2),
        lambda: client.create_topic("alerts"),
    ):
        try:
            create()
        except (BucketAlreadyExists, Conflict):
            pass  # a second run reuses what the first one made

    client.bucket("demo-uploads").put("posts/hello world.md", b"# Hello\n", content_type="text/markdown")
    games = client.table("games")
    key = {"event_key": "u1", "start_timestamp": 1428071547}
    games.put({**key, "handle": "ace", "score": 924, "completed": True})
    games.update(key, update="SET score = score + :d", values={":d": 76})
    client.stream("jobs").put(b'{"job": "resize"}', partition_key="image-1")
    client.topic("alerts").publish("disk full", subject="ops", attributes={"level": "error"})
    client.bucket("demo-uploads").delete("posts/hello world.md")

    n = 0
    for change in client.log.read(start, limit=100):
        echo(f"--- #{change.seq} {change.source} [{change.partition}]")
        echo(json.dumps({"Records": [change.record]}, indent=2))
        n += 1
    echo(f"{n} change records; state in {client.folder}")
    return n
