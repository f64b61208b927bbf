"""S3 event records, field by field against aws-semantics.md §1.1."""

from __future__ import annotations

import hashlib
import re


def test_put_record_fields(client):
    client.create_bucket("mybucket").put("photos/red flower+1.jpg", b"x" * 1024)
    ch = client.log.read(0)[0]
    rec = ch.record
    assert list(rec) == [
        "eventVersion",
        "eventSource",
        "awsRegion",
        "eventTime",
        "eventName",
        "userIdentity",
        "requestParameters",
        "responseElements",
        "s3",
    ]
    assert rec["eventVersion"] == "2.1" and rec["eventSource"] == "aws:s3"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rec["eventTime"])
    assert rec["eventName"] == "ObjectCreated:Put"  # without the s3: prefix
    assert set(rec["userIdentity"]) == {"principalId"}
    assert set(rec["requestParameters"]) == {"sourceIPAddress"}
    assert set(rec["responseElements"]) == {"x-amz-request-id", "x-amz-id-2"}
    s3 = rec["s3"]
    assert s3["s3SchemaVersion"] == "1.0" and "configurationId" in s3
    assert s3["bucket"] == {
        "name": "mybucket",
        "ownerIdentity": {"principalId": s3["bucket"]["ownerIdentity"]["principalId"]},
        "arn": "arn:aws:s3:::mybucket",
    }
    obj = s3["object"]
    assert obj["key"] == "photos/red+flower%2B1.jpg"  # form-encoded, as S3 sends it
    assert obj["size"] == 1024
    assert obj["eTag"] == hashlib.md5(b"x" * 1024).hexdigest()  # unquoted in events
    assert re.fullmatch(r"[0-9A-F]+", obj["sequencer"])
    assert "versionId" not in obj  # buckets are unversioned
    assert ch.partition == "photos/red flower+1.jpg" and ch.source == "bucket:mybucket"


def test_delete_record_has_no_size_or_etag(client):
    b = client.create_bucket("mybucket")
    b.put("k", b"v")
    b.delete("k")
    rec = client.log.read(0)[1].record
    assert rec["eventName"] == "ObjectRemoved:Delete"
    assert set(rec["s3"]["object"]) == {"key", "sequencer"}


def test_sequencers_compare_per_key_as_s3_says(client):
    b = client.create_bucket("mybucket")
    for i in range(300):
        b.put("same-key", str(i).encode())
    seqs = [c.record["s3"]["object"]["sequencer"] for c in client.log.read(0, limit=1000)]
    width = max(map(len, seqs))
    padded = [s.rjust(width, "0") for s in seqs]
    assert padded == sorted(padded) and len(set(padded)) == 300
