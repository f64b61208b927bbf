"""bench/leaderboard: the leaderboard roll-up under load, ripple beside the same roll-up on Redis (issue 7 §3).

For each system, one after the other on the same machine, with the consumer in its own process and
the load generator (loadgen.py) in one or more others:

- ripple: ``ripple --state <fresh folder> serve examples/leaderboard/app.py`` (the real app: the
  ``rollup`` function on the ``games`` table's stream in warm sandboxes, ``expire`` every minute);
  writers call ``table.batch_write`` with 25 games;
- redis: redis_rollup.py, a consumer-group reader of the ``lb:games`` stream keeping ZSETs and the
  same materialized boards; writers store each game and ``XADD`` it, one MULTI/EXEC per 25 games.

Phases per system:

1. warm-up: a few thousand games; wait until the roll-up has caught up;
2. freshness at ``--fresh-rate`` (1,000 games/s) for ``--fresh-seconds``: one writer, a probe game
   with a top score every ``--probe-every`` s; this process watches the board (woken by the change
   log's commit notifications for ripple, by a PUBLISH for Redis; no busy polling) and records when
   each probe first shows; freshness = shown - the probe's batch_write returned;
3. ceilings: the consumer paused (SIGSTOP), ``--writers`` writers write ``--backlog`` games as fast as
   they can (the writers' ceiling, alone on the machine); the consumer resumed, the time until the
   backlog is processed (the roll-up's ceiling, alone);
4. read latency at that table size: ``--reads`` board reads (one key lookup), against computing the
   board on read (ripple: a scan of the games table with a filter, as DynamoDB would need without the
   view; Redis: from the ZSET index, and from the raw games with SCAN) — and whether they agree;
5. sustained rate: offered rates stepped up (fractions of the lower ceiling), ``--step-seconds`` each;
   the roll-up keeps up when the writers achieve ≥ 95 % of the offered rate and its lag (games
   committed but not yet processed) stays bounded: at the end of the step ≤ 2 s of offered games, and
   growing by < 5 % of the offered rate over the step's second half. The highest passing rate is the
   sustained rate (one bisection step after the first failure).

Lag: ripple — change records of player games (``event_key`` ``u-…``) on the ``games`` stream after the
trigger's lowest lane checkpoint (read from the state folder's SQLite in this process); Redis — the
consumer group's ``lag`` plus its pending entries (``XINFO GROUPS``).

Run: ``.venv/bin/python bench/leaderboard/run.py`` (a few minutes; ``--quick`` for a smoke run).
Writes ``results.json`` and ``leaderboard.png`` to ``--out`` and prints a Markdown summary.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
VENV_BIN = Path(sys.executable).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from loadgen import PROBE_BASE  # noqa: E402
from procs import STARTED, cpu_seconds, descendants, end, pct, redis_pid, signal_group, spawn  # noqa: E402
from redis_rollup import entry  # noqa: E402

PLAYER_PREFIX_HEX = b"u-".hex()  # the change log's partition is the hex of the encoded keys


def cpu_delta(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds per process name between two snapshots."""
    out: dict[str, float] = {}
    for pid, (comm, t) in after.items():
        out[comm] = out.get(comm, 0.0) + t - before.get(pid, (comm, 0.0))[1]
    return out


# -- the two systems -------------------------------------------------------------------------------


class _Consumer:
    """A system whose roll-up runs in the process group of ``proc`` (paused to build a backlog)."""

    proc: subprocess.Popen | None

    def pause(self) -> None:
        assert self.proc is not None
        signal_group(self.proc, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        signal_group(self.proc, signal.SIGCONT)


class RippleSystem(_Consumer):
    name = "ripple"

    def __init__(self, app: Path, run_dir: Path, parallel: int):
        self.app, self.run_dir, self.parallel = app, run_dir, parallel
        self.state = run_dir / "state"
        self.log = run_dir / "ripple-serve.log"
        self.proc: subprocess.Popen | None = None
        self._trigger: str | None = None

    def start(self) -> None:
        import ripple

        env = {**os.environ, "LEADERBOARD_PARALLELIZATION": str(self.parallel)}
        args = [str(VENV_BIN / "ripple"), "--state", str(self.state), "serve", "--no-http", str(self.app)]
        self.proc = spawn(args, log=self.log, env=env, cwd=ROOT)
        deadline = time.monotonic() + 60
        while "ripple: app" not in (self.log.read_text() if self.log.exists() else ""):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ripple serve did not start: {self.log.read_text() if self.log.exists() else ''}")
            time.sleep(0.05)
        self.client = ripple.connect(self.state)
        self.table = self.client.table("games")
        self.db = sqlite3.connect(self.state / "ripple.sqlite3", isolation_level=None)
        self.read_board = _board_reader()

    def writer_args(self) -> list[str]:
        return ["--system", "ripple", "--state", str(self.state)]

    def consumer_pids(self) -> list[int]:
        assert self.proc is not None
        return descendants(self.proc.pid)

    def lag(self) -> int:
        if self._trigger is None:
            row = self.db.execute(
                "SELECT trigger FROM checkpoints WHERE trigger LIKE '%:table:games' LIMIT 1"
            ).fetchone()
            if row is None:
                return 0
            self._trigger = row[0]
        (pos,) = self.db.execute("SELECT MIN(position) FROM checkpoints WHERE trigger=?", (self._trigger,)).fetchone()
        (n,) = self.db.execute(
            "SELECT COUNT(*) FROM changes WHERE source='table:games' AND seq>? AND partition GLOB ?",
            (pos, PLAYER_PREFIX_HEX + "*"),
        ).fetchone()
        return n

    def board(self) -> dict | None:
        return self.read_board(self.client, "recent")

    def watch(self, done: Any, on_board: Any) -> None:
        """Watch the change log for writes of the board's item and read the board after each.

        Woken by every commit to the state folder (the change log's wake-up socket, which the
        platform itself waits on), it looks for the view item's change record among the records
        committed since the last look (an indexed query on the log, no decoding), and reads the
        board (one get_item) only when the item was written: never busy polling, and no board read
        per unrelated commit, which would take a core from the roll-up on 2 cores."""
        from ripple.store.values import encode_key

        item = f"{encode_key('leaderboard#recent', 'S').hex()}:{encode_key(0, 'N').hex()}"
        waiter = self.client.store._notifier.waiter()  # registered before the first look: no lost wake-up
        pos = -1
        try:
            while not done():
                (latest,) = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name='changes'").fetchone()
                written = (
                    pos < 0
                    or self.db.execute(
                        "SELECT 1 FROM changes WHERE source='table:games' AND seq>? AND seq<=? AND partition=? LIMIT 1",
                        (pos, latest, item),
                    ).fetchone()
                )
                pos = latest
                if written:
                    t = time.time()  # the write is committed, so visible, by now
                    on_board(self.board(), t)
                waiter.wait(0.2)
        finally:
            waiter.close()

    def count_games(self) -> int:
        (n,) = self.db.execute(
            "SELECT COUNT(*) FROM changes WHERE source='table:games' AND partition GLOB ?", (PLAYER_PREFIX_HEX + "*",)
        ).fetchone()
        return n

    def computed_boards(self) -> dict[str, tuple[float, list]]:
        """The recent board computed on read, as the roll-up avoids: a scan of the whole games table
        with a filter (no index has start times: the table's key is the player), then the app's own
        ranking (ranking.py: parse, points, order) for the top 10."""
        import ranking  # type: ignore[import-not-found]  # examples/leaderboard, put on the path by _board_reader

        t = time.perf_counter()
        now = time.time()
        rows = self.table.scan_all(
            filter="completed = :t AND start_timestamp > :since",
            values={":t": True, ":since": int(now) - ranking.WINDOW_S},
        )
        games = [ranking.parse_game(g) for g in rows if not ranking.is_view_key(g["event_key"], g["start_timestamp"])]
        top = sorted(games, key=ranking.rank)[: ranking.TOP_N]
        return {"scan + filter + rank": (time.perf_counter() - t, top)}

    def view_writes(self) -> dict[str, int]:
        """Change records of view items so far (every view write is one), by kind of view."""
        kinds = {
            "recent": "leaderboard#recent",
            "day": "leaderboard#day#",
            "best": "best#",
            "epoch": "leaderboard#epoch",
        }
        return {
            k: self.db.execute(
                "SELECT COUNT(*) FROM changes WHERE source='table:games' AND partition GLOB ?",
                (prefix.encode().hex() + "*",),
            ).fetchone()[0]
            for k, prefix in kinds.items()
        }

    def view_info(self) -> dict[str, Any]:
        """How big the recent view's item is: a board read decodes all of it (state included)."""
        from ripple.store.values import encode_key

        row = self.db.execute(
            "SELECT length(item) FROM items WHERE hk=? AND rk=?",
            (encode_key("leaderboard#recent", "S"), encode_key(0, "N")),
        ).fetchone()
        item = self.table.get({"event_key": "leaderboard#recent", "start_timestamp": 0}) or {}
        from rollup import kept_entries

        return {"stored_bytes": row[0] if row else None, "kept": len(kept_entries(item)) if item else 0}

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.db.close()
        with contextlib.suppress(Exception):
            self.client.close()
        if self.proc is not None:
            end(self.proc)


def _board_reader() -> Any:
    """The app's own reader (examples/leaderboard/board.py: one get_item), else the same lookup."""
    with contextlib.suppress(ImportError):
        sys.path.insert(0, str(ROOT / "examples" / "leaderboard"))
        from board import read_board  # type: ignore[import-not-found]

        return read_board

    def read_board(client: Any, view: str = "recent") -> dict | None:
        return client.table("games").get({"event_key": f"leaderboard#{view}", "start_timestamp": 0})

    return read_board


class RedisSystem(_Consumer):
    name = "redis"

    def __init__(self, url: str, run_dir: Path):
        self.url, self.run_dir = url, run_dir
        self.log = run_dir / "redis-rollup.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        from redis import Redis

        self.r = Redis.from_url(self.url)
        self.proc = spawn(
            [str(VENV_BIN / "python"), str(HERE / "redis_rollup.py"), "--redis", self.url], log=self.log, cwd=ROOT
        )
        deadline = time.monotonic() + 30
        while "ready" not in (self.log.read_text() if self.log.exists() else ""):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis rollup did not start: {self.log.read_text() if self.log.exists() else ''}")
            time.sleep(0.05)

    def writer_args(self) -> list[str]:
        return ["--system", "redis", "--redis", self.url]

    def consumer_pids(self) -> list[int]:
        assert self.proc is not None
        rp = redis_pid()
        return [self.proc.pid, *([rp] if rp else [])]

    def lag(self) -> int:
        for g in self.r.xinfo_groups("lb:games"):
            return int(g.get("lag") or 0) + int(g.get("pending") or 0)
        return 0

    def board(self) -> dict | None:
        import orjson

        body = self.r.get("lb:board:recent")
        return orjson.loads(body) if body else None

    def watch(self, done: Any, on_board: Any) -> None:
        """Read the board after each PUBLISH the consumer makes when it rewrote it, until ``done()``."""
        ps = self.r.pubsub(ignore_subscribe_messages=True)
        ps.subscribe("lb:board:recent")
        try:
            while not done():
                t = time.time()
                on_board(self.board(), t)
                ps.get_message(timeout=0.2)
                while ps.get_message(timeout=0):  # coalesce a burst of notices into one read
                    pass
        finally:
            ps.close()

    def count_games(self) -> int:
        return int(self.r.xlen("lb:games"))

    def computed_boards(self) -> dict[str, tuple[float, list]]:
        import orjson

        out = {}
        t = time.perf_counter()
        members = self.r.zrevrange("lb:recent:score", 0, 9)
        top = [orjson.loads(b) for b in self.r.mget([b"game:" + m for m in members])]
        out["from the ZSET index (ZREVRANGE + MGET)"] = (time.perf_counter() - t, top)
        since = time.time() - 3600
        t = time.perf_counter()
        games = []
        keys: list[bytes] = []
        for k in self.r.scan_iter(match="game:*", count=5000):
            keys.append(k)
            if len(keys) == 2000:
                games += [orjson.loads(b) for b in self.r.mget(keys) if b]
                keys = []
        if keys:
            games += [orjson.loads(b) for b in self.r.mget(keys) if b]
        top = sorted(
            (entry(g) for g in games if g["completed"] and g["start_timestamp"] > since),
            key=lambda e: (-e["points"], e["start_timestamp"], e["event_key"]),
        )[:10]
        out["from raw games (SCAN + MGET + filter + sort)"] = (time.perf_counter() - t, top)
        return out

    def stop(self) -> None:
        if self.proc is not None:
            end(self.proc)
        with contextlib.suppress(Exception):
            self.r.close()


# -- phases ----------------------------------------------------------------------------------------


class Writers:
    """Start ``n`` loadgen processes with one shared start time; collect their results."""

    def __init__(self, system: Any, run_dir: Path, args: argparse.Namespace, seed: int):
        self.system, self.run_dir, self.args, self.seed = system, run_dir, args, seed
        self.k = 0

    def run(
        self,
        n: int,
        *,
        rate: float = 0.0,
        duration: float = 0.0,
        count: int = 0,
        probe_every: float = 0.0,
        background: bool = False,
    ) -> Any:
        self.k += 1
        self.seed += 1
        outs, procs = [], []
        for i in range(n):
            out = self.run_dir / f"writer-{self.k}-{i}.json"
            cmd = [
                str(VENV_BIN / "python"),
                str(HERE / "loadgen.py"),
                *self.system.writer_args(),
                "--rate",
                str(rate / n),
                "--duration",
                str(duration),
                "--count",
                str(count // n if count else 0),
                "--seed",
                str(self.seed),
                "--handles",
                str(self.args.handles),
                "--part",
                str(i),
                "--parts",
                str(n),
                "--probe-every",
                str(probe_every if i == 0 else 0),
                "--probe-from",
                str(self.k * 1_000_000),
                "--out",
                str(out),
            ]
            procs.append(spawn(cmd, log=self.run_dir / "writers.log", cwd=ROOT))
            outs.append(out)
        deadline = time.monotonic() + 30
        while not all(Path(str(o) + ".ready").exists() for o in outs):
            if time.monotonic() > deadline or any(p.poll() not in (None, 0) for p in procs):
                raise RuntimeError("writers did not start: " + (self.run_dir / "writers.log").read_text()[-2000:])
            time.sleep(0.02)
        start_at = time.time() + 0.1
        for o in outs:  # the writers wait for this file's time; they are all imported and connected by now
            Path(str(o) + ".go.tmp").write_text(str(start_at))
            os.replace(str(o) + ".go.tmp", str(o) + ".go")  # atomic: a writer never reads half of it
        handle = (procs, outs)
        return handle if background else self.collect(handle)

    def collect(self, handle: Any, timeout: float = 600) -> dict[str, Any]:
        procs, outs = handle
        for p in procs:
            p.wait(timeout)
            if p in STARTED:
                STARTED.remove(p)
        missing = [o for o in outs if not Path(o).exists()]
        if missing:
            log = (self.run_dir / "writers.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"a writer failed ({', '.join(p.name for p in missing)}):\n{log}")
        results = [json.loads(Path(o).read_text()) for o in outs]
        written = sum(r["written"] for r in results)
        elapsed = max(r["elapsed"] for r in results)
        return {
            "written": written,
            "elapsed": elapsed,
            "rate": written / elapsed if elapsed else 0.0,
            "calls": [c for r in results for c in r["calls"]],
            "probes": [p for r in results for p in r["probes"]],
            "cpu": sum(r["cpu"] for r in results),
        }


def wait_caught_up(system: Any, timeout: float, interval: float = 0.05) -> float | None:
    """Seconds until the lag is 0 (None on timeout)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if system.lag() == 0:
            return time.monotonic() - t0
        time.sleep(interval)
    return None


def phase_freshness(system: Any, writers: Writers, args: argparse.Namespace, rate: float) -> dict[str, Any]:
    """One writer at ``rate`` for ``--fresh-seconds`` with probes; watch the board until every game
    written has been rolled up (so a roll-up that falls behind shows its whole backlog's delay)."""
    seen: dict[int, float] = {}
    state: dict[str, Any] = {"version": None, "versions": 0, "lag_at": 0.0, "exited": None, "caught": False}
    lags: list[tuple[float, int]] = []
    t0 = time.monotonic()
    deadline = t0 + args.fresh_seconds + 120

    def on_board(b: dict | None, t: float) -> None:
        if not b or b.get("version") == state["version"]:
            return
        state["version"] = b.get("version")
        state["versions"] += 1
        for g in b.get("games", []):
            if g.get("handle") == "probe":
                seen.setdefault(int(g["score"]) - PROBE_BASE, t)

    handle = writers.run(1, rate=rate, duration=args.fresh_seconds, probe_every=args.probe_every, background=True)

    def done() -> bool:
        now = time.monotonic()
        if state["caught"] or now > deadline:
            return True  # one more board read happened after the lag reached 0
        if now - state["lag_at"] >= 0.25:
            state["lag_at"] = now
            if state["exited"] is None and all(p.poll() is not None for p in handle[0]):
                state["exited"] = now
            lag = system.lag()
            lags.append((now - t0, lag))
            if state["exited"] is not None and lag == 0:
                state["caught"] = True  # return after the next read
        return False

    system.watch(done, on_board)
    w = writers.collect(handle)
    fresh = [seen[k] - t for k, t in w["probes"] if k in seen]
    return {
        "offered": rate,
        "achieved": w["rate"],
        "probes": len(w["probes"]),
        "seen": len(fresh),
        "freshness_s": fresh,
        "board_versions_seen": state["versions"],
        "caught_up": state["caught"],
        "lag": lags,
        "write_call_ms": {p: pct(w["calls"], p) * 1e3 for p in (50, 99)},
    }


def phase_ceilings(system: Any, writers: Writers, args: argparse.Namespace, profile: Path | None) -> dict[str, Any]:
    time.sleep(0.3)
    views_before = system.view_writes() if hasattr(system, "view_writes") else {}
    system.pause()
    try:
        w = writers.run(args.writers, count=args.backlog)
    finally:
        pids = system.consumer_pids()
        before = cpu_seconds(pids)
        spy = None
        if profile is not None and system.name == "ripple":
            spy = subprocess.Popen(
                [
                    str(VENV_BIN / "py-spy"),
                    "record",
                    "-p",
                    str(pids[0]),
                    "--subprocesses",
                    "-r",
                    "500",
                    "--format",
                    "raw",
                    "--nonblocking",
                    "-o",
                    str(profile),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1.0)  # py-spy attaches
        t = time.monotonic()
        system.resume()
    took = wait_caught_up(system, timeout=300)
    drain = time.monotonic() - t
    after = cpu_seconds(system.consumer_pids())
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            spy.wait(30)
    cpu = cpu_delta(before, after)
    n = w["written"]
    views = {k: v - views_before[k] for k, v in system.view_writes().items()} if views_before else {}
    return {
        "backlog": n,
        "writers": args.writers,
        "writer_rate": w["rate"],
        "writer_cpu_us_per_game": w["cpu"] / n * 1e6,
        "write_call_ms": {p: pct(w["calls"], p) * 1e3 for p in (50, 99)},
        "drain_s": drain,
        "drain_rate": n / drain if took is not None else 0.0,
        "drained": took is not None,
        "consumer_cpu_us_per_game": {k: v / n * 1e6 for k, v in cpu.items()},
        "view_writes": views,
    }


def phase_reads(system: Any, args: argparse.Namespace) -> dict[str, Any]:
    lat = []
    board = None
    for _ in range(args.reads):
        t = time.perf_counter()
        board = system.board()
        lat.append(time.perf_counter() - t)
    stored = [(g["event_key"], float(g["start_timestamp"])) for g in (board or {}).get("games", [])]
    computed = {}
    for _ in range(args.compute_reps):
        for name, (secs, top) in system.computed_boards().items():
            c = computed.setdefault(name, {"seconds": []})
            c["seconds"].append(secs)
            c["equal_to_stored_board"] = [(g["event_key"], float(g["start_timestamp"])) for g in top] == stored
    return {
        "view": system.view_info() if hasattr(system, "view_info") else {},
        "games_in_table": system.count_games(),
        "board_read_us": {p: pct(lat, p) * 1e6 for p in (50, 99)},
        "reads": len(lat),
        "computed": computed,
    }


def phase_sustained(system: Any, writers: Writers, args: argparse.Namespace, ceiling: float) -> dict[str, Any]:
    steps = []

    def step(rate: float) -> bool:
        lags: list[tuple[float, int]] = []
        handle = writers.run(args.writers, rate=rate, duration=args.step_seconds, background=True)
        t0 = time.monotonic()
        while any(p.poll() is None for p in handle[0]):
            lags.append((time.monotonic() - t0, system.lag()))
            time.sleep(0.5)
        w = writers.collect(handle)
        caught = wait_caught_up(system, timeout=max(30.0, args.step_seconds * 3))
        half = [(t, n) for t, n in lags if t >= args.step_seconds / 2]
        slope = _slope(half)
        end_lag = max(n for _, n in lags[-3:]) if lags else 0
        ok = w["rate"] >= 0.95 * rate and end_lag <= 2 * rate and slope <= 0.05 * rate
        steps.append(
            {
                "offered": rate,
                "achieved": w["rate"],
                "lag_end": end_lag,
                "lag_max": max((n for _, n in lags), default=0),
                "lag_slope_per_s": slope,
                "catch_up_s": caught,
                "keeps_up": ok,
                "lag": lags,
                "why": "" if ok else ("writers below 95 % of offered" if w["rate"] < 0.95 * rate else "lag grew"),
            }
        )
        print(
            f"    {rate:>8,.0f}/s offered: {w['rate']:>8,.0f}/s written, lag end {end_lag:,}, "
            f"slope {slope:+,.0f}/s -> {'keeps up' if ok else 'falls behind'}",
            flush=True,
        )
        return ok

    best = 0.0
    failed = None
    rates = sorted({_round2(f * ceiling) for f in args.ladder})
    for rate in rates:
        if step(rate):
            best = rate
        else:
            failed = rate
            break
    extra = 0
    while not best and failed is not None and extra < 4:  # even the first step fell behind: go down
        extra += 1
        rate = _round2(failed / 2)
        if step(rate):
            best = rate
        else:
            failed = rate
    extra = 0
    while failed is None and extra < 3:  # every step kept up: go on up
        extra += 1
        rate = _round2(best * 1.25)
        if step(rate):
            best = rate
        else:
            failed = rate
    if failed is not None and best and failed - best > 0.1 * best:
        mid = _round2((best + failed) / 2)
        if step(mid):
            best = mid
    return {"steps": steps, "sustained": best, "ceiling_used": ceiling}


def _round2(x: float) -> float:
    """Two significant digits (offered rates read better: 4,400 not 4,437)."""
    return float(f"{x:.2g}") if x >= 100 else max(10.0, round(x, -1))


def _slope(points: Sequence[tuple[float, int]]) -> float:
    if len(points) < 3:
        return 0.0
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    den = sum((t - mx) ** 2 for t, _ in points)
    return sum((t - mx) * (v - my) for t, v in points) / den if den else 0.0


def measure(system: Any, run_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    writers = Writers(system, run_dir, args, seed=args.seed)
    res: dict[str, Any] = {"system": system.name}
    system.start()
    try:
        print(f"  warm-up ({args.warmup} games)", flush=True)
        writers.run(1, count=args.warmup)
        if wait_caught_up(system, 60) is None:
            raise RuntimeError("the roll-up did not catch up with the warm-up")
        print(f"  ceilings: {args.backlog:,} games by {args.writers} writer(s) with the roll-up paused", flush=True)
        prof = args.out / f"profile-{system.name}.txt" if args.profile else None
        res["ceilings"] = c = phase_ceilings(system, writers, args, prof)
        print(f"    writers {c['writer_rate']:,.0f}/s; roll-up drained {c['drain_rate']:,.0f}/s", flush=True)
        print(f"  reads ({args.reads} board reads)", flush=True)
        res["reads"] = r = phase_reads(system, args)
        print(
            f"    board p50 {r['board_read_us'][50]:.0f} µs; computed: "
            + "; ".join(f"{k} {min(v['seconds']) * 1e3:.0f} ms" for k, v in r["computed"].items()),
            flush=True,
        )
        print("  sustained rate", flush=True)
        ceiling = min(c["writer_rate"], c["drain_rate"] or c["writer_rate"])
        res["sustained"] = phase_sustained(system, writers, args, ceiling)
        rates = [("freshness", args.fresh_rate)]
        sustained = res["sustained"]["sustained"]
        if sustained < args.fresh_rate:
            # Above capacity, freshness is the backlog's age; below it, the mechanism's own delay.
            rates.append(("freshness_below", _round2(max(sustained, 100.0) / 2)))
        for key, rate in rates:
            print(f"  freshness at {rate:,.0f}/s for {args.fresh_seconds:.0f} s", flush=True)
            res[key] = f = phase_freshness(system, writers, args, rate)
            v = f["freshness_s"]
            print(
                f"    p50 {pct(v, 50) * 1e3:.1f} ms, p99 {pct(v, 99) * 1e3:.1f} ms "
                f"({len(v)} of {f['probes']} probes seen)",
                flush=True,
            )
    finally:
        system.stop()
    # ripple serve's line per invocation: the whole log (a few thousand lines) shows each batch's timing.
    lines = system.log.read_text(errors="replace").splitlines()[-20_000:] if system.log.exists() else []
    (args.out / f"{system.name}.log").write_text("\n".join(lines) + "\n")
    return res


# -- report ----------------------------------------------------------------------------------------


def summary(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> str:
    def ms(v: float) -> str:
        return "n/a" if v != v else f"{v * 1e3:.1f}"

    lines = [
        "| measure | " + " | ".join(results) + " | ripple ÷ redis | goal |",
        "| --- |" + " ---: |" * len(results) + " ---: | --- |",
    ]

    def row(label: str, get: Any, fmt: Any, goal: str = "", higher_better: bool = True) -> None:
        vals = {k: get(v) for k, v in results.items()}
        ratio = ""
        if "ripple" in vals and "redis" in vals and vals["redis"] and vals["ripple"] is not None:
            ratio = f"{vals['ripple'] / vals['redis']:.2f}×"
        lines.append(f"| {label} | " + " | ".join(fmt(v) for v in vals.values()) + f" | {ratio} | {goal} |")

    num = lambda v: f"{v:,.0f}"  # noqa: E731
    row(
        "sustained games/s (roll-up keeps up, writers and roll-up together)",
        lambda r: r["sustained"]["sustained"],
        num,
        "≥ 20,000",
    )
    row(
        f"writers' ceiling, games/s ({args.writers} writer(s), roll-up paused)",
        lambda r: r["ceilings"]["writer_rate"],
        num,
    )
    row("roll-up's ceiling, games/s (draining the backlog alone)", lambda r: r["ceilings"]["drain_rate"], num)
    row(f"freshness p50, ms (at {args.fresh_rate:,.0f} games/s)", lambda r: pct(r["freshness"]["freshness_s"], 50), ms)
    row(
        f"freshness p99, ms (at {args.fresh_rate:,.0f} games/s)",
        lambda r: pct(r["freshness"]["freshness_s"], 99),
        ms,
        "≤ 50 ms",
    )
    row("board read p50, µs (one key lookup)", lambda r: r["reads"]["board_read_us"][50], num)
    row("board read p99, µs", lambda r: r["reads"]["board_read_us"][99], num)
    row("writer CPU µs per game (ceiling run)", lambda r: r["ceilings"]["writer_cpu_us_per_game"], num)
    row(
        "roll-up CPU µs per game (drain; all its processes)",
        lambda r: sum(r["ceilings"]["consumer_cpu_us_per_game"].values()),
        num,
    )
    out = "\n".join(lines)
    extra = []
    for name, r in results.items():
        rd = r["reads"]
        for k, v in rd["computed"].items():
            extra.append(
                f"- {name}: board computed on read, {k}: {min(v['seconds']) * 1e3:,.0f} ms at "
                f"{rd['games_in_table']:,} games ({min(v['seconds']) * 1e6 / rd['board_read_us'][50]:,.0f}× the "
                f"board read); same top 10 as the stored board: {'yes' if v['equal_to_stored_board'] else 'NO'}"
            )
        if rd.get("view"):
            extra.append(
                f"- {name}: the recent view's item: {rd['view']['stored_bytes']:,} bytes stored, "
                f"{rd['view']['kept']} games of state beside the 10 shown"
            )
        vw = r["ceilings"].get("view_writes")
        if vw:
            n = r["ceilings"]["backlog"]
            extra.append(
                f"- {name}: view writes while draining {n:,} games: {sum(vw.values()):,} "
                f"({sum(vw.values()) / n:.2f} per game; " + ", ".join(f"{k} {v:,}" for k, v in vw.items()) + ")"
            )
        cpu = r["ceilings"]["consumer_cpu_us_per_game"]
        extra.append(
            f"- {name}: roll-up CPU µs per game by process: "
            + ", ".join(f"{k} {v:.0f}" for k, v in sorted(cpu.items(), key=lambda kv: -kv[1]) if v >= 1)
        )
        for key in ("freshness", "freshness_below"):
            if key not in r:
                continue
            f = r[key]
            extra.append(
                f"- {name}: freshness at {f['offered']:,.0f} games/s offered ({f['achieved']:,.0f} written): "
                f"p50 {ms(pct(f['freshness_s'], 50))}, p90 {ms(pct(f['freshness_s'], 90))}, "
                f"p99 {ms(pct(f['freshness_s'], 99))}, max {ms(max(f['freshness_s'], default=float('nan')))} ms "
                f"({f['seen']} of {f['probes']} probes seen; "
                f"{'caught up after the writer stopped' if f['caught_up'] else 'NOT caught up within 120 s'})"
            )
        steps = ", ".join(
            f"{s['offered']:,.0f} {'✓' if s['keeps_up'] else '✗ (' + s['why'] + ')'}" for s in r["sustained"]["steps"]
        )
        extra.append(f"- {name}: steps (offered games/s): {steps}")
    return out + "\n\n" + "\n".join(extra)


def plot(results: dict[str, dict[str, Any]], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(1, 1 + len(results), figsize=(5.5 * (1 + len(results)), 4.5))
    ax = axes[0]
    for name, r in results.items():
        for key, style in (("freshness", "-"), ("freshness_below", ":")):
            if key not in r:
                continue
            v = sorted(x * 1e3 for x in r[key]["freshness_s"])
            if v:
                ax.plot(
                    v, [(k + 1) / len(v) for k in range(len(v))], style, label=f"{name} at {r[key]['offered']:,.0f}/s"
                )
    ax.axvline(50, color="grey", linewidth=0.6, linestyle=":")
    ax.set_xscale("log")
    ax.set_xlabel("game committed → visible on the board (ms)")
    ax.set_ylabel("fraction of probe games")
    ax.set_title("freshness (probe games)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right")
    for ax, (name, r) in zip(axes[1:], results.items(), strict=True):
        for s in r["sustained"]["steps"]:
            ts = [t for t, _ in s["lag"]]
            ax.plot(
                ts,
                [n for _, n in s["lag"]],
                label=f"{s['offered']:,.0f}/s {'✓' if s['keeps_up'] else '✗'}",
                linestyle="-" if s["keeps_up"] else "--",
            )
        ax.set_xlabel("seconds into the step")
        ax.set_ylabel("lag (games written, not yet rolled up)")
        ax.set_title(f"{name}: lag per offered rate")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


def machine() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError, StopIteration):
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next(ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name"))
    import importlib.metadata as md

    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run([*git, "status", "--short", "--", "src", "examples"], capture_output=True, text=True).stdout
    app = hashlib.sha1()
    for f in sorted((ROOT / "examples" / "leaderboard").glob("*.py")):
        app.update(f.name.encode() + f.read_bytes())
    return {
        "app_sha1": app.hexdigest()[:12],
        "git": head + (" + uncommitted changes in src/ or examples/" if dirty.strip() else ""),
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "sqlite": sqlite3.sqlite_version,
        "redis_server": subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.strip(),
        "redis_py": md.version("redis"),
        "loadavg": os.getloadavg(),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=HERE / "results")
    ap.add_argument("--systems", default="ripple,redis")
    ap.add_argument("--app", type=Path, default=ROOT / "examples" / "leaderboard" / "app.py")
    ap.add_argument("--parallel", type=int, default=1, help="the roll-up's parallelization factor (ripple)")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/12", help="a database this run may flush")
    ap.add_argument("--writers", type=int, default=1, help="writer processes for the ceiling and the steps")
    ap.add_argument("--handles", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=2000)
    ap.add_argument("--fresh-rate", type=float, default=1000.0)
    ap.add_argument("--fresh-seconds", type=float, default=20.0)
    ap.add_argument("--probe-every", type=float, default=0.05)
    ap.add_argument("--backlog", type=int, default=20_000, help="games written with the roll-up paused")
    ap.add_argument("--reads", type=int, default=3000)
    ap.add_argument("--compute-reps", type=int, default=3)
    ap.add_argument("--step-seconds", type=float, default=20.0)
    ap.add_argument("--ladder", default="0.5,0.75,1.0,1.25", help="offered rates, as fractions of the lower ceiling")
    ap.add_argument("--profile", action="store_true", help="py-spy the platform and its sandboxes during the drain")
    ap.add_argument("--quick", action="store_true", help="a smoke run: short phases, small counts")
    args = ap.parse_args()
    if args.quick:
        args.warmup, args.fresh_seconds, args.backlog, args.reads, args.compute_reps, args.step_seconds = (
            500,
            5.0,
            5_000,
            500,
            1,
            6.0,
        )
    args.ladder = [float(x) for x in str(args.ladder).split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    if "ripple" in args.systems.split(",") and not args.app.exists():
        print(f"error: {args.app} does not exist (--app names the leaderboard app)", file=sys.stderr)
        return 2

    from redis import Redis

    redis = Redis.from_url(args.redis)
    if "redis" in args.systems.split(",") and redis.dbsize():
        print(f"error: {args.redis} is not empty; give --redis a database this run may flush", file=sys.stderr)
        return 2

    started = dt.datetime.now(dt.UTC)
    info = machine()
    print(f"{started:%Y-%m-%d %H:%M} UTC; {info['cpus']} CPUs; load {info['loadavg']}; app {args.app}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    results: dict[str, dict[str, Any]] = {}
    run_dir = Path(tempfile.mkdtemp(prefix="ripple-bench-leaderboard-"))
    try:
        for name in args.systems.split(","):
            print(f"{name}:", flush=True)
            d = run_dir / name
            d.mkdir()
            system = RippleSystem(args.app, d, args.parallel) if name == "ripple" else RedisSystem(args.redis, d)
            results[name] = measure(system, d, args)
    finally:
        for proc in list(STARTED):
            end(proc, timeout=5)
        with contextlib.suppress(Exception):
            redis.flushdb()
        shutil.rmtree(run_dir, ignore_errors=True)
    elapsed = (dt.datetime.now(dt.UTC) - started).total_seconds()
    info["loadavg_after"] = os.getloadavg()
    text = summary(results, args)
    print()
    print(text)
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    for r in results.values():  # keep the JSON readable: freshness percentiles, raw values rounded
        for key in ("freshness", "freshness_below"):
            if key in r:
                f = r[key]
                f["freshness_ms"] = {p: pct(f["freshness_s"], p) * 1e3 for p in (50, 90, 99)}
                f["freshness_s"] = [round(x, 6) for x in f["freshness_s"]]
    data = {
        "date": f"{started:%Y-%m-%d %H:%M} UTC",
        "seconds": round(elapsed, 1),
        "command": " ".join([".venv/bin/python", "bench/leaderboard/run.py", *sys.argv[1:]]),
        "machine": info,
        "settings": settings,
        "results": results,
        "summary": text,
    }
    (args.out / "results.json").write_text(json.dumps(data, indent=1, default=str))
    wrote = ["results.json"]
    if plot(results, args.out / "leaderboard.png"):
        wrote.append("leaderboard.png")
    print(f"\n{elapsed:.0f} s; wrote {', '.join(wrote)} to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
