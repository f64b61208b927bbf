"""What a trigger is: a function, the source it watches, and its validated delivery options.

App decorators (``@app.on_object``, ``@app.on_table``, ``@app.on_stream``, ``@app.on_topic``,
``@app.schedule``) build these; the dispatcher runs them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ripple.dispatch import notifications, schedules
from ripple.dispatch.filters import compile_filters
from ripple.dispatch.options import AsyncOptions, StreamOptions
from ripple.errors import ValidationError

KINDS = ("object", "table", "stream", "topic", "schedule")


@dataclass(frozen=True)
class Trigger:
    name: str  # unique within the app: "<function>:<kind>:<source>"
    function: str
    kind: str
    source: str  # bucket, table, stream or topic name; the expression for schedules
    options: StreamOptions | AsyncOptions
    rule: notifications.NotificationRule | None = None  # object triggers
    filter_policy: Callable[[Mapping[str, Any]], bool] | None = None  # topic triggers
    schedule: schedules.Schedule | None = None
    policy_source: Mapping[str, Any] | None = None  # the topic filter policy as declared

    @property
    def log_source(self) -> str | None:
        """The change-log source this trigger reads (None for schedules)."""
        return None if self.kind == "schedule" else f"{'bucket' if self.kind == 'object' else self.kind}:{self.source}"

    @property
    def polled(self) -> bool:
        return self.kind in ("table", "stream")


def object_trigger(function: str, bucket: str, *, events: Sequence[str], prefix: str | None = None,
                   suffix: str | None = None, **options: Any) -> Trigger:  # fmt: skip
    rule = notifications.NotificationRule(
        f"{function}-{bucket}",
        notifications.expand(events),
        notifications.check_filter("prefix", prefix),
        notifications.check_filter("suffix", suffix),
    )
    opts = AsyncOptions.from_options(options, batching=True)
    return Trigger(f"{function}:object:{bucket}", function, "object", bucket, opts, rule=rule)


def stream_trigger(function: str, kind: str, source: str, **options: Any) -> Trigger:
    if kind not in ("table", "stream"):
        raise ValidationError(f"poll-based triggers read tables or streams, not {kind!r}")
    opts = StreamOptions.from_options(options)
    return Trigger(f"{function}:{kind}:{source}", function, kind, source, opts)


def topic_trigger(function: str, topic: str, *, filter_policy: Mapping[str, Any] | None = None,
                  **options: Any) -> Trigger:  # fmt: skip
    policy = compile_filters([filter_policy]) if filter_policy else None
    opts = AsyncOptions.from_options(options)
    return Trigger(
        f"{function}:topic:{topic}",
        function,
        "topic",
        topic,
        opts,
        filter_policy=_attributes(policy),
        policy_source=filter_policy,
    )


def _attributes(policy: Callable[[Mapping[str, Any]], bool] | None) -> Callable[[Mapping[str, Any]], bool] | None:
    """SNS filter policies match message attributes by value: {"level": ["error"]} against
    MessageAttributes {"level": {"Type": "String", "Value": "error"}}."""
    if policy is None:
        return None

    def match(record: Mapping[str, Any]) -> bool:
        attrs = record.get("Sns", {}).get("MessageAttributes", {})
        view: dict[str, Any] = {}
        for k, v in attrs.items():
            value = v.get("Value")
            if v.get("Type", "").startswith("Number"):
                try:
                    value = float(value) if "." in value or "e" in value.lower() else int(value)
                except ValueError:
                    pass
            view[k] = value
        return policy(view)

    return match


def schedule_trigger(function: str, expression: str, *, created: float = 0.0, **options: Any) -> Trigger:
    sched = schedules.parse(expression, created=created)
    opts = AsyncOptions.from_options(options)
    return Trigger(f"{function}:schedule:{expression}", function, "schedule", expression, opts, schedule=sched)


def check_triggers(triggers: Sequence[Trigger]) -> None:
    """Refuse object triggers on one bucket whose filters overlap (S3's rule) and duplicate names."""
    names = [t.name for t in triggers]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValidationError(f"trigger declared twice: {', '.join(dup)}")
    by_bucket: dict[str, list[notifications.NotificationRule]] = {}
    for t in triggers:
        if t.rule is not None:
            by_bucket.setdefault(t.source, []).append(t.rule)
    for rules in by_bucket.values():
        notifications.check_overlaps(rules)
