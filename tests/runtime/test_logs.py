"""Logs and invocation records: Lambda's START/END/REPORT lines, per-invocation capture, records."""

from __future__ import annotations

import math
import re

from ripple.runtime.pool import Pool

REPORT = re.compile(
    r"REPORT RequestId: (?P<rid>[0-9a-f-]{36})\tDuration: (?P<d>\d+\.\d\d) ms\tBilled Duration: (?P<b>\d+) ms\t"
    r"Memory Size: 128 MB\tMax Memory Used: (?P<m>\d+) MB\t(Init Duration: (?P<i>\d+\.\d\d) ms\t)?$"
)


def _messages(pool: Pool, function: str, request_id: str) -> list[str]:
    pool.flush()
    return [line.message for line in pool.store.logs(function) if line.request_id == request_id]


def test_output_is_captured_between_start_end_and_report(pool: Pool) -> None:
    cold = pool.invoke("noisy", {})
    warm = pool.invoke("noisy", {})
    for result in (cold, warm):
        lines = _messages(pool, "noisy", result.request_id)
        rid = result.request_id
        assert lines[0] == f"START RequestId: {rid} Version: $LATEST"
        assert f"hello from {rid}" in lines
        assert re.fullmatch(rf"\[WARNING\]\t\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z\t{rid}\ta warning", lines[2])
        assert lines[-2] == f"END RequestId: {rid}"
        report = REPORT.match(lines[-1])
        assert report and report["rid"] == rid
        assert int(report["b"]) == math.ceil(float(report["d"]))
        assert (report["i"] is not None) == (result is cold)


def test_failure_is_logged_the_way_lambdas_runtime_logs_it(pool: Pool) -> None:
    result = pool.invoke("fail", {})
    lines = _messages(pool, "fail", result.request_id)
    assert "[ERROR] KeyError: 'action'" in lines
    assert "Traceback (most recent call last):" in lines


def test_timeout_is_logged_with_lambdas_line(failing: Pool) -> None:
    result = failing.invoke("spin", {})
    lines = _messages(failing, "spin", result.request_id)
    assert any(re.fullmatch(rf"\S+Z {result.request_id} Task timed out after 1\.0\d seconds", x) for x in lines)
    assert lines[-2] == f"END RequestId: {result.request_id}"


def test_tail_log_type_returns_the_last_4kb(pool: Pool) -> None:
    result = pool.invoke("noisy", {}, log_type="Tail")
    assert result.log_result.startswith(f"START RequestId: {result.request_id}")
    assert f"hello from {result.request_id}" in result.log_result
    assert "REPORT RequestId" in result.log_result
    assert pool.invoke("noisy", {}).log_result is None


def test_every_invocation_leaves_a_record(pool: Pool) -> None:
    ok = pool.invoke("echo", {}, trigger="s3")
    bad = pool.invoke("fail", {})
    pool.flush()
    records = {r.request_id: r for r in pool.store.invocations()}
    r = records[ok.request_id]
    assert (r.function, r.trigger, r.invocation_type, r.status, r.error_type) == (
        "echo",
        "s3",
        "RequestResponse",
        "ok",
        None,
    )
    assert r.billed_duration_ms == math.ceil(r.duration_ms) and r.init_duration_ms is not None
    assert 0 < r.max_memory_used_mb <= r.memory_size_mb == 128
    e = records[bad.request_id]
    assert (e.status, e.error_type, e.error_message) == ("error", "KeyError", "'action'")
    assert [x.request_id for x in pool.store.invocations("fail", statuses=["error"])] == [bad.request_id]
    assert pool.store.invocations("fail", statuses=["ok"]) == []
