"""A test harness that runs an app in-process and never sleeps.

```python
from ripple.testing import run_app

with run_app(app) as p:               # temporary state, virtual clock, real sandboxes
    p.bucket("site-src").put("content/a.md", b"# Hi")
    p.drain()                         # until no work is left, retries included
    p.advance(3600)                   # move the virtual clock: windows, schedules, maximum ages
```

``drain()`` runs the dispatcher until nothing is due; retries' backoff and batching windows are
crossed by moving the virtual clock, not by waiting. ``advance(s)`` moves the clock forward,
firing every schedule it passes (in order) and draining after each.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ripple
from ripple.app import App
from ripple.client import Bucket, Client, Stream, Table, Topic
from ripple.dispatch.asyncq import AsyncQueue, DeadLetter
from ripple.dispatch.dispatcher import Delivery, Dispatcher, pool_invoker
from ripple.errors import ValidationError

#: Virtual time starts here unless told otherwise: a fixed instant, so tests are reproducible.
DEFAULT_START = 1_800_000_000.0  # 2027-01-15T08:00:00Z


class VirtualClock:
    """Epoch seconds that move only when told to (never backwards)."""

    def __init__(self, start: float = DEFAULT_START):
        self.t = float(start)

    def __call__(self) -> float:
        return self.t

    def set(self, t: float) -> None:
        self.t = max(self.t, float(t))


class Harness:
    """A running app: the client's resource handles plus the dispatcher's controls."""

    def __init__(self, app: App, client: Client, pool: Any, dispatcher: Dispatcher, clock: VirtualClock):
        self.app = app
        self.client = client
        self.pool = pool
        self.dispatcher = dispatcher
        self.clock = clock
        self.deliveries: list[Delivery] = []

    # resources
    def bucket(self, name: str) -> Bucket:
        return self.client.bucket(name)

    def table(self, name: str) -> Table:
        return self.client.table(name)

    def stream(self, name: str) -> Stream:
        return self.client.stream(name)

    def topic(self, name: str) -> Topic:
        return self.client.topic(name)

    @property
    def now(self) -> float:
        return self.clock.t

    # control
    def drain(self) -> int:
        """Run until no work is left (retries included). Returns the dispatcher steps taken."""
        return self.dispatcher.drain(advance=self.clock.set)

    def advance(self, seconds: float) -> None:
        """Move the virtual clock ``seconds`` forward, firing schedules and draining on the way."""
        if not isinstance(seconds, int | float) or seconds < 0:
            raise ValidationError(f"advance() takes a non-negative number of seconds, not {seconds!r}")
        target = self.clock.t + seconds
        self.drain()
        while (t := self.dispatcher.next_timer()) <= target:
            self.clock.set(t)
            self.drain()
        self.clock.set(target)
        self.drain()

    def invoke(self, function: str, event: Any = None, **options: Any) -> Any:
        """Invoke a function directly (RequestResponse), as ``ripple invoke`` does."""
        return self.pool.invoke(function, b"{}" if event is None else event, **options)

    def dead_letters(self, function: str | None = None) -> list[DeadLetter]:
        return AsyncQueue(self.client.store._db).dead_letters(function)


@contextlib.contextmanager
def run_app(
    app: App,
    *,
    state: str | Path | None = None,
    start: float = DEFAULT_START,
    workers: int = 1,
    **pool_options: Any,
) -> Iterator[Harness]:
    """Run ``app`` with real sandboxes on a temporary (or given) state folder and a virtual clock.

    Declared resources are created; every trigger starts from the log's current end, so what the
    test writes next is what the functions see. Everything is closed (and a temporary state
    folder removed) on exit. ``workers=1`` delivers one batch or event at a time, in a fixed
    order; more runs lanes and queued events side by side, as the platform does (to test
    parallelization factors and concurrent writers, at the price of a varying order).
    """
    from ripple.runtime.pool import Pool

    tmp = None
    if state is None:
        tmp = tempfile.mkdtemp(prefix="ripple-test-")
        state = Path(tmp) / "state"
    clock = VirtualClock(start)
    client = ripple.connect(state, clock=clock)
    pool = None
    harness: Harness | None = None
    try:
        for res in app.resources:
            res.ensure(client)
        pool_options.setdefault("spare", False)
        pool = Pool(app, state=state, **pool_options)
        dispatcher = Dispatcher(
            client,
            app.triggers,
            pool_invoker(pool),
            clock=clock,
            on_delivery=lambda d: harness.deliveries.append(d) if harness else None,
            workers=workers,
        )
        harness = Harness(app, client, pool, dispatcher, clock)
        dispatcher.start()  # pins every trigger's starting position before the test writes
        yield harness
    finally:
        if harness is not None:
            harness.dispatcher.close()
        if pool is not None:
            pool.close()
        client.close()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
