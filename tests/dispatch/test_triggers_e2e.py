"""Every trigger kind end to end: real store, real sandboxes, the dispatcher driven by the virtual
clock of ripple.testing (no sleeps)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ripple.runtime.loader import load_app
from ripple.testing import run_app

APP = Path(__file__).parent / "apps" / "pipeline.py"


@pytest.fixture
def h(tmp_path):
    with run_app(load_app(str(APP)), state=tmp_path / "state") as harness:
        yield harness


def seen(h, fn):
    items = h.table("seen").query(key_condition="fn = :f", values={":f": fn}).items
    return [json.loads(i["payload"]) for i in items]


def test_object_events_reach_their_trigger_only(h):
    b = h.bucket("uploads")
    b.put("in/a b.txt", b"1")
    b.put("in/skip.md", b"2")  # suffix does not match
    b.put("out/c.txt", b"3")  # prefix does not match
    b.copy("in/a b.txt", "in/copy.txt")
    b.delete("in/a b.txt")
    h.drain()
    assert seen(h, "on_upload") == [
        {"key": "in/a+b.txt", "name": "ObjectCreated:Put", "cfg": "on_upload-uploads"},
        {"key": "in/copy.txt", "name": "ObjectCreated:Copy", "cfg": "on_upload-uploads"},
    ]
    assert seen(h, "on_remove") == [{"key": "in/a+b.txt"}]


def test_three_functions_on_one_table_stream_each_get_every_record(h):
    games = h.table("games")
    for ts in range(1, 8):
        games.put({"event_key": "u1", "start_timestamp": ts, "score": ts})
    games.update({"event_key": "u1", "start_timestamp": 1}, update="SET score = :s", values={":s": 99})
    h.drain()
    flat = lambda fn: [x for batch in seen(h, fn) for x in batch]  # noqa: E731
    assert flat("roll_a") == [str(i) for i in range(1, 8)] + ["1"]
    assert [len(b) for b in seen(h, "roll_b")] == [3, 3, 2]
    assert flat("roll_b") == flat("roll_a")
    assert flat("inserts_only") == [["INSERT", str(i)] for i in range(1, 8)]  # the MODIFY is filtered out
    assert h.dispatcher.lag() == {t: 0 for t in h.dispatcher.lag()}


def test_a_filter_on_the_keys_alone_sees_the_keys_and_delivers_whole_records(h):
    """Such a filter is matched against keys read from the stored bytes: images that look like
    keys (an attribute named Keys, quotes and braces in values) must not confuse it."""
    games = h.table("games")
    trap = {"Keys": {"event_key": "x"}, "note": '}},"Keys":{"start_timestamp":{"N":"2"}}'}
    for ts in (1, 2, 3):
        games.put({"event_key": "u1", "start_timestamp": ts, "score": ts, **trap})
    games.put({"event_key": "x1", "start_timestamp": 1, "score": 9, **trap})  # no "u" prefix
    games.put({"event_key": 'u"}},"2', "start_timestamp": 5, "score": 5})
    games.delete({"event_key": "u1", "start_timestamp": 3})
    h.drain()
    assert [x for batch in seen(h, "keys_filtered") for x in batch] == [
        ["u1", "1", "1"],
        ["u1", "3", "3"],
        ['u"}},"2', "5", "5"],
        ["u1", "3", None],  # the REMOVE: its old image only
    ]


def test_stream_bisect_isolates_a_poison_record_and_reports_it(h):
    jobs = h.stream("jobs")
    jobs.put_many([(json.dumps({"n": i, "poison": i == 3}).encode(), "same-key") for i in range(6)])
    h.drain()
    delivered = sorted({d["n"] for batch in seen(h, "work") for d in batch})
    assert delivered == [0, 1, 2, 4, 5]
    [report] = seen(h, "failed")
    assert report["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert report["KinesisBatchInfo"]["batchSize"] == 1
    seqs = [c.record["kinesis"]["sequenceNumber"] for c in h.client.log.read(0, sources=["stream:jobs"])]
    assert report["KinesisBatchInfo"]["startSequenceNumber"] == seqs[3]


def test_topic_filter_policy_retries_and_dead_letters(h):
    alerts = h.topic("alerts")
    alerts.publish("disk full", attributes={"level": "error"})
    alerts.publish("all good", attributes={"level": "info"})
    alerts.publish("explode", attributes={"level": "error"})
    start = h.now
    h.drain()
    assert seen(h, "page") == ["disk full"]
    [dead] = h.dead_letters("page")
    assert dead.condition == "RetriesExhausted" and dead.attempts == 2
    assert json.loads(dead.event)["Records"][0]["Sns"]["Message"] == "explode"
    assert dead.error["errorType"] == "RuntimeError"
    assert h.now - start == pytest.approx(1.0)  # one retry after the default 1 s, on the virtual clock
    # What `ripple dev` prints per invocation: each attempt with its status, error type and time.
    pages = [d for d in h.deliveries if d.function == "page"]
    assert [(d.ok, d.error_type) for d in pages] == [(True, None), (False, "RuntimeError"), (False, "RuntimeError")]
    assert all(d.duration_ms > 0 for d in pages)


def test_schedule_fires_as_the_clock_passes(h):
    h.advance(4 * 60)
    assert seen(h, "tick") == []
    h.advance(60)
    h.advance(10 * 60)
    times = seen(h, "tick")
    assert len(times) == 3
    assert times[0].endswith("Z") and times == sorted(times)


def test_direct_invoke_still_works(h):
    res = h.invoke("echo", {"x": 1})
    assert res.function_error is None and res.json()["event"] == {"x": 1}


def test_handlers_writes_go_to_the_same_state(h):
    h.bucket("uploads").put("in/x.txt", b"")
    h.drain()
    assert h.table("seen").get({"fn": "on_upload#count", "n": 0})["c"] == 1


def test_a_window_state_keeps_integers_beyond_64_bits(tmp_path):
    """The state a windowed function returns goes back to it, through the checkpoint too, as
    Python's json wrote it (orjson alone refuses such integers, or turns them into floats)."""
    with run_app(load_app(str(Path(__file__).parent / "apps" / "windows.py")), state=tmp_path / "s") as h:
        h.stream("counts").put_many([(b"{}", "k")] * 5)  # three invocations of the window, then its final one
        h.drain()
        finals = h.table("finals").scan_all()
        assert [json.loads(f["state"]) for f in finals] == [{"total": 2**70 + 5}]
        h.dispatcher._save(h.client.store._db.con, "t", "l", 1, 0, (60.0, {"total": 2**70}))
        assert h.dispatcher._window("t", "l") == (60.0, {"total": 2**70})  # what a restart reads back
