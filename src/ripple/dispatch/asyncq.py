"""The durable queue behind asynchronous delivery, and the dead letters it ends in.

A new event from the change log is first delivered straight from the log: the log is already
durable, and the trigger's checkpoint moves past the record only after the delivery succeeded or
the event entered this queue for a retry (decision 0009). Events that wait (retries, throttles,
batching windows held over, ``Event`` invokes, schedules, destinations, redriven dead letters) sit
here. An item leaves the queue only when it succeeded, or was given up on (moved to
``dead_letters``, or to the on-failure destination by the dispatcher) — at least once, never
silently lost.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from ripple.errors import NotFound
from ripple.store.embedded.db import Database

#: The id of an event delivered straight from the change log, not (yet) in the queue.
NOT_QUEUED = 0


@dataclass(frozen=True)
class QueueItem:
    id: int  # NOT_QUEUED for an event delivered straight from the log
    trigger: str
    event: bytes  # the invocation payload, JSON
    enqueued: float
    attempts: int
    hops: int  # how many chained invocations led here (loop detection)
    records: int | None = None  # how many records the event carries, when known without parsing it


@dataclass(frozen=True)
class DeadLetter:
    id: int
    trigger: str
    function: str
    event: bytes
    condition: str
    attempts: int
    error: Any
    first_ts: float
    ts: float


class AsyncQueue:
    def __init__(self, db: Database):
        self._db = db

    def enqueue(
        self, con: sqlite3.Connection, trigger: str, events: Sequence[bytes], now: float, *, hops: int = 0
    ) -> None:
        """Inside the caller's write transaction (the one that moves the checkpoint)."""
        con.executemany(
            "INSERT INTO async_queue(trigger, event, enqueued, not_before, hops) VALUES(?,?,?,?,?)",
            [(trigger, e, now, now, hops) for e in events],
        )

    def due(self, trigger: str, now: float, limit: int = 100) -> list[QueueItem]:
        rows = self._db.con.execute(
            "SELECT id, trigger, event, enqueued, attempts, hops FROM async_queue "
            "WHERE trigger=? AND not_before<=? ORDER BY id LIMIT ?",
            (trigger, now, limit),
        ).fetchall()
        return [QueueItem(*r) for r in rows]

    def next_due(self, trigger: str) -> float | None:
        (t,) = self._db.con.execute("SELECT MIN(not_before) FROM async_queue WHERE trigger=?", (trigger,)).fetchone()
        return t

    def depth(self, trigger: str | None = None) -> int:
        if trigger is None:
            return self._db.con.execute("SELECT COUNT(*) FROM async_queue").fetchone()[0]
        return self._db.con.execute("SELECT COUNT(*) FROM async_queue WHERE trigger=?", (trigger,)).fetchone()[0]

    def done(self, con: sqlite3.Connection, item: QueueItem) -> None:
        con.execute("DELETE FROM async_queue WHERE id=?", (item.id,))

    def retry(self, item: QueueItem, not_before: float, error: Any, *, count: bool = True) -> None:
        """Try ``item`` again at ``not_before``; ``count=False`` for a try that never ran (throttled).
        An event delivered straight from the log enters the queue here."""
        with self._db.write() as con:
            if item.id == NOT_QUEUED:
                con.execute(
                    "INSERT INTO async_queue(trigger, event, enqueued, attempts, not_before, hops, last_error) "
                    "VALUES(?,?,?,?,?,?,?)",
                    (
                        item.trigger,
                        item.event,
                        item.enqueued,
                        item.attempts + (1 if count else 0),
                        not_before,
                        item.hops,
                        orjson.dumps(error),
                    ),
                )
                return
            con.execute(
                "UPDATE async_queue SET attempts=attempts+?, not_before=?, last_error=? WHERE id=?",
                (1 if count else 0, not_before, orjson.dumps(error), item.id),
            )

    def bury(
        self, con: sqlite3.Connection, item: QueueItem, function: str, condition: str, error: Any, now: float
    ) -> None:
        """Move ``item`` to the dead letters (inside the caller's transaction)."""
        con.execute("DELETE FROM async_queue WHERE id=?", (item.id,))
        con.execute(
            "INSERT INTO dead_letters(trigger, function, event, condition, attempts, error, first_ts, ts) "
            "VALUES(?,?,?,?,?,?,?,?)",
            (item.trigger, function, item.event, condition, item.attempts + 1, orjson.dumps(error), item.enqueued, now),
        )

    # -- dead letters -----------------------------------------------------------------------------

    def dead_letters(self, function: str | None = None) -> list[DeadLetter]:
        sql = "SELECT id, trigger, function, event, condition, attempts, error, first_ts, ts FROM dead_letters"
        args: tuple = ()
        if function is not None:
            sql += " WHERE function=?"
            args = (function,)
        rows = self._db.con.execute(sql + " ORDER BY id", args).fetchall()
        return [DeadLetter(*r[:6], orjson.loads(r[6]) if r[6] else None, r[7], r[8]) for r in rows]

    def dead_letter(self, dl_id: int) -> DeadLetter:
        for d in self.dead_letters():
            if d.id == dl_id:
                return d
        raise NotFound(f"no dead letter with id {dl_id}")

    def redrive(self, ids: Sequence[int] | None, now: float) -> int:
        """Put dead letters back on their trigger's queue (all when ``ids`` is None), as new events."""
        with self._db.write() as con:
            rows = con.execute("SELECT id, trigger, event FROM dead_letters ORDER BY id").fetchall()
            if ids is not None:
                missing = set(ids) - {r[0] for r in rows}
                if missing:
                    raise NotFound(f"no dead letter with id {', '.join(map(str, sorted(missing)))}")
                rows = [r for r in rows if r[0] in set(ids)]
            for dl_id, trigger, event in rows:
                self.enqueue(con, trigger, [event], now)
                con.execute("DELETE FROM dead_letters WHERE id=?", (dl_id,))
        return len(rows)

    def purge(self, ids: Sequence[int] | None) -> int:
        with self._db.write() as con:
            if ids is None:
                return con.execute("DELETE FROM dead_letters").rowcount
            missing = [i for i in ids if not con.execute("SELECT 1 FROM dead_letters WHERE id=?", (i,)).fetchone()]
            if missing:
                raise NotFound(f"no dead letter with id {', '.join(map(str, missing))}")
            return sum(con.execute("DELETE FROM dead_letters WHERE id=?", (i,)).rowcount for i in ids)
