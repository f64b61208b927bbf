"""The roll-up's store side: turn stream records and schedule ticks into conditional view writes.

Every view write is read, merge, conditional put (``version`` must be what was read), retried on
a lost condition: parallel batches, the schedule and redelivered batches never overwrite each
other's games. A batch's views are written in one transaction. A merge that changes nothing is
not written (so an unchanged board costs no write and no stream record). A sandbox keeps the day
and handle views warm between batches instead of reading them again, validated by one condition
on an epoch item that every write of those views changes (see _Warm).

"Now" never comes from the sandbox's clock: a batch's time is the latest
``ApproximateCreationDateTime`` among its records (the store's commit clock), a tick's is the
schedule event's ``time``, and a view's ``as_of`` never moves backwards. Replays are therefore
deterministic, and the test harness's virtual clock is the only clock that matters.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

import orjson
import ranking
from ranking import BadGame, Entry, Key, State, ViewSpec

from ripple import item_from_image, item_size
from ripple.errors import ConditionalCheckFailed, TransactionCanceled

GAMES = "games"
#: Conditional writes lost to a concurrent writer before giving up (the batch is then retried).
MAX_ATTEMPTS = 100
#: A view item's size limit, under DynamoDB's 400 KB with room to spare.
MAX_VIEW_BYTES = 350_000
#: The trigger's filter: view items (range key 0) never reach the roll-up, so its own writes do not
#: feed it. One pattern on the key is enough because every view item uses start_timestamp = 0.
OWN_WRITES_FILTER = {"dynamodb": {"Keys": {"start_timestamp": {"N": [{"anything-but": ["0"]}]}}}}


def top_n() -> int:
    """N, from the function's environment (``LEADERBOARD_TOP_N``, default 10)."""
    return int(os.environ.get("LEADERBOARD_TOP_N", ranking.TOP_N))


def report(message: str) -> None:
    """Bad input is reported in the function's log and skipped, never retried forever."""
    print(f"leaderboard: skipped {message}")


# --- reading the inputs ----------------------------------------------------------------------------


class _Odd(Exception):
    """An image the fast decoder does not handle: the general path decides."""


def _value(av: Mapping[str, Any]) -> Any:
    # An achievement's ``id`` or ``shortname``: a string or a number in practice.
    (kind, x), *rest = av.items()
    if rest:
        raise _Odd
    if kind == "S":
        return x
    if kind == "N":
        return Decimal(x)
    raise _Odd


def _fast_game(image: Mapping[str, Any]) -> Entry | None:
    """``ranking.parse_game(item_from_image(image))`` for the shapes a game server writes, reading
    only the attributes the views need (an image's other attributes are never converted). Anything
    unusual (a missing or oddly typed attribute, a bad game) raises _Odd and is left to the general
    path, so both give the same entry and report the same errors. Stream images are the store's
    canonical attribute-value JSON, so ``Decimal(text)`` is the number a table read gives."""
    try:
        key = image["event_key"]["S"]
        start = Decimal(image["start_timestamp"]["N"])
        if type(key) is not str or not (key and start.is_finite() and start > 0) or ranking.is_view_key(key, start):
            raise _Odd
        completed = image["completed"]
        if len(completed) != 1:
            raise _Odd
        completed = completed["BOOL"]
        if completed is False:
            return None
        if completed is not True:
            raise _Odd
        score = Decimal(image["score"]["N"])
        handle = image["handle"]["S"]
        if not (score.is_finite() and type(handle) is str and handle):
            raise _Odd
        raw = image.get("achievements")
        achievements, bonus = [], Decimal(0)
        if raw is not None:
            for a in raw["L"]:
                m = a["M"]
                b = Decimal(m["bonus_score"]["N"])
                if not b.is_finite():
                    raise _Odd
                bonus += b
                i, n = m.get("id"), m.get("shortname")
                i = None if i is None else _value(i)
                achievements.append({"bonus_score": b, "id": i, "shortname": None if n is None else _value(n)})
    except (KeyError, TypeError, AttributeError, ValueError, ArithmeticError):
        raise _Odd from None
    return ranking.entry(key, start, handle, score, bonus, achievements)


def _game_of(key: Key, new: Any) -> Entry | None:
    """The entry of a record's new image (None: removed or not ranked; a bad game is reported)."""
    if new is None:
        return None
    try:
        return _fast_game(new)
    except _Odd:
        pass
    try:
        return ranking.parse_game(item_from_image(new))
    except (BadGame, ValueError, TypeError) as e:
        report(f"game {key[0]!r} {key[1]}: {e}")
        return None  # as a scan would: a malformed item is not on any board


def changes_of(
    records: Iterable[Mapping[str, Any]],
) -> tuple[dict[Key, Entry | None], dict[str, set[Key]], dict[str, set[Key]], int]:
    """From a batch's records: each game's latest entry (records are in order per key, so the last
    one wins), the games each handle and each day touches, and the batch's time."""
    changes: dict[Key, Entry | None] = {}
    handles: dict[str, set[Key]] = {}
    days: dict[str, set[Key]] = {}
    now = 0
    for r in records:
        try:
            ddb = r["dynamodb"]
            now = max(now, int(ddb["ApproximateCreationDateTime"]))
            keys = ddb["Keys"]
            try:
                key = (keys["event_key"]["S"], Decimal(keys["start_timestamp"]["N"]))
            except (KeyError, TypeError, ArithmeticError):
                k = item_from_image(keys)
                key = (k["event_key"], Decimal(k["start_timestamp"]))
        except (KeyError, TypeError, ValueError, ArithmeticError) as e:
            report(f"a record without a game key: {e!r}")
            continue
        if ranking.is_view_key(*key):
            continue  # the filter drops these; kept out here too when run without it
        for image in ("OldImage", "NewImage"):
            # Both images name handles: a game whose handle changed leaves the old handle's view.
            raw = ddb.get(image)
            if raw is None:
                continue  # an insert's old image, a removal's new one
            handle = raw.get("handle", {}).get("S") if type(raw) is dict or isinstance(raw, Mapping) else None
            if isinstance(handle, str) and handle:
                handles.setdefault(handle, set()).add(key)
        changes[key] = _game_of(key, ddb.get("NewImage"))
        if key[1] > 0:
            days.setdefault(ranking.utc_day(key[1]), set()).add(key)
    return changes, handles, days, now


def scan_games(table: Any) -> Iterator[Entry]:
    """Every valid completed game in the table, page by page (the fallback when a view's state is
    not enough; ranking.from_scratch merges them a chunk at a time, so the table is never held)."""
    for item in table.scan_all():
        if ranking.is_view_key(item.get("event_key"), item.get("start_timestamp")):
            continue
        try:
            e = ranking.parse_game(item)
        except BadGame as err:
            report(f"game {item.get('event_key')!r} {item.get('start_timestamp')}: {err}")
            continue
        if e is not None:
            yield e


# --- view items ------------------------------------------------------------------------------------


def _number_text(value: Any) -> orjson.Fragment:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value).encode())
    raise TypeError(f"cannot store {type(value).__name__} in a view's state")


#: Each member's JSON as last written, by game key, with the entry it was written from: the recent
#: view is rewritten by nearly every batch but most of its members are the same entries (never
#: modified in place) as the batch before, so only new members are written out again.
_texts: dict[Key, tuple[Entry, bytes]] = {}


def _compact(e: Entry) -> list[Any]:
    """An entry as ``kept`` stores it: a positional array (points is score + bonus again when read).
    A third of the size of the entry's map, and the recent view's item, rewritten by nearly every
    batch along with a stream record holding both its images, is mostly ``kept``."""
    return [
        e["event_key"],
        e["start_timestamp"],
        e["handle"],
        e["score"],
        e["bonus"],
        [[a["bonus_score"], a["id"], a["shortname"]] for a in e["achievements"]],
    ]


def _entry(row: Any) -> Entry:
    if isinstance(row, Mapping):  # a view written before the positional layout
        return dict(row)
    key, start, handle, score, bonus, achievements = row
    return ranking.entry(
        key, start, handle, score, bonus, [{"bonus_score": b, "id": i, "shortname": n} for b, i, n in achievements]
    )


def dump_kept(entries: list[Entry]) -> str:
    """A view's members as one JSON string of positional arrays (``_compact``), numbers written
    exactly. The state is the bulk of a view item and only the roll-up reads it, so it is one
    string attribute instead of a list of maps that the store would convert value by value on every
    read and write. Compact JSON of a list is its elements' JSON joined by commas, so each member's
    text is remembered and reused while the member is the same entry."""
    if len(entries) < 8:  # a handle's or a small view: not worth remembering
        return orjson.dumps([_compact(e) for e in entries], default=_number_text, option=orjson.OPT_SORT_KEYS).decode()
    parts = []
    for e in entries:
        key = (e["event_key"], e["start_timestamp"])
        known = _texts.get(key)
        if known is not None and known[0] is e:
            parts.append(known[1])
            continue
        text = orjson.dumps(_compact(e), default=_number_text, option=orjson.OPT_SORT_KEYS)
        if len(_texts) >= 5_000:
            _texts.clear()
        _texts[key] = (e, text)
        parts.append(text)
    return (b"[" + b",".join(parts) + b"]").decode()


def kept_entries(item: Mapping[str, Any]) -> list[Entry]:
    """The members stored in a view item: a JSON string of positional arrays, or of maps, or (in
    views written before ``kept`` became a string) a list of maps."""
    kept = item.get("kept", [])
    if isinstance(kept, str):
        # Every number back as a Decimal, as a table read would give it.
        return [_entry(row) for row in json.loads(kept, parse_float=Decimal, parse_int=Decimal)]
    return [dict(e) for e in kept]


#: The sandbox's warm views: item key -> (``kept``, ``floor`` and ``debts`` as stored, the parsed
#: state). A view item's state is a function of those attributes alone, so a read whose attributes
#: equal the remembered ones reuses the parsed state instead of parsing the JSON again (the item is
#: still read every batch: the version it holds is what the write is conditional on). States are
#: never modified in place (a merge builds new ones), so sharing them is safe.
_states: dict[str, tuple[str, Any, Any, State]] = {}
_MAX_STATES = 20_000  # views remembered (states, warm items): tens of MB at most


def _remember(key: str, body: Mapping[str, Any], state: State) -> None:
    if len(_states) >= _MAX_STATES:
        _states.clear()
    _states[key] = (body["kept"], body["floor"], body.get("debts"), state)


def load_state(item: Mapping[str, Any] | None) -> State:
    """A view item's state (empty when the item does not exist yet)."""
    if item is None:
        return State({})
    kept, f, key, d = item.get("kept"), item.get("floor"), item.get("event_key"), item.get("debts")
    if isinstance(kept, str):
        warm = _states.get(key)  # type: ignore[arg-type]
        if warm is not None and warm[0] == kept and warm[1] == f and warm[2] == d:
            return warm[3]
    members = {ranking.key_of(e): e for e in kept_entries(item)}
    floor = None if f is None else (Decimal(f[0]), Decimal(f[1]), str(f[2]))
    if d is not None:
        debts = tuple(Decimal(x) for x in d)
    elif key == ranking.RECENT_KEY and "as_of" in item:
        # Written before the recent view kept slack: its state holds only the N-skyband, as if all
        # the slack were spent, until every game it held out has left the window.
        debts = (Decimal(item["as_of"]),) * (ranking.SLACK_RECENT)
    else:
        debts = ()
    state = State(members, floor, debts)
    if isinstance(kept, str) and isinstance(key, str):
        _remember(key, item, state)
    return state


def view_item(
    spec: ViewSpec, state: State, now: Decimal | int, version: int, kept: str | None = None
) -> dict[str, Any]:
    """The stored form of a view: what a board read needs first, then the state (``kept``: the
    state's members already dumped)."""
    body = {
        "event_key": spec.item_key,
        "start_timestamp": ranking.VIEW_START,
        "games": ranking.top(spec, state, now),
        "version": version,
        "as_of": Decimal(now),
        "kept": dump_kept(state.sorted()) if kept is None else kept,
        "floor": None if state.floor is None else list(state.floor),
    }
    if spec.windowed:
        body["debts"] = list(state.debts)
    return body


#: Test hook: called after every view write (the crash test kills the sandbox from here).
after_write: Callable[[str], None] | None = None


def _fault_point(view: str) -> None:
    """Fault injection for the crash test, off unless ``LEADERBOARD_CRASH_PLAN`` names a file: the
    file holds how many more view writes to survive; at zero it is removed and the sandbox process
    SIGKILLs itself, between two view writes of one batch."""
    plan = os.environ.get("LEADERBOARD_CRASH_PLAN")
    if after_write is not None:
        after_write(view)
    if not plan or not os.path.exists(plan):
        return
    with open(plan) as f:
        left = int(f.read().strip() or 0)
    if left > 0:
        with open(plan, "w") as f:
            f.write(str(left - 1))
        return
    os.remove(plan)
    os.kill(os.getpid(), signal.SIGKILL)


def _too_big(body: Mapping[str, Any]) -> bool:
    """Whether a view item passes MAX_VIEW_BYTES. DynamoDB's exact size walks every value, which
    cost more than the rest of a merge; the item's JSON is never much shorter than that size (every
    name and value is written out, numbers as at least their digits), so the exact size is computed
    only for items whose JSON passes half the limit. And the JSON need not be written either while
    ``kept`` is short: the board's games are some of the members ``kept`` spells out, so the whole
    item is at most about twice ``kept`` (a number's size is at most its digits plus a byte or two
    per attribute: under 4x ``kept`` whatever the games hold)."""
    if 4 * len(body["kept"]) + 4096 < MAX_VIEW_BYTES // 2:
        return False
    return len(orjson.dumps(body, default=str)) > MAX_VIEW_BYTES // 2 and item_size(body) > MAX_VIEW_BYTES


def _same(body: Mapping[str, Any], item: Mapping[str, Any]) -> bool:
    return all(body.get(k) == item.get(k) for k in ("games", "kept", "floor", "debts"))


def _unchanged(spec: ViewSpec, old: State, new: State, games: list[Entry], item: Mapping[str, Any]) -> bool:
    """Whether writing ``new`` (showing ``games``) would store what ``item`` (``old``'s item) holds."""
    return (
        new.floor == old.floor
        and new.members == old.members
        and new.debts == old.debts
        and games == item.get("games")
        and (not spec.windowed or "debts" in item)
    )


def plan_view(
    table: Any,
    spec: ViewSpec,
    changes: Mapping[Key, Entry | None],
    now: int | Decimal,
    item: Mapping[str, Any] | None,
    *,
    touch: bool = False,
) -> dict[str, Any] | None:
    """The view item that merges ``changes`` into ``item`` (the view as read; None: absent) at time
    ``max(now, as_of)``, with its next version; None when nothing is to be written (unchanged, or
    if ``touch``, unchanged and ``as_of`` would not advance: the schedule's tick)."""
    planned = _plan(table, spec, changes, now, item, touch=touch)
    return None if planned is None else planned[0]


def _plan(
    table: Any,
    spec: ViewSpec,
    changes: Mapping[Key, Entry | None],
    now: int | Decimal,
    item: Mapping[str, Any] | None,
    *,
    touch: bool = False,
) -> tuple[dict[str, Any], State] | None:
    """plan_view, also returning the state written (remembered once the write succeeds)."""
    old = load_state(item)
    as_of = Decimal(item["as_of"]) if item is not None else None
    t = max(Decimal(now), as_of) if as_of is not None else Decimal(now)
    new = ranking.apply_changes(spec, old, changes, t)
    if (
        new is old
        and not spec.windowed
        and not touch
        and item is not None
        and isinstance(item.get("kept"), str)
        and len(item.get("games") or ()) == min(spec.shown, len(old.members))
    ):
        # Most merges into a handle's or a day's view change nothing (the games rank below its
        # floor): the state is the stored one, and such a view's board is its best members
        # whatever the time, which the stored board already is (its length would differ if N had
        # changed since it was written). So no board to rebuild and compare, and no write.
        return None
    if new is None:
        # The state cannot tell what replaces a lost member: recompute from the table. The scan
        # follows the read of ``item``, so it holds every game merged into the version read.
        new = ranking.from_scratch(spec, scan_games(table), t)
    if item is not None and isinstance(item.get("kept"), str):
        games = ranking.top(spec, new, t)
        if _unchanged(spec, old, new, games, item):
            if not (touch and t > as_of):  # type: ignore[operator]
                # Unchanged at t. Skipping keeps the stored as_of, so the view must also still be
                # exact there: the same changes merged at the old as_of must change nothing either
                # (they do when a new game was live at as_of but has expired by t). Only the recent
                # view depends on the time.
                if not spec.windowed or t == as_of:
                    return None
                at_old = ranking.apply_changes(spec, old, changes, as_of)  # type: ignore[arg-type]
                if at_old is not None and _unchanged(spec, old, at_old, ranking.top(spec, at_old, as_of), item):  # type: ignore[arg-type]
                    return None
            # The state is the one stored: its text too.
            body = view_item(spec, new, t, int(item["version"]) + 1, kept=item["kept"])
            return body, new
    body = view_item(spec, new, t, 1)
    while _too_big(body) and len(new.members) > spec.shown:
        new = ranking.trim(new, max(spec.shown, len(new.members) // 2))
        body = view_item(spec, new, t, 1)
    if _too_big(body):
        report(f"view {spec.item_key}: its top {spec.shown} games alone exceed {MAX_VIEW_BYTES} bytes")
        return None
    if item is not None and _same(body, item) and not (touch and t > as_of):  # type: ignore[operator]
        # (A view stored in the older layout, or one trimmed to the state it already held.)
        at_old = ranking.apply_changes(spec, old, changes, as_of)  # type: ignore[arg-type]
        if at_old is not None and _same(view_item(spec, at_old, as_of, 1), item):  # type: ignore[arg-type]
            return None
    elif item is None and not new.members and not touch:
        return None  # nothing to show and no view yet: do not create an empty one
    if item is not None:
        body["version"] = int(item["version"]) + 1
    return body, new


#: The epoch item (a view key: range key 0, so the trigger's filter drops its records). Every
#: write of a day's or a handle's view changes its ``wid`` in the same transaction.
EPOCH_KEY = "leaderboard#epoch"
#: Batches that read every view after losing a race (see _Warm), before trying to warm up again.
COOL_BATCHES = 16


class _Warm(threading.local):
    """What one sandbox knows between batches (per thread: the tests run writers as threads).

    ``views``: the day and handle views as this sandbox last read or wrote them, by item key.
    They are current whenever the epoch still holds ``epoch`` (every write of those views changes
    it), so while ``trusted`` a batch merges into them without reading the views again, and its
    transaction is conditional on the epoch (one condition instead of one read per view). If
    another writer got there first, the transaction writes nothing and the batch starts over:
    it reads the epoch, then every view it touches, and its transaction is conditional on the
    epoch it read (which makes everything it read current, and trusted again, once it commits).
    If that loses too (batches running in parallel), the batch writes as it would without any of
    this (each put conditional on the view's version, the epoch changed unconditionally) and reads
    every view for ``COOL_BATCHES`` batches. The recent view, written by nearly every batch and by
    the minute's tick, is always read. A warm view saves a read and never a condition, so no game
    is lost or counted twice: a stale view can only make a transaction fail."""

    def __init__(self) -> None:
        self.views: dict[str, Mapping[str, Any]] = {}
        self.trusted = False
        self.epoch: str | None = None  # the epoch's wid (None: no epoch item yet)
        self.cool = 0
        self.pid = 0
        self.prefix = ""
        self.n = 0

    def distrust(self) -> None:
        self.trusted = False
        self.views.clear()


_warm = _Warm()


def _new_wid() -> str:
    """An epoch value no other write has: a random per-process prefix (drawn again in a forked
    child) and a counter."""
    w = _warm
    if w.pid != os.getpid():
        w.pid, w.prefix, w.n = os.getpid(), os.urandom(8).hex(), 0
    w.n += 1
    return f"{w.prefix}.{w.n}"


def _warmable(spec: ViewSpec) -> bool:
    return not spec.windowed


def _keep_warm(spec: ViewSpec, item: Mapping[str, Any] | None) -> None:
    if item is not None and _warmable(spec) and isinstance(item.get("kept"), str):
        if len(_warm.views) >= _MAX_STATES:
            _warm.views.clear()
        _warm.views[spec.item_key] = item


def _guard(item: Mapping[str, Any] | None) -> dict[str, Any]:
    """The write's condition: the view is still the version the merge read."""
    if item is None:
        return {"condition": "attribute_not_exists(event_key)"}
    return {"condition": "#v = :v", "names": {"#v": "version"}, "values": {":v": item["version"]}}


def _epoch_guard(wid: str | None) -> dict[str, Any]:
    if wid is None:
        return {"condition": "attribute_not_exists(event_key)"}
    return {"condition": "#w = :w", "names": {"#w": "wid"}, "values": {":w": wid}}


def _epoch_action(guard: dict[str, Any] | None, bump: bool) -> tuple[dict[str, Any], str | None]:
    """The transaction's epoch action (a put of a new wid when the transaction writes a day's or
    a handle's view, else a check) and the wid the epoch then holds (None: unknown)."""
    key = _view_key(EPOCH_KEY)
    if bump:
        wid = _new_wid()
        return {"put": {"item": {**key, "wid": wid}, **(guard or {})}}, wid
    return {"check": {"key": key, **(guard or {})}}, None


def update_view(
    table: Any,
    spec: ViewSpec,
    changes: Mapping[Key, Entry | None],
    now: int | Decimal,
    *,
    touch: bool = False,
    read: Mapping[str, Any] | bool | None = False,
) -> bool:
    """Merge ``changes`` into one view and write it if it changed, re-reading and merging again
    when another writer got there first. ``read`` is the view item already read for this attempt
    (None: absent; False: read it here). Returns whether it wrote."""
    key = _view_key(spec.item_key)
    for _ in range(MAX_ATTEMPTS):
        item = table.get(key) if read is False else read
        read = False  # a retry reads again
        planned = _plan(table, spec, changes, now, item, touch=touch)  # type: ignore[arg-type]
        if planned is None:
            return False
        body, state = planned
        try:
            if _warmable(spec):
                # A day's or a handle's view: change the epoch with it (other sandboxes' warm
                # views are then no longer trusted).
                _warm.distrust()
                table.transact_write([{"put": {"item": body, **_guard(item)}}, _epoch_action(None, True)[0]])  # type: ignore[arg-type]
            else:
                table.put(body, **_guard(item))  # type: ignore[arg-type]
        except (ConditionalCheckFailed, TransactionCanceled):
            continue  # another batch (or the tick) wrote first: merge again on top of it
        _remember(spec.item_key, body, state)
        _fault_point(spec.item_key)
        return True
    raise RuntimeError(f"view {spec.item_key}: {MAX_ATTEMPTS} conditional writes lost in a row")


def read_views(table: Any, specs: list[ViewSpec]) -> dict[str, dict[str, Any] | None]:
    """The views' items, 100 keys per BatchGetItem (most merges then find nothing to write)."""
    out: dict[str, dict[str, Any] | None] = {s.item_key: None for s in specs}
    keys = [_view_key(s.item_key) for s in specs]
    for i in range(0, len(keys), 100):
        for item in table.batch_get(keys[i : i + 100]):
            out[item["event_key"]] = item
    return out


#: TransactWriteItems' limit: views beyond it go in further transactions (one action is the epoch).
MAX_TRANSACTION = 100


def on_records(table: Any, records: list[Mapping[str, Any]], n: int) -> list[str]:
    """Apply one stream batch to every view it touches. Returns the views written.

    Every view is merged against the version read (or kept warm, see _Warm), and the changed
    ones are written together in one transaction, each conditional on its version (one commit for
    a batch instead of one per view). If another writer moved any of them, the transaction writes
    nothing and the batch reads its views and merges again; if that loses too, each view is merged
    and written on its own."""
    changes, handles, days, now = changes_of(records)
    if not changes:
        return []
    work: list[tuple[ViewSpec, Mapping[Key, Entry | None]]] = [(ranking.recent(n), changes)]
    # A day's or a handle's view gets the games that were or are in it (a game whose handle
    # changed leaves the old handle's view: apply_changes sees it as gone from there).
    work += [(ranking.day(d, n), {k: changes[k] for k in keys}) for d, keys in sorted(days.items())]
    work += [(ranking.best(h, n), {k: changes[k] for k in keys}) for h, keys in sorted(handles.items())]
    _warm.cool = max(0, _warm.cool - 1)
    written: list[str] = []
    step = MAX_TRANSACTION - 1
    for i in range(0, len(work), step):
        written += _apply(table, work[i : i + step], now)
    return written


#: Transactions a batch tries before writing its views one by one: a lost condition on a view (the
#: recent one, written by every lane) re-reads just the views that lost.
MAX_BATCH_ATTEMPTS = 8


def _apply(table: Any, work: list[tuple[ViewSpec, Mapping[Key, Entry | None]]], now: int) -> list[str]:
    """Up to 99 views in one transaction: warm, else establishing trust, else plain (see _Warm)."""
    w = _warm
    mode = "warm" if w.trusted else "plain" if w.cool else "establish"
    items: dict[str, Any] = {}  # the view items this attempt merges into (missing: read them)
    epoch_guard: dict[str, Any] | None = None
    epoch: Mapping[str, Any] | None = None
    for _ in range(MAX_BATCH_ATTEMPTS):
        if mode == "warm":
            epoch_guard = _epoch_guard(w.epoch)
        elif mode == "establish" and epoch_guard is None:
            w.distrust()
            items.clear()
            epoch = table.get(_view_key(EPOCH_KEY))  # before the views: see _Warm
            epoch_guard = _epoch_guard(None if epoch is None else epoch.get("wid"))
        unread = []
        for spec, _ in work:
            if spec.item_key in items:
                continue
            copy = w.views.get(spec.item_key) if mode == "warm" and _warmable(spec) else None
            if copy is None:
                unread.append(spec)
            else:
                items[spec.item_key] = copy
        if unread:
            items.update(read_views(table, unread))
        planned = []
        for spec, relevant in work:
            item = items[spec.item_key]
            p = _plan(table, spec, relevant, now, item)
            if p is not None:
                planned.append((spec, relevant, item, *p))
        actions = [{"put": {"item": body, **_guard(item)}} for _, _, item, body, _ in planned]
        bump = any(_warmable(spec) for spec, *_ in planned)
        wid = None
        if mode != "plain" or bump:
            epoch_action, wid = _epoch_action(epoch_guard if mode != "plain" else None, bump)
            actions.append(epoch_action)
        if not actions:
            return []
        try:
            table.transact_write(actions)
        except TransactionCanceled as e:
            lost = [i for i, r in enumerate(e.reasons) if r.get("Code") != "None"]
            if mode != "plain" and len(actions) - 1 in lost:
                # The epoch moved: some other writer wrote a day's or a handle's view.
                w.distrust()
                items.clear()
                if mode == "establish":
                    w.cool = COOL_BATCHES
                mode = "plain" if mode == "establish" or w.cool else "establish"
                epoch_guard = None
                continue
            for i in lost:  # views another writer moved: read just those again
                if i < len(planned):
                    items.pop(planned[i][0].item_key, None)
                    w.views.pop(planned[i][0].item_key, None)
            continue
        if mode == "plain":
            w.distrust()  # the epoch was changed unconditionally: nothing read here is known current
        else:
            if bump:
                w.epoch = wid
            elif mode == "establish":
                w.epoch = None if epoch is None else epoch.get("wid")
            w.trusted = True
            for spec, _ in work:
                _keep_warm(spec, items[spec.item_key])
        for spec, _, _, body, state in planned:
            _remember(spec.item_key, body, state)
            if mode != "plain":
                _keep_warm(spec, body)
        for spec, *_ in planned:
            _fault_point(spec.item_key)
        return [spec.item_key for spec, *_ in planned]
    w.distrust()  # lost every time: each view on its own, read, merged and written until it wins
    return [spec.item_key for spec, relevant in work if update_view(table, spec, relevant, now)]


def _view_key(item_key: str) -> dict[str, Any]:
    return {"event_key": item_key, "start_timestamp": ranking.VIEW_START}


def on_tick(table: Any, event: Mapping[str, Any], n: int) -> bool:
    """The schedule's tick: age the recent view to the event's time (and record that time)."""
    when = _dt.datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=_dt.UTC)
    return update_view(table, ranking.recent(n), {}, int(when.timestamp()), touch=True)
