"""The build state: one SQLite file under the output's state folder (``OUT/.ripple/site.db``).

It holds the source index (stat + hash), cached front matter parses and rendered markdown, every
dependency key with the digest it had at the last build, and each output with its producer, digest
and the ids of the keys it read. A cold process reads it and carries on where the last build stopped.
"""

from __future__ import annotations

import json
import pickle
import re
import sqlite3
from bisect import bisect_right
from collections.abc import Callable
from itertools import accumulate
from pathlib import Path
from typing import Any

import orjson

from ripple.errors import StateError, StateTooNew
from ripple.site.fragments import Runs

SCHEMA_VERSION = 6

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v BLOB);
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, mtime INTEGER, hash BLOB);
CREATE TABLE IF NOT EXISTS parsed (path TEXT PRIMARY KEY, hash BLOB, data BLOB);
CREATE TABLE IF NOT EXISTS content (id TEXT PRIMARY KEY, fhash BLOB, env BLOB, deps BLOB, data BLOB);
CREATE TABLE IF NOT EXISTS keys (id INTEGER PRIMARY KEY, key TEXT, digest BLOB, root TEXT, cls INTEGER);
CREATE TABLE IF NOT EXISTS outputs (path TEXT PRIMARY KEY, hash BLOB, producer TEXT, deps BLOB, flags TEXT, slots BLOB);
CREATE TABLE IF NOT EXISTS fragments (id TEXT PRIMARY KEY, text TEXT, deps BLOB, sum BLOB);
"""
#: The keys table's indexes, dropped while a full build refills the table and made again after:
#: building an index from ~150k rows at once costs about half of updating it row by row.
_INDEXES = (
    ("keys_by_text", "CREATE UNIQUE INDEX IF NOT EXISTS keys_by_text ON keys (key)"),
    ("keys_by_class", "CREATE INDEX IF NOT EXISTS keys_by_class ON keys (cls, root)"),
)


class OutputRow:
    __slots__ = ("_ids", "_slots", "deps", "flags", "hash", "kept", "producer", "slots")

    def __init__(self, hash: bytes, producer: str, deps: bytes, flags: str, slots: bytes | None = None) -> None:
        self.hash = hash
        self.producer = producer
        self.deps = deps  # orjson list of key ids, decoded lazily
        self.flags = flags
        #: orjson ``[[ids read only in slots], [[start, end, fragment id], ...]]`` or empty: where
        #: the output's file holds partials printed straight into it (see Templates.slot)
        self.slots = slots
        self._ids: frozenset[int] | None = None
        self._slots: tuple[frozenset[int], list[Any]] | None = None
        self.kept: Any = None  # the build's "kept as is" marker for this row, made once

    def slot_info(self) -> tuple[frozenset[int], list[Any]] | None:
        """(ids of keys read only inside slots, [[start byte, end byte, fragment id], ...]), decoded
        once per process; None when the output has no slots or the column cannot be read."""
        if self._slots is None:
            if not self.slots:
                return None
            try:
                only, where = orjson.loads(self.slots)
                self._slots = (frozenset(only), where)
            except (ValueError, TypeError):
                return None
        return self._slots

    def dep_ids(self) -> frozenset[int]:
        """The ids of the keys this output read, decoded once per process."""
        if self._ids is None:
            self._ids = frozenset(orjson.loads(self.deps))
        return self._ids


class State:
    """Open (creating if needed) the state database at ``path``.

    Raises :class:`ripple.errors.StateTooNew` for a state written by a newer schema and
    :class:`ripple.errors.StateError` when the file cannot be opened.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA)
            v = self.get_meta("schema")
            if v is not None and int(v) < SCHEMA_VERSION:
                # An older layout: start over (the next build is a full one).
                for table in ("meta", "files", "parsed", "content", "keys", "outputs", "fragments"):
                    self.db.execute(f"DROP TABLE IF EXISTS {table}")
                self.db.executescript(_SCHEMA)
                v = None
            for _, create in _INDEXES:
                self.db.execute(create)
        except (OSError, sqlite3.Error) as e:
            raise StateError(f"cannot open site state {path}: {e}") from None
        if v is not None and int(v) > SCHEMA_VERSION:
            raise StateTooNew(f"site state {path} was written by a newer ripple (schema {int(v)})")
        self.fresh = v is None
        self._identity = self._file_identity()
        self._reset_memo()

    # -- in-memory copies -----------------------------------------------------------------------------
    # A process that builds again (a warm sandbox, a watcher) keeps the files index, the decoded
    # parses and the outputs table in memory instead of reloading ~10k rows of each per build. They are
    # updated by commit() and dropped whenever someone else may have written the state: another
    # connection committed (SQLite's data_version moved) or the file was replaced (a new inode).

    def _reset_memo(self) -> None:
        self._files: dict[str, tuple[int, int, bytes]] | None = None
        self._parsed: dict[str, tuple[bytes, Any]] | None = None  # path -> (hash, pickled or decoded)
        self._outputs: dict[str, OutputRow] | None = None
        self._content_ids: set[str] | None = None
        self._with_deps: set[str] | None = None  # content ids whose markdown read more than its file
        self._fragments: dict[str, tuple[str, bytes, bytes]] | None = None
        self._fragment_ids: dict[str, bytes] | None = None  # until the next commit, see fragment_ids
        #: fragment id -> (the row, its key ids) for rows whose checksum and ids were checked once
        self.fragments_checked: dict[str, tuple[tuple[str, bytes, bytes], list[int]]] = {}
        #: runs of list items assembled from fragments (see fragments.Runs): valid under the same rules
        self.runs = Runs()
        self._data_version = self.db.execute("PRAGMA data_version").fetchone()[0]

    def _file_identity(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def revalidate(self) -> bool:
        """Drop the in-memory copies if the state may have changed under this connection. Returns
        False when the file was replaced or removed: this State must then be closed and reopened."""
        if self._file_identity() != self._identity:
            return False
        if self.db.execute("PRAGMA data_version").fetchone()[0] != self._data_version:
            self._reset_memo()
        return True

    def checkpoint(self) -> None:
        """Copy every committed page from the WAL into the database file and empty the WAL."""
        try:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as e:
            raise StateError(f"cannot checkpoint site state {self.path}: {e}") from None

    def close(self) -> None:
        self.db.close()

    def reconnect(self) -> None:
        """A connection of its own, for a forked child (SQLite connections must not cross a fork).
        The inherited one is left alone, never used or closed here."""
        self.db = sqlite3.connect(self.path, isolation_level=None)

    # -- meta ---------------------------------------------------------------------------------------------

    def get_meta(self, k: str) -> bytes | None:
        row = self.db.execute("SELECT v FROM meta WHERE k=?", (k,)).fetchone()
        return row[0] if row else None

    # -- loading ------------------------------------------------------------------------------------------

    def files(self) -> dict[str, tuple[int, int, bytes]]:
        """Source path -> (size, mtime_ns, hash) at the last build. Read-only for the caller."""
        if self._files is None:
            self._files = {
                r[0]: (r[1], r[2], r[3]) for r in self.db.execute("SELECT path, size, mtime, hash FROM files")
            }
        return self._files

    def parsed(self) -> dict[str, tuple[bytes, Any]]:
        """Content path -> (file hash, parse): the parse is pickled bytes until :meth:`decoded`
        unpickles it once for this process. Read-only for the caller."""
        if self._parsed is None:
            self._parsed = {r[0]: (r[1], r[2]) for r in self.db.execute("SELECT path, hash, data FROM parsed")}
        return self._parsed

    def decoded(self, path: str, fhash: bytes) -> Any | None:
        """The cached parse of ``path`` if it was made from a file with ``fhash``, else None."""
        hit = self.parsed().get(path)
        if hit is None or hit[0] != fhash:
            return None
        if isinstance(hit[1], bytes):
            hit = self._parsed[path] = (hit[0], loads(hit[1]))  # type: ignore[index]
        return hit[1]

    def decoded_one(self, path: str, fhash: bytes) -> Any | None:
        """As :meth:`decoded`, reading only this row when the table is not in memory."""
        if self._parsed is not None:
            return self.decoded(path, fhash)
        row = self.db.execute("SELECT hash, data FROM parsed WHERE path=?", (path,)).fetchone()
        if row is None or row[0] != fhash:
            return None
        try:
            return loads(row[1])
        except Exception:  # a damaged row is only a missed shortcut
            return None

    def content_entry(self, pid: str) -> tuple[bytes, bytes, bytes, bytes] | None:
        row = self.db.execute("SELECT fhash, env, deps, data FROM content WHERE id=?", (pid,)).fetchone()
        return tuple(row) if row else None  # type: ignore[return-value]

    def content_entries(self) -> dict[str, tuple[bytes, bytes, bytes, bytes]]:
        """Every stored markdown render, by page id (one query instead of one per page)."""
        rows = self.db.execute("SELECT id, fhash, env, deps, data FROM content")
        return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}

    def all_keys(self) -> list[tuple[int, str, bytes]]:
        """Every recorded key as (id, JSON text, digest at the last build)."""
        return self.db.execute("SELECT id, key, digest FROM keys").fetchall()

    def keys_to_check(
        self, touched: list[str], md_deps: list[str], order_changed: bool, lists: list[str]
    ) -> list[tuple[int, str, bytes]]:
        """Keys that may have changed: all but page-local ones of untouched pages (class 1), markdown
        ones of untouched pages without shortcode reads (2), neighbours when the order held (3) and
        pager/member keys of list pages whose lists did not change (4)."""
        q = (
            "SELECT id, key, digest FROM keys WHERE cls=0"
            " OR (cls IN (1, 2) AND root IN (SELECT value FROM json_each(?)))"
            " OR (cls=2 AND root IN (SELECT value FROM json_each(?)))"
            " OR (cls=4 AND root IN (SELECT value FROM json_each(?)))"
        )
        if order_changed:
            q += " OR cls=3"
        else:
            q += " OR (cls=3 AND root IN (SELECT value FROM json_each(?)))"
        args: tuple[str, ...] = (json.dumps(touched), json.dumps(md_deps), json.dumps(lists))
        if not order_changed:
            args += (json.dumps(touched),)
        return self.db.execute(q, args).fetchall()

    def content_with_deps(self) -> list[str]:
        """Pages whose cached markdown read more than the file itself (shortcodes)."""
        if self._with_deps is None:
            self._with_deps = {r[0] for r in self.db.execute("SELECT id FROM content WHERE deps != ?", (b"[]",))}
        return sorted(self._with_deps)

    def key_ids(self) -> dict[str, int]:
        return {k: i for i, k in self.db.execute("SELECT id, key FROM keys")}

    def key_id(self, text: str) -> int | None:
        row = self.db.execute("SELECT id FROM keys WHERE key=?", (text,)).fetchone()
        return row[0] if row else None

    def max_key_id(self) -> int:
        return self.db.execute("SELECT coalesce(max(id), 0) FROM keys").fetchone()[0]

    def outputs(self) -> dict[str, OutputRow]:
        """Output path -> its row at the last build. Read-only for the caller."""
        if self._outputs is None:
            self._outputs = {
                r[0]: OutputRow(r[1], r[2], r[3], r[4], r[5])
                for r in self.db.execute("SELECT path, hash, producer, deps, flags, slots FROM outputs")
            }
        return self._outputs

    def fragments(self) -> dict[str, tuple[str, bytes, bytes]]:
        """Stored partial renders: fragment id -> (text, orjson list of the key ids it read, checksum).
        Read-only for the caller (kept in memory for the next build, as the outputs are)."""
        if self._fragments is None:
            rows = self.db.execute("SELECT id, text, deps, sum FROM fragments")
            self._fragments = {r[0]: (r[1], r[2], r[3]) for r in rows}
        return self._fragments

    def fragment_ids(self) -> dict[str, bytes]:
        """Fragment id -> the orjson list of the key ids it read, for every stored fragment (their
        texts are not read)."""
        if self._fragments is not None:
            return {fid: row[1] for fid, row in self._fragments.items()}
        if self._fragment_ids is None:  # asked by the splices and by the commit: read once (~20-30 ms)
            self._fragment_ids = dict(self.db.execute("SELECT id, deps FROM fragments"))
        return self._fragment_ids

    def fragment(self, fid: str) -> tuple[str, bytes, bytes] | None:
        if self._fragments is not None:
            return self._fragments.get(fid)
        row = self.db.execute("SELECT text, deps, sum FROM fragments WHERE id=?", (fid,)).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def output_count(self) -> int:
        if self._outputs is not None:
            return len(self._outputs)
        return self.db.execute("SELECT count(*) FROM outputs").fetchone()[0]

    # -- committing ---------------------------------------------------------------------------------------

    def touch_files(self, files: dict[str, tuple[int, int, bytes]]) -> None:
        """Record new (size, mtime) of files whose content did not change. Raises StateError."""
        if not files:
            return
        try:
            with self.db:
                self.db.execute("BEGIN")
                self.db.executemany(
                    "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)", [(p, *v) for p, v in files.items()]
                )
        except sqlite3.Error as e:
            self._reset_memo()
            raise StateError(f"cannot write site state {self.path}: {e}") from None
        if self._files is not None:
            self._files.update(files)
        self._data_version = self.db.execute("PRAGMA data_version").fetchone()[0]

    def _journal(self, mode: str) -> bool:
        """Switch the journal mode; False if SQLite kept the old one (another connection is open)."""
        try:
            return self.db.execute(f"PRAGMA journal_mode={mode}").fetchone()[0] == mode
        except sqlite3.Error:
            return False

    def set_dirty(self, dirty: bool) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('dirty', ?)", (b"1" if dirty else b"0",))

    def commit(
        self,
        *,
        meta: dict[str, Any],
        files: dict[str, tuple[int, int, bytes]],
        gone_files: list[str],
        parsed: dict[str, tuple[bytes, bytes]],
        decoded: dict[str, Any] | None = None,
        content: dict[str, tuple[bytes, bytes, bytes, bytes]],
        content_live: set[str],
        new_keys: dict[int, tuple[str, bytes, str, int]],
        changed_keys: dict[int, bytes],
        dead_keys: set[int],
        outputs: dict[str, tuple[bytes, str, bytes, str, bytes]],
        deleted: list[str],
        fragments: dict[str, tuple[str, bytes, bytes]] | None = None,
        reset: bool = False,
        before_commit: Callable[[], None] | None = None,
        remember: bool = True,
    ) -> None:
        """Write the new state in one transaction (``reset``: replace everything, for full builds).

        ``remember=False``: drop the in-memory copies instead of bringing them up to date, for a
        process that builds once and leaves (16k output rows made into objects no build reads).

        ``before_commit`` is called after the rows are inserted, just before ``COMMIT`` (the build
        waits there for its output writer); whatever it raises rolls the transaction back and is
        raised as it is.

        ``parsed`` rows with empty data keep their stored parse; ``decoded`` holds the unpickled
        parse of each rewritten row, kept in memory for the next build. Raises StateError."""
        db = self.db
        # A first build fills an empty file with ~100 MB: through the write-ahead log every page would
        # be written twice (the log, then the checkpoint that folds it back). A rollback journal
        # writes them once and has nothing to save of an empty file; WAL mode is back right after.
        direct = reset and self.fresh and self._journal("delete")
        try:
            db.execute("BEGIN")
            if reset:
                for name, _ in _INDEXES:
                    db.execute(f"DROP INDEX IF EXISTS {name}")
                for table in ("files", "parsed", "content", "keys", "outputs", "fragments"):
                    db.execute(f"DELETE FROM {table}")
                self._content_ids = set()
                self._with_deps = set()
                self._fragments = {}
                self.fragments_checked = {}
                self.runs = Runs()
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(meta.items()))
            db.executemany("DELETE FROM files WHERE path=?", [(p,) for p in gone_files])
            db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)", [(p, *v) for p, v in files.items()])
            if self._parsed is not None:  # the in-memory copy mirrors the table
                gone_parsed = [(p,) for p in self._parsed if p not in parsed]
            else:
                gone_parsed = [(r[0],) for r in db.execute("SELECT path FROM parsed") if r[0] not in parsed]
            db.executemany("DELETE FROM parsed WHERE path=?", gone_parsed)
            db.executemany(
                "INSERT OR REPLACE INTO parsed VALUES (?, ?, ?)", [(p, *v) for p, v in parsed.items() if v[1]]
            )
            db.executemany(
                "INSERT OR REPLACE INTO content VALUES (?, ?, ?, ?, ?)", [(k, *v) for k, v in content.items()]
            )
            if self._content_ids is None:
                self._content_ids = {r[0] for r in db.execute("SELECT id FROM content")}
            self._content_ids.update(content)
            gone_content = self._content_ids - content_live
            db.executemany("DELETE FROM content WHERE id=?", [(p,) for p in gone_content])
            self._content_ids -= gone_content
            if self._with_deps is not None:
                for k, v in content.items():
                    if v[2] != b"[]":
                        self._with_deps.add(k)
                    else:
                        self._with_deps.discard(k)
                self._with_deps -= gone_content
            db.executemany(
                "INSERT INTO keys VALUES (?, ?, ?, ?, ?)",
                [(i, *v) for i, v in new_keys.items()],
            )
            if reset:
                for _, create in _INDEXES:
                    db.execute(create)
            db.executemany("UPDATE keys SET digest=? WHERE id=?", [(d, i) for i, d in changed_keys.items()])
            db.executemany("DELETE FROM keys WHERE id=?", [(i,) for i in dead_keys])
            # A fragment naming a dropped key goes with it (its id could later name another key), and
            # so does one naming a key whose digest changed, unless this build rendered it again: no
            # later build would see that key as changed, and the fragment is stale.
            gone = dead_keys | changed_keys.keys()
            frags = self._fragments
            if gone:
                self.runs.drop_naming(gone)
                stored = self.fragment_ids()
                fids, blobs = list(stored), list(stored.values())
                drop = [fids[i] for i in sorted(naming(blobs, gone)) if not fragments or fids[i] not in fragments]
                db.executemany("DELETE FROM fragments WHERE id=?", [(fid,) for fid in drop])
                for fid in drop:
                    if frags is not None:
                        del frags[fid]
                    self.fragments_checked.pop(fid, None)  # a long-lived process must not keep them
            if fragments:
                put = {k: v for k, v in fragments.items() if not dead_keys or not _names_any(v[1], dead_keys)}
                rows = [(k, *v) for k, v in put.items()]
                db.executemany("INSERT OR REPLACE INTO fragments VALUES (?, ?, ?, ?)", rows)
                if frags is not None:
                    frags.update(put)
            db.executemany("DELETE FROM outputs WHERE path=?", [(p,) for p in deleted])
            db.executemany(
                "INSERT OR REPLACE INTO outputs VALUES (?, ?, ?, ?, ?, ?)", [(p, *v) for p, v in outputs.items()]
            )
            db.execute("INSERT OR REPLACE INTO meta VALUES ('dirty', ?)", (b"0",))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION).encode(),))
            if before_commit is not None:
                before_commit()
            db.execute("COMMIT")
        except sqlite3.Error as e:
            db.execute("ROLLBACK")
            self._reset_memo()
            raise StateError(f"cannot write site state {self.path}: {e}") from None
        except BaseException:
            db.execute("ROLLBACK")
            self._reset_memo()
            raise
        finally:
            if direct:
                self._journal("wal")
        self.fresh = False
        self._fragment_ids = None
        if remember:
            self._remember(files, gone_files, parsed, decoded or {}, outputs, deleted, reset)
        else:
            self._reset_memo()

    def _remember(
        self,
        files: dict[str, tuple[int, int, bytes]],
        gone_files: list[str],
        parsed: dict[str, tuple[bytes, bytes]],
        decoded: dict[str, Any],
        outputs: dict[str, tuple[bytes, str, bytes, str, bytes]],
        deleted: list[str],
        reset: bool,
    ) -> None:
        """Bring the in-memory copies to what commit() just wrote."""
        if reset:
            self._files = {}
            self._outputs = {}
            self._parsed = {}
        if self._files is not None:
            for p in gone_files:
                self._files.pop(p, None)
            self._files.update(files)
        if self._parsed is not None:
            old = self._parsed
            self._parsed = {}
            for p, (h, data) in parsed.items():
                if data:
                    self._parsed[p] = (h, decoded.get(p, data))
                elif p in old:
                    self._parsed[p] = old[p]
                else:  # kept by the database but unknown here: reload everything next time
                    self._parsed = None
                    break
        if self._outputs is not None:
            for p in deleted:
                self._outputs.pop(p, None)
            for p, v in outputs.items():
                self._outputs[p] = OutputRow(*v)
        self._data_version = self.db.execute("PRAGMA data_version").fetchone()[0]


def _names_any(blob: bytes, ids: set[int]) -> bool:
    try:
        got = orjson.loads(blob)
        return type(got) is not list or not ids.isdisjoint(got)
    except (orjson.JSONDecodeError, TypeError):
        return True  # unreadable: drop it


#: up to this many ids, :func:`naming` finds them with one substring search each over all the
#: lists at once (~0.1 ms an id over 30k lists, plus ~5 ms to join them); above, one regex per list
FEW_IDS = 64
_COMMAS = bytes.maketrans(b"[]", b",,")


def naming(blobs: list[Any], ids: set[int]) -> set[int]:
    """The indexes of ``blobs`` (orjson id lists such as ``[1,2,3]``) that name one of ``ids``, or
    are not readable. With few ids the lists are joined into one text with brackets turned into
    commas, so every id sits between two commas and ``bytes.find`` of ``,<id>,`` finds it."""
    text = None
    if len(ids) <= FEW_IDS:
        try:
            text = b"".join(blobs)
        except TypeError:
            pass
    if text is None or text.count(b"[") != len(blobs) or text.count(b"]") != len(blobs):
        named = id_namer(ids)
        return {i for i, blob in enumerate(blobs) if named(blob)}
    text = text.translate(_COMMAS)
    ends = list(accumulate(map(len, blobs)))
    found: set[int] = set()
    for i in ids:
        needle = b",%d," % i
        at = text.find(needle)
        while at >= 0:
            # The needle's digits lie inside one list: the one that ends after them.
            r = bisect_right(ends, at + 1)
            found.add(r)
            at = text.find(needle, ends[r])  # the rest of this list cannot add anything
    return found


def id_namer(ids: set[int]) -> Any:
    """``blob -> bool``: whether an orjson id list (``[1,2,3]``) names one of ``ids`` (or is not
    readable). With few ids, a regex rules out most rows without decoding them."""
    if len(ids) > 256:
        return lambda blob: _names_any(blob, ids)
    search = re.compile(rb"[\[,](?:" + b"|".join(str(i).encode() for i in sorted(ids)) + rb")[,\]]").search

    def named(blob: Any) -> bool:
        if type(blob) is not bytes or not blob.startswith(b"[") or not blob.endswith(b"]"):
            return True
        return search(blob) is not None

    return named


def dumps(v: Any) -> bytes:
    return pickle.dumps(v, protocol=pickle.HIGHEST_PROTOCOL)


def loads(b: bytes) -> Any:
    return pickle.loads(b)
