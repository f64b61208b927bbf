"""The load generator: a game server writing finished games, in batches of up to 25, at a chosen rate.

Run by run.py as one or more separate processes (``--writers``); each writes its own share of the
players, so two writers never write the same key. A process writes either to ripple's ``games``
table (``table.batch_write``, one transaction per batch) or, for the peer, to Redis (one MULTI/EXEC
pipeline per batch: one ``MSET`` of ``game:<uid>:<start>`` keys — the table — and an ``XADD`` per
game — the change stream).

Games (deterministic for a seed):

- players: ``--handles`` (default 5,000) handles, each with its own uid (``event_key``); activity is
  skewed, Zipf-like (weight of the k-th player ∝ 1 / k^0.9: the busiest 1 % play ~ 20 % of the games);
- score: heavy-tailed, ``int(100 * Pareto(α = 1.3))`` (median ~170, p99.9 ~ 20,000; capped at 10^7);
- achievements: 0–3 (weights 50/30/15/5 %) from a catalogue of 40, each ``{bonus_score, id, shortname}``;
- ``completed``: 90 % true; ``length_seconds``: log-normal, median ~4 minutes;
- ``start_timestamp``: the commit time less the game's length, in epoch seconds with millisecond
  precision (a busy player finishes many games a second at the highest rates; whole seconds
  would collide on the key and turn inserts into overwrites), plus a writer's own microseconds
  (0-999, from its seed and part): a writer never repeats a start of a player, and lengths are
  whole seconds, so two writers (one run's phases follow one another) would otherwise give a busy
  player the same start about once in a thousand pairs of games, overwriting a game with another
  score (a real game server's keys do not collide; the roll-up then has to recompute a view).

Probes (``--probe-every S``): every S seconds one game of the batch is replaced by a probe, a completed
game by handle ``probe`` (uid ``u-probe``) with score ``PROBE_BASE + k``, above any real score, so it
tops the board at once. The time just after the batch's write returned (its commit) is recorded per
probe; run.py's watcher records when each probe first shows on the board.

Pacing is open loop: batch i goes out at ``start + i * 25 / rate``; a writer that falls behind
sends at once and its achieved rate shows it. ``--rate 0`` writes as fast as it can.

Output (``--out``): JSON with the games written, the elapsed time, call latencies (sampled) and
the probes' commit times.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import random
import sys
import time
from typing import Any

BATCH = 25
PROBE_BASE = 1_000_000_000
PROBE_UID = "u-probe"
SCORE_CAP = 10_000_000
_SYLLABLES = ["ka", "zu", "mi", "ro", "ten", "shi", "vo", "lar", "qui", "dex", "nor", "bel", "fa", "gri", "op", "yx"]


class Games:
    """Deterministic game generator for one writer (``part`` of ``parts``)."""

    def __init__(self, seed: int, *, handles: int = 5000, part: int = 0, parts: int = 1):
        names = random.Random(1)  # the same players for every writer and every seed
        players = []
        for i in range(handles):
            handle = "".join(names.choice(_SYLLABLES) for _ in range(names.randint(2, 3))) + str(i)
            players.append((f"u-{names.getrandbits(48):012x}", handle, 1.0 / (i + 1) ** 0.9))
        mine = players[part::parts]
        self.players = [(uid, h) for uid, h, _ in mine]
        self.cum = list(itertools.accumulate(w for *_, w in mine))
        self.rng = random.Random(seed * 1000 + part)
        self.catalog = [
            {"bonus_score": 10 * (1 + (k * 7) % 50), "id": k, "shortname": f"ach-{k:02d}"} for k in range(40)
        ]
        self.last: dict[str, int] = {}  # per uid: last start in ms, so keys never repeat
        self.nonce = (seed * 8 + part) % 1000  # this writer's microseconds: see the module docstring
        self.probes = 0

    def batch(self, n: int, now: float) -> list[dict[str, Any]]:
        rng = self.rng
        rand = rng.random
        out = []
        last = self.last
        catalog = self.catalog
        for uid, handle in rng.choices(self.players, cum_weights=self.cum, k=n):
            length = min(3600, max(20, int(rng.lognormvariate(5.5, 0.6))))
            start = int((now - length) * 1000)
            prev = last.get(uid, 0)
            if start <= prev:
                start = prev + 1
            last[uid] = start
            a = rand()
            k = 0 if a < 0.5 else 1 if a < 0.8 else 2 if a < 0.95 else 3
            out.append(
                {
                    "event_key": uid,
                    "start_timestamp": (start * 1000 + self.nonce) / 1e6,
                    "length_seconds": length,
                    "completed": rand() < 0.9,
                    "score": min(SCORE_CAP, int(100 * rng.paretovariate(1.3))),
                    "handle": handle,
                    "achievements": rng.sample(catalog, k) if k else [],
                }
            )
        return out

    def probe(self, now: float) -> dict[str, Any]:
        self.probes += 1
        start = int((now - 60) * 1000)
        start = max(start, self.last.get(PROBE_UID, 0) + 1)
        self.last[PROBE_UID] = start
        return {
            "event_key": PROBE_UID,
            "start_timestamp": (start * 1000 + self.nonce) / 1e6,
            "length_seconds": 60,
            "completed": True,
            "score": PROBE_BASE + self.probes,
            "handle": "probe",
            "achievements": [],
        }


def game_id(g: dict[str, Any]) -> str:
    return f"{g['event_key']}:{g['start_timestamp']:.6f}"


def ripple_writer(state: str) -> tuple[Any, Any]:
    import ripple

    client = ripple.connect(state)
    table = client.table("games")
    return table.batch_write, client.close


def redis_writer(url: str) -> tuple[Any, Any]:
    import orjson
    from redis import Redis

    r = Redis.from_url(url)

    def write(puts: list[dict[str, Any]]) -> None:
        p = r.pipeline(transaction=True)
        bodies = [orjson.dumps(g) for g in puts]
        p.mset({f"game:{game_id(g)}": b for g, b in zip(puts, bodies, strict=True)})
        for b in bodies:
            p.xadd("lb:games", {"g": b})
        p.execute()

    return write, r.close


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--system", choices=("ripple", "redis"), required=True)
    ap.add_argument("--state", help="ripple: the state folder")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    ap.add_argument("--rate", type=float, default=0.0, help="games/s for this writer; 0 = as fast as possible")
    ap.add_argument("--duration", type=float, default=0.0, help="seconds (or --count)")
    ap.add_argument("--count", type=int, default=0, help="games (or --duration)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--handles", type=int, default=5000)
    ap.add_argument("--part", type=int, default=0)
    ap.add_argument("--parts", type=int, default=1)
    ap.add_argument("--probe-every", type=float, default=0.0, help="seconds between probes; 0 = none")
    ap.add_argument("--probe-from", type=int, default=0, help="the first probe's number (its score less PROBE_BASE)")
    ap.add_argument(
        "--start-at",
        type=float,
        default=0.0,
        help="epoch time to start; without it, wait for OUT.go to hold one (run.py writes it)",
    )
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    games = Games(args.seed, handles=args.handles, part=args.part, parts=args.parts)
    games.probes = args.probe_from  # probes of a later run outrank every earlier one
    write, close = ripple_writer(args.state) if args.system == "ripple" else redis_writer(args.redis)
    # Ready: imports done and connections open (run.py waits for this file before it starts the clock).
    with open(args.out + ".ready", "w") as f:
        f.write(str(os.getpid()))
    start_at = args.start_at
    go = args.out + ".go"
    while not start_at:  # run.py writes the common start time once every writer is ready
        if os.path.exists(go):
            with open(go) as f:
                text = f.read()
            start_at = float(text) if text.strip() else 0.0
        else:
            time.sleep(0.005)
    time.sleep(max(0.0, start_at - time.time()))

    interval = BATCH / args.rate if args.rate else 0.0
    written = 0
    calls: list[float] = []
    probes: list[tuple[int, float]] = []
    next_probe = time.monotonic() + args.probe_every if args.probe_every else math.inf
    cpu0 = sum(os.times()[:2])
    t0 = time.monotonic()
    end = t0 + args.duration if args.duration else math.inf
    for i in itertools.count():
        if args.count and written >= args.count:
            break
        due = t0 + i * interval
        now_m = time.monotonic()
        if now_m >= end:
            break
        if due > now_m:
            time.sleep(due - now_m)
        n = BATCH if not args.count else min(BATCH, args.count - written)
        now = time.time()
        batch = games.batch(n, now)
        probe = None
        if time.monotonic() >= next_probe:
            batch[-1] = probe = games.probe(now)
            next_probe += args.probe_every
        c0 = time.perf_counter()
        write(batch)
        c1 = time.perf_counter()
        committed = time.time()
        if probe is not None:
            probes.append((probe["score"] - PROBE_BASE, committed))
        written += n
        if i % 8 == 0:
            calls.append(c1 - c0)
    elapsed = time.monotonic() - t0
    close()
    result = {
        "written": written,
        "elapsed": elapsed,
        "rate": written / elapsed if elapsed else 0.0,
        "started": time.time() - elapsed,
        "calls": calls,
        "probes": probes,
        "cpu": sum(os.times()[:2]) - cpu0,
    }
    with open(args.out + ".tmp", "w") as f:
        json.dump(result, f)
    os.replace(args.out + ".tmp", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
