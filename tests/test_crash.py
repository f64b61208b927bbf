"""Crash test (issue 2 §6): a child process writes objects, items, stream records and topic messages in a
loop and is SIGKILLed at random moments, again and again, on the same state folder.

After each kill the parent checks that the store opens cleanly, that SQLite's integrity check passes,
and that the journal the child kept, the change log and the stored data agree exactly:

- every operation the journal says returned is there, with exactly the change records it should have
  made (predicted from a model of the store replayed from the journal), in log order;
- the one operation in flight at the kill is either wholly there (data and records) or wholly absent;
- no change record is left over without the operation that made it, and no data change without its record
  (the bucket's keys and etags and the table's items equal the model's);
- log positions strictly increase and every record's AWS sequence field matches its position;
- every object is readable and its body's MD5 is its etag, blob reference counts are exact, and after
  ``gc()`` the blob folder holds exactly the files live objects need.

Deterministic given ``RIPPLE_CRASH_SEED`` (printed; the child's operation stream and the kill delays derive
from it; where in that stream a kill lands is up to the machine's timing). ``RIPPLE_CRASH_KILLS`` sets the
number of kills (default 60: 35–55 s on the 2-core machine, depending on its other load).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import random
import reprlib
import select
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest

import ripple
from ripple.events import dynamodb as ddb_events
from ripple.events import kinesis
from ripple.events import s3 as s3_events
from ripple.store import values as vals
from ripple.store.base import Change
from ripple.store.embedded.blobs import INLINE_MAX
from ripple.store.embedded.db import DB_NAME

WORKER = Path(__file__).with_name("crash_worker.py")
_SHORT = reprlib.Repr()  # keyword arguments only from Python 3.12
_SHORT.maxstring, _SHORT.maxother, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxlevel = 40, 60, 8, 8, 4
SEED = int(os.environ.get("RIPPLE_CRASH_SEED", "20261127"))
KILLS = int(os.environ.get("RIPPLE_CRASH_KILLS", "60"))
SHARDS = 2
READY_TIMEOUT_S = 30.0

Expected = tuple[Any, ...]  # a change record reduced to what the operation decides (see _normalize)
Plan = tuple[list[Expected], Callable[[], None], Callable[[Any, list[Change]], bool]]


class CrashFailure(AssertionError):
    pass


def _plain(item: dict[str, Any] | None) -> dict[str, Any] | None:
    """An item with Decimal numbers as ints, comparable with the journal's JSON."""
    if item is None:
        return None
    return {k: int(v) if isinstance(v, Decimal) else v for k, v in item.items()}


def _normalize(c: Change) -> Expected:
    """The part of a change record that its operation determines, after checking the record's own
    sequence field against its log position."""
    rec = c.record
    if c.source == "bucket:objs":
        obj = rec["s3"]["object"]
        _require(obj["key"] == quote_plus(c.partition, safe="/"), f"S3 record key {obj['key']!r} at {c.seq}")
        _require(obj["sequencer"] == s3_events.sequencer(c.seq), f"S3 sequencer {obj['sequencer']} at {c.seq}")
        return (c.source, c.partition, rec["eventName"], obj.get("eTag"), obj.get("size"))
    if c.source == "table:items":
        ddb = rec["dynamodb"]
        _require(ddb["SequenceNumber"] == ddb_events.sequence_number(c.seq), f"DynamoDB SequenceNumber at {c.seq}")
        new = _plain(vals.item_from_av(ddb["NewImage"])) if "NewImage" in ddb else None
        old = _plain(vals.item_from_av(ddb["OldImage"])) if "OldImage" in ddb else None
        pk = vals.item_from_av(ddb["Keys"])["pk"]
        return (c.source, pk, rec["eventName"], new, old)
    if c.source == "stream:recs":
        k = rec["kinesis"]
        _require(k["sequenceNumber"] == kinesis.sequence_number(c.seq), f"Kinesis sequenceNumber at {c.seq}")
        return (c.source, c.partition, k["partitionKey"], base64.b64decode(k["data"]).decode())
    if c.source == "topic:news":
        return (c.source, c.partition, rec["Sns"]["Message"], rec["Sns"]["Subject"])
    raise CrashFailure(f"change record from an unknown source {c.source!r} at {c.seq}")


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise CrashFailure(what)


def _short(value: Any) -> str:
    """A repr short enough for a failure message (items carry ~150 bytes of padding each)."""
    text = _SHORT.repr(value)
    return text if len(text) <= 1500 else text[:1500] + "…"


def _records_diff(got: list[Expected], want: list[Expected]) -> str:
    """Where two record lists part: counts and the first difference."""
    for n, (g, w) in enumerate(zip(got, want, strict=False)):
        if g != w:
            return f"{len(got)} records where {len(want)} belong; #{n} is {_short(g)}, should be {_short(w)}"
    return f"{len(got)} records where {len(want)} belong; the first {min(len(got), len(want))} agree"


class Model:
    """What the store must hold, rebuilt by replaying the journal against the change log."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[str, int, str]] = {}  # key -> (md5, size, sha256)
        self.items: dict[str, dict[str, Any]] = {}
        self.pos = 0  # the last log position accounted for
        self.records = 0  # change records accounted for
        self.stats = dict.fromkeys(
            ("ops", "in_flight_present", "in_flight_absent", "in_flight_no_records", "no_in_flight", "records"), 0
        )

    def plan(self, op: dict[str, Any]) -> Plan:
        """The records ``op`` must append given the current model, how it changes the model, and a check
        of what the call returned."""
        kind = op["op"]
        if kind == "obj_put":
            key, md5 = op["key"], op["md5"]
            return (
                [("bucket:objs", key, "ObjectCreated:Put", md5, op["size"])],
                lambda: self.objects.__setitem__(key, (md5, op["size"], op["sha256"])),
                lambda r, _: r == f'"{md5}"',
            )
        if kind == "obj_delete":
            key, present = op["key"], op["key"] in self.objects
            return (
                [("bucket:objs", key, "ObjectRemoved:Delete", None, None)] if present else [],
                lambda: self.objects.pop(key, None),
                lambda r, _: r is present,
            )
        if kind == "obj_copy":
            src, key = op["src"], op["key"]
            if src not in self.objects:
                return [], lambda: None, lambda r, _: r is None
            md5, size, sha = self.objects[src]
            return (
                [("bucket:objs", key, "ObjectCreated:Copy", md5, size)],
                lambda: self.objects.__setitem__(key, (md5, size, sha)),
                lambda r, _: r == f'"{md5}"',
            )
        if kind == "item_put":
            item = op["item"]
            old = self.items.get(item["pk"])
            return (
                [("table:items", item["pk"], "MODIFY" if old else "INSERT", item, old)],
                lambda: self.items.__setitem__(item["pk"], item),
                lambda r, _: r == old,
            )
        if kind == "item_update":
            key = op["key"]
            old = self.items.get(key)
            if old is None or old["ver"] != op["expect"]:
                return [], lambda: None, lambda r, _: r == "failed"
            new = {**old, "ver": old["ver"] + 1, "op": op["i"]}
            return (
                [("table:items", key, "MODIFY", new, old)],
                lambda: self.items.__setitem__(key, new),
                lambda r, _: r == "ok",
            )
        if kind == "item_delete":
            key = op["key"]
            old = self.items.get(key)
            return (
                [("table:items", key, "REMOVE", None, old)] if old else [],
                lambda: self.items.pop(key, None),
                lambda r, _: r == old,
            )
        if kind == "batch_write":
            after = copy.deepcopy(self.items)
            expected: list[Expected] = []
            for entry in op["ops"]:
                if "put" in entry:
                    item = entry["put"]
                    old = after.get(item["pk"])
                    expected.append(("table:items", item["pk"], "MODIFY" if old else "INSERT", item, old))
                    after[item["pk"]] = item
                else:
                    key = entry["delete"]["pk"]
                    old = after.pop(key, None)
                    if old is not None:
                        expected.append(("table:items", key, "REMOVE", None, old))
            return expected, lambda: setattr(self, "items", after), lambda r, _: r is None
        if kind == "stream_put":
            expected = [
                ("stream:recs", kinesis.shard_id(kinesis.shard_for(kinesis.hash_key(pk), SHARDS)), pk, data)
                for data, pk in op["records"]
            ]
            return (
                expected,
                lambda: None,
                lambda r, got: r == [[c.partition, kinesis.sequence_number(c.seq)] for c in got],
            )
        if kind == "publish":
            return (
                [("topic:news", "", op["message"], op["subject"])],
                lambda: None,
                lambda r, got: r == got[0].record["Sns"]["MessageId"],
            )
        if kind == "gc":
            return [], lambda: None, lambda r, _: r is None
        raise CrashFailure(f"unknown operation in the journal: {op!r}")


def _read_journal(path: Path) -> list[tuple[dict[str, Any], tuple[bool, Any]]]:
    """``(intent, (returned, result))`` in order. A torn last line (the kill hit the write) is dropped:
    a torn intent means the call never started, a torn done line that it is still in flight."""
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")[:-1]  # the piece after the last newline is torn or empty
    out: list[tuple[dict[str, Any], tuple[bool, Any]]] = []
    for line in lines:
        entry = json.loads(line)
        if "i" in entry:
            _require(not out or out[-1][1][0], f"{path.name}: intent {entry['i']} before the previous op returned")
            out.append((entry, (False, None)))
        else:
            _require(bool(out) and out[-1][0]["i"] == entry["d"], f"{path.name}: done line without its intent")
            out[-1] = (out[-1][0], (True, entry["r"]))
    return out


def _read_log(client: ripple.Client, after: int) -> list[Change]:
    changes: list[Change] = []
    while True:
        page = client.log.read(after, limit=1000)
        if not page:
            return changes
        for c in page:
            _require(c.seq > after, f"log position {c.seq} does not increase (after {after})")
            after = c.seq
        changes.extend(page)


def _check_run(model: Model, client: ripple.Client, journal: Path) -> None:
    """Account for every change record appended since the last check, operation by operation."""
    ops = _read_journal(journal)
    changes = _read_log(client, model.pos)
    got = [_normalize(c) for c in changes]
    at = 0
    for n, (op, (returned, result)) in enumerate(ops):
        expected, apply, check = model.plan(op)
        if returned:
            window = got[at : at + len(expected)]
            _require(
                window == expected,
                f"op {op['i']} ({op['op']}) returned but the log holds {_records_diff(window, expected)}",
            )
            _require(check(result, changes[at : at + len(expected)]), f"op {op['i']} returned {_short(result)}")
            apply()
            at += len(expected)
            model.stats["ops"] += 1
            continue
        # In flight at the kill: necessarily the last one; all or nothing.
        _require(n == len(ops) - 1, f"op {op['i']} has no done line but is not the last")
        rest = got[at:]
        if not expected:
            model.stats["in_flight_no_records"] += 1  # e.g. a failed condition: present and absent look alike
        elif rest == expected:
            apply()
            at += len(expected)
            model.stats["in_flight_present"] += 1
        else:
            _require(
                not rest,
                f"op {op['i']} ({op['op']}) in flight at the kill was half done: {_records_diff(rest, expected)}",
            )
            model.stats["in_flight_absent"] += 1
    if not ops or ops[-1][1][0]:
        model.stats["no_in_flight"] += 1
    _require(at == len(got), f"{len(got) - at} change records without an operation: {_short(got[at:])}")
    if changes:
        model.pos = changes[-1].seq
    model.records += len(changes)
    model.stats["records"] = model.records


def _blob_files(state: Path) -> set[str]:
    root = state / "blobs"
    return {sub.name + f.name for sub in root.iterdir() if sub.is_dir() and sub.name != "tmp" for f in sub.iterdir()}


def _check_contents(model: Model, client: ripple.Client, state: Path) -> None:
    """The stored data equals the model, and the blob folder and blob rows account for it exactly."""
    bucket = client.bucket("objs")
    listing = bucket.list(max_keys=1000)
    _require(not listing.is_truncated, "more than 1000 objects")
    actual = {o.key: (o.etag.strip('"'), o.size) for o in listing.contents}
    wanted = {k: (md5, size) for k, (md5, size, _) in model.objects.items()}
    _require(actual == wanted, f"bucket holds {_short(actual)}, the journal and log say {_short(wanted)}")
    for key, (md5, _, _) in model.objects.items():
        try:
            body = bucket.read(key)
        except ripple.RippleError as e:
            raise CrashFailure(f"object {key!r} is listed but unreadable: {type(e).__name__}: {e}") from e
        _require(hashlib.md5(body).hexdigest() == md5, f"object {key!r}: body MD5 is not its etag {md5}")
    items = {i["pk"]: _plain(i) for i in client.table("items").scan_all()}
    for key in sorted(items.keys() | model.items.keys()):
        have, want = items.get(key), model.items.get(key)
        _require(have == want, f"table item {key!r} is {_short(have)}; the journal and log say {_short(want)}")

    con = sqlite3.connect(state / DB_NAME)
    try:
        (ok,) = con.execute("PRAGMA integrity_check").fetchone()
        _require(ok == "ok", f"integrity_check: {ok}")
        bad = con.execute(
            "SELECT b.hash, b.refs, (SELECT COUNT(*) FROM objects o WHERE o.blob=b.id) AS n "
            "FROM blobs b WHERE refs != n"
        ).fetchall()
        _require(not bad, f"blob reference counts differ from the objects using them: {bad!r}")
        dangling = con.execute("SELECT key FROM objects WHERE blob NOT IN (SELECT id FROM blobs)").fetchall()
        _require(not dangling, f"objects pointing at no blob row: {dangling!r}")
        count, top = con.execute("SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM changes").fetchone()
        _require(
            (count, top) == (model.records, model.pos),
            f"the changes table has {count} rows up to {top}; "
            f"the reader accounted for {model.records} up to {model.pos}",
        )
    finally:
        con.close()
    _require(client.log.latest() == model.pos, f"log.latest() is {client.log.latest()}, not {model.pos}")

    needed = {sha for (_, size, sha) in model.objects.values() if size > INLINE_MAX}
    missing = needed - _blob_files(state)
    _require(not missing, f"blob files missing for live objects: {sorted(missing)}")
    client.gc()
    files = _blob_files(state)
    _require(files == needed, f"after gc the blob folder has extra {sorted(files - needed)}")
    tmp = list((state / "blobs" / "tmp").iterdir())
    _require(not tmp, f"after gc temporary files remain: {tmp}")


def _wait_ready(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """True when the child printed its ready line; False when it exited first."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        raise CrashFailure(f"the worker printed nothing in {timeout} s")
    return proc.stdout.readline() == b"ready\n"


def test_crash_kill_loop(tmp_path: Path) -> None:
    print(f"crash test: RIPPLE_CRASH_SEED={SEED} RIPPLE_CRASH_KILLS={KILLS}")
    state = tmp_path / "state"
    with ripple.connect(state) as c:
        c.create_bucket("objs")
        c.create_table("items", hash_key="pk:S", stream="NEW_AND_OLD_IMAGES")
        c.create_stream("recs", shards=SHARDS)
        c.create_topic("news")
    rng = random.Random(f"kills-{SEED}")
    model = Model()
    started = time.monotonic()
    for run in range(1, KILLS + 1):
        journal = tmp_path / f"journal-{run}.jsonl"
        stderr_path = tmp_path / f"worker-{run}.err"
        with open(stderr_path, "wb") as stderr:
            proc = subprocess.Popen(
                [sys.executable, str(WORKER), str(state), str(journal), str(SEED), str(run)],
                stdout=subprocess.PIPE,
                stderr=stderr,
            )
        try:
            if rng.random() < 0.1:
                # Measured from the spawn: may land while the child imports or opens the store.
                time.sleep(rng.uniform(0.1, 0.35))
            else:
                if not _wait_ready(proc, READY_TIMEOUT_S):
                    proc.wait()
                    raise CrashFailure(f"worker exited before ready: {stderr_path.read_text()}")
                time.sleep(rng.uniform(0.0, 0.4))
            if proc.poll() is not None:
                raise CrashFailure(f"worker exited by itself ({proc.returncode}): {stderr_path.read_text()}")
            proc.kill()
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            assert proc.stdout is not None
            proc.stdout.close()
        try:
            with ripple.connect(state) as client:
                _check_run(model, client, journal)
                _check_contents(model, client, state)
        except CrashFailure as e:
            pytest.fail(f"after kill {run} (RIPPLE_CRASH_SEED={SEED}): {e}")
        except Exception as e:
            raise AssertionError(f"after kill {run} (RIPPLE_CRASH_SEED={SEED}): {type(e).__name__}: {e}") from e
    elapsed = time.monotonic() - started
    print(f"crash test: {KILLS} kills in {elapsed:.1f} s; {model.stats}")
    # Guards against a vacuous pass: the child must have done real work and been caught mid-operation.
    assert model.stats["ops"] >= 10 * KILLS, model.stats
    in_flight = sum(model.stats[k] for k in ("in_flight_present", "in_flight_absent", "in_flight_no_records"))
    assert in_flight >= KILLS // 2, model.stats


def test_released_blob_file_survives_a_concurrent_put_of_the_same_body(tmp_path: Path) -> None:
    """Connection A deletes the only object using a >64 KiB body and commits; the file is removed after
    that commit. If connection B (another process, in real life) puts the same body in the gap, B's
    object must keep its file. The gap is forced by running B's put between A's commit and A's removal,
    which is exactly what the scheduler may do."""
    body = random.Random(7).randbytes(INLINE_MAX + 1000)
    with ripple.connect(tmp_path) as a, ripple.connect(tmp_path) as b:
        a.create_bucket("bkt")
        a.bucket("bkt").put("one", body)
        blobs = a.store._blobs
        remove = blobs.remove_if_unreferenced

        def remove_after_a_concurrent_put(db, sha256: str) -> None:
            b.bucket("bkt").put("two", body)
            remove(db, sha256)

        blobs.remove_if_unreferenced = remove_after_a_concurrent_put  # type: ignore[method-assign]
        a.bucket("bkt").delete("one")
        assert b.bucket("bkt").read("two") == body
        b.bucket("bkt").delete("two")
        assert not blobs.path(hashlib.sha256(body).hexdigest()).exists()  # the last release still frees it


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-s", "-q"]))
