"""The asynchronous queue and dead letters are durable, ordered by due time, and redrivable."""

from __future__ import annotations

import pytest

import ripple
from ripple.dispatch.asyncq import AsyncQueue
from ripple.dispatch.options import AsyncOptions
from ripple.errors import NotFound, ValidationError


@pytest.fixture
def q(tmp_path):
    c = ripple.connect(tmp_path / "s")
    yield c, AsyncQueue(c.store._db)
    c.close()


def test_enqueue_due_retry_and_done(q):
    c, queue = q
    with c.store._db.write() as con:
        queue.enqueue(con, "t1", [b'{"n": 1}', b'{"n": 2}'], now=100.0)
    items = queue.due("t1", now=100.0)
    assert [i.event for i in items] == [b'{"n": 1}', b'{"n": 2}'] and queue.depth("t1") == 2
    queue.retry(items[0], not_before=160.0, error={"errorMessage": "boom"})
    assert [i.event for i in queue.due("t1", now=100.0)] == [b'{"n": 2}']
    assert queue.next_due("t1") == 100.0
    with c.store._db.write() as con:
        queue.done(con, items[1])
    assert queue.next_due("t1") == 160.0
    again = queue.due("t1", now=160.0)
    assert again[0].attempts == 1 and again[0].enqueued == 100.0


def test_survives_reopen(tmp_path):
    with ripple.connect(tmp_path / "s") as c, c.store._db.write() as con:
        AsyncQueue(c.store._db).enqueue(con, "t", [b"{}"], now=1.0)
    with ripple.connect(tmp_path / "s") as c:
        assert AsyncQueue(c.store._db).depth() == 1


def test_dead_letters_list_show_redrive_purge(q):
    c, queue = q
    with c.store._db.write() as con:
        queue.enqueue(con, "t1", [b'{"a": 1}', b'{"a": 2}', b'{"a": 3}'], now=5.0)
    items = queue.due("t1", now=5.0)
    with c.store._db.write() as con:
        for it in items:
            queue.bury(con, it, "fn", "RetriesExhausted", {"errorType": "Exception"}, now=9.0)
    dead = queue.dead_letters("fn")
    assert [d.event for d in dead] == [b'{"a": 1}', b'{"a": 2}', b'{"a": 3}']
    assert dead[0].condition == "RetriesExhausted" and dead[0].attempts == 1 and dead[0].error["errorType"]
    assert queue.dead_letter(dead[1].id).event == b'{"a": 2}'
    assert queue.depth() == 0
    assert queue.redrive([dead[0].id], now=20.0) == 1
    assert [i.event for i in queue.due("t1", now=20.0)] == [b'{"a": 1}']
    with pytest.raises(NotFound, match="999"):
        queue.redrive([999], now=20.0)
    with pytest.raises(NotFound, match="999"):
        queue.purge([999])
    assert queue.purge([dead[1].id]) == 1 and queue.purge(None) == 1
    assert queue.dead_letters() == []


def test_async_options():
    o = AsyncOptions.from_options({"retry_attempts": 1, "retry_delays_s": [5, 10], "on_failure": "topic:alerts"})
    assert o.delay(1) == 5 and o.delay(2) == 10
    assert AsyncOptions().delay(1) == 1.0 and AsyncOptions().delay(2) == 2.0
    for bad, needle in [
        ({"retry_attempts": 3}, "retry_attempts"),
        ({"max_event_age_s": 59}, "max_event_age_s"),
        ({"on_failure": "queue:x"}, "kind must be one of"),
        ({"on_success": "alerts"}, "must look like"),
        ({"retry_delays_s": [1]}, "retry_delays_s"),
        ({"batch_size": 10}, "unknown asynchronous trigger option"),
        ({"dead_letter_queue": "x"}, "unknown asynchronous trigger option"),
    ]:
        with pytest.raises(ValidationError, match=needle):
            AsyncOptions.from_options(bad)
    assert AsyncOptions.from_options({"batch_size": 100, "batch_window_s": 0.2}, batching=True).batch_size == 100
    with pytest.raises(ValidationError, match="needs batch_size"):
        AsyncOptions.from_options({"batch_window_s": 1}, batching=True)
