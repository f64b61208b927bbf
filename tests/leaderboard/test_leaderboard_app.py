"""The leaderboard app end to end with real sandboxes: boards, one-lookup reads (function, script),
the trigger's filter keeping the roll-up off its own writes, bad input, and the template."""

from __future__ import annotations

import json
import subprocess
import sys

from lb_helpers import EXAMPLE, check_views, game, ranking

from ripple.runtime.loader import load_app
from ripple.templates import render
from ripple.testing import run_app

load_app(str(EXAMPLE / "app.py"))
import app as _example  # noqa: E402  (loaded just above by path, as ripple's loader names it)
import board  # noqa: E402


def test_boards_recent_today_and_best_with_one_lookup_each(tmp_path):
    with run_app(_example.app, state=tmp_path / "state") as p:
        games, now = p.table("games"), int(p.now)
        for i in range(14):
            games.put(game(f"u{i}", now - 250 * i, 10 * (i % 7), handle=("ann", "bob")[i % 2], bonuses=(i,)))
        p.drain()
        recent = board.read_board(p.client, "recent")
        # 10 shown; the games started 3500 s and 3250 s ago are in, none is an hour old yet.
        assert len(recent["games"]) == 10 and recent["as_of"] == now and recent["version"] == 1
        assert [g["points"] for g in recent["games"]] == sorted((g["points"] for g in recent["games"]), reverse=True)
        assert recent["games"][0] == {
            "event_key": "u13", "start_timestamp": now - 3250, "handle": "bob", "score": 60, "bonus": 13,
            "points": 73, "achievements": [{"bonus_score": 13, "id": 0, "shortname": "a0"}],
        }  # fmt: skip
        assert board.read_board(p.client, "ann")["games"][0]["event_key"] == "u6"  # 60 + 6
        assert len(board.read_board(p.client, "today", now=now)["games"]) == 10
        assert p.invoke("board", {"view": "recent"}).json() == recent
        check_views(games, 10, last_eval=now)
        p.advance(600)  # ticks: games past the hour leave, and as_of follows the schedule
        later = board.read_board(p.client, "recent")
        assert later["as_of"] == now + 600 and all(g["start_timestamp"] > now + 600 - 3600 for g in later["games"])
        check_views(games, 10, last_eval=now + 600)
    out = subprocess.run([sys.executable, str(EXAMPLE / "board.py"), "--state", str(tmp_path / "state"), "--json",
                          "best", "bob"], capture_output=True, text=True, check=True)  # fmt: skip
    assert json.loads(out.stdout)["games"][0]["event_key"] == "u13"
    text = subprocess.run([sys.executable, str(EXAMPLE / "board.py"), "--state", str(tmp_path / "state"), "recent"],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert text.startswith("leaderboard#recent") and "bob" in text


def test_the_rollup_never_receives_its_own_view_writes(tmp_path):
    with run_app(_example.make_app(top_n=3), state=tmp_path / "state") as p:
        for i in range(5):
            p.table("games").put(game(f"u{i}", int(p.now) - i, i, handle=f"h{i}"))
        p.drain()
        p.advance(120)
        records = [c.record for c in p.client.log.read(0, sources=["table:games"], limit=1000)]
        views = [r for r in records if r["dynamodb"]["Keys"]["start_timestamp"]["N"] == "0"]
        delivered = sum(d.records for d in p.deliveries if d.function == "rollup")
    assert len(views) >= 7  # recent (written, then touched by 2 ticks), the day, 5 handles
    assert delivered == len(records) - len(views) == 5


def test_malformed_games_are_skipped_and_do_not_stop_the_stream(tmp_path):
    with run_app(_example.make_app(top_n=3), state=tmp_path / "state") as p:
        games, now = p.table("games"), int(p.now)
        games.put({**game("u1", now - 5, 100), "score": "a lot"})
        games.put({**game("u2", now - 5, 100), "achievements": [{"id": 1}]})
        games.put({**game("u3", now - 5, 100), "completed": "yes"})
        games.put({"event_key": "u4", "start_timestamp": now - 5})  # not a game at all
        games.put(game("u5", now - 5, 7, handle="eve"))
        p.drain()
        assert all(d.ok for d in p.deliveries)
        assert [g["event_key"] for g in board.read_board(p.client, "recent")["games"]] == ["u5"]
        check_views(games, 3, last_eval=now)


def test_the_template_renders_to_the_example(tmp_path):
    written = render.render("leaderboard", tmp_path / "app", "leaderboard")
    rendered = {p.relative_to(tmp_path / "app").as_posix(): p.read_bytes() for p in written}
    example = {
        p.relative_to(EXAMPLE).as_posix(): p.read_bytes()
        for p in EXAMPLE.rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        and ".pytest_cache" not in p.parts
        and not p.name.endswith(".pyc")
    }
    assert sorted(rendered) == sorted(example)
    for name, data in example.items():
        assert rendered[name] == data, name
    other = render.render("leaderboard", tmp_path / "mine", "my-board")
    assert 'name: str = "my-board"' in (tmp_path / "mine" / "app.py").read_text() and len(other) == len(written)


def test_view_keys_are_what_the_readers_expect():
    assert board.view_key("recent") == ranking.RECENT_KEY == "leaderboard#recent"
    assert board.view_key("today", now=1_800_000_000) == "leaderboard#day#2027-01-15"
    assert board.view_key("ann") == "best#ann"
