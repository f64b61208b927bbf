"""SNS records as Lambda receives them, aws-semantics.md §3.2 (note the capitalised keys)."""

from __future__ import annotations

from typing import Any

from ripple.events import ACCOUNT_ID, REGION, iso_ms


def topic_arn(topic: str, region: str = REGION) -> str:
    return f"arn:aws:sns:{region}:{ACCOUNT_ID}:{topic}"


def record(
    topic: str,
    message: str,
    *,
    message_id: str,
    ts: float,
    subject: str | None = None,
    attributes: dict[str, dict[str, str]] | None = None,
    subscription: str = "",
    region: str = REGION,
) -> dict[str, Any]:
    """One SNS record. ``attributes`` is already in SNS's {"Type", "Value"} form. The subscription
    id is filled in per subscriber at delivery; the change log stores it empty."""
    arn = topic_arn(topic, region)
    return {
        "EventVersion": "1.0",
        "EventSubscriptionArn": f"{arn}:{subscription}" if subscription else arn,
        "EventSource": "aws:sns",
        "Sns": {
            "SignatureVersion": "1",
            "Timestamp": iso_ms(ts),
            "Signature": "",
            "SigningCertUrl": "",
            "MessageId": message_id,
            "Message": message,
            "MessageAttributes": attributes or {},
            "Type": "Notification",
            "UnsubscribeUrl": "",
            "TopicArn": arn,
            "Subject": subject,
        },
    }
