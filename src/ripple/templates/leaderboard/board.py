"""Read a leaderboard with one key lookup: ``read_board(client, "recent" | "today" | HANDLE)``.

As a script::

    python board.py [--state PATH] [recent | today | best HANDLE] [--json]
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script from anywhere

import ranking

import ripple


def plain(value: Any) -> Any:
    """Decimals as ints (or floats), recursively: a board is plain JSON."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def view_key(view: str, now: float | None = None) -> str:
    """The item key of a view: ``recent``, ``today`` (the UTC day of ``now``), or a handle."""
    if view == "recent":
        return ranking.RECENT_KEY
    if view == "today":
        return ranking.DAY_PREFIX + ranking.utc_day(int(time.time() if now is None else now))
    return ranking.BEST_PREFIX + view


def read_board(client: Any, view: str = "recent", *, now: float | None = None) -> dict[str, Any]:
    """The board ``view`` as stored, with ONE get_item (only the shown part is projected).

    Returns ``{"view": key, "games": [...], "version": int, "as_of": int | None}``; a view that
    was never written reads as an empty board.
    """
    key = view_key(view, now)
    item = client.table("games").get(
        {"event_key": key, "start_timestamp": ranking.VIEW_START},
        projection="#g, #v, #a",
        names={"#g": "games", "#v": "version", "#a": "as_of"},
    )
    item = item or {}
    return {
        "view": key,
        "games": plain(item.get("games", [])),
        "version": plain(item.get("version", 0)),
        "as_of": plain(item.get("as_of")),
    }


def render(board: dict[str, Any]) -> str:
    """A board as text, one game a line."""
    as_of = board["as_of"]
    when = _dt.datetime.fromtimestamp(as_of, _dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if as_of else "never"
    lines = [f"{board['view']}  (as of {when}, version {board['version']})"]
    for i, g in enumerate(board["games"], 1):
        started = _dt.datetime.fromtimestamp(g["start_timestamp"], _dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        badges = ", ".join(str(a.get("shortname")) for a in g.get("achievements", []))
        lines.append(
            f"{i:>3}. {g['handle']:<20} {g['points']:>10}  (score {g['score']} + bonus {g['bonus']})"
            f"  started {started}" + (f"  [{badges}]" if badges else "")
        )
    if not board["games"]:
        lines.append("     (no games)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print a leaderboard (one key lookup).")
    parser.add_argument("--state", help="the ripple state folder (default: $RIPPLE_STATE, else ./.ripple)")
    parser.add_argument("--json", action="store_true", help="print the board as JSON")
    parser.add_argument("view", nargs="*", default=["recent"], help="recent | today | best HANDLE")
    args = parser.parse_args(argv)
    words = args.view
    if words[0] == "best" and len(words) == 2:
        view = words[1]
    elif len(words) == 1 and words[0] in ("recent", "today"):
        view = words[0]
    else:
        parser.error("the view is one of: recent, today, best HANDLE")
    with ripple.connect(args.state) as client:
        board = read_board(client, view)
    print(json.dumps(board, indent=2) if args.json else render(board))
    return 0


if __name__ == "__main__":
    sys.exit(main())
