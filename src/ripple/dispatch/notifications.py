"""S3 notification rules for object triggers, aws-semantics.md §1.2 and §1.5: event types with
wildcards, prefix/suffix filters, and S3's overlap rule between configurations on one bucket."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote_plus

from ripple.errors import ValidationError

#: Event types ripple emits. S3 defines more (restore, replication, lifecycle, tagging, ...); those
#: are refused by name because nothing in ripple would ever fire them.
EMITTED = ("s3:ObjectCreated:Put", "s3:ObjectCreated:Copy", "s3:ObjectRemoved:Delete")
KNOWN = (
    "s3:ObjectCreated:*", "s3:ObjectCreated:Put", "s3:ObjectCreated:Post", "s3:ObjectCreated:Copy",
    "s3:ObjectCreated:CompleteMultipartUpload", "s3:ObjectRemoved:*", "s3:ObjectRemoved:Delete",
    "s3:ObjectRemoved:DeleteMarkerCreated",
)  # fmt: skip
MAX_FILTER_CHARS = 1024


def expand(events: Iterable[str]) -> frozenset[str]:
    """Validate configured event types and expand wildcards to the concrete types they cover
    (``s3:ObjectCreated:*`` → Put, Post, Copy, CompleteMultipartUpload)."""
    if isinstance(events, str):
        events = [events]
    out: set[str] = set()
    for e in events:
        if e not in KNOWN:
            if isinstance(e, str) and e.startswith("s3:"):
                raise ValidationError(f"S3 event type {e!r} is not supported by ripple (it never emits it)")
            raise ValidationError(f"unknown S3 event type {e!r}; e.g. 's3:ObjectCreated:*', 's3:ObjectRemoved:*'")
        if e.endswith(":*"):
            out.update(k for k in KNOWN if k.startswith(e[:-1]) and not k.endswith("*"))
        else:
            out.add(e)
    if not out:
        raise ValidationError("an object trigger needs at least one event type")
    return frozenset(out)


def check_filter(kind: str, value: str | None) -> str:
    """A prefix or suffix as S3 matches it: against the URL-encoded key, so it must be written
    encoded itself (a space as ``+``). Refuses values that encoding would change, naming the
    encoded form, instead of silently never matching."""
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        raise ValidationError(f"{kind} must be a string, not {value!r}")
    if len(value) > MAX_FILTER_CHARS:
        raise ValidationError(f"{kind} {value[:40]!r}... is over {MAX_FILTER_CHARS} characters")
    if "*" in value or "?" in value:
        raise ValidationError(f"{kind} {value!r}: S3 filters take no wildcards")
    encoded = quote_plus(value, safe="/%+")
    if encoded != value:
        raise ValidationError(
            f"{kind} {value!r} must be written URL-encoded, as S3 matches it against the encoded key: {encoded!r}"
        )
    return value


@dataclass(frozen=True)
class NotificationRule:
    """One object trigger's notification configuration."""

    name: str  # the configurationId
    events: frozenset[str]
    prefix: str = ""
    suffix: str = ""

    def matches(self, event_name: str, encoded_key: str) -> bool:
        """``event_name`` as records carry it (``ObjectCreated:Put``), ``encoded_key`` as well."""
        return (
            f"s3:{event_name}" in self.events
            and encoded_key.startswith(self.prefix)
            and encoded_key.endswith(self.suffix)
        )


def overlaps(a: NotificationRule, b: NotificationRule) -> bool:
    """S3's rule: two configurations sharing an event type conflict when their prefixes can both
    start one key and their suffixes can both end it."""
    return (
        bool(a.events & b.events)
        and (a.prefix.startswith(b.prefix) or b.prefix.startswith(a.prefix))
        and (a.suffix.endswith(b.suffix) or b.suffix.endswith(a.suffix))
    )


def check_overlaps(rules: Sequence[NotificationRule]) -> None:
    """Raise ValidationError naming the first pair of overlapping configurations on one bucket."""
    for i, a in enumerate(rules):
        for b in rules[i + 1 :]:
            if overlaps(a, b):
                shared = ", ".join(sorted(a.events & b.events))
                raise ValidationError(
                    f"object triggers {a.name!r} and {b.name!r} overlap: both take {shared} for keys that can "
                    f"start with {a.prefix or b.prefix!r} and end with {a.suffix or b.suffix!r} "
                    "(S3 refuses overlapping filters for one event type; give them disjoint prefixes or suffixes)"
                )
