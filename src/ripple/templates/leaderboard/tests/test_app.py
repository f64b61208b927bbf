"""The app on the harness's virtual clock with real sandboxes: no sleeping."""

import sys
from pathlib import Path

from ripple.runtime.loader import load_app
from ripple.testing import run_app

HERE = Path(__file__).parent.parent
app = load_app(str(HERE / "app.py"))
sys.path.insert(0, str(HERE))

import board  # noqa: E402


def game(user, start, score, handle):
    badge = {"bonus_score": 5, "id": 1, "shortname": "first"}
    return {"event_key": user, "start_timestamp": start, "completed": True, "score": score,
            "handle": handle, "length_seconds": 300, "achievements": [badge]}  # fmt: skip


def test_games_reach_the_boards_and_age_out_of_the_recent_one():
    with run_app(app) as p:
        now = int(p.now)
        p.table("games").put(game("u1", now - 3000, 10, "ann"))
        p.table("games").put(game("u2", now - 60, 20, "bob"))
        p.drain()
        assert [g["handle"] for g in board.read_board(p.client, "recent")["games"]] == ["bob", "ann"]
        assert board.read_board(p.client, "ann")["games"][0]["points"] == 15
        p.advance(900)  # u1's game is now over an hour old
        assert [g["handle"] for g in board.read_board(p.client, "recent")["games"]] == ["bob"]
        assert p.invoke("board", {"view": "recent"}).json()["games"][0]["handle"] == "bob"
