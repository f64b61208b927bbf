"""The state database: one SQLite file in WAL mode, shared safely by any number of processes.

Every write is one ``BEGIN IMMEDIATE`` transaction that holds the data change and its change records,
so a crash at any instant leaves both or neither. ``synchronous=NORMAL`` survives a killed process
(the WAL is in the OS page cache); ``durability="full"`` also survives power loss at the cost of an
fsync per commit (see docs/decisions/0003-durability.md).
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from ripple.errors import StateError, StateFull, StateReadOnly, StateTooNew

#: Bumped whenever the schema changes; a state folder with a higher number is refused untouched.
SCHEMA_VERSION = 2
DB_NAME = "ripple.sqlite3"

SCHEMA = """
CREATE TABLE buckets(
    name TEXT PRIMARY KEY,
    created REAL NOT NULL,
    website BLOB
) WITHOUT ROWID;
CREATE TABLE blobs(
    id INTEGER PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    refs INTEGER NOT NULL,
    data BLOB              -- the body when small, NULL when it lives in the blob folder
);
CREATE TABLE objects(
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    blob INTEGER NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    content_type TEXT NOT NULL,
    metadata BLOB,
    modified REAL NOT NULL,
    PRIMARY KEY(bucket, key)
) WITHOUT ROWID;
CREATE TABLE tables(
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    spec BLOB NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE items(
    -- A rowid table, not WITHOUT ROWID: an index b-tree keeps whole rows in its interior pages, so
    -- items of a few hundred bytes gave it a tiny fan-out and made random-key inserts cost twice
    -- as much (docs/decisions/0006-items-rowid-table.md).
    id INTEGER PRIMARY KEY,
    tid INTEGER NOT NULL,
    hk BLOB NOT NULL,
    rk BLOB NOT NULL,
    item BLOB NOT NULL,
    UNIQUE(tid, hk, rk)
);
CREATE TABLE streams(
    name TEXT PRIMARY KEY,
    shards INTEGER NOT NULL,
    retention_s REAL NOT NULL,
    created REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE topics(
    name TEXT PRIMARY KEY,
    created REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE changes(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    partition TEXT NOT NULL,
    ts REAL NOT NULL,
    record BLOB NOT NULL,
    hops INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX changes_by_source ON changes(source, seq);
CREATE INDEX changes_by_ts ON changes(ts);
CREATE TABLE horizons(
    source TEXT PRIMARY KEY,
    trimmed_through INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE checkpoints(
    trigger TEXT NOT NULL,
    lane TEXT NOT NULL,
    position INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    window BLOB,
    PRIMARY KEY(trigger, lane)
) WITHOUT ROWID;
CREATE TABLE async_queue(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    trigger TEXT NOT NULL,
    event BLOB NOT NULL,
    enqueued REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before REAL NOT NULL,
    hops INTEGER NOT NULL DEFAULT 0,
    last_error BLOB
);
CREATE INDEX async_queue_due ON async_queue(trigger, not_before);
CREATE TABLE dead_letters(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    trigger TEXT NOT NULL,
    function TEXT NOT NULL,
    event BLOB NOT NULL,
    condition TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    error BLOB,
    first_ts REAL NOT NULL,
    ts REAL NOT NULL
);
CREATE TABLE settings(
    name TEXT PRIMARY KEY,
    value BLOB
) WITHOUT ROWID;
"""


def translate(exc: BaseException, path: Path) -> BaseException:
    """Map an SQLite or OS error about the state folder to the ripple error a user can act on."""
    text = str(exc).lower()
    err = getattr(exc, "errno", None)
    if "readonly" in text or "read-only" in text or err in (errno.EROFS, errno.EACCES, errno.EPERM):
        return StateReadOnly(f"state folder {path} is read-only: {exc}")
    if "disk is full" in text or "database or disk is full" in text or err in (errno.ENOSPC, errno.EDQUOT):
        return StateFull(f"state folder {path} is full: {exc}")
    if isinstance(exc, sqlite3.DatabaseError) and ("malformed" in text or "not a database" in text):
        return StateError(f"state database in {path} is damaged or not a ripple database: {exc}")
    if "unable to open" in text:
        return StateError(f"cannot open the state database in {path}: {exc}")
    return exc


#: Live Database objects per database file in this process (see Database._precheck).
_OPEN: dict[str, int] = {}
_OPEN_LOCK = threading.Lock()


class Database:
    """Per-thread SQLite connections to one state database.

    ``write()`` yields a connection inside ``BEGIN IMMEDIATE``; on a clean exit it commits and then
    runs the after-commit hooks (blob unlinks, reader wake-ups). Any exception rolls back, so a
    failed write changes nothing.
    """

    def __init__(self, folder: Path, *, durability: str = "normal", busy_timeout_s: float = 30.0):
        if durability not in ("normal", "full"):
            raise StateError(f"durability must be 'normal' or 'full', not {durability!r}")
        self.folder = folder
        self.path = folder / DB_NAME
        self._sync = durability.upper()
        self._busy = busy_timeout_s
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        # Threads of one process queue here instead of in SQLite's busy handler, whose back-off
        # sleeps (1, 2, 5 ... 25 ms) would show up as tail latency.
        self._write_lock = threading.Lock()
        self._key = os.path.realpath(self.path)
        self._counted = False
        try:
            self._init_schema()
        except BaseException:
            self.close()
            raise

    # -- connections ------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            con = sqlite3.connect(self.path, timeout=self._busy, isolation_level=None, check_same_thread=False)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute(f"PRAGMA synchronous={self._sync}")
            con.execute("PRAGMA foreign_keys=OFF")
        except sqlite3.Error as e:
            raise translate(e, self.folder) from e
        with self._lock:
            self._all.append(con)
        return con

    @property
    def con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = self._local.con = self._connect()
        return con

    def _precheck(self) -> None:
        """Refuse a database from a newer ripple (or not a database) before SQLite opens it, since
        opening in WAL mode already writes beside it. The header holds user_version at bytes 60..63.

        Skipped while another Database of this process has the file open: closing *any* descriptor
        of a file drops every POSIX lock the process holds on it, SQLite's included. Another
        process could then take the file for the last user, checkpoint and reset the WAL under
        the open connections ("database disk image is malformed"). The first opener checked it."""
        if _OPEN.get(self._key, 0) > 0:
            return
        try:
            with open(self.path, "rb") as f:
                header = f.read(100)
        except FileNotFoundError:
            return
        except OSError as e:
            raise translate(e, self.folder) from e
        if len(header) == 0:
            return
        if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
            raise StateError(f"state database in {self.folder} is damaged or not a ripple database")
        version = int.from_bytes(header[60:64], "big")
        if version > SCHEMA_VERSION:
            raise StateTooNew(
                f"state folder {self.folder} was written by a newer ripple (schema {version}; "
                f"this ripple reads up to {SCHEMA_VERSION}); upgrade ripple to open it"
            )

    def _init_schema(self) -> None:
        with _OPEN_LOCK:
            self._precheck()
            _OPEN[self._key] = _OPEN.get(self._key, 0) + 1
        self._counted = True
        con = self.con
        try:
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StateTooNew(
                    f"state folder {self.folder} was written by a newer ripple (schema {version}; "
                    f"this ripple reads up to {SCHEMA_VERSION}); upgrade ripple to open it"
                )
            if version == 0:
                con.execute("BEGIN IMMEDIATE")
                try:
                    # Another process may have created the schema while we waited for the lock.
                    if con.execute("PRAGMA user_version").fetchone()[0] == 0:
                        for stmt in SCHEMA.split(";"):
                            if stmt.strip():
                                con.execute(stmt)
                        con.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                    con.execute("COMMIT")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
            elif version < SCHEMA_VERSION:
                self._migrate()
        except sqlite3.Error as e:
            raise translate(e, self.folder) from e

    def _migrate(self) -> None:
        """Bring an older schema up to date in one transaction (all or nothing)."""
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if version == 1:  # items: WITHOUT ROWID -> rowid table with a unique key
                con.execute("ALTER TABLE items RENAME TO items_v1")
                con.execute(next(s for s in SCHEMA.split(";") if "CREATE TABLE items(" in s))
                con.execute("INSERT INTO items(tid, hk, rk, item) SELECT tid, hk, rk, item FROM items_v1")
                con.execute("DROP TABLE items_v1")
                version = 2
            con.execute(f"PRAGMA user_version={version}")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    # -- transactions -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction holding the database's write lock until it commits or rolls back.

        Raises StateReadOnly / StateFull (state untouched) when the folder cannot take the write.
        """
        con = self.con
        if con.in_transaction:  # nested use joins the outer transaction
            yield con
            return
        self._write_lock.acquire()
        try:
            try:
                con.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as e:
                raise translate(e, self.folder) from e
            self._local.pending = pending = []
            self._local.txn = txn = {}
            try:
                yield con
                for flush in txn.get("before_commit", ()):
                    flush()
                con.execute("COMMIT")
            except BaseException as e:
                self._local.pending = None
                self._local.txn = None
                with contextlib.suppress(sqlite3.Error):
                    con.execute("ROLLBACK")
                if isinstance(e, sqlite3.Error | OSError):
                    raise translate(e, self.folder) from e
                raise
        finally:
            self._write_lock.release()
        self._local.pending = None
        self._local.txn = None
        for fn in dict.fromkeys(pending):  # each distinct hook once, in order
            fn()

    def txn_cache(self) -> dict:
        """A dict that lives exactly as long as the current write transaction (per-transaction state
        such as the change-log appender). Raises RuntimeError outside a write transaction."""
        cache = getattr(self._local, "txn", None)
        if cache is None:
            raise RuntimeError("txn_cache() called outside a write transaction")
        return cache

    def before_commit(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` inside the current write transaction just before it commits (buffered writes
        flush here, so they commit or roll back with everything else)."""
        self.txn_cache().setdefault("before_commit", []).append(fn)

    def after_commit(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` once after the current write transaction commits; never if it rolls back."""
        pending = getattr(self._local, "pending", None)
        if pending is None:
            raise RuntimeError("after_commit() called outside a write transaction")
        pending.append(fn)

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for several reads (a deferred transaction)."""
        con = self.con
        if con.in_transaction:
            yield con
            return
        con.execute("BEGIN")
        try:
            yield con
        finally:
            with contextlib.suppress(sqlite3.Error):
                con.execute("COMMIT")

    def close(self) -> None:
        with _OPEN_LOCK:
            if self._counted:
                self._counted = False
                _OPEN[self._key] -= 1
        with self._lock:
            cons, self._all = self._all, []
        for con in cons:
            with contextlib.suppress(sqlite3.Error):
                con.close()
        self._local = threading.local()


def ensure_folder(folder: Path) -> None:
    """Create the state folder (and parents) or raise a StateError that says why not."""
    if folder.exists() and not folder.is_dir():
        raise StateError(f"state folder {folder} is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise translate(e, folder) from e
    if not os.access(folder, os.R_OK | os.X_OK):
        raise StateError(f"state folder {folder} is not readable")
    if not os.access(folder, os.W_OK):
        # SQLite in WAL mode writes its shared-memory index even to read, so say so now.
        raise StateReadOnly(f"state folder {folder} is read-only; ripple needs to write there")
