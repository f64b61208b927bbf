"""The change log on SQLite: one ``changes`` table, written in the same transaction as the data.

Positions are the table's AUTOINCREMENT keys: increasing across the whole log, hence within every
partition, and never reused even after retention trims the oldest rows.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from ripple.errors import TrimmedData, ValidationError
from ripple.store.base import Change, ChangeLog
from ripple.store.embedded.db import Database
from ripple.store.embedded.notify import Notifier

DEFAULT_RETENTION_S = 24 * 3600.0


def chain_hops() -> int:
    """The chain depth of the invocation this process is serving (set per invocation by the sandbox),
    0 outside handlers. Malformed values count as 0: the variable is ripple's, not the user's."""
    value = os.environ.get("RIPPLE_CHAIN_HOPS", "0")
    return int(value) if value.isdigit() else 0


class Appender:
    """Allocates positions and buffers records inside one write transaction; the buffer is inserted
    in one ``executemany`` just before the commit."""

    __slots__ = ("_con", "_hops", "_rows", "next")

    def __init__(self, db: Database, con: sqlite3.Connection, notifier: Notifier):
        self._con = con
        self._rows: list[tuple[int, str, str, float, bytes, int]] = []
        self._hops = chain_hops()
        row = con.execute("SELECT seq FROM sqlite_sequence WHERE name='changes'").fetchone()
        self.next = (row[0] if row else 0) + 1
        db.before_commit(self.flush)
        db.after_commit(notifier.notify)

    def add(self, source: str, partition: str, ts: float, build: Callable[[int], dict[str, Any]]) -> int:
        """Append the record ``build(seq)`` at the next position and return that position."""
        seq = self.next
        self.next = seq + 1
        self._rows.append((seq, source, partition, ts, orjson.dumps(build(seq)), self._hops))
        return seq

    def append(self, source: str, partition: str, ts: float, record: bytes) -> int:
        """Append ``record`` (JSON bytes, built for position :attr:`next`) at that position and
        return it: the hot write paths' form of :meth:`add`, without a builder callback."""
        seq = self.next
        self.next = seq + 1
        self._rows.append((seq, source, partition, ts, record, self._hops))
        return seq

    def flush(self) -> None:
        if self._rows:
            self._con.executemany(
                "INSERT INTO changes(seq, source, partition, ts, record, hops) VALUES(?,?,?,?,?,?)", self._rows
            )
            self._rows.clear()


def _where(sources: Sequence[str] | None) -> tuple[str, tuple[str, ...]]:
    if sources is None:
        return "", ()
    if isinstance(sources, str):
        sources = (sources,)
    return f" AND source IN ({','.join('?' * len(sources))})", tuple(sources)


class EmbeddedChangeLog(ChangeLog):
    def __init__(self, db: Database, notifier: Notifier, clock: Callable[[], float] = time.time):
        self._db = db
        self._notifier = notifier
        self._clock = clock
        #: Per-source retention overrides (streams carry their own); everything else uses the default.
        self.retention_for: Callable[[str], float] = lambda source: DEFAULT_RETENTION_S

    def appender(self, con: sqlite3.Connection) -> Appender:
        """The current write transaction's appender (one per transaction: positions are allocated
        from one read of ``sqlite_sequence``)."""
        cache = self._db.txn_cache()
        app = cache.get("appender")
        if app is None:
            app = cache["appender"] = Appender(self._db, con, self._notifier)
        return app

    def read(self, after: int = 0, *, sources: Sequence[str] | None = None, limit: int = 1000) -> list[Change]:
        if not isinstance(after, int) or after < 0:
            raise ValidationError(f"log position must be a non-negative integer, not {after!r}")
        if not 1 <= limit <= 100_000:
            raise ValidationError(f"limit must be 1..100000, not {limit}")
        clause, args = _where(sources)
        # One statement, so one snapshot: the records and how far retention trimmed their sources
        # (evaluated once). A reader polls this at every commit; a transaction around two queries
        # cost it four statements.
        rows = self._db.con.execute(
            f"SELECT seq, source, partition, ts, record, hops, (SELECT MAX(trimmed_through) FROM horizons "
            f"WHERE 1{clause}) FROM changes WHERE seq > ?{clause} ORDER BY seq LIMIT ?",
            (*args, after, *args, limit),
        ).fetchall()
        if not rows or (rows[0][6] or 0) > after:
            # Nothing read (the horizon is not in a row then), or records were trimmed: say which.
            with self._db.read() as con:
                self._check_horizon(con, after, sources)
        return [Change(s, src, p, ts, None, h, raw=rec) for s, src, p, ts, rec, h, _ in rows]

    def _check_horizon(self, con: sqlite3.Connection, after: int, sources: Sequence[str] | None) -> None:
        clause, args = _where(sources)
        row = con.execute(
            f"SELECT source, trimmed_through FROM horizons WHERE trimmed_through > ?{clause} "
            "ORDER BY trimmed_through DESC LIMIT 1",
            (after, *args),
        ).fetchone()
        if row is not None:
            raise TrimmedData(
                f"log position {after} of {row[0]} is behind retention: records up to {row[1]} were "
                f"trimmed; restart from the trim horizon ({row[1]}) or later"
            )

    def latest(self, sources: Sequence[str] | None = None) -> int:
        clause, args = _where(sources)
        if sources is None:
            row = self._db.con.execute("SELECT seq FROM sqlite_sequence WHERE name='changes'").fetchone()
            return row[0] if row else 0
        row = self._db.con.execute(f"SELECT MAX(seq) FROM changes WHERE 1{clause}", args).fetchone()
        if row[0] is not None:
            return row[0]
        return self.horizon(sources)

    def horizon(self, sources: Sequence[str] | None = None) -> int:
        clause, args = _where(sources)
        row = self._db.con.execute(f"SELECT MAX(trimmed_through) FROM horizons WHERE 1{clause}", args).fetchone()
        return row[0] or 0

    def position_at(self, ts: float, sources: Sequence[str] | None = None) -> int:
        clause, args = _where(sources)
        row = self._db.con.execute(f"SELECT MIN(seq) FROM changes WHERE ts >= ?{clause}", (ts, *args)).fetchone()
        if row[0] is None:
            return self.latest(sources)
        return max(row[0] - 1, self.horizon(sources))

    def wait(self, after: int, timeout: float | None, *, sources: Sequence[str] | None = None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        # The waiter is registered before the check, so a commit between the check and the wait
        # still wakes us (its byte waits in the socket).
        waiter = self._notifier.thread_waiter()
        while True:
            if self.latest(sources) > after:
                return True
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            # The socket wakes us at once; the 1 s cap only bounds a lost wake-up (full buffer).
            waiter.wait(1.0 if left is None else min(left, 1.0))

    def trim(self, now: float | None = None) -> int:
        now = self._clock() if now is None else now
        dropped = 0
        with self._db.write() as con:
            for (source,) in con.execute("SELECT DISTINCT source FROM changes").fetchall():
                cutoff = now - self.retention_for(source)
                (last,) = con.execute(
                    "SELECT MAX(seq) FROM changes WHERE source=? AND ts < ?", (source, cutoff)
                ).fetchone()
                if last is None:
                    continue
                dropped += con.execute("DELETE FROM changes WHERE source=? AND seq <= ?", (source, last)).rowcount
                con.execute(
                    "INSERT INTO horizons(source, trimmed_through) VALUES(?,?) "
                    "ON CONFLICT(source) DO UPDATE SET trimmed_through=MAX(trimmed_through, excluded.trimmed_through)",
                    (source, last),
                )
        return dropped
