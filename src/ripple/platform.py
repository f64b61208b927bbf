"""The embedded platform: one process that owns an app's dispatcher and sandboxes.

``run()`` loops on the dispatcher, sleeping only in the change log's ``wait`` (woken at once by any
commit on this host) or until the next retry, batching window or schedule is due. SIGINT and
SIGTERM stop intake: the step in progress finishes (its invocations complete and checkpoint), then
the sandboxes are closed.
"""

from __future__ import annotations

import fcntl
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ripple
from ripple.app import App
from ripple.dispatch.dispatcher import Delivery, Dispatcher, pool_invoker
from ripple.errors import StateBusy

#: Upper bound on one wait, so a stop request or a changed file is noticed promptly.
MAX_WAIT_S = 0.5
#: Lanes and queued events run side by side, up to this many at once (sandboxes do the work).
DISPATCH_WORKERS = 4  # threads mostly wait on sandboxes; more only adds lock traffic on 2 cores


class Platform:
    def __init__(
        self,
        app: App,
        *,
        state: str | Path | None = None,
        on_delivery: Callable[[Delivery], None] | None = None,
        **pool_options: Any,
    ):
        from ripple.runtime.pool import Pool

        self.app = app
        self.client = ripple.connect(state)
        try:
            self._lock = _hold_lock(self.client.folder, app.name)
        except BaseException:
            self.client.close()
            raise
        pool = None
        try:
            for res in app.resources:
                res.ensure(self.client)
            self.pool = pool = Pool(app, state=self.client.folder, **pool_options)
            self.dispatcher = Dispatcher(
                self.client,
                app.triggers,
                pool_invoker(self.pool),
                on_delivery=on_delivery,
                workers=DISPATCH_WORKERS,
                exclusive=True,  # the lock above: no other dispatcher moves this app's checkpoints
            )
            # Triggers start reading here: anything written after the constructor returns is seen.
            self.dispatcher.start()
        except BaseException:
            # A platform that failed to start holds nothing: a corrected retry in this process
            # must not find its own lock taken.
            if pool is not None:
                pool.close()
            self.client.close()
            os.close(self._lock)
            raise
        self.stopping = threading.Event()
        self._lines = on_delivery is not None

    def run(self, *, until: Callable[[], bool] | None = None) -> None:
        """Dispatch until stopped (``stop()``, a signal, or ``until()`` turning true)."""
        log = self.client.log
        while not self.stopping.is_set() and not (until and until()):
            seen = log.latest()
            work, timer = self.dispatcher.step()
            if self._lines:
                # on_delivery's lines (ripple dev/serve) are flushed once per step, not once each.
                sys.stdout.flush()
            wake = min(work, timer)
            now = time.time()
            if wake <= now:
                continue
            log.wait(seen, min(wake - now, MAX_WAIT_S))

    def stop(self) -> None:
        self.stopping.set()

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.stop())

    def close(self) -> None:
        self.dispatcher.close()
        self.pool.close()
        self.client.close()
        if self._lock >= 0:
            os.close(self._lock)  # releases the lock (the file stays: removing it would race)
            self._lock = -1

    def __enter__(self) -> Platform:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _hold_lock(folder: Path, app: str) -> int:
    """Lock ``<state>/platforms/<app>.lock`` for this process's life (the kernel drops the lock when
    the process dies, also by SIGKILL) and return its descriptor. Raises StateBusy, naming the
    holder's pid, when another platform runs the same app on this state folder. Different apps may
    share a state folder (``ripple demo`` runs two)."""
    path = Path(folder) / "platforms" / f"{app}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise StateBusy(
            f"another ripple platform (pid {holder}) already runs app {app!r} on {folder}: "
            "two would deliver every event twice; stop it first"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def watch(paths: list[Path], changed: Callable[[set[Path]], None], stop: threading.Event) -> threading.Thread:
    """Call ``changed(files)`` when ``.py`` files under ``paths`` change, are added or are removed
    (an mtime scan twice a second)."""

    def snapshot() -> dict[Path, float]:
        out = {}
        for root in paths:
            for p in root.rglob("*.py"):
                if ".ripple" in p.parts or ".venv" in p.parts:
                    continue
                try:
                    out[p] = p.stat().st_mtime
                except OSError:
                    pass
        return out

    def loop() -> None:
        before = snapshot()
        while not stop.wait(0.5):
            now = snapshot()
            if now != before:
                files = {p for p in now.keys() | before.keys() if now.get(p) != before.get(p)}
                before = now
                changed(files)

    t = threading.Thread(target=loop, name="ripple-watch", daemon=True)
    t.start()
    return t
