"""``ripple site watch SRC OUT``: build, then build again whenever a source file changes, in one
process that keeps its :class:`~ripple.site.builder.Builder`.

A new process pays for its start, its imports and loading the page model before it does any work
(about 0.5 s of a body edit at 10k pages, decisions/0104); a watcher pays for them once. Each build
is an ordinary incremental build (every file is still scanned: the watcher's list of changed paths
is only a hint, so an event it missed costs nothing but a later build), byte-identical to a clean
one. The current time is an input, so the watcher also builds when the last build's next scheduled
change (a future post's date, an expiry) has passed, without any file changing.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ripple.errors import RippleError
from ripple.site.builder import Builder, BuildResult
from ripple.site.errors import BuildError
from ripple.site.index import CONFIG_NAMES, DIRS

#: how often (ms) the watcher wakes without events to look at the clock and the stop event; also
#: the wait before the first build
TICK_MS = 200


@dataclass
class Outcome:
    """One build of a watcher: its result, or the error that left the output as it was."""

    #: "start" (the first build), "change" (files changed) or "schedule" (a scheduled change passed)
    reason: str
    result: BuildResult | None = None
    error: RippleError | None = None
    #: the changed paths the watcher saw, relative to SRC, sorted
    changed: list[str] = field(default_factory=list)


def _relevant(src: Path, out: Path, state_dir: Path | None) -> Callable[[Any, str], bool]:
    """The filter of paths a build reads: the source folders and the config file, nothing under
    OUT or the state folder (either may sit inside SRC), no editor or VCS droppings."""
    from watchfiles import DefaultFilter

    default = DefaultFilter()
    skip = tuple(str(p) + os.sep for p in (out, state_dir) if p is not None)

    def keep(change: Any, path: str) -> bool:
        if path.startswith(skip) or not default(change, path):
            return False
        rel = os.path.relpath(path, src)
        top, sep, _ = rel.partition(os.sep)
        return (top in DIRS and bool(sep)) or (not sep and rel in CONFIG_NAMES)

    return keep


def watch(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    clock: Callable[[], datetime] | None = None,
    stop: threading.Event | None = None,
    state_dir: str | os.PathLike[str] | None = None,
    **options: Any,
) -> Iterator[Outcome]:
    """Build ``src`` into ``out`` and yield an :class:`Outcome` for that build and for every later
    one, made when files under ``src`` change or when the last build's ``next_change`` has passed.

    ``clock`` gives each build's ``now`` (default: the system clock in UTC); a clock that stands
    still never reaches a scheduled change. ``stop``, once set, ends the iteration within
    :data:`TICK_MS` of the build under way; so does Ctrl-C while it waits. ``options`` are
    :meth:`Builder.build`'s ``build_drafts``, ``build_future``, ``build_expired`` and ``verify``.
    A build that fails (BuildError, StateError) is yielded with its error and the watcher goes on;
    the output is left as the last good build wrote it.

    Raises ImportError when watchfiles is not installed and BuildError when ``src`` is not a
    folder."""
    from watchfiles import watch as watch_paths

    src_p, out_p = Path(src).resolve(), Path(out).resolve()
    if not src_p.is_dir():
        raise BuildError(f"source folder {src} does not exist")
    state_p = Path(state_dir).resolve() if state_dir else None
    now = clock or (lambda: datetime.now(UTC))
    builder = Builder(src_p, out_p, state_dir=state_p)

    def one(reason: str, changed: list[str] | None) -> Outcome:
        o = Outcome(reason, changed=changed or [])
        try:
            o.result = builder.build(now=now(), changed=changed, **options)
        except RippleError as e:
            o.error = e
        return o

    events_of = watch_paths(
        src_p,
        watch_filter=_relevant(src_p, out_p, state_p),
        stop_event=stop,
        rust_timeout=TICK_MS,
        yield_on_timeout=True,
        raise_interrupt=False,
    )
    try:
        # Watching starts before the first build (the first wait, up to one tick), so that an edit
        # made while it runs is not missed; whatever that wait saw, the first build scans anyway.
        if next(events_of, None) is None:
            return  # stopped before it began
        last = one("start", None)
        yield last
        pending = last.result.next_change if last.result else None
        for events in events_of:
            if events:
                changed = sorted({os.path.relpath(p, src_p).replace(os.sep, "/") for _, p in events})
                last = one("change", changed)
            elif pending is not None and now() >= pending:
                last = one("schedule", None)
            else:
                continue
            if last.result is not None:
                pending = last.result.next_change
            yield last
    finally:
        events_of.close()
        builder.close()
