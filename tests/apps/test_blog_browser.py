"""The path a user walks (issue 6 §3), in a real browser: `ripple init --template blog`, `ripple dev`,
upload a post with `ripple bucket cp`, see it on the home page and its own page in headless
Chromium, delete it, see the 404 page."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import ripple

RIPPLE = str(Path(sys.executable).parent / "ripple")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

if CHROMIUM is None:
    if os.environ.get("RIPPLE_REQUIRE_BROWSER"):  # CI installs Chromium: there a skip would hide a failure
        raise RuntimeError("RIPPLE_REQUIRE_BROWSER is set but no chromium is installed")
    pytest.skip("chromium is not installed (apt-get install -y chromium)", allow_module_level=True)

POST = """---
title: "Hello from the browser test"
date: 2026-11-20T09:00:00Z
tags: [browser]
---
This post was uploaded with ripple bucket cp and rendered by the blog app.
"""


def browser_dom(url: str) -> str:
    """The page's DOM after Chromium loaded it (scripts run, redirects followed)."""
    with tempfile.TemporaryDirectory(prefix="ripple-chromium-") as profile:
        run = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", f"--user-data-dir={profile}", "--dump-dom", url],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


def wait_until(client: ripple.Client, cond, what: str, timeout: float = 120.0) -> None:
    """Block on the change log (woken by each commit) until ``cond()`` holds."""
    try:
        client.log.wait_until(cond, timeout)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


def test_upload_a_post_see_it_in_the_browser_delete_it_see_404(tmp_path):
    state = tmp_path / "state"
    env = {**os.environ, "RIPPLE_STATE": str(state)}
    made = subprocess.run([RIPPLE, "init", "myblog", "--template", "blog"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert made.returncode == 0, made.stderr
    app_dir = tmp_path / "myblog"
    dev = subprocess.Popen([RIPPLE, "dev", "--port", "0"], cwd=app_dir, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        site_url = None
        for _ in range(5):
            line = dev.stdout.readline()
            m = re.search(r"website bucket 'myblog-site' at (http://\S+)", line)
            if m:
                site_url = m.group(1)
                break
        assert site_url and site_url.startswith("http://myblog-site.localhost:"), "ripple dev printed no site URL"

        home = browser_dom(site_url)
        assert "Two engines, one site" in home and "Hello from the browser test" not in home

        post_file = tmp_path / "hello-browser.md"
        post_file.write_text(POST)
        cp = subprocess.run([RIPPLE, "bucket", "cp", str(post_file), "s3://myblog-src/content/posts/"],
                            env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
        assert cp.returncode == 0, cp.stderr
        with ripple.connect(state) as c:
            site = c.bucket("myblog-site")
            wait_until(c, lambda: site.exists("posts/hello-browser/index.html"), "the post's page")
            home = browser_dom(site_url)
            assert "Hello from the browser test" in home
            page = browser_dom(site_url + "posts/hello-browser/")
            assert "uploaded with ripple bucket cp and rendered" in page and "<h1>Not found</h1>" not in page

            rm = subprocess.run([RIPPLE, "bucket", "rm", "s3://myblog-src/content/posts/hello-browser.md"],
                                env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
            assert rm.returncode == 0, rm.stderr
            wait_until(c, lambda: not site.exists("posts/hello-browser/index.html"), "the page's removal")
            gone = browser_dom(site_url + "posts/hello-browser/")
            assert "<h1>Not found</h1>" in gone and "uploaded with ripple bucket cp" not in gone
            assert "Hello from the browser test" not in browser_dom(site_url)
        dev.send_signal(signal.SIGINT)
        _out, err = dev.communicate(timeout=60)
        assert dev.returncode == 0 and "Traceback" not in err, err[-3000:]
    finally:
        if dev.poll() is None:
            dev.kill()
