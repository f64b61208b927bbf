"""Kinesis Data Streams records as Lambda delivers them, aws-semantics.md §3.1."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from ripple.events import ACCOUNT_ID, REGION

HASH_SPACE = 1 << 128


def shard_id(index: int) -> str:
    return f"shardId-{index:012d}"


def sequence_number(seq: int) -> str:
    """56 decimal digits like Kinesis's, fixed width so string order is numeric order."""
    return f"49{seq:054d}"


def hash_key(partition_key: str) -> int:
    """Kinesis routes by the MD5 of the partition key read as a 128-bit unsigned integer."""
    return int.from_bytes(hashlib.md5(partition_key.encode("utf-8")).digest(), "big")


def shard_for(hash_value: int, shards: int) -> int:
    """The shard whose evenly split hash-key range holds ``hash_value`` (Kinesis's CreateStream)."""
    return min(hash_value * shards // HASH_SPACE, shards - 1)


def shard_ranges(shards: int) -> list[tuple[int, int]]:
    """(starting, ending) hash keys of each shard, inclusive, as DescribeStream reports them."""
    return [(i * HASH_SPACE // shards, (i + 1) * HASH_SPACE // shards - 1) for i in range(shards)]


def stream_arn(stream: str, region: str = REGION) -> str:
    return f"arn:aws:kinesis:{region}:{ACCOUNT_ID}:stream/{stream}"


def record(
    stream: str,
    shard: int,
    partition_key: str,
    data: bytes,
    *,
    seq: int,
    ts: float,
    region: str = REGION,
) -> dict[str, Any]:
    seqno = sequence_number(seq)
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": seqno,
            "data": base64.b64encode(data).decode("ascii"),
            "approximateArrivalTimestamp": round(ts, 3),
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id(shard)}:{seqno}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": f"arn:aws:iam::{ACCOUNT_ID}:role/ripple",
        "awsRegion": region,
        "eventSourceARN": stream_arn(stream, region),
    }
