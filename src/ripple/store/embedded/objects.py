"""Buckets and objects with S3's semantics on the embedded store."""

from __future__ import annotations

import base64
import binascii
import io
import re
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from ripple.errors import (
    BucketAlreadyExists,
    BucketNotEmpty,
    InvalidRange,
    NoSuchBucket,
    NoSuchKey,
    ValidationError,
)
from ripple.events import s3 as s3_events
from ripple.store.base import BucketInfo, ListResult, ObjectBody, ObjectInfo, ObjectStore
from ripple.store.embedded.blobs import Ingested, RangeReader
from ripple.store.embedded.db import translate
from ripple.store.names import check_bucket_name, check_key

DEFAULT_CONTENT_TYPE = "binary/octet-stream"
MAX_METADATA_BYTES = 2048
_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")
_OBJ_COLS = "key, size, etag, content_type, metadata, modified"


def _source(bucket: str) -> str:
    return f"bucket:{bucket}"


def _check_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    if not metadata:
        return {}
    out: dict[str, str] = {}
    for k, v in metadata.items():
        if not isinstance(k, str) or not isinstance(v, str) or not k:
            raise ValidationError(f"user metadata must map non-empty strings to strings; bad entry {k!r}: {v!r}")
        if not k.isascii() or any(c in k for c in " :\r\n\t"):
            raise ValidationError(f"user metadata name {k!r} must be ASCII without spaces, colons or line breaks")
        if "\r" in v or "\n" in v:
            raise ValidationError(f"user metadata value for {k!r} must not contain line breaks")
        out[k.lower()] = v
    size = sum(len(k.encode()) + len(v.encode()) for k, v in out.items())
    if size > MAX_METADATA_BYTES:
        raise ValidationError(f"user metadata is {size} bytes; S3 allows at most {MAX_METADATA_BYTES}")
    return out


def _check_content_type(content_type: str | None) -> str:
    if content_type is None:
        return DEFAULT_CONTENT_TYPE
    if not isinstance(content_type, str) or not content_type or "\n" in content_type or "\r" in content_type:
        raise ValidationError(f"invalid content type {content_type!r}")
    return content_type


def parse_range(spec: str | tuple[int, int | None], size: int) -> tuple[int, int]:
    """An HTTP ``Range`` (``bytes=a-b``, ``bytes=a-``, ``bytes=-n``) or ``(first, last|None)`` →
    inclusive ``(first, last)`` clamped to the object. Raises InvalidRange when unsatisfiable."""
    if isinstance(spec, tuple):
        first, last = spec
        if (
            not isinstance(first, int)
            or first < 0
            or (last is not None and (not isinstance(last, int) or last < first))
        ):
            raise InvalidRange(f"invalid byte range {spec!r}")
    else:
        m = _RANGE_RE.match(spec.strip()) if isinstance(spec, str) else None
        if not m or (m.group(1) == "" and m.group(2) == ""):
            raise InvalidRange(f"invalid byte range {spec!r}; expected bytes=FIRST-LAST, bytes=FIRST- or bytes=-N")
        if m.group(1) == "":
            n = int(m.group(2))
            if n == 0:
                raise InvalidRange(f"the range {spec!r} is not satisfiable")
            first, last = max(size - n, 0), size - 1
        else:
            first = int(m.group(1))
            last = int(m.group(2)) if m.group(2) else None
            if last is not None and last < first:
                raise InvalidRange(f"invalid byte range {spec!r}: last byte before first")
    if first >= size:
        raise InvalidRange(f"the range {spec!r} is not satisfiable for an object of {size} bytes")
    last = size - 1 if last is None else min(last, size - 1)
    return first, last


def _token(kind: str, value: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([kind, value])).decode()


def _untoken(token: str) -> tuple[str, str]:
    try:
        kind, value = orjson.loads(base64.urlsafe_b64decode(token.encode()))
        if kind in ("k", "p") and isinstance(value, str):
            return kind, value
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        pass
    raise ValidationError(f"the continuation token provided is incorrect: {token[:60]!r}", code="InvalidArgument")


def _successor(prefix: str) -> str | None:
    """The smallest string greater than every string starting with ``prefix`` (None: no such)."""
    while prefix:
        last = ord(prefix[-1])
        if last < 0x10FFFF:
            nxt = last + 1
            if 0xD800 <= nxt <= 0xDFFF:  # surrogates cannot occur in keys; skip past them
                nxt = 0xE000
            return prefix[:-1] + chr(nxt)
        prefix = prefix[:-1]
    return None


class EmbeddedObjects(ObjectStore):
    # Supplied by EmbeddedStore: _db, _blobs, _log, _clock.

    def _require_bucket(self, con: sqlite3.Connection, bucket: str) -> None:
        if con.execute("SELECT 1 FROM buckets WHERE name=?", (bucket,)).fetchone() is None:
            check_bucket_name(bucket)
            raise NoSuchBucket(f"bucket {bucket!r} does not exist")

    # -- buckets ----------------------------------------------------------------------------------

    def create_bucket(self, name: str, *, website: Mapping[str, Any] | None = None) -> BucketInfo:
        check_bucket_name(name)
        site = None
        if website is not None:
            site = {"index": website.get("index", "index.html"), "error": website.get("error")}
            unknown = set(website) - {"index", "error"}
            if unknown:
                raise ValidationError(f"unknown website option(s): {', '.join(sorted(unknown))}")
        now = self._clock()
        with self._db.write() as con:
            if con.execute("SELECT 1 FROM buckets WHERE name=?", (name,)).fetchone():
                raise BucketAlreadyExists(f"bucket {name!r} already exists")
            con.execute(
                "INSERT INTO buckets(name, created, website) VALUES(?,?,?)",
                (name, now, orjson.dumps(site) if site else None),
            )
        return BucketInfo(name, now, site)

    def delete_bucket(self, name: str) -> None:
        with self._db.write() as con:
            self._require_bucket(con, name)
            if con.execute("SELECT 1 FROM objects WHERE bucket=? LIMIT 1", (name,)).fetchone():
                raise BucketNotEmpty(f"bucket {name!r} is not empty; delete its objects first")
            con.execute("DELETE FROM buckets WHERE name=?", (name,))

    def list_buckets(self) -> list[BucketInfo]:
        rows = self._db.con.execute("SELECT name, created, website FROM buckets ORDER BY name").fetchall()
        return [BucketInfo(n, c, orjson.loads(w) if w else None) for n, c, w in rows]

    def bucket_info(self, name: str) -> BucketInfo:
        row = self._db.con.execute("SELECT name, created, website FROM buckets WHERE name=?", (name,)).fetchone()
        if row is None:
            check_bucket_name(name)
            raise NoSuchBucket(f"bucket {name!r} does not exist")
        return BucketInfo(row[0], row[1], orjson.loads(row[2]) if row[2] else None)

    # -- objects ----------------------------------------------------------------------------------

    def put_object(
        self,
        bucket: str,
        key: str,
        body: Any,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        key = check_key(key)
        ctype = _check_content_type(content_type)
        meta = _check_metadata(metadata)
        try:
            ing = self._blobs.ingest(body)
        except OSError as e:
            raise translate(e, self._db.folder) from e
        try:
            return self._commit_object(bucket, key, ing, ctype, meta, "ObjectCreated:Put")
        finally:
            self._blobs.discard(ing)

    def _commit_object(
        self, bucket: str, key: str, ing: Ingested, ctype: str, meta: dict[str, str], event: str
    ) -> ObjectInfo:
        now = self._clock()
        with self._db.write() as con:
            self._require_bucket(con, bucket)
            self._link(con, bucket, key, self._blobs.attach(con, ing), ing.size, ing.md5, ctype, meta, now, event)
        return ObjectInfo(bucket, key, ing.size, f'"{ing.md5}"', ctype, now, meta)

    def put_objects(
        self, bucket: str, objects: Sequence[tuple[str, Any]], *, content_type: str | None = None
    ) -> list[ObjectInfo]:
        """Put several ``(key, body)`` objects in one transaction: all of them (each with its own
        ``ObjectCreated:Put`` record, in order) or, on any error, none. At most 1000 per call."""
        if not 1 <= len(objects) <= 1000:
            raise ValidationError(f"put_objects takes 1 to 1000 objects, not {len(objects)}")
        ctype = _check_content_type(content_type)
        keys = [check_key(k) for k, _ in objects]
        ingested: list[Ingested] = []
        try:
            try:
                for _, body in objects:
                    ingested.append(self._blobs.ingest(body))
            except OSError as e:
                raise translate(e, self._db.folder) from e
            now = self._clock()
            rid = s3_events.new_request_id()  # one request: every record carries its id
            with self._db.write() as con:
                self._require_bucket(con, bucket)
                if len(set(keys)) == len(keys):
                    self._link_many(con, bucket, keys, ingested, ctype, now, rid)
                else:  # a key twice: each put must see the one before it
                    for key, ing in zip(keys, ingested, strict=True):
                        blob_id = self._blobs.attach(con, ing)
                        self._link(
                            con, bucket, key, blob_id, ing.size, ing.md5, ctype, {}, now, "ObjectCreated:Put", rid
                        )
        finally:
            for ing in ingested:
                self._blobs.discard(ing)
        return [
            ObjectInfo(bucket, k, i.size, f'"{i.md5}"', ctype, now, {}) for k, i in zip(keys, ingested, strict=True)
        ]

    def _link_many(
        self,
        con: sqlite3.Connection,
        bucket: str,
        keys: list[str],
        ingested: list[Ingested],
        ctype: str,
        now: float,
        request: tuple[str, str],
    ) -> None:
        """:meth:`_link` for many distinct keys of one request: the replaced objects in one query,
        the object rows in one statement, the records from one template."""
        olds: dict[str, int] = {}
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            olds.update(
                con.execute(
                    f"SELECT key, blob FROM objects WHERE bucket=? AND key IN ({','.join('?' * len(part))})",
                    [bucket, *part],
                ).fetchall()
            )
        template = s3_events.RecordTemplate(
            "ObjectCreated:Put", bucket, ts=now, request_id=request[0], host_id=request[1]
        )
        log = self._log.appender(con)
        source = _source(bucket)
        rows = []
        for key, ing in zip(keys, ingested, strict=True):
            rows.append((bucket, key, self._blobs.attach(con, ing), ing.size, ing.md5, ctype, None, now))
            log.append(source, key, now, template.build(key, log.next, ing.size, ing.md5))
        con.executemany(
            "INSERT OR REPLACE INTO objects(bucket, key, blob, size, etag, content_type, metadata, modified) "
            "VALUES(?,?,?,?,?,?,?,?)",
            rows,
        )
        for blob_id in olds.values():
            self._release(con, blob_id)

    def _link(
        self,
        con: sqlite3.Connection,
        bucket: str,
        key: str,
        blob_id: int,
        size: int,
        md5: str,
        ctype: str,
        meta: dict[str, str],
        now: float,
        event: str,
        request: tuple[str, str] | None = None,
    ) -> None:
        old = con.execute("SELECT blob FROM objects WHERE bucket=? AND key=?", (bucket, key)).fetchone()
        con.execute(
            "INSERT OR REPLACE INTO objects(bucket, key, blob, size, etag, content_type, metadata, modified) "
            "VALUES(?,?,?,?,?,?,?,?)",
            (bucket, key, blob_id, size, md5, ctype, orjson.dumps(meta) if meta else None, now),
        )
        if old is not None:
            self._release(con, old[0])
        self._log.appender(con).add(
            _source(bucket),
            key,
            now,
            lambda seq: s3_events.record(
                event,
                bucket,
                key,
                ts=now,
                seq=seq,
                size=size,
                etag=md5,
                request_id=request[0] if request else None,
                host_id=request[1] if request else None,
            ),
        )

    def _release(self, con: sqlite3.Connection, blob_id: int) -> None:
        gone = self._blobs.release(con, blob_id)
        if gone is not None:
            self._db.after_commit(lambda: self._blobs.remove_if_unreferenced(self._db, gone))

    def _info(self, bucket: str, row: tuple) -> ObjectInfo:
        key, size, etag, ctype, meta, modified = row[:6]
        return ObjectInfo(bucket, key, size, f'"{etag}"', ctype, modified, orjson.loads(meta) if meta else {})

    def head_object(self, bucket: str, key: str) -> ObjectInfo:
        key = check_key(key)
        with self._db.read() as con:
            row = con.execute(f"SELECT {_OBJ_COLS} FROM objects WHERE bucket=? AND key=?", (bucket, key)).fetchone()
            if row is None:
                self._require_bucket(con, bucket)
                raise NoSuchKey(f"no object {key!r} in bucket {bucket!r}")
        return self._info(bucket, row)

    def get_object(self, bucket: str, key: str, *, range: str | tuple[int, int | None] | None = None) -> ObjectBody:
        key = check_key(key)
        for _attempt in (1, 2, 3):
            with self._db.read() as con:
                row = con.execute(
                    "SELECT o.key, o.size, o.etag, o.content_type, o.metadata, o.modified, b.hash, b.data "
                    "FROM objects o JOIN blobs b ON b.id=o.blob "
                    "WHERE o.bucket=? AND o.key=?",
                    (bucket, key),
                ).fetchone()
                if row is None:
                    self._require_bucket(con, bucket)
                    raise NoSuchKey(f"no object {key!r} in bucket {bucket!r}")
            info = self._info(bucket, row)
            sha, data = row[6], row[7]
            first, last = (0, info.size - 1) if range is None or info.size == 0 else parse_range(range, info.size)
            if range is not None and info.size == 0:
                raise InvalidRange(f"the range {range!r} is not satisfiable for an empty object")
            crange = None if range is None else (first, last, info.size)
            if data is not None:
                return ObjectBody(info, io.BytesIO(data[first : last + 1]), crange)
            try:
                f = self._blobs.open(sha)
            except FileNotFoundError:
                continue  # overwritten and collected between our read and the open: look again
            return ObjectBody(info, RangeReader(f, first, last - first + 1), crange)  # type: ignore[arg-type]
        raise NoSuchKey(f"object {key!r} in bucket {bucket!r} changed while being read; retry")

    def delete_object(self, bucket: str, key: str) -> bool:
        key = check_key(key)
        now = self._clock()
        with self._db.write() as con:
            row = con.execute("SELECT blob FROM objects WHERE bucket=? AND key=?", (bucket, key)).fetchone()
            if row is None:
                self._require_bucket(con, bucket)
                return False
            con.execute("DELETE FROM objects WHERE bucket=? AND key=?", (bucket, key))
            self._release(con, row[0])
            self._log.appender(con).add(
                _source(bucket),
                key,
                now,
                lambda seq: s3_events.record("ObjectRemoved:Delete", bucket, key, ts=now, seq=seq),
            )
        return True

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
        src_key, key = check_key(src_key), check_key(key)
        now = self._clock()
        with self._db.write() as con:
            self._require_bucket(con, bucket)
            row = con.execute(
                "SELECT blob, size, etag, content_type, metadata FROM objects WHERE bucket=? AND key=?",
                (src_bucket, src_key),
            ).fetchone()
            if row is None:
                self._require_bucket(con, src_bucket)
                raise NoSuchKey(f"no object {src_key!r} in bucket {src_bucket!r}")
            blob_id, size, etag, ctype, meta_raw = row
            replace = metadata is not None or content_type is not None
            meta = _check_metadata(metadata) if replace else (orjson.loads(meta_raw) if meta_raw else {})
            ctype = _check_content_type(content_type) if content_type is not None else ctype
            if src_bucket == bucket and src_key == key and not replace:
                raise ValidationError(
                    "this copy request is illegal because it is trying to copy an object to itself "
                    "without changing the object's metadata or content type",
                    code="InvalidRequest",
                )
            con.execute("UPDATE blobs SET refs=refs+1 WHERE id=?", (blob_id,))
            self._link(con, bucket, key, blob_id, size, etag, ctype, meta, now, "ObjectCreated:Copy")
        return ObjectInfo(bucket, key, size, f'"{etag}"', ctype, now, meta)

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
        if not isinstance(max_keys, int) or isinstance(max_keys, bool) or not 0 <= max_keys <= 1000:
            raise ValidationError(
                f"max_keys must be an integer from 0 to 1000, not {max_keys!r}", code="InvalidArgument"
            )
        if not isinstance(prefix, str) or (delimiter is not None and (not isinstance(delimiter, str) or not delimiter)):
            raise ValidationError("prefix and delimiter must be strings (a delimiter must not be empty)")
        # Position: everything <= cursor is done; ``inclusive`` when the cursor itself is still to come.
        cursor, inclusive = prefix, True
        if continuation_token is not None:
            kind, value = _untoken(continuation_token)
            if kind == "k":
                cursor, inclusive = value, False
            else:
                succ = _successor(value)
                if succ is None:
                    return ListResult([], [], False, None, 0)
                cursor, inclusive = succ, True
        elif start_after is not None and start_after >= cursor:
            cursor, inclusive = start_after, False
        if max_keys == 0:
            with self._db.read() as con:
                self._require_bucket(con, bucket)
            return ListResult([], [], False, None, 0)
        end = _successor(prefix) if prefix else None
        contents: list[ObjectInfo] = []
        prefixes: list[str] = []
        last: tuple[str, str] | None = None
        truncated = False
        with self._db.read() as con:
            self._require_bucket(con, bucket)
            while True:
                rows = con.execute(
                    f"SELECT {_OBJ_COLS} FROM objects WHERE bucket=? AND key {'>=' if inclusive else '>'} ?"
                    + (" AND key < ?" if end is not None else "")
                    + " ORDER BY key LIMIT ?",
                    (bucket, cursor, *((end,) if end is not None else ()), max_keys + 1),
                ).fetchall()
                skip_to = None
                for row in rows:
                    key = row[0]
                    if len(contents) + len(prefixes) >= max_keys:
                        truncated = True
                        break
                    if delimiter:
                        idx = key.find(delimiter, len(prefix))
                        if idx >= 0:
                            cp = key[: idx + len(delimiter)]
                            prefixes.append(cp)
                            last = ("p", cp)
                            skip_to = _successor(cp)
                            break
                    contents.append(self._info(bucket, row))
                    last = ("k", key)
                if truncated or (skip_to is None and len(rows) <= max_keys):
                    break
                if skip_to is None:  # a full batch of plain keys: continue after the last
                    cursor, inclusive = rows[-1][0], False
                else:
                    if end is not None and skip_to >= end:
                        break
                    cursor, inclusive = skip_to, True
                if len(contents) + len(prefixes) >= max_keys:
                    truncated = self._more(con, bucket, cursor, inclusive, end)
                    break
        token = _token(*last) if truncated and last else None
        return ListResult(contents, prefixes, truncated, token, len(contents) + len(prefixes))

    def _more(self, con: sqlite3.Connection, bucket: str, cursor: str, inclusive: bool, end: str | None) -> bool:
        return (
            con.execute(
                f"SELECT 1 FROM objects WHERE bucket=? AND key {'>=' if inclusive else '>'} ?"
                + (" AND key < ?" if end is not None else "")
                + " LIMIT 1",
                (bucket, cursor, *((end,) if end is not None else ())),
            ).fetchone()
            is not None
        )
