"""S3 event notification records (eventVersion 2.1), aws-semantics.md §1.1."""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import quote_plus

import orjson

from ripple.events import REGION, iso_ms

PRINCIPAL = "ripple"
OWNER = "ripple"


def sequencer(seq: int) -> str:
    """A fixed-width upper-case hex sequencer: later writes to one key compare greater as strings."""
    return f"{seq:018X}"


#: Characters quote_plus leaves alone (with "/" kept safe, as S3's records do).
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.~/-]*")


def encode_key(key: str) -> str:
    """The key as S3 records carry it: URL-encoded, spaces as ``+``, slashes kept."""
    return key if _PLAIN_KEY.fullmatch(key) else quote_plus(key, safe="/")


def new_request_id() -> tuple[str, str]:
    """An S3-style ``(x-amz-request-id, x-amz-id-2)`` pair. One request, one pair: every record a
    multi-object call writes carries the same one."""
    return secrets.token_hex(8).upper(), secrets.token_urlsafe(48)


def record(
    event_name: str,
    bucket: str,
    key: str,
    *,
    ts: float,
    seq: int,
    size: int | None = None,
    etag: str | None = None,
    configuration_id: str = "",
    region: str = REGION,
    request_id: str | None = None,
    host_id: str | None = None,
) -> dict[str, Any]:
    """One S3 record. ``event_name`` is without the ``s3:`` prefix (``ObjectCreated:Put``);
    ``etag`` is the bare hex (records carry it unquoted); size and eTag are omitted for removals."""
    obj = _object(key, seq, size, etag)
    if request_id is None or host_id is None:
        request_id, host_id = new_request_id()
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": iso_ms(ts),
        "eventName": event_name,
        "userIdentity": {"principalId": PRINCIPAL},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": request_id, "x-amz-id-2": host_id},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": OWNER},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": obj,
        },
    }


class RecordTemplate:
    """The JSON bytes of :func:`record` for many objects of one request (same event, bucket, time
    and request id): the constant parts are encoded once, only ``s3.object`` per object.
    ``orjson.loads`` of :meth:`build` equals :func:`record` (tests/test_record_templates.py)."""

    __slots__ = ("_head", "_tail")

    def __init__(
        self,
        event_name: str,
        bucket: str,
        *,
        ts: float,
        request_id: str,
        host_id: str,
        configuration_id: str = "",
        region: str = REGION,
    ):
        marker = "\x00object\x00"
        whole = record(
            event_name,
            bucket,
            "k",
            ts=ts,
            seq=0,
            configuration_id=configuration_id,
            region=region,
            request_id=request_id,
            host_id=host_id,
        )
        whole["s3"]["object"] = marker
        self._head, self._tail = orjson.dumps(whole).split(orjson.dumps(marker))

    def build(self, key: str, seq: int, size: int | None = None, etag: str | None = None) -> bytes:
        return self._head + orjson.dumps(_object(key, seq, size, etag)) + self._tail


def _object(key: str, seq: int, size: int | None, etag: str | None) -> dict[str, Any]:
    """A record's ``s3.object``."""
    obj: dict[str, Any] = {"key": encode_key(key)}
    if size is not None:
        obj["size"] = size
    if etag is not None:
        obj["eTag"] = etag
    obj["sequencer"] = sequencer(seq)
    return obj
