"""Invocation records and log lines: what they hold and where they are kept.

:class:`RecordStore` is the narrow contract (five methods) a cluster backend will implement;
:class:`SqliteRecordStore` keeps them in ``<state>/runtime.sqlite3`` (WAL mode, so ``ripple logs -f``
in another process reads while the pool writes).
"""

from __future__ import annotations

import abc
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from ripple.errors import StateError, StateTooNew

#: Record statuses.
OK, ERROR, TIMEOUT, OUT_OF_MEMORY, CRASHED = "ok", "error", "timeout", "out_of_memory", "crashed"
STATUSES = (OK, ERROR, TIMEOUT, OUT_OF_MEMORY, CRASHED)
SCHEMA_VERSION = 1


class InvocationRecord(NamedTuple):
    """One invocation, as ``ripple invocations`` lists it. Times are epoch seconds; durations in ms;
    memory in MB (MiB, as Lambda's REPORT line).

    A tuple in column order, so a batch of records goes to SQLite's ``executemany`` as it is: the
    writer thread converts nothing while it holds the GIL the invocation path needs.
    """

    request_id: str
    function: str
    trigger: str
    invocation_type: str
    start: float
    duration_ms: float
    billed_duration_ms: int
    init_duration_ms: float | None
    memory_size_mb: int
    max_memory_used_mb: int
    status: str
    error_type: str | None = None
    error_message: str | None = None


def astuple(record: InvocationRecord) -> tuple:
    """The record's values in column order."""
    return tuple(record)


@dataclass(frozen=True)
class LogLine:
    """One line of a function's log. ``id`` increases in write order; ``timestamp`` is epoch seconds."""

    id: int
    function: str
    request_id: str
    timestamp: float
    message: str


class RecordStore(abc.ABC):
    """Where invocation records and log lines are kept. Implementations must be thread-safe."""

    @abc.abstractmethod
    def add(self, invocations: Sequence[InvocationRecord], logs: Sequence[tuple[str, str, float, str]]) -> None:
        """Store records and log lines ``(function, request_id, timestamp, message)`` atomically, logs in
        the given order."""

    @abc.abstractmethod
    def invocations(
        self, function: str | None = None, *, statuses: Iterable[str] = (), limit: int = 100
    ) -> list[InvocationRecord]:
        """The latest ``limit`` records, newest first, optionally of one function and some statuses."""

    @abc.abstractmethod
    def logs(
        self, function: str | None = None, *, after_id: int = 0, since: float | None = None, limit: int = 1000
    ) -> list[LogLine]:
        """Log lines with ``id > after_id`` (and ``timestamp >= since``), oldest first."""

    @abc.abstractmethod
    def trim(self, before: float) -> int:
        """Drop the records of invocations that started, and the log lines written, before
        ``before`` (epoch seconds). Returns how many rows went."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the store; idempotent."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS invocations (
    request_id TEXT PRIMARY KEY, function TEXT NOT NULL, trigger TEXT NOT NULL, invocation_type TEXT NOT NULL,
    start REAL NOT NULL, duration_ms REAL NOT NULL, billed_duration_ms INTEGER NOT NULL, init_duration_ms REAL,
    memory_size_mb INTEGER NOT NULL, max_memory_used_mb INTEGER NOT NULL, status TEXT NOT NULL,
    error_type TEXT, error_message TEXT);
CREATE INDEX IF NOT EXISTS invocations_by_function ON invocations (function, start);
CREATE INDEX IF NOT EXISTS invocations_by_start ON invocations (start);
CREATE TABLE IF NOT EXISTS logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, function TEXT NOT NULL, request_id TEXT NOT NULL,
    timestamp REAL NOT NULL, message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS logs_by_function ON logs (function, id);
"""


class SqliteRecordStore(RecordStore):
    """Records in one SQLite file (WAL). Opening creates the file and its folder.

    Raises:
        StateError: the file cannot be opened or created. StateTooNew: a newer ripple wrote it.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StateTooNew(f"{self.path} was written by a newer ripple (schema {version})")
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.Error as exc:
            raise StateError(f"cannot open {self.path}: {exc}") from exc

    @classmethod
    def in_state(cls, state: Path) -> SqliteRecordStore:
        """The runtime's store inside a state folder."""
        return cls(Path(state) / "runtime.sqlite3")

    def add(self, invocations: Sequence[InvocationRecord], logs: Sequence[tuple[str, str, float, str]]) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                if invocations:
                    self._db.executemany(
                        "INSERT OR REPLACE INTO invocations VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", invocations
                    )
                if logs:
                    self._db.executemany(
                        "INSERT INTO logs (function, request_id, timestamp, message) VALUES (?,?,?,?)", logs
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def invocations(
        self, function: str | None = None, *, statuses: Iterable[str] = (), limit: int = 100
    ) -> list[InvocationRecord]:
        where, args = ["1"], []
        if function is not None:
            where.append("function = ?")
            args.append(function)
        statuses = list(statuses)
        if statuses:
            where.append(f"status IN ({','.join('?' * len(statuses))})")
            args.extend(statuses)
        sql = f"SELECT * FROM invocations WHERE {' AND '.join(where)} ORDER BY start DESC LIMIT ?"
        with self._lock:
            rows = self._db.execute(sql, [*args, limit]).fetchall()
        return [InvocationRecord(*row) for row in rows]

    def logs(
        self, function: str | None = None, *, after_id: int = 0, since: float | None = None, limit: int = 1000
    ) -> list[LogLine]:
        where, args = ["id > ?"], [after_id]
        if function is not None:
            where.append("function = ?")
            args.append(function)
        if since is not None:
            where.append("timestamp >= ?")
            args.append(since)
        sql = f"SELECT * FROM logs WHERE {' AND '.join(where)} ORDER BY id LIMIT ?"
        with self._lock:
            rows = self._db.execute(sql, [*args, limit]).fetchall()
        return [LogLine(*row) for row in rows]

    def trim(self, before: float) -> int:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                gone = self._db.execute("DELETE FROM invocations WHERE start < ?", (before,)).rowcount
                # Lines are written in time order: the first one kept bounds the ids to drop, and
                # finding it reads only the lines that go (there is no index on the timestamp).
                (first,) = self._db.execute("SELECT MIN(id) FROM logs WHERE timestamp >= ?", (before,)).fetchone()
                if first is None:
                    gone += self._db.execute("DELETE FROM logs").rowcount
                else:
                    gone += self._db.execute("DELETE FROM logs WHERE id < ?", (first,)).rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return gone

    def close(self) -> None:
        with self._lock:
            self._db.close()
