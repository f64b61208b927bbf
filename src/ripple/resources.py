"""Resources an app declares (buckets, tables, streams, topics), validated when declared and created
on the store when the app runs (idempotently: an existing resource with the same shape is reused)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ripple.errors import BucketAlreadyExists, Conflict, ValidationError
from ripple.events.dynamodb import VIEW_TYPES
from ripple.store.names import check_bucket_name, check_resource_name


@dataclass(frozen=True)
class Resource:
    kind: str  # bucket | table | stream | topic
    name: str
    spec: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def __str__(self) -> str:
        return self.name

    def ensure(self, client: Any) -> None:
        """Create the resource in ``client``'s store unless it exists; refuse one that exists with
        another shape (a table with other keys, a stream with another shard count)."""
        store = client.store
        if self.kind == "bucket":
            try:
                store.create_bucket(self.name, website=self.spec.get("website"))
            except BucketAlreadyExists:
                pass
        elif self.kind == "table":
            try:
                store.create_table(self.name, **self.spec)
            except Conflict:
                have = store.describe_table(self.name)
                want = (self.spec["hash_key"], self.spec.get("range_key"), self.spec.get("stream"))
                got = (
                    f"{have.hash_key}:{have.hash_type}",
                    f"{have.range_key}:{have.range_type}" if have.range_key else None,
                    have.stream_view,
                )
                if want != got:
                    raise Conflict(
                        f"table {self.name!r} exists with keys/stream {got}, but the app declares {want}"
                    ) from None
        elif self.kind == "stream":
            try:
                store.create_stream(self.name, **self.spec)
            except Conflict:
                if store.describe_stream(self.name).shards != self.spec.get("shards", 1):
                    raise Conflict(f"stream {self.name!r} exists with another shard count") from None
        elif self.kind == "topic":
            store.create_topic(self.name)


def bucket(name: str, *, website: bool = False, index: str = "index.html", error: str | None = None) -> Resource:
    check_bucket_name(name)
    return Resource("bucket", name, {"website": {"index": index, "error": error} if website else None})


def table(name: str, *, hash_key: str, range_key: str | None = None, stream: str | None = None) -> Resource:
    check_resource_name("table", name, min_len=3, max_len=255)
    for what, spec in (("hash_key", hash_key), ("range_key", range_key)):
        if spec is not None and (not isinstance(spec, str) or spec.count(":") != 1 or spec.split(":")[1] not in "SNB"):
            raise ValidationError(f"{what} must look like 'name:S', 'name:N' or 'name:B', not {spec!r}")
    if stream is not None and stream not in VIEW_TYPES:
        raise ValidationError(f"stream view type must be one of {', '.join(VIEW_TYPES)}, not {stream!r}")
    return Resource("table", name, {"hash_key": hash_key, "range_key": range_key, "stream": stream})


def stream(name: str, *, shards: int = 1, retention_hours: float = 24) -> Resource:
    check_resource_name("stream", name, max_len=128)
    if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
        raise ValidationError(f"shards must be a positive integer, not {shards!r}")
    return Resource("stream", name, {"shards": shards, "retention_hours": retention_hours})


def topic(name: str) -> Resource:
    check_resource_name("topic", name, max_len=256)
    return Resource("topic", name)


def source_name(kind: str, source: Resource | str) -> str:
    """The name of a trigger's source; refuses a resource of the wrong kind."""
    if isinstance(source, Resource):
        if source.kind != kind:
            raise ValidationError(f"this trigger watches a {kind}, but {source.name!r} is a {source.kind}")
        return source.name
    if not isinstance(source, str) or not source:
        raise ValidationError(f"a {kind} trigger needs a {kind} (a declared resource or its name), not {source!r}")
    return source


__all__ = ["Resource", "bucket", "source_name", "stream", "table", "topic"]
