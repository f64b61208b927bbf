"""The ``site`` command group: ``build SRC OUT``, ``watch SRC OUT`` and ``new SRC``."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from typing import Any

import click

from ripple.errors import RippleError

#: Set by ``python -m ripple.site``, which leaves with os._exit once the command has returned.
FAST_EXIT = False


def _leaving() -> bool:
    """Whether this process ends with the command: ``python -m ripple.site``, or the ``ripple``
    console command (``ripple.cli.STANDALONE``; looked up, not imported, as ``python -m
    ripple.site`` never loads it)."""
    return FAST_EXIT or bool(getattr(sys.modules.get("ripple.cli"), "STANDALONE", False))


@click.group(name="site")
def site() -> None:
    """Build static sites from Hugo-style content, incrementally."""


def _parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 time: {value!r}") from None


@site.command()
@click.argument("src", type=click.Path(file_okay=False))
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success (for scripts).")
@click.option("--drafts", "-D", is_flag=True, default=None, help="Include drafts.")
@click.option("--future", "-F", is_flag=True, default=None, help="Include content dated in the future.")
@click.option("--expired", "-E", is_flag=True, default=None, help="Include expired content.")
@click.option("--verify", is_flag=True, help="Re-hash every source file instead of trusting size and mtime.")
@click.option("--now", "now", default=None, help="Build as of this ISO 8601 time (default: now).")
@click.option("--changed", multiple=True, help="A changed source path (a hint; may repeat).")
def build(
    src: str,
    out: str,
    quiet: bool,
    drafts: bool | None,
    future: bool | None,
    expired: bool | None,
    verify: bool,
    now: str | None,
    changed: tuple[str, ...],
) -> None:
    """Build the site in SRC into OUT (only what changed since the last build)."""
    from ripple.site.builder import BULK_OUTPUTS, Builder

    leaving = _leaving()
    builder = Builder(src, out, once=True, leaving=leaving)
    run = builder.build

    when = _parse_now(now)
    options = dict(
        now=when,
        changed=changed or None,
        verify=verify,
        build_drafts=drafts,
        build_future=future,
        build_expired=expired,
    )
    try:
        if quiet:
            res = run(**options)
        else:
            bar: Any = None
            task: Any = None

            def tick(done: int, total: int) -> None:
                # The bar (and rich) only once there is something to render: a build that finds
                # nothing changed never calls this.
                nonlocal bar, task
                if bar is None:
                    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

                    # No refresh thread: a build renders in two processes only when it is the sole thread.
                    bar = Progress(
                        TextColumn("rendering"),
                        BarColumn(),
                        MofNCompleteColumn(),
                        TimeElapsedColumn(),
                        transient=True,
                        auto_refresh=False,
                    )
                    bar.start()
                    task = bar.add_task("render", total=None)
                bar.update(task, completed=done, total=total or None)  # 0: not known yet
                bar.refresh()

            try:
                res = run(progress=tick, **options)
            finally:
                if bar is not None:
                    bar.stop()
        if leaving and (res.full or res.rendered > BULK_OUTPUTS):
            # The process leaves without closing the state, so SQLite does not fold the write-ahead
            # log back: after a bulk build it holds ~100 MB at 10k pages, and the next build, most
            # often a small edit, would pay ~0.1 s for it on its first write. Paid here instead.
            builder.checkpoint()
    except RippleError as e:
        raise click.ClickException(str(e)) from None
    finally:
        if not leaving:  # else the process ends right after: freeing a 10k-page model costs ~0.1 s
            builder.close()
    if not quiet:
        click.echo(_summary(res))
        if res.next_change:
            click.echo(f"next scheduled change: {res.next_change.isoformat()} (rebuild then)")
    if leaving:
        # Everything is committed and printed: leave without tearing the page model down object
        # by object. The state is SQLite in WAL mode, durable at commit.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _summary(res: Any) -> str:
    kind = "full" if res.full else "incremental"
    return (
        f"{kind} build: {res.outputs} outputs, {len(res.written)} written, {len(res.deleted)} deleted, "
        f"{res.rendered} rendered in {res.seconds:.2f}s"
    )


@site.command()
@click.argument("src", type=click.Path(file_okay=False))
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--drafts", "-D", is_flag=True, default=None, help="Include drafts.")
@click.option("--future", "-F", is_flag=True, default=None, help="Include content dated in the future.")
@click.option("--expired", "-E", is_flag=True, default=None, help="Include expired content.")
@click.option("--now", "now", default=None, help="Build as of this ISO 8601 time, always (default: the clock).")
def watch(src: str, out: str, drafts: bool | None, future: bool | None, expired: bool | None, now: str | None) -> None:
    """Build the site in SRC into OUT, then again whenever a file under SRC changes, until Ctrl-C.

    One process keeps the site in memory, so an edit costs a fraction of a `build`. A failed build
    prints its error and leaves OUT as the last good build wrote it. Scheduled content (a future
    date, an expiry) appears or goes when its time passes, without an edit."""
    when = _parse_now(now)
    try:
        from ripple.site.watch import watch as watch_site
    except ImportError as e:  # watchfiles is part of the ``site`` extra
        raise click.ClickException(f"ripple site watch needs watchfiles ({e}): pip install 'ripple[site]'") from None
    clock = (lambda: when) if when is not None else None
    options = {"build_drafts": drafts, "build_future": future, "build_expired": expired}
    try:
        for o in watch_site(src, out, clock=clock, **options):
            where = ", ".join(o.changed[:3]) + (f" and {len(o.changed) - 3} more" if len(o.changed) > 3 else "")
            head = {"start": "", "change": f"{where}: ", "schedule": "scheduled change: "}[o.reason]
            if o.error is not None:
                click.echo(f"{head}error: {o.error} (output left as it was)", err=True)
            else:
                click.echo(head + _summary(o.result))
            if o.reason == "start":
                click.echo(f"watching {src} for changes (Ctrl-C to stop)")
    except KeyboardInterrupt:  # during a build: the state is committed whole or not at all
        pass
    except RippleError as e:
        raise click.ClickException(str(e)) from None


@site.command()
@click.argument("src", type=click.Path(file_okay=False))
def new(src: str) -> None:
    """Create a starter site in SRC."""
    from ripple.site.scaffold import new_site

    try:
        made = new_site(src)
    except RippleError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"created {len(made)} files in {src}; build it with: ripple site build {src} {src}/public")
