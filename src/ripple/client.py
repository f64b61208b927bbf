"""The client that scripts, the CLI and handlers use: ``ripple.connect()`` and its resource handles.

Handles are cheap views that name a resource; nothing is checked until an operation runs, so
``client.bucket("x")`` never fails but ``client.bucket("x").get("k")`` raises NoSuchBucket.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from ripple.config import state_path
from ripple.errors import ValidationError
from ripple.store.base import (
    BucketInfo,
    Change,
    ListResult,
    ObjectBody,
    ObjectInfo,
    Page,
    PutRecordResult,
    StreamSpec,
    TableSpec,
)
from ripple.store.embedded.store import EmbeddedStore

T = TypeVar("T")


class Bucket:
    def __init__(self, store: EmbeddedStore, name: str):
        self._s, self.name = store, name

    def put(
        self, key: str, body: Any, *, content_type: str | None = None, metadata: Mapping[str, str] | None = None
    ) -> ObjectInfo:
        """Store ``body`` (bytes, str, a binary file or an iterable of chunks) under ``key``."""
        return self._s.put_object(self.name, key, body, content_type=content_type, metadata=metadata)

    def put_many(self, objects: Sequence[tuple[str, Any]], *, content_type: str | None = None) -> list[ObjectInfo]:
        """Put ``(key, body)`` pairs atomically in one transaction (all or none)."""
        return self._s.put_objects(self.name, objects, content_type=content_type)

    def get(self, key: str, *, range: str | tuple[int, int | None] | None = None) -> ObjectBody:
        """The object's body as a stream (close it, or use ``with``)."""
        return self._s.get_object(self.name, key, range=range)

    def read(self, key: str) -> bytes:
        with self.get(key) as body:
            return body.read()

    def head(self, key: str) -> ObjectInfo:
        return self._s.head_object(self.name, key)

    def exists(self, key: str) -> bool:
        from ripple.errors import NoSuchKey

        try:
            self.head(key)
        except NoSuchKey:
            return False
        return True

    def delete(self, key: str) -> bool:
        return self._s.delete_object(self.name, key)

    def copy(self, src_key: str, key: str, *, src_bucket: str | None = None, **kw: Any) -> ObjectInfo:
        return self._s.copy_object(src_bucket or self.name, src_key, self.name, key, **kw)

    def list(self, prefix: str = "", **kw: Any) -> ListResult:
        """One page of ListObjectsV2 (``delimiter``, ``start_after``, ``continuation_token``, ``max_keys``)."""
        return self._s.list_objects(self.name, prefix=prefix, **kw)

    def objects(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object under ``prefix`` (key, ETag, size, ...), following continuation tokens."""
        token = None
        while True:
            page = self._s.list_objects(self.name, prefix=prefix, continuation_token=token)
            yield from page.contents
            if not page.is_truncated:
                return
            token = page.next_continuation_token

    def keys(self, prefix: str = "") -> Iterator[str]:
        """Every key under ``prefix``, following continuation tokens."""
        return (obj.key for obj in self.objects(prefix))

    def info(self) -> BucketInfo:
        return self._s.bucket_info(self.name)


class Table:
    def __init__(self, store: EmbeddedStore, name: str):
        self._s, self.name = store, name

    def put(self, item: Mapping[str, Any], **kw: Any) -> dict[str, Any] | None:
        return self._s.put_item(self.name, item, **kw)

    def get(self, key: Mapping[str, Any], **kw: Any) -> dict[str, Any] | None:
        return self._s.get_item(self.name, key, **kw)

    def delete(self, key: Mapping[str, Any], **kw: Any) -> dict[str, Any] | None:
        return self._s.delete_item(self.name, key, **kw)

    def update(self, key: Mapping[str, Any], **kw: Any) -> dict[str, Any] | None:
        return self._s.update_item(self.name, key, **kw)

    def query(self, **kw: Any) -> Page:
        return self._s.query(self.name, **kw)

    def scan(self, **kw: Any) -> Page:
        return self._s.scan(self.name, **kw)

    def query_all(self, **kw: Any) -> Iterator[dict[str, Any]]:
        return _pages(lambda start: self._s.query(self.name, start_key=start, **kw))

    def scan_all(self, **kw: Any) -> Iterator[dict[str, Any]]:
        return _pages(lambda start: self._s.scan(self.name, start_key=start, **kw))

    def batch_write(self, puts: Sequence[Mapping[str, Any]] = (), deletes: Sequence[Mapping[str, Any]] = ()) -> None:
        ops = [{"put": p} for p in puts] + [{"delete": d} for d in deletes]
        self._s.batch_write({self.name: ops})

    def batch_get(self, keys: Sequence[Mapping[str, Any]], *, projection: str | None = None) -> list[dict[str, Any]]:
        """BatchGetItem on this table: the items found, in the order of ``keys`` (absent ones left
        out), each with only the attributes ``projection`` names when given."""
        proj = None if projection is None else {self.name: projection}
        return self._s.batch_get({self.name: keys}, projection=proj)[self.name]

    def transact_write(self, actions: Sequence[Mapping[str, Any]]) -> None:
        """TransactWriteItems on this table: ``Client.transact_write``'s actions without ``table``."""
        self._s.transact_write([{kind: {"table": self.name, **spec}} for a in actions for kind, spec in a.items()])

    def describe(self) -> TableSpec:
        return self._s.describe_table(self.name)


def _pages(fetch: Callable[[Any], Page]) -> Iterator[dict[str, Any]]:
    start = None
    while True:
        page = fetch(start)
        yield from page.items
        if page.last_evaluated_key is None:
            return
        start = page.last_evaluated_key


class Stream:
    def __init__(self, store: EmbeddedStore, name: str):
        self._s, self.name = store, name

    def put(self, data: bytes | str, *, partition_key: str, explicit_hash_key: str | None = None) -> PutRecordResult:
        return self._s.put_records(self.name, [(data, partition_key, explicit_hash_key)])[0]

    def put_many(self, records: Sequence[tuple[bytes | str, str]]) -> list[PutRecordResult]:
        """``(data, partition_key)`` pairs, appended atomically in order (PutRecords)."""
        return self._s.put_records(self.name, [(d, k, None) for d, k in records])

    def describe(self) -> StreamSpec:
        return self._s.describe_stream(self.name)


class Topic:
    def __init__(self, store: EmbeddedStore, name: str):
        self._s, self.name = store, name

    def publish(self, message: str, *, subject: str | None = None, attributes: Mapping[str, Any] | None = None) -> str:
        """Publish; returns the MessageId."""
        return self._s.publish(self.name, message, subject=subject, attributes=attributes)


class Log:
    """Reading the change log from any position; each reader keeps its own position."""

    def __init__(self, store: EmbeddedStore):
        self._log = store.log

    def read(self, after: int = 0, *, sources: Sequence[str] | None = None, limit: int = 1000) -> list[Change]:
        return self._log.read(after, sources=sources, limit=limit)

    def follow(
        self, after: int = 0, *, sources: Sequence[str] | None = None, idle_timeout: float | None = None
    ) -> Iterator[Change]:
        return self._log.follow(after, sources=sources, idle_timeout=idle_timeout)

    def wait(self, after: int, timeout: float | None = None, *, sources: Sequence[str] | None = None) -> bool:
        return self._log.wait(after, timeout, sources=sources)

    def wait_until(
        self, cond: Callable[[], T], timeout: float, *, sources: Sequence[str] | None = None, every: float = 1.0
    ) -> T:
        """Block until ``cond()`` returns something true and return it, checking again whenever a
        change commits (in any process on this host; ``sources`` narrows that to some sources) and
        at least every ``every`` seconds: a condition on what commits no change record (a trigger's
        checkpoints, its lag) turns true unseen until then. Raises TimeoutError after ``timeout``
        seconds, ValidationError for an ``every`` that is not a positive number of seconds."""
        if not isinstance(every, int | float) or isinstance(every, bool) or not every > 0:
            raise ValidationError(f"every must be a positive number of seconds, got {every!r}")
        deadline = time.monotonic() + timeout
        while True:
            # The position is taken before the check, so a commit between the check and the wait
            # ends the wait at once.
            pos = self._log.latest(sources)
            got = cond()
            if got:
                return got
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"the condition did not hold within {timeout:g} s")
            self._log.wait(pos, min(left, every), sources=sources)

    def latest(self, sources: Sequence[str] | None = None) -> int:
        return self._log.latest(sources)

    def horizon(self, sources: Sequence[str] | None = None) -> int:
        return self._log.horizon(sources)

    def position_at(self, ts: float, sources: Sequence[str] | None = None) -> int:
        return self._log.position_at(ts, sources)

    def trim(self, now: float | None = None) -> int:
        return self._log.trim(now)


class Client:
    """A connection to one state folder. Thread-safe; close it (or use ``with``) when done."""

    def __init__(self, store: EmbeddedStore):
        self.store = store
        self.log = Log(store)

    @property
    def folder(self) -> os.PathLike[str]:
        return self.store.folder

    # handles
    def bucket(self, name: str) -> Bucket:
        return Bucket(self.store, name)

    def table(self, name: str) -> Table:
        return Table(self.store, name)

    def stream(self, name: str) -> Stream:
        return Stream(self.store, name)

    def topic(self, name: str) -> Topic:
        return Topic(self.store, name)

    # creation
    def create_bucket(self, name: str, *, website: Mapping[str, Any] | None = None) -> Bucket:
        self.store.create_bucket(name, website=website)
        return self.bucket(name)

    def create_table(
        self, name: str, *, hash_key: str, range_key: str | None = None, stream: str | None = None
    ) -> Table:
        """``hash_key="event_key:S"``, ``range_key="start_timestamp:N"``, ``stream="NEW_AND_OLD_IMAGES"``."""
        self.store.create_table(name, hash_key=hash_key, range_key=range_key, stream=stream)
        return self.table(name)

    def create_stream(self, name: str, *, shards: int = 1, retention_hours: float = 24) -> Stream:
        self.store.create_stream(name, shards=shards, retention_hours=retention_hours)
        return self.stream(name)

    def create_topic(self, name: str) -> Topic:
        self.store.create_topic(name)
        return self.topic(name)

    # listing
    def buckets(self) -> list[BucketInfo]:
        return self.store.list_buckets()

    def tables(self) -> list[str]:
        return self.store.list_tables()

    def streams(self) -> list[str]:
        return self.store.list_streams()

    def topics(self) -> list[str]:
        return self.store.list_topics()

    def transact_write(self, actions: Sequence[Mapping[str, Any]]) -> None:
        """DynamoDB's TransactWriteItems over any tables: see ``TableStore.transact_write``."""
        self.store.transact_write(actions)

    def gc(self) -> dict[str, int]:
        return self.store.gc()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(
    state: str | os.PathLike[str] | None = None,
    *,
    clock: Callable[[], float] = time.time,
    durability: str = "normal",
) -> Client:
    """Open (creating if needed) the state folder: ``state``, else ``$RIPPLE_STATE``, else ``./.ripple``.

    Raises StateTooNew (folder untouched) when a newer ripple wrote it, StateReadOnly or StateFull
    when it cannot be written, StateError when it is not a ripple state folder.
    """
    return Client(EmbeddedStore(state_path(state), clock=clock, durability=durability))
