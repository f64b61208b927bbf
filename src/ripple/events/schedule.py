"""EventBridge scheduled events, aws-semantics.md §3.4 (not wrapped in ``Records``)."""

from __future__ import annotations

import uuid
from typing import Any

from ripple.events import ACCOUNT_ID, REGION, iso_s


def rule_arn(rule: str, region: str = REGION) -> str:
    return f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{rule}"


def event(rule: str, *, ts: float, event_id: str | None = None, region: str = REGION) -> dict[str, Any]:
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": iso_s(ts),
        "region": region,
        "resources": [rule_arn(rule, region)],
        "detail": {},
    }
