"""``ripple invoke``, ``ripple logs`` and ``ripple invocations`` as a user runs them, and app discovery."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import APPS

from ripple.errors import NotFound, ValidationError
from ripple.runtime.cli import COMMANDS, EXIT_FUNCTION_ERROR, invocations, invoke, logs, parse_since
from ripple.runtime.loader import load_app

BASIC = str(APPS / "basic.py")


@pytest.fixture
def state(tmp_path: Path) -> str:
    return str(tmp_path / "state")


def run(command, args: list[str], **kwargs):
    return CliRunner().invoke(command, args, catch_exceptions=False, **kwargs)


def test_commands_are_exported() -> None:
    assert [c.name for c in COMMANDS] == ["invoke", "logs", "invocations"]


def test_invoke_prints_the_result(state: str) -> None:
    result = run(invoke, ["echo", "--payload", '{"a": 1}', "--app", BASIC, "--state", state])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"event": {"a": 1}}


def test_invoke_reads_the_event_from_stdin_or_a_file(state: str, tmp_path: Path) -> None:
    result = run(invoke, ["echo", "-", "--app", BASIC, "--state", state], input='{"from": "stdin"}')
    assert json.loads(result.stdout) == {"event": {"from": "stdin"}}
    event = tmp_path / "event.json"
    event.write_text('{"from": "file"}')
    result = run(invoke, ["echo", "--payload-file", str(event), "--app", BASIC, "--state", state])
    assert json.loads(result.stdout) == {"event": {"from": "file"}}


def test_function_error_prints_the_error_payload_and_exits_3(state: str) -> None:
    result = run(invoke, ["fail", "--app", BASIC, "--state", state, "--log-type", "Tail"])
    assert result.exit_code == EXIT_FUNCTION_ERROR
    assert json.loads(result.stdout)["errorType"] == "KeyError"
    assert "[ERROR] KeyError: 'action'" in result.stderr
    assert "REPORT RequestId" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "Function not found: 'nope'"),
        (["echo", "--payload", "{bad"], "InvalidRequestContentException"),
        (["echo", "--app", "missing.py"], "app file not found"),
    ],
)
def test_invoke_mistakes_are_one_line_errors(state: str, args: list[str], message: str) -> None:
    if "--app" not in args:
        args = [*args, "--app", BASIC]
    result = run(invoke, [*args, "--state", state])
    assert result.exit_code == 1
    assert message in result.stderr and "Traceback" not in result.stderr


def test_an_extra_argument_is_named_not_taken_for_stdin(state: str) -> None:
    # `ripple invoke app.py echo`: the app belongs in --app, and the error must say so.
    result = run(invoke, ["app.py", "echo", "--payload", "{}", "--app", BASIC, "--state", state])
    assert result.exit_code == 2
    assert "unexpected argument 'echo' after FUNCTION 'app.py'" in result.stderr and "--app PATH" in result.stderr


def test_event_invocation_prints_nothing(state: str) -> None:
    result = run(invoke, ["echo", "--type", "Event", "--app", BASIC, "--state", state])
    assert (result.exit_code, result.stdout) == (0, "")


def test_invocations_and_logs_list_what_ran(state: str) -> None:
    run(invoke, ["echo", "--app", BASIC, "--state", state])
    run(invoke, ["fail", "--app", BASIC, "--state", state])
    listed = run(invocations, ["--state", state]).stdout
    assert "echo" in listed and "fail" in listed and "KeyError: 'action'" in listed
    only_errors = run(invocations, ["--status", "error", "--json", "--state", state]).stdout.splitlines()
    assert [json.loads(x)["function"] for x in only_errors] == ["fail"]
    lines = run(logs, ["fail", "--json", "--state", state]).stdout.splitlines()
    messages = [json.loads(x)["message"] for x in lines]
    assert messages[0].startswith("START RequestId:") and messages[-1].startswith("REPORT RequestId:")
    assert run(logs, ["fail", "--since", "1h", "--state", state]).stdout.count("START RequestId") == 1
    assert run(logs, ["fail", "--since", "2000-01-01T00:00:00Z", "--state", state]).stdout.count("START") == 1


def test_logs_of_a_function_that_never_ran_say_so(state: str) -> None:
    empty = run(logs, ["echo", "--state", state])
    assert (empty.exit_code, empty.stdout) == (0, "") and "nothing has run with the state folder" in empty.stderr
    run(invoke, ["echo", "--app", BASIC, "--state", state])
    typo = run(logs, ["ehco", "--state", state])
    assert (typo.exit_code, typo.stdout) == (0, "") and "'ehco' has no invocations recorded" in typo.stderr
    ran = run(logs, ["echo", "--state", state])
    assert "START RequestId" in ran.stdout and ran.stderr == ""


def test_logs_reject_a_bad_since() -> None:
    result = CliRunner().invoke(logs, ["f", "--since", "yesterday"])
    assert result.exit_code == 2 and "'yesterday'" in result.output
    assert parse_since("10m", now=1000.0) == 400.0


def test_logs_follow_shows_new_lines_live(state: str) -> None:
    code = "import sys; from ripple.runtime.cli import logs; logs(sys.argv[1:])"
    follower = subprocess.Popen(
        [sys.executable, "-c", code, "echo", "-f", "--state", state],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        result = run(invoke, ["echo", "--app", BASIC, "--state", state])
        assert result.exit_code == 0
        seen = b""
        deadline = time.monotonic() + 20
        while b"REPORT RequestId" not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([follower.stdout], [], [], 0.5)
            if ready:
                seen += os.read(follower.stdout.fileno(), 65536)
        assert b"START RequestId" in seen and b"REPORT RequestId" in seen
    finally:
        follower.kill()
        follower.wait()


def test_loader_finds_apps_by_path_module_and_attribute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(APPS)
    assert load_app().name == "app-default"  # app.py in the current directory
    assert load_app("basic").name == "basic"
    assert load_app("basic.py:app").name == "basic"
    with pytest.raises(ValidationError, match="'COUNTER'"):
        load_app("basic.py:COUNTER")
    with pytest.raises(NotFound, match="no_such_module"):
        load_app("no_such_module")
    with pytest.raises(ValidationError, match="broken_import"):
        load_app("broken_import.py")
