"""The handler contract: events, results, the context object, environment variables, warm reuse, /tmp."""

from __future__ import annotations

import re

import pytest

from ripple.errors import InvalidRequestContent
from ripple.runtime.pool import Pool


@pytest.mark.parametrize("event", [{"a": [1, 2]}, [1, "x"], "text", 42, 1.5, None])
def test_any_json_event_round_trips(pool: Pool, event: object) -> None:
    result = pool.invoke("echo", event)
    assert (result.status_code, result.function_error, result.json()) == (200, None, {"event": event})


def test_json_beyond_64_bit_integers_reaches_the_handler_as_pythons_json_reads_it(pool: Pool) -> None:
    # Lambda's runtime decodes with Python's json: integers of any size, and the handler sees them.
    big = 2**80 + 1
    result = pool.invoke("echo", b'{"n": %d, "m": [-%d, 1.5e300]}' % (big, big))
    assert result.function_error is None
    assert result.json() == {"event": {"n": big, "m": [-big, 1.5e300]}}


def test_a_python_event_is_sent_exactly_or_refused_as_pythons_json_would(pool: Pool) -> None:
    big = 2**70 + 3
    assert pool.invoke("echo", {"n": big, "m": [-big]}).json() == {"event": {"n": big, "m": [-big]}}
    with pytest.raises(InvalidRequestContent, match="JSON-serialisable"):
        pool.invoke("echo", {"x": object()})
    for bad in (float("nan"), float("inf"), -float("inf")):  # orjson alone would send null
        with pytest.raises(InvalidRequestContent, match="NaN and infinities"):
            pool.invoke("echo", {"x": [1, {"y": bad}]})
    assert pool.invoke("echo", {"x": None, "y": 1.5}).json() == {"event": {"x": None, "y": 1.5}}


def test_empty_payload_is_an_empty_object(pool: Pool) -> None:
    assert pool.invoke("echo", b"").json() == {"event": {}}


def test_context_has_lambdas_attributes(pool: Pool) -> None:
    result = pool.invoke("describe", {}, client_context={"custom": {"k": "v"}})
    ctx = result.json()["context"]
    assert ctx["function_name"] == "describe"
    assert ctx["function_version"] == "$LATEST"
    assert ctx["invoked_function_arn"] == "arn:aws:lambda:us-east-1:000000000000:function:describe"
    assert ctx["memory_limit_in_mb"] == "256"  # a string, as in awslambdaric
    assert ctx["aws_request_id"] == result.request_id
    assert ctx["log_group_name"] == "/aws/lambda/describe"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", ctx["log_stream_name"])
    assert ctx["identity"] == [None, None]
    assert ctx["client_context"] == {"k": "v"}
    assert 2000 < ctx["remaining_ms"] <= 3000


def test_sandbox_has_lambdas_environment(pool: Pool) -> None:
    env = pool.invoke("describe", {}).json()["env"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "describe"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["_HANDLER"] == "basic.describe"
    assert env["LAMBDA_TASK_ROOT"].endswith("tests/runtime/apps")
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_EXECUTION_ENV"].startswith("AWS_Lambda_python3")
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert env["_X_AMZN_TRACE_ID"].startswith("Root=1-")
    assert (env["TZ"], env["LANG"], env["GREETING"]) == ("UTC", "en_US.UTF-8", "hi")


def test_warm_sandbox_keeps_module_state_and_reports_init_only_when_cold(pool: Pool) -> None:
    first = pool.invoke("describe", {})
    second = pool.invoke("describe", {})
    assert first.init_duration_ms is not None and first.init_duration_ms > 0
    assert second.init_duration_ms is None
    assert (first.json()["count"], second.json()["count"]) == (1, 2)
    assert first.json()["pid"] == second.json()["pid"]
    assert second.json()["env"]["_X_AMZN_TRACE_ID"] != first.json()["env"]["_X_AMZN_TRACE_ID"]


def test_tmp_is_private_sized_and_survives_warm_invocations(pool: Pool) -> None:
    first = pool.invoke("tmp", {"write": "one"}).json()
    second = pool.invoke("tmp", {"write": "two"}).json()
    assert first["before"] is None  # nothing leaks in from the host's /tmp or another sandbox
    assert second["before"] == "one"
    assert first["tmp_bytes"] == 512 * 1024 * 1024


def test_handler_exception_returns_lambdas_error_shape_and_keeps_the_sandbox(pool: Pool) -> None:
    result = pool.invoke("fail", {"missing": "action"})
    assert (result.status_code, result.function_error, result.status) == (200, "Unhandled", "error")
    err = result.error
    assert err["errorType"] == "KeyError" and err["errorMessage"] == "'action'"
    assert err["requestId"] == result.request_id
    assert any("raise KeyError" in frame for frame in err["stackTrace"])
    assert not any("ripple/runtime" in frame for frame in err["stackTrace"])
    assert pool.invoke("fail", {}).init_duration_ms is None  # same sandbox, still warm


def test_dry_run_validates_without_running(pool: Pool) -> None:
    result = pool.invoke("echo", {"a": 1}, invocation_type="DryRun")
    assert (result.status_code, result.payload) == (204, b"")
    assert pool.processes() == []
