"""The pool: runs invocations of an app's functions in warm sandboxes, within concurrency limits.

Public API (thread-safe; ``ainvoke`` for asyncio callers such as the trigger dispatcher)::

    pool = Pool(app, state=".ripple", max_concurrency=64, idle_timeout_s=300)
    result = pool.invoke("resize", {"key": "a"}, invocation_type="RequestResponse", trigger="invoke")
    result = await pool.ainvoke("resize", b'{"key": "a"}', invocation_type="Event", trigger="s3")
    pool.close()        # kills every sandbox and the template; leaves no process behind

Concurrency follows Lambda's account model: a function with reserved concurrency ``R`` runs at most
``R`` invocations at once (0 switches it off) and that share is carved out of ``max_concurrency``; the
others share the rest. When no slot is free a synchronous invocation raises TooManyRequests at once,
an asynchronous one waits for a slot.

Cold starts adopt a *spare* worker when one is ready (forked and confined in the background), else
fork one from the template.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import itertools
import json
import math
import random
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ripple import config
from ripple.app import App, Function
from ripple.errors import (
    InvalidRequestContent,
    NotFound,
    RequestTooLarge,
    RippleError,
    SandboxError,
    TooManyRequests,
    ValidationError,
)
from ripple.jsonfmt import python_loads
from ripple.runtime import burst, logs
from ripple.runtime import records as rec
from ripple.runtime.burst import Call, Done
from ripple.runtime.limits import Limiter
from ripple.runtime.records import InvocationRecord, RecordStore, SqliteRecordStore
from ripple.runtime.sandbox import Outcome, Sandbox, Spare
from ripple.runtime.spawner import Template
from ripple.runtime.writer import DEFAULT_RETENTION_S, RecordWriter

INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
LOG_TYPES = ("None", "Tail")
#: Lambda's payload limits, in bytes: 6 MB synchronous request and response, 1 MB asynchronous request.
SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024
ASYNC_PAYLOAD_LIMIT = 1024 * 1024
#: Lambda's account default is 1,000; a laptop is not an AWS region (docs/decisions/0201).
DEFAULT_MAX_CONCURRENCY = 64
DEFAULT_IDLE_TIMEOUT_S = 300.0
#: A spare's memory backstop until a function adopts it (the smallest memory + /tmp), in bytes.
_SPARE_MEMORY = (128 + 512) * 1024 * 1024
#: Lambda's per-sandbox process limit.
DEFAULT_MAX_PROCESSES = 1024


@dataclass(slots=True)
class InvocationResult:
    """What an invocation returned, in the Invoke API's terms.

    ``status_code`` is 200 (RequestResponse, also when the function failed), 202 (Event) or 204
    (DryRun). ``function_error`` is ``"Unhandled"`` when ``payload`` is Lambda's error object.
    ``log_result`` is the last 4 KB of the log when ``log_type="Tail"``. Durations are in ms, memory in MB.
    """

    request_id: str
    function: str
    status_code: int
    payload: bytes
    status: str
    function_error: str | None = None
    log_result: str | None = None
    duration_ms: float = 0.0
    billed_duration_ms: int = 0
    init_duration_ms: float | None = None
    memory_size_mb: int = 0
    max_memory_used_mb: int = 0
    executed_version: str = "$LATEST"

    def json(self) -> Any:
        """The payload decoded (``None`` for an empty payload), as Python's json reads it: orjson
        alone would turn an integer beyond 64 bits into a float."""
        if not self.payload or self.payload == b"null":
            return None
        return python_loads(self.payload)

    @property
    def error(self) -> dict[str, Any] | None:
        """Lambda's error object when the function failed, else None."""
        return self.json() if self.function_error else None


class Pool:
    """Sandboxes for the functions of one app. See the module docstring for the model."""

    def __init__(
        self,
        app: App | Iterable[Function],
        *,
        state: str | Path | None = None,
        store: RecordStore | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S,
        max_processes: int = DEFAULT_MAX_PROCESSES,
        fork: bool = True,
        use_cgroups: bool = True,
        log_limit_bytes: int = logs.DEFAULT_LIMIT_BYTES,
        record_retention_s: float | None = DEFAULT_RETENTION_S,
        spare: bool = True,
    ) -> None:
        """Create a pool; sandboxes start on first use.

        Args:
            state: the state folder (``RIPPLE_STATE`` / ``./.ripple`` when None).
            store: where records and logs go; default ``<state>/runtime.sqlite3``.
            max_concurrency: global cap on invocations running at once.
            idle_timeout_s: an idle sandbox is killed after this many seconds.
            max_processes: per-sandbox process bound (a fork loop stops there).
            fork: cold starts fork from the template (True) or exec a fresh interpreter (False).
            use_cgroups: use cgroups where the machine allows (False: sampling only, for tests).
            log_limit_bytes: output kept per invocation; the rest is counted and dropped.
            record_retention_s: invocation records and log lines older than this many seconds are
                dropped (default 7 days; None keeps them all).
            spare: keep one started, confined worker ready for the next cold start (fork mode only).

        Raises:
            ValidationError: a bad option, or reserved concurrency that exceeds ``max_concurrency``.
        """
        fns = list(app.functions.values()) if isinstance(app, App) else list(app)
        self._functions: dict[str, Function] = {f.name: f for f in fns}
        for name, value, lo in (("max_concurrency", max_concurrency, 1), ("max_processes", max_processes, 2)):
            if isinstance(value, bool) or not isinstance(value, int) or value < lo:
                raise ValidationError(f"{name} must be an integer >= {lo}, got {value!r}")
        if not isinstance(idle_timeout_s, int | float) or idle_timeout_s <= 0:
            raise ValidationError(f"idle_timeout_s must be a positive number of seconds, got {idle_timeout_s!r}")
        reserved = sum(f.settings.concurrency or 0 for f in fns)
        if reserved > max_concurrency:
            raise ValidationError(f"reserved concurrency {reserved} exceeds max_concurrency={max_concurrency}")
        self.state = config.state_path(state)
        self._own_store = store is None
        self._writer = RecordWriter(store or SqliteRecordStore.in_state(self.state), retention_s=record_retention_s)
        self._work_dir = self.state / "sandboxes"
        self._template = Template()
        self._limiter = Limiter(use_cgroups=use_cgroups)
        self._fork = fork
        self._max_processes = max_processes
        self._log_limit = log_limit_bytes
        self._idle_timeout = float(idle_timeout_s)
        self._unreserved_cap = max_concurrency - reserved
        self._unreserved_busy = 0
        self._busy: dict[str, int] = {}
        self._idle: dict[str, list[Sandbox]] = {}
        self._live: set[Sandbox] = set()
        self._retiring: set[Sandbox] = set()  # busy sandboxes to kill when their invocation ends
        self._running = 0  # invocations holding a slot (changed under _cv; read as a hint without it)
        self._names = itertools.count(1)
        self._cv = threading.Condition()
        self._closed = threading.Event()
        self._executor: ThreadPoolExecutor | None = None
        self._reaper = threading.Thread(target=self._reap_loop, name="ripple-reaper", daemon=True)
        self._reaper.start()
        self._spare: Spare | None = None
        self._spare_wanted = threading.Event()
        self._spare_thread: threading.Thread | None = None
        if spare and fork:
            self._spare_thread = threading.Thread(target=self._spare_loop, name="ripple-spare", daemon=True)
            self._spare_thread.start()
            self._spare_wanted.set()
        # A pool the caller forgot to close still takes its sandboxes with it at exit.
        atexit.register(self.close)

    # --- public API --------------------------------------------------------------------------------

    @property
    def functions(self) -> dict[str, Function]:
        return dict(self._functions)

    @property
    def store(self) -> RecordStore:
        """The record store (call :meth:`flush` first to see the latest records)."""
        return self._writer.store

    @property
    def isolation(self) -> str:
        """How sandboxes are contained here: ``"cgroup-v1"`` or ``"session"``."""
        return self._limiter.kind

    def invoke(
        self,
        function: str,
        event: bytes | Any = b"",
        *,
        invocation_type: str = "RequestResponse",
        trigger: str = "invoke",
        log_type: str = "None",
        client_context: dict[str, Any] | None = None,
        chain_hops: int = 0,
    ) -> InvocationResult:
        """Invoke ``function`` with ``event`` (raw JSON as bytes, or any JSON-able value) and wait for it.

        ``Event`` invocations wait for a free slot instead of being throttled and return 202 (the
        payload is kept in the result for on-success destinations); ``DryRun`` only validates.

        Raises:
            NotFound: no such function.
            InvalidRequestContent: the payload is not JSON, or a bad invocation/log type.
            RequestTooLarge: payload over 6 MB (sync) or 1 MB (Event).
            TooManyRequests: no concurrency left for a synchronous call (or reserved concurrency 0).
            SandboxError: the platform could not start a sandbox; the pool is closed.
        """
        fn = self._function(function)
        body = self._body(event, invocation_type, log_type)
        rid = _request_id()
        if invocation_type == "DryRun":
            return InvocationResult(rid, fn.name, 204, b"", rec.OK, memory_size_mb=fn.settings.memory_mb)
        sb = self._acquire(fn, wait=invocation_type == "Event")
        try:
            return self._run(
                fn, sb, rid, body, invocation_type, trigger, log_type == "Tail", client_context, chain_hops
            )
        finally:
            self._release(fn, sb)

    def invoke_all(self, calls: Sequence[Call], done: Done, *, parallel: int = 4) -> None:
        """Run ``Event`` invocations ``calls``, at most ``parallel`` at once, from the calling thread,
        reporting each one's InvocationResult (or the RippleError that refused it) with
        ``done(index, result)`` as it ends. See :func:`ripple.runtime.burst.invoke_all`.

        Raises SandboxError if the pool closed meanwhile, and whatever ``done`` raises."""
        burst.invoke_all(self, calls, done, parallel=parallel)

    async def ainvoke(self, function: str, event: bytes | Any = b"", **options: Any) -> InvocationResult:
        """:meth:`invoke` for asyncio callers: runs on the pool's own threads, never blocks the loop."""
        if self._executor is None:
            with self._cv:
                if self._executor is None:
                    workers = self._unreserved_cap + sum(f.settings.concurrency or 0 for f in self._functions.values())
                    self._executor = ThreadPoolExecutor(workers + 4, thread_name_prefix="ripple-invoke")
        call = functools.partial(self.invoke, function, event, **options)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every record and log line so far is in the store; False on timeout (seconds)."""
        return self._writer.flush(timeout)

    def reap_idle(self, max_idle_s: float | None = None) -> int:
        """Kill sandboxes idle for longer than ``max_idle_s`` seconds (default ``idle_timeout_s``; 0 kills
        every idle sandbox); returns how many."""
        cutoff = time.monotonic() - (self._idle_timeout if max_idle_s is None else max_idle_s)
        with self._cv:
            stale = [sb for sbs in self._idle.values() for sb in sbs if sb.last_used < cutoff]
            for sb in stale:
                self._idle[sb.fn.name].remove(sb)
                self._live.discard(sb)
        for sb in stale:
            sb.kill()
        return len(stale)

    def retire(self, functions: set[str] | list[str]) -> int:
        """Replace the warm sandboxes of ``functions`` (their code changed on disk): idle ones are
        killed now, busy ones as soon as their invocation ends, and the next invocation starts a
        fresh sandbox, which imports the handler again. Returns how many sandboxes were retired."""
        names = set(functions)
        with self._cv:
            doomed = [sb for sb in self._live if sb.fn.name in names]
            idle = [sb for name in names for sb in self._idle.pop(name, [])]
            for sb in doomed:
                self._live.discard(sb)
            self._retiring.update(sb for sb in doomed if sb not in idle)
        for sb in idle:
            sb.kill()
        return len(doomed)

    def counts(self) -> dict[str, tuple[int, int]]:
        """``{function: (busy invocations, idle sandboxes)}``."""
        with self._cv:
            return {name: (self._busy.get(name, 0), len(self._idle.get(name, []))) for name in self._functions}

    def processes(self) -> list[int]:
        """Every process the pool runs for its sandboxes (workers, whatever they started, the spare)."""
        with self._cv:
            live = list(self._live)
            spare = self._spare
        pids = {pid for sb in live for pid in sb.pids()}
        if spare is not None:
            pids.update(spare.conf.pids())
        return sorted(pids)

    def close(self) -> None:
        """Kill every sandbox (running invocations end as crashed), stop the template, flush records.
        Idempotent."""
        if self._closed.is_set():
            return
        self._closed.set()
        atexit.unregister(self.close)
        with self._cv:
            live = list(self._live) + list(self._retiring)
            self._live.clear()
            self._retiring.clear()
            self._idle.clear()
            self._cv.notify_all()
        for sb in live:
            sb.kill()
        self._spare_wanted.set()
        if self._spare_thread is not None:
            self._spare_thread.join()
        if self._spare is not None:
            self._spare.discard()
            self._spare = None
        self._template.close()
        self._reaper.join()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self._limiter.close()
        self._writer.close()
        if self._own_store:
            self._writer.store.close()

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- admission ---------------------------------------------------------------------------------

    def _function(self, name: str) -> Function:
        try:
            return self._functions[name]
        except (KeyError, TypeError):
            raise NotFound(f"Function not found: {name!r}") from None

    @staticmethod
    def _body(event: Any, invocation_type: str, log_type: str) -> bytes:
        if invocation_type not in INVOCATION_TYPES:
            choices = ", ".join(INVOCATION_TYPES)
            raise InvalidRequestContent(f"invocation type {invocation_type!r} is not one of {choices}")
        if log_type not in LOG_TYPES:
            raise InvalidRequestContent(f"log type {log_type!r} is not one of {', '.join(LOG_TYPES)}")
        if isinstance(event, bytes | bytearray | memoryview):
            body = bytes(event)
            if body:
                try:
                    orjson.loads(body)
                except orjson.JSONDecodeError as exc:
                    # Blank is not JSON but passes, as before: the worker reports it (Runtime.UnmarshalError).
                    if body.strip():
                        raise InvalidRequestContent(f"Could not parse request body into json: {exc}") from None
        else:
            try:
                body = orjson.dumps(event)
                if b"null" in body and _non_finite(event):
                    # orjson writes NaN and infinities as null: refuse them as json (and Lambda) do.
                    raise InvalidRequestContent("event is not JSON-serialisable: NaN and infinities are not JSON")
            except TypeError:
                # orjson refuses integers beyond 64 bits, which Python's json (the handler's) writes.
                try:
                    body = json.dumps(event, separators=(",", ":"), allow_nan=False).encode()
                except (TypeError, ValueError) as exc:
                    raise InvalidRequestContent(f"event is not JSON-serialisable: {exc}") from None
        check_size(body, invocation_type)
        return body

    def _acquire(self, fn: Function, *, wait: bool) -> Sandbox:
        """Take a concurrency slot for ``fn`` and a sandbox to run it in (one lock round trip for both)."""
        with self._cv:
            while True:
                sb = self._take_slot(fn)
                if sb is not None:
                    return sb
                if not wait or fn.settings.concurrency == 0:
                    raise self._throttle(fn)  # reserved 0: waiting would be forever
                self._cv.wait()

    def _try_acquire(self, fn: Function) -> Sandbox | None:
        """:meth:`_acquire` that returns None instead of waiting for a slot. Raises TooManyRequests
        only when ``fn`` may never run (reserved concurrency 0), SandboxError if the pool is closed."""
        with self._cv:
            sb = self._take_slot(fn)
            if sb is None and fn.settings.concurrency == 0:
                raise self._throttle(fn)
            return sb

    def _take_slot(self, fn: Function) -> Sandbox | None:
        """A slot and a sandbox for ``fn`` if one is free (called with ``_cv`` held)."""
        if self._closed.is_set():
            raise SandboxError("the pool is closed")
        reserved = fn.settings.concurrency
        if reserved is not None:
            free = self._busy.get(fn.name, 0) < reserved
        else:
            free = self._unreserved_busy < self._unreserved_cap
        if not free:
            return None
        sb = self._checkout(fn)
        self._busy[fn.name] = self._busy.get(fn.name, 0) + 1
        self._running += 1
        if reserved is None:
            self._unreserved_busy += 1
        return sb

    def _throttle(self, fn: Function) -> TooManyRequests:
        reserved = fn.settings.concurrency
        if reserved is not None:
            return TooManyRequests(
                f"Rate Exceeded: function {fn.name!r} is at its reserved concurrency ({reserved})",
                reason="ReservedFunctionConcurrentInvocationLimitExceeded",
            )
        return TooManyRequests(
            f"Rate Exceeded: {self._unreserved_cap} unreserved invocations are already running",
            reason="ConcurrentInvocationLimitExceeded",
        )

    def _release(self, fn: Function, sb: Sandbox) -> None:
        """Give back ``sb`` (idle if still warm, else killed) and then the slot."""
        with self._cv:
            keep = sb.alive and not self._closed.is_set() and sb in self._live
            if keep:
                # The common case: one lock round trip puts the sandbox back and frees the slot.
                self._idle.setdefault(fn.name, []).append(sb)
                self._free_slot(fn)
                return
            self._live.discard(sb)
            self._retiring.discard(sb)
        # The slot stays taken until the dead sandbox's processes are gone, so the concurrency limit
        # also bounds sandboxes being torn down.
        try:
            sb.kill()
        finally:
            with self._cv:
                self._free_slot(fn)

    def _free_slot(self, fn: Function) -> None:
        self._busy[fn.name] -= 1
        self._running -= 1
        if fn.settings.concurrency is None:
            self._unreserved_busy -= 1
        self._cv.notify_all()

    # --- running -----------------------------------------------------------------------------------

    def _checkout(self, fn: Function) -> Sandbox:
        """An idle sandbox for ``fn``, else a new one (called with ``_cv`` held)."""
        idle = self._idle.get(fn.name)
        if idle:
            return idle.pop()  # the most recently used: warmest caches
        spare = self._take_spare()
        sb = Sandbox(
            fn,
            name=spare.name if spare else f"{fn.name}-{next(self._names)}",
            template=self._template,
            limiter=self._limiter,
            work_dir=self._work_dir,
            max_processes=self._max_processes,
            fresh=not self._fork,
            spare=spare,
            state=self.state,
        )
        self._live.add(sb)
        return sb

    def _run(
        self,
        fn: Function,
        sb: Sandbox,
        rid: str,
        body: bytes,
        invocation_type: str,
        trigger: str,
        tail: bool,
        client_context: dict[str, Any] | None,
        chain_hops: int = 0,
    ) -> InvocationResult:
        capture = logs.LogCapture(fn.name, rid, self._writer.log_rows, limit_bytes=self._log_limit)
        start = time.time()
        try:
            outcome = sb.start(capture) if not sb.alive else None
            capture.emit([logs.start_line(rid)])
            if outcome is None:
                # A lone invocation may busy-poll briefly for its answer (see sandbox.SPIN_S).
                request = _request(rid, chain_hops, client_context)
                outcome = sb.invoke(request, body, capture, spin=self._running == 1)
        except BaseException:
            with self._cv:
                self._live.discard(sb)
            sb.kill()
            raise
        return self._result(fn, capture, start, outcome, invocation_type, trigger, tail)

    def _result(
        self,
        fn: Function,
        capture: logs.LogCapture,
        start: float,
        outcome: Outcome,
        invocation_type: str,
        trigger: str,
        tail: bool = False,
    ) -> InvocationResult:
        """Log the invocation's END and REPORT lines, queue its record, and describe it."""
        rid = capture.request_id
        self._finish_log(capture, fn, outcome)
        duration = outcome.duration_ms
        billed = logs.billed_ms(duration)
        init_ms = outcome.init_ms
        # Records are written behind (see writer.py): queued here, committed in batches.
        self._writer.record(
            InvocationRecord(
                rid,
                fn.name,
                trigger,
                invocation_type,
                start,
                round(duration, 3),
                billed,
                None if init_ms is None else round(init_ms, 3),
                fn.settings.memory_mb,
                outcome.max_memory_mb,
                outcome.status,
                outcome.error_type,
                outcome.error_message,
            )
        )
        return InvocationResult(
            request_id=rid,
            function=fn.name,
            status_code=202 if invocation_type == "Event" else 200,
            payload=outcome.payload,
            status=outcome.status,
            function_error=None if outcome.status == rec.OK else "Unhandled",
            log_result=capture.tail() if tail else None,
            duration_ms=duration,
            billed_duration_ms=billed,
            init_duration_ms=init_ms,
            memory_size_mb=fn.settings.memory_mb,
            max_memory_used_mb=outcome.max_memory_mb,
        )

    @staticmethod
    def _finish_log(capture: logs.LogCapture, fn: Function, outcome: Outcome) -> None:
        capture.finish()
        rid = capture.request_id
        lines = []
        if outcome.status == rec.TIMEOUT:
            lines.append(logs.timeout_line(rid, outcome.duration_ms / 1000))
        elif outcome.status != rec.OK and outcome.status != rec.ERROR:
            lines.append(f"{outcome.error_message} ({outcome.error_type})")
        lines.append(logs.end_line(rid))
        lines.append(
            logs.report_line(rid, outcome.duration_ms, fn.settings.memory_mb, outcome.max_memory_mb, outcome.init_ms)
        )
        capture.emit(lines)

    def prepare(self, timeout: float = 10.0) -> bool:
        """Wait until a spare worker is ready for the next cold start (seconds); False if none came
        (spares disabled, or the machine refused to fork)."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while self._spare is None and self._spare_thread is not None and not self._closed.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cv.wait(remaining)
            return self._spare is not None

    def _take_spare(self) -> Spare | None:
        """The spare, if one is ready and alive (called with ``_cv`` held); asks for the next one."""
        spare, self._spare = self._spare, None
        if self._spare_thread is not None:
            self._spare_wanted.set()
        if spare is not None and not spare.alive():
            threading.Thread(target=spare.discard, daemon=True).start()
            return None
        return spare

    def _spare_loop(self) -> None:
        while True:
            self._spare_wanted.wait()
            self._spare_wanted.clear()
            if self._closed.is_set():
                return
            with self._cv:
                if self._spare is not None:
                    continue
            name = f"spare-{next(self._names)}"
            conf = self._limiter.confine(name, memory_bytes=_SPARE_MEMORY, max_processes=self._max_processes)
            try:
                proc = self._template.spawn()
            except RippleError:
                conf.remove()
                continue  # the next cold start forks itself and reports what is wrong
            spare = Spare(name, conf, proc)
            try:
                conf.adopt(proc.pid)
            except OSError:
                spare.discard()
                continue
            conf.leader = proc.pid
            with self._cv:
                if self._closed.is_set():
                    keep = False
                else:
                    keep, self._spare = True, spare
                    self._cv.notify_all()
            if not keep:
                spare.discard()
                return

    def _reap_loop(self) -> None:
        interval = min(max(self._idle_timeout / 4, 0.01), 1.0)
        while not self._closed.wait(interval):
            try:
                self.reap_idle()
            except RippleError:
                pass


# Request and trace ids need to be unique, not unguessable; uuid4() reads the kernel's random source
# each time, which costs ~100 us in some VMs: more than the rest of a warm invocation.
_ids = random.Random()


def _request_id() -> str:
    """A version 7 UUID string: Unix milliseconds, then 74 random bits. Shaped like Lambda's request
    ids (which are UUIDs), and increasing over time, so the records table's key index grows at its
    end instead of at a random page per invocation."""
    bits = _ids.getrandbits(74)
    value = (time.time_ns() // 1_000_000) << 80 | 0x7 << 76 | (bits >> 62) << 64 | 0b10 << 62 | bits & _RAND_B
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_RAND_B = 2**62 - 1


def _non_finite(value: Any) -> bool:
    """Whether a JSON-able value holds a float NaN or infinity anywhere."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_non_finite(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_non_finite(v) for v in value)
    return False


def check_size(body: bytes, invocation_type: str) -> None:
    """Raise RequestTooLarge when ``body`` is over Lambda's limit for ``invocation_type``."""
    limit = ASYNC_PAYLOAD_LIMIT if invocation_type == "Event" else SYNC_PAYLOAD_LIMIT
    if len(body) > limit:
        raise RequestTooLarge(
            f"Request payload of {len(body)} bytes exceeds the {invocation_type} limit of {limit} bytes"
        )


def _request(rid: str, hops: int, client_context: dict[str, Any] | None = None) -> dict[str, Any]:
    """The message that starts an invocation in a warm sandbox."""
    return {
        "id": rid,
        "trace": _trace_id(),
        "hops": hops,
        "client_context": client_context,
        "max_response": SYNC_PAYLOAD_LIMIT,
    }


def _trace_id() -> str:
    """An X-Ray style trace header, fresh per invocation (``_X_AMZN_TRACE_ID``)."""
    bits = _ids.getrandbits(160)
    return f"Root=1-{int(time.time()):08x}-{bits >> 64:024x};Parent={bits & (2**64 - 1):016x};Sampled=0"
