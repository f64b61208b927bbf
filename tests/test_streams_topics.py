"""Streams route by the MD5 hash-key range as Kinesis does; topics publish SNS-shaped records."""

from __future__ import annotations

import base64
import hashlib

import pytest

from ripple import errors
from ripple.events import kinesis


def test_routing_by_md5_hash_key_range(client):
    s = client.create_stream("routed", shards=4)
    for i in range(200):
        key = f"user-{i}"
        res = s.put(f"payload {i}".encode(), partition_key=key)
        h = int.from_bytes(hashlib.md5(key.encode()).digest(), "big")
        ranges = kinesis.shard_ranges(4)
        expected = next(n for n, (lo, hi) in enumerate(ranges) if lo <= h <= hi)
        assert res.shard_id == f"shardId-{expected:012d}"
    ranges = kinesis.shard_ranges(4)
    assert ranges[0][0] == 0 and ranges[-1][1] == 2**128 - 1
    assert all(ranges[i][1] + 1 == ranges[i + 1][0] for i in range(3))


def test_explicit_hash_key_and_per_shard_order(client):
    s = client.create_stream("ordered", shards=2)
    results = [s.put(b"x", partition_key="any", explicit_hash_key=str(2**127 + i)) for i in range(5)]
    assert {r.shard_id for r in results} == {"shardId-000000000001"}
    seqs = [int(r.sequence_number) for r in results]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    changes = client.log.read(0, sources=["stream:ordered"])
    assert [c.record["kinesis"]["sequenceNumber"] for c in changes] == [r.sequence_number for r in results]


def test_put_many_is_atomic_and_validated(client):
    s = client.create_stream("batch", shards=3)
    res = s.put_many([(f"r{i}".encode(), f"k{i}") for i in range(10)])
    assert len(res) == 10
    for bad in ([(b"x", "")], [(b"x", "k" * 257)], [(b"x" * (1024 * 1024), "k")], [], [(123, "k")]):
        with pytest.raises(errors.ValidationError):
            s.put_many(bad)
    with pytest.raises(errors.ValidationError):
        s.put(b"x", partition_key="k", explicit_hash_key=str(2**128))
    # A batch with one bad record writes none of the good ones.
    with pytest.raises(errors.ValidationError):
        s.put_many([(b"good", "k"), (b"bad", "")])
    assert len(client.log.read(0)) == 10


def test_kinesis_record_shape(client):
    client.create_stream("shape", shards=1)
    client.stream("shape").put(b"Hello, this is a test.", partition_key="1")
    rec = client.log.read(0)[0].record
    assert set(rec) == {
        "kinesis",
        "eventSource",
        "eventVersion",
        "eventID",
        "eventName",
        "invokeIdentityArn",
        "awsRegion",
        "eventSourceARN",
    }
    k = rec["kinesis"]
    assert k["kinesisSchemaVersion"] == "1.0" and k["partitionKey"] == "1"
    assert base64.b64decode(k["data"]) == b"Hello, this is a test."
    assert isinstance(k["approximateArrivalTimestamp"], float)
    assert k["sequenceNumber"].isdigit() and len(k["sequenceNumber"]) == 56
    assert rec["eventID"] == f"shardId-000000000000:{k['sequenceNumber']}"
    assert rec["eventName"] == "aws:kinesis:record" and rec["eventSource"] == "aws:kinesis"
    assert rec["eventVersion"] == "1.0"
    assert rec["eventSourceARN"].startswith("arn:aws:kinesis:") and rec["eventSourceARN"].endswith(":stream/shape")
    assert rec["invokeIdentityArn"].startswith("arn:aws:iam::")


def test_stream_bad_input(client):
    for kwargs in ({"shards": 0}, {"shards": "2"}, {"retention_hours": 1}):
        with pytest.raises(errors.ValidationError):
            client.create_stream("bad-stream", **kwargs)
    with pytest.raises(errors.ValidationError, match="'bad name'"):
        client.create_stream("bad name")
    client.create_stream("dup")
    with pytest.raises(errors.Conflict):
        client.create_stream("dup")
    with pytest.raises(errors.NotFound, match="'nope'"):
        client.stream("nope").put(b"x", partition_key="k")
    assert client.streams() == ["dup"]


def test_sns_record_shape_and_attributes(client):
    topic = client.create_topic("alerts")
    mid = topic.publish(
        "disk full",
        subject="ops",
        attributes={"level": "error", "count": 3, "raw": {"Type": "Binary", "Value": "AAE="}},
    )
    rec = client.log.read(0)[0].record
    assert rec["EventSource"] == "aws:sns" and rec["EventVersion"] == "1.0"
    assert rec["EventSubscriptionArn"].startswith("arn:aws:sns:")
    sns = rec["Sns"]
    assert sns["MessageId"] == mid and sns["Message"] == "disk full" and sns["Subject"] == "ops"
    assert sns["Type"] == "Notification" and sns["TopicArn"].endswith(":alerts")
    assert sns["MessageAttributes"] == {
        "level": {"Type": "String", "Value": "error"},
        "count": {"Type": "Number", "Value": "3"},
        "raw": {"Type": "Binary", "Value": "AAE="},
    }
    assert sns["Timestamp"].endswith("Z") and len(sns["Timestamp"]) == 24
    assert set(sns) >= {"SignatureVersion", "Signature", "SigningCertUrl", "UnsubscribeUrl"}
    topic.publish("no subject")
    assert client.log.read(0)[1].record["Sns"]["Subject"] is None


def test_topic_bad_input(client):
    t = client.create_topic("t1")
    assert client.store.create_topic("t1").endswith(":t1")  # idempotent, as SNS
    for kwargs in (
        {"subject": "x" * 101},
        {"subject": "two\nlines"},
        {"attributes": {"b": True}},
        {"attributes": {"x": {"Type": "Weird", "Value": "1"}}},
    ):
        with pytest.raises(errors.ValidationError):
            t.publish("m", **kwargs)
    with pytest.raises(errors.ValidationError):
        t.publish("")
    with pytest.raises(errors.PayloadTooLarge):
        t.publish("x" * (256 * 1024 + 1))
    with pytest.raises(errors.NotFound):
        client.topic("missing").publish("m")
    assert client.log.latest() == 0
