"""One sandbox as the pool sees it: a worker process, its limits, and the invocations it runs.

A sandbox runs one invocation at a time and stays warm between them. A call is a small state
machine (:meth:`Sandbox.begin`, then :meth:`Sandbox.advance` whenever one of :attr:`Sandbox.watched`
is readable or :attr:`Sandbox.due` has come): it reads the three channels (the control socket for
the result, the log pipe, the status pipe that reports the worker's death) and samples the process
tree's memory every :data:`SAMPLE_S` (less often as the invocation goes on). The blocking
:meth:`Sandbox.invoke` drives it with a poll of its own; the burst loop (``burst.py``) drives many
sandboxes with one, and may queue further calls behind the running one, which the worker starts
as soon as it answers (their output is told apart by a mark on the log pipe). A timeout, a memory
overrun or a dead worker kill the sandbox's whole process tree; the pool then starts a fresh one.
"""

from __future__ import annotations

import math
import os
import random
import select
import shutil
import signal
import struct
import sys
import time
import uuid
from collections import deque
from collections.abc import Container
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ripple import config
from ripple.app import Function
from ripple.errors import SandboxError
from ripple.runtime import failures, logs, protocol
from ripple.runtime import records as rec
from ripple.runtime.limits import Confinement, Limiter
from ripple.runtime.logs import LogCapture
from ripple.runtime.spawner import SandboxProcess, Template

#: Interval between memory samples of a running invocation, in seconds: every SAMPLE_S for the first
#: SAMPLE_BURST_S, then every SAMPLE_LONG_S. A sample walks /proc and reads each process's
#: smaps_rollup, whose cost grows with the process's memory: sampling a long invocation of a big
#: process every 10 ms took a tenth of a core from it.
SAMPLE_S = 0.01
#: How long a lone invocation polls for its answer before sleeping in ``poll`` (seconds). On a VM
#: with idle CPUs, sleeping lets the hypervisor take the vCPU away, and waking it again costs more
#: than a no-op handler's whole round trip; a short busy poll keeps it while the answer is likely
#: to come. Only when nothing else is in flight, so it never takes a core another invocation needs,
#: and only when the sandbox's last invocation was that quick (a roll-up batch of a few ms spent
#: its whole spin in vain, 14 % of the platform's samples).
SPIN_S = 0.0003
SAMPLE_BURST_S = 0.1
SAMPLE_LONG_S = 0.05
#: Lambda limits Init (importing the handler's module) to 10 s.
INIT_TIMEOUT_S = 10.0
_MIB = 1 << 20
_INT = struct.Struct("!i")
INF = float("inf")
#: What :meth:`Sandbox.advance` returns when Init succeeded: the sandbox is warm.
READY = object()


@dataclass
class Outcome:
    """How one invocation ended. ``payload`` is the result JSON or Lambda's error object."""

    status: str
    payload: bytes
    duration_ms: float
    max_memory_mb: int
    init_ms: float | None = None
    error_type: str | None = None
    error_message: str | None = None


@dataclass
class Spare:
    """A started worker that has joined its own cgroups but knows no function yet: a cold start that
    adopts it skips the fork and the (sometimes slow) cgroup migration."""

    name: str
    conf: Confinement
    proc: SandboxProcess

    def alive(self) -> bool:
        ready, _, _ = select.select([self.proc.status_r], [], [], 0)
        return not ready

    def discard(self) -> None:
        """Kill it and release its cgroups."""
        self.conf.kill()
        # The template reaps it and says so; only then will the kernel let its cgroups go.
        select.select([self.proc.status_r], [], [], 5.0)
        self.proc.close()
        deadline = time.monotonic() + 2.0
        while not self.conf.remove() and time.monotonic() < deadline:
            self.conf.kill()
            time.sleep(0.002)


#: End-mark tokens: a handler's output cannot hold its call's mark by accident (it never sees the
#: token), which is all the marks need; no kernel randomness per call.
_marks = random.Random()


@dataclass(slots=True)
class _Call:
    """The call a sandbox is running: Init or one invocation. Times are ``time.monotonic()``."""

    rid: str
    timeout: float  # seconds
    capture: LogCapture
    t0: float
    init_ms: float | None  # the cold start that preceded this invocation, for its REPORT line
    init: bool = False
    mark: bytes = b""  # the end mark the worker writes after this call's output on the log pipe
    logged: bool = False  # that mark was read: later output is the next call's
    deadline: float = field(init=False)
    next_sample: float = field(init=False)

    def __post_init__(self) -> None:
        self.restart(self.t0)

    def restart(self, t0: float) -> None:
        """The call starts running at ``t0`` (a queued call: when the one before it ended)."""
        self.t0 = t0
        self.deadline = t0 + self.timeout
        self.next_sample = t0 + SAMPLE_S


class _Ended(Exception):
    """The sandbox ended while we waited: ``kind`` is timeout, oom, procs or exit."""

    def __init__(self, kind: str, wait_status: int = -1) -> None:
        super().__init__(kind)
        self.kind = kind
        self.wait_status = wait_status


def _mark_prefix(data: bytes, mark: bytes) -> int:
    """How many bytes at the end of ``data`` could begin ``mark`` (0 if none)."""
    if mark[:1] not in data[-len(mark) + 1 :]:
        return 0  # the common case: no byte that starts a mark near the end
    for k in range(min(len(mark) - 1, len(data)), 0, -1):
        if data.endswith(mark[:k]):
            return k
    return 0


def lambda_environment(fn: Function, log_stream: str, state: Path | None = None) -> dict[str, str]:
    """The environment variables Lambda gives a sandbox (aws-semantics.md §7.4), then the function's.
    ``RIPPLE_STATE`` lets ``ripple.connect()`` in a handler reach the platform that runs it."""
    root = str(fn.root)
    env = {
        "PATH": os.pathsep.join(
            [f"{root}/bin", os.path.dirname(sys.executable), os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")]
        ),
        "LANG": "en_US.UTF-8",
        "TZ": "UTC",
        "PYTHONPATH": root,
        "LAMBDA_TASK_ROOT": root,
        "LAMBDA_RUNTIME_DIR": str(Path(__file__).parent),
        "_HANDLER": fn.handler,
        "AWS_REGION": config.REGION,
        "AWS_DEFAULT_REGION": config.REGION,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info.major}.{sys.version_info.minor}",
        "AWS_LAMBDA_FUNCTION_NAME": fn.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.settings.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{fn.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    }
    if state is not None:
        env[config.STATE_ENV] = str(state)
    env.update(fn.settings.env)
    return env


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{config.REGION}:{config.ACCOUNT_ID}:function:{name}"


class Sandbox:
    """A worker process for one function. Not thread-safe: the pool hands it to one caller at a time."""

    def __init__(
        self,
        fn: Function,
        *,
        name: str,
        template: Template,
        limiter: Limiter,
        work_dir: Path,
        max_processes: int,
        fresh: bool = False,
        spare: Spare | None = None,
        state: Path | None = None,
    ) -> None:
        """A sandbox for ``fn``; with ``spare``, it adopts that already-started process instead of
        forking one when it starts."""
        self.fn = fn
        self.name = name
        self.alive = False
        self.last_used = time.monotonic()
        self.init_ms: float | None = None
        #: How long its last invocation took (ms; infinite before the first): the burst loop
        #: queues calls only behind sandboxes whose calls are quick.
        self.last_ms = math.inf
        self._template = template
        self._fresh = fresh
        self._work_dir = work_dir
        self._state = state
        self._max_processes = max_processes
        self._mem_limit = fn.settings.memory_mb * _MIB
        # The cgroup is a hard backstop for memory plus the tmpfs /tmp (whose pages it also charges);
        # the memory setting itself is enforced by sampling.
        backstop = (fn.settings.memory_mb + fn.settings.tmp_mb) * _MIB
        self._spare = spare
        if spare is not None:
            self._conf: Confinement = spare.conf
            self._conf.set_memory_limit(backstop)
        else:
            self._conf = limiter.confine(name, memory_bytes=backstop, max_processes=max_processes)
        self._proc: SandboxProcess | None = None
        self._chan: protocol.Channel | None = None
        self._arn = function_arn(fn.name)
        self._peak = 0
        self._refusals = 0
        self._log_pending = False
        self._calls: deque[_Call] = deque()
        self._broken = False  # a request could not be sent: the worker is gone
        self._stray = b""  # output read after the last call's end mark, or a mark's first bytes
        self._watched: tuple[int, ...] = ()
        self._status: int | None = None

    @property
    def pid(self) -> int:
        return self._proc.pid if self._proc else 0

    def pids(self) -> list[int]:
        """Every live process of this sandbox."""
        return self._conf.pids()

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self, capture: LogCapture) -> Outcome | None:
        """Start the worker and run Init (import the handler). Returns None when warm, else the failed
        Outcome (the sandbox is then dead). Raises SandboxError if no process could be started."""
        self.begin_start(capture)
        outcome = self._finish()
        return None if outcome is READY else outcome

    def begin_start(self, capture: LogCapture) -> None:
        """Start the worker and send it the spec; :meth:`advance` then reports Init's end (READY, or
        the failed Outcome). Raises SandboxError if no process could be started."""
        now = time.monotonic()
        if self._spare is not None:
            self._proc, joined = self._spare.proc, True
            self._spare = None
        else:
            self._proc, joined = self._template.spawn(fresh=self._fresh), False
        self._conf.leader = self._proc.pid
        self._chan = protocol.Channel(self._proc.ctl)
        os.set_blocking(self._proc.log_r, False)
        self._watched = (self._proc.ctl.fileno(), self._proc.log_r, self._proc.status_r)
        self.alive = True
        stream = f"{time.strftime('%Y/%m/%d', time.gmtime())}/[$LATEST]{uuid.uuid4().hex}"
        spec = {
            "handler": self.fn.handler,
            "root": str(self.fn.root),
            "env": lambda_environment(self.fn, stream, self._state),
            "tmp_mb": self.fn.settings.tmp_mb,
            "tmp_fallback": str(self._work_dir / self.name / "tmp"),
            "cgroup_procs": [] if joined else self._conf.procs_files,
        }
        self._calls.append(_Call(capture.request_id, INIT_TIMEOUT_S, capture, now, None, init=True))
        self._send(spec)

    def kill(self) -> None:
        """Kill every process of the sandbox and release its resources. Idempotent."""
        self.alive = False
        if self._spare is not None:
            self._spare.discard()
            self._spare = None
            return
        self._conf.kill()
        if self._proc is not None:
            self._exit_status(timeout=5.0)
            self._proc.close()
            self._proc = None
            self._chan = None
        if not self._conf.remove():
            # A killed process may linger a moment before the kernel lets the cgroup go.
            deadline = time.monotonic() + 2.0
            while not self._conf.remove() and time.monotonic() < deadline:
                self._conf.kill()
                time.sleep(0.002)
        shutil.rmtree(self._work_dir / self.name, ignore_errors=True)

    # --- invoking ----------------------------------------------------------------------------------

    def invoke(self, request: dict[str, Any], body: bytes, capture: LogCapture, *, spin: bool = False) -> Outcome:
        """Run one invocation; ``request`` has ``id``, ``trace``, ``client_context``, ``max_response``
        (and gets the timeout and ARN added in place: it is the message sent to the worker).
        ``spin``: poll for the answer for up to :data:`SPIN_S` before sleeping (a lone invocation).

        Raises SandboxError if the sandbox was killed meanwhile (the pool is closing)."""
        self.begin(request, body, capture)
        outcome = self._finish(spin=spin)
        assert isinstance(outcome, Outcome)
        return outcome

    def begin(self, request: dict[str, Any], body: bytes, capture: LogCapture, *, queue: bool = False) -> None:
        """Send one invocation (see :meth:`invoke`) and return at once; :meth:`advance` reports its end.

        ``queue``: the invocation may be sent while another one runs (the burst loop does this): the
        worker starts it as soon as it has answered the one before, without waiting for a round trip
        through this process, and marks the end of each invocation's output on the log pipe so that
        every line still goes to the invocation that wrote it. Its time limit counts from the answer
        before it. Raises SandboxError if the sandbox was shut down (the pool is closing)."""
        if self._proc is None or self._chan is None:
            raise SandboxError("the sandbox was shut down (the pool is closing)")
        assert queue or not self._calls, "one call at a time unless queued"
        timeout = float(self.fn.settings.timeout)
        init_ms, self.init_ms = self.init_ms, None
        # The worker turns this into the context's deadline when it starts the invocation.
        request["timeout_ms"] = int(timeout * 1000)
        request["arn"] = self._arn
        mark = b""
        if queue:
            request["mark"] = token = f"{_marks.getrandbits(64):016x}"
            mark = protocol.log_mark(token)
        self._calls.append(_Call(request["id"], timeout, capture, time.monotonic(), init_ms, mark=mark))
        self._send(request, body)

    @property
    def quick(self) -> bool:
        """Its last invocation answered within about SPIN_S: worth busy-polling for the next answer
        (a slower one would only burn a core the machine's other processes need)."""
        return self.last_ms < 2 * SPIN_S * 1000

    @property
    def queued(self) -> int:
        """Calls sent and not ended yet (the first one is running)."""
        return len(self._calls)

    def _send(self, header: dict[str, Any], body: bytes = b"") -> None:
        assert self._chan is not None
        try:
            self._chan.send(header, body)
        except OSError:
            self._broken = True  # the worker is gone: advance() says how it ended

    @property
    def watched(self) -> tuple[int, ...]:
        """The descriptors to poll (for reading) while a call runs: control socket, log pipe, status."""
        return self._watched

    @property
    def due(self) -> float:
        """When (monotonic seconds) :meth:`advance` must run even if nothing is readable: the running
        call's deadline or its next memory sample."""
        if not self._calls:
            return INF
        if self._broken or (self._chan is not None and self._chan.buffered):
            return 0.0
        call = self._calls[0]
        return min(call.deadline, call.next_sample)

    def advance(self, ready: Container[int], now: float) -> list[Outcome | object]:
        """Take what the worker sent (``ready``: descriptors seen readable) and check the running
        call's limits at ``now`` (monotonic). Returns the calls that ended, in the order they were
        begun: an invocation's Outcome, a failed Init's Outcome, or :data:`READY` when Init
        succeeded. When the sandbox ended (it timed out, overran a limit or died), the last one is
        the running call's Outcome, ``alive`` is False, and the calls queued behind it never started
        (the caller may send them elsewhere)."""
        ends: list[Outcome | object] = []
        calls = self._calls
        try:
            answer = self._step(calls[0], ready, now)
            while answer is not None:
                call = calls[0]
                header, payload = answer
                done = time.monotonic()
                # Still first in line while it is answered: output read now is routed to it.
                ends.append(self._initialised(call, header) if call.init else self._answered(call, header, payload))
                calls.popleft()
                if not calls or not self.alive:
                    break
                calls[0].restart(done)
                chan = self._chan
                answer = chan.recv(timeout=calls[0].deadline - done) if chan is not None and chan.buffered else None
        except _Ended as end:
            call = calls[0]
            if call.init:
                self.init_ms = (time.monotonic() - call.t0) * 1000
                ends.append(self._ended(end, call.rid, INIT_TIMEOUT_S, self.init_ms, init=True))
            else:
                ends.append(self._ended(end, call.rid, call.timeout, call.init_ms, started=call.t0))
        except (EOFError, ValueError, OSError):
            call = calls[0]
            ends.append(self._ended(self._death(), call.rid, call.timeout, call.init_ms, started=call.t0))
        if not self.alive:
            calls.clear()
        return ends

    def _step(self, call: _Call, ready: Container[int], now: float) -> tuple[dict[str, Any], bytes] | None:
        """One look at the worker: its output, its answer, its death; then the deadline and memory.
        Raises _Ended when the sandbox ended."""
        proc, chan = self._proc, self._chan
        if self._broken or proc is None or chan is None:
            raise self._death()
        log_r, status_r = proc.log_r, proc.status_r
        # The worker writes its output before its answer, so output not seen readable in the same
        # poll as the answer is not there: no need to try reading it after.
        self._log_pending = log_r in ready
        if self._log_pending and not self._drain_logs():
            self._watched = tuple(fd for fd in self._watched if fd != log_r)
        if chan.buffered or chan.fileno() in ready:
            try:
                return chan.recv(timeout=call.deadline - time.monotonic())
            except (EOFError, ValueError, OSError):
                self._drain_logs(final=True)
                raise self._death() from None
        if status_r >= 0 and status_r in ready:
            status = self._read_status()
            if status is None:
                # EOF without a status: the template died (a handler can kill its parent), not the
                # worker. Keep serving; the worker's death will show as EOF on its socket.
                self._watched = tuple(fd for fd in self._watched if fd != status_r)
            else:
                self._drain_logs(final=True)
                raise _Ended("exit", status)
        if now >= call.deadline:
            raise _Ended("timeout")
        if now >= call.next_sample:
            kind = self._sample()
            if kind:
                raise _Ended(kind)
            call.next_sample = now + (SAMPLE_S if now - call.t0 < SAMPLE_BURST_S else SAMPLE_LONG_S)
        return None

    def _finish(self, *, spin: bool = False) -> Outcome | object:
        """Wait for the one call begun (Init or an invocation), polling this sandbox's descriptors."""
        poller, fds = select.poll(), ()
        spin_until = time.monotonic() + SPIN_S if spin and self.quick else 0.0
        while True:
            if fds != self._watched:
                for fd in fds:
                    poller.unregister(fd)
                fds = self._watched
                for fd in fds:
                    poller.register(fd, select.POLLIN)
            now = time.monotonic()
            wait_ms = 0.0 if now < spin_until else max(0.0, (self.due - now) * 1000)
            ready = {fd for fd, _ in poller.poll(wait_ms)}
            ends = self.advance(ready, time.monotonic())
            if ends:
                return ends[0]

    def _initialised(self, call: _Call, header: dict[str, Any]) -> Outcome | object:
        self.init_ms = (time.monotonic() - call.t0) * 1000
        self._sample()
        err = header.get("error")
        if err is None:
            return READY
        self.kill()
        err["requestId"] = call.rid
        payload = orjson.dumps(err)
        return Outcome(rec.ERROR, payload, 0.0, self._peak_mb(), self.init_ms, err["errorType"], err["errorMessage"])

    def _answered(self, call: _Call, header: dict[str, Any], payload: bytes) -> Outcome:
        # As seen from here, round trip included; a queued call started before this process saw
        # the one ahead of it end, so the worker's own measure is the larger one there.
        duration = max((time.monotonic() - call.t0) * 1000, float(header.get("ms", 0.0)))
        if call.mark:
            # The worker marked the end of this call's output before answering: it is in the pipe.
            if not call.logged:
                self._drain_logs(final=True)
            call.logged = True  # even if the mark never came (the handler closed the log pipe)
        elif self._log_pending:
            self._drain_logs(final=True)
        if duration > SAMPLE_S * 1000:
            # Long enough to have started processes the worker's own rusage does not cover.
            self._sample()
        self._peak = max(self._peak, int(header.get("maxrss_kb", 0)) * 1024)
        self.last_used = time.monotonic()
        self.last_ms = duration
        # Reading the cgroup costs more than a whole warm invocation; a fork loop is neither quick nor ok.
        refusals = self._refusals if header.get("ok") and duration < SAMPLE_S * 1000 else self._conf.fork_refusals()
        if refusals > self._refusals:
            # The process bound was hit: whatever kept forking is still in there. Start clean next time.
            self._refusals = refusals
            self.kill()
        if header.get("ok"):
            return Outcome(rec.OK, payload, duration, self._peak_mb(), call.init_ms)
        err = orjson.loads(payload)
        return Outcome(
            rec.ERROR, payload, duration, self._peak_mb(), call.init_ms, err["errorType"], err["errorMessage"]
        )

    def _ended(
        self,
        end: _Ended,
        rid: str,
        timeout: float,
        init_ms: float | None,
        *,
        started: float | None = None,
        init: bool = False,
    ) -> Outcome:
        """Kill the sandbox and describe why it ended."""
        self.kill()
        duration = (time.monotonic() - started) * 1000 if started is not None else 0.0
        if end.kind == "timeout":
            seconds = duration / 1000 if not init else timeout
            msg = f"RequestId: {rid} Error: Task timed out after {seconds:.2f} seconds"
            err = failures.error(failures.TIMEOUT, msg)
            status = rec.TIMEOUT
        elif end.kind == "oom" or (end.wait_status >= 0 and self._oom_killed(end.wait_status)):
            reason = "signal: killed"
            err = failures.error(failures.OUT_OF_MEMORY, f"RequestId: {rid} Error: Runtime exited with error: {reason}")
            status = rec.OUT_OF_MEMORY
        elif end.kind == "procs":
            msg = f"RequestId: {rid} Error: more than {self._max_processes} processes"
            err = failures.error(failures.EXIT, msg)
            status = rec.CRASHED
        else:
            reason = failures.exit_reason(end.wait_status) if end.wait_status >= 0 else "unknown"
            err = failures.error(failures.EXIT, f"RequestId: {rid} Error: Runtime exited with error: {reason}")
            status = rec.CRASHED
        err["requestId"] = rid
        return Outcome(
            status, orjson.dumps(err), duration, self._peak_mb(), init_ms, err["errorType"], err["errorMessage"]
        )

    def _oom_killed(self, wait_status: int) -> bool:
        return (
            os.WIFSIGNALED(wait_status)
            and os.WTERMSIG(wait_status) == signal.SIGKILL
            and (self._conf.oom_kills() > 0 or self._peak >= self._mem_limit)
        )

    def _peak_mb(self) -> int:
        return min(math.ceil(self._peak / _MIB), self.fn.settings.memory_mb)

    # --- waiting -----------------------------------------------------------------------------------

    def _death(self) -> _Ended:
        status = self._exit_status(timeout=5.0)
        if status is None:
            # The worker is alive but broke its channel (a handler wrote to it): it is dead to us.
            self._conf.kill()
            status = self._exit_status(timeout=5.0)
        return _Ended("exit", -1 if status is None else status)

    def _exit_status(self, timeout: float) -> int | None:
        """The worker's raw wait status, waiting up to ``timeout`` seconds; None if unknown."""
        proc = self._proc
        if proc is None or proc.status_r < 0:
            return self._status
        ready, _, _ = select.select([proc.status_r], [], [], timeout)
        return self._read_status() if ready else None

    def _read_status(self) -> int | None:
        """Read the status the template wrote (None at EOF: the template is gone) and close the pipe."""
        proc = self._proc
        if proc is None or proc.status_r < 0:
            return self._status
        data = os.read(proc.status_r, _INT.size)
        os.close(proc.status_r)
        proc.status_r = -1
        self._status = _INT.unpack(data)[0] if len(data) == _INT.size else None
        return self._status

    def _drain_logs(self, *, final: bool = False) -> bool:
        """Read what the log pipe holds into the captures of the calls that wrote it; False once
        every writer has closed the pipe."""
        proc = self._proc
        if proc is None or proc.log_r < 0:
            return False
        # Bounded so a flood of output cannot starve the deadline and memory checks.
        for _ in range(4096 if final else 16):
            try:
                data = os.read(proc.log_r, 1 << 16)
            except BlockingIOError:
                return True
            except OSError:
                return False
            if not data:
                return False
            self._route(data)
        return True

    def _route(self, data: bytes) -> None:
        """Give output to the call that wrote it: the first one whose end mark has not been read."""
        if self._stray:
            data, self._stray = self._stray + data, b""
        for call in self._calls:
            if call.logged:
                continue
            if not call.mark:
                call.capture.feed(data)
                return
            at = data.find(call.mark)
            if at < 0:
                keep = _mark_prefix(data, call.mark)
                if keep:
                    # A mark may be cut between two reads: hold its first bytes back.
                    data, self._stray = data[:-keep], data[-keep:]
                if data:
                    call.capture.feed(data)
                return
            if at:
                call.capture.feed(data[:at])
            call.logged = True
            data = data[at + len(call.mark) :]
            if not data:
                return
        # Output after every call's end (a thread or process the handler left running): it goes to
        # the next call, as it would have without marks; bounded like any call's output.
        self._stray = (self._stray + data)[: logs.DEFAULT_LIMIT_BYTES]

    def _sample(self) -> str | None:
        """Measure the tree; name the limit it breaks (``oom`` or ``procs``), if any."""
        pids = self._conf.pids()
        if len(pids) > self._max_processes:
            return "procs"
        if len(pids) == 1:
            # The worker alone: PSS <= RSS, so under the limit by RSS it is under it by PSS too, and
            # the PSS walk (the kernel reads every page table; ~14 % of a roll-up's CPU when every
            # sample took it) is needed only near the limit. Its own peak RSS comes with each answer.
            rss = self._conf.resident_bytes(pids)
            if rss <= self._mem_limit:
                self._peak = max(self._peak, rss)
                return None
        used = self._conf.memory_bytes(pids)
        self._peak = max(self._peak, used)
        return "oom" if used > self._mem_limit else None
