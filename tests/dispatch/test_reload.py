"""`ripple dev` on save: only the functions whose code changed get fresh sandboxes (their other
warm sandboxes and every other function's stay), and a changed declaration restarts the app."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import ripple
from ripple import reload
from ripple.runtime.loader import load_app

RIPPLE = str(Path(sys.executable).parent / "ripple")

APP = """
from ripple import App
from handlers import a, b

app = App("reloading")
up = app.bucket("reload-bucket")
calls = app.table("reload-calls", hash_key="key:S")
app.on_object(up, events=["s3:ObjectCreated:*"], prefix="a/", timeout=TIMEOUT)(a.alpha)
app.on_object(up, events=["s3:ObjectCreated:*"], prefix="b/")(b.beta)
"""

ALPHA = """
from handlers.stamp import stamp

def alpha(event, context):
    stamp("alpha", event)
"""

BETA = """
def beta(event, context):
    from handlers import helper  # an import inside the handler counts too
    helper.note("beta", event)
"""

STAMP = """
import os
import ripple
VERSION = "v1"

def stamp(name, event):
    key = event["Records"][0]["s3"]["object"]["key"]
    ripple.connect().table("reload-calls").put({"key": key, "by": name, "version": VERSION, "pid": os.getpid()})
"""

HELPER = """
from handlers.stamp import stamp as _stamp
from . import words

def note(name, event):
    _stamp(name + words.SUFFIX, event)
"""


def write_app(root: Path, timeout: int = 3) -> None:
    (root / "handlers").mkdir(exist_ok=True)
    (root / "app.py").write_text(APP.replace("TIMEOUT", str(timeout)))
    (root / "handlers" / "__init__.py").write_text("")
    (root / "handlers" / "a.py").write_text(ALPHA)
    (root / "handlers" / "b.py").write_text(BETA)
    (root / "handlers" / "stamp.py").write_text(STAMP)
    (root / "handlers" / "helper.py").write_text(HELPER)
    (root / "handlers" / "words.py").write_text('SUFFIX = ""\n')
    (root / "handlers" / "unused.py").write_text("X = 1\n")


def test_a_functions_code_is_its_module_and_what_it_imports(tmp_path, monkeypatch):
    write_app(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    app = load_app(str(tmp_path / "app.py"))
    h = tmp_path / "handlers"
    files = {
        name: {p.relative_to(tmp_path).as_posix() for p in reload.code_of(fn)} for name, fn in app.functions.items()
    }
    assert files["alpha"] == {"handlers/__init__.py", "handlers/a.py", "handlers/stamp.py"}
    # beta imports helper inside its body, and helper imports words relatively.
    assert files["beta"] == {
        "handlers/__init__.py",
        "handlers/b.py",
        "handlers/helper.py",
        "handlers/stamp.py",
        "handlers/words.py",
    }
    assert reload.affected(app, app, [h / "words.py"]) == {"beta"}
    assert reload.affected(app, app, [h / "stamp.py"]) == {"alpha", "beta"}
    assert reload.affected(app, app, [h / "unused.py"]) == set()
    for name in [m for m in sys.modules if m in ("app", "handlers") or m.startswith("handlers.")]:
        del sys.modules[name]
    write_app(tmp_path, timeout=5)
    assert reload.affected(app, load_app(str(tmp_path / "app.py")), [tmp_path / "app.py"]) is None  # a setting


def calls(c, key):
    return c.table("reload-calls").get({"key": key})


class Lines:
    """The dev server's output, read on a thread; ``expect`` waits for a line holding ``text``."""

    def __init__(self, stream):
        self.q: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [self.q.put(line) for line in stream], daemon=True).start()

    def expect(self, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            line = self.q.get(timeout=max(0.01, deadline - time.monotonic()))
            if text in line:
                return line


def bump(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text().replace(old, new))
    t = time.time() + 2  # a new mtime even within the filesystem's timestamp granularity
    os.utime(path, (t, t))


def test_ripple_dev_replaces_only_the_sandboxes_whose_code_changed(tmp_path):
    write_app(tmp_path)
    state = tmp_path / "state"
    proc = subprocess.Popen([RIPPLE, "--state", str(state), "dev", "--no-http"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        out = Lines(proc.stdout)
        out.expect("app 'reloading'")
        with ripple.connect(state) as c:
            bucket = c.bucket("reload-bucket")
            bucket.put("a/1", b"x")
            bucket.put("b/1", b"x")
            a1 = c.log.wait_until(lambda: calls(c, "a/1"), 60)
            b1 = c.log.wait_until(lambda: calls(c, "b/1"), 60)
            assert a1["version"] == b1["version"] == "v1"

            # Only beta's code imports words.py: beta gets a fresh sandbox, alpha keeps its own.
            bump(tmp_path / "handlers" / "words.py", 'SUFFIX = ""', 'SUFFIX = "+"')
            assert "beta: code changed; replaced 1 warm sandbox(es)" in out.expect("replaced")
            bucket.put("a/2", b"x")
            bucket.put("b/2", b"x")
            a2 = c.log.wait_until(lambda: calls(c, "a/2"), 60)
            b2 = c.log.wait_until(lambda: calls(c, "b/2"), 60)
            assert (a2["by"], a2["pid"]) == ("alpha", a1["pid"])
            assert (b2["by"], b2["pid"] != b1["pid"]) == ("beta+", True)

            # A file no function imports replaces nothing.
            bump(tmp_path / "handlers" / "unused.py", "X = 1", "X = 2")
            out.expect("unused.py changed; no function's code uses it")
            bucket.put("a/3", b"x")
            assert c.log.wait_until(lambda: calls(c, "a/3"), 60)["pid"] == a1["pid"]

            # A changed setting restarts the app: everything is fresh.
            bump(tmp_path / "app.py", "timeout=3", "timeout=4")
            out.expect("declarations changed; restarting")
            out.expect("app 'reloading'")
            bucket.put("a/4", b"x")
            assert c.log.wait_until(lambda: calls(c, "a/4"), 60)["pid"] != a1["pid"]
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
