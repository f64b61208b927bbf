"""Every way a handler can fail (issue 3 §4): each is reported with Lambda's error type, costs only its
own sandbox, and the next invocation succeeds."""

from __future__ import annotations

import re

import pytest
from helpers import alive, wait_until

from ripple.runtime.pool import Pool

RID = r"RequestId: [0-9a-f-]{36} Error: "

CASES = [
    ("import_error", "error", "Runtime.ImportModuleError",
     "Unable to import module 'broken_import': No module named 'ripple_no_such_module'"),
    ("syntax_error", "error", "Runtime.UserCodeSyntaxError", r"Syntax error in module 'broken_syntax': .*line 1"),
    ("missing_handler", "error", "Runtime.HandlerNotFound", "Handler 'no_such_handler' missing on module 'failing'"),
    ("exits", "crashed", "Runtime.ExitError", RID + "Runtime exited with error: exit status 3"),
    ("exit_call", "crashed", "Runtime.ExitError", RID + "Runtime exited with error: exit status 2"),
    ("segfault", "crashed", "Runtime.ExitError", RID + "Runtime exited with error: signal: segmentation fault"),
    ("hog", "out_of_memory", "Runtime.OutOfMemory", RID + "Runtime exited with error: signal: killed"),
    ("spin", "timeout", "Sandbox.Timedout", RID + r"Task timed out after 1\.0\d seconds"),
    ("unmarshalable", "error", "Runtime.MarshalError", "Unable to marshal response: Object of type set"),
    ("big_response", "error", "Function.ResponseSizeTooLarge",
     r"Response payload size \(7340034 bytes\) exceeded maximum allowed payload size \(6291456 bytes\)\."),
]  # fmt: skip


@pytest.mark.parametrize(("function", "status", "error_type", "message"), CASES, ids=[c[0] for c in CASES])
def test_failure_is_reported_and_costs_only_its_sandbox(
    failing: Pool, function: str, status: str, error_type: str, message: str
) -> None:
    bystander = failing.invoke("ok", {})
    bystander_pids = failing.processes()

    result = failing.invoke(function, {})

    assert (result.status_code, result.function_error, result.status) == (200, "Unhandled", status)
    assert result.error["errorType"] == error_type
    assert re.match(message, result.error["errorMessage"])
    # The other function's warm sandbox is untouched, and the next invocation works.
    assert set(bystander_pids) <= set(failing.processes())
    again = failing.invoke("ok", {})
    assert again.status == "ok" and again.init_duration_ms is None
    assert bystander.status == "ok"
    failing.flush()
    (record,) = failing.store.invocations(function)
    assert (record.status, record.error_type) == (status, error_type)


def test_out_of_memory_reports_the_limit_as_max_memory_used(failing: Pool) -> None:
    result = failing.invoke("hog", {})
    assert result.max_memory_used_mb == result.memory_size_mb == 128


def test_fatal_failures_replace_the_sandbox(failing: Pool) -> None:
    assert failing.invoke("exits", {}).status == "crashed"
    assert failing.counts()["exits"] == (0, 0)  # nothing kept: the next invocation starts cold
    assert failing.invoke("exits", {}).init_duration_ms is not None


def test_timeout_kills_a_child_that_ignores_sigterm(failing: Pool) -> None:
    result = failing.invoke("stubborn_child", {})
    assert result.status == "timeout"
    failing.flush()
    (line,) = [x.message for x in failing.store.logs("stubborn_child") if x.message.startswith("child pid")]
    child = int(line.split()[-1])
    wait_until(lambda: not alive(child), 5, "the SIGTERM-ignoring child to die with its sandbox")
    assert failing.processes() == []
    assert failing.invoke("ok", {}).status == "ok"


def test_closing_stdout_breaks_nothing_for_the_next_invocation(failing: Pool) -> None:
    assert failing.invoke("close_stdout", {}).json() == "closed"
    second = failing.invoke("close_stdout", {})
    assert (second.json(), second.init_duration_ms) == ("closed", None)  # same sandbox, stdout restored
    failing.flush()
    lines = [line.message for line in failing.store.logs("close_stdout")]
    assert lines.count("before closing") == 2


def test_a_hundred_megabytes_of_output_is_capped_not_fatal(failing: Pool) -> None:
    result = failing.invoke("flood", {"mb": 100})
    assert result.json() == "flooded"
    failing.flush()
    messages = [line.message for line in failing.store.logs("flood", limit=100_000)]
    kept = sum(len(m) + 1 for m in messages if m.startswith("x"))
    assert kept <= 1 << 20
    assert any(re.search(r"\d+ bytes of output dropped", m) for m in messages)


def test_a_fork_loop_is_bounded_and_cleaned_up(failing: Pool) -> None:
    if failing.isolation != "cgroup-v1":
        pytest.skip("needs a pids cgroup to bound forking safely")
    result = failing.invoke("fork_loop", {})
    assert result.status in ("error", "timeout")
    if result.status == "error":
        assert result.error["errorType"] == "BlockingIOError"  # fork() got EAGAIN at the bound
    assert failing.processes() == []
    assert failing.invoke("ok", {}).status == "ok"


def test_killing_the_template_costs_no_sandbox(failing: Pool) -> None:
    assert failing.invoke("ok", {}).status == "ok"
    assert failing.invoke("kill_parent", {}).json() == "killed"
    warm = failing.invoke("ok", {})
    assert (warm.status, warm.init_duration_ms) == ("ok", None)  # other sandboxes live on
    assert failing.invoke("kill_parent", {}).init_duration_ms is None
    cold = failing.invoke("ok_too", {})  # a new template serves the next cold start
    assert cold.status == "ok" and cold.init_duration_ms is not None


def test_garbage_on_the_control_socket_costs_only_its_sandbox(failing: Pool) -> None:
    result = failing.invoke("scribble", {})
    assert (result.status, result.error["errorType"]) == ("crashed", "Runtime.ExitError")
    assert failing.processes() == []
    assert failing.invoke("ok", {}).status == "ok"


def test_a_process_that_left_the_session_still_dies_with_its_sandbox(failing: Pool) -> None:
    if failing.isolation != "cgroup-v1":
        pytest.skip("without cgroups a new session escapes the sandbox")
    pid = failing.invoke("daemonize", {}).json()
    assert alive(pid) and pid in failing.processes()
    assert failing.reap_idle(max_idle_s=0) == 1
    wait_until(lambda: not alive(pid), 5, "the detached grandchild to die with its sandbox")
