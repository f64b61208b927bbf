"""AWS-shaped event records, built field for field as ../shared/reference/aws-semantics.md states.

The change log stores each record exactly as a handler will see it inside ``{"Records": [...]}``;
the same builders serve ``ripple generate-event``.
"""

from __future__ import annotations

import datetime as _dt
import functools

from ripple.config import ACCOUNT_ID, REGION

__all__ = ["ACCOUNT_ID", "REGION", "SAMPLE_KINDS", "iso_ms", "iso_s"]

#: the events ``ripple generate-event`` makes (events/samples.py), here so the CLI can offer them
#: without loading their builders
SAMPLE_KINDS = (
    "s3-put",
    "s3-delete",
    "dynamodb-insert",
    "dynamodb-modify",
    "dynamodb-remove",
    "kinesis",
    "sns",
    "schedule",
)


@functools.lru_cache(maxsize=256)
def iso_ms(ts: float) -> str:
    """Epoch seconds → ``1970-01-01T00:00:00.000Z`` (S3 and SNS use millisecond precision)."""
    dt = _dt.datetime.fromtimestamp(ts, _dt.UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def iso_s(ts: float) -> str:
    """Epoch seconds → ``1970-01-01T00:00:00Z`` (EventBridge uses second precision)."""
    return _dt.datetime.fromtimestamp(int(ts), _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
