"""`ripple serve` as a real process: a write from another process runs the function at once, and
SIGTERM stops it cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import ripple

RIPPLE = str(Path(sys.executable).parent / "ripple")
APP = """
from ripple import App
app = App("served")
up = app.bucket("up-bucket")
log = app.table("calls", hash_key="key:S", stream="KEYS_ONLY")

@app.on_object(up, events=["s3:ObjectCreated:*"])
def hello(event, context):
    import ripple
    ripple.connect().table("calls").put({"key": event["Records"][0]["s3"]["object"]["key"]})
"""


def test_serve_runs_functions_for_writes_from_other_processes(tmp_path):
    (tmp_path / "app.py").write_text(APP)
    state = tmp_path / "state"
    proc = subprocess.Popen([RIPPLE, "--state", str(state), "serve", "--no-http"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        first = proc.stdout.readline()
        assert "app 'served'" in first and "1 trigger(s)" in first
        with ripple.connect(state) as c:
            c.bucket("up-bucket").put("hello.txt", b"hi")
            c.log.wait_until(lambda: c.table("calls").get({"key": "hello.txt"}), 30)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        # A line per invocation: time, function, trigger, records, duration, status.
        line = r"\d\d:\d\d:\d\d\.\d{3}  hello\s+hello:object:up-bucket\s+1 record\(s\)\s+[\d.]+ ms  ok$"
        assert re.search(line, out, re.M), out
    finally:
        if proc.poll() is None:
            proc.kill()


def test_serve_without_an_app_says_so(tmp_path):
    res = subprocess.run([RIPPLE, "--state", str(tmp_path / "s"), "serve", "--no-http"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert res.returncode == 1 and res.stderr.startswith("error: app file not found")


def test_writes_made_right_after_start_are_seen(tmp_path, monkeypatch):
    """The platform pins its triggers' positions while it starts, not at its first step: a write
    made the moment it is up is delivered."""
    from ripple.platform import Platform
    from ripple.runtime.loader import load_app

    (tmp_path / "app.py").write_text(APP)
    monkeypatch.chdir(tmp_path)
    with Platform(load_app("app.py"), state=tmp_path / "state", spare=False) as p:
        p.client.bucket("up-bucket").put("early.txt", b"x")
        calls = p.client.table("calls")
        deadline = time.monotonic() + 60
        p.run(until=lambda: calls.get({"key": "early.txt"}) is not None or time.monotonic() > deadline)
        assert calls.get({"key": "early.txt"}) is not None


def test_a_second_platform_for_one_app_and_state_is_refused(tmp_path, monkeypatch):
    """Two platforms running one app on one state folder would deliver every event twice: the
    second is refused by name, changing nothing; another app may share the folder; the lock goes
    with the platform."""
    import pytest

    from ripple.app import App
    from ripple.errors import StateBusy
    from ripple.platform import Platform
    from ripple.runtime.loader import load_app

    (tmp_path / "app.py").write_text(APP)
    monkeypatch.chdir(tmp_path)
    state = tmp_path / "state"
    app = load_app("app.py")
    with Platform(app, state=state, spare=False):
        with pytest.raises(StateBusy, match=rf"pid {os.getpid()}\) already runs app 'served'"):
            Platform(app, state=state, spare=False)
        other = App("other-app", root=tmp_path)
        with Platform(other, state=state, spare=False):
            pass
    with Platform(app, state=state, spare=False) as again:
        again.client.bucket("up-bucket").put("after.txt", b"x")
        assert again.dispatcher.drain() >= 1
        assert again.client.table("calls").get({"key": "after.txt"}) is not None


def test_a_platform_that_fails_to_start_releases_its_lock(tmp_path, monkeypatch):
    import pytest

    from ripple.errors import NotFound
    from ripple.platform import Platform
    from ripple.runtime.loader import load_app

    (tmp_path / "app.py").write_text(APP)
    monkeypatch.chdir(tmp_path)
    app = load_app("app.py")
    state = tmp_path / "state"

    def missing_table(self: object) -> None:
        raise NotFound("no such table")  # as a trigger on a table that is not there

    monkeypatch.setattr("ripple.dispatch.dispatcher.Dispatcher.start", missing_table)
    with pytest.raises(NotFound):
        Platform(app, state=state, spare=False)
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    with Platform(app, state=state, spare=False):
        pass
