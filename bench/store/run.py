"""bench/store: ripple's embedded store beside this machine's raw-SQLite floor (issue 2 §6).

Measures, side by side and interleaved in every repetition, on fresh state folders:

- object puts of 1 KiB bodies, one per transaction (ripple: ``bucket.put``) and 25 per transaction
  (ripple: ``bucket.put_many``);
- item puts of ~200-byte items, one per transaction (``table.put``) and 25 per transaction
  (``table.batch_write``), on a table with a NEW_AND_OLD_IMAGES stream so every put writes a record;
- change-log reads: the whole log through ``log.read(after, limit=1000)``.

The floor is plain ``sqlite3`` in this process, on ripple's own schema (same tables and indexes), WAL and
``synchronous=NORMAL`` as ripple opens it, inserting the very rows ripple writes: for an object a
``blobs`` row holding the body, an ``objects`` row and a ``changes`` row with the S3 record ripple
builds (~650 bytes of JSON); for an item an ``items`` row and a ``changes`` row with its DynamoDB record.
Those rows are built before the clock starts, so the floor is the cost of SQLite alone; hashing,
validation and record building are all on ripple's side of the ratio. The log-read floor is the same
paged ``SELECT`` plus ``orjson.loads`` of each record.

Run: ``.venv/bin/python bench/store/run.py`` (about a minute; ``--help`` for sizes). Prints a Markdown
table, writes ``results.json`` and ``latency.png`` (per-operation latency distributions) to ``--out``.
``--profile`` adds a per-statement time breakdown and cProfile summaries of ripple's single puts.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import hashlib
import io
import json
import os
import platform
import pstats
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

import ripple
from ripple.events import dynamodb as ddb_events
from ripple.events import s3 as s3_events
from ripple.store import values as vals
from ripple.store.embedded.db import DB_NAME, SCHEMA

BODY_BYTES = 1024
BATCH = 25
PAGE = 1000
BUCKET, TABLE = "bench", "bench-items"


# -- workload ----------------------------------------------------------------------------------------


def bodies(n: int, seed: int) -> list[bytes]:
    """Distinct 1 KiB bodies (distinct, so content deduplication never saves ripple a blob row)."""
    base = hashlib.shake_256(str(seed).encode()).digest(BODY_BYTES)
    return [i.to_bytes(8, "big") + base[8:] for i in range(n)]


def items(n: int, offset: int = 0) -> list[dict[str, Any]]:
    """~200-byte items (DynamoDB's size rule) with distinct keys."""
    return [
        {"pk": f"user#{offset + i:08d}", "score": 1000 + i, "name": f"player {i}", "note": "n" * 150} for i in range(n)
    ]


# -- the floor ---------------------------------------------------------------------------------------


def floor_db(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    for stmt in SCHEMA.split(";"):
        if stmt.strip():
            con.execute(stmt)
    con.execute("INSERT INTO buckets(name, created) VALUES(?,?)", (BUCKET, time.time()))
    spec = {"hash_key": "pk", "hash_type": "S", "stream_view": "NEW_AND_OLD_IMAGES"}
    con.execute("INSERT INTO tables(name, spec, created) VALUES(?,?,?)", (TABLE, orjson.dumps(spec), time.time()))
    return con


ObjRow = tuple[tuple[Any, ...], tuple[Any, ...], tuple[Any, ...]]
ItemRow = tuple[tuple[Any, ...], tuple[Any, ...]]


def object_rows(keys: Sequence[str], data: Sequence[bytes]) -> list[ObjRow]:
    """(blob row, object row without its blob id, change row) exactly as ripple writes them."""
    now = time.time()
    out = []
    for seq, (key, body) in enumerate(zip(keys, data, strict=True), 1):
        md5 = hashlib.md5(body).hexdigest()
        record = s3_events.record("ObjectCreated:Put", BUCKET, key, ts=now, seq=seq, size=len(body), etag=md5)
        out.append(
            (
                (hashlib.sha256(body).hexdigest(), len(body), body),
                (BUCKET, key, len(body), md5, "binary/octet-stream", None, now),
                (f"bucket:{BUCKET}", key, now, orjson.dumps(record)),
            )
        )
    return out


def item_rows(batch: Sequence[dict[str, Any]]) -> list[ItemRow]:
    """(item row, change row) exactly as ripple writes them (an INSERT record, NEW_AND_OLD_IMAGES)."""
    now = time.time()
    arn = ddb_events.stream_arn(TABLE, now)
    out = []
    for seq, item in enumerate(batch, 1):
        av = vals.item_to_av(item)
        hk = vals.encode_key(item["pk"], "S")
        keys = {"pk": av["pk"]}
        size = len(orjson.dumps(keys)) + len(orjson.dumps(av))
        record = ddb_events.record(
            "INSERT", keys, new=av, old=None, view="NEW_AND_OLD_IMAGES", seq=seq, ts=now, size_bytes=size, arn=arn
        )
        out.append(((1, hk, b"", orjson.dumps(av)), (f"table:{TABLE}", f"{hk.hex()}:", now, orjson.dumps(record))))
    return out


def floor_objects(con: sqlite3.Connection, rows: Sequence[ObjRow], per_txn: int) -> list[int]:
    ex = con.execute
    lat = []
    for start in range(0, len(rows), per_txn):
        t = time.perf_counter_ns()
        ex("BEGIN IMMEDIATE")
        # Each object row needs its blob's id, so blobs go one by one; the rest one executemany per
        # table when batched (the fastest raw way), one execute each when not.
        objs, changes = [], []
        for blob, obj, change in rows[start : start + per_txn]:
            blob_id = ex("INSERT INTO blobs(hash, size, refs, data) VALUES(?,?,1,?)", blob).lastrowid
            objs.append((obj[0], obj[1], blob_id, *obj[2:]))
            changes.append(change)
        run = con.executemany if per_txn > 1 else (lambda sql, rows: ex(sql, rows[0]))
        run(
            "INSERT INTO objects(bucket, key, blob, size, etag, content_type, metadata, modified) "
            "VALUES(?,?,?,?,?,?,?,?)",
            objs,
        )
        run("INSERT INTO changes(source, partition, ts, record) VALUES(?,?,?,?)", changes)
        ex("COMMIT")
        lat.append(time.perf_counter_ns() - t)
    return lat


def floor_items(con: sqlite3.Connection, rows: Sequence[ItemRow], per_txn: int) -> list[int]:
    ex = con.execute
    lat = []
    for start in range(0, len(rows), per_txn):
        t = time.perf_counter_ns()
        ex("BEGIN IMMEDIATE")
        chunk = rows[start : start + per_txn]
        if per_txn == 1:
            item, change = chunk[0]
            ex("INSERT INTO items(tid, hk, rk, item) VALUES(?,?,?,?)", item)
            ex("INSERT INTO changes(source, partition, ts, record) VALUES(?,?,?,?)", change)
        else:  # the fastest raw way to insert many rows: one executemany per table
            con.executemany("INSERT INTO items(tid, hk, rk, item) VALUES(?,?,?,?)", [i for i, _ in chunk])
            con.executemany("INSERT INTO changes(source, partition, ts, record) VALUES(?,?,?,?)", [c for _, c in chunk])
        ex("COMMIT")
        lat.append(time.perf_counter_ns() - t)
    return lat


def floor_read(path: Path) -> tuple[int, list[int]]:
    """Records read, per-page latencies: the paged SELECT ripple runs, plus decoding each record."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        after, n, lat = 0, 0, []
        while True:
            t = time.perf_counter_ns()
            rows = con.execute(
                "SELECT seq, source, partition, ts, record FROM changes WHERE seq > ? ORDER BY seq LIMIT ?",
                (after, PAGE),
            ).fetchall()
            page = [(s, src, p, ts, orjson.loads(rec)) for s, src, p, ts, rec in rows]
            lat.append(time.perf_counter_ns() - t)
            if not page:
                return n, lat
            n += len(page)
            after = page[-1][0]
    finally:
        con.close()


# -- ripple ------------------------------------------------------------------------------------------


def ripple_objects(client: ripple.Client, keys: Sequence[str], data: Sequence[bytes]) -> list[int]:
    put = client.bucket(BUCKET).put
    lat = []
    for key, body in zip(keys, data, strict=True):
        t = time.perf_counter_ns()
        put(key, body)
        lat.append(time.perf_counter_ns() - t)
    return lat


def ripple_objects_batched(client: ripple.Client, keys: Sequence[str], data: Sequence[bytes]) -> list[int]:
    put_many = client.bucket(BUCKET).put_many
    lat = []
    for start in range(0, len(keys), BATCH):
        chunk = list(zip(keys[start : start + BATCH], data[start : start + BATCH], strict=True))
        t = time.perf_counter_ns()
        put_many(chunk)
        lat.append(time.perf_counter_ns() - t)
    return lat


def ripple_items(client: ripple.Client, batch: Sequence[dict[str, Any]], per_txn: int) -> list[int]:
    table = client.table(TABLE)
    lat = []
    if per_txn == 1:
        for item in batch:
            t = time.perf_counter_ns()
            table.put(item)
            lat.append(time.perf_counter_ns() - t)
        return lat
    for start in range(0, len(batch), per_txn):
        chunk = batch[start : start + per_txn]
        t = time.perf_counter_ns()
        table.batch_write(chunk)
        lat.append(time.perf_counter_ns() - t)
    return lat


def ripple_read(client: ripple.Client) -> tuple[int, list[int]]:
    after, n, lat = 0, 0, []
    while True:
        t = time.perf_counter_ns()
        page = client.log.read(after, limit=PAGE)
        for c in page:
            c.record  # noqa: B018 - records decode lazily; a reader uses them, so decode each here
        lat.append(time.perf_counter_ns() - t)
        if not page:
            return n, lat
        n += len(page)
        after = page[-1].seq


def open_ripple(folder: Path) -> ripple.Client:
    client = ripple.connect(folder)
    client.create_bucket(BUCKET)
    client.create_table(TABLE, hash_key="pk:S", stream="NEW_AND_OLD_IMAGES")
    return client


# -- one repetition ----------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    unit: str  # what one latency sample covers
    per_sample: int  # operations per latency sample
    rates: list[float] = field(default_factory=list)  # operations (or records) per second, one per rep
    cpu_us: list[float] = field(default_factory=list)  # this process's CPU time per operation, one per rep
    latencies_ns: list[int] = field(default_factory=list)  # every sample of every rep

    def add(self, ops: int, lat: list[int], cpu_s: float) -> None:
        self.rates.append(ops / (sum(lat) / 1e9))
        self.cpu_us.append(cpu_s / ops * 1e6)
        self.latencies_ns.extend(lat)

    @property
    def median(self) -> float:
        return statistics.median(self.rates)


CASES = {
    "obj1": ("ripple: object put, 1 per txn", "put", 1),
    "obj1.floor": ("floor: object rows, 1 per txn", "put", 1),
    "obj25": ("ripple: bucket.put_many, 25 per txn", "txn of 25", BATCH),
    "obj25.floor": ("floor: object rows, 25 per txn", "txn of 25", BATCH),
    "item1": ("ripple: item put, 1 per txn", "put", 1),
    "item1.floor": ("floor: item rows, 1 per txn", "put", 1),
    "item25": ("ripple: batch_write of 25 items", "txn of 25", BATCH),
    "item25.floor": ("floor: item rows, 25 per txn", "txn of 25", BATCH),
    "read": ("ripple: log.read, pages of 1000", "page", PAGE),
    "read.floor": ("floor: SELECT + orjson.loads, pages of 1000", "page", PAGE),
}


def repetition(base: Path, rep: int, n: int, cases: dict[str, Case]) -> None:
    """One round of every case on fresh folders. Ripple and the floor alternate who goes first, so
    neither always meets a warmer (or busier) machine."""
    rdir, fdir = base / f"ripple-{rep}", base / f"floor-{rep}"
    rdir.mkdir()
    fdir.mkdir()
    keys = [f"photos/2026/{rep:02d}/{i:08d}.jpg" for i in range(n)]
    data = bodies(n, rep)
    singles, batched = items(n), items(n, offset=n)
    obj_rows = object_rows(keys, data)
    it_rows, it_rows25 = item_rows(singles), item_rows(batched)
    client = open_ripple(rdir)
    fcon = floor_db(fdir / DB_NAME)
    try:
        steps: list[tuple[str, Callable[[], list[int]]]] = [
            ("obj1", lambda: ripple_objects(client, keys, data)),
            ("item1", lambda: ripple_items(client, singles, 1)),
            ("item25", lambda: ripple_items(client, batched, BATCH)),
        ]
        floor_steps: list[tuple[str, Callable[[], list[int]]]] = [
            ("obj1.floor", lambda: floor_objects(fcon, obj_rows, 1)),
            ("item1.floor", lambda: floor_items(fcon, it_rows, 1)),
            ("item25.floor", lambda: floor_items(fcon, it_rows25, BATCH)),
        ]
        pairs = list(zip(steps, floor_steps, strict=True))
        for first, second in pairs:
            for name, fn in (first, second) if rep % 2 == 0 else (second, first):
                cpu = time.process_time()
                lat = fn()
                cases[name].add(n, lat, time.process_time() - cpu)
        # Batched objects, last, so both logs hold the same records in the same order.
        xkeys, xdata = [f"x/{k}" for k in keys], bodies(n, rep + 1000)
        extra = object_rows(xkeys, xdata)
        batched_steps = [
            ("obj25", lambda: ripple_objects_batched(client, xkeys, xdata)),
            ("obj25.floor", lambda: floor_objects(fcon, extra, BATCH)),
        ]
        for name, fn in batched_steps if rep % 2 == 0 else batched_steps[::-1]:
            cpu = time.process_time()
            lat = fn()
            cases[name].add(n, lat, time.process_time() - cpu)
        # Both logs now hold 4n records in the same mix. Three passes each; every pass is a sample.
        for _ in range(3):
            for name, fn in (("read", lambda: ripple_read(client)), ("read.floor", lambda: floor_read(fdir / DB_NAME))):
                cpu = time.process_time()
                count, lat = fn()
                cases[name].add(count, lat, time.process_time() - cpu)
    finally:
        client.close()
        fcon.close()
    shutil.rmtree(rdir)
    shutil.rmtree(fdir)


# -- reporting ---------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }


def filesystem(path: Path) -> str:
    """The mount (device and type) that holds ``path``: page-cache behaviour depends on it."""
    best, kind = "", "?"
    target = str(path.resolve())
    with open("/proc/mounts", encoding="utf-8") as f:
        for line in f:
            dev, mnt, fstype = line.split()[:3]
            if target.startswith(mnt) and len(mnt) > len(best):
                best, kind = mnt, f"{fstype} on {dev} ({mnt})"
    return kind


def pct(values: Sequence[int], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] / 1000.0


def table(cases: dict[str, Case]) -> str:
    """The Markdown table for docs/benchmarks.md. Ratios are ripple's time over the floor's for the same
    work (>1: slower); the wall-time one is the goal's measure, the CPU one is steadier on a busy machine."""
    ratio_of = {
        "obj1": "obj1.floor",
        "obj25": "obj25.floor",
        "item1": "item1.floor",
        "item25": "item25.floor",
        "read": "read.floor",
    }
    goal = {"obj1": 3.0, "obj25": 1.5, "item1": 3.0, "item25": 1.5}
    lines = [
        "| case | median ops/s | min–max over runs | CPU µs/op | latency p50 / p99 (µs) "
        "| ripple ÷ floor, wall | ripple ÷ floor, CPU | goal (wall) |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: | --- |",
    ]
    for key, case in cases.items():
        spread = f"{min(case.rates):,.0f}–{max(case.rates):,.0f}"
        lat = f"{pct(case.latencies_ns, 0.5):,.0f} / {pct(case.latencies_ns, 0.99):,.0f} per {case.unit}"
        cpu = statistics.median(case.cpu_us)
        ratio = cpu_ratio = verdict = ""
        if key in ratio_of:
            floor = cases[ratio_of[key]]
            r = floor.median / case.median
            ratio = f"{r:.2f}×"
            cpu_ratio = f"{cpu / statistics.median(floor.cpu_us):.2f}×"
            if key in goal:
                verdict = f"≤ {goal[key]}×: {'met' if r <= goal[key] else 'missed'}"
        lines.append(
            f"| {case.name} | {case.median:,.0f} | {spread} | {cpu:,.1f} | {lat} | {ratio} | {cpu_ratio} | {verdict} |"
        )
    return "\n".join(lines)


def plot(cases: dict[str, Case], path: Path) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: no plot (pip install matplotlib into the venv)"
    panels = [
        ("1 KiB object put, 1 per transaction", ["obj1", "obj1.floor"]),
        ("200 B item put, 1 per transaction", ["item1", "item1.floor"]),
        ("25 items per transaction (batch_write)", ["item25", "item25.floor"]),
        ("log read, page of 1000 records", ["read", "read.floor"]),
    ]
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    for ax, (title, keys) in zip(axes.flat, panels, strict=True):
        for key, colour in zip(keys, ("tab:blue", "tab:orange"), strict=True):
            lat = sorted(v / 1000.0 for v in cases[key].latencies_ns)
            ys = [(i + 1) / len(lat) for i in range(len(lat))]
            ax.plot(lat, ys, color=colour, label=f"{cases[key].name} (p50 {pct(cases[key].latencies_ns, 0.5):,.0f} µs)")
        ax.set_xscale("log")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("latency per call (µs, log scale)")
        ax.set_ylabel("fraction of calls ≤ x")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle("bench/store: per-operation latency, ripple vs raw SQLite floor (CDF)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return None


class TimedConnection:
    """Stands in for a ``sqlite3.Connection`` and adds each statement's ``execute`` time to ``stats``
    (rows are fetched later and so are not counted; every statement here returns at most one row)."""

    def __init__(self, con: sqlite3.Connection, stats: dict[str, list[int]]):
        self._con = con
        self._stats = stats

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        t = time.perf_counter_ns()
        cur = self._con.execute(sql, params)
        entry = self._stats.setdefault(" ".join(sql.split())[:70], [0, 0])
        entry[0] += 1
        entry[1] += time.perf_counter_ns() - t
        return cur

    def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
        t = time.perf_counter_ns()
        cur = self._con.executemany(sql, rows)
        entry = self._stats.setdefault("(many) " + " ".join(sql.split())[:63], [0, 0])
        entry[0] += 1
        entry[1] += time.perf_counter_ns() - t
        return cur

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def breakdown(base: Path, n: int) -> str:
    """Per operation: wall time, time inside each SQL statement's ``execute`` or ``executemany``, and
    the rest (Python, record building, after-commit hooks), for ripple's single and 25-per-call object
    and item puts, each beside the floor writing the same rows."""
    client = open_ripple(base / "breakdown")
    fcon = floor_db(base / "breakdown-floor.sqlite3")
    db = client.store._db
    plain = db.con
    keys = [f"b/{i:08d}" for i in range(n)]
    data = bodies(n, 77)
    cases: list[tuple[str, Callable[[Any], list[int]]]] = [
        ("ripple: object put, 1 per txn", lambda _: ripple_objects(client, keys, data)),
        ("floor: object rows, 1 per txn", lambda con, r=object_rows(keys, data): floor_objects(con, r, 1)),
        (
            "ripple: put_many of 25 (per object)",
            lambda _, k=[f"m/{i:08d}" for i in range(n)], d=bodies(n, 78): ripple_objects_batched(client, k, d),
        ),
        (
            "floor: object rows, 25 per txn (per object)",
            lambda con, r=object_rows([f"m/{i:08d}" for i in range(n)], bodies(n, 78)): floor_objects(con, r, BATCH),
        ),
        ("ripple: item put, 1 per txn", lambda _, b=items(n, 10 * n): ripple_items(client, b, 1)),
        ("floor: item rows, 1 per txn", lambda con, r=item_rows(items(n, 10 * n)): floor_items(con, r, 1)),
        ("ripple: batch_write of 25 (per item)", lambda _, b=items(n, 20 * n): ripple_items(client, b, BATCH)),
        (
            "floor: item rows, 25 per txn (per item)",
            lambda con, r=item_rows(items(n, 20 * n)): floor_items(con, r, BATCH),
        ),
    ]
    out = io.StringIO()
    try:
        for title, fn in cases:
            stats: dict[str, list[int]] = {}
            timed = TimedConnection(fcon if title.startswith("floor") else plain, stats)
            db._local.con = timed  # ripple's thread-local connection, wrapped for this case only
            try:
                wall_us = sum(fn(timed)) / 1000 / n
            finally:
                db._local.con = plain
            sql_us = sum(ns for _, ns in stats.values()) / 1000 / n
            out.write(f"\n{title}: {wall_us:,.1f} µs per item = {sql_us:,.1f} in SQL + {wall_us - sql_us:,.1f} other\n")
            for sql, (count, ns) in sorted(stats.items(), key=lambda kv: -kv[1][1]):
                out.write(f"  {ns / 1000 / n:8.1f} µs  {count / n:5.2f}×  {sql}\n")
    finally:
        client.close()
        fcon.close()
    return out.getvalue()


def profile(base: Path, n: int) -> str:
    """cProfile of ripple's single object and item puts (cumulative time, top entries)."""
    out = io.StringIO()
    folder = base / "profile"
    client = open_ripple(folder)
    try:
        keys = [f"prof/{i:08d}" for i in range(n)]
        data = bodies(n, 99)
        batch = items(n)
        for title, fn in (
            ("object put", lambda: ripple_objects(client, keys, data)),
            ("item put", lambda: ripple_items(client, batch, 1)),
        ):
            prof = cProfile.Profile()
            prof.enable()
            fn()
            prof.disable()
            out.write(f"\n==== cProfile: {n} × ripple {title} (sorted by tottime) ====\n")
            pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(25)
    finally:
        client.close()
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=7, help="repetitions (medians are over these)")
    ap.add_argument("-n", type=int, default=2000, help="operations per case per repetition (a multiple of 25)")
    ap.add_argument("--dir", type=Path, default=None, help="where the state folders go (default: a temp dir)")
    ap.add_argument("--out", type=Path, default=Path("bench/out/store"), help="results.json and latency.png")
    ap.add_argument("--profile", action="store_true", help="also cProfile ripple's single puts")
    args = ap.parse_args(argv)
    if args.n % BATCH:
        ap.error(f"-n must be a multiple of {BATCH}")
    args.out.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="ripple-bench-", dir=args.dir))
    started = time.monotonic()
    try:
        info = machine() | {"filesystem": filesystem(base), "reps": args.reps, "n": args.n}
        info["command"] = " ".join([Path(sys.executable).name, *sys.argv])
        # Other work on the machine shows up as noise; the load average before the run says how much.
        info["loadavg_before"] = os.getloadavg()
        print(json.dumps(info, indent=1))
        warm = {k: Case(*v) for k, v in CASES.items()}
        repetition(base, -1, 250, warm)  # imports, page cache and CPU frequency settle; not reported
        cases = {k: Case(*v) for k, v in CASES.items()}
        for rep in range(args.reps):
            repetition(base, rep, args.n, cases)
            print(f"rep {rep + 1}/{args.reps} done ({time.monotonic() - started:.0f} s)", file=sys.stderr)
        report = table(cases)
        print(report)
        note = plot(cases, args.out / "latency.png")
        print(note or f"plot: {args.out / 'latency.png'}")
        results = {
            "machine": info,
            "cases": {
                k: {"name": c.name, "rates": c.rates, "median": c.median, "cpu_us_per_op": c.cpu_us}
                for k, c in cases.items()
            },
            "table": report,
        }
        if args.profile:
            text = breakdown(base, args.n) + profile(base, args.n)
            (args.out / "profile.txt").write_text(text, encoding="utf-8")
            print(f"profile: {args.out / 'profile.txt'}")
        results["seconds"] = round(time.monotonic() - started, 1)
        results["loadavg_after"] = os.getloadavg()
        (args.out / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
        print(f"total {results['seconds']} s")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
