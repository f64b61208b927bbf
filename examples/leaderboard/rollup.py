"""The roll-up's store side: turn stream records and schedule ticks into conditional view writes.

Every view write is read, merge, conditional put (``version`` must be what was read), retried on
a lost condition: parallel batches, the schedule and redelivered batches never overwrite each
other's games. A batch's views are written in one transaction. A merge that changes nothing is
not written (so an unchanged board costs no write and no stream record).

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
from collections.abc import Callable, Iterable, Mapping
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
            keys = item_from_image(ddb["Keys"])
            key = (keys["event_key"], Decimal(keys["start_timestamp"]))
        except (KeyError, TypeError, ValueError) as e:
            report(f"a record without a game key: {e!r}")
            continue
        if ranking.is_view_key(*key):
            continue  # the filter drops these; kept out here too when run without it
        for image in ("OldImage", "NewImage"):
            # Both images name handles: a game whose handle changed leaves the old handle's view.
            raw = ddb.get(image)
            handle = raw.get("handle", {}).get("S") if isinstance(raw, Mapping) else None
            if isinstance(handle, str) and handle:
                handles.setdefault(handle, set()).add(key)
        try:
            new = ddb.get("NewImage")
            changes[key] = ranking.parse_game(item_from_image(new) if new is not None else None)
        except (BadGame, ValueError, TypeError) as e:
            report(f"game {key[0]!r} {key[1]}: {e}")
            changes[key] = None  # as a scan would: a malformed item is not on any board
        if key[1] > 0:
            days.setdefault(ranking.utc_day(key[1]), set()).add(key)
    return changes, handles, days, now


def scan_games(table: Any) -> list[Entry]:
    """Every valid completed game in the table (the fallback when a view's state is not enough)."""
    out = []
    for item in table.scan_all():
        if ranking.is_view_key(item.get("event_key"), item.get("start_timestamp")):
            continue
        try:
            e = ranking.parse_game(item)
        except BadGame as err:
            report(f"game {item.get('event_key')!r} {item.get('start_timestamp')}: {err}")
            continue
        if e is not None:
            out.append(e)
    return out


# --- view items ------------------------------------------------------------------------------------


def _number_text(value: Any) -> orjson.Fragment:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value).encode())
    raise TypeError(f"cannot store {type(value).__name__} in a view's state")


def dump_kept(entries: list[Entry]) -> str:
    """A view's members as one JSON string, numbers written exactly. The state is the bulk of a
    view item and only the roll-up reads it, so it is one string attribute instead of a list of
    maps that the store would convert value by value on every read and write."""
    return orjson.dumps(entries, default=_number_text, option=orjson.OPT_SORT_KEYS).decode()


def kept_entries(item: Mapping[str, Any]) -> list[Entry]:
    """The members stored in a view item (a list of maps in views written before ``dump_kept``)."""
    kept = item.get("kept", [])
    if isinstance(kept, str):
        # Every number back as a Decimal, as a table read would give it.
        return json.loads(kept, parse_float=Decimal, parse_int=Decimal)
    return [dict(e) for e in kept]


def load_state(item: Mapping[str, Any] | None) -> State:
    """A view item's state (empty when the item does not exist yet)."""
    if item is None:
        return State({})
    members = {ranking.key_of(e): e for e in kept_entries(item)}
    f = item.get("floor")
    floor = None if f is None else (Decimal(f[0]), Decimal(f[1]), str(f[2]))
    return State(members, floor)


def view_item(spec: ViewSpec, state: State, now: Decimal | int, version: int) -> dict[str, Any]:
    """The stored form of a view: what a board read needs first, then the state."""
    return {
        "event_key": spec.item_key,
        "start_timestamp": ranking.VIEW_START,
        "games": ranking.top(spec, state, now),
        "version": version,
        "as_of": Decimal(now),
        "kept": dump_kept(state.sorted()),
        "floor": None if state.floor is None else list(state.floor),
    }


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
    only for items whose JSON passes half the limit."""
    return len(orjson.dumps(body, default=str)) > MAX_VIEW_BYTES // 2 and item_size(body) > MAX_VIEW_BYTES


def _same(body: Mapping[str, Any], item: Mapping[str, Any]) -> bool:
    return all(body[k] == item.get(k) for k in ("games", "kept", "floor"))


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
    old = load_state(item)
    as_of = Decimal(item["as_of"]) if item is not None else None
    t = max(Decimal(now), as_of) if as_of is not None else Decimal(now)
    new = ranking.apply_changes(spec, old, changes, t)
    if new is None:
        # The state cannot tell what replaces a lost member: recompute from the table. The scan
        # follows the read of ``item``, so it holds every game merged into the version read.
        new = ranking.from_scratch(spec, scan_games(table), t)
    body = view_item(spec, new, t, 1)
    while _too_big(body) and len(new.members) > spec.shown:
        new = ranking.trim(new, max(spec.shown, len(new.members) // 2))
        body = view_item(spec, new, t, 1)
    if _too_big(body):
        report(f"view {spec.item_key}: its top {spec.shown} games alone exceed {MAX_VIEW_BYTES} bytes")
        return None
    if item is not None and _same(body, item) and not (touch and t > as_of):  # type: ignore[operator]
        # Unchanged at t. Skipping keeps the stored as_of, so the view must also still be exact
        # there: the same changes merged at the old as_of must change nothing either (they do
        # when a new game was live at as_of but has expired by t).
        at_old = ranking.apply_changes(spec, old, changes, as_of)  # type: ignore[arg-type]
        if at_old is not None and _same(view_item(spec, at_old, as_of, 1), item):  # type: ignore[arg-type]
            return None
    elif item is None and not new.members and not touch:
        return None  # nothing to show and no view yet: do not create an empty one
    if item is not None:
        body["version"] = int(item["version"]) + 1
    return body


def _guard(item: Mapping[str, Any] | None) -> dict[str, Any]:
    """The write's condition: the view is still the version the merge read."""
    if item is None:
        return {"condition": "attribute_not_exists(event_key)"}
    return {"condition": "#v = :v", "names": {"#v": "version"}, "values": {":v": item["version"]}}


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
    key = {"event_key": spec.item_key, "start_timestamp": ranking.VIEW_START}
    for _ in range(MAX_ATTEMPTS):
        item = table.get(key) if read is False else read
        read = False  # a retry reads again
        body = plan_view(table, spec, changes, now, item, touch=touch)  # type: ignore[arg-type]
        if body is None:
            return False
        try:
            table.put(body, **_guard(item))  # type: ignore[arg-type]
        except ConditionalCheckFailed:
            continue  # another batch (or the tick) wrote first: merge again on top of it
        _fault_point(spec.item_key)
        return True
    raise RuntimeError(f"view {spec.item_key}: {MAX_ATTEMPTS} conditional writes lost in a row")


def read_views(table: Any, specs: list[ViewSpec]) -> dict[str, dict[str, Any] | None]:
    """The views' items, 100 keys per BatchGetItem (most merges then find nothing to write)."""
    out: dict[str, dict[str, Any] | None] = {s.item_key: None for s in specs}
    keys = [{"event_key": s.item_key, "start_timestamp": ranking.VIEW_START} for s in specs]
    for i in range(0, len(keys), 100):
        for item in table.batch_get(keys[i : i + 100]):
            out[item["event_key"]] = item
    return out


#: TransactWriteItems' limit: views beyond it go in further transactions.
MAX_TRANSACTION = 100


def on_records(table: Any, records: list[Mapping[str, Any]], n: int) -> list[str]:
    """Apply one stream batch to every view it touches. Returns the views written.

    Every view is merged against the version read up front, and the changed ones are written
    together in one transaction, each conditional on its version (one commit for a batch instead
    of one per view). If another writer moved any of them, the transaction writes nothing and each
    view is merged and written again on its own."""
    changes, handles, days, now = changes_of(records)
    if not changes:
        return []
    work: list[tuple[ViewSpec, Mapping[Key, Entry | None]]] = [(ranking.recent(n), changes)]
    # A day's or a handle's view gets the games that were or are in it (a game whose handle
    # changed leaves the old handle's view: apply_changes sees it as gone from there).
    work += [(ranking.day(d, n), {k: changes[k] for k in keys}) for d, keys in sorted(days.items())]
    work += [(ranking.best(h, n), {k: changes[k] for k in keys}) for h, keys in sorted(handles.items())]
    items = read_views(table, [spec for spec, _ in work])
    planned = []
    for spec, relevant in work:
        item = items[spec.item_key]
        body = plan_view(table, spec, relevant, now, item)
        if body is not None:
            planned.append((spec, relevant, item, body))
    written: list[str] = []
    for i in range(0, len(planned), MAX_TRANSACTION):
        chunk = planned[i : i + MAX_TRANSACTION]
        try:
            table.transact_write([{"put": {"item": body, **_guard(item)}} for _, _, item, body in chunk])
        except TransactionCanceled:
            written += [spec.item_key for spec, relevant, _, _ in chunk if update_view(table, spec, relevant, now)]
            continue
        for spec, _, _, _ in chunk:
            _fault_point(spec.item_key)
            written.append(spec.item_key)
    return written


def on_tick(table: Any, event: Mapping[str, Any], n: int) -> bool:
    """The schedule's tick: age the recent view to the event's time (and record that time)."""
    when = _dt.datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=_dt.UTC)
    return update_view(table, ranking.recent(n), {}, int(when.timestamp()), touch=True)
