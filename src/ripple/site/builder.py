"""Builds of a site: :func:`build` for one, :class:`Builder` for a process that builds again and again.

A build first surveys its sources (:func:`survey`: the file index, the config and everything else
it depends on). When nothing changed it ends there, having imported neither the page model nor the
template engine; otherwise the work is done by :mod:`ripple.site.pipeline`.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ripple.site.errors import BuildError
from ripple.site.index import (
    FileInfo,
    env_digest,
    find_config,
    internal_digests,
    scan,
    scan_changed,
)
from ripple.site.state import State
from ripple.site.tracking import TRACKER, digest, digest_bytes

if TYPE_CHECKING:
    from ripple.site.pipeline import _Model

STATE_DIR = ".ripple"
SNAPSHOT_FILE = "model.pickle"
STATE_FILE = "site.db"
#: outputs rendered above which a build counts as bulk: it writes the model snapshot, sweeps unused
#: keys, and (from the CLI) leaves the state checkpointed
BULK_OUTPUTS = 200


@dataclass
class BuildResult:
    """What a build did. ``written``/``deleted`` are output paths relative to OUT, sorted."""

    outputs: int
    written: list[str]
    deleted: list[str]
    rendered: int
    markdown_rendered: int
    full: bool
    seconds: float
    next_change: datetime | None = None
    timings: dict[str, float] = field(default_factory=dict)
    #: how the page model was had: "unchanged" (no-op shortcut), "reused" (the previous build's,
    #: from memory or the snapshot file, with edited pages swapped in) or "built"
    model: str = ""
    #: partials taken from the state instead of rendered (see fragments.py)
    fragments_reused: int = 0
    #: outputs (among ``rendered``) made from their old file with new partial texts spliced into
    #: its slots instead of rendered (see Templates.slot)
    spliced: int = 0


def build(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    now: datetime | None = None,
    changed: Iterable[str] | None = None,
    state_dir: str | os.PathLike[str] | None = None,
    verify: bool = False,
    build_drafts: bool | None = None,
    build_future: bool | None = None,
    build_expired: bool | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BuildResult:
    """Build the site in ``src`` into ``out``, incrementally when ``out`` has state from a previous build.

    ``now`` is the build time (publish and expiry dates are compared with it; default: the clock).
    ``changed`` is an optional hint of changed source paths (relative to ``src``); files not in it
    are still checked by size and mtime, and ``verify=True`` re-hashes every file.

    Raises :class:`ripple.site.errors.BuildError` (with file and line) for bad input -- the output
    folder and state are then left untouched -- and :class:`ripple.errors.StateError` when the
    state file cannot be used.
    """
    with Builder(src, out, state_dir=state_dir, once=True) as b:
        return b.build(
            now=now,
            changed=changed,
            verify=verify,
            build_drafts=build_drafts,
            build_future=build_future,
            build_expired=build_expired,
            progress=progress,
        )


class Builder:
    """Builds of one site that keep the state open in between, for a process that builds again and
    again (a warm sandbox, a watcher): the file index, the parses and the outputs table stay in
    memory instead of being reloaded for every build. Results are byte-identical to :func:`build`.

    The in-memory copies are dropped when another process writes the state, and the state is
    reopened when its file is replaced, so a Builder never builds from stale state. One Builder
    must not be used from two threads at once.
    """

    def __init__(
        self,
        src: str | os.PathLike[str],
        out: str | os.PathLike[str],
        *,
        state_dir: str | os.PathLike[str] | None = None,
        snapshots: bool = True,
        once: bool = False,
        leaving: bool = False,
    ) -> None:
        """``snapshots=False``: never write the page model snapshot (``model.pickle``), for a caller
        that keeps only ``site.db`` and so could never load it. ``once=True``: the caller builds
        once and leaves (the command line), so nothing is kept in memory for a next build; another
        build still works, reading the state back. ``leaving=True``: the process ends with
        ``os._exit`` right after, so nothing a build made is freed while this Builder lives (a
        10k-page build's objects took ~0.15 s to tear down, one by one, before the process could
        leave)."""
        self.snapshots = snapshots
        self.once = once
        self.leaving = leaving
        #: what this Builder's builds made, never freed while it lives (leaving=True)
        self._left: list[Any] | None = [] if leaving else None
        self.src = Path(src)
        self.out = Path(out)
        self.state_path = Path(state_dir) / STATE_FILE if state_dir else self.out / STATE_DIR / STATE_FILE
        self._state: State | None = None
        self._model: _Model | None = None

    def build(
        self,
        *,
        now: datetime | None = None,
        changed: Iterable[str] | None = None,
        changed_only: bool = False,
        verify: bool = False,
        build_drafts: bool | None = None,
        build_future: bool | None = None,
        build_expired: bool | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> BuildResult:
        """One build; arguments as :func:`build`. With ``changed_only=True`` the caller vouches that
        ``changed`` names every source path added, modified or deleted since this Builder's last
        build, and no other file is looked at (the first build of a Builder still scans).

        Raises :class:`BuildError` for bad input (output and state untouched) and StateError."""
        t0 = time.perf_counter()
        if not self.src.is_dir():
            raise BuildError(f"source folder {self.src} does not exist")
        if changed_only and changed is None:
            raise BuildError("changed_only=True needs the list of changed paths")
        now = now or datetime.now(UTC)
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        trusted = changed_only and self._state is not None
        if self._state is not None and not self._state.revalidate():
            self.close()
            trusted = False
        if self._state is None:
            self._state = State(self.state_path)
        # A warm Builder keeps millions of objects alive; the collector would walk them all on
        # every full collection the build's allocations trigger. Cycles wait until the build ends.
        collecting = gc.isenabled()
        gc.disable()
        try:
            st = self._state
            TRACKER.memo.clear()
            hint = {str(c).replace(os.sep, "/").lstrip("/") for c in changed} if changed is not None else None
            overrides = {"build_drafts": build_drafts, "build_future": build_future, "build_expired": build_expired}
            # The last model, checked file by file against this build's scan (_reuse): valid
            # with or without a hint of what changed.
            previous_model = self._model
            self._model = None  # a failed build leaves no model to reuse
            s = survey(self.src, st, hint, trusted=trusted, verify=verify, overrides=overrides)
            timings = {"scan": round(time.perf_counter() - t0, 4)}
            if unchanged(st, s, now):
                # Every output would come out as it is. Only new mtimes (E0) are recorded.
                st.touch_files(
                    {
                        p: (fi.size, fi.mtime, fi.hash)
                        for p, fi in s.files.items()
                        if s.prev_files[p][:2] != (fi.size, fi.mtime)
                    }
                )
                nc = st.get_meta("next_change")
                self._model = previous_model
                return BuildResult(
                    outputs=st.output_count(),
                    written=[],
                    deleted=[],
                    rendered=0,
                    markdown_rendered=0,
                    full=False,
                    seconds=time.perf_counter() - t0,
                    next_change=datetime.fromisoformat(nc.decode()) if nc else None,
                    timings=timings,
                    model="unchanged",
                )
            from ripple.site.pipeline import _Build  # the page model, templates, markdown: only now

            b = _Build(self.src, self.out, st, now, progress, s)
            b.timings = timings
            b.snapshots = self.snapshots
            b.once = self.once
            b.left = self._left
            if self._left is not None:
                self._left.append(b)
            b.previous_model = previous_model
            try:
                result = b.run(t0)
            finally:
                if b.spool is not None:
                    b.spool.close()
                if b.dumper:
                    from ripple.site import parallel

                    parallel.wait(b.dumper)
            self._model = b.model
            return result
        finally:
            TRACKER.stack.clear()
            if not self.leaving:
                TRACKER.memo.clear()
            if collecting and not self.leaving:  # a leaving process never collects what it made
                gc.enable()

    def checkpoint(self) -> None:
        """Fold the state's write-ahead log into its file, so that the state file alone (copied,
        uploaded) holds everything this Builder committed. Raises StateError."""
        if self._state is not None:
            self._state.checkpoint()

    def close(self) -> None:
        self._model = None
        if self._state is not None:
            self._state.close()
            self._state = None

    def __enter__(self) -> Builder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Survey:
    """What a build finds before it models anything (see :func:`survey`)."""

    #: whether this must be a full build: no usable state, other rendering libraries, or an
    #: interrupted build before
    full: bool
    #: :func:`index.env_digest`
    env: bytes
    #: the file index of the last build (empty for a full build) and of this one
    prev_files: dict[str, tuple[int, int, bytes]]
    files: dict[str, FileInfo]
    #: the build options that override the config (drafts, future, expired), those set only
    overrides: dict[str, bool]
    #: built-in template name -> digest
    internal: dict[str, bytes]
    #: one digest of the config file, the overrides and the built-in templates
    inputs: bytes


def survey(
    src: Path,
    st: State,
    hint: set[str] | None,
    *,
    trusted: bool,
    verify: bool,
    overrides: dict[str, bool | None],
) -> Survey:
    """Scan ``src`` against the state ``st`` (see :func:`index.scan`; with ``trusted``, ``hint``
    names every changed path and nothing else is looked at). Raises OSError for an unreadable
    source file."""
    env = env_digest()
    full = st.fresh or st.get_meta("env") != env or st.get_meta("dirty") == b"1"
    prev_files = {} if full else st.files()
    if trusted and not full and not verify and hint is not None:
        files = scan_changed(src, prev_files, hint)
    else:
        files = scan(src, prev_files, hint, verify, defer_content=full)
    ov = {k: v for k, v in overrides.items() if v is not None}
    cfg_file = find_config(src)
    config_digest = digest_bytes(cfg_file.read_bytes() if cfg_file else b"")
    internal = internal_digests()
    inputs = digest(
        [
            cfg_file.name if cfg_file else "",
            config_digest.hex(),
            sorted(ov.items()),
            sorted((n, d.hex()) for n, d in internal.items()),
        ]
    )
    return Survey(full, env, prev_files, files, ov, internal, inputs)


def unchanged(st: State, s: Survey, now: datetime) -> bool:
    """Whether a build now would reproduce the last one exactly: the same source files with the
    same content, the same config, options and built-in templates, and no scheduled publish or
    expiry between the time the last model was built for and ``now``."""
    if s.full or len(s.files) != len(s.prev_files) or st.get_meta("inputs") != s.inputs:
        return False
    prev = s.prev_files
    for p, fi in s.files.items():
        old = prev.get(p)
        if old is None or old[2] != fi.hash:
            return False
    was = st.get_meta("model_now")
    if not was or now < datetime.fromisoformat(was.decode()):
        return False
    nc = st.get_meta("next_change")
    return not nc or now < datetime.fromisoformat(nc.decode())
