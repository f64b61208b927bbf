"""The roll-up's merge against a real store, in-process (no sandboxes, so hypothesis can try many
histories): random games, rewrites, duplicates, deletes, malformed items, out-of-order starts and
games exactly at the window's edge, delivered as the stream would (per-key lanes, random batches,
redelivered and half-applied batches, schedule ticks), and at every check point each stored view
equals the view recomputed from scratch from the table."""

from __future__ import annotations

import datetime as _dt
import random
import zlib
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lb_helpers import HANDLES, USERS, check_views, day_of, game, ranking, rollup

import ripple
from ripple import item_from_image
from ripple.dispatch.filters import compile_filters
from ripple.testing import DEFAULT_START, VirtualClock

PASSES = compile_filters([rollup.OWN_WRITES_FILTER])


def create_games(client: Any) -> Any:
    return client.create_table(
        "games", hash_key="event_key:S", range_key="start_timestamp:N", stream="NEW_AND_OLD_IMAGES"
    )


def put_games(client: Any, items: list[dict]) -> list[dict]:
    """Write ``items`` one by one; their change records, as the roll-up receives them."""
    after = client.log.latest()
    for item in items:
        client.table("games").put(item)
    return [c.record for c in client.log.read(after, sources=["table:games"])]


class Crash(Exception):
    """A batch stopped between two view writes (what a SIGKILL does to a sandbox)."""


class Platform:
    """Just enough of the trigger to drive rollup.py in-process: reads the table's change records,
    filters them, and delivers them in per-key lanes of random batches."""

    def __init__(self, client: Any, rng: random.Random, n: int, lanes: int):
        self.client, self.table, self.rng, self.n, self.lanes = client, client.table("games"), rng, n, lanes
        self.after = client.log.latest(["table:games"])
        self.last_eval = None  # the latest record or tick time the views were evaluated at
        self.next_tick = (int(DEFAULT_START) // 60 + 1) * 60

    def deliver(self) -> None:
        records = []
        while page := self.client.log.read(self.after, sources=["table:games"], limit=500):
            self.after = page[-1].seq
            records += [c.record for c in page if PASSES(c.record)]
        lanes: list[list[dict]] = [[] for _ in range(self.lanes)]
        for r in records:
            lanes[zlib.crc32(r["dynamodb"]["Keys"]["event_key"]["S"].encode()) % self.lanes].append(r)
        batches: list[list[list[dict]]] = []
        for lane in lanes:
            out, i = [], 0
            while i < len(lane):
                size = self.rng.randint(1, 6)
                out.append(lane[i : i + size])
                i += size
            batches.append(out)
        while any(batches):
            lane = self.rng.choice([b for b in batches if b])
            batch = lane.pop(0)
            if self.rng.random() < 0.2:
                self._crash_midway(batch)
            rollup.on_records(self.table, batch, self.n)
            if self.rng.random() < 0.2:
                rollup.on_records(self.table, batch, self.n)  # redelivered after success
            t = max(int(r["dynamodb"]["ApproximateCreationDateTime"]) for r in batch)
            self.last_eval = max(self.last_eval or t, t)

    def _crash_midway(self, batch: list[dict]) -> None:
        left = self.rng.randint(0, 3)

        def hook(view: str) -> None:
            nonlocal left
            left -= 1
            if left < 0:
                raise Crash(view)

        rollup.after_write = hook
        try:
            rollup.on_records(self.table, batch, self.n)
        except Crash:
            pass
        finally:
            rollup.after_write = None

    def advance(self, clock: VirtualClock, seconds: int) -> None:
        """Move the clock, running the minute's tick at each minute passed (records first, as the
        harness drains before each timer)."""
        target = clock.t + seconds
        while self.next_tick <= target:
            self.deliver()
            clock.set(self.next_tick)
            when = _dt.datetime.fromtimestamp(self.next_tick, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            rollup.on_tick(self.table, {"time": when}, self.n)
            self.last_eval = max(self.last_eval or self.next_tick, self.next_tick)
            self.next_tick += 60
        clock.set(target)


_start_offsets = st.one_of(
    st.sampled_from([-3601, -3600, -3599, -3540, 0, 1, 30]),  # the window's edge, now, a bit ahead
    st.integers(-5000, 60),
)
_op = st.one_of(
    st.tuples(
        st.just("put"),
        st.integers(0, len(USERS) - 1),
        _start_offsets,
        st.integers(0, 9),
        st.integers(0, len(HANDLES) - 1),
        st.booleans() | st.just(True),
        st.lists(st.integers(0, 3), max_size=2),
    ),
    st.tuples(st.just("rewrite"), st.integers(0, 50), st.integers(0, 9), st.integers(0, len(HANDLES) - 1)),
    st.tuples(st.just("dup"), st.integers(0, 50)),
    st.tuples(st.just("delete"), st.integers(0, 50)),
    st.tuples(st.just("advance"), st.sampled_from([1, 59, 60, 61, 600, 1800, 3600])),
    st.tuples(st.just("bad"), st.integers(0, len(USERS) - 1), st.integers(0, 3)),
    st.tuples(
        st.just("check"),
    ),
)

_BAD = (
    {"score": "lots"},  # a string score
    {"handle": ""},
    {"achievements": [{"id": 1}]},  # no bonus_score
    {"completed": "yes"},
)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ops=st.lists(_op, min_size=5, max_size=40),
    n=st.integers(1, 3),
    keep_extra=st.sampled_from([0, 1, 400]),
    lanes=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_views_equal_views_from_scratch(tmp_path_factory, ops, n, keep_extra, lanes, seed):
    # A small state cap makes the floor (and its scan fallback) happen with a handful of games.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ranking, "KEEP_RECENT", n + keep_extra)
        mp.setattr(ranking, "KEEP_BEST", 1 + keep_extra)
        mp.setattr(ranking, "KEEP_DAY_FACTOR", 1 if keep_extra == 0 else 2)
        _run_history(tmp_path_factory, ops, n, lanes, seed)


def _run_history(tmp_path_factory, ops, n, lanes, seed):
    clock = VirtualClock()
    rng = random.Random(seed)
    with ripple.connect(tmp_path_factory.mktemp("s") / "state", clock=clock) as client:
        games = create_games(client)
        p = Platform(client, rng, n, lanes)
        written: list[dict] = []
        for op in ops:
            kind = op[0]
            if kind == "put":
                _, u, off, score, h, completed, bonuses = op
                item = game(USERS[u], int(clock.t) + off, score, handle=HANDLES[h], completed=completed,
                            bonuses=tuple(bonuses))  # fmt: skip
                games.put(item)
                written.append(item)
            elif kind == "rewrite" and written:
                item = dict(written[op[1] % len(written)], score=op[2], handle=HANDLES[op[3]])
                games.put(item)
                written.append(item)
            elif kind == "dup" and written:
                games.put(written[op[1] % len(written)])
            elif kind == "delete" and written:
                w = written[op[1] % len(written)]
                games.delete({"event_key": w["event_key"], "start_timestamp": w["start_timestamp"]})
            elif kind == "advance":
                p.advance(clock, op[1])
            elif kind == "bad":
                games.put({**game(USERS[op[1]], int(clock.t) - 10, 5), **_BAD[op[2]]})
            elif kind == "check":
                p.deliver()
                check_views(games, n, last_eval=p.last_eval)
        p.deliver()
        check_views(games, n, last_eval=p.last_eval)


def test_a_batch_applied_twice_writes_nothing_the_second_time(tmp_path):
    clock = VirtualClock()
    with ripple.connect(tmp_path / "state", clock=clock) as client:
        games = create_games(client)
        batch = put_games(
            client, [game(f"u{i}", int(clock.t) - 100 * i, 10 * i, handle=HANDLES[i % 2]) for i in range(5)]
        )
        first = rollup.on_records(games, batch, 3)
        assert ranking.RECENT_KEY in first and len(first) == 4  # recent, the day, two handles
        assert rollup.on_records(games, batch, 3) == []
        assert games.get({"event_key": ranking.RECENT_KEY, "start_timestamp": 0})["version"] == 1


def test_a_merge_that_changes_no_state_skips_the_write_unless_n_changed(tmp_path):
    # A game below a day's floor leaves its state as stored: no write. The same game merged with
    # another N must still rewrite the day's board (its length says the stored board is stale).
    clock = VirtualClock()
    with ripple.connect(tmp_path / "state", clock=clock) as client:
        games = create_games(client)
        t = int(clock.t)
        batch = put_games(client, [game(f"u{i}", t - 10 * i, 100 + i, handle=HANDLES[0]) for i in range(12)])
        rollup.on_records(games, batch, 3)
        day = ranking.DAY_PREFIX + day_of(Decimal(t))
        before = games.get({"event_key": day, "start_timestamp": 0})
        low = put_games(client, [game("u-low", t - 500, 1, handle=HANDLES[1])])
        assert day not in rollup.on_records(games, low, 3)  # below the floor of 9 kept games
        assert games.get({"event_key": day, "start_timestamp": 0})["version"] == before["version"]
        rollup._warm.distrust()
        again = put_games(client, [game("u-low", t - 500, 2, handle=HANDLES[1])])
        assert day in rollup.on_records(games, again, 2)
        assert len(games.get({"event_key": day, "start_timestamp": 0})["games"]) == 2
        check_views(games, 2)


def test_a_batch_whose_views_moved_under_it_merges_again(tmp_path, monkeypatch):
    """Another batch writes the same views between this batch's read and its transaction: the
    transaction is cancelled whole, and each view is merged again on top of the other's games."""
    clock = VirtualClock()
    with ripple.connect(tmp_path / "state", clock=clock) as client:
        games = create_games(client)
        records = put_games(
            client, [game(f"u{i}", int(clock.t) - 10 * i, 10 * i, handle=HANDLES[i % 2]) for i in range(6)]
        )
        mine, theirs = records[::2], records[1::2]
        read_views, cancelled = rollup.read_views, []

        def stale_read(table, specs):
            items = read_views(table, specs)
            if not cancelled:
                cancelled.append(True)
                rollup.on_records(games, theirs, 3)  # lands after this batch's read
            return items

        monkeypatch.setattr(rollup, "read_views", stale_read)
        written = rollup.on_records(games, mine, 3)
        assert cancelled and ranking.RECENT_KEY in written
        check_views(games, 3)
        recent = games.get({"event_key": ranking.RECENT_KEY, "start_timestamp": 0})
        assert recent["version"] == 2 and len(recent["games"]) == 3


@pytest.mark.parametrize("workers", [4])
def test_concurrent_batches_never_lose_a_game(tmp_path, workers):
    """Threads merge disjoint batches into the same views at once: the conditional write on
    ``version`` makes the losers merge again, so every game ends up counted (exactly once)."""
    import threading

    clock = VirtualClock()
    with ripple.connect(tmp_path / "state", clock=clock) as client:
        games = create_games(client)
        after = client.log.latest()
        for i in range(40):
            games.put(game(f"u{i}", int(clock.t) - i, i, handle=HANDLES[i % 4]))
        records = [c.record for c in client.log.read(after, sources=["table:games"])]
        tables = [ripple.connect(tmp_path / "state", clock=clock) for _ in range(workers)]
        barrier = threading.Barrier(workers)
        errors: list[BaseException] = []

        def run(k: int) -> None:
            try:
                barrier.wait()
                for j in range(k, len(records), workers):
                    rollup.on_records(tables[k].table("games"), [records[j]], 40)
            except BaseException as e:
                errors.append(e)

        threads = [threading.Thread(target=run, args=(k,)) for k in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for t in tables:
            t.close()
        assert not errors
        check_views(games, 40)
        recent = games.get({"event_key": ranking.RECENT_KEY, "start_timestamp": 0})
        assert len(recent["games"]) == 40


def test_a_view_that_would_outgrow_an_item_keeps_fewer_games_and_stays_exact(tmp_path, monkeypatch):
    """Games with long achievement lists: the recent view's state is trimmed (the floor rises)
    rather than failing the write, and the board is still the exact top N."""
    monkeypatch.setattr(rollup, "MAX_VIEW_BYTES", 10_000)
    clock = VirtualClock()
    with ripple.connect(tmp_path / "state", clock=clock) as client:
        games = create_games(client)
        after = client.log.latest()
        for i in range(60):
            # Falling scores over time: every game is in the skyband.
            games.put(game(f"u{i}", int(clock.t) - 3000 + i, 1000 - i, bonuses=tuple(range(20))))
        rollup.on_records(games, [c.record for c in client.log.read(after, sources=["table:games"])], 3)
        recent = games.get({"event_key": ranking.RECENT_KEY, "start_timestamp": 0})
        assert 3 <= len(rollup.kept_entries(recent)) < 60 and recent["floor"] is not None
        check_views(games, 3, last_eval=int(clock.t))
        assert len(games.get({"event_key": ranking.RECENT_KEY, "start_timestamp": 0})["games"]) == 3
        clock.set(clock.t + 639)  # u0..u39 expire, kept held only the best (oldest): the tick scans
        rollup.on_tick(
            games, {"time": _dt.datetime.fromtimestamp(int(clock.t), _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}, 3
        )
        check_views(games, 3, last_eval=int(clock.t))
        assert len(games.get({"event_key": ranking.RECENT_KEY, "start_timestamp": 0})["games"]) == 3


@pytest.mark.parametrize("layout", ["list of maps", "string of maps"])
def test_views_written_with_the_older_state_layout_keep_working(tmp_path, layout):
    """Views stored before the state became one JSON string of positional arrays (``kept`` as a
    list of maps, then as a JSON string of maps) are read as they are and rewritten in the new
    layout at their next change."""
    clock = VirtualClock()
    with ripple.connect(tmp_path / "state", clock=clock) as client:
        games = create_games(client)
        first = put_games(
            client, [game(f"u{i}", int(clock.t) - 60 * i, 10 * i, handle=HANDLES[i % 2]) for i in range(5)]
        )
        rollup.on_records(games, first, 3)
        key = {"event_key": ranking.RECENT_KEY, "start_timestamp": 0}
        old = games.get(key)
        entries = rollup.kept_entries(old)
        if layout == "list of maps":
            games.put({**old, "kept": entries})
        else:
            games.put(
                {
                    **old,
                    "kept": orjson.dumps(entries, default=rollup._number_text, option=orjson.OPT_SORT_KEYS).decode(),
                }
            )
        assert rollup.kept_entries(games.get(key)) == entries
        more = put_games(client, [game(f"v{i}", int(clock.t) - 30 * i, 7 * i, handle=HANDLES[i % 2]) for i in range(5)])
        rollup.on_records(games, more, 3)
        check_views(games, 3)
        assert isinstance(games.get(key)["kept"], str) and games.get(key)["kept"].startswith('[["')


def test_the_state_keeps_every_value_of_an_entry():
    """``kept`` stores entries positionally: whatever an achievement's id or shortname is (a
    string, a number, null, a map), and numbers of any precision, read back as they went in."""
    odd = [
        {"bonus_score": Decimal("0.5"), "id": None, "shortname": "x"},
        {"bonus_score": Decimal(7), "id": Decimal("12345678901234567890.25"), "shortname": None},
        {"bonus_score": Decimal(-1), "id": {"k": Decimal(1), "a": "b"}, "shortname": 'é\u2028"q'},
    ]
    entries = [
        ranking.entry(f"u{i}", Decimal(f"1800000000.{i:06d}"), f"h{i}", Decimal(10 * i), Decimal("6.5"), odd[: i % 4])
        for i in range(12)  # over 8 entries: the path that remembers each entry's text
    ]
    for few in (entries[:3], entries):
        text = rollup.dump_kept(few)
        assert rollup.kept_entries({"kept": text}) == few
        assert rollup.dump_kept(few) == text  # the remembered texts give the same string


def _in_sandboxes(k: int) -> list[Any]:
    """``k`` sandboxes as far as the roll-up's warm views go: one long-lived thread each (what a
    sandbox keeps between batches is per thread)."""
    from concurrent.futures import ThreadPoolExecutor

    return [ThreadPoolExecutor(max_workers=1) for _ in range(k)]


def test_a_stale_warm_view_loses_no_game(tmp_path):
    """Sandbox A keeps ann's view warm (best u1, 9 points; u2 with 5 is below its floor). Sandbox
    B deletes u1: its scan makes u2 ann's best. A's next game for ann, u3 with 7, is below the floor
    of A's stale copy, so A finds nothing to write there: only the epoch check in its transaction
    stops it from leaving u2 as ann's best. The transaction fails, A reads and merges again, and
    u3 is ann's best."""
    clock = VirtualClock()
    with ripple.connect(tmp_path / "state", clock=clock) as client:
        games = create_games(client)
        now = int(clock.t)
        a, b = _in_sandboxes(2)
        try:
            first = put_games(client, [game("u1", now - 30, 9, handle="ann"), game("u2", now - 20, 5, handle="ann")])
            a.submit(rollup.on_records, games, first, 3).result()
            after = client.log.latest()
            games.delete({"event_key": "u1", "start_timestamp": now - 30})
            second = [c.record for c in client.log.read(after, sources=["table:games"])]
            assert "best#ann" in b.submit(rollup.on_records, games, second, 3).result()
            # u3 started two days ago: of the views A had read, only ann's moved under it.
            third = put_games(client, [game("u3", now - 2 * 86400, 7, handle="ann")])
            written = a.submit(rollup.on_records, games, third, 3).result()
        finally:
            a.shutdown()
            b.shutdown()
        assert "best#ann" in written
        assert games.get({"event_key": "best#ann", "start_timestamp": 0})["games"][0]["event_key"] == "u3"
        check_views(games, 3, last_eval=now)


class ReadCounting:
    """A real table that counts the view items the roll-up reads (instrumentation, not a stand-in)."""

    def __init__(self, table: Any):
        self.table, self.keys = table, []

    def batch_get(self, keys: list[dict]) -> list[dict]:
        self.keys += [k["event_key"] for k in keys]
        return self.table.batch_get(keys)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.table, name)


def test_a_warm_sandbox_reads_only_the_recent_view_and_writes_only_changed_boards(tmp_path):
    clock = VirtualClock()
    with ripple.connect(tmp_path / "state", clock=clock) as client:
        games = create_games(client)
        now = int(clock.t)
        (sandbox,) = _in_sandboxes(1)
        counting = ReadCounting(games)
        try:
            batch = put_games(client, [game(f"u{i}", now - 100 + i, 50 - i, handle=HANDLES[i % 3]) for i in range(6)])
            sandbox.submit(rollup.on_records, counting, batch, 1).result()
            assert sorted(counting.keys) == sorted(
                ["leaderboard#recent", f"leaderboard#day#{day_of(now)}", "best#ann", "best#bob", "best#cyd"]
            )
            counting.keys.clear()
            # Older, worse games of the same handles: no view changes (not in the recent skyband,
            # below the day's and the handles' floors), and only the recent view is read.
            worse = put_games(client, [game(f"v{i}", now - 200 + i, 1, handle=HANDLES[i % 3]) for i in range(3)])
            assert sandbox.submit(rollup.on_records, counting, worse, 1).result() == []
            assert counting.keys == ["leaderboard#recent"]
            for h in HANDLES[:3]:
                assert games.get({"event_key": f"best#{h}", "start_timestamp": 0})["version"] == 1
        finally:
            sandbox.shutdown()
        check_views(games, 1, last_eval=now)


def test_a_batch_that_loses_only_the_recent_view_reads_just_that_again(tmp_path):
    """The minute's tick writes the recent view between a warm batch's read and its commit: the
    transaction fails on the recent view alone (the epoch held), so the batch reads only the
    recent view again, keeps its warm views and commits."""
    clock = VirtualClock()
    with ripple.connect(tmp_path / "state", clock=clock) as client:
        games = create_games(client)
        now = int(clock.t)
        (sandbox,) = _in_sandboxes(1)

        class TickDuringRead(ReadCounting):
            ticked = False

            def batch_get(self, keys: list[dict]) -> list[dict]:
                items = super().batch_get(keys)
                if not self.ticked:
                    self.ticked = True
                    clock.set(now + 60)
                    when = _dt.datetime.fromtimestamp(now + 60, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                    assert rollup.on_tick(self.table, {"time": when}, 3)  # another sandbox's tick
                return items

        try:
            first = put_games(client, [game(f"u{i}", now - 100 + i, 10 + i, handle=HANDLES[i % 2]) for i in range(4)])
            sandbox.submit(rollup.on_records, games, first, 3).result()
            table = TickDuringRead(games)
            second = put_games(client, [game("u9", now - 5, 99, handle="ann")])
            written = sandbox.submit(rollup.on_records, table, second, 3).result()
        finally:
            sandbox.shutdown()
        assert table.keys == ["leaderboard#recent", "leaderboard#recent"]  # ann's and the day's views stayed warm
        assert {"leaderboard#recent", "best#ann", f"leaderboard#day#{day_of(now)}"} <= set(written)
        check_views(games, 3, last_eval=now + 60)


_av_scalar = st.one_of(
    st.integers(-5, 10**6).map(lambda i: i),
    st.text(max_size=3),
    st.booleans(),
    st.none(),
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-100, max_value=100),
)
_achievement = st.dictionaries(
    st.sampled_from(["bonus_score", "id", "shortname", "other"]), _av_scalar | st.lists(_av_scalar, max_size=2)
)
_item_fields = st.fixed_dictionaries(
    {},
    optional={
        "completed": st.booleans() | _av_scalar,
        "score": _av_scalar,
        "handle": _av_scalar,
        "achievements": st.lists(_achievement | _av_scalar, max_size=3) | _av_scalar,
        "length_seconds": _av_scalar,
    },
)


@pytest.fixture(scope="module")
def decode_store(tmp_path_factory):
    with ripple.connect(tmp_path_factory.mktemp("s") / "state") as client:
        create_games(client)
        yield client


_users = iter(range(10**9))


@settings(max_examples=300, deadline=None)
@given(fields=_item_fields, start=st.sampled_from([1, 1_800_000_000, Decimal("1800000000.125")]))
def test_the_fast_image_decoder_agrees_with_the_general_one(decode_store, fields, start):
    """The roll-up reads a record's new image without converting it whole; for every shape of item
    (valid, malformed, odd types) it gives what parse_game(item_from_image(...)) gives."""
    user = f"u{next(_users)}"
    (record,) = put_games(decode_store, [{"event_key": user, "start_timestamp": start, **fields}])
    image = record["dynamodb"]["NewImage"]
    try:
        want = ranking.parse_game(item_from_image(image))
    except (ranking.BadGame, ValueError, TypeError):
        want = None
    assert rollup._game_of((user, Decimal(start)), image) == want


def _records_since(client: Any, after: int) -> list[dict]:
    return [c.record for c in client.log.read(after, sources=["table:games"])]


@pytest.mark.parametrize("legacy", [False, True])
def test_a_recent_game_taken_back_needs_no_scan_while_the_slack_lasts(tmp_path, monkeypatch, legacy):
    """A moderator deleting games from the recent board: the roll-up replaces them from its state
    (no scan of the games table, which at a million games would outlast the function's timeout),
    and the board stays exact. A recent view stored before the slack existed has none to spend."""
    scans = []
    real_scan = rollup.scan_games
    monkeypatch.setattr(rollup, "scan_games", lambda table: scans.append(1) or real_scan(table))
    clock = VirtualClock()
    with ripple.connect(tmp_path / "state", clock=clock) as client:
        games = create_games(client)
        now = int(clock.t)
        mine = [game(f"u{i}", now - 60 * i, 100 - i, handle=f"h{i}") for i in range(12)]  # a best view each
        rollup.on_records(games, put_games(client, mine), 3)
        key = {"event_key": ranking.RECENT_KEY, "start_timestamp": 0}
        if legacy:
            stored = games.get(key)
            del stored["debts"]
            games.put(stored)
        for i in range(ranking.SLACK_RECENT):
            after = client.log.latest()
            games.delete({"event_key": f"u{i}", "start_timestamp": now - 60 * i})
            rollup.on_records(games, _records_since(client, after), 3)
            check_views(games, 3)
        assert len(scans) == (1 if legacy else 0)
        assert len(games.get(key)["debts"]) == (ranking.SLACK_RECENT - 1 if legacy else ranking.SLACK_RECENT)
