"""`ripple demo`: the two example apps on one state folder, running and served.

The blog (``ripple init --template blog``) and the leaderboard (``--template leaderboard``) are
created beside the state folder's data (``STATE/apps/``) unless they exist, each is run by its own
``ripple serve`` process (as a user would run them, one per app folder), and this process serves the
website buckets over HTTP. Then the demo does what a user would: uploads a post and times how long
it takes to be live, writes a burst of games and prints the board the roll-up keeps. It keeps
serving until Ctrl-C, or stops at once with ``--exit``.
"""

from __future__ import annotations

import importlib.util
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ripple.client import Client
from ripple.errors import AppFailed

RIPPLE = [sys.executable, "-c", "from ripple.cli import main; main()"]
APPS = ("blog", "leaderboard")
#: How long the demo waits for an app to do its part before it says so and stops.
TIMEOUT_S = 120.0


def _apps(state: Path, echo: Callable[[str], Any]) -> dict[str, Path]:
    from ripple.templates import render

    dirs = {}
    for name in APPS:
        d = state / "apps" / name
        if not (d / "app.py").exists():
            render.render(name, d, name)
            echo(f"demo: created the {name} app in {d}")
        dirs[name] = d
    return dirs


def _pipe(name: str, stream: Any, echo: Callable[[str], Any], ready: threading.Event) -> None:
    for line in stream:
        if line.startswith("ripple: app "):  # printed once its triggers are listening
            ready.set()
        echo(f"[{name}] {line.rstrip()}")
    ready.set()  # exited: the caller notices through poll()


def _start(name: str, app_dir: Path, state: Path, echo: Callable[[str], Any]) -> subprocess.Popen[str]:
    """Start ``ripple serve`` for one app; returns once its triggers listen (a write made before that
    would be missed, as S3 misses events from before a notification is configured)."""
    env = {**os.environ, "RIPPLE_STATE": str(state)}
    proc = subprocess.Popen([*RIPPLE, "serve", "--no-http"], cwd=app_dir, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip
    ready = threading.Event()
    threading.Thread(target=_pipe, args=(name, proc.stdout, echo, ready), daemon=True).start()
    if not ready.wait(TIMEOUT_S) or proc.poll() is not None:
        raise AppFailed(f"the {name} app did not start (exit status {proc.poll()})")
    return proc


def _wait(
    client: Client, cond: Callable[[], bool], what: str, procs: list[subprocess.Popen[str]], every: float = 1.0
) -> None:
    """Block on the change log (woken by each commit, and every ``every`` seconds) until ``cond()``;
    fail if an app died."""

    def done() -> bool:
        for p in procs:
            if p.poll() is not None:
                raise AppFailed(f"an app process exited ({p.returncode}) while waiting for {what}")
        return cond()

    try:
        client.log.wait_until(done, TIMEOUT_S, every=every)
    except TimeoutError:
        raise AppFailed(f"timed out after {TIMEOUT_S:.0f} s waiting for {what}") from None


def _get(url: str, host: str) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Host": host})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""


def _blog(client: Client, server: Any, procs: list[subprocess.Popen[str]], echo: Callable[[str], Any]) -> None:
    site = client.bucket("blog-site")
    _wait(client, lambda: _exists(site, "index.html"), "the blog's first build", procs)
    echo(f"demo: the blog is served at {server.url_for('blog-site')}")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    post = (
        f'---\ntitle: "Hello from ripple demo"\ndate: {stamp}\ntags: [demo]\n---\n'
        f"Uploaded to the source bucket at {stamp}; the bucket's events ran the build function, which "
        "rebuilt only the pages this post touches.\n"
    )
    host = f"blog-site.localhost:{server.port}"
    base = f"http://127.0.0.1:{server.port}"
    client.bucket("blog-src").put(
        "content/posts/hello-from-ripple-demo.md", post.encode(), content_type="text/markdown"
    )
    t0 = time.monotonic()
    _wait(client, lambda: site.exists("posts/hello-from-ripple-demo/index.html"), "the demo post's page", procs)
    while stamp.encode() not in _get(base + "/posts/hello-from-ripple-demo/", host)[1]:
        if time.monotonic() - t0 > TIMEOUT_S:
            raise AppFailed("the demo post's page was never served")
        time.sleep(0.005)
    took = time.monotonic() - t0
    on_home = b"Hello from ripple demo" in _get(base + "/", host)[1]
    echo(f"demo: uploaded a post; live at {server.url_for('blog-site')}posts/hello-from-ripple-demo/ "
         f"{took * 1000:.0f} ms later (on the home page: {'yes' if on_home else 'no'})")  # fmt: skip


def _exists(bucket: Any, key: str) -> bool:
    from ripple.errors import NotFound

    try:
        return bucket.exists(key)
    except NotFound:  # the app's process has not created the bucket yet
        return False


def _board_module(app_dir: Path) -> Any:
    spec = importlib.util.spec_from_file_location("ripple_demo_board", app_dir / "board.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _leaderboard(
    client: Client, app_dir: Path, procs: list[subprocess.Popen[str]], echo: Callable[[str], Any], games: int = 2000
) -> None:
    board = _board_module(app_dir)
    table = client.table("games")
    rng = random.Random()
    now = int(time.time())
    handles = [f"{a}{b}" for a in ("ace", "bolt", "nova", "pix", "rook", "zed") for b in ("", "_x", "99", "_pro")]
    batch = []
    for i in range(games):
        batch.append({
            "event_key": f"uid-{rng.randrange(500):04d}",
            "start_timestamp": now - rng.randrange(3 * 3600),
            "length_seconds": rng.randrange(60, 1800),
            "completed": rng.random() < 0.9,
            "score": int(rng.paretovariate(1.5) * 100),
            "handle": rng.choice(handles),
            "achievements": [{"bonus_score": 50, "id": 7, "shortname": "flawless"}] if rng.random() < 0.1 else [],
        })  # fmt: skip
        if len(batch) == 25 or i == games - 1:
            table.batch_write(puts=_unique(batch))
            batch = []
    t0 = time.monotonic()
    # Caught up is a checkpoint commit, which appends no change record to wake the wait: look
    # every 20 ms, or the time printed is up to a second late (it read ~1.1 s for a roll-up whose
    # last batch was done ~90 ms after the last write).
    _wait(client, _rollup_caught_up(client, app_dir), "the leaderboard roll-up", procs, every=0.02)
    took = time.monotonic() - t0
    b = board.read_board(client, "recent")
    echo(f"demo: wrote {games} games in batches of 25; the roll-up caught up {took * 1000:.0f} ms after the last "
         f"write. The recent board, read with one key lookup:")  # fmt: skip
    for rank, g in enumerate(b["games"], 1):
        started = time.strftime("%H:%M", time.gmtime(g["start_timestamp"]))
        echo(f"  {rank:>2}. {g['handle']:<10} {g['points']:>6} points  started {started} UTC")


def _unique(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # One batch may not name a key twice (DynamoDB's rule): keep the last game of each key.
    return list({(g["event_key"], g["start_timestamp"]): g for g in batch}.values())


def _rollup_caught_up(client: Client, app_dir: Path) -> Callable[[], bool]:
    """True once the roll-up's trigger has no change records left behind its checkpoints."""
    from ripple.dispatch.dispatcher import Dispatcher
    from ripple.runtime.loader import load_app

    triggers = [t for t in load_app(str(app_dir / "app.py")).triggers if t.function == "rollup"]
    lagging = Dispatcher(client, triggers, invoke=None)  # type: ignore[arg-type] - reads lag only

    def done() -> bool:
        return all(n == 0 for n in lagging.lag().values())

    return done


def run(client: Client, echo: Callable[[str], Any] = print, *, port: int = 8642, exit_after: bool = False) -> None:
    """Run the demo on ``client``'s state folder (see the module docstring). Raises AppFailed when
    an app fails to do its part in time, ValidationError when the HTTP port is taken."""
    from ripple.errors import ValidationError
    from ripple.http.server import serve_in_thread

    state = Path(client.folder)
    dirs = _apps(state, echo)
    try:
        server = serve_in_thread(state, port=port)
    except OSError as e:
        raise ValidationError(f"cannot serve HTTP on port {port} ({e}); pass --port N or --port 0") from None
    procs: list[subprocess.Popen[str]] = []
    try:
        for name, d in dirs.items():
            procs.append(_start(name, d, state, echo))
        _blog(client, server, procs, echo)
        _leaderboard(client, dirs["leaderboard"], procs, echo)
        if exit_after:
            return
        echo(f"demo: serving. Blog: {server.url_for('blog-site')} -- add a post with "
             f"`ripple --state {state} bucket cp my-post.md s3://blog-src/content/posts/`; board: "
             f"`python {dirs['leaderboard'] / 'board.py'} --state {state}`. Ctrl-C stops.")  # fmt: skip
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        while not stop.wait(0.5):
            if any(p.poll() is not None for p in procs):
                raise AppFailed("an app process exited; see its output above")
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
        server.close()
