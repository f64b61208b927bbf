"""A long list of work items in two processes (the build machine has 2 cores): the front matter
of a full build's files and the outputs a build renders.

The parent forks once per batch: the child inherits the built page model, works through its share
of the items and leaves its results in a file; the parent does the rest, then reads the child's
results and merges both in the items' order, so the outcome (outputs, state rows, key ids) is the
same as one process doing them in order. Nothing is written to the output folder by a child.

Only used where fork is safe and cheap: a POSIX system, two or more CPUs, and no other thread in
the process (a fork copies only the calling thread; another thread's held locks would stay held).
"""

from __future__ import annotations

import fcntl
import functools
import mmap
import os
import pickle
import signal
import struct
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from ripple.site.errors import BuildError

T = TypeVar("T")

#: below this many items, a fork (~20-50 ms with a 10k-page model) does not pay
MIN_ITEMS = 400


def available() -> bool:
    return (
        hasattr(os, "fork")
        and (os.cpu_count() or 1) >= 2
        and threading.active_count() == 1
        and os.environ.get("RIPPLE_SITE_JOBS", "") != "1"
    )


def fork() -> int:
    """``os.fork()``, with the child bound to its parent's life: on Linux it is killed when the
    parent dies (a SIGKILLed build must not leave a writer behind that goes on writing outputs, or
    a snapshot, while the next build runs), elsewhere it checks once that the parent is still
    there. Returns 0 in the child, as ``os.fork``."""
    parent = os.getpid()
    prctl = _prctl()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        if prctl is not None:
            prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the line above took effect
            os._exit(1)
    return pid


_PR_SET_PDEATHSIG = 1


@functools.cache
def _prctl() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def split_map(
    items: Sequence[T],
    work: Callable[[T], Any],
    *,
    weights: Sequence[float] | None = None,
    sides: Sequence[int] | None = None,
    child_setup: Callable[[], None] | None = None,
    child_result: Callable[[list[Any]], Any],
    folder: Path,
) -> tuple[list[Any], list[int], Any]:
    """Run ``work`` on every item, some in a forked child and the rest here.

    Each process has a queue of items, the heaviest ``weights`` first, and takes runs of items
    from its front (shorter as it empties, one at the end); once it is empty, it takes one at a
    time from the back of the other's (the lightest left), so both run out of work within one
    light item of each other: a guess made up front (a feed of 9,000 items weighs as much as
    hundreds of pages) left one side idle for 0.1-0.35 s of every split. ``sides`` puts each
    item in this process's queue (0) or the child's (1): items that share memoized work (feeds
    listing the same pages) then mostly meet in one process; without it the queues take turns
    down the weight order. Which process does an item must not change its result.

    Returns ``(results, theirs, extra)``: ``results`` has this process's results at its items'
    positions and ``None`` at the child's, ``theirs`` the child's positions in the order it did
    them, ``extra`` what ``child_result(its results, in that order)`` returned in the child (it
    must pickle: plain values, not model objects). Whatever the child must hand back is best made
    by ``work``, item by item, where the queues balance its cost: made by ``child_result`` after
    the last item, the parent waits for it. A :class:`BuildError` raised in the child is raised
    here."""
    n = len(items)
    order = sorted(range(n), key=lambda i: -weights[i]) if weights is not None else list(range(n))
    if sides is None:
        queues = (order[0::2], order[1::2])
    else:
        queues = ([i for i in order if not sides[i]], [i for i in order if sides[i]])

    def claimed(side: int) -> Iterator[int]:
        while (c := claims.take(side)) is not None:
            yield from queues[c[0]][c[1] : c[2]]

    fd, name = tempfile.mkstemp(prefix="render-", suffix=".tmp", dir=folder)
    os.close(fd)
    claims = _Claims(len(queues[0]), len(queues[1]), name)  # the results file is also the lock's
    try:
        claims.attach()
        pid = fork()
    except BaseException:
        claims.close()
        os.unlink(name)
        raise
    if pid == 0:  # the child: never returns
        code = 1
        try:
            claims.attach()
            if child_setup is not None:
                child_setup()
            at: list[int] = []
            out = []
            for i in claimed(1):
                at.append(i)
                out.append(work(items[i]))
            payload: Any = ("ok", (at, child_result(out)))
        except BuildError as e:
            payload = ("build_error", (e.reason, e.file, e.line))
        except BaseException as e:  # reported by the parent; the child must not unwind into its caller
            payload = ("error", f"{type(e).__name__}: {e}")
        try:
            with open(name, "wb") as f:
                pickle.dump(payload, f, protocol=pickle.HIGHEST_PROTOCOL)
            code = 0
        finally:
            os._exit(code)
    results: list[Any] = [None] * n
    try:
        for i in claimed(0):
            results[i] = work(items[i])
    except BaseException:
        _reap(pid, kill=True)
        os.unlink(name)
        raise
    finally:
        claims.close()
    status = _reap(pid, kill=False)
    try:
        with open(name, "rb") as f:
            payload = pickle.load(f) if status == 0 else ("error", f"render worker exited with status {status}")
    finally:
        os.unlink(name)
    kind, value = payload
    if kind == "build_error":
        reason, file, line = value
        raise BuildError(reason, file=file, line=line)
    if kind != "ok":
        raise RuntimeError(f"render worker failed: {value}")
    theirs, extra = value
    return results, theirs, extra


class _Claims:
    """Two queues' fronts and backs in memory both processes share, under a lock: ``take(side)``
    is the next items of that side's queue, else the last one left in the other's, else None.

    The lock is ``flock`` on a file each process opens for itself (:meth:`attach`; a descriptor
    inherited across the fork would be one lock for both): the kernel drops it with its holder, so
    a child killed while taking an item cannot leave the parent waiting forever, as a semaphore
    would."""

    def __init__(self, n0: int, n1: int, path: str) -> None:
        self._mem = mmap.mmap(-1, 16)  # anonymous and shared: a fork keeps one copy for both
        struct.pack_into("4i", self._mem, 0, 0, n0, 0, n1)
        self._path = path
        self._fd = -1

    def attach(self) -> None:
        """Open this process's own lock descriptor (in the parent before the fork, in the child
        after it)."""
        self._fd = os.open(self._path, os.O_RDONLY)

    def take(self, side: int) -> tuple[int, int, int] | None:
        """(queue, start, stop): a run from the front of this side's queue, a 32nd of what is left
        in it (big runs early, single items at the end: few locks, yet both sides finish
        together), else the last item of the other's; None when both are empty."""
        mem, fd = self._mem, self._fd
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            front, back = struct.unpack_from("2i", mem, 8 * side)
            if front < back:
                stop = front + max(1, (back - front) >> 5)
                struct.pack_into("i", mem, 8 * side, stop)
                return side, front, stop
            other = 1 - side
            front, back = struct.unpack_from("2i", mem, 8 * other)
            if front < back:
                struct.pack_into("i", mem, 8 * other + 4, back - 1)
                return other, back - 1, back
            return None
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def spawn(job: Callable[[], object]) -> int:
    """Run ``job`` in a forked child, for work whose result is a file (the child exits 0 when
    ``job`` returned true). Returns the child's pid; :func:`wait` for it."""
    pid = fork()
    if pid == 0:
        code = 1
        try:
            code = 0 if job() else 1
        finally:
            os._exit(code)
    return pid


def wait(pid: int | bool) -> int:
    """Wait for a child of :func:`spawn` (``True``/``False`` stand for work done in this process)."""
    if pid is True or pid is False:
        return 0
    return _reap(pid, kill=False)


def _reap(pid: int, *, kill: bool) -> int:
    if kill:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)
