"""The state folder: where it lives, what it refuses, and that several processes can share it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import ripple
from ripple import errors
from ripple.store.embedded.db import DB_NAME


def test_default_and_env_locations(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RIPPLE_STATE", raising=False)
    with ripple.connect() as c:
        assert Path(c.folder) == tmp_path / ".ripple"
    monkeypatch.setenv("RIPPLE_STATE", str(tmp_path / "elsewhere"))
    with ripple.connect() as c:
        assert Path(c.folder) == tmp_path / "elsewhere"
    with ripple.connect(tmp_path / "explicit") as c:
        assert Path(c.folder) == tmp_path / "explicit"
    assert (tmp_path / ".ripple" / DB_NAME).exists() and (tmp_path / "elsewhere" / DB_NAME).exists()


def test_wal_mode(client):
    con = sqlite3.connect(Path(client.folder) / DB_NAME)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _digest(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_state_from_a_newer_ripple_is_refused_untouched(tmp_path):
    with ripple.connect(tmp_path / "s") as c:
        c.create_bucket("keep-me").put("k", b"v")
    con = sqlite3.connect(tmp_path / "s" / DB_NAME)
    con.execute("PRAGMA user_version=99")
    con.close()
    before = _digest(tmp_path / "s")
    with pytest.raises(errors.StateTooNew, match="newer ripple"):
        ripple.connect(tmp_path / "s")
    assert _digest(tmp_path / "s") == before


def test_state_from_schema_1_is_migrated_with_its_items(tmp_path):
    with ripple.connect(tmp_path / "s") as c:
        t = c.create_table("games", hash_key="u:S", range_key="t:N")
        t.batch_write(puts=[{"u": f"p{i}", "t": i, "score": i * 10} for i in range(20)])
    # Put the items back in schema 1's layout (a WITHOUT ROWID table), as an older ripple left them.
    con = sqlite3.connect(tmp_path / "s" / DB_NAME, isolation_level=None)
    con.executescript(
        "BEGIN; ALTER TABLE items RENAME TO items_new;"
        "CREATE TABLE items(tid INTEGER NOT NULL, hk BLOB NOT NULL, rk BLOB NOT NULL, item BLOB NOT NULL,"
        " PRIMARY KEY(tid, hk, rk)) WITHOUT ROWID;"
        "INSERT INTO items SELECT tid, hk, rk, item FROM items_new; DROP TABLE items_new;"
        "PRAGMA user_version=1; COMMIT;"
    )
    con.close()
    with ripple.connect(tmp_path / "s") as c:
        t = c.table("games")
        assert t.get({"u": "p7", "t": 7}) == {"u": "p7", "t": 7, "score": 70}
        assert [i["t"] for i in t.query_all(key_condition="u = :u", values={":u": "p3"})] == [3]
        t.put({"u": "p7", "t": 7, "score": 1})
        assert t.get({"u": "p7", "t": 7})["score"] == 1 and len(list(t.scan_all())) == 20
    con = sqlite3.connect(tmp_path / "s" / DB_NAME)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 2
    assert [r[1] for r in con.execute("PRAGMA table_info(items)")] == ["id", "tid", "hk", "rk", "item"]


def test_not_a_database(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / DB_NAME).write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(errors.StateError, match=r"not a ripple database|damaged"):
        ripple.connect(tmp_path / "s")


def test_state_path_is_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(errors.StateError):
        ripple.connect(tmp_path / "file")


@pytest.fixture
def small_mount(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_read_only_state_folder(small_mount):
    state = small_mount / "s"
    with ripple.connect(state) as c:
        c.create_bucket("ro-bucket").put("k", b"v")
    before = _digest(state)
    subprocess.run(["mount", "-o", "remount,ro", str(small_mount)], check=True)
    try:
        with pytest.raises(errors.StateReadOnly, match="read-only"):
            c = ripple.connect(state)
            c.bucket("ro-bucket").put("k2", b"v2")
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_mount)], check=True)
    assert _digest(state) == before
    with ripple.connect(state) as c:
        assert c.bucket("ro-bucket").read("k") == b"v" and not c.bucket("ro-bucket").exists("k2")


def test_full_state_folder(small_mount):
    state = small_mount / "s"
    with ripple.connect(state) as c:
        b = c.create_bucket("full-bucket")
        b.put("small", b"v")
        pos = c.log.latest()
        with pytest.raises(errors.StateFull, match="full"):
            for i in range(100):
                b.put(f"big{i}", os.urandom(200_000))
        written = c.log.latest()
        assert b.read("small") == b"v"
        # Every object the log mentions is whole; the failed put left nothing behind.
        for ch in c.log.read(pos):
            assert len(b.read(ch.partition)) == 200_000
        assert len(list(b.keys())) == 1 + written - pos
    con = sqlite3.connect(state / DB_NAME)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


WRITER = """
import sys, ripple
c = ripple.connect(sys.argv[1])
b, t = c.bucket("shared"), c.table("shared-table")
for i in range(int(sys.argv[3])):
    b.put(f"{sys.argv[2]}/{i}", b"x")
    t.update({"id": "counter"}, update="ADD n :one", values={":one": 1})
"""


def test_several_processes_write_one_state(tmp_path):
    state = tmp_path / "s"
    with ripple.connect(state) as c:
        c.create_bucket("shared")
        c.create_table("shared-table", hash_key="id:S", stream="NEW_IMAGE")
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(state), f"w{n}", "60"]) for n in range(4)]
    assert [p.wait(120) for p in procs] == [0, 0, 0, 0]
    with ripple.connect(state) as c:
        assert len(list(c.bucket("shared").keys())) == 240
        assert c.table("shared-table").get({"id": "counter"})["n"] == 240  # no lost update
        changes = c.log.read(0, limit=10_000)
        assert len(changes) == 480 and len({ch.seq for ch in changes}) == 480
        counts = [int(ch.record["dynamodb"]["NewImage"]["n"]["N"]) for ch in changes if ch.source.startswith("table")]
        assert counts == list(range(1, 241))  # table records in commit order


def test_a_second_client_in_one_process_keeps_the_first_ones_locks(tmp_path):
    # ripple dev opens a second client (its HTTP server) beside the platform's. Opening it must
    # not drop the first client's SQLite file locks: without them, the next process to close its
    # connection believes it is the last user, checkpoints and deletes the WAL under the open
    # connections (seen as functions that stop firing and "database disk image is malformed").
    state = tmp_path / "s"
    a = ripple.connect(state)
    a.create_bucket("site").put("before", b"1")
    b = ripple.connect(state)
    assert b.bucket("site").read("before") == b"1"
    writer = "import ripple, sys\nc = ripple.connect(sys.argv[1])\nc.bucket('site').put('k', b'x')\nc.close()\n"
    subprocess.run([sys.executable, "-c", writer, str(state)], check=True, timeout=120)
    assert (state / f"{DB_NAME}-wal").exists(), "another process took this one's database for unused"
    assert a.bucket("site").read("k") == b"x" and b.bucket("site").read("k") == b"x"
    b.close()
    a.close()


HOLDER = """
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()  # hold the write lock until told
con.execute("COMMIT")
"""


def test_a_write_waits_for_another_processs_lock_then_gives_up_untouched(tmp_path):
    """A write waits for another process's write lock: it goes through once the lock is released,
    and gives up at the busy timeout with nothing written (its connection still usable)."""
    from ripple.store.embedded.db import Database

    db = Database(tmp_path, busy_timeout_s=0.3)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db.path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(sqlite3.OperationalError, match="locked"), db.write() as con:
            con.execute("CREATE TABLE nope(x)")
        assert not db.con.in_transaction
        # Released while a write waits: the write goes through once the holder commits.
        import threading

        done = threading.Event()

        def write() -> None:
            db2 = Database(tmp_path, busy_timeout_s=30)
            with db2.write() as con:
                con.execute("CREATE TABLE later(x)")
            db2.close()
            done.set()

        t = threading.Thread(target=write)
        t.start()
        assert not done.wait(0.2)  # blocked behind the holder
        holder.stdin.write("\n")
        holder.stdin.flush()
        t.join(30)
        assert done.is_set()
    finally:
        holder.kill()
        holder.wait()
    names = {r[0] for r in db.con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "later" in names and "nope" not in names
    db.close()
