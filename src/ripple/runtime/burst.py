"""Running a burst of asynchronous invocations from one thread: every sandbox behind one ``poll``.

:meth:`Pool.invoke` blocks its caller for the whole invocation, so running several at once takes a
thread each, and on a small machine those threads spent their time handing the GIL and the pool's
lock to each other: ~15 % of the platform's CPU went to futex calls while it drained a backlog of
object events, one per invocation. :func:`invoke_all` runs the same invocations (same sandboxes,
slots, limits, logs and records) as a small event loop instead: it sends each call to a free warm
sandbox, waits on every running sandbox's descriptors at once, and finishes whichever answered,
timed out, overran its memory or died. Cold starts (Init) are run the same way, so a sandbox
starting never holds up the others' answers, deadlines or memory checks.
"""

from __future__ import annotations

import itertools
import os
import select
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ripple.app import Function
from ripple.errors import RippleError
from ripple.runtime import logs
from ripple.runtime.sandbox import READY, SPIN_S, Outcome, Sandbox

if TYPE_CHECKING:
    from ripple.runtime.pool import InvocationResult, Pool


@dataclass(slots=True)
class Call:
    """One ``Event`` invocation for :func:`invoke_all`. ``event`` is the event's JSON; it is not
    parsed again (the dispatcher built it), only its size is checked."""

    function: str
    event: bytes
    trigger: str = "invoke"
    chain_hops: int = 0


@dataclass(slots=True)
class _Flight:
    index: int
    fn: Function
    call: Call
    capture: logs.LogCapture
    start: float  # epoch seconds the invocation started, for its record
    sent: float = 0.0  # monotonic time it started (0 while queued or while Init runs)


#: Sandboxes a burst uses at first: one per core. Quick handlers are CPU-bound, and more
#: sandboxes than cores only add context switches (a no-op event cost its sandbox ~60 µs of CPU
#: with four sandboxes on two cores, ~40 µs with two).
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
#: More sandboxes, up to ``parallel``, join only while every one in use runs a call older than
#: this (seconds): slow, I/O-bound handlers get the width, quick ones the cores.
SPREAD_AFTER_S = 0.02
#: Calls sent to one sandbox at most: the one running and the next ones, ready in its socket. A
#: deeper queue lets each wake-up of this thread and of the worker handle more calls (a no-op
#: drain: ~9,000/s at 3, ~11,500/s at 10, platform CPU per event 80 -> 60 µs).
DEPTH = 8
#: The bytes of queued calls' events one sandbox's socket may hold: well under a Unix socket's
#: buffer, so sending one never blocks this thread (a blocked send while the worker blocks sending
#: a big answer to it would wait forever). A bigger event waits for a sandbox of its own.
QUEUE_BYTES = 64 * 1024

Done = Callable[[int, "InvocationResult | RippleError"], None]


def invoke_all(pool: Pool, calls: Sequence[Call], done: Done, *, parallel: int, depth: int = DEPTH) -> None:
    """Run ``calls`` as ``Event`` invocations in at most ``parallel`` sandboxes at once (and within
    the pool's concurrency limits), from the calling thread. Each call's end is reported by
    ``done(index, result)`` as it comes; a call refused before it ran (no such function, a payload
    over 1 MB, reserved concurrency 0, a sandbox that could not start) reports its RippleError
    instead. Calls start in order; with ``parallel=1`` they also end in order.

    When every sandbox it may use is busy, up to ``depth`` calls are sent to one sandbox: the worker
    starts the next as soon as it answers one (each still runs alone, with its own time limit,
    output and record), which spares both processes a sleep and a wake-up per event. A call queued
    behind one that killed its sandbox never started: it is sent again, elsewhere.

    Raises SandboxError if the pool closed meanwhile (calls still running are then cut short), and
    whatever ``done`` raises.
    """
    from ripple.runtime import pool as pool_mod

    queue = deque(range(len(calls)))
    width = min(parallel, CORES)
    spread_ms = SPREAD_AFTER_S * 1000
    flights: dict[Sandbox, deque[_Flight]] = {}
    watched: dict[Sandbox, tuple[int, ...]] = {}
    by_fd: dict[int, Sandbox] = {}
    poller = select.poll()
    captures: dict[int, logs.LogCapture] = {}  # a call sent again keeps its request id

    def watch(sb: Sandbox) -> None:
        """Poll exactly the descriptors the sandbox wants (they shrink when a pipe closes)."""
        fds = sb.watched if sb in flights else ()
        old = watched.get(sb, ())
        if fds == old:
            return
        for fd in old:
            poller.unregister(fd)
            del by_fd[fd]
        for fd in fds:
            poller.register(fd, select.POLLIN)
            by_fd[fd] = sb
        if fds:
            watched[sb] = fds
        else:
            watched.pop(sb, None)

    def capture_of(i: int, fn: Function) -> logs.LogCapture:
        cap = captures.get(i)
        if cap is None:
            cap = logs.LogCapture(fn.name, pool_mod._request_id(), pool._writer.log_rows, limit_bytes=pool._log_limit)
            captures[i] = cap
        return cap

    def started(f: _Flight) -> None:
        """``f`` runs now: its START line, then any output it wrote already, and its record's start."""
        f.start = time.time()
        f.sent = time.monotonic()
        f.capture.emit([logs.start_line(f.capture.request_id)])
        f.capture.release()

    def send(sb: Sandbox, f: _Flight) -> None:
        running = sb.queued > 0
        if running:
            # Its output may be read before the call ahead of it ends: hold it until its START.
            f.capture.hold()
        sb.begin(pool_mod._request(f.capture.request_id, f.call.chain_hops), f.call.event, f.capture, queue=True)
        if not running:
            started(f)

    def settle(sb: Sandbox, ends: list[object]) -> None:
        line = flights[sb]
        for end in ends:
            f = line[0]
            if end is READY:
                send(sb, f)
                continue
            assert isinstance(end, Outcome)
            line.popleft()
            captures.pop(f.index, None)
            result = pool._result(f.fn, f.capture, f.start, end, "Event", f.call.trigger)
            if line and sb.alive:
                started(line[0])
            else:
                for g in reversed(line):
                    queue.appendleft(g.index)  # never started: its sandbox is gone
                line.clear()
                del flights[sb]
                watch(sb)
                pool._release(f.fn, sb)
            done(f.index, result)

    def all_slow() -> bool:
        """Every sandbox in use runs a call older than SPREAD_AFTER_S (one still starting does not
        count: a cold start says nothing about how long calls take)."""
        now = time.monotonic()
        return all(line[0].sent and now - line[0].sent > SPREAD_AFTER_S for line in flights.values())

    def refuse(i: int, exc: RippleError) -> None:
        queue.popleft()
        captures.pop(i, None)
        done(i, exc)

    try:
        while queue or flights:
            while queue:
                i = queue[0]
                call = calls[i]
                try:
                    fn = pool._function(call.function)
                    pool_mod.check_size(call.event, "Event")
                except RippleError as exc:
                    refuse(i, exc)
                    continue
                sb = None
                if len(flights) < parallel and (len(flights) < width or all_slow()):
                    try:
                        # With nothing running, wait for a slot (an Event invocation waits, as
                        # Lambda's internal queue does); otherwise only take a free one.
                        sb = pool._acquire(fn, wait=True) if not flights else pool._try_acquire(fn)
                    except RippleError as exc:
                        refuse(i, exc)
                        continue
                if sb is None:
                    # No other sandbox: queue it behind a busy one of its function whose last call
                    # was quick (behind slow calls it would wait; those spread instead), least
                    # loaded first.
                    room = QUEUE_BYTES - len(call.event)
                    ahead = [
                        b
                        for b, line in flights.items()
                        if b.fn is fn
                        and b.queued < depth
                        and b.last_ms < spread_ms
                        and sum(len(g.call.event) for g in itertools.islice(line, 1, None)) <= room
                    ]
                    if not ahead:
                        break
                    target = min(ahead, key=lambda b: b.queued)
                    queue.popleft()
                    f = _Flight(i, fn, call, capture_of(i, fn), 0.0)
                    flights[target].append(f)
                    send(target, f)
                    continue
                queue.popleft()
                f = _Flight(i, fn, call, capture_of(i, fn), 0.0)
                flights[sb] = deque([f])
                try:
                    if sb.alive:
                        send(sb, f)
                    else:
                        sb.begin_start(f.capture)
                except RippleError as exc:
                    del flights[sb]
                    with pool._cv:
                        pool._live.discard(sb)
                    sb.kill()
                    pool._release(fn, sb)
                    captures.pop(i, None)
                    done(i, exc)
                    continue
                watch(sb)
            if not flights:
                continue
            now = time.monotonic()
            due = min(sb.due for sb in flights)
            spinning = False
            if len(flights) == 1 and pool._running == 1 and not queue:
                # A lone invocation busy-polls briefly for its answer (see sandbox.SPIN_S).
                sb, line = next(iter(flights.items()))
                spinning = line[0].sent > 0 and now - line[0].sent < SPIN_S and sb.quick
            ready = {fd for fd, _ in poller.poll(0 if spinning else max(0.0, (due - now) * 1000))}
            now = time.monotonic()
            woken = {by_fd[fd] for fd in ready}
            for sb in list(flights):
                if sb in woken or sb.due <= now:
                    ends = sb.advance(ready, now)
                    if ends:
                        settle(sb, ends)
                    watch(sb)
    finally:
        # Only when something raised: nothing may be left running unseen.
        for sb, line in list(flights.items()):
            with pool._cv:
                pool._live.discard(sb)
            sb.kill()
            pool._release(line[0].fn, sb)
