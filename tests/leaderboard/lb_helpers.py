"""Shared by the leaderboard tests: the example's modules, game generators and an independent
oracle that recomputes every view from a scan of the games table."""

from __future__ import annotations

import datetime as _dt
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "leaderboard"
if str(EXAMPLE) not in sys.path:
    sys.path.insert(0, str(EXAMPLE))

import ranking  # noqa: E402  (the example's modules, importable once its folder is on the path)
import rollup  # noqa: E402, F401  (re-exported for the tests)

HANDLES = ("ann", "bob", "cyd", "dee")
USERS = ("u1", "u2", "u3", "u4", "u5")


def game(user: str, start: int, score: int, *, handle: str = "ann", completed: bool = True,
         bonuses: tuple[int, ...] = ()) -> dict[str, Any]:  # fmt: skip
    """A games item as a game server writes it."""
    return {
        "event_key": user,
        "start_timestamp": start,
        "length_seconds": 300,
        "completed": completed,
        "score": score,
        "handle": handle,
        "achievements": [{"bonus_score": b, "id": i, "shortname": f"a{i}"} for i, b in enumerate(bonuses)],
    }


def _valid(item: dict[str, Any]) -> tuple | None:
    """Independent of ranking.py: (points, start, key, handle, score) of a rankable game, else None."""
    try:
        if item["start_timestamp"] == 0 or item.get("completed") is not True:
            return None
        score, handle = item["score"], item["handle"]
        if isinstance(score, bool) or not isinstance(score, int | Decimal) or not isinstance(handle, str) or not handle:
            return None
        ach = item.get("achievements", [])
        bonus = sum(a["bonus_score"] for a in ach)
        if any(isinstance(a["bonus_score"], bool) for a in ach):
            return None
    except (KeyError, TypeError):
        return None
    return (Decimal(score + bonus), Decimal(item["start_timestamp"]), item["event_key"], handle, Decimal(score))


def games_in(table: Any) -> list[tuple]:
    out = []
    for item in table.scan_all():
        if item["start_timestamp"] == 0:
            continue
        v = _valid(item)
        if v is not None:
            out.append(v)
    return out


def _order(g: tuple) -> tuple:
    return (-g[0], g[1], g[2])


def oracle_top(games: list[tuple], n: int) -> list[tuple]:
    return [(g[2], g[1], g[3], g[4], g[0]) for g in sorted(games, key=_order)[:n]]


def shown(item: dict[str, Any] | None) -> list[tuple]:
    """A stored view's games as the oracle's tuples."""
    if item is None:
        return []
    return [
        (e["event_key"], Decimal(e["start_timestamp"]), e["handle"], Decimal(e["score"]), Decimal(e["points"]))
        for e in item["games"]
    ]


def day_of(start: Decimal) -> str:
    return _dt.datetime.fromtimestamp(int(start), _dt.UTC).date().isoformat()


def view(table: Any, key: str) -> dict[str, Any] | None:
    return table.get({"event_key": key, "start_timestamp": 0})


def check_views(table: Any, n: int, *, last_eval: int | None = None) -> None:
    """Every stored view equals the view recomputed from scratch from the table.

    The recent view must equal the top N at its ``as_of`` and, when ``last_eval`` (the latest
    write or tick time) is given, at that time too, with ``as_of <= last_eval``.
    """
    games = games_in(table)
    recent = view(table, ranking.RECENT_KEY)
    if recent is None:
        # Never written: nothing was ever on it (the first game that counts creates it).
        assert oracle_top([g for g in games if last_eval is None or g[1] > last_eval - 3600], n) == []
    else:
        as_of = int(recent["as_of"])
        assert shown(recent) == oracle_top([g for g in games if g[1] > as_of - 3600], n), f"recent at {as_of}"
        if last_eval is not None:
            assert as_of <= last_eval
            at_last = oracle_top([g for g in games if g[1] > last_eval - 3600], n)
            assert shown(recent) == at_last, f"recent at the last evaluation {last_eval} (as_of {as_of})"
    days = {day_of(g[1]) for g in games}
    handles = {g[3] for g in games}
    stored_days, stored_best = set(), set()
    for item in table.scan_all():
        k = item["event_key"]
        if item["start_timestamp"] != 0:
            continue
        if k.startswith(ranking.DAY_PREFIX):
            stored_days.add(k.removeprefix(ranking.DAY_PREFIX))
        elif k.startswith(ranking.BEST_PREFIX):
            stored_best.add(k.removeprefix(ranking.BEST_PREFIX))
    for d in days | stored_days:
        want = oracle_top([g for g in games if day_of(g[1]) == d], n)
        assert shown(view(table, ranking.DAY_PREFIX + d)) == want, f"day {d}"
    for h in handles | stored_best:
        want = oracle_top([g for g in games if g[3] == h], 1)
        assert shown(view(table, ranking.BEST_PREFIX + h)) == want, f"best {h}"
