"""The leaderboard's pure logic: what a game is, how games rank, and how a view's state is merged.

Nothing here touches the store, so the roll-up (``rollup.py``), the tests and a from-scratch
recomputation all share one definition of every view (docs/leaderboard.md has the prose).

Definitions:

- A *game* is an item of the ``games`` table with ``completed`` true, a number ``score``, a
  non-empty string ``handle`` and valid ``achievements`` (absent, or a list of maps each with a
  number ``bonus_score``). Items that are not completed are not ranked; malformed items are
  reported (:class:`BadGame`) and not ranked. ``start_timestamp`` 0 is reserved for view items.
- ``points = score + sum(bonus_score)``: achievement bonuses count.
- Ranking: more points first; ties go to the earlier ``start_timestamp``, then to the smaller
  ``event_key``. The key ``(event_key, start_timestamp)`` is unique, so the order is total.
- Window: a game is *recent* at time T when ``T - 3600 < start_timestamp`` (a game exactly one hour
  old has left; there is no upper bound, so a game stamped ahead of the clock counts at once).

Each view keeps, beside the top N it shows, a *state*: ``members`` (games by key) and ``floor``
(a rank, or None). The invariant is: members are exactly the view's *candidates* that rank strictly
better than ``floor`` (all candidates when ``floor`` is None). Candidates are, for the aging
``recent`` view, the live games of its *N-skyband* (games with fewer than N better-ranked games
starting at the same time or later: only those can reach the top N as older games expire) and, for
the views that do not age (a day, a handle), all of the view's games. ``floor`` appears when the
state is capped at ``keep`` games; the top N is exact while at least N live members remain, and
otherwise the view is recomputed from a scan of the table. A capped state's ``floor`` is
:func:`after` its worst member's rank: a game ranked below every member then changes nothing (no
write), whatever the games dropped were.

The recent view keeps the ``(N + SLACK_RECENT)``-skyband, so that a member deleted or lowered (a
moderator removing a cheat's game) needs no scan: games it held out of the state may come back into
the N-skyband, but each of those had fewer than ``N + SLACK_RECENT`` better later games, so with
``d`` such members gone the state still holds the ``(N + SLACK_RECENT - d)``-skyband. Each goes into
``debts`` (its start time), and a debt is paid when that start leaves the window: the games it
held out started no later, so they have left too. More than ``SLACK_RECENT`` live debts: a scan.
Deleting a game that is not a member costs nothing: whatever it held out, the games holding it out
hold out too.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

#: Games shown by each view unless told otherwise.
TOP_N = 10
#: The "recent" window, in seconds.
WINDOW_S = 3600
#: How many games a view's state may hold (the rest is summarised by ``floor``). Bounded so a view
#: item stays far below DynamoDB's 400 KB item limit whatever the score pattern.
KEEP_RECENT = 400
KEEP_DAY_FACTOR = 3
#: A handle's view keeps its best game only, so it is written only when its board changes (a new
#: best). Deleting or lowering that game then needs a scan (rare: games are rarely taken back).
KEEP_BEST = 1
#: Members of the recent view that may be deleted or lowered within an hour before it needs a scan
#: (see the module docstring); each costs the state a little more of the skyband.
SLACK_RECENT = 4

RECENT_KEY = "leaderboard#recent"
DAY_PREFIX = "leaderboard#day#"
BEST_PREFIX = "best#"
#: The range key of every view item; games may not use it.
VIEW_START = 0

Key = tuple[str, Decimal]
Rank = tuple[Decimal, Decimal, str]
Entry = dict[str, Any]


class BadGame(ValueError):
    """A games item that cannot be ranked (its reason is the message)."""


def _number(value: Any, what: str) -> Decimal:
    # Stream images and table reads give Decimal; direct callers (tests, scripts) may pass int.
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise BadGame(f"{what} must be a number, not {value!r}")
    try:
        d = Decimal(value)
    except InvalidOperation as e:  # pragma: no cover - Decimal(int) cannot fail
        raise BadGame(f"{what} is not a number: {value!r}") from e
    if not d.is_finite():
        raise BadGame(f"{what} must be finite, not {value!r}")
    return d


def is_view_key(event_key: Any, start: Any) -> bool:
    """Whether a key names a view item rather than a game (views live in the same table)."""
    return start == VIEW_START or (
        isinstance(event_key, str) and (event_key.startswith(DAY_PREFIX) or event_key == RECENT_KEY
                                        or event_key.startswith(BEST_PREFIX))
    )  # fmt: skip


def parse_game(item: Mapping[str, Any] | None) -> Entry | None:
    """The view entry of a games item, or None when the item is absent or not a completed game.

    The entry holds what a board shows: ``event_key``, ``start_timestamp``, ``handle``, ``score``,
    ``bonus``, ``points`` and ``achievements`` (each ``bonus_score``, ``id``, ``shortname``).

    Raises:
        BadGame: the item is malformed (a view item, a bad key, score, handle or achievement).
    """
    if item is None:
        return None
    if not isinstance(item, Mapping):
        raise BadGame(f"an item must be a map, not {type(item).__name__}")
    key, start = item.get("event_key"), item.get("start_timestamp")
    if not isinstance(key, str) or not key:
        raise BadGame(f"event_key must be a non-empty string, not {key!r}")
    start = _number(start, "start_timestamp")
    if is_view_key(key, start) or start < 0:
        raise BadGame(f"({key!r}, {start}) is a view's key, not a game's")
    completed = item.get("completed")
    if not isinstance(completed, bool):
        raise BadGame(f"completed must be true or false, not {completed!r}")
    if not completed:
        return None
    score = _number(item.get("score"), "score")
    handle = item.get("handle")
    if not isinstance(handle, str) or not handle:
        raise BadGame(f"handle must be a non-empty string, not {handle!r}")
    raw = item.get("achievements", [])
    if not isinstance(raw, list):
        raise BadGame(f"achievements must be a list, not {type(raw).__name__}")
    achievements, bonus = [], Decimal(0)
    for i, a in enumerate(raw):
        if not isinstance(a, Mapping):
            raise BadGame(f"achievement {i} must be a map")
        b = _number(a.get("bonus_score"), f"achievement {i} bonus_score")
        bonus += b
        achievements.append({"bonus_score": b, "id": a.get("id"), "shortname": a.get("shortname")})
    return entry(key, start, handle, score, bonus, achievements)


def entry(key: str, start: Decimal, handle: str, score: Decimal, bonus: Decimal, achievements: list) -> Entry:
    """A game as the views hold it (points = score + achievement bonuses)."""
    return {
        "event_key": key,
        "start_timestamp": start,
        "handle": handle,
        "score": score,
        "bonus": bonus,
        "points": score + bonus,
        "achievements": achievements,
    }


def key_of(e: Mapping[str, Any]) -> Key:
    return (e["event_key"], Decimal(e["start_timestamp"]))


def rank(e: Mapping[str, Any]) -> Rank:
    """Sort key: smaller is better (more points, then earlier start, then smaller event_key)."""
    p, s = e["points"], e["start_timestamp"]
    return (-p if type(p) is Decimal else -Decimal(p), s if type(s) is Decimal else Decimal(s), e["event_key"])


_EPOCH = _dt.date(1970, 1, 1)
_days: dict[int, str] = {}


def utc_day(start: Decimal | int) -> str:
    """The UTC date (YYYY-MM-DD) a game started on."""
    d = int(start) // 86400  # the date of fromtimestamp(int(start), UTC), remembered per day
    text = _days.get(d)
    if text is None:
        if len(_days) > 10_000:
            _days.clear()
        text = _days[d] = (_EPOCH + _dt.timedelta(days=d)).isoformat()
    return text


def after(r: Rank) -> Rank:
    """The rank just after ``r``: ranks below it are exactly the ranks at most ``r`` (no string
    lies between a key and the key followed by NUL, and keys are unique)."""
    return (r[0], r[1], r[2] + "\0")


def live(e: Mapping[str, Any], now: Decimal | int, window_s: int = WINDOW_S) -> bool:
    """Whether the game is in the recent window at ``now`` (strictly less than an hour old)."""
    s = e["start_timestamp"]
    return now - window_s < (s if type(s) is Decimal else Decimal(s))


@dataclass(frozen=True)
class ViewSpec:
    """One view: its item key, what belongs to it, how many games it shows and keeps."""

    kind: str  # "recent" | "day" | "best"
    param: str = ""  # the day (YYYY-MM-DD) or the handle
    n: int = TOP_N

    @functools.cached_property
    def item_key(self) -> str:
        # Cached: a batch asks each of its ~80 views for its key several times.
        if self.kind == "recent":
            return RECENT_KEY
        if self.kind == "day":
            return DAY_PREFIX + self.param
        return BEST_PREFIX + self.param

    @property
    def windowed(self) -> bool:
        return self.kind == "recent"

    @property
    def shown(self) -> int:
        return 1 if self.kind == "best" else self.n

    @property
    def keep(self) -> int:
        if self.kind == "recent":
            return max(KEEP_RECENT, self.n)
        if self.kind == "day":
            return KEEP_DAY_FACTOR * self.n
        return KEEP_BEST

    def wants(self, e: Mapping[str, Any]) -> bool:
        """Whether a game belongs to this view (ignoring time)."""
        if self.kind == "day":
            return utc_day(e["start_timestamp"]) == self.param
        if self.kind == "best":
            return e["handle"] == self.param
        return True


def recent(n: int = TOP_N) -> ViewSpec:
    return ViewSpec("recent", "", n)


def day(date: str, n: int = TOP_N) -> ViewSpec:
    return ViewSpec("day", date, n)


def best(handle: str, n: int = TOP_N) -> ViewSpec:
    return ViewSpec("best", handle, n)


@dataclass
class State:
    """A view's state: its members by key and its floor (see the module docstring)."""

    members: dict[Key, Entry]
    floor: Rank | None = None
    #: The recent view's debts: start times of members deleted or lowered (see the module docstring).
    debts: tuple[Decimal, ...] = ()

    def sorted(self) -> list[Entry]:
        return sorted(self.members.values(), key=rank)


def skyband(games: Iterable[Mapping[str, Any]], n: int) -> list[Entry]:
    """The games with fewer than ``n`` better-ranked games starting at the same time or later.

    O(g log n): walk from the latest start backwards, keeping the ``n`` best ranks seen so far;
    games of equal start are judged together, since they dominate one another by rank alone.
    """
    return [e for _, e in _skyband_ranked(games, n)]


def _skyband_ranked(games: Iterable[Mapping[str, Any]], n: int) -> list[tuple[Rank, Entry]]:
    """skyband, each game with its rank (computed once per game: the recent view settles its
    members and a batch's games every batch, and building a rank allocates)."""
    by_start = sorted(
        ((_start(e), rank(e), e) for e in games), key=lambda t: t[0], reverse=True
    )  # stable: equal starts keep their order
    best_ranks: list[Rank] = []  # the n best ranks among games judged so far, ascending
    out: list[tuple[Rank, Entry]] = []
    i, count = 0, len(by_start)
    while i < count:
        j = i
        start = by_start[i][0]
        while j < count and by_start[j][0] == start:
            j += 1
        group = by_start[i:j]
        for _, r, _e in group:
            # Keep the n best: a rank worse than the n-th best changes nothing (ranks are unique).
            if len(best_ranks) < n:
                bisect.insort(best_ranks, r)
            elif r < best_ranks[-1]:
                bisect.insort(best_ranks, r)
                best_ranks.pop()
        for _, r, e in group:
            # best_ranks holds e's rank when e is among the n best: then fewer than n are better.
            if len(best_ranks) < n or r <= best_ranks[n - 1]:
                out.append((r, e))  # entries are never modified in place: no copy needed
        i = j
    return out


def _start(e: Mapping[str, Any]) -> Decimal:
    s = e["start_timestamp"]
    return s if type(s) is Decimal else Decimal(s)


def settle(
    spec: ViewSpec, members: Mapping[Key, Entry], floor: Rank | None, now: Decimal | int, debts: tuple = ()
) -> State:
    """Restore the invariant after changes: drop expired games (recent), keep only candidates
    (the skyband for recent, everything otherwise), then cap the state at ``spec.keep``."""
    if spec.windowed:
        ranked = _skyband_ranked((e for e in members.values() if live(e, now)), spec.n + SLACK_RECENT)
        ranked.sort(key=lambda t: t[0])
        ordered = [e for _, e in ranked]
    else:
        ordered = sorted(members.values(), key=rank)
    if len(ordered) > spec.keep:
        ordered = ordered[: spec.keep]
        cut = after(rank(ordered[-1]))
        floor = cut if floor is None else min(floor, cut)
    return State({key_of(e): e for e in ordered}, floor, debts)


def trim(state: State, keep: int) -> State:
    """Keep the ``keep`` best members, raising the floor over the rest (used when a view item would
    grow too large: huge achievement lists)."""
    ordered = state.sorted()
    if len(ordered) <= keep:
        return state
    cut = after(rank(ordered[keep - 1]))
    floor = cut if state.floor is None else min(state.floor, cut)
    return State({key_of(e): e for e in ordered[:keep]}, floor, state.debts)


def exact(spec: ViewSpec, state: State, now: Decimal | int) -> bool:
    """Whether the state still determines the top N: nothing was capped away, or enough remain."""
    if state.floor is None:
        return True
    alive = sum(1 for e in state.members.values() if not spec.windowed or live(e, now))
    return alive >= spec.shown


def top(spec: ViewSpec, state: State, now: Decimal | int) -> list[Entry]:
    """The games the view shows at ``now``: the best ``spec.shown`` live members."""
    games = (e for e in state.members.values() if not spec.windowed or live(e, now))
    return sorted(games, key=rank)[: spec.shown]


#: Games merged at a time when a state is computed from every game: memory then holds a chunk and
#: the state (at most ``keep`` games), not the table (a scan of 100,000 games held at once passed
#: the roll-up's 512 MB).
SCAN_CHUNK = 5000


def from_scratch(spec: ViewSpec, games: Iterable[Mapping[str, Any]], now: Decimal | int) -> State:
    """The state computed from every game (already parsed) in the table, ``SCAN_CHUNK`` games at a
    time. Merging a chunk into the state of the games before it gives the state of both: a game
    the state dropped is below its floor (which only rises) or has ``n`` better games starting no
    earlier, which stay in the state or are dropped for the same reason, so it can never be a
    member again; the state keeps the invariant (see the module docstring) at every step."""
    state = State({})
    chunk: dict[Key, Entry] = {}
    for e in games:
        if spec.wants(e):
            chunk[key_of(e)] = dict(e)
            if len(chunk) >= SCAN_CHUNK:
                state, chunk = _merge_all(spec, state, chunk, now), {}
    return _merge_all(spec, state, chunk, now)


def _merge_all(spec: ViewSpec, state: State, games: dict[Key, Entry], now: Decimal | int) -> State:
    """``state`` with ``games`` (new keys, all wanted by the view) merged in."""
    floor = state.floor
    fresh = games if floor is None else {k: e for k, e in games.items() if rank(e) < floor}
    return settle(spec, {**state.members, **fresh}, floor, now)


def apply_changes(
    spec: ViewSpec, state: State, changes: Mapping[Key, Entry | None], now: Decimal | int
) -> State | None:
    """Merge the latest known state of some games into a view's state.

    ``changes`` maps a game's key to its entry now (None: deleted, not completed or malformed).
    The merge is keyed, so applying the same changes twice changes nothing. Returns the new state,
    or None when it cannot be known without the games the state dropped: more recent members were
    deleted or lowered within the hour than the slack covers (see the module docstring), or too
    few members remain above the floor. The caller then recomputes from a scan.
    """
    windowed = spec.windowed
    members = state.members
    debts = state.debts
    if windowed:
        # Expired members can go first: whatever they dominated is older and expired too.
        live_members = {k: e for k, e in members.items() if live(e, now)}
        if len(live_members) != len(members):
            members = live_members
        if debts:
            debts = tuple(d for d in debts if now - WINDOW_S < d)
    floor = state.floor
    for k, g in changes.items():
        if g is not None and (not spec.wants(g) or (windowed and not live(g, now))):
            g = None
        cur = members.get(k)
        if g is None:
            if cur is None:
                continue  # not a member: nobody's candidacy depended on it (see docs)
            if windowed:
                debts += (k[1],)  # what it held out of the skyband may come back: a debt
            if members is state.members:
                members = dict(members)
            del members[k]
        elif cur is not None and Decimal(g["points"]) < Decimal(cur["points"]):
            if windowed:
                debts += (k[1],)  # lowered: it holds fewer games out, as if deleted and added
            if members is state.members:
                members = dict(members)
            members[k] = g  # lowered: may now be below the floor
            if floor is not None and rank(g) >= floor:
                del members[k]
        elif (cur is not None and cur != g) or (cur is None and (floor is None or rank(g) < floor)):
            if members is state.members:
                members = dict(members)
            members[k] = g  # entries are never modified in place: no copy needed
    if len(debts) > SLACK_RECENT:
        return None
    if members is state.members:
        return state  # nothing changed (nor expired): the state is settled and exact already
    new = settle(spec, members, floor, now, debts)
    return new if exact(spec, new, now) else None
