"""Tables with DynamoDB's semantics on the embedded store.

Items are stored as attribute-value JSON (the form their stream records carry), keyed by an
order-preserving byte encoding of their key values, so SQLite's BLOB order is DynamoDB's key order
and a Query is an index range scan.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from ripple.errors import ConditionalCheckFailed, Conflict, NotFound, ValidationError
from ripple.events import dynamodb as ddb_events
from ripple.store import codec
from ripple.store import expressions as ex
from ripple.store import values as vals
from ripple.store.base import Page, TableSpec, TableStore
from ripple.store.names import check_resource_name

PAGE_BYTES = 1024 * 1024  # DynamoDB stops a Query/Scan page after 1 MB read
MAX_BATCH_GET = 100
MAX_BATCH_WRITE = 25
_RETURN = {
    "put": ("NONE", "ALL_OLD"),
    "delete": ("NONE", "ALL_OLD"),
    "update": ("NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"),
}


def _parse_key_spec(spec: str, what: str) -> tuple[str, str]:
    if not isinstance(spec, str) or spec.count(":") != 1:
        raise ValidationError(f"{what} must look like 'name:S', 'name:N' or 'name:B', not {spec!r}")
    name, kind = spec.split(":")
    if not 1 <= len(name) <= 255:
        raise ValidationError(f"{what} attribute name {name!r} must be 1 to 255 characters")
    if kind not in ("S", "N", "B"):
        raise ValidationError(f"{what} type must be S, N or B, not {kind!r}")
    return name, kind


class _Table:
    """A table's key schema, loaded once per call."""

    __slots__ = (
        "arn",
        "created",
        "hash_key",
        "hash_type",
        "id",
        "key_names",
        "name",
        "new_images",
        "old_images",
        "range_key",
        "range_type",
        "source",
        "template",
        "view",
    )

    def __init__(self, tid: int, name: str, spec: dict[str, Any], created: float):
        self.id, self.name, self.created = tid, name, created
        self.hash_key, self.hash_type = spec["hash_key"], spec["hash_type"]
        self.range_key, self.range_type = spec.get("range_key"), spec.get("range_type")
        self.view = spec.get("stream_view")
        self.key_names = (self.hash_key, self.range_key) if self.range_key else (self.hash_key,)
        self.arn = ddb_events.stream_arn(name, created) if self.view else None
        self.template = ddb_events.RecordTemplate(self.arn, self.view) if self.arn else None
        self.new_images = self.view in _NEW_VIEWS
        self.old_images = self.view in _OLD_VIEWS
        self.source = f"table:{name}"

    def encode(self, item: Mapping[str, Any], *, exact: bool) -> tuple[bytes, bytes]:
        """The stored key of ``item``; ``exact`` refuses attributes beyond the key (a Key argument)."""
        if exact:
            extra = set(item) - set(self.key_names)
            if extra or len(item) != len(self.key_names):
                raise ValidationError(
                    "The provided key element does not match the schema: expected "
                    f"{', '.join(self.key_names)}, got {', '.join(sorted(item)) or 'nothing'}"
                )
        hk = self._part(item, self.hash_key, self.hash_type)
        rk = self._part(item, self.range_key, self.range_type) if self.range_key else b""
        return hk, rk

    def _part(self, item: Mapping[str, Any], name: str, kind: str) -> bytes:
        if name not in item:
            raise ValidationError(f"One or more parameter values were invalid: Missing the key {name} in the item")
        vals.check_key_value(name, item[name], kind, range_key=name == self.range_key)
        return vals.encode_key(item[name], kind)

    def lookup(self, key: Mapping[str, Any]) -> tuple[bytes, bytes]:
        """The stored key of a Key argument: ``encode(normalize_item(key), exact=True)``, with the
        same errors, and without converting plain str and int (or float) key values on the way."""
        if type(key) is dict and len(key) == len(self.key_names):
            hk = _fast_key(key.get(self.hash_key), self.hash_type, 512)
            rk = _fast_key(key.get(self.range_key), self.range_type, 256) if self.range_key else b""
            if hk is not None and rk is not None:
                return hk, rk
        return self.encode(vals.normalize_item(key), exact=True)

    def put_keys(self, item: Mapping[str, Any]) -> tuple[bytes, bytes, bytes]:
        """The stored key of a put and its record's ``Keys`` (attribute-value JSON bytes). ``item``
        is the caller's item, already validated by ``codec.encode_item``. Raises ValidationError
        (missing key, wrong type, empty or oversized key value)."""
        hk = _fast_key(item.get(self.hash_key), self.hash_type, 512)
        rk = _fast_key(item.get(self.range_key), self.range_type, 256) if self.range_key else b""
        if hk is not None and rk is not None:
            keys = codec.encode_keys(item, self.key_names)
            if keys is not None:
                return hk, rk, keys
        # Anything but plain str or int keys, or no compiled codec: the checked path, which names
        # errors. Only the key attributes are converted (the item was validated whole already).
        try:
            keys_av = {k: vals.item_to_av_checked({k: item[k]})[k] for k in self.key_names}
        except KeyError as e:
            raise ValidationError(
                f"One or more parameter values were invalid: Missing the key {e.args[0]} in the item"
            ) from None
        if hk is None or rk is None:
            hk, rk = self.encode(self.keys_from_av(keys_av), exact=False)
        return hk, rk, orjson.dumps(keys_av)

    def keys_json(self, keys: Mapping[str, Any]) -> bytes:
        """The record's ``Keys`` of a normalized key (or item) as attribute-value JSON bytes."""
        return orjson.dumps(self.keys_av(keys))

    def keys_av(self, keys: Mapping[str, Any]) -> dict[str, Any]:
        """The record's ``Keys``: the key attributes (normalized Python form) as attribute-value JSON."""
        return {k: vals.to_av(keys[k], normalized=True) for k in self.key_names}

    def keys_from_av(self, av: Mapping[str, Any]) -> dict[str, Any]:
        """The key attributes present in an item's attribute-value JSON, in Python form."""
        return {k: vals.from_av(av[k]) for k in self.key_names if k in av}

    def key_of(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {k: item[k] for k in self.key_names}


def _fast_key(value: Any, kind: str, max_chars: int) -> bytes | None:
    """The stored form of a common key value (a non-empty str short enough that its UTF-8 cannot
    exceed DynamoDB's key limits, or an int), or None to take the checked path, which names errors."""
    t = type(value)
    if t is str and kind == "S" and value and len(value) <= max_chars:
        return value.encode()
    if t is int and kind == "N":
        return vals.encode_key(value, "N")
    if t is float and kind == "N":
        return _float_key(value)
    return None


def _float_key(value: float) -> bytes | None:
    """``vals.encode_key`` of the number a positive float is stored as (``Decimal(repr(value))``,
    canonical), straight from its repr: epoch seconds with milliseconds are a common range key and
    the Decimal round trip cost more than the rest of the key. None (the checked path) for
    anything else: zero, negatives, an exponent in the repr, NaN and the infinities."""
    r = repr(value)
    if not value > 0 or "e" in r or "n" in r:
        return None
    whole, _, frac = r.partition(".")
    if whole != "0":  # repr never pads: no leading zeros here
        adjusted = len(whole) - 1
        digits = (whole + frac).rstrip("0")
    else:
        sig = frac.lstrip("0")
        adjusted = len(sig) - len(frac) - 1
        digits = sig.rstrip("0")
    return b"\x03" + (adjusted + 0x8000).to_bytes(2, "big") + digits.encode()


_NEW_VIEWS = ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")
_OLD_VIEWS = ("OLD_IMAGE", "NEW_AND_OLD_IMAGES")


def _expr_args(names: Mapping[str, str] | None, values: Mapping[str, Any] | None) -> tuple[dict | None, dict | None]:
    """Copies of the request's names and values; None stays None (an empty map is an error)."""
    if names is not None and not isinstance(names, Mapping):
        raise ValidationError("names (ExpressionAttributeNames) must be a mapping of '#name' to attribute name")
    if values is not None and not isinstance(values, Mapping):
        raise ValidationError("values (ExpressionAttributeValues) must be a mapping of ':name' to a value")
    return (None if names is None else dict(names)), (None if values is None else dict(values))


def _check_return(op: str, rv: str) -> str:
    if rv not in _RETURN[op]:
        raise ValidationError(f"return_values {rv!r} is not valid here; use one of {', '.join(_RETURN[op])}")
    return rv


class EmbeddedTables(TableStore):
    # Supplied by EmbeddedStore: _db, _log, _clock.

    # -- schema -----------------------------------------------------------------------------------

    def create_table(
        self, name: str, *, hash_key: str, range_key: str | None = None, stream: str | None = None
    ) -> TableSpec:
        check_resource_name("table", name, min_len=3, max_len=255)
        hk, ht = _parse_key_spec(hash_key, "hash_key")
        spec: dict[str, Any] = {"hash_key": hk, "hash_type": ht}
        if range_key is not None:
            rk, rt = _parse_key_spec(range_key, "range_key")
            if rk == hk:
                raise ValidationError(f"hash key and range key must differ; both are {hk!r}")
            spec |= {"range_key": rk, "range_type": rt}
        if stream is not None:
            if stream not in ddb_events.VIEW_TYPES:
                raise ValidationError(
                    f"stream view type must be one of {', '.join(ddb_events.VIEW_TYPES)}, not {stream!r}"
                )
            spec["stream_view"] = stream
        now = self._clock()
        with self._db.write() as con:
            if con.execute("SELECT 1 FROM tables WHERE name=?", (name,)).fetchone():
                raise Conflict(f"Table already exists: {name}")
            con.execute("INSERT INTO tables(name, spec, created) VALUES(?,?,?)", (name, orjson.dumps(spec), now))
        return self.describe_table(name)

    def _load(self, con: sqlite3.Connection, name: str) -> _Table:
        row = con.execute("SELECT id, spec, created FROM tables WHERE name=?", (name,)).fetchone()
        if row is None:
            raise NotFound(f"Requested resource not found: Table: {name} not found")
        # The row is read every time (another process may drop and re-create the table); only the
        # parsing is cached, keyed by everything the row says.
        cache = self.__dict__.setdefault("_table_cache", {})
        t = cache.get((name, row[0], row[1]))
        if t is None:
            t = cache[(name, row[0], row[1])] = _Table(row[0], name, orjson.loads(row[1]), row[2])
        return t

    def describe_table(self, name: str) -> TableSpec:
        with self._db.read() as con:
            t = self._load(con, name)
            (count,) = con.execute("SELECT COUNT(*) FROM items WHERE tid=?", (t.id,)).fetchone()
        return TableSpec(name, t.hash_key, t.hash_type, t.range_key, t.range_type, t.view, t.created, t.arn, count)

    def delete_table(self, name: str) -> None:
        with self._db.write() as con:
            t = self._load(con, name)
            con.execute("DELETE FROM items WHERE tid=?", (t.id,))
            con.execute("DELETE FROM tables WHERE id=?", (t.id,))

    def list_tables(self) -> list[str]:
        return [n for (n,) in self._db.con.execute("SELECT name FROM tables ORDER BY name")]

    # -- single items -----------------------------------------------------------------------------

    def _old(self, con: sqlite3.Connection, t: _Table, hk: bytes, rk: bytes) -> bytes | None:
        """The stored attribute-value JSON of an item, or None."""
        row = con.execute("SELECT item FROM items WHERE tid=? AND hk=? AND rk=?", (t.id, hk, rk)).fetchone()
        return None if row is None else row[0]

    def _old_item(
        self, old_raw: bytes | None, needed: bool, only: frozenset[str] | None = None
    ) -> dict[str, Any] | None:
        """The old item in Python form, decoded only when a condition or the caller needs it, and
        with ``only`` just those attributes (all a condition reads: a view item of 100 KB is checked
        on its version without decoding the rest)."""
        if not needed or old_raw is None:
            return None
        av = orjson.loads(old_raw)
        if only is not None:
            av = {k: av[k] for k in only if k in av}
        return vals.item_from_av(av, trusted=True)

    def _write(self, con: sqlite3.Connection, changes: Sequence[tuple], log: Any = None) -> None:
        """Store or delete items and append their stream records, in the caller's transaction.

        ``changes`` are ``(table, hk, rk, keys, old_raw, new_raw)``: ``keys`` the key attributes as
        attribute-value JSON bytes, the images canonical JSON bytes (sorted keys, sorted sets) or
        None for an absent item, ``old_raw`` exactly what the transaction read. Equal images mean
        the item did not change, and such a change writes nothing and appends no record. The images
        go into the record as they are. ``log`` is the transaction's change-log appender when the
        caller already has it. Keys must be distinct (the rows go in one ``executemany`` per
        statement)."""
        inserts: list[tuple] = []
        updates: list[tuple] = []
        deletes: list[tuple] = []
        now = self._clock()
        appender = None
        for t, hk, rk, keys, old_raw, new_raw in changes:
            if new_raw == old_raw:
                continue
            # old_raw is what this transaction read under the write lock, so it says which
            # statement applies (a plain INSERT costs less than an upsert's conflict check).
            if new_raw is None:
                deletes.append((t.id, hk, rk))
                event = "REMOVE"
            elif old_raw is None:
                inserts.append((t.id, hk, rk, new_raw))
                event = "INSERT"
            else:
                updates.append((new_raw, t.id, hk, rk))
                event = "MODIFY"
            template = t.template
            if template is None:
                continue
            if appender is None:
                appender = log or self._log.appender(con)
            new_img = new_raw if t.new_images else None
            old_img = old_raw if t.old_images else None
            # SizeBytes: the attribute-value JSON the record carries (keys and the images of its view).
            size = len(keys) + (len(new_img) if new_img else 0) + (len(old_img) if old_img else 0)
            record = template.build(event, keys, new_img, old_img, appender.next, now, size)
            appender.append(t.source, f"{hk.hex()}:{rk.hex()}", now, record)
        if inserts:
            con.executemany("INSERT INTO items(tid, hk, rk, item) VALUES(?,?,?,?)", inserts)
        if updates:
            con.executemany("UPDATE items SET item=? WHERE tid=? AND hk=? AND rk=?", updates)
        if deletes:
            con.executemany("DELETE FROM items WHERE tid=? AND hk=? AND rk=?", deletes)

    def _condition(self, cond: Any, old: dict[str, Any] | None, want_item: bool) -> None:
        """Raise ConditionalCheckFailed when the compiled condition (if any) is false for ``old``."""
        if cond is not None and not cond.evaluate(old):
            raise ConditionalCheckFailed(item=old if want_item else None)

    def put_item(
        self,
        table: str,
        item: Mapping[str, Any],
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
        return_values: str = "NONE",
        return_old_on_failure: bool = False,
    ) -> dict[str, Any] | None:
        """PutItem. Returns the old item when ``return_values="ALL_OLD"``. Raises
        ConditionalCheckFailed (nothing written), ValidationError, ItemTooLarge, NotFound."""
        _check_return("put", return_values)
        new_raw = codec.encode_item(item)
        names_, values_ = _expr_args(names, values)
        cond = ex.compile_condition(condition, names_, values_) if condition is not None else None
        ex.check_unused(names_, values_, *([cond] if cond else []))
        with self._db.write() as con:
            t = self._load(con, table)
            hk, rk, keys = t.put_keys(item)
            old_raw = self._old(con, t, hk, rk)
            whole = return_values == "ALL_OLD" or return_old_on_failure
            old = self._old_item(old_raw, cond is not None or whole, None if whole or cond is None else cond.attributes)
            self._condition(cond, old, return_old_on_failure)
            self._write(con, [(t, hk, rk, keys, old_raw, new_raw)])
        return old if return_values == "ALL_OLD" else None

    def get_item(
        self,
        table: str,
        key: Mapping[str, Any],
        *,
        projection: str | None = None,
        names: Mapping[str, str] | None = None,
        consistent: bool = True,
    ) -> dict[str, Any] | None:
        """GetItem; every read is strongly consistent here. Returns None when absent."""
        key = vals.normalize_item(key)
        names_, _ = _expr_args(names, None)
        proj = ex.compile_projection(projection, names_) if projection is not None else None
        ex.check_unused(names_, None, *([proj] if proj else []))
        with self._db.read() as con:
            t = self._load(con, table)
            hk, rk = t.encode(key, exact=True)
            raw = self._old(con, t, hk, rk)
        return None if raw is None else _decode(raw, proj)

    def delete_item(
        self,
        table: str,
        key: Mapping[str, Any],
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
        return_values: str = "NONE",
        return_old_on_failure: bool = False,
    ) -> dict[str, Any] | None:
        """DeleteItem. Deleting an absent item succeeds and records nothing."""
        _check_return("delete", return_values)
        key = vals.normalize_item(key)
        names_, values_ = _expr_args(names, values)
        cond = ex.compile_condition(condition, names_, values_) if condition is not None else None
        ex.check_unused(names_, values_, *([cond] if cond else []))
        with self._db.write() as con:
            t = self._load(con, table)
            hk, rk = t.encode(key, exact=True)
            old_raw = self._old(con, t, hk, rk)
            whole = return_values == "ALL_OLD" or return_old_on_failure
            old = self._old_item(old_raw, cond is not None or whole, None if whole or cond is None else cond.attributes)
            self._condition(cond, old, return_old_on_failure)
            if old_raw is not None:
                self._write(con, [(t, hk, rk, t.keys_json(key), old_raw, None)])
        return old if return_values == "ALL_OLD" else None

    def update_item(
        self,
        table: str,
        key: Mapping[str, Any],
        *,
        update: str | None = None,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
        return_values: str = "NONE",
        return_old_on_failure: bool = False,
    ) -> dict[str, Any] | None:
        """UpdateItem: creates the item (key attributes only, then the update) when it is absent."""
        _check_return("update", return_values)
        key = vals.normalize_item(key)
        names_, values_ = _expr_args(names, values)
        upd = ex.compile_update(update, names_, values_) if update is not None else None
        cond = ex.compile_condition(condition, names_, values_) if condition is not None else None
        ex.check_unused(names_, values_, *[c for c in (upd, cond) if c is not None])
        with self._db.write() as con:
            t = self._load(con, table)
            hk, rk = t.encode(key, exact=True)
            if upd is not None:
                upd.check_keys(t.key_names)
            old_raw = self._old(con, t, hk, rk)
            old = self._old_item(old_raw, True)
            self._condition(cond, old, return_old_on_failure)
            base = dict(old) if old is not None else dict(key)
            new = upd.apply(base) if upd is not None else base
            new = vals.normalize_item(new)
            self._write(con, [(t, hk, rk, t.keys_json(key), old_raw, codec.encode_item(new))])
        if return_values == "ALL_OLD":
            return old
        if return_values == "ALL_NEW":
            return new
        if return_values in ("UPDATED_OLD", "UPDATED_NEW"):
            src = (old or {}) if return_values == "UPDATED_OLD" else new
            paths = set(upd.paths) if upd is not None else set()
            return {k: v for k, v in src.items() if k in paths}
        return None

    # -- reads of many items ----------------------------------------------------------------------

    def query(
        self,
        table: str,
        *,
        key_condition: str,
        filter: str | None = None,
        projection: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
        forward: bool = True,
        limit: int | None = None,
        start_key: Mapping[str, Any] | None = None,
    ) -> Page:
        """Query one partition in range-key order. ``limit`` bounds the items *read* (before the
        filter), as DynamoDB's Limit does; a page also ends after 1 MB."""
        _check_limit(limit)
        names_, values_ = _expr_args(names, values)
        with self._db.read() as con:
            t = self._load(con, table)
            key_types = {t.hash_key: t.hash_type, **({t.range_key: t.range_type} if t.range_key else {})}
            kc = ex.compile_key_condition(key_condition, names_, values_, t.hash_key, t.range_key, key_types=key_types)
            flt = ex.compile_condition(filter, names_, values_, kind="FilterExpression") if filter else None
            proj = ex.compile_projection(projection, names_) if projection else None
            ex.check_unused(names_, values_, *[c for c in (kc, flt, proj) if c is not None])
            vals.check_key_value(t.hash_key, kc.hash_value, t.hash_type)
            hk = vals.encode_key(kc.hash_value, t.hash_type)
            sql = ["SELECT rk, item FROM items WHERE tid=? AND hk=?"]
            args: list[Any] = [t.id, hk]
            prefix_check = None
            if kc.range_op is not None:
                assert t.range_key is not None and t.range_type is not None
                for v in kc.range_values:
                    vals.check_key_value(t.range_key, v, t.range_type, range_key=True)
                enc = [vals.encode_key(v, t.range_type) for v in kc.range_values]
                if kc.range_op == "BETWEEN":
                    sql.append("AND rk >= ? AND rk <= ?")
                    args += enc
                elif kc.range_op == "begins_with":
                    sql.append("AND rk >= ?")
                    args.append(enc[0])
                    prefix_check = kc.range_values[0]
                else:
                    sql.append(f"AND rk {kc.range_op} ?")
                    args.append(enc[0])
            if start_key is not None:
                skey = vals.normalize_item(start_key)
                shk, srk = t.encode(skey, exact=True)
                if shk != hk:
                    raise ValidationError("The provided starting key is invalid: it is not in the queried partition")
                sql.append("AND rk > ?" if forward else "AND rk < ?")
                args.append(srk)
            sql.append("ORDER BY rk" + ("" if forward else " DESC"))
            rows = con.execute(" ".join(sql), args)
            return self._page(t, rows, flt, proj, limit, prefix_check, range_type=t.range_type)

    def scan(
        self,
        table: str,
        *,
        filter: str | None = None,
        projection: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
        limit: int | None = None,
        start_key: Mapping[str, Any] | None = None,
    ) -> Page:
        """Scan the whole table in stored-key order, a page at a time."""
        _check_limit(limit)
        names_, values_ = _expr_args(names, values)
        with self._db.read() as con:
            t = self._load(con, table)
            flt = ex.compile_condition(filter, names_, values_, kind="FilterExpression") if filter else None
            proj = ex.compile_projection(projection, names_) if projection else None
            ex.check_unused(names_, values_, *[c for c in (flt, proj) if c is not None])
            if start_key is not None:
                shk, srk = t.encode(vals.normalize_item(start_key), exact=True)
                rows = con.execute(
                    "SELECT rk, item FROM items WHERE tid=? AND (hk > ? OR (hk = ? AND rk > ?)) ORDER BY hk, rk",
                    (t.id, shk, shk, srk),
                )
            else:
                rows = con.execute("SELECT rk, item FROM items WHERE tid=? ORDER BY hk, rk", (t.id,))
            return self._page(t, rows, flt, proj, limit, None, range_type=t.range_type)

    def _page(
        self,
        t: _Table,
        rows: Any,
        flt: Any,
        proj: Any,
        limit: int | None,
        prefix: Any,
        *,
        range_type: str | None,
    ) -> Page:
        items: list[dict[str, Any]] = []
        scanned = 0
        read_bytes = 0
        last: dict[str, Any] | None = None
        more = False
        in_prefix = False
        for _rk, raw in rows:
            item = vals.item_from_av(orjson.loads(raw), trusted=True)
            if prefix is not None:
                # Items matching begins_with are contiguous in key order: skip up to them, stop after.
                if not _begins(item[t.range_key], prefix):
                    if in_prefix:
                        break
                    continue
                in_prefix = True
            if (limit is not None and scanned >= limit) or read_bytes >= PAGE_BYTES:
                more = True
                break
            scanned += 1
            read_bytes += len(raw)
            last = t.key_of(item)
            if flt is None or flt.evaluate(item):
                items.append(proj.apply(item) if proj else item)
        return Page(items, len(items), scanned, last if more else None)

    def batch_get(
        self, requests: Mapping[str, Sequence[Mapping[str, Any]]], *, projection: Mapping[str, str] | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        """BatchGetItem: up to 100 keys over any tables; absent items are simply missing."""
        total = sum(len(keys) for keys in requests.values())
        if not 1 <= total <= MAX_BATCH_GET:
            raise ValidationError(f"batch_get takes 1 to {MAX_BATCH_GET} keys, not {total}")
        out: dict[str, list[dict[str, Any]]] = {}
        with self._db.read() as con:
            for table, keys in requests.items():
                t = self._load(con, table)
                expr = (projection or {}).get(table)
                proj = ex.compile_projection(expr, None) if expr is not None else None
                wanted = [(t.id, *t.lookup(key)) for key in keys]
                if len(set(wanted)) != len(wanted):
                    raise ValidationError("Provided list of item keys contains duplicates")
                # One statement per table, not a lookup per key; items come back in request order.
                rows = self._olds(con, wanted) if wanted else {}
                out[table] = [_decode(rows[k], proj) for k in wanted if k in rows]
        return out

    def batch_write(self, requests: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
        """BatchWriteItem: up to 25 puts/deletes (``{"put": item}`` or ``{"delete": key}``) over any
        tables, applied in one transaction (stronger than DynamoDB, which may apply part of a batch)."""
        total = sum(len(ops) for ops in requests.values())
        if not 1 <= total <= MAX_BATCH_WRITE:
            raise ValidationError(f"batch_write takes 1 to {MAX_BATCH_WRITE} requests, not {total}")
        prepared = []
        for table, ops in requests.items():
            for op in ops:
                if type(op) is dict and len(op) == 1 and "put" in op:  # the common request, checked at once
                    kind, body = "put", op["put"]
                elif not isinstance(op, Mapping) or len(op) != 1 or next(iter(op)) not in ("put", "delete"):
                    raise ValidationError(
                        f"each batch_write request must be {{'put': item}} or {{'delete': key}}, not {op!r}"
                    )
                else:
                    kind, body = next(iter(op.items()))
                if kind == "put":
                    prepared.append((table, body, codec.encode_item(body)))
                else:
                    prepared.append((table, vals.normalize_item(body), None))
        with self._db.write() as con:
            loaded = {table: self._load(con, table) for table in requests}
            keyed: list[tuple[_Table, bytes, bytes, bytes, bytes | None]] = []
            keys: list[tuple[int, bytes, bytes]] = []
            for table, body, raw in prepared:
                t = loaded[table]
                if raw is not None:
                    hk, rk, record_keys = t.put_keys(body)
                else:
                    hk, rk = t.encode(body, exact=True)
                    record_keys = t.keys_json(body)
                keyed.append((t, hk, rk, record_keys, raw))
                keys.append((t.id, hk, rk))
            if len(set(keys)) != len(keys):
                raise ValidationError("Provided list of item keys contains duplicates")
            olds = self._olds(con, keys)
            self._write(
                con,
                [
                    (t, hk, rk, record_keys, olds.get(key), raw)
                    for (t, hk, rk, record_keys, raw), key in zip(keyed, keys, strict=True)
                ],
            )

    def transact_write(self, actions: Sequence[Mapping[str, Any]]) -> None:
        """TransactWriteItems: see :mod:`ripple.store.embedded.transactions`."""
        from ripple.store.embedded.transactions import transact_write

        transact_write(self, actions)

    def _olds(self, con: sqlite3.Connection, keys: list[tuple[int, bytes, bytes]]) -> dict[tuple, bytes]:
        """The stored JSON of many items in one statement (absent ones are missing from the result)."""
        tid, _, rk = keys[0]
        if all(k[0] == tid and k[2] == rk for k in keys):
            # One table and one range key (every batch on a hash-only table): an IN list on the
            # unique index, which SQLite answers faster than the join below.
            rows = con.execute(
                f"SELECT hk, item FROM items WHERE tid=? AND hk IN ({','.join('?' * len(keys))}) AND rk=?",
                [tid, *(k[1] for k in keys), rk],
            ).fetchall()
            return {(tid, hk, rk): item for hk, item in rows}
        # A join against a VALUES list is an index lookup per key; "(tid, hk, rk) IN (VALUES ...)"
        # would scan the whole table.
        rows = con.execute(
            "WITH k(tid, hk, rk) AS (VALUES " + ",".join(["(?,?,?)"] * len(keys)) + ") "
            "SELECT i.tid, i.hk, i.rk, i.item FROM k JOIN items i ON i.tid=k.tid AND i.hk=k.hk AND i.rk=k.rk",
            [x for k in keys for x in k],
        ).fetchall()
        return {(tid, hk, rk): item for tid, hk, rk, item in rows}


def _decode(raw: bytes, proj: Any) -> dict[str, Any]:
    """A stored item in Python form, with only what ``proj`` (a compiled projection, or None) keeps:
    a board read off a view item that also holds hundreds of games of state then decodes the board,
    not the state."""
    av = orjson.loads(raw)
    if proj is not None:
        av = {k: av[k] for k in proj.attributes if k in av}
    item = vals.item_from_av(av, trusted=True)
    return proj.apply(item) if proj else item


def _begins(value: Any, prefix: Any) -> bool:
    return isinstance(value, type(prefix)) and value.startswith(prefix)


def _check_limit(limit: int | None) -> None:
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise ValidationError(f"limit must be a positive integer, not {limit!r}")
