"""The pool's handle on the template process: start it, ask it for sandboxes, stop it.

See ``template.py`` for the other side. One template serves every function of a pool; it is restarted
on demand if it dies.
"""

from __future__ import annotations

import os
import select
import socket
import struct
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import orjson

from ripple.errors import SandboxError

_INT = struct.Struct("!i")
#: How long a fork may take before the template is declared stuck, in seconds.
SPAWN_TIMEOUT_S = 10.0


@dataclass
class SandboxProcess:
    """A started sandbox process: its pid and the pool's ends of its three channels."""

    pid: int
    ctl: socket.socket
    log_r: int
    status_r: int

    def close(self) -> None:
        """Close the pool's ends (idempotent)."""
        self.ctl.close()
        for attr in ("log_r", "status_r"):
            fd = getattr(self, attr)
            if fd >= 0:
                os.close(fd)
                setattr(self, attr, -1)


class Template:
    """A running template process. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None

    def start(self) -> None:
        """Start the template process if it is not running. Raises SandboxError if it cannot start."""
        with self._lock:
            self._start_locked()

    def _start_locked(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            return
        self._stop_locked()
        ours, theirs = socket.socketpair()
        env = dict(os.environ)
        # The template must import ripple even when the pool's ripple came from sys.path tweaks.
        src = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "ripple.runtime.template", str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            raise SandboxError(f"cannot start the template process: {exc}") from exc
        finally:
            theirs.close()
        self._sock = ours

    def spawn(self, *, fresh: bool = False) -> SandboxProcess:
        """Start one sandbox process; ``fresh`` execs a new interpreter instead of forking.

        Raises:
            SandboxError: the template is gone and cannot be restarted, or did not fork in time.
        """
        try:
            return self._spawn_once(fresh)
        except SandboxError:
            # A template killed while it held our request (a handler can SIGKILL its parent, the
            # template) took the request with it: a restarted template gets one more try.
            if not self._died():
                raise
        return self._spawn_once(fresh)

    def _died(self) -> bool:
        """Whether the template process has exited (waiting up to a second for a dying one)."""
        with self._lock:
            proc = self._proc
            if proc is None:
                return True
            try:
                proc.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                return False
            return True

    def _spawn_once(self, fresh: bool) -> SandboxProcess:
        ctl, ctl_child = socket.socketpair()
        log_r, log_w = os.pipe()
        status_r, status_w = os.pipe()
        try:
            with self._lock:
                self._send_locked(fresh, [ctl_child.fileno(), log_w, status_w])
        finally:
            ctl_child.close()
            os.close(log_w)
            os.close(status_w)
        ready, _, _ = select.select([status_r], [], [], SPAWN_TIMEOUT_S)
        data = os.read(status_r, _INT.size) if ready else b""
        if len(data) != _INT.size:
            ctl.close()
            os.close(log_r)
            os.close(status_r)
            raise SandboxError("the template process did not start a sandbox")
        return SandboxProcess(pid=_INT.unpack(data)[0], ctl=ctl, log_r=log_r, status_r=status_r)

    def _send_locked(self, fresh: bool, fds: list[int]) -> None:
        for attempt in range(2):
            self._start_locked()
            assert self._sock is not None
            try:
                socket.send_fds(self._sock, [orjson.dumps({"fresh": fresh})], fds)
                return
            except OSError as exc:
                if attempt:
                    raise SandboxError(f"the template process is gone: {exc}") from exc
                self._stop_locked()

    def close(self) -> None:
        """Stop the template; it kills any sandbox it still has. Idempotent."""
        with self._lock:
            self._stop_locked()

    def _stop_locked(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
