"""Buckets and objects behave as S3 does, and bad input changes nothing."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

import ripple
from ripple import errors
from ripple.store.embedded.blobs import INLINE_MAX


def md5q(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'


def test_bucket_lifecycle(client):
    client.create_bucket("alpha")
    client.create_bucket("beta.bucket-1")
    assert [b.name for b in client.buckets()] == ["alpha", "beta.bucket-1"]
    with pytest.raises(errors.BucketAlreadyExists):
        client.create_bucket("alpha")
    client.bucket("alpha").put("k", b"v")
    with pytest.raises(errors.BucketNotEmpty):
        client.store.delete_bucket("alpha")
    client.bucket("alpha").delete("k")
    client.store.delete_bucket("alpha")
    assert [b.name for b in client.buckets()] == ["beta.bucket-1"]
    with pytest.raises(errors.NoSuchBucket):
        client.store.delete_bucket("alpha")


@pytest.mark.parametrize(
    "name",
    [
        "ab",
        "a" * 64,
        "Upper",
        "under_score",
        "-start",
        "end-",
        "two..dots",
        "192.168.1.1",
        "xn--abc",
        "bucket-s3alias",
        "spa ce",
        "",
        "sthree-x",
        "ends.mrap",
    ],
)
def test_invalid_bucket_names_refused_and_nothing_created(client, name):
    with pytest.raises(errors.InvalidBucketName) as e:
        client.create_bucket(name)
    assert repr(name) in str(e.value)
    assert client.buckets() == []


def test_unknown_bucket_is_named(client):
    with pytest.raises(errors.NoSuchBucket, match="'nope-bucket'"):
        client.bucket("nope-bucket").put("k", b"v")
    with pytest.raises(errors.NoSuchBucket):
        client.bucket("nope-bucket").get("k")
    with pytest.raises(errors.NoSuchBucket):
        client.bucket("nope-bucket").list()
    assert client.log.latest() == 0


def test_put_get_head_metadata(bucket):
    info = bucket.put("docs/a.txt", b"hello world", content_type="text/plain", metadata={"Author": "Ann"})
    assert info.etag == md5q(b"hello world")
    assert info.size == 11
    head = bucket.head("docs/a.txt")
    assert (head.etag, head.size, head.content_type) == (info.etag, 11, "text/plain")
    assert head.metadata == {"author": "Ann"}  # S3 lower-cases user metadata names
    assert head.last_modified == pytest.approx(info.last_modified)
    assert bucket.read("docs/a.txt") == b"hello world"
    bucket.put("bin", b"x")
    assert bucket.head("bin").content_type == "binary/octet-stream"
    with pytest.raises(errors.NoSuchKey, match="'docs/missing'"):
        bucket.get("docs/missing")


def test_empty_object_and_str_body(bucket):
    assert bucket.put("empty", b"").etag == md5q(b"")
    assert bucket.read("empty") == b""
    bucket.put("text", "héllo")
    assert bucket.read("text") == "héllo".encode()


@pytest.mark.parametrize("size", [100, INLINE_MAX + 1])
def test_byte_ranges(bucket, size):
    data = bytes(range(256)) * (size // 256 + 1)
    data = data[:size]
    bucket.put("obj", data)
    cases = {
        "bytes=0-9": (0, 9),
        "bytes=10-": (10, size - 1),
        "bytes=-5": (size - 5, size - 1),
        "bytes=90-1000000": (90, size - 1),
    }
    for spec, (first, last) in cases.items():
        with bucket.get("obj", range=spec) as body:
            assert body.read() == data[first : last + 1], spec
            assert body.content_range == (first, last, size)
    with bucket.get("obj", range=(3, 7)) as body:
        assert body.read() == data[3:8]
    for bad in ["bytes=5-2", "chars=0-1", "bytes=-0", f"bytes={size}-", "bytes=x-y", (5, 2), (-1, 3)]:
        with pytest.raises(errors.InvalidRange):
            bucket.get("obj", range=bad)


def test_user_metadata_limits(bucket, client):
    for bad in [{"k": "x" * 2100}, {"bad name": "v"}, {"k": "line\nbreak"}, {"": "v"}, {"k": 5}]:
        with pytest.raises(errors.ValidationError):
            bucket.put("m", b"v", metadata=bad)
    assert client.log.latest() == 0
    assert not bucket.exists("m")


@pytest.mark.parametrize(
    "key, exc",
    [
        ("a" * 1025, errors.InvalidKey),
        ("é" * 513, errors.InvalidKey),  # 1026 bytes in UTF-8
        (b"\xff\xfe", errors.InvalidKey),
        ("bad\ud800", errors.InvalidKey),
        ("nul\x00byte", errors.InvalidKey),
        ("", errors.InvalidKey),
        (42, errors.InvalidKey),
    ],
)
def test_bad_keys_refused_and_nothing_written(bucket, client, key, exc):
    with pytest.raises(exc):
        bucket.put(key, b"data")
    assert bucket.list().key_count == 0
    assert client.log.latest() == 0


def test_longest_key_accepted(bucket):
    key = "k" * 1024
    bucket.put(key, b"v")
    assert bucket.read(key) == b"v"


@pytest.mark.parametrize(
    "key", ["../../etc/passwd", "/abs/path", "a/../../b", "..", "./x", "C:\\windows\\system32", "%2e%2e/x"]
)
def test_traversal_keys_are_plain_keys_and_stay_in_the_blob_folder(client, bucket, tmp_path, key):
    before = {p for p in tmp_path.rglob("*")}
    big = os.urandom(INLINE_MAX + 10)
    bucket.put(key, big)
    assert bucket.read(key) == big
    assert [o.key for o in bucket.list().contents] == [key]
    state = Path(client.folder)
    created = {p for p in tmp_path.rglob("*")} - before
    for p in created:
        assert state in p.parents or p == state, p
        if p.is_file() and "blobs" in p.parts:
            rel = p.relative_to(state / "blobs")
            # Only content hashes (or temp names) appear under blobs/: never a part of the key.
            assert rel.parts[0] == "tmp" or (
                len(rel.parts) == 2 and all(c in "0123456789abcdef" for c in "".join(rel.parts))
            )


def test_overwrite_and_delete_collect_blobs(client, bucket):
    big1, big2 = os.urandom(INLINE_MAX + 1), os.urandom(INLINE_MAX + 2)
    bucket.put("k", big1)
    path1 = client.store._blobs.path(hashlib.sha256(big1).hexdigest())
    assert path1.exists()
    bucket.put("k", big2)
    assert not path1.exists()  # unreferenced body removed at once
    assert bucket.read("k") == big2
    bucket.put("k", b"small")
    bucket.delete("k")
    assert client.store.stats()["blobs"] == 0
    assert [p for p in (Path(client.folder) / "blobs").rglob("*") if p.is_file()] == []


def test_identical_bodies_are_stored_once(client, bucket):
    body = os.urandom(INLINE_MAX + 5)
    bucket.put("a", body)
    bucket.put("b", body)
    assert client.store.stats()["blobs"] == 1
    bucket.delete("a")
    assert bucket.read("b") == body


def test_copy_shares_the_body_and_records_copy_event(client, bucket):
    body = os.urandom(INLINE_MAX + 5)
    bucket.put("src", body, content_type="image/png", metadata={"a": "1"})
    client.create_bucket("other-bucket")
    info = client.bucket("other-bucket").copy("src", "dst", src_bucket="test-bucket")
    assert (info.etag, info.content_type, info.metadata) == (md5q(body), "image/png", {"a": "1"})
    bucket.delete("src")
    assert client.bucket("other-bucket").read("dst") == body
    last = client.log.read(0)[-2]
    assert last.record["eventName"] == "ObjectCreated:Copy"
    assert last.source == "bucket:other-bucket"
    replaced = bucket.copy("dst", "dst2", src_bucket="other-bucket", metadata={"b": "2"})
    assert replaced.metadata == {"b": "2"}
    with pytest.raises(errors.ValidationError, match="copy an object to itself"):
        bucket.copy("dst2", "dst2")
    with pytest.raises(errors.NoSuchKey):
        bucket.copy("missing", "x")


def test_delete_missing_key_is_quiet_and_records_nothing(client, bucket):
    assert bucket.delete("never") is False
    assert client.log.latest() == 0


def test_gc_removes_orphans_left_by_crashes(client, bucket):
    blobs = Path(client.folder) / "blobs"
    bucket.put("keep", os.urandom(INLINE_MAX + 1))
    orphan = blobs / "ab" / ("c" * 62)
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_bytes(b"left by a killed writer")
    dead_tmp = blobs / "tmp" / "999999999-0"  # no such pid
    dead_tmp.write_bytes(b"partial upload")
    live_tmp = blobs / "tmp" / f"{os.getpid()}-999"
    live_tmp.write_bytes(b"upload in progress")
    removed = client.gc()
    assert removed["files"] == 1 and removed["tmp"] == 1
    assert not orphan.exists() and not dead_tmp.exists() and live_tmp.exists()
    assert len(bucket.read("keep")) == INLINE_MAX + 1


def test_stream_bodies_from_file_and_chunks(bucket, tmp_path):
    src = tmp_path / "big.bin"
    data = os.urandom(3 * 1024 * 1024 + 7)
    src.write_bytes(data)
    with open(src, "rb") as f:
        assert bucket.put("from-file", f).etag == md5q(data)
    chunks = [data[i : i + 100_000] for i in range(0, len(data), 100_000)]
    assert bucket.put("from-chunks", iter(chunks)).etag == md5q(data)
    with bucket.get("from-chunks") as body:
        assert b"".join(body.iter_chunks(65536)) == data
    with pytest.raises(errors.ValidationError):
        bucket.put("bad", iter([b"ok", "not bytes"]))
    with pytest.raises(errors.ValidationError):
        bucket.put("bad", 12345)
    assert not bucket.exists("bad")
    assert [p.name for p in (Path(bucket._s.folder) / "blobs" / "tmp").iterdir()] == []


LARGE_SCRIPT = r"""
import hashlib, resource, sys, ripple
size = int(sys.argv[2])
chunk = bytes(range(256)) * 4096  # 1 MiB
def gen():
    left = size
    while left:
        n = min(left, len(chunk)); left -= n
        yield chunk[:n]
c = ripple.connect(sys.argv[1])
b = c.create_bucket("large-bucket")
info = b.put("huge", gen())
md5 = hashlib.md5()
with b.get("huge") as body:
    for part in body.iter_chunks():
        md5.update(part)
print(info.etag.strip('"') == md5.hexdigest(), info.size, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def test_large_object_streams_in_and_out_without_being_held_in_memory(tmp_path):
    import subprocess
    import sys

    size = 1024**3  # 1 GiB
    out = subprocess.run(
        [sys.executable, "-c", LARGE_SCRIPT, str(tmp_path / "state"), str(size)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout.split()
    assert out[0] == "True" and int(out[1]) == size
    max_rss_kib = int(out[2])
    # Typically ~28 MiB. One CI run peaked at 310 MiB (not reproduced in 6 runs since): allocator
    # fragmentation from the 1 MiB chunks, not the body, which would be 1 GiB. The bound says what
    # the test is about: the object is never held in memory, not even half of it.
    assert max_rss_kib < 512 * 1024, f"peak RSS {max_rss_kib} KiB for a 1 GiB object"


def test_reopen_keeps_everything(tmp_path):
    with ripple.connect(tmp_path / "s") as c:
        c.create_bucket("persist").put("k", b"v1")
        pos = c.log.latest()
    with ripple.connect(tmp_path / "s") as c:
        assert c.bucket("persist").read("k") == b"v1"
        assert c.log.latest() == pos


def test_put_many_is_all_or_nothing(client, bucket):
    infos = bucket.put_many([(f"batch/{i}", f"body {i}".encode()) for i in range(50)])
    assert [i.etag for i in infos] == [md5q(f"body {i}".encode()) for i in range(50)]
    assert [c.partition for c in client.log.read(0, limit=100)] == [f"batch/{i}" for i in range(50)]
    with pytest.raises(errors.InvalidKey):
        bucket.put_many([("fine", b"x"), ("k" * 1025, b"y")])
    with pytest.raises(errors.ValidationError):
        bucket.put_many([])
    assert not bucket.exists("fine") and client.log.latest() == 50
