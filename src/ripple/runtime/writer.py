"""A background thread that moves records and log lines into the :class:`RecordStore`.

The invocation path only appends to a list (sub-microsecond); the thread commits whatever has queued
up in one transaction, so a busy pool makes few commits and a quiet one makes each line visible to
``ripple logs -f`` within a few milliseconds.
"""

from __future__ import annotations

import sys
import threading
import time

from ripple.runtime.records import InvocationRecord, RecordStore

#: After waking, the writer lets this many seconds of work accumulate so a busy pool commits in batches.
BATCH_WINDOW_S = 0.005


class RecordWriter:
    """Owns a thread writing to ``store``. ``flush()`` waits until everything queued is stored.

    Producers append to a list and set an event only if it is not already set: on the invocation path
    that costs well under a microsecond, where a queue handoff per item would wake the thread each time.
    """

    def __init__(self, store: RecordStore) -> None:
        self.store = store
        self._items: list[object] = []
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="ripple-records", daemon=True)
        self._thread.start()

    def _put(self, item: object) -> None:
        self._items.append(item)
        if not self._wake.is_set():
            self._wake.set()

    def log(self, function: str, request_id: str, lines: list[tuple[float, str]]) -> None:
        """Queue log lines ``(epoch seconds, text)`` of one invocation."""
        self._put([(function, request_id, ts, text) for ts, text in lines])

    def record(self, rec: InvocationRecord) -> None:
        """Queue an invocation record."""
        self._put(rec)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything queued before this call is stored; False on timeout (seconds)."""
        done = threading.Event()
        self._put(done)
        return done.wait(timeout)

    def close(self) -> None:
        """Store what is queued, then stop the thread. Idempotent."""
        if self._thread.is_alive():
            self._stopping = True
            self._wake.set()
            self._thread.join()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(BATCH_WINDOW_S)
            self._wake.clear()
            # Swapping the list is atomic under the GIL; producers append to the new one.
            items, self._items = self._items, []
            self._store(items)
            if self._stopping and not self._items:
                return

    def _store(self, items: list[object]) -> None:
        records: list[InvocationRecord] = []
        logs: list[tuple[str, str, float, str]] = []
        events: list[threading.Event] = []
        for item in items:
            if isinstance(item, InvocationRecord):
                records.append(item)
            elif isinstance(item, threading.Event):
                events.append(item)
            else:
                logs.extend(item)  # type: ignore[arg-type]
        if records or logs:
            try:
                self.store.add(records, logs)
            except Exception as exc:
                # Losing a batch of logs must not stop the platform; say so where an operator looks.
                print(f"ripple: could not store {len(records)} records, {len(logs)} log lines: {exc}", file=sys.stderr)
        for event in events:
            event.set()
