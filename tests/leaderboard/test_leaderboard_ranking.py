"""The pure logic of ranking.py: what a game is, the order, the window's edge, the skyband."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lb_helpers import game, ranking

from ripple.dispatch.filters import compile_filters

T = 1_800_000_000


def entry(key: str, start: int, points: int, handle: str = "ann") -> dict:
    e = ranking.parse_game(game(key, start, points, handle=handle))
    assert e is not None
    return e


def test_points_count_achievement_bonuses():
    e = ranking.parse_game(game("u1", T, 100, bonuses=(5, 7)))
    assert (e["score"], e["bonus"], e["points"]) == (100, 12, 112)
    assert [a["shortname"] for a in e["achievements"]] == ["a0", "a1"]


def test_ties_go_to_the_earlier_start_then_the_smaller_key():
    games = [entry("b", T - 10, 50), entry("a", T - 10, 50), entry("c", T - 20, 50), entry("d", T, 60)]
    assert [(g["event_key"]) for g in sorted(games, key=ranking.rank)] == ["d", "c", "a", "b"]


def test_a_game_exactly_an_hour_old_has_left_the_window():
    assert ranking.live(entry("u", T - 3599, 1), T)
    assert not ranking.live(entry("u", T - 3600, 1), T)
    assert ranking.live(entry("u", T + 30, 1), T)  # stamped ahead of the clock: recent at once


def test_games_not_completed_are_not_ranked():
    assert ranking.parse_game(game("u1", T, 100, completed=False)) is None
    assert ranking.parse_game(None) is None


@pytest.mark.parametrize(
    "bad",
    [
        {"score": "100"},
        {"score": True},
        {"handle": ""},
        {"handle": 7},
        {"completed": "yes"},
        {"achievements": {"bonus_score": 1}},
        {"achievements": [{"id": 1}]},
        {"achievements": ["gold"]},
        {"start_timestamp": 0},
        {"event_key": ""},
        {"event_key": "leaderboard#recent"},
        {"score": Decimal("NaN")},
    ],
)
def test_malformed_games_are_refused_with_a_reason(bad):
    with pytest.raises(ranking.BadGame):
        ranking.parse_game({**game("u1", T, 100), **bad})


def test_the_trigger_filter_drops_view_items_and_keeps_games():
    passes = compile_filters([__import__("rollup").OWN_WRITES_FILTER])

    def rec(key: str, start: str, name: str = "MODIFY") -> dict:
        return {"eventName": name, "dynamodb": {"Keys": {"event_key": {"S": key}, "start_timestamp": {"N": start}}}}

    assert not passes(rec("leaderboard#recent", "0"))
    assert not passes(rec("leaderboard#day#2027-01-15", "0"))
    assert not passes(rec("best#ann", "0"))
    assert passes(rec("u1", "1800000000"))
    assert passes(rec("u1", "1800000000", "REMOVE"))


_games = st.lists(
    st.tuples(st.integers(0, 6), st.integers(-50, 0), st.integers(0, 5)), max_size=30, unique_by=lambda g: g[:2]
)


def _brute_skyband(games: list[dict], n: int) -> list[dict]:
    out = []
    for g in games:
        better_later = [
            h
            for h in games
            if h is not g and ranking.rank(h) < ranking.rank(g) and h["start_timestamp"] >= g["start_timestamp"]
        ]
        if len(better_later) < n:
            out.append(g)
    return out


@settings(max_examples=200, deadline=None)
@given(games=_games, n=st.integers(1, 4))
def test_skyband_matches_its_definition(games, n):
    es = [entry(f"u{k}", T + s, p) for k, s, p in games]
    key = lambda e: ranking.key_of(e)  # noqa: E731
    assert sorted(map(key, ranking.skyband(es, n))) == sorted(map(key, _brute_skyband(es, n)))


@settings(max_examples=200, deadline=None)
@given(games=_games, n=st.integers(1, 4), ages=st.lists(st.integers(0, 60), min_size=1, max_size=5))
def test_the_skyband_knows_the_top_n_as_games_age(games, n, ages):
    """Top N from the state equals the top N of every live game at each later time."""
    es = [entry(f"u{k}", T + s - 3600, p) for k, s, p in games]
    now = T - 60
    state = ranking.from_scratch(ranking.recent(n), es, now)
    for age in sorted(ages):
        now = T - 60 + age
        state = ranking.apply_changes(ranking.recent(n), state, {}, now)
        assert state is not None  # no cap here, so aging never needs a scan
        want = sorted((e for e in es if ranking.live(e, now)), key=ranking.rank)[:n]
        assert ranking.top(ranking.recent(n), state, now) == want


@settings(max_examples=200, deadline=None)
@given(
    games=_games,
    n=st.integers(1, 3),
    chunk=st.integers(1, 7),
    keep=st.integers(0, 4),
    ages=st.lists(st.integers(0, 60), min_size=1, max_size=4),
)
def test_a_state_computed_a_chunk_at_a_time_is_exact(games, n, chunk, keep, ages):
    """A scan merged a chunk at a time (so the table is never held at once) gives a state that
    keeps the invariant: the same board as the whole table at once, now and as games age, and no
    member outside the skyband or at or below the floor (state caps down to N included)."""
    es = [entry(f"u{k}", T + s - 3600, p) for k, s, p in games]
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(ranking, "KEEP_RECENT", n + keep)
        spec, now = ranking.recent(n), T - 60
        monkeypatch.setattr(ranking, "SCAN_CHUNK", 10**6)
        whole = ranking.from_scratch(spec, es, now)
        monkeypatch.setattr(ranking, "SCAN_CHUNK", chunk)
        chunked = ranking.from_scratch(spec, es, now)
        band = n + ranking.SLACK_RECENT  # the recent view keeps slack: see ranking's docstring
        sky = {ranking.key_of(e) for e in ranking.skyband([e for e in es if ranking.live(e, now)], band)}
        assert set(chunked.members) <= sky
        if chunked.floor is not None:
            assert all(ranking.rank(e) < chunked.floor for e in chunked.members.values())
            assert {
                k for k in sky if ranking.rank(next(e for e in es if ranking.key_of(e) == k)) < chunked.floor
            } == set(chunked.members)
        else:
            assert set(chunked.members) == sky
        assert ranking.top(spec, chunked, now) == ranking.top(spec, whole, now)
        for age in sorted(ages):
            at = now + age
            want = sorted((e for e in es if ranking.live(e, at)), key=ranking.rank)[:n]
            aged = ranking.apply_changes(spec, chunked, {}, at)
            if aged is not None:  # None: too few members left above the floor, the roll-up scans
                assert ranking.top(spec, aged, at) == want


def test_deleting_recent_members_costs_slack_until_they_would_have_expired():
    spec = ranking.recent(1)
    games = [entry(f"u{i}", T - 100 * i, 100 - i) for i in range(8)]  # newest best: each dominates the rest
    old = entry("old", T - 3000, 1)  # older and worse than every other: never a candidate
    state = ranking.from_scratch(spec, [*games, old], T)
    assert ranking.key_of(old) not in state.members
    assert ranking.apply_changes(spec, state, {ranking.key_of(old): None}, T) is state  # free
    for i in range(ranking.SLACK_RECENT):
        state = ranking.apply_changes(spec, state, {ranking.key_of(games[i]): None}, T)
        assert state is not None and len(state.debts) == i + 1
        assert ranking.top(spec, state, T) == [games[i + 1]]  # what replaces it was kept
    nxt = games[ranking.SLACK_RECENT]
    assert ranking.apply_changes(spec, state, {ranking.key_of(nxt): None}, T) is None  # slack spent: a scan
    lowered = entry(nxt["event_key"], int(nxt["start_timestamp"]), 0)
    assert ranking.apply_changes(spec, state, {ranking.key_of(nxt): lowered}, T) is None
    # Once the deleted games' starts leave the window, what they held out has left too: the slack
    # is back, and a new member can be deleted without a scan.
    later = T + 3600
    fresh = [entry(f"v{i}", later - 10 * i, 50 - i) for i in range(3)]
    aged = ranking.apply_changes(spec, state, {ranking.key_of(g): g for g in fresh}, later)
    assert aged is not None
    aged = ranking.apply_changes(spec, aged, {ranking.key_of(fresh[0]): None}, later)
    assert aged is not None and ranking.top(spec, aged, later) == [fresh[1]] and len(aged.debts) == 1
    raised = entry(nxt["event_key"], int(nxt["start_timestamp"]), 500)
    after = ranking.apply_changes(spec, state, {ranking.key_of(nxt): raised}, T)
    assert after is not None and len(after.debts) == ranking.SLACK_RECENT and ranking.top(spec, after, T) == [raised]


@settings(max_examples=300, deadline=None)
@given(
    games=_games,
    n=st.integers(1, 3),
    steps=st.lists(
        st.tuples(
            st.integers(0, 40), st.sampled_from(["delete", "lower", "raise", "add"]), st.sampled_from([0, 5, 900, 3000])
        ),
        max_size=12,
    ),
)
def test_the_recent_board_stays_exact_through_deletions_and_asks_for_a_scan_only_past_the_slack(games, n, steps):
    """Any sequence of deletions, lowered and raised games, new games and time passing: the board
    the state gives is the top N of the games left, and a scan is asked for only when more members
    were taken back within the hour than the slack covers."""
    spec = ranking.recent(n)
    now = T - 60
    table = {ranking.key_of(e): e for e in (entry(f"u{k}", T + s - 3600, p) for k, s, p in games)}
    state = ranking.from_scratch(spec, table.values(), now)
    for i, (pick, kind, dt) in enumerate(steps):
        now += dt
        keys = sorted(table)
        if kind == "add" or not keys:
            g = entry(f"new{i}", now - (i * 37) % 500, (i * 7) % 6)
            k, change = ranking.key_of(g), g
        else:
            k = keys[pick % len(keys)]
            cur = table[k]
            points = {"delete": None, "lower": int(cur["points"]) - 3, "raise": int(cur["points"]) + 3}[kind]
            change = None if points is None else entry(k[0], int(k[1]), points)
        was_member = k in state.members and ranking.live(state.members[k], now)
        live_debts = sum(1 for d in state.debts if now - ranking.WINDOW_S < d)
        if change is None:
            table.pop(k, None)
        else:
            table[k] = change
        new = ranking.apply_changes(spec, state, {k: change}, now)
        if new is None:
            taken_back = was_member and (change is None or change["points"] < state.members[k]["points"])
            assert taken_back and live_debts + 1 > ranking.SLACK_RECENT, "a scan asked for within the slack"
            new = ranking.from_scratch(spec, table.values(), now)
        state = new
        want = sorted((e for e in table.values() if ranking.live(e, now)), key=ranking.rank)[:n]
        assert ranking.top(spec, state, now) == want


def test_views_that_do_not_age_delete_without_a_scan_until_the_floor_is_reached():
    spec = ranking.day("2027-01-15", 2)
    games = [entry(f"u{i}", T - i, 10 - i) for i in range(8)]
    state = ranking.from_scratch(spec, games, T)
    assert len(state.members) == spec.keep and state.floor is not None
    for i in range(spec.keep - spec.n):
        state = ranking.apply_changes(spec, state, {ranking.key_of(games[i]): None}, T)
        assert state is not None
    assert ranking.apply_changes(spec, state, {ranking.key_of(games[spec.keep - spec.n]): None}, T) is None
