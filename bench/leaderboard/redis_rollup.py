"""The peer: the same roll-up done the usual Redis way, as one consumer process.

The writer (loadgen.py ``--system redis``) stores each game (``MSET game:<uid>:<start> ...``) and
appends it to the stream ``lb:games`` (``XADD``), one MULTI/EXEC per batch of 25. This consumer reads
the stream with a consumer group (``XREADGROUP COUNT 100``; at-least-once: ``XACK`` after the
batch's writes) and keeps, ranking by points = score + achievement bonuses as the app does:

- ``lb:recent:score`` / ``lb:recent:time``: every completed game of the past hour by points and by
  start (the second to expire them: ``ZRANGEBYSCORE ... -inf now-3600`` then ``ZREM`` from both);
- ``lb:day:<YYYY-MM-DD>``: the day's completed games by points;
- ``lb:best``: each handle's best points (``ZMSCORE`` to compare, ``ZADD GT``) and ``lb:bestgame``:
  the game that set it;
- the materialized boards, as ripple's views are: ``lb:board:recent`` and ``lb:board:day:<date>``, a
  JSON document ``{games: [top 10: event_key, start_timestamp, handle, score, bonus, points,
  achievements], version, as_of}`` rewritten only when the top 10 changes, then a ``PUBLISH`` on
  the key's name so a watcher need not poll.

Ties: a ZSET orders equal points by member (``<uid>:<start>``), not by start then uid as ranking.py
does; the top 10 of this workload has no ties. Every update is idempotent (ZADD of the same member
and points; ZADD GT), so a redelivered batch changes nothing. Unlike ripple's views, the ZSETs hold
every game of the hour and of the day (Redis keeps them in memory; ripple's views keep a bounded
state). The roll-up runs in Python in this process, as ripple's runs in its sandbox: two pipelined
round trips per batch of up to 100 (all ZADDs with the reads of the tops; then expiry, bests and
XACK), a third when a board changed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import sys
import time

import orjson
from redis import Redis
from redis.exceptions import ResponseError

TOP = 10
WINDOW_S = 3600
STREAM, GROUP = "lb:games", "rollup"


def entry(g: dict) -> dict:
    """What a board shows of a game; points = score + achievement bonuses (ranking.py's rule)."""
    bonus = sum(a["bonus_score"] for a in g.get("achievements", []))
    return {
        "event_key": g["event_key"],
        "start_timestamp": g["start_timestamp"],
        "handle": g["handle"],
        "score": g["score"],
        "bonus": bonus,
        "points": g["score"] + bonus,
        "achievements": g.get("achievements", []),
    }


def day_of(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).date().isoformat()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    ap.add_argument("--batch", type=int, default=100)
    args = ap.parse_args()
    r = Redis.from_url(args.redis)
    try:
        r.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    except ResponseError as e:
        if "BUSYGROUP" not in str(e):
            raise
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    boards: dict[str, list[bytes]] = {}  # key -> last top-10 members written
    versions: dict[str, int] = {}
    known: dict[bytes, dict] = {}  # member -> board entry, for games seen by this process
    print("redis rollup: ready", flush=True)
    while not stopping:
        got = r.xreadgroup(GROUP, "c1", {STREAM: ">"}, count=args.batch, block=500)
        if not got:
            continue
        entries = got[0][1]
        now = time.time()
        recent: dict[bytes, float] = {}
        recent_t: dict[bytes, float] = {}
        days: dict[str, dict[bytes, float]] = {}
        best: dict[str, tuple[float, bytes]] = {}
        for _id, fields in entries:
            g = orjson.loads(fields[b"g"])
            if not g.get("completed"):
                continue
            e = entry(g)
            member = f"{g['event_key']}:{g['start_timestamp']:.6f}".encode()
            known[member] = e
            points, start = e["points"], g["start_timestamp"]
            if now - WINDOW_S < start:
                recent[member] = points
                recent_t[member] = start
            days.setdefault(day_of(start), {})[member] = points
            h = g["handle"]
            if h not in best or points > best[h][0]:
                best[h] = (points, member)
        handles = list(best)
        day_keys = sorted(days)
        p = r.pipeline(transaction=False)
        if recent:
            p.zadd("lb:recent:score", recent)
            p.zadd("lb:recent:time", recent_t)
        for d in day_keys:
            p.zadd(f"lb:day:{d}", days[d])
        if handles:
            p.zmscore("lb:best", handles)
        p.zrangebyscore("lb:recent:time", "-inf", now - WINDOW_S)  # expire: start <= now - 1 h
        p.zrevrange("lb:recent:score", 0, TOP - 1)
        for d in day_keys:
            p.zrevrange(f"lb:day:{d}", 0, TOP - 1)
        res = p.execute()
        keys = ["lb:board:recent", *(f"lb:board:day:{d}" for d in day_keys)]
        tops = res[-len(keys) :]
        expired = res[-len(keys) - 1]
        olds = res[-len(keys) - 2] if handles else []
        improved = {h: best[h] for h, old in zip(handles, olds, strict=True) if old is None or best[h][0] > old}
        p = r.pipeline(transaction=False)
        if expired:
            p.zrem("lb:recent:score", *expired)
            p.zrem("lb:recent:time", *expired)
        if improved:
            p.zadd("lb:best", {h: pts for h, (pts, _) in improved.items()}, gt=True)
            p.hset("lb:bestgame", mapping={h: orjson.dumps(known[m]) for h, (_, m) in improved.items()})
        p.xack(STREAM, GROUP, *(e[0] for e in entries))
        if expired:
            p.zrevrange("lb:recent:score", 0, TOP - 1)
        res = p.execute()
        if expired:
            tops[0] = res[-1]
        changed = [(k, t) for k, t in zip(keys, tops, strict=True) if boards.get(k) != t]
        if changed:
            missing = sorted({m for _, t in changed for m in t if m not in known})
            if missing:
                for m, body in zip(missing, r.mget([b"game:" + m for m in missing]), strict=True):
                    if body:
                        known[m] = entry(orjson.loads(body))
            p = r.pipeline(transaction=False)
            for k, t in changed:
                versions[k] = versions.get(k, 0) + 1
                doc = {"games": [known[m] for m in t if m in known], "version": versions[k], "as_of": now}
                p.set(k, orjson.dumps(doc))
                p.publish(k, versions[k])
                boards[k] = t
            p.execute()
        # Keep only the boards' games: a board changes by this batch's games or, when games
        # expire, by older ones, fetched then with MGET. (A cache of every game grows without
        # bound and its collection stalls the loop.)
        known = {m: known[m] for t in boards.values() for m in t if m in known}
    return 0


if __name__ == "__main__":
    sys.exit(main())
