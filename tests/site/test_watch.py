"""``ripple site watch``: a real file watcher over real files, each build checked against a clean one."""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import site_edits as E
from site_helpers import NOW, oracle, synth, tree

from ripple.site.errors import BuildError
from ripple.site.watch import Outcome, watch

pytest.importorskip("watchfiles")

#: seconds to wait for the next build before the test fails (a build here takes well under one)
WAIT = 60


@pytest.fixture(scope="module")
def site_src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth().make(40, tmp_path_factory.mktemp("watch"), ("ripple",))["ripple"]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, t: datetime) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t


class Watching:
    """``watch()`` run in a thread; its outcomes arrive in a queue."""

    def __init__(self, src: Path, out: Path, clock: Clock) -> None:
        self.stop = threading.Event()
        self.outcomes: queue.Queue[Outcome | BaseException] = queue.Queue()
        self.thread = threading.Thread(target=self._run, args=(src, out, clock), daemon=True)
        self.thread.start()

    def _run(self, src: Path, out: Path, clock: Clock) -> None:
        try:
            for o in watch(src, out, clock=clock, stop=self.stop):
                self.outcomes.put(o)
        except BaseException as e:
            self.outcomes.put(e)

    def next(self) -> Outcome:
        o = self.outcomes.get(timeout=WAIT)
        if isinstance(o, BaseException):
            raise o
        return o

    def close(self) -> None:
        self.stop.set()
        self.thread.join(WAIT)
        assert not self.thread.is_alive()


def test_watch_rebuilds_what_changed_and_survives_a_bad_edit(site_src: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(site_src, src)
    out = src / "public"  # inside the watched folder, as in a Hugo site: its writes are not changes
    w = Watching(src, out, Clock(NOW))
    try:
        first = w.next()
        assert first.reason == "start" and first.result is not None and first.result.full
        post = E.posts(src)[7]
        rel = post.relative_to(src).as_posix()

        E.edit_body_tail(post, "watched")
        o = w.next()
        assert (o.reason, o.changed, o.error) == ("change", [rel], None)
        assert o.result is not None and not o.result.full and len(o.result.written) == 1
        oracle(src, out, tmp_path / "scratch")

        # Broken front matter: the error names the file and line, the output stays as it was.
        good = post.read_text()
        before = tree(out)
        post.write_text(good.replace("title:", "title: [unclosed", 1))
        o = w.next()
        assert o.result is None and isinstance(o.error, BuildError) and o.error.file == rel and o.error.line
        assert tree(out) == before

        # Files written under OUT, and files outside the folders a build reads, start no build:
        # the next outcome is the fix below, and it names only the fixed file.
        (out / "stray.html").write_text("not a source")
        (src / "NOTES.txt").write_text("not a source either")
        post.write_text(good)
        o = w.next()
        assert (o.reason, o.changed, o.error) == ("change", [rel], None)
        (out / "stray.html").unlink()
        oracle(src, out, tmp_path / "scratch")

        # A layout edit and a new post in one burst: one or more builds, ending equal to a clean one.
        E.edit_layout(src, "partials/sidebar.html", "watched")
        E.add_post(src, "watched-new", (NOW - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))
        seen: set[str] = set()
        while not {"layouts/partials/sidebar.html", "content/posts/watched-new.md"} <= seen:
            o = w.next()
            assert o.error is None
            seen.update(o.changed)
        oracle(src, out, tmp_path / "scratch")
    finally:
        w.close()


def test_watch_builds_when_a_scheduled_post_comes_due(site_src: Path, tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    shutil.copytree(site_src, src)
    soon = NOW + timedelta(days=2)
    E.add_post(src, "watched-future", soon.strftime("%Y-%m-%dT%H:%M:%SZ"))
    clock = Clock(NOW)
    w = Watching(src, out, clock)
    try:
        first = w.next()
        due = first.result.next_change if first.result else None
        assert due is not None and due <= soon
        assert not list(out.rglob("watched-future*"))
        clock.t = due + timedelta(seconds=1)  # no file changes; only time passes
        o = w.next()
        assert (o.reason, o.changed, o.error) == ("schedule", [], None)
        assert o.result is not None and o.result.written
        oracle(src, out, tmp_path / "scratch", clock.t)
        if due < soon:  # the site's own future posts came first: move on to ours
            clock.t = soon + timedelta(seconds=1)
            assert w.next().reason == "schedule"
            oracle(src, out, tmp_path / "scratch", clock.t)
        assert list(out.rglob("watched-future*"))
    finally:
        w.close()


def test_watch_refuses_a_missing_source_folder(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="does not exist"):
        next(watch(tmp_path / "nope", tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_cli_watch_reports_builds_and_stops_on_interrupt(site_src: Path, tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    shutil.copytree(site_src, src)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ripple.site", "watch", str(src), str(out), "--now", NOW.isoformat()],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()  # type: ignore[union-attr]

    def until(word: str) -> str:
        while True:
            line = lines.get(timeout=WAIT)
            if word in line:
                return line

    try:
        assert "full build" in until("build")
        until("watching")
        post = E.posts(src)[3]
        E.edit_body_tail(post, "cli")
        line = until(post.name)
        assert "1 written" in line, line
        good = post.read_text()
        post.write_text(good.replace("title:", "title: [unclosed", 1))
        line = until("error")
        assert post.name in line and "invalid YAML" in line, line
        proc.send_signal(signal.SIGINT)
        assert proc.wait(WAIT) == 0
    finally:
        proc.kill()
    post.write_text(good)  # the output is still the last good build's
    oracle(src, out, tmp_path / "scratch")


def test_cli_watch_refuses_bad_input_before_building(site_src: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from ripple.site.cli import site as site_cli

    out = tmp_path / "out"
    r = CliRunner().invoke(site_cli, ["watch", str(tmp_path / "nope"), str(out)])
    assert r.exit_code == 1 and "nope" in r.output and "does not exist" in r.output
    r = CliRunner().invoke(site_cli, ["watch", str(site_src), str(out), "--now", "garbage"])
    assert r.exit_code == 2 and "'garbage'" in r.output
    assert not out.exists()
