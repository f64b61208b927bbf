"""A background thread that moves records and log lines into the :class:`RecordStore`.

The invocation path only appends ready-made rows to a list (well under a microsecond); the thread
commits whatever has queued up in one transaction, so a busy pool makes few commits and a quiet one
makes each line visible to ``ripple logs -f`` within a few milliseconds.

The thread does no per-row work in Python: it swaps the lists and hands them to the store, whose
``executemany`` binds each row in C and releases the GIL around every SQLite step. A writer that
looped over a batch in Python held the GIL for the whole loop (hundreds of microseconds for a busy
pool's batch), and every invocation waiting for the GIL meanwhile paid for it in its latency.

The thread runs at a lower CPU priority (:data:`NICE_INCREMENT`). SQLite's work is a third of a warm
invocation's CPU time, and on a small machine a writer at the same priority as the invocation path
kept it waiting for a core: a woken invocation thread waited out the writer's time slice (p99 of a
no-op invocation 1 to 4 ms on 2 busy cores; about 0.3 ms with the writer niced). Niced, it still gets
its share of an idle or merely busy machine; if it cannot keep up (more than :data:`MAX_BACKLOG` rows
queued) producers wait for it, so memory stays bounded and the invocation path slows to its pace.

Durability: a record or line is in the store once a :meth:`flush` or :meth:`close` has returned. In
between, what is queued lives only in the platform's memory: if the platform process is killed with
SIGKILL, up to the last :data:`BATCH_WINDOW_S` (plus one commit) of records and log lines is lost.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from ripple.runtime.records import InvocationRecord, RecordStore

#: After waking, the writer lets this many seconds of work accumulate so a busy pool commits in batches.
BATCH_WINDOW_S = 0.005

#: How much the writer thread's nice value is raised above the platform's (Linux: per thread).
NICE_INCREMENT = 10
#: Queued rows beyond which producers wait for the writer to catch up.
MAX_BACKLOG = 50_000
#: How long invocation records and log lines are kept by default (seconds).
DEFAULT_RETENTION_S = 7 * 24 * 3600.0
#: How often the writer drops what is older than the retention (seconds).
TRIM_EVERY_S = 60.0

#: A log row: ``(function, request_id, epoch seconds, text)``.
LogRow = tuple[str, str, float, str]


class RecordWriter:
    """Owns a thread writing to ``store``. ``flush()`` waits until everything queued is stored.

    Producers append to a list and set an event only if it is not already set: on the invocation path
    that costs well under a microsecond, where a queue handoff per item would wake the thread each time.
    """

    def __init__(self, store: RecordStore, *, retention_s: float | None = DEFAULT_RETENTION_S) -> None:
        """``retention_s``: records and log lines older than this many seconds are dropped (checked
        with the first batch and then every :data:`TRIM_EVERY_S`); None keeps everything."""
        self.store = store
        self._retention = retention_s
        self._trimmed = float("-inf")  # monotonic time of the last trim
        self._records: list[InvocationRecord] = []
        self._logs: list[LogRow] = []
        self._flushes: list[threading.Event] = []
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="ripple-records", daemon=True)
        self._thread.start()

    def log_rows(self, rows: list[LogRow]) -> None:
        """Queue log rows ``(function, request_id, epoch seconds, text)``, in order."""
        self._logs.extend(rows)
        if not self._wake.is_set():
            self._wake.set()
        if len(self._logs) > MAX_BACKLOG:
            self.flush()

    def log(self, function: str, request_id: str, lines: list[tuple[float, str]]) -> None:
        """Queue log lines ``(epoch seconds, text)`` of one invocation."""
        self.log_rows([(function, request_id, ts, text) for ts, text in lines])

    def record(self, rec: InvocationRecord) -> None:
        """Queue an invocation record."""
        self._records.append(rec)
        if not self._wake.is_set():
            self._wake.set()
        if len(self._records) > MAX_BACKLOG:
            self.flush()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything queued before this call is stored; False on timeout (seconds)."""
        done = threading.Event()
        self._flushes.append(done)
        self._wake.set()
        return done.wait(timeout)

    def close(self) -> None:
        """Store what is queued, then stop the thread. Idempotent."""
        if self._thread.is_alive():
            self._stopping = True
            self._wake.set()
            self._thread.join()

    def _run(self) -> None:
        _lower_priority()
        while True:
            self._wake.wait()
            if not self._flushes and not self._stopping:
                # Someone waiting on a flush gets it now; otherwise let a batch build up.
                time.sleep(BATCH_WINDOW_S)
            self._wake.clear()
            # The flush requests first: whatever was queued before them is in the lists taken next.
            # Swapping a list is atomic under the GIL; producers append to the new one.
            flushes, self._flushes = self._flushes, []
            records, self._records = self._records, []
            logs, self._logs = self._logs, []
            if records or logs:
                self._store(records, logs)
            if self._retention is not None and time.monotonic() - self._trimmed >= TRIM_EVERY_S:
                self._trim()
            for event in flushes:
                event.set()
            if self._stopping and not (self._records or self._logs or self._flushes):
                return

    def _store(self, records: list[InvocationRecord], logs: list[LogRow]) -> None:
        try:
            self.store.add(records, logs)
        except Exception as exc:
            # Losing a batch of logs must not stop the platform; say so where an operator looks.
            print(f"ripple: could not store {len(records)} records, {len(logs)} log lines: {exc}", file=sys.stderr)

    def _trim(self) -> None:
        self._trimmed = time.monotonic()
        try:
            self.store.trim(time.time() - self._retention)  # type: ignore[operator]
        except Exception as exc:
            print(f"ripple: could not drop old invocation records: {exc}", file=sys.stderr)


def _lower_priority() -> None:
    """Raise the calling thread's nice value by NICE_INCREMENT (on Linux, nice is per thread)."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + NICE_INCREMENT))
    except (AttributeError, OSError):
        pass  # not Linux, or not allowed: the writer just competes at the platform's priority
