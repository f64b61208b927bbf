"""Wake readers in other processes of the same host the moment a change commits.

Each waiting reader binds a Linux abstract-namespace datagram socket and leaves a marker file named
after it in ``<state>/wake/``. A writer, after committing, sends one byte to every marker's socket.
Abstract sockets vanish with their process, so a dead reader's marker fails with ECONNREFUSED and is
removed. This replaces a polling interval with a syscall per reader per commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import select
import socket
import threading
from pathlib import Path

_counter = itertools.count()


class Notifier:
    """The writer side and the factory for waiters of one state folder."""

    def __init__(self, folder: Path):
        self.dir = folder / "wake"
        self.dir.mkdir(exist_ok=True)
        self._tag = hashlib.sha1(str(folder).encode()).hexdigest()[:16]
        self._send = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._send.setblocking(False)
        self._lock = threading.Lock()
        self._cache_mtime = -1
        self._cache: list[str] = []
        self._local = threading.local()
        self._owned: list[Waiter] = []  # thread waiters, closed with the notifier

    def address(self, name: str) -> bytes:
        return b"\0ripple-" + self._tag.encode() + b"-" + name.encode()

    def _readers(self) -> list[str]:
        # The folder's mtime changes whenever a marker is added or removed, so one stat is enough
        # to reuse the last listing; writers pay a full listing only when readers come and go.
        try:
            mtime = os.stat(self.dir).st_mtime_ns
        except FileNotFoundError:
            return []
        if mtime != self._cache_mtime:
            self._cache = [e.name for e in os.scandir(self.dir)]
            self._cache_mtime = mtime
        return self._cache

    def notify(self) -> None:
        """Wake every waiter of this state folder. Never raises: a wake-up is a hint, not data."""
        with self._lock:
            for name in self._readers():
                try:
                    self._send.sendto(b"!", self.address(name))
                except BlockingIOError:
                    pass  # its buffer is full of wake-ups already
                except (ConnectionRefusedError, FileNotFoundError):
                    with contextlib.suppress(OSError):
                        (self.dir / name).unlink()
                except OSError:
                    pass

    def waiter(self) -> Waiter:
        return Waiter(self)

    def thread_waiter(self) -> Waiter:
        """This thread's long-lived waiter (created on first use, closed with the notifier).

        A reader that waits again and again (the platform's loop, ``events --follow``) would
        otherwise bind a socket and create and delete a marker file per wait, and every marker
        change makes each writer list the folder again on its next commit. Wake-ups sent while
        the thread was not waiting stay queued, so a wait may return at once: callers re-check."""
        w = getattr(self._local, "waiter", None)
        if w is None:
            w = self._local.waiter = Waiter(self)
            with self._lock:
                self._owned.append(w)
        return w

    def close(self) -> None:
        with self._lock:
            owned, self._owned = self._owned, []
        for w in owned:
            w.close()
        self._send.close()


class Waiter:
    """One reader's wake-up socket. Use as a context manager; ``wait()`` returns on any commit."""

    def __init__(self, notifier: Notifier):
        self.name = f"{os.getpid()}-{next(_counter)}"
        self._marker = notifier.dir / self.name
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(notifier.address(self.name))
        self.sock.setblocking(False)
        # poll, not select: select cannot watch a descriptor numbered 1024 or more.
        self._poll = select.poll()
        self._poll.register(self.sock, select.POLLIN)
        self._marker.touch()

    def wait(self, timeout: float | None) -> bool:
        """Block until a commit happens or ``timeout`` seconds pass; True when woken."""
        if self._poll.poll(None if timeout is None else max(0, int(timeout * 1000 + 0.999))):
            self.drain()
            return True
        return False

    def drain(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while True:
                self.sock.recv(64)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._marker.unlink()
        self.sock.close()

    def __enter__(self) -> Waiter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
