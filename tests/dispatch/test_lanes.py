"""One lane of a stream trigger delivers records under Lambda's rules: order, batching, filters,
retries, bisect, partial batch failures, maximum age and discards. Records come from a real store;
time is a virtual clock the test moves, so nothing sleeps."""

from __future__ import annotations

import base64
import json

import orjson
import pytest

import ripple
from ripple.dispatch.lanes import Discard, LaneRunner, Response, sequence_number
from ripple.dispatch.options import StreamOptions
from ripple.errors import ValidationError


class Clock:
    def __init__(self):
        self.t = 1_800_000_000.0

    def __call__(self):
        return self.t


@pytest.fixture
def env(tmp_path):
    clock = Clock()
    c = ripple.connect(tmp_path / "s", clock=clock)
    c.create_stream("jobs", shards=1)
    yield c, clock
    c.close()


def put(c, *payloads):
    c.stream("jobs").put_many([(json.dumps(p).encode(), "k") for p in payloads])


def data(record):
    return json.loads(base64.b64decode(record["kinesis"]["data"]))


class Handler:
    """A deterministic function: records what it saw, fails as told."""

    def __init__(self, fail_on=(), fail_times=10**9, report=None):
        self.batches: list[list] = []
        self.fail_on, self.fail_times, self.report = set(fail_on), fail_times, report
        self.failures = 0

    def __call__(self, event, hops=1):
        event = orjson.loads(orjson.dumps(event))  # records arrive as JSON fragments
        batch = [data(r) for r in event["Records"]]
        self.batches.append(batch)
        if self.report is not None:
            return Response(None, self.report(event["Records"]))
        if any(not isinstance(x, dict) and x in self.fail_on for x in batch) and self.failures < self.fail_times:
            self.failures += 1
            return Response("Unhandled", {"errorMessage": "boom", "errorType": "Exception"})
        return Response(None, None)

    @property
    def seen(self):
        return [x for b in self.batches for x in b]


def runner(c, clock, handler, discards, **opts):
    return LaneRunner(
        StreamOptions(**opts),
        fetch=lambda after, limit: examined(c.log.read(after, sources=["stream:jobs"], limit=limit), after),
        invoke=handler,
        on_discard=discards.append,
        position=0,
    )


def examined(records, after):
    return records, (records[-1].seq if records else after)


def drain(r, clock, limit=10_000):
    for _ in range(limit):
        wake = r.step(clock.t)
        if wake == float("inf"):
            return
        clock.t = max(clock.t, wake)
    raise AssertionError("lane never went idle")


def test_in_order_batches_and_checkpoint(env):
    c, clock = env
    put(c, *range(250))
    h, d = Handler(), []
    r = runner(c, clock, h, d, batch_size=100)
    drain(r, clock)
    assert [len(b) for b in h.batches] == [100, 100, 50]
    assert h.seen == list(range(250)) and d == []
    assert r.position == c.log.latest()
    put(c, 250)
    drain(r, clock)
    assert h.batches[-1] == [250]


def test_filtered_records_are_skipped_and_passed(env):
    c, clock = env
    put(c, *[{"n": i, "kind": "keep" if i % 3 == 0 else "drop"} for i in range(30)])
    h, d = Handler(), []
    r = runner(c, clock, h, d, batch_size=100, filters=[{"data": {"kind": ["keep"]}}])
    drain(r, clock)
    assert [x["n"] for x in h.seen] == list(range(0, 30, 3))
    assert r.position == c.log.latest()
    put(c, {"n": 99, "kind": "drop"})
    drain(r, clock)
    assert len(h.batches) == 1 and r.position == c.log.latest()  # nothing delivered, still past it


def test_retries_then_discard_and_move_on(env):
    c, clock = env
    put(c, 1, 2, 3)
    h, d = Handler(fail_on={2}), []
    r = runner(c, clock, h, d, batch_size=2, max_retry_attempts=2)
    start = clock.t
    drain(r, clock)
    assert h.batches == [[1, 2]] * 3 + [[3]]  # the first try and two retries, then the next batch
    assert len(d) == 1 and d[0].condition == "RetryAttemptsExhausted" and d[0].attempts == 3
    assert [data(x.record) for x in d[0].records] == [1, 2]
    assert clock.t - start == pytest.approx(0.1 + 0.2)  # backoff between retries, on the virtual clock


def test_a_failing_batch_blocks_the_lane_until_it_succeeds(env):
    c, clock = env
    put(c, 1, 2)
    h, d = Handler(fail_on={1}, fail_times=5), []
    r = runner(c, clock, h, d, batch_size=1)  # retries until the record expires (-1)
    drain(r, clock)
    assert h.seen == [1] * 6 + [2] and d == []


def test_bisect_isolates_a_poison_record(env):
    c, clock = env
    put(c, *range(8))
    h, d = Handler(fail_on={5}), []
    r = runner(c, clock, h, d, batch_size=8, bisect_on_error=True, max_retry_attempts=1)
    drain(r, clock)
    assert [[data(x.record) for x in disc.records] for disc in d] == [[5]]
    firsts = []
    for x in h.seen:
        if x not in firsts:
            firsts.append(x)
    assert firsts == list(range(8))  # first deliveries in order
    assert h.batches[:4] == [list(range(8)), [0, 1, 2, 3], [4, 5, 6, 7], [4, 5]]
    assert r.position == c.log.latest()


def test_report_batch_item_failures_resumes_from_the_lowest(env):
    c, clock = env
    put(c, *range(6))
    calls = []

    def report(records):
        calls.append([data(r) for r in records])
        if len(calls) == 1:  # fail 4 and 2: resume from 2
            return {"batchItemFailures": [{"itemIdentifier": sequence_number(records[i])} for i in (4, 2)]}
        return {"batchItemFailures": []}

    h, d = Handler(report=report), []
    r = runner(c, clock, h, d, batch_size=10, report_batch_item_failures=True)
    drain(r, clock)
    assert calls == [[0, 1, 2, 3, 4, 5], [2, 3, 4, 5]] and d == []


@pytest.mark.parametrize(
    "payload",
    [
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"wrong": "x"}]},
        {"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]},
        {"batchItemFailures": "x"},
        "garbage",
    ],
)
def test_malformed_reports_fail_the_whole_batch(env, payload):
    c, clock = env
    put(c, 1, 2)
    calls = []

    def report(records):
        calls.append(len(records))
        return payload if len(calls) == 1 else None

    r = runner(c, clock, Handler(report=report), [], batch_size=10, report_batch_item_failures=True)
    drain(r, clock)
    assert calls == [2, 2]


def test_reports_are_ignored_unless_enabled(env):
    c, clock = env
    put(c, 1, 2)
    calls = []

    def report(records):
        calls.append(len(records))
        return {"batchItemFailures": [{"itemIdentifier": sequence_number(records[0])}]}

    r = runner(c, clock, Handler(report=report), [], batch_size=10)
    drain(r, clock)
    assert calls == [2]


def test_maximum_record_age_discards(env):
    c, clock = env
    put(c, 1)
    clock.t += 30
    put(c, 2)
    h, d = Handler(fail_on={1}), []
    r = runner(c, clock, h, d, batch_size=1, max_record_age_s=60)
    drain(r, clock)
    assert d[0].condition == "RecordAgeExceeded" and [data(x.record) for x in d[0].records] == [1]
    assert h.seen[-1] == 2


def test_batching_window_waits_for_more_records(env):
    c, clock = env
    put(c, 1)
    h, d = Handler(), []
    r = runner(c, clock, h, d, batch_size=10, batch_window_s=5)
    wake = r.step(clock.t)
    assert wake == pytest.approx(clock.t + 5) and h.batches == []
    clock.t += 2
    put(c, 2)
    assert r.step(clock.t) == pytest.approx(clock.t + 3)
    clock.t += 3
    drain(r, clock)
    assert h.batches == [[1, 2]]
    put(c, *range(10))
    r.step(clock.t)  # a full batch goes at once, window or not
    assert h.batches[-1] == list(range(10))


def test_batches_stay_under_the_6_mb_payload_limit(env):
    c, clock = env
    blob = "x" * 700_000
    for i in range(12):
        c.stream("jobs").put(json.dumps({"i": i, "pad": blob}).encode(), partition_key="k")
    h = Handler()
    r = runner(c, clock, h, [], batch_size=100)
    drain(r, clock)
    assert [x["i"] for x in h.seen] == list(range(12))
    assert len(h.batches) >= 2


@pytest.mark.parametrize(
    "opts, needle",
    [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 10_001}, "batch_size"),
        ({"batch_window_s": 301}, "batch_window_s"),
        ({"max_record_age_s": 30}, "max_record_age_s"),
        ({"max_retry_attempts": -2}, "max_retry_attempts"),
        ({"parallelization": 11}, "parallelization"),
        ({"starting_position": "EARLIEST"}, "starting_position"),
        ({"starting_position": "AT_TIMESTAMP"}, "starting_timestamp"),
        ({"bisect_on_error": "yes"}, "bisect_on_error"),
        ({"filters": [{"a": [{"suffix": "x"}]}]}, "suffix"),
        ({"batch_sise": 10}, "unknown stream trigger option(s): batch_sise"),
        ({"tumbling_window_s": 901}, "tumbling_window_s"),
        ({"tumbling_window_s": 60, "bisect_on_error": True}, "cannot be combined"),
    ],
)
def test_bad_options_refused_by_name(opts, needle):
    with pytest.raises(ValidationError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        StreamOptions.from_options(opts)


def test_discard_record_carries_what_the_destination_needs(env):
    c, clock = env
    put(c, 1)
    d: list[Discard] = []
    r = runner(c, clock, Handler(fail_on={1}), d, batch_size=1, max_retry_attempts=0)
    drain(r, clock)
    assert d[0].attempts == 1 and d[0].response.function_error == "Unhandled"


def test_tumbling_windows_carry_state_and_end_with_a_final_invocation(env):
    c, clock = env
    calls = []

    def windowed(event, hops=1):
        n = len(event["Records"])
        calls.append((event["window"]["start"], event["state"], n, event["isFinalInvokeForWindow"]))
        assert event["shardId"] and event["isWindowTerminatedEarly"] is False
        return Response(None, {"state": {"count": event["state"].get("count", 0) + n}})

    r = runner(c, clock, windowed, [], batch_size=10, tumbling_window_s=60)
    put(c, 1, 2, 3)
    drain(r, clock)  # the window is still open: no final invocation yet... until drain crosses its end
    put(c, 4, 5)  # lands in the next window (drain moved the clock to the first window's end)
    drain(r, clock)
    w1, w2 = "2027-01-15T08:00:00Z", "2027-01-15T08:01:00Z"
    assert calls == [
        (w1, {}, 3, False),
        (w1, {"count": 3}, 0, True),  # at the window's end, with no records left: final, state in hand
        (w2, {}, 2, False),
        (w2, {"count": 2}, 0, True),
    ]
    assert r.window is None and r.position == c.log.latest()


def test_a_windowed_response_without_state_fails_the_batch(env):
    c, clock = env
    replies = iter([None, {"state": {"ok": 1}}, {"state": {}}])
    calls = []

    def windowed(event, hops=1):
        calls.append(len(event["Records"]))
        return Response(None, next(replies))

    r = runner(c, clock, windowed, [], batch_size=10, tumbling_window_s=60)
    put(c, 1)
    drain(r, clock)
    assert calls == [1, 1, 0]  # retried once, then the window's final invocation


def test_a_lane_is_idle_only_with_nothing_to_do(env):
    """The dispatcher skips idle lanes, so idle() must be false whenever a step could act: new
    records, a batch held for its window, a failed batch waiting for its retry."""
    c, clock = env
    r = runner(c, clock, Handler(fail_on={2}, fail_times=1), [], batch_size=10, batch_window_s=5)
    assert r.idle(c.log.latest())
    put(c, 1)
    assert not r.idle(c.log.latest())
    assert r.step(clock.t) == pytest.approx(clock.t + 5, abs=1)  # held for the window
    assert not r.idle(c.log.latest())
    drain(r, clock)
    assert r.idle(c.log.latest())
    put(c, 2)
    clock.t += 10
    r.step(clock.t)  # fails once: a retry is pending
    assert r.attempts == 1 and not r.idle(c.log.latest())
    drain(r, clock)
    assert r.idle(c.log.latest())
