"""The burst loop (Pool.invoke_all): invocations run from one thread, and queued on a sandbox while
it runs the one before, must behave exactly as invocations run one by one: each its own output,
time limit and result, and nothing lost or run twice when a sandbox dies with calls queued on it."""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from helpers import wait_until

from ripple.errors import NotFound, RequestTooLarge, RippleError
from ripple.runtime.burst import CORES, DEPTH, Call
from ripple.runtime.logs import LogCapture
from ripple.runtime.pool import InvocationResult, Pool, _request


def run(pool: Pool, calls: list[Call], parallel: int = 1) -> dict[int, list[InvocationResult | RippleError]]:
    """Every report invoke_all makes, by call index (a list, so a call reported twice shows)."""
    got: dict[int, list[InvocationResult | RippleError]] = defaultdict(list)
    pool.invoke_all(calls, lambda i, r: got[i].append(r), parallel=parallel)
    return got


def call(function: str, **event: object) -> Call:
    return Call(function, orjson.dumps(event), trigger="test")


def only(results: list[InvocationResult | RippleError]) -> InvocationResult:
    assert len(results) == 1, f"reported {len(results)} times"
    (r,) = results
    assert isinstance(r, InvocationResult)
    return r


@pytest.fixture
def queued(make_pool: Callable[..., Pool]) -> Pool:
    return make_pool("queued")


def test_queued_invocations_keep_their_own_output_and_time(queued: Pool) -> None:
    assert DEPTH > 1  # otherwise nothing here is queued
    results: dict[tuple[int, int], InvocationResult] = {}
    for rnd in range(12):  # one sandbox, then two: where a read splits the output varies
        calls = [call("chatty", i=i, lines=1 + i % 4) for i in range(24)]
        got = run(queued, calls, parallel=1 + rnd % 2)
        results.update({(rnd, i): only(got[i]) for i in range(len(calls))})
        if rnd == 0:
            # Every call after the first waited in the one sandbox's socket.
            assert len({r.json()["pid"] for (_, _), r in results.items()}) == 1
    assert {r.status for r in results.values()} == {"ok"}
    # Each one's deadline counted from its own start, not from when it was sent.
    assert min(r.json()["remaining_ms"] for r in results.values()) > 29_000
    queued.flush()
    lines: dict[str, list[str]] = defaultdict(list)
    for line in queued.store.logs("chatty", limit=100_000):
        lines[line.request_id].append(line.message)
    for (rnd, i), r in results.items():
        own = lines[r.request_id]
        assert own[0].startswith("START RequestId: ") and own[-2].startswith("END RequestId: ")
        expected = [f"event {i} line {j}" for j in range(1 + i % 4)] + [f"event {i} unfinished"]
        assert own[1:-2] == expected, f"round {rnd}, call {i}"


def test_output_that_looks_like_an_end_mark_stays_with_its_call(queued: Pool) -> None:
    """The end mark is fresh per call: a handler printing mark-like bytes does not end its own
    output early nor move its later lines to the call queued behind it."""
    got = run(queued, [call("mimic", i=i) for i in range(16)], parallel=1)
    results = {i: only(got[i]) for i in range(16)}
    queued.flush()
    lines: dict[str, list[str]] = defaultdict(list)
    for line in queued.store.logs("mimic", limit=100_000):
        lines[line.request_id].append(line.message)
    for i, r in results.items():
        own = [m for m in lines[r.request_id] if m.startswith("event ")]
        assert own[0] == f"event {i} before" and own[-1] == f"event {i} after", (i, lines[r.request_id])
        assert all(m.startswith(f"event {i} ") for m in own), (i, own)


def test_calls_queued_behind_a_crash_run_again_elsewhere_once(queued: Pool) -> None:
    calls = [call("crashy", i=i, die=(i == 1)) for i in range(8)]
    got = run(queued, calls)
    results = {i: only(got[i]) for i in range(len(calls))}
    assert results[1].status == "crashed" and results[1].function_error == "Unhandled"
    oks = {i: r.json() for i, r in results.items() if i != 1}
    assert all(r.status == "ok" for i, r in results.items() if i != 1)
    assert sorted(v["i"] for v in oks.values()) == [0, 2, 3, 4, 5, 6, 7]
    # Calls 2 and 3 were queued in the sandbox that died: they ran in a new one.
    assert oks[2]["pid"] != oks[0]["pid"]
    queued.flush()
    crashed = [ln.message for ln in queued.store.logs("crashy", limit=1000) if ln.request_id == results[1].request_id]
    assert "event 1" in crashed


def test_a_queued_call_times_out_on_its_own_clock(queued: Pool) -> None:
    # Timeout 1 s: three half-second calls queued on one sandbox take 1.5 s together, and none of
    # them times out; a 3 s call does, and the call queued behind it still runs.
    calls = [call("sleepy", i=0, seconds=0.5), call("sleepy", i=1, seconds=0.5), call("sleepy", i=2, seconds=0.5)]
    calls += [call("sleepy", i=3, seconds=3), call("sleepy", i=4, seconds=0.1)]
    got = run(queued, calls)
    results = {i: only(got[i]) for i in range(len(calls))}
    assert [results[i].status for i in range(5)] == ["ok", "ok", "ok", "timeout", "ok"]
    assert all(results[i].json()["remaining_ms"] > 300 for i in (0, 1, 2, 4))
    assert all(results[i].duration_ms < 1000 for i in (0, 1, 2, 4))


def test_refused_calls_are_reported_and_the_rest_run(queued: Pool) -> None:
    calls = [call("chatty", i=0), Call("nope", b"{}"), Call("chatty", b'{"i": 2, "pad": "' + b"x" * (1 << 20) + b'"}')]
    calls.append(call("chatty", i=3))
    got = run(queued, calls, parallel=2)
    assert isinstance(got[1][0], NotFound) and "nope" in str(got[1][0])
    assert isinstance(got[2][0], RequestTooLarge)
    assert only(got[0]).status == only(got[3]).status == "ok"
    assert all(len(v) == 1 for v in got.values())


def test_output_read_after_its_answer_still_goes_to_its_own_call(queued: Pool) -> None:
    # The narrow case: both queued calls answered, and this process reads their answers before it
    # has read their output (the log pipe not seen readable yet). Their end marks must route it.
    fn = queued.functions["chatty"]
    sb = queued._acquire(fn, wait=True)
    try:
        assert sb.start(LogCapture("chatty", "init", lambda rows: None)) is None
        caps = [LogCapture("chatty", f"r{i}", lambda rows: None) for i in range(2)]
        for i, cap in enumerate(caps):
            sb.begin(_request(f"r{i}", 0), orjson.dumps({"i": i, "lines": 2}), cap, queue=True)
        ctl = sb.watched[0]
        wait_until(lambda: _asleep(sb.pid) and len(_pending(ctl)) >= 2, 10, "both answers to be sent")
        ends: list[object] = []
        while len(ends) < 2:
            ends += sb.advance({ctl}, time.monotonic())  # the control socket only, as if polled early
        assert [e.status for e in ends] == ["ok", "ok"]  # type: ignore[attr-defined]
        for i, cap in enumerate(caps):
            cap.finish()
            assert cap.lines == [f"event {i} line 0", f"event {i} line 1", f"event {i} unfinished"]
    finally:
        queued._release(fn, sb)


def _asleep(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2] == "S"


def _pending(fd: int) -> list[bytes]:
    """The frames waiting on a socket, peeked (not consumed)."""
    sock = socket.socket(fileno=os.dup(fd))
    try:
        data = sock.recv(1 << 16, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        data = b""
    finally:
        sock.close()
    frames = []
    while len(data) >= 8:
        hlen, blen = struct.unpack_from("!II", data)
        frames.append(data[: 8 + hlen + blen])
        data = data[8 + hlen + blen :]
    return frames


def test_slow_calls_spread_over_more_sandboxes_than_cores(queued: Pool) -> None:
    # One sandbox per core at first; calls that keep every sandbox busy past SPREAD_AFTER_S bring
    # more, up to ``parallel``, so I/O-bound handlers are not held to the number of cores.
    parallel = CORES + 2
    calls = [call("io_bound", seconds=0.3) for _ in range(parallel * 2)]
    got = run(queued, calls, parallel=parallel)
    pids = {only(got[i]).json()["pid"] for i in range(len(calls))}
    assert len(pids) == parallel


def test_big_events_and_big_answers_do_not_stall_the_loop(queued: Pool) -> None:
    # Events bigger than a socket's buffer are never queued behind a running call: sending one
    # would block this thread while the worker blocks sending it a big answer.
    pad = "y" * 300_000
    calls = [call("bulky", answer=2_000_000, pad=pad if i % 2 else "") for i in range(8)]
    got: dict[int, list[InvocationResult | RippleError]] = {}
    runner = threading.Thread(target=lambda: got.update(run(queued, calls)), daemon=True)
    runner.start()
    runner.join(60)  # a stalled loop stays stalled; closing the pool (the fixture) frees it
    assert not runner.is_alive(), "the burst loop stalled"
    assert [len(only(got[i]).payload) for i in range(len(calls))] == [2_000_002] * len(calls)
