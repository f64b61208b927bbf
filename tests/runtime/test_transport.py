"""The warm path's machinery: control-socket frames, and records and logs written behind."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from ripple.runtime import writer as writer_mod
from ripple.runtime.pool import Pool
from ripple.runtime.protocol import Channel
from ripple.runtime.records import InvocationRecord, RecordStore, SqliteRecordStore
from ripple.runtime.writer import RecordWriter


@pytest.fixture
def pair() -> Iterator[tuple[Channel, socket.socket]]:
    ours, theirs = socket.socketpair()
    yield Channel(ours), theirs
    ours.close()
    theirs.close()


#: Rows are stamped now: the writer drops rows older than its retention (a week by default).
NOW = time.time()


def _record(rid: str, function: str = "f") -> InvocationRecord:
    return InvocationRecord(rid, function, "invoke", "RequestResponse", NOW, 0.5, 1, None, 128, 20, "ok")


# --- frames ----------------------------------------------------------------------------------------


def test_a_frame_round_trips_with_its_body_untouched(pair: tuple[Channel, socket.socket]) -> None:
    chan, peer = pair
    Channel(peer).send({"id": "a", "n": 1}, b'{"k": 1}')
    assert chan.recv(timeout=1) == ({"id": "a", "n": 1}, b'{"k": 1}')
    Channel(peer).send({"t": "ready"})
    assert chan.recv() == ({"t": "ready"}, b"")


def test_a_body_bigger_than_one_read_arrives_whole(pair: tuple[Channel, socket.socket]) -> None:
    chan, peer = pair
    body = bytes(range(256)) * 8192  # 2 MiB: many reads, and more than a socket buffer holds
    sender = threading.Thread(target=Channel(peer).send, args=({"big": True}, body))
    sender.start()
    header, got = chan.recv(timeout=5)
    sender.join()
    assert header == {"big": True} and got == body


def test_frames_sent_back_to_back_are_read_one_at_a_time(pair: tuple[Channel, socket.socket]) -> None:
    chan, peer = pair
    other = Channel(peer)
    other.send({"n": 1}, b"one")
    other.send({"n": 2}, b"two")
    assert chan.recv(timeout=1) == ({"n": 1}, b"one")
    assert chan.buffered  # the second frame came with the first read
    assert chan.recv(timeout=1) == ({"n": 2}, b"two")
    assert not chan.buffered


def test_garbage_after_a_frame_breaks_the_next_read_not_this_one(pair: tuple[Channel, socket.socket]) -> None:
    chan, peer = pair
    Channel(peer).send({"ok": True}, b"null")
    peer.sendall(b"\xff" * 64)
    assert chan.recv(timeout=1) == ({"ok": True}, b"null")
    with pytest.raises(ValueError):
        chan.recv(timeout=1)


def test_a_header_that_is_not_an_object_is_refused(pair: tuple[Channel, socket.socket]) -> None:
    chan, peer = pair
    peer.sendall(b"\x00\x00\x00\x02\x00\x00\x00\x00[]")
    with pytest.raises(ValueError):
        chan.recv(timeout=1)


def test_a_peer_gone_mid_frame_is_end_of_file(pair: tuple[Channel, socket.socket]) -> None:
    chan, peer = pair
    peer.sendall(b"\x00\x00\x00\x10\x00\x00\x00\x00{")
    peer.close()
    with pytest.raises(EOFError):
        chan.recv(timeout=1)


def test_a_frame_that_stops_coming_times_out(pair: tuple[Channel, socket.socket]) -> None:
    chan, peer = pair
    peer.sendall(b"\x00\x00\x00\x10\x00\x00\x00\x00{")
    with pytest.raises(TimeoutError):
        chan.recv(timeout=0.05)


# --- records and logs, written behind ----------------------------------------------------------------


def test_flush_makes_everything_queued_visible_to_another_reader(tmp_path: Path) -> None:
    store = SqliteRecordStore(tmp_path / "runtime.sqlite3")
    w = RecordWriter(store)
    try:
        for i in range(200):
            rid = f"r{i:03d}"
            w.log_rows([("f", rid, NOW, f"START {rid}")])
            w.record(_record(rid))
            w.log("f", rid, [(NOW, f"END {rid}"), (NOW, f"REPORT {rid}")])
        assert w.flush()
        reader = SqliteRecordStore(tmp_path / "runtime.sqlite3")  # as `ripple logs` opens it
        try:
            assert len(reader.invocations("f", limit=1000)) == 200
            messages = [line.message for line in reader.logs("f")]
        finally:
            reader.close()
    finally:
        w.close()
        store.close()
    assert messages[:3] == ["START r000", "END r000", "REPORT r000"]
    assert len(messages) == 600 and messages[-1] == "REPORT r199"


def test_close_stores_what_is_still_queued(tmp_path: Path) -> None:
    store = SqliteRecordStore(tmp_path / "runtime.sqlite3")
    w = RecordWriter(store)
    for i in range(50):
        w.record(_record(f"r{i}"))
        w.log_rows([("f", f"r{i}", NOW, "line")])
    w.close()
    w.close()  # idempotent
    try:
        assert len(store.invocations(limit=100)) == 50
        assert len(store.logs()) == 50
    finally:
        store.close()


class _Failing(RecordStore):
    def __init__(self) -> None:
        self.calls = 0

    def add(self, invocations: Sequence[InvocationRecord], logs: Sequence[tuple[str, str, float, str]]) -> None:
        self.calls += 1
        raise OSError("disk full")

    def invocations(self, function=None, *, statuses=(), limit=100):  # type: ignore[no-untyped-def]
        return []

    def logs(self, function=None, *, after_id=0, since=None, limit=1000):  # type: ignore[no-untyped-def]
        return []

    def trim(self, before: float) -> int:
        return 0

    def close(self) -> None:
        pass


def test_a_failing_store_is_reported_and_the_writer_goes_on(capsys: pytest.CaptureFixture[str]) -> None:
    store = _Failing()
    w = RecordWriter(store)
    try:
        w.record(_record("a"))
        assert w.flush()
        w.record(_record("b"))
        assert w.flush()
    finally:
        w.close()
    assert store.calls == 2
    assert "could not store 1 records, 0 log lines: disk full" in capsys.readouterr().err


def test_producers_wait_for_a_writer_that_falls_behind(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(writer_mod, "MAX_BACKLOG", 10)
    store = SqliteRecordStore(tmp_path / "runtime.sqlite3")
    w = RecordWriter(store)
    try:
        for i in range(11):
            w.log_rows([("f", "r", NOW, f"line {i}")])
        # The 11th row went over the bound: the producer waited until the rows were stored.
        assert len(store.logs()) == 11
    finally:
        w.close()
        store.close()


def test_records_read_back_as_they_were_written(tmp_path: Path) -> None:
    store = SqliteRecordStore(tmp_path / "runtime.sqlite3")
    try:
        rec = InvocationRecord("r", "f", "s3", "Event", 2.5, 1.25, 2, 9.5, 256, 31, "error", "KeyError", "'k'")
        store.add([rec], [])
        assert store.invocations() == [rec]
        assert store.invocations()[0]._asdict()["error_message"] == "'k'"
    finally:
        store.close()


def test_a_closed_pool_has_stored_every_record_and_line(pool: Pool) -> None:
    results = [pool.invoke("echo", {"n": i}) for i in range(20)]
    assert [r.json()["event"] for r in results] == [{"n": i} for i in range(20)]
    pool.close()  # no flush: closing makes them durable
    store = SqliteRecordStore.in_state(pool.state)
    try:
        records = store.invocations("echo", limit=100)
        lines = store.logs("echo")
    finally:
        store.close()
    assert {r.request_id for r in records} == {r.request_id for r in results}
    assert all(r.status == "ok" and r.billed_duration_ms >= 1 for r in records)
    ends = [line.request_id for line in lines if line.message.startswith("END ")]
    assert ends == [r.request_id for r in results]  # logs keep the order invocations ran in


def test_records_and_lines_older_than_the_retention_are_dropped(tmp_path: Path) -> None:
    store = SqliteRecordStore(tmp_path / "runtime.sqlite3")
    old = NOW - 8 * 24 * 3600
    store.add(
        [InvocationRecord("old", "f", "invoke", "RequestResponse", old, 1.0, 1, None, 128, 20, "ok")],
        [("f", "old", old, "START old"), ("f", "old", old + 1, "END old")],
    )
    w = RecordWriter(store)  # the default retention: a week
    try:
        w.record(_record("new"))
        w.log_rows([("f", "new", NOW, "START new")])
        assert w.flush()
        assert [r.request_id for r in store.invocations(limit=10)] == ["new"]
        assert [line.message for line in store.logs()] == ["START new"]
    finally:
        w.close()
    keep_all = RecordWriter(store, retention_s=None)
    try:
        store.add([], [("f", "older", old, "kept")])
        keep_all.record(_record("again"))
        assert keep_all.flush()
        assert [line.message for line in store.logs()] == ["START new", "kept"]
        assert store.trim(NOW + 1) == 4 and store.logs() == [] and store.invocations() == []
    finally:
        keep_all.close()
        store.close()
