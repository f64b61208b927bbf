"""Dependency recording through tracked objects.

Templates never see the site model directly. They get proxies (:class:`Tracked`, :class:`TrackedList`,
:class:`TrackedMap`) and every read through a proxy records a *key* -- an access path such as
``("p", "page:posts/a.md", "title")`` or ``("site", "regular_pages", ("slice", 0, 10), ("iter",))`` --
with the digest of the value read. A later build replays each key against the new model
(:func:`resolve`) and compares digests: an output is re-rendered only when a value it actually read
has changed. Lists record what is consumed (a slice, a length, an iteration), so "the ten newest
posts" is its own key and a body edit does not invalidate every page that lists titles.

The same :func:`step` function computes values at render time and at resolve time, so the two can
never disagree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from typing import Any

import orjson

Key = tuple[Any, ...]

MISSING_DIGEST = b"\x00missing"


class PageSeq(list):
    """A list of pages as the model returns it; templates get it as a :class:`TrackedList`."""

    __slots__ = ()


class Missing(Exception):
    """A step of a key path that no longer resolves (a deleted page, a removed data key)."""


# --- model dispatch -----------------------------------------------------------------------------------

#: type -> {attribute name: function(obj) -> value}; filled by the model modules.
FIELDS: dict[type, dict[str, Callable[[Any], Any]]] = {}
#: type -> {method name: function(obj, *args) -> value}
CALLS: dict[type, dict[str, Callable[..., Any]]] = {}
#: model types whose proxies are rooted at their own identity (pages), not at the access path
ROOTED: dict[type, Callable[[Any], Key]] = {}


def _list_op(seq: list[Any], s: tuple[Any, ...]) -> Any:
    op = s[0]
    if op == "iter":
        return seq
    if op == "len":
        return len(seq)
    if op == "slice":
        return seq[s[1] : s[2]]
    if op == "idx":
        try:
            return seq[s[1]]
        except IndexError:
            raise Missing from None
    if op == "rev":
        return seq[::-1]
    if op == "by":
        return sorted_by(seq, s[1])
    if op == "default":
        return sorted(seq, key=_default_order)
    if op == "where":
        return [p for p in seq if _field(p, s[1]) == s[2]]
    raise Missing


def sorted_by(seq: list[Any], field: str) -> list[Any]:
    """Sort a page list by one field (``title``, ``date``, ...), stable, with the default order as
    the tie-break; dates sort oldest first like Hugo's ``ByDate``."""
    return sorted(seq, key=lambda p: _sort_value(_field(p, field)))


def _default_order(p: Any) -> Any:
    return p.sort_key()


def _sort_value(v: Any) -> tuple[int, Any]:
    if v is None:
        return (0, 0)
    if isinstance(v, datetime):
        return (1, v.timestamp())
    if isinstance(v, str):
        return (2, v.lower())
    return (1, v)


def _field(obj: Any, name: str) -> Any:
    fn = FIELDS.get(type(obj), {}).get(name)
    if fn is None:
        raise Missing
    return fn(obj)


def step(obj: Any, s: Any) -> Any:
    """Apply one access step to a model value; raises :class:`Missing` when it does not resolve."""
    t = type(obj)
    if isinstance(s, str):
        table = FIELDS.get(t)
        if table is not None:
            fn = table.get(s)
            if fn is None:
                raise Missing
            return fn(obj)
        raise Missing
    op = s[0]
    if t is dict:
        if op == "k":
            if s[1] in obj:
                return obj[s[1]]
            raise Missing
        if op == "all":
            return obj
        if op == "has":
            return s[1] in obj
        raise Missing
    if t is list or t is PageSeq:
        return _list_op(obj, s)
    calls = CALLS.get(t)
    if calls is not None and op in calls:
        return calls[op](obj, *s[1:])
    raise Missing


# --- digests --------------------------------------------------------------------------------------------

#: type -> function(obj) -> a JSON-able identity used when hashing (pages hash as their id)
IDENTITY: dict[type, Callable[[Any], Any]] = {}


def _default(obj: Any) -> Any:
    fn = IDENTITY.get(type(obj))
    if fn is not None:
        return fn(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    if isinstance(obj, (date, datetime)):
        return obj.isoformat()
    if hasattr(obj, "__html__"):
        return str(obj)
    raise TypeError(f"cannot hash {type(obj).__name__}")


_OPTS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def digest(value: Any) -> bytes:
    """A stable 16-byte digest of a model value (canonical JSON, sorted keys)."""
    return hashlib.blake2b(orjson.dumps(value, default=_default, option=_OPTS), digest_size=16).digest()


def digest_bytes(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


# --- recording ------------------------------------------------------------------------------------------


class Recorder:
    """Collects ``key -> digest`` for one render (an output, a partial, a page's content)."""

    __slots__ = ("deps", "flags", "ids", "slots")

    def __init__(self, ids: bool = True) -> None:
        self.deps: dict[Key, bytes] = {}
        self.flags: set[str] = set()
        #: ids of stored keys read through a cached fragment (see fragments.py); None for a
        #: recording that can only hold keys (rendered markdown, whose cache stores keys)
        self.ids: set[int] | None = set() if ids else None
        #: an output's recording only: the partials it printed as slots (see Templates.slot), whose
        #: reads are kept apart from the output's own until the render shows where they went
        self.slots: list[Any] | None = None


class Tracker:
    """Per-build recording context: the active recorder stack and a digest memo.

    The model is immutable during a build, so a key's digest is computed once per build.
    """

    def __init__(self) -> None:
        self.stack: list[Recorder] = []
        self.memo: dict[Key, bytes] = {}

    def push(self, ids: bool = True) -> Recorder:
        rec = Recorder(ids)
        self.stack.append(rec)
        return rec

    def pop(self) -> Recorder:
        return self.stack.pop()

    def record(self, key: Key, value: Any) -> None:
        if not self.stack:
            return
        d = self.memo.get(key)
        if d is None:
            d = digest(value)
            self.memo[key] = d
        self.stack[-1].deps[key] = d

    def record_digest(self, key: Key, d: bytes) -> None:
        if self.stack:
            self.stack[-1].deps[key] = d

    def merge(self, deps: dict[Key, bytes], ids: Iterable[int] = ()) -> None:
        """Add a finished recording's reads (``ids``: only where :meth:`takes_ids`)."""
        if self.stack:
            top = self.stack[-1]
            top.deps.update(deps)
            if ids:
                top.ids.update(ids)  # type: ignore[union-attr]

    def takes_ids(self) -> bool:
        """Whether every open recording can hold stored key ids (none is rendered markdown's)."""
        return all(r.ids is not None for r in self.stack)

    def flag(self, name: str) -> None:
        if self.stack:
            self.stack[-1].flags.add(name)


TRACKER = Tracker()


def wrap(key: Key, value: Any) -> Any:
    """Turn a model value read at ``key`` into what a template sees, recording scalar reads."""
    t = type(value)
    if t in ROOTED:
        TRACKER.record(key, value)
        return Tracked(ROOTED[t](value), value)
    if t in FIELDS:
        return Tracked(key, value)
    if t is dict:
        return TrackedMap(key, value)
    if t is PageSeq:
        return TrackedList(key, value)
    TRACKER.record(key, value)
    return value


_SCALARS = {str, int, bool, float, type(None), datetime}


class Tracked:
    """A model object (page, site, paginator) whose attribute reads are recorded."""

    __slots__ = ("_key", "_obj")

    def __init__(self, key: Key, obj: Any) -> None:
        self._key = key
        self._obj = obj

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        obj = self._obj
        t = type(obj)
        fn = FIELDS[t].get(name)
        if fn is not None:
            # Fast path for plain values: record inline (this runs tens of thousands of times a build).
            v = fn(obj)
            key = (*self._key, name)
            if type(v) in _SCALARS:
                tr = TRACKER
                d = tr.memo.get(key)
                if d is None:
                    d = tr.memo[key] = digest(v)
                if tr.stack:
                    tr.stack[-1].deps[key] = d
                return v
            return wrap(key, v)
        calls = CALLS.get(t)
        if calls is not None and name in calls:
            key = self._key

            def call(*args: Any) -> Any:
                s = (name, *args)
                try:
                    v = step(obj, s)
                except Missing:
                    TRACKER.record_digest((*key, s), MISSING_DIGEST)
                    return None
                return wrap((*key, s), v)

            return call
        try:
            v = step(obj, name)
        except Missing:
            raise AttributeError(name) from None
        return wrap((*self._key, name), v)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tracked) and other._obj is self._obj

    def __hash__(self) -> int:
        return id(self._obj)

    def __repr__(self) -> str:
        return f"<{type(self._obj).__name__} {self._key}>"


class TrackedList:
    """A list of pages; records only what is consumed: a slice's members, the length, an item."""

    __slots__ = ("_key", "_seq")

    def __init__(self, key: Key, seq: list[Any]) -> None:
        self._key = key
        self._seq = seq

    def _derive(self, s: tuple[Any, ...]) -> TrackedList:
        return TrackedList((*self._key, s), _list_op(self._seq, s))

    def __len__(self) -> int:
        n = len(self._seq)
        TRACKER.record((*self._key, ("len",)), n)
        return n

    def __bool__(self) -> bool:
        return len(self) > 0

    def __iter__(self) -> Iterator[Tracked]:
        seq = self._seq
        TRACKER.record((*self._key, ("iter",)), seq)
        rooted = ROOTED
        return iter([Tracked(rooted[type(p)](p), p) for p in seq])

    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            a, b = i.start or 0, i.stop
            if a < 0 or (b is not None and b < 0) or i.step not in (None, 1):
                return list(self)[i]  # records the whole list: safe for unusual slices
            return self._derive(("slice", a, b))
        key = (*self._key, ("idx", i))
        try:
            p = self._seq[i]
        except IndexError:
            TRACKER.record_digest(key, MISSING_DIGEST)
            raise
        TRACKER.record(key, p)
        return Tracked(ROOTED[type(p)](p), p)

    def first(self, n: int) -> TrackedList:
        return self._derive(("slice", 0, n))

    def reverse(self) -> TrackedList:
        return self._derive(("rev",))

    def by(self, field: str) -> TrackedList:
        return self._derive(("by", field))

    def by_date(self) -> TrackedList:
        return self.by("date")

    def by_title(self) -> TrackedList:
        return self.by("title")

    def by_weight(self) -> TrackedList:
        return self.by("weight")

    def by_default(self) -> TrackedList:
        """Hugo's default order: weight, newest date, link title, path."""
        return self._derive(("default",))

    def where(self, field: str, value: Any) -> TrackedList:
        return self._derive(("where", field, value))


class TrackedMap:
    """A mapping (params, data files) whose reads are recorded per key; iteration records it all."""

    __slots__ = ("_d", "_key")

    def __init__(self, key: Key, d: dict[str, Any]) -> None:
        self._key = key
        self._d = d

    def __getitem__(self, k: str) -> Any:
        key = (*self._key, ("k", k))
        if k not in self._d:
            TRACKER.record_digest(key, MISSING_DIGEST)
            raise KeyError(k)
        return wrap(key, self._d[k])

    def get(self, k: str, default: Any = None) -> Any:
        try:
            return self[k]
        except KeyError:
            return default

    def __contains__(self, k: object) -> bool:
        v = k in self._d
        TRACKER.record((*self._key, ("has", k)), v)
        return v

    def _all(self) -> dict[str, Any]:
        TRACKER.record((*self._key, ("all",)), self._d)
        return self._d

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._all()))

    def __len__(self) -> int:
        return len(self._all())

    def __bool__(self) -> bool:
        return bool(self._all())

    def keys(self) -> list[str]:
        return sorted(self._all())

    def items(self) -> list[tuple[str, Any]]:
        d = self._all()
        # Values under an iterated mapping are covered by the digest just recorded for all of it.
        return [(k, d[k]) for k in sorted(d)]

    def values(self) -> list[Any]:
        return [v for _, v in self.items()]


def resolve(key: Key, roots: Callable[[Key], Any]) -> bytes:
    """The current digest of ``key``: its root (from ``roots``) followed by each step."""
    try:
        obj, rest = roots(key)
        for s in rest:
            obj = step(obj, s)
    except Missing:
        return MISSING_DIGEST
    return digest(obj)


def key_from_json(v: list[Any]) -> Key:
    """JSON arrays back into the tuples keys are made of."""
    return tuple(key_from_json(x) if type(x) is list else x for x in v)
