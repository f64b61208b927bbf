"""The backend contracts. The embedded backend (SQLite + blob folder) implements them today; the
cluster backend (PostgreSQL + NATS JetStream + S3) will implement the same ones.

Four families, one ABC each: objects (buckets), tables, records (streams and topics) and the change
log. Every mutating method commits the data change and its change record(s) atomically: when it
returns, both are durable; when it raises, neither happened.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import orjson

# --- values returned -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BucketInfo:
    name: str
    created: float  # epoch seconds
    website: dict[str, Any] | None = None


@dataclass(frozen=True)
class ObjectInfo:
    """What HEAD returns. ``etag`` is quoted, as S3 returns it: ``'"<md5 hex>"'``."""

    bucket: str
    key: str
    size: int  # bytes
    etag: str
    content_type: str
    last_modified: float  # epoch seconds
    metadata: dict[str, str] = field(default_factory=dict)


class ObjectBody:
    """An object's bytes (or a byte range of them) as a readable stream; close it or use ``with``.

    ``content_range`` is ``(first, last, total)`` when a range was asked for.
    """

    def __init__(self, info: ObjectInfo, stream: IO[bytes], content_range: tuple[int, int, int] | None):
        self.info = info
        self._stream = stream
        self.content_range = content_range

    def read(self, n: int = -1) -> bytes:
        return self._stream.read(n)

    def iter_chunks(self, size: int = 1024 * 1024) -> Iterator[bytes]:
        while chunk := self._stream.read(size):
            yield chunk

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> ObjectBody:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class ListResult:
    """One page of ListObjectsV2."""

    contents: list[ObjectInfo]
    common_prefixes: list[str]
    is_truncated: bool
    next_continuation_token: str | None
    key_count: int


@dataclass(frozen=True)
class TableSpec:
    name: str
    hash_key: str
    hash_type: str  # S | N | B
    range_key: str | None
    range_type: str | None
    stream_view: str | None  # KEYS_ONLY | NEW_IMAGE | OLD_IMAGE | NEW_AND_OLD_IMAGES | None
    created: float
    stream_arn: str | None = None
    item_count: int | None = None


@dataclass(frozen=True)
class Page:
    """One page of a Query or Scan. ``last_evaluated_key`` is None on the last page."""

    items: list[dict[str, Any]]
    count: int  # items returned (after the filter)
    scanned_count: int  # items read (before the filter)
    last_evaluated_key: dict[str, Any] | None


@dataclass(frozen=True)
class StreamSpec:
    name: str
    shards: int
    retention_s: float
    created: float
    arn: str


@dataclass(frozen=True)
class PutRecordResult:
    shard_id: str
    sequence_number: str


class Change:
    """One change record. ``seq`` is the log position: increasing across the whole log, so also
    within every partition. ``source`` is ``"bucket:NAME"``, ``"table:NAME"``, ``"stream:NAME"`` or
    ``"topic:NAME"``; ``partition`` is the object key, the item key, the shard id, or ``""``.

    ``record`` is the AWS-shaped record and ``raw`` its JSON bytes; a change read from the log
    decodes ``record`` only when it is first asked for, so a trigger that forwards records to a
    handler unfiltered passes the stored bytes through without building them as dicts."""

    __slots__ = ("_raw", "_record", "hops", "partition", "seq", "source", "ts")

    def __init__(
        self,
        seq: int,
        source: str,
        partition: str,
        ts: float,  # epoch seconds of the commit
        record: dict[str, Any] | None = None,
        hops: int = 0,  # the chain depth of the invocation that made this change (0: not a handler)
        *,
        raw: bytes | None = None,
    ):
        if (record is None) == (raw is None):
            raise TypeError("Change takes exactly one of record and raw")
        self.seq, self.source, self.partition, self.ts, self.hops = seq, source, partition, ts, hops
        self._record, self._raw = record, raw

    @property
    def record(self) -> dict[str, Any]:
        if self._record is None:
            self._record = orjson.loads(self._raw)  # type: ignore[arg-type]
        return self._record

    @property
    def raw(self) -> bytes:
        if self._raw is None:
            self._raw = orjson.dumps(self._record)
        return self._raw

    def _key(self) -> tuple:
        return (self.seq, self.source, self.partition, self.ts, self.record, self.hops)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Change) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash((self.seq, self.source, self.partition))

    def __repr__(self) -> str:
        return (
            f"Change(seq={self.seq!r}, source={self.source!r}, partition={self.partition!r}, ts={self.ts!r}, "
            f"record={self.record!r}, hops={self.hops!r})"
        )


# --- the contracts ---------------------------------------------------------------------------------


class ObjectStore(abc.ABC):
    @abc.abstractmethod
    def create_bucket(self, name: str, *, website: Mapping[str, Any] | None = None) -> BucketInfo:
        """Raises InvalidBucketName, BucketAlreadyExists."""

    @abc.abstractmethod
    def delete_bucket(self, name: str) -> None:
        """Raises NoSuchBucket, BucketNotEmpty (S3 deletes only empty buckets)."""

    @abc.abstractmethod
    def list_buckets(self) -> list[BucketInfo]: ...

    @abc.abstractmethod
    def bucket_info(self, name: str) -> BucketInfo:
        """Raises NoSuchBucket."""

    @abc.abstractmethod
    def put_object(
        self,
        bucket: str,
        key: str,
        body: Any,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Store ``body`` (bytes, str, a binary file or an iterable of chunks) under ``key``, streaming
        large bodies. Appends ``ObjectCreated:Put``. Raises NoSuchBucket, InvalidKey, ValidationError."""

    @abc.abstractmethod
    def put_objects(
        self, bucket: str, objects: Sequence[tuple[str, Any]], *, content_type: str | None = None
    ) -> list[ObjectInfo]:
        """Put several ``(key, body)`` pairs atomically: all, each with its record, or none."""

    @abc.abstractmethod
    def get_object(self, bucket: str, key: str, *, range: str | tuple[int, int | None] | None = None) -> ObjectBody:
        """Raises NoSuchBucket, NoSuchKey, InvalidRange."""

    @abc.abstractmethod
    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        """Raises NoSuchBucket, NoSuchKey."""

    @abc.abstractmethod
    def delete_object(self, bucket: str, key: str) -> bool:
        """Delete ``key``; True if it existed. Appends ``ObjectRemoved:Delete`` when it did."""

    @abc.abstractmethod
    def copy_object(
        self,
        src_bucket: str,
        src_key: str,
        bucket: str,
        key: str,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Server-side copy (no bytes move). Metadata is copied unless given (REPLACE). Appends
        ``ObjectCreated:Copy``."""

    @abc.abstractmethod
    def list_objects(
        self,
        bucket: str,
        *,
        prefix: str = "",
        delimiter: str | None = None,
        start_after: str | None = None,
        continuation_token: str | None = None,
        max_keys: int = 1000,
    ) -> ListResult:
        """ListObjectsV2: keys in UTF-8 byte order. Raises NoSuchBucket, ValidationError."""


class TableStore(abc.ABC):
    @abc.abstractmethod
    def create_table(
        self, name: str, *, hash_key: str, range_key: str | None = None, stream: str | None = None
    ) -> TableSpec:
        """``hash_key``/``range_key`` as ``"name:S|N|B"``. Raises ValidationError, Conflict."""

    @abc.abstractmethod
    def describe_table(self, name: str) -> TableSpec: ...

    @abc.abstractmethod
    def delete_table(self, name: str) -> None: ...

    @abc.abstractmethod
    def list_tables(self) -> list[str]: ...

    @abc.abstractmethod
    def put_item(self, table: str, item: Mapping[str, Any], **opts: Any) -> dict[str, Any] | None: ...

    @abc.abstractmethod
    def get_item(self, table: str, key: Mapping[str, Any], **opts: Any) -> dict[str, Any] | None: ...

    @abc.abstractmethod
    def delete_item(self, table: str, key: Mapping[str, Any], **opts: Any) -> dict[str, Any] | None: ...

    @abc.abstractmethod
    def update_item(self, table: str, key: Mapping[str, Any], **opts: Any) -> dict[str, Any] | None: ...

    @abc.abstractmethod
    def query(self, table: str, **opts: Any) -> Page: ...

    @abc.abstractmethod
    def scan(self, table: str, **opts: Any) -> Page: ...

    @abc.abstractmethod
    def batch_get(self, requests: Mapping[str, Sequence[Mapping[str, Any]]], **opts: Any) -> dict[str, list]: ...

    @abc.abstractmethod
    def batch_write(self, requests: Mapping[str, Sequence[Mapping[str, Any]]]) -> None: ...

    @abc.abstractmethod
    def transact_write(self, actions: Sequence[Mapping[str, Any]]) -> None:
        """TransactWriteItems: up to 100 actions, ``{"put": {"table", "item", ...}}``, ``{"update":
        {"table", "key", "update", ...}}``, ``{"delete": {"table", "key", ...}}`` or ``{"check":
        {"table", "key", "condition", ...}}`` (each optionally with ``condition``, ``names``,
        ``values``, ``return_old_on_failure``), all applied or none. Raises TransactionCanceled
        (reasons per action), ValidationError, NotFound."""


class RecordStore(abc.ABC):
    """Kinesis-like streams and SNS-like topics: their data *is* their change records."""

    @abc.abstractmethod
    def create_stream(self, name: str, *, shards: int = 1, retention_hours: float = 24) -> StreamSpec: ...

    @abc.abstractmethod
    def describe_stream(self, name: str) -> StreamSpec: ...

    @abc.abstractmethod
    def delete_stream(self, name: str) -> None: ...

    @abc.abstractmethod
    def list_streams(self) -> list[str]: ...

    @abc.abstractmethod
    def put_records(self, stream: str, records: Sequence[tuple[bytes, str, str | None]]) -> list[PutRecordResult]:
        """Append ``(data, partition_key, explicit_hash_key)`` records atomically, in order."""

    @abc.abstractmethod
    def create_topic(self, name: str) -> str:
        """Returns the topic ARN; creating an existing topic returns it again (as SNS does)."""

    @abc.abstractmethod
    def delete_topic(self, name: str) -> None: ...

    @abc.abstractmethod
    def list_topics(self) -> list[str]: ...

    @abc.abstractmethod
    def publish(
        self,
        topic: str,
        message: str,
        *,
        subject: str | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> str:
        """Returns the MessageId."""


class ChangeLog(abc.ABC):
    @abc.abstractmethod
    def read(self, after: int = 0, *, sources: Sequence[str] | None = None, limit: int = 1000) -> list[Change]:
        """Changes with ``seq > after``, oldest first, at most ``limit``. Raises TrimmedData when
        retention already removed records after ``after`` for one of ``sources``."""

    @abc.abstractmethod
    def latest(self, sources: Sequence[str] | None = None) -> int:
        """The position of the newest change (0 if none): reading after it waits for new ones."""

    @abc.abstractmethod
    def horizon(self, sources: Sequence[str] | None = None) -> int:
        """TRIM_HORIZON: the oldest position still readable from, i.e. ``read(horizon())`` loses nothing."""

    @abc.abstractmethod
    def position_at(self, ts: float, sources: Sequence[str] | None = None) -> int:
        """AT_TIMESTAMP: the position just before the first change committed at or after ``ts``."""

    @abc.abstractmethod
    def wait(self, after: int, timeout: float | None, *, sources: Sequence[str] | None = None) -> bool:
        """Block until a change after ``after`` exists (True) or ``timeout`` seconds pass (False).
        A commit in any process of this host wakes the waiter at once."""

    def follow(
        self, after: int = 0, *, sources: Sequence[str] | None = None, idle_timeout: float | None = None
    ) -> Iterator[Change]:
        """Yield changes forever (or until nothing arrives for ``idle_timeout`` seconds)."""
        while True:
            batch = self.read(after, sources=sources)
            if batch:
                yield from batch
                after = batch[-1].seq
                continue
            if not self.wait(after, idle_timeout, sources=sources):
                return

    @abc.abstractmethod
    def trim(self, now: float | None = None) -> int:
        """Drop changes older than their source's retention; returns how many were dropped."""
