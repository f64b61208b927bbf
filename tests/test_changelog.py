"""The change log: ordered, readable from any position by many readers, retention with a loud edge,
and a commit wakes a waiting reader in another process at once."""

from __future__ import annotations

import subprocess
import sys
import threading

import orjson
import pytest

import ripple
from ripple import errors
from ripple.errors import ValidationError


class Clock:
    def __init__(self, t: float = 1_800_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_positions_increase_and_readers_are_independent(client):
    b = client.create_bucket("log-bucket")
    t = client.create_table("log-table", hash_key="id:S", stream="KEYS_ONLY")
    for i in range(30):
        b.put(f"k{i % 3}", str(i).encode())
        t.put({"id": f"i{i % 4}", "n": i})
    changes = client.log.read(0, limit=1000)
    assert len(changes) == 60
    seqs = [c.seq for c in changes]
    assert seqs == sorted(set(seqs))
    # Any position, any number of readers, each with its own cursor.
    assert [c.seq for c in client.log.read(seqs[9], limit=5)] == seqs[10:15]
    assert client.log.read(seqs[-1]) == []
    only_table = client.log.read(0, sources=["table:log-table"])
    assert len(only_table) == 30 and {c.source for c in only_table} == {"table:log-table"}
    # Per partition (object key) the S3 sequencer increases with the writes.
    per_key = [c.record["s3"]["object"]["sequencer"] for c in changes if c.partition == "k1"]
    assert per_key == sorted(per_key) and len(set(per_key)) == len(per_key)


def test_follow_yields_new_changes(client):
    b = client.create_bucket("follow-bucket")
    b.put("a", b"1")
    it = client.log.follow(0, idle_timeout=5)
    assert next(it).partition == "a"
    threading.Thread(target=lambda: b.put("b", b"2")).start()
    assert next(it).partition == "b"


def test_bad_positions(client):
    for bad in [-1, "3", 1.5]:
        with pytest.raises(errors.ValidationError):
            client.log.read(bad)
    with pytest.raises(errors.ValidationError):
        client.log.read(0, limit=0)


def test_retention_trims_and_a_late_reader_is_told(tmp_path):
    clock = Clock()
    with ripple.connect(tmp_path / "s", clock=clock) as c:
        b = c.create_bucket("ret-bucket")
        for i in range(5):
            b.put(f"old{i}", b"x")
        old_last = c.log.latest()
        clock.t += 25 * 3600  # past the default 24 h retention
        for i in range(3):
            b.put(f"new{i}", b"x")
        assert c.log.trim() == 5
        assert c.log.horizon() == old_last
        with pytest.raises(errors.TrimmedData, match=f"records up to {old_last} were trimmed"):
            c.log.read(0)
        with pytest.raises(errors.TrimmedData):
            c.log.read(old_last - 1, sources=["bucket:ret-bucket"])
        fresh = c.log.read(c.log.horizon())
        assert [ch.partition for ch in fresh] == ["new0", "new1", "new2"]
        # A source that was not trimmed is unaffected.
        c.create_topic("quiet")
        assert c.log.read(0, sources=["topic:quiet"]) == []


def test_stream_retention_is_its_own(tmp_path):
    clock = Clock()
    with ripple.connect(tmp_path / "s", clock=clock) as c:
        s = c.create_stream("long", retention_hours=48)
        s.put(b"x", partition_key="p")
        c.create_bucket("short-bucket").put("k", b"x")
        clock.t += 30 * 3600
        assert c.log.trim() == 1  # the bucket's record, not the stream's
        only = ["stream:long"]
        assert c.log.horizon(only) == 0
        assert [ch.source for ch in c.log.read(0, sources=only)] == ["stream:long"]
        # Across all sources the safe start is past every trimmed record.
        assert c.log.horizon() == 2
        with pytest.raises(errors.TrimmedData):
            c.log.read(0)


def test_position_at_timestamp(tmp_path):
    clock = Clock()
    with ripple.connect(tmp_path / "s", clock=clock) as c:
        b = c.create_bucket("at-bucket")
        b.put("a", b"")
        clock.t += 10
        b.put("b", b"")
        pos = c.log.position_at(clock.t)
        assert [ch.partition for ch in c.log.read(pos)] == ["b"]
        assert c.log.position_at(clock.t + 100) == c.log.latest()


WRITER = """
import sys, ripple
c = ripple.connect(sys.argv[1])
c.bucket("wake-bucket").put("from-child", b"hi")
"""


def test_commit_in_another_process_wakes_a_waiting_reader(tmp_path):
    with ripple.connect(tmp_path / "s") as c:
        c.create_bucket("wake-bucket")
        pos = c.log.latest()
        result = {}

        def wait():
            result["woken"] = c.log.wait(pos, timeout=60)

        waiter = threading.Thread(target=wait)
        waiter.start()
        subprocess.run([sys.executable, "-c", WRITER, str(tmp_path / "s")], check=True, timeout=60)
        waiter.join(60)
        assert result["woken"] is True
        assert c.log.read(pos)[0].partition == "from-child"
        assert c.log.wait(c.log.latest(), timeout=0.05) is False


def test_changes_carry_their_stored_bytes_and_decode_on_demand(client):
    from ripple.store.base import Change

    client.create_bucket("raw-bytes").put("a b.txt", b"x")
    [c] = client.log.read(0)
    assert orjson.loads(c.raw) == c.record and c.record["s3"]["object"]["key"] == "a+b.txt"
    built = Change(c.seq, c.source, c.partition, c.ts, c.record, c.hops)
    assert built == c and orjson.loads(built.raw) == c.record
    with pytest.raises(TypeError):
        Change(1, "s", "p", 0.0)
    with pytest.raises(TypeError):
        Change(1, "s", "p", 0.0, {}, raw=b"{}")


def test_a_reader_that_waits_again_and_again_keeps_one_wake_socket(tmp_path):
    """Repeated waits reuse the thread's waiter: one marker in wake/, a commit made between two
    waits still wakes the second, and closing the client removes the marker."""
    folder = tmp_path / "s"
    with ripple.connect(folder) as c:
        b = c.create_bucket("again-bucket")
        for i in range(5):
            pos = c.log.latest()
            assert c.log.wait(pos, timeout=0.01) is False
            b.put(f"k{i}", b"x")  # committed while nobody waits
            assert c.log.wait(pos, timeout=5) is True
        assert len(list((folder / "wake").iterdir())) == 1
    assert list((folder / "wake").iterdir()) == []


def test_wait_until_returns_the_condition_once_a_commit_makes_it_true(tmp_path):
    with ripple.connect(tmp_path / "s") as c:
        b = c.create_bucket("until-bucket")
        threading.Thread(target=lambda: b.put("late", b"here")).start()  # commits while we wait (or before)
        assert c.log.wait_until(lambda: b.exists("late") and b.read("late"), 30) == b"here"
        with pytest.raises(TimeoutError, match=r"0\.05 s"):
            c.log.wait_until(lambda: b.exists("never"), 0.05)


def test_wait_until_checks_every_so_often_for_what_no_change_record_announces(tmp_path):
    # A condition on state that commits no change record (here: a counter; in the demo, a trigger's
    # checkpoints) is seen at the next ``every``, long before a timeout far shorter than the 1 s default.
    with ripple.connect(tmp_path / "s") as c:
        calls = []
        assert c.log.wait_until(lambda: calls.append(1) or len(calls) >= 3, 0.5, every=0.01) is True
        for bad in (0, -1, float("nan"), "fast", True, None):
            with pytest.raises(ValidationError, match="every must be a positive number of seconds, got"):
                c.log.wait_until(lambda: True, 1, every=bad)
