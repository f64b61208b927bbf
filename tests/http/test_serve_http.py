"""`ripple serve` with its HTTP server: functions keep running while the server reads the same
state, and what they write to a website bucket is served at once (a real process, real HTTP)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import ripple

RIPPLE = str(Path(sys.executable).parent / "ripple")
APP = """
from ripple import App
app = App("copier")
src = app.bucket("cp-src")
site = app.bucket("cp-site", website=True)

@app.on_object(src)
def publish(event, context):
    import ripple
    key = event["Records"][0]["s3"]["object"]["key"]
    c = ripple.connect()
    c.bucket("cp-site").put(key, c.bucket("cp-src").read(key), content_type="text/html")
"""


def get(port: int, host: str, path: str) -> tuple[int, bytes]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_functions_run_and_their_output_is_served_while_the_server_reads(tmp_path):
    (tmp_path / "app.py").write_text(APP)
    state = tmp_path / "state"
    proc = subprocess.Popen([RIPPLE, "--state", str(state), "serve", "--port", "0"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert "app 'copier'" in proc.stdout.readline()
        url_line = proc.stdout.readline()
        m = re.search(r"website bucket 'cp-site' at http://cp-site\.localhost:(\d+)/", url_line)
        assert m, url_line
        port = int(m.group(1))
        assert get(port, "cp-site.localhost", "/")[0] == 404  # served, and empty so far
        with ripple.connect(state) as c:
            for i in range(5):
                # The server has read the state (its own connection in the platform's process)
                # before each write: the function must still run, and its write be served.
                c.bucket("cp-src").put(f"p{i}.html", f"<p>page {i}</p>".encode())
                c.log.wait_until(lambda i=i: c.bucket("cp-site").exists(f"p{i}.html"), 60)
                assert get(port, "cp-site.localhost", f"/p{i}.html") == (200, f"<p>page {i}</p>".encode())
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0 and "Traceback" not in err, err
    finally:
        if proc.poll() is None:
            proc.kill()
