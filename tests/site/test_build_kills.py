"""Crash safety of the site build: ``python -m ripple.site build`` SIGKILLed at random moments (during
imports, the scan, rendering, the forked writers, the state's commit), again and again on the same
output folder, sometimes a first build into an empty one. After every kill the state must open, pass
SQLite's integrity check, and the next build, run to the end, must leave the output byte-identical to
a clean build (the oracle). Never half a site that a later build does not repair.

The site is large enough (700 posts, ~1,150 outputs) that a build forks a second renderer, and on
a first build the model snapshot's writer, and that a build writing 1,000 outputs or more hands
them to a spawned writer process (a forked one where that cannot be done). Those must die with the
build: a writer left running would go on writing the killed build's outputs while the next build
runs.

``RIPPLE_SITE_KILLS`` sets the number of kills (default 12); the delays derive from
``RIPPLE_CRASH_SEED`` (printed), where a kill lands is up to the machine's timing.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import site_edits as E
from site_helpers import NOW, oracle, synth

from ripple.site import writer

SEED = int(os.environ.get("RIPPLE_CRASH_SEED", "20261127"))
KILLS = int(os.environ.get("RIPPLE_SITE_KILLS", "12"))
POSTS = 700


def _cli(src: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "ripple.site", "build", str(src), str(out), "--quiet", "--now", NOW.isoformat()]


def _edit(rng: random.Random, src: Path, step: int) -> None:
    posts = E.posts(src)
    kind = rng.randrange(6)
    if kind == 0:
        E.edit_body_tail(rng.choice(posts), f"k{step}")
    elif kind == 1:
        E.retitle(rng.choice(posts), f"Killed title {step}")
    elif kind == 2:
        E.add_post(src, f"kill-{step}", (NOW - timedelta(minutes=step + 1)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    elif kind == 3:
        E.edit_layout(src, "partials/sidebar.html", f"k{step}")
    elif kind == 4:
        E.edit_config_title(src, f"Blog after kill {step}")
    else:
        E.unpublish(rng.choice(posts))


def _running(cmds: list[list[str]]) -> list[int]:
    """Pids of processes running exactly one of ``cmds`` (a killed build's forked children keep its
    command line; its spawned output writer has its own)."""
    want = {"\0".join(cmd).encode() for cmd in cmds}
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                    if f.read().rstrip(b"\0") in want:
                        pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def _gone(cmds: list[list[str]], within_s: float = 30.0) -> list[int]:
    """Wait until no process runs one of ``cmds`` (a killed parent's children get their signal at
    once, but are reaped by init on its own time); returns the pids still there after ``within_s``."""
    deadline = time.monotonic() + within_s
    left = _running(cmds)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = _running(cmds)
    return left


def test_builds_killed_at_random_moments_are_repaired_by_the_next(tmp_path: Path) -> None:
    src = synth().make(POSTS, tmp_path / "site", ("ripple",))["ripple"]
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    rng = random.Random(f"site-kills-{SEED}")
    print(f"RIPPLE_CRASH_SEED={SEED}")
    # How long a first build and an edit's build take here, so the kills spread over all of each.
    t = time.perf_counter()
    subprocess.run(_cli(src, tmp_path / "timing"), check=True, env=env)
    whole = time.perf_counter() - t
    E.edit_body_tail(E.posts(src)[0], "timing")
    t = time.perf_counter()
    subprocess.run(_cli(src, tmp_path / "timing"), check=True, env=env)
    small = time.perf_counter() - t
    (tmp_path / "clean").mkdir()
    killed = 0
    for step in range(KILLS):
        if step % 4 == 0:
            shutil.rmtree(out, ignore_errors=True)  # a first build into an empty folder
        else:
            _edit(rng, src, step)
        cmd = _cli(src, out)
        # stderr to a file, not a pipe: reading a pipe would wait for any child still holding it.
        with open(tmp_path / "stderr", "wb") as err:
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        # The kill's moment: the randomness under test.
        time.sleep(rng.uniform(0.0, (whole if step % 4 == 0 else max(small, 0.3)) * 1.1))
        if proc.poll() is None:
            proc.kill()
            killed += 1
        proc.wait()
        dead = time.time()
        assert proc.returncode in (0, -9), (tmp_path / "stderr").read_text()
        if sys.platform.startswith("linux") and proc.returncode == -9:
            # Its children get SIGKILL as it dies: none may go on writing outputs, the model
            # snapshot or its results file (a write in flight at the kill may land just after).
            spawned = [sys.executable, "-I", "-S", os.path.abspath(writer.__file__), str(proc.pid)]
            assert not _gone([cmd, spawned]), f"step {step}: the killed build's children are still running"
            late = [
                p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file() and p.stat().st_mtime > dead + 0.05
            ]
            assert not late, f"step {step}: written after the build was killed: {late[:5]} ({len(late)} files)"
        db = out / ".ripple" / "site.db"
        if db.exists():
            con = sqlite3.connect(db)
            try:
                assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            finally:
                con.close()
        subprocess.run(_cli(src, out), check=True, env=env)
        oracle(src, out, tmp_path / "clean")
        con = sqlite3.connect(db)
        try:
            # A first build writes its state without the write-ahead log; later ones use it again.
            assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        finally:
            con.close()
        shutil.rmtree(tmp_path / "clean")
        (tmp_path / "clean").mkdir()
    assert killed >= KILLS // 2, f"only {killed} of {KILLS} builds were still running when killed"
