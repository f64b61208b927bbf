"""README's main job: `ripple demo` runs both example apps on one state folder, shows each at work
and (with --exit) stops cleanly; a second run reuses what the first one made."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

RIPPLE = str(Path(sys.executable).parent / "ripple")


def demo(state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RIPPLE, "--state", str(state), "demo", "--port", "0", "--exit"], capture_output=True,
                          text=True, timeout=600)  # fmt: skip


def test_demo_runs_the_blog_and_the_leaderboard(tmp_path):
    state = tmp_path / "demo-state"
    run = demo(state)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
    assert re.search(r"the blog is served at http://blog-site\.localhost:\d+/", out), out
    live = r"uploaded a post; live at \S+posts/hello-from-ripple-demo/ \d+ ms later \(on the home page: yes\)"
    assert re.search(live, out), out
    ranks = re.findall(r"^\s+(\d+)\. \S+\s+(\d+) points\s+started", out, re.M)
    assert [int(r) for r, _ in ranks] == list(range(1, 11)), out
    scores = [int(s) for _, s in ranks]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0
    assert (state / "apps" / "blog" / "app.py").exists() and (state / "apps" / "leaderboard" / "board.py").exists()

    again = demo(state)  # the apps and the seeded site are reused; a new post and new games
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "created the" not in again.stdout and "on the home page: yes" in again.stdout
