"""The template process that cold starts fork from (``python -m ripple.runtime.template FD``).

It imports the sandbox's side of the runtime once, then waits on a Unix socket for spawn requests. Each
request carries three file descriptors (the sandbox's control socket, log pipe and status pipe) and
``{"fresh": bool}``. The template forks; the child becomes a session leader, moves the descriptors to
their fixed numbers and either runs the worker directly (fork: nothing to import) or execs a fresh
interpreter (kept so the benchmark can compare the two in one run). The template writes the child's pid
to the status pipe, and later its raw wait status, since only the template can reap it.

If the pool goes away (EOF on the socket) the template kills every sandbox it started and exits.
"""

from __future__ import annotations

import fcntl
import os
import select
import signal
import socket
import struct
import sys

import orjson

# Imported here, before any fork, so that a cold start finds it loaded: the point of the template.
import ripple.app  # noqa: F401  (handlers' app modules import it)
from ripple.runtime import worker

_INT = struct.Struct("!i")


def main(fd: int) -> None:
    """Serve spawn requests on the socket ``fd`` until it closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    sock = socket.socket(fileno=fd)
    children: dict[int, int] = {}  # pid -> status pipe
    try:
        while True:
            readable, _, _ = select.select([sock, wake_r], [], [])
            if wake_r in readable:
                os.read(wake_r, 4096)
                _reap(children)
            if sock in readable:
                msg, fds, _, _ = socket.recv_fds(sock, 4096, 3)
                if not msg:
                    break
                _spawn(orjson.loads(msg), fds, children)
    finally:
        for pid in list(children):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        signal.set_wakeup_fd(-1)
        for pid, status_w in children.items():
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
            os.close(status_w)


def _spawn(request: dict, fds: list[int], children: dict[int, int]) -> None:
    ctl, log_w, status_w = fds
    pid = os.fork()
    if pid == 0:
        try:
            _become_sandbox(ctl, log_w, bool(request.get("fresh")))
        finally:
            os._exit(71)
    os.close(ctl)
    os.close(log_w)
    children[pid] = status_w
    os.write(status_w, _INT.pack(pid))


def _become_sandbox(ctl: int, log_w: int, fresh: bool) -> None:
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # Its own session and process group: the pool kills the whole group, and the sandbox never
    # receives the terminal's signals.
    os.setsid()
    high_ctl = _above(ctl, 10)
    high_log = _above(log_w, 10)
    os.dup2(high_ctl, worker.CTL_FD)
    os.dup2(high_log, worker.LOG_FD)
    os.dup2(high_log, 1)
    os.dup2(high_log, 2)
    # Drop everything else: the template's socket and other sandboxes' status pipes must not leak.
    os.closerange(worker.LOG_FD + 1, 65536)
    if fresh:
        os.set_inheritable(worker.CTL_FD, True)
        os.set_inheritable(worker.LOG_FD, True)
        os.execv(sys.executable, [sys.executable, "-m", "ripple.runtime.worker"])
    worker.child_main()


def _above(fd: int, floor: int) -> int:
    return fcntl.fcntl(fd, fcntl.F_DUPFD, floor)


def _reap(children: dict[int, int]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        status_w = children.pop(pid, None)
        if status_w is not None:
            try:
                os.write(status_w, _INT.pack(status))
            except OSError:
                pass
            os.close(status_w)


if __name__ == "__main__":
    main(int(sys.argv[1]))
