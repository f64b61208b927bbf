"""Handler-side clock: every handler, ripple's and the peers', calls :func:`mark` first thing.

A line ``<time.time()> <id>`` per event goes to ``$BENCH_STAMPS/<pid>`` (on /dev/shm: shared by every
process, including ripple's sandboxes, whose /tmp is private). One file per process, so there is no
lock between workers, and one ``os.write`` per call on an O_APPEND descriptor, so a reader sees whole
lines or nothing of a call's lines (up to a page, which a batch of 100 lines stays within).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

_fd: int | None = None
_pid = 0


def _open() -> int:
    global _fd, _pid
    # Reopen after a fork: a worker forked from a parent that already marked must not share its file.
    if _fd is None or _pid != os.getpid():
        folder = os.environ["BENCH_STAMPS"]
        _pid = os.getpid()
        _fd = os.open(os.path.join(folder, str(_pid)), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    return _fd


def mark(ids: Iterable[int], t: float | None = None) -> None:
    """Record that the handler for events ``ids`` started at ``t`` (default: now)."""
    t = time.time() if t is None else t
    os.write(_open(), "".join(f"{t:.6f} {i}\n" for i in ids).encode())
