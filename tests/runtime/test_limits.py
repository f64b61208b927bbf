"""Limits a user relies on: payload sizes, concurrency (throttle or wait), memory reporting, reaping."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import alive, wait_until

from ripple.errors import InvalidRequestContent, NotFound, RequestTooLarge, TooManyRequests, ValidationError
from ripple.runtime.pool import ASYNC_PAYLOAD_LIMIT, SYNC_PAYLOAD_LIMIT, InvocationResult, Pool


def _payload_of(size: int) -> bytes:
    return b'"' + b"x" * (size - 2) + b'"'


def test_payload_limits_are_lambdas(pool: Pool) -> None:
    with pytest.raises(RequestTooLarge, match=str(SYNC_PAYLOAD_LIMIT + 1)):
        pool.invoke("echo", _payload_of(SYNC_PAYLOAD_LIMIT + 1))
    with pytest.raises(RequestTooLarge, match="Event limit of 1048576"):
        pool.invoke("echo", _payload_of(ASYNC_PAYLOAD_LIMIT + 1), invocation_type="Event")
    assert pool.invoke("echo", _payload_of(ASYNC_PAYLOAD_LIMIT + 1)).status == "ok"
    assert pool.processes() != []


@pytest.mark.parametrize(
    ("call", "error", "named"),
    [
        (lambda p: p.invoke("nope", {}), NotFound, "'nope'"),
        (lambda p: p.invoke("echo", b"{not json"), InvalidRequestContent, "json"),
        (lambda p: p.invoke("echo", {}, invocation_type="Later"), InvalidRequestContent, "'Later'"),
        (lambda p: p.invoke("echo", {}, log_type="All"), InvalidRequestContent, "'All'"),
        (lambda p: p.invoke("echo", {1, 2}), InvalidRequestContent, "JSON"),
    ],
)
def test_bad_invocations_are_refused_by_name_and_run_nothing(
    pool: Pool, call: Callable, error: type, named: str
) -> None:
    with pytest.raises(error, match=named):
        call(pool)
    assert pool.processes() == []


def test_bad_pool_options_are_refused_by_name(tmp_path: Path) -> None:
    from helpers import APPS

    from ripple.runtime.loader import load_app

    app = load_app(str(APPS / "basic.py"))
    with pytest.raises(ValidationError, match="max_concurrency"):
        Pool(app, state=tmp_path, max_concurrency=0)
    with pytest.raises(ValidationError, match="idle_timeout_s"):
        Pool(app, state=tmp_path, idle_timeout_s=-1)


def _in_thread(fn: Callable[[], InvocationResult]) -> tuple[threading.Thread, list[InvocationResult]]:
    out: list[InvocationResult] = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    return t, out


def test_reserved_concurrency_throttles_sync_and_queues_async(pool: Pool, shared_dir: Path) -> None:
    gate = shared_dir / "gate"
    first, first_out = _in_thread(lambda: pool.invoke("gated", {"gate": str(gate)}))
    wait_until(lambda: pool.counts()["gated"][0] == 1, what="the first invocation to hold the slot")

    with pytest.raises(TooManyRequests) as throttled:
        pool.invoke("gated", {"gate": str(gate)})
    assert throttled.value.reason == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert throttled.value.status == 429

    queued, queued_out = _in_thread(lambda: pool.invoke("gated", {"gate": str(gate)}, invocation_type="Event"))
    assert pool.counts()["gated"][0] == 1 and not queued_out  # waiting, not running, not refused
    gate.touch()
    first.join(10)
    queued.join(10)
    assert first_out[0].json() == "through"
    assert (queued_out[0].status_code, queued_out[0].status) == (202, "ok")


def test_global_cap_throttles_unreserved_functions(make_pool: Callable[..., Pool], shared_dir: Path) -> None:
    pool = make_pool("basic", max_concurrency=2)  # 1 is reserved by `gated`, 1 left for the rest
    gate = shared_dir / "gate"
    t, out = _in_thread(lambda: pool.invoke("waits", {"gate": str(gate)}))
    wait_until(lambda: pool.counts()["waits"][0] == 1)
    with pytest.raises(TooManyRequests) as throttled:
        pool.invoke("echo", {})
    assert throttled.value.reason == "ConcurrentInvocationLimitExceeded"
    gate.touch()
    assert pool.invoke("gated", {"gate": str(gate)}).json() == "through"  # its reserved share is still free
    t.join(10)
    assert out[0].json() == "through"


def test_reserved_concurrency_zero_throttles_everything(pool: Pool) -> None:
    for kind in ("RequestResponse", "Event"):
        with pytest.raises(TooManyRequests, match="switched_off"):
            pool.invoke("switched_off", {}, invocation_type=kind)


def test_max_memory_used_is_truthful(pool: Pool) -> None:
    small = pool.invoke("alloc", {"mb": 1})
    big = pool.invoke("alloc", {"mb": 120})
    assert small.max_memory_used_mb < 60
    assert 120 <= big.max_memory_used_mb <= 200


def test_idle_sandboxes_are_reaped(make_pool: Callable[..., Pool]) -> None:
    pool = make_pool("basic", idle_timeout_s=0.2)
    pool.invoke("echo", {})
    pids = pool.processes()
    assert pool.counts()["echo"] == (0, 1)
    wait_until(lambda: pool.counts()["echo"] == (0, 0), what="the idle sandbox to be reaped")
    wait_until(lambda: not any(alive(p) for p in pids), what="its process to exit")
    assert pool.invoke("echo", {}).init_duration_ms is not None


def test_async_callers_get_an_awaitable(pool: Pool) -> None:
    async def main() -> list[InvocationResult]:
        return await asyncio.gather(*(pool.ainvoke("echo", {"i": i}) for i in range(4)))

    results = asyncio.run(main())
    assert [r.json()["event"]["i"] for r in results] == [0, 1, 2, 3]


def test_close_leaves_no_process_behind(make_pool: Callable[..., Pool]) -> None:
    pool = make_pool("basic")
    pool.invoke("echo", {})
    pids = [*pool.processes(), pool._template._proc.pid]
    pool.close()
    wait_until(lambda: not any(alive(p) for p in pids), what="every process to exit")
    with pytest.raises(Exception, match="closed"):
        pool.invoke("echo", {})


def test_a_killed_platform_leaves_no_sandbox_behind(tmp_path: Path) -> None:
    from helpers import APPS

    script = (
        "import sys, json\n"
        "from ripple.runtime.loader import load_app\n"
        "from ripple.runtime.pool import Pool\n"
        f"pool = Pool(load_app({str(APPS / 'basic.py')!r}), state={str(tmp_path)!r})\n"
        "pid = pool.invoke('describe', {}).json()['pid']\n"
        "pool.prepare()\n"
        "print(json.dumps([*pool.processes(), pool._template._proc.pid]), flush=True)\n"
        "sys.stdin.read()\n"
    )
    platform = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        pids = json.loads(platform.stdout.readline())
        assert all(alive(p) for p in pids)
    finally:
        platform.kill()  # SIGKILL: no close(), no atexit
        platform.wait()
    wait_until(lambda: not any(alive(p) for p in pids), 10, "the sandbox and template to exit")


def test_a_spare_worker_takes_the_next_cold_start(make_pool: Callable[..., Pool]) -> None:
    pool = make_pool("basic", spare=True)
    assert pool.prepare(10)
    (spare,) = pool.processes()
    result = pool.invoke("describe", {})
    assert result.json()["pid"] == spare and result.init_duration_ms is not None
    assert result.json()["env"]["AWS_LAMBDA_FUNCTION_NAME"] == "describe"
    assert pool.prepare(10)  # a new spare replaces it
    assert len(pool.processes()) == 2
