"""DynamoDB Streams records as Lambda delivers them, aws-semantics.md §2.1.

Images are already attribute-value JSON (the form items are stored in), so building a record copies
no values.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from typing import Any

import orjson

from ripple.events import ACCOUNT_ID, REGION

VIEW_TYPES = ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES")


def sequence_number(seq: int) -> str:
    """21 decimal digits, fixed width, so string order is numeric order (AWS uses 21–40 digits)."""
    return f"1{seq:020d}"


def stream_label(created: float) -> str:
    """The stream label in the ARN: the creation time, ``2015-06-27T00:48:05.899``."""
    dt = _dt.datetime.fromtimestamp(created, _dt.UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}"


def stream_arn(table: str, created: float, region: str = REGION) -> str:
    return f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{table}/stream/{stream_label(created)}"


_ID_PREFIX: dict[str, str] = {}


def event_id(arn: str, seq: int) -> str:
    """32 hex characters, unique per stream record: a hash of the stream ARN, then the position."""
    prefix = _ID_PREFIX.get(arn)
    if prefix is None:
        prefix = _ID_PREFIX[arn] = hashlib.md5(arn.encode()).hexdigest()[:16]
    return f"{prefix}{seq:016x}"


def record(
    event_name: str,
    keys: dict[str, Any],
    *,
    new: dict[str, Any] | None,
    old: dict[str, Any] | None,
    view: str,
    seq: int,
    ts: float,
    size_bytes: int,
    arn: str,
    region: str = REGION,
) -> dict[str, Any]:
    """One stream record. ``event_name`` is INSERT, MODIFY or REMOVE; ``keys``/``new``/``old`` are
    attribute-value JSON; the view type decides which images appear (aws-semantics.md §2.1 table)."""
    ddb: dict[str, Any] = {"ApproximateCreationDateTime": int(ts), "Keys": keys}
    if new is not None and view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
        ddb["NewImage"] = new
    if old is not None and view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
        ddb["OldImage"] = old
    seqno = sequence_number(seq)
    ddb["SequenceNumber"] = seqno
    ddb["SizeBytes"] = max(1, size_bytes)
    ddb["StreamViewType"] = view
    return {
        "eventID": event_id(arn, seq),
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": ddb,
        "eventSourceARN": arn,
    }


class RecordTemplate:
    """Builds the JSON bytes of :func:`record` for one stream without a dict per record: the write
    path appends a record per changed item, and splicing pre-encoded pieces costs a fraction of
    building and encoding the dict. ``orjson.loads`` of the bytes equals :func:`record`'s dict
    (``tests/test_record_templates.py`` checks every event and view type)."""

    __slots__ = ("_head", "_mid", "_tail", "_view")

    def __init__(self, arn: str, view: str, region: str = REGION):
        if view not in VIEW_TYPES:
            raise ValueError(f"unknown stream view type {view!r}")
        self._view = view
        prefix = event_id(arn, 0)[:16]
        self._head = b'{"eventID":"' + prefix.encode()
        self._tail = b',"StreamViewType":' + orjson.dumps(view) + b'},"eventSourceARN":' + orjson.dumps(arn) + b"}"
        self._mid = b'","eventVersion":"1.1","eventSource":"aws:dynamodb","awsRegion":' + orjson.dumps(region)

    def build(
        self, event_name: str, keys: bytes, new: bytes | None, old: bytes | None, seq: int, ts: float, size: int
    ) -> bytes:
        """The record's bytes; ``keys``, ``new`` and ``old`` are attribute-value JSON bytes (the
        images only where the view type carries them: pass None otherwise)."""
        return (
            b'%s%016x","eventName":"%s%s,"dynamodb":{"ApproximateCreationDateTime":%d,"Keys":%s%s%s,"SequenceNumber":"1%020d","SizeBytes":%d%s'
            % (
                self._head,
                seq,
                _EVENT_NAMES[event_name],
                self._mid,
                int(ts),
                keys,
                b"" if new is None else b',"NewImage":' + new,
                b"" if old is None else b',"OldImage":' + old,
                seq,
                max(1, size),
                self._tail,
            )
        )


_EVENT_NAMES = {name: name.encode() for name in ("INSERT", "MODIFY", "REMOVE")}


# Every record, built by RecordTemplate or by record(), starts with fields that hold no user data
# (eventID, eventName, eventVersion, eventSource, awsRegion as JSON strings), then this:
_DDB_AT = b',"dynamodb":{"ApproximateCreationDateTime":'


def record_keys(raw: bytes) -> dict[str, Any] | None:
    """A stored record's ``dynamodb.Keys``, decoded from its bytes without decoding its images (a
    trigger whose filter reads only the keys then never decodes the rest). None when the bytes are
    not laid out as :class:`RecordTemplate` and :func:`record` lay them out (the caller decodes the
    whole record then).

    The first ``,"dynamodb":{"ApproximateCreationDateTime":`` is the record's own: nothing before it
    holds an unescaped quote of user data. Keys follow the time, and end at the first ``}},"``: a
    key's value is a one-entry map of a string (``{"S": ...}``, N and B are strings too), so two
    braces in a row close the last value and the Keys map, and no string holds an unescaped quote."""
    i = raw.find(_DDB_AT)
    if i < 0:
        return None
    i += len(_DDB_AT)
    j = raw.find(b',"Keys":{', i)
    if j < 0 or not raw[i:j].isdigit():
        return None
    start = j + 8
    end = raw.find(b'}},"', start)
    if end < 0:
        return None
    try:
        keys = orjson.loads(raw[start : end + 2])
    except orjson.JSONDecodeError:
        return None
    return keys if type(keys) is dict else None
