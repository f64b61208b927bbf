"""Rendered partials kept across builds (the state's ``fragments`` table).

A partial called with a page (``partial("_internal/rss_item.xml", p)``) is a function of what it
read, and every read is recorded. Its output is stored with the ids of the keys it read, in the same
commit as the keys themselves. A later build reuses it when none of those keys changed -- the rule
that keeps an output as it is (``changed_ids``), so a stored fragment is exactly as fresh as an
output that read the same keys. The caller records the fragment's key ids instead of the keys
(:meth:`ripple.site.tracking.Tracker.merge`), so a feed of 9,000 items whose items did not change
neither re-renders them nor looks up 45,000 key texts.

Safety: a row that cannot be decoded is a miss; every row is dropped by a full build (key ids are
then handed out anew) and a row naming a key that the state drops (an unreferenced key swept) is
dropped in the same commit, so an id in a row always names the key it was recorded for. Fragments
are used only where the whole recording can hold ids (not inside rendered markdown, whose cache
stores keys).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import orjson

from ripple.site.tracking import Key, digest_bytes

#: lookups made one row at a time before the whole table is read at once
ONE_BY_ONE = 64

#: a fragment as stored: (text, orjson list of key ids, checksum of id, text and ids)
Row = tuple[str, bytes, bytes]


def checksum(fid: str, text: str, ids: bytes) -> bytes:
    return digest_bytes(b"\0".join((fid.encode(), text.encode(), ids)))


def row(fid: str, text: str, ids: list[int]) -> Row:
    blob = orjson.dumps(ids)
    return text, blob, checksum(fid, text, blob)


class Fragments:
    """The stored fragments of one build: lookups valid against ``changed`` (ids of keys whose
    digest changed since the last build), and the fragments this build rendered anew."""

    def __init__(
        self,
        load: Callable[[], dict[str, Row]],
        changed: set[int] | frozenset[int],
        load_one: Callable[[str], Row | None] | None = None,
        checked: dict[str, tuple[Row, list[int]]] | None = None,
    ) -> None:
        """``checked``: fragment id -> (row, its key ids) for rows already checked, kept by a warm
        process across builds; a row is trusted only if it is that very object, still in memory."""
        self._load = load
        self._checked = checked
        self._load_one = load_one
        self._rows: dict[str, Row] | None = None
        self._lookups = 0
        self.changed = changed
        #: fragment id -> (text, keys read, ids read through other fragments), for the commit
        self.new: dict[str, tuple[str, dict[Key, bytes], set[int]]] = {}
        #: fragment id -> (text, JSON texts of the keys read, ids read), rendered by a forked child
        self.remote: dict[str, tuple[str, list[str], list[int]]] = {}
        self.hits = 0

    def get(self, fid: str) -> tuple[str, list[int]] | None:
        """The stored text and key ids of ``fid`` if none of its keys changed, else None."""
        try:
            if self._rows is None and self._load_one is not None and self._lookups < ONE_BY_ONE:
                # A build that calls a few partials (a header, a sidebar) reads their rows alone.
                self._lookups += 1
                row = self._load_one(fid)
            else:
                if self._rows is None:
                    self._rows = self._load()
                row = self._rows.get(fid)
        except Exception:  # an unreadable table is only a missed shortcut
            self._rows, row = {}, None
        if row is None:
            return None
        seen = self._checked.get(fid) if self._checked is not None else None
        if seen is not None and seen[0] is row:
            text, ids = row[0], seen[1]
        else:
            try:
                text, blob, stored_sum = row
                if checksum(fid, text, blob) != stored_sum:
                    return None  # damaged or moved: render it again
                ids = orjson.loads(blob)
            except (ValueError, TypeError, AttributeError):
                return None
            if type(ids) is not list or not all(type(i) is int for i in ids):
                return None
            if self._checked is not None:
                self._checked[fid] = (row, ids)
        if self.changed and not self.changed.isdisjoint(ids):
            return None
        self.hits += 1
        return text, ids

    def add(self, fid: str, text: str, deps: dict[Key, bytes], ids: set[int]) -> None:
        self.new[fid] = (text, deps, ids)


def fragment_id(template: str, ctx_key: Any) -> str | None:
    """The stored name of a partial call, or None when its argument has no stable text form."""
    try:
        return orjson.dumps([template, ctx_key]).decode()
    except TypeError:
        return None


#: items per run of a long list that ``partial_each`` keeps assembled (see :class:`Runs`)
RUN_ITEMS = 128


class Runs:
    """Runs of :data:`RUN_ITEMS` consecutive list items that ``partial_each`` assembled only from
    stored fragments, kept in a warm process's memory from one build to the next: (template,
    separator, the items' keys) -> (text, the key ids the items read). A feed of 9,700 items whose
    items did not change is then ~76 lookups instead of 9,700 fragment replays.

    A run is used under the rule of a fragment: none of its ids changed since the last build. The
    state drops every run naming a key that a commit changes or drops, and all of them when it
    reloads or a full build hands out key ids anew, so a run is never older than its fragments. At
    most :attr:`max_chars` of text are kept, the least recently used dropped first."""

    max_chars = 64 << 20

    def __init__(self) -> None:
        self._runs: OrderedDict[tuple[Any, ...], tuple[Any, ...]] = OrderedDict()
        self._chars = 0
        self.hits = 0

    def __len__(self) -> int:
        return len(self._runs)

    def get(self, key: tuple[Any, ...], changed: frozenset[int] | set[int]) -> tuple[Any, ...] | None:
        """The run's (text, ids) if it is kept and none of its ids is in ``changed``; (text, ids,
        places) for a run put with ``places``."""
        run = self._runs.get(key)
        if run is None or (changed and not changed.isdisjoint(run[1])):
            return None
        self._runs.move_to_end(key)
        self.hits += 1
        return run

    def put(self, key: tuple[Any, ...], text: str, ids: frozenset[int], places: Any = None) -> None:
        """Keep a run; ``places``: where each item's text lies in it, for a run of slots
        (Templates._each_slot)."""
        old = self._runs.pop(key, None)
        if old is not None:
            self._chars -= len(old[0])
        self._runs[key] = (text, ids) if places is None else (text, ids, places)
        self._chars += len(text)
        while self._chars > self.max_chars and self._runs:
            _, run = self._runs.popitem(last=False)
            self._chars -= len(run[0])

    def drop_naming(self, gone: set[int]) -> None:
        """Forget every run that read one of the key ids in ``gone``."""
        for key in [k for k, run in self._runs.items() if not gone.isdisjoint(run[1])]:
            self._chars -= len(self._runs.pop(key)[0])
