"""leaderboard: games write to a table; its change stream keeps boards at well-known keys.

- ``rollup`` (the games table's stream, batches of up to 100) maintains three kinds of views in the
  same table, all at range key ``start_timestamp = 0``: ``leaderboard#recent`` (the top N games
  started within the last hour), ``leaderboard#day#YYYY-MM-DD`` (a UTC day's top N) and
  ``best#HANDLE`` (a handle's all-time best game).
- ``expire`` (every minute) ages the recent board even when no game arrives.
- ``board`` returns a board: ``ripple invoke board --payload '{"view": "recent"}'``.

Definitions (ranking, window, exactness) are in ranking.py and docs/leaderboard.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ranking
import rollup as _rollup

from ripple import App

ROOT = Path(__file__).resolve().parent
_client: Any = None


def _table() -> Any:
    # One connection per warm sandbox, not per invocation.
    global _client
    if _client is None:
        import ripple

        _client = ripple.connect()
    return _client.table(_rollup.GAMES)


def rollup(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A batch of the games table's changes: merge them into every view they touch."""
    written = _rollup.on_records(_table(), event["Records"], _rollup.top_n())
    return {"records": len(event["Records"]), "written": written}


def expire(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The minute's tick: games older than an hour leave the recent board."""
    return {"written": _rollup.on_tick(_table(), event, _rollup.top_n())}


def board(event: Mapping[str, Any] | None, context: Any) -> dict[str, Any]:
    """Return a board: ``{"view": "recent" | "today" | HANDLE}`` (default recent)."""
    import board as _board

    view = (event or {}).get("view", "recent") if isinstance(event, Mapping) else "recent"
    _table()
    return _board.read_board(_client, str(view))


def make_app(
    name: str = "leaderboard",
    *,
    top_n: int = ranking.TOP_N,
    parallelization: int = 1,
    batch_size: int = 100,
    env: Mapping[str, str] | None = None,
) -> App:
    """Declare the app; tests build variants (a small N, parallel lanes, a crash plan)."""
    app = App(name, root=ROOT)
    games = app.table(_rollup.GAMES, hash_key="event_key:S", range_key="start_timestamp:N", stream="NEW_AND_OLD_IMAGES")
    fenv = {"LEADERBOARD_TOP_N": str(top_n), **(env or {})}
    app.on_table(
        games,
        batch_size=batch_size,
        parallelization=parallelization,
        starting_position="TRIM_HORIZON",
        filters=[_rollup.OWN_WRITES_FILTER],  # the views' own writes never come back
        timeout=60,
        memory_mb=512,  # a fallback scan holds the table's games
        env=fenv,
    )(rollup)
    app.schedule("rate(1 minute)", timeout=60, memory_mb=512, env=fenv)(expire)
    app.function(env=fenv)(board)
    return app


app = make_app(parallelization=int(os.environ.get("LEADERBOARD_PARALLELIZATION", "1")))
