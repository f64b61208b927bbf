"""The page model of the last build, kept next to the state (``OUT/.ripple/model.pickle``) so that a
new process does not rebuild ~10k pages from their cached parses.

The file is one pickle: the pages column by column (one list per slot) with their references to
other pages stored as indexes (a plain pickle would recurse along the prev/next chain), the site's
lists and the output specs. It carries a stamp that the state's ``meta`` table names in the same
commit as the outputs it describes; a snapshot whose stamp the state does not name (a crash between
the two writes, a build by an older ripple) is ignored and the model is rebuilt from the parses.

Loading is lazy where a small edit does not look: a body edit renders one page and checks a few
keys, yet unpickling every page's front matter, params and source cost more than half of loading
the whole model (~50 of ~80 ms at 10k pages). Those slots stay unset on the loaded pages and
:meth:`Page.__getattr__ <ripple.site.content.Page.__getattr__>` (reached only for an unset slot)
asks :class:`Lazy` for them: a page's rarely read slots are one pickled tuple, unpickled at the
first read of any of them, and a source is unpickled at its first lookup. Their pickled bytes are
held in memory, so a snapshot rewritten meanwhile (by this very build) cannot mix into the loaded
model.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Iterator, MutableMapping
from itertools import repeat
from pathlib import Path
from typing import Any

from ripple.site.content import Page, Site, Source
from ripple.site.tracking import PageSeq

_FORMAT = 4

#: slots holding one page, or a list of pages: stored as indexes into the page list
_REFS = ("parent", "prev", "next", "prev_in_section", "next_in_section")
_SEQS = ("pages", "regular_pages", "regular_pages_recursive", "sections")
#: slots loaded with the snapshot: what finding the changed keys, the output specs and the lists a
#: small edit renders read (and ``file``, which names a page's source)
_EAGER = ("date", "file", "id", "kind", "out_path", "path", "section", "skey", "title")
#: slots filled from the page's source (``fm`` is its source's front matter)
_FROM_SOURCE = ("source", "fm")
#: every other slot but ``site``: stored as one pickled tuple per page, unpickled at the first read
#: of one of them on that page
_LAZY = tuple(s for s in Page.__slots__ if s not in (*_REFS, *_SEQS, *_EAGER, *_FROM_SOURCE, "site"))
_COLUMNS = (*_EAGER, *_REFS)


def _filler(names: tuple[str, ...]) -> Callable[..., None]:
    # Pages are stored column by column (one list per slot) and filled by one generated function
    # call each: unpickling 10k slot objects one by one (a state dict per page, set attribute by
    # attribute) cost ~0.27 s at 10k pages, the columns and this ~0.12 s. The lazy slots of a page
    # likewise: ~9 µs a page with their unpickling, against ~33 µs setting them one by one.
    args = ", ".join(("o", *names))
    body = "".join(f"    o.{s} = {s}\n" for s in names)
    ns: dict[str, Any] = {}
    exec(f"def fill({args}):\n{body}", ns)  # generated from the slot names above only
    return ns["fill"]  # type: ignore[no-any-return]


_fill = _filler(("site", *_COLUMNS))
_fill_lazy = _filler(_LAZY)


class Sources(MutableMapping[str, Source]):
    """Content path -> :class:`Source` of a loaded snapshot, each unpickled at its first lookup.
    Iterating the keys, ``in`` and ``len`` unpickle nothing."""

    def __init__(self, raw: dict[str, bytes]) -> None:
        self._raw = raw
        self._got: dict[str, Source] = {}

    def __getitem__(self, rel: str) -> Source:
        s = self._got.get(rel)
        if s is None:
            s = self._got[rel] = pickle.loads(self._raw.pop(rel))  # KeyError: no such source
        return s

    def __setitem__(self, rel: str, s: Source) -> None:
        self._raw.pop(rel, None)
        self._got[rel] = s

    def __delitem__(self, rel: str) -> None:
        if self._raw.pop(rel, None) is None:
            del self._got[rel]

    def __contains__(self, rel: object) -> bool:
        return rel in self._got or rel in self._raw

    def __iter__(self) -> Iterator[str]:
        yield from self._got
        yield from list(self._raw)

    def __len__(self) -> int:
        return len(self._got) + len(self._raw)

    def loaded(self) -> Iterator[Source]:
        """The sources unpickled so far (the others are as the snapshot stored them)."""
        return iter(self._got.values())


class Lazy:
    """The slots a loaded snapshot left unset, filled on first read (see the module's docstring)."""

    def __init__(self, pages: list[Page], rows: list[bytes | None], sources: Sources, fm: dict[str, Any]) -> None:
        self.pages = pages
        self.rows = rows
        self._index: dict[int, int] | None = None
        self.sources = sources
        #: front matter of pages whose ``fm`` is not their source's (page id -> dict)
        self.fm = fm

    def fill(self, page: Page, name: str) -> bool:
        """Set ``name`` on ``page`` (with the page's other :data:`_LAZY` slots); False if it is not
        a slot this snapshot left unset."""
        if name in _SEQS:  # not stored: empty
            setattr(page, name, PageSeq())
            return True
        if name == "source":
            page.source = self.sources[page.file[len("content/") :]] if page.file else None
            return True
        if name == "fm":
            fm = self.fm.get(page.id)
            page.fm = fm if fm is not None else (page.source.fm if page.source is not None else {})
            return True
        return name in _LAZY and self.load_page(page)

    def load_page(self, page: Page) -> bool:
        """Set all of ``page``'s :data:`_LAZY` slots from the snapshot if they are still pending;
        False if none are (not a loaded page, or loaded already). Code that writes one of those
        slots on a loaded page calls this first, since a later load would overwrite it."""
        if self._index is None:
            self._index = {id(p): i for i, p in enumerate(self.pages)}
        i = self._index.get(id(page))
        raw = None if i is None else self.rows[i]
        if raw is None:
            return False
        self.rows[i] = None
        _fill_lazy(page, *pickle.loads(raw))
        return True


def dump(path: Path, stamp: bytes, parts: dict[str, Any]) -> bool:
    """Write the snapshot of ``parts`` (``site``, ``sources``, and plain values) under ``stamp``.

    Returns False, writing nothing, when the model holds something it cannot store (a page outside
    ``site.pages``, a page whose source is not the one of its file); the next process then rebuilds
    the model, as without a snapshot."""
    site: Site = parts["site"]
    sources: MutableMapping[str, Source] = parts["sources"]
    pages = site.pages
    index = {id(p): i for i, p in enumerate(pages)}

    def ix(p: Page | None) -> int:
        return -1 if p is None else index[id(p)]

    try:
        cols = [[getattr(p, s) for p in pages] for s in _EAGER]
        cols += [[ix(getattr(p, s)) for p in pages] for s in _REFS]
        # Only the lists that hold pages (~2% of them): a regular page's are empty, and creating
        # 40k lists cost ~25 ms of a load. An empty one is made at its first read (Lazy.fill).
        seqs = [{i: [index[id(x)] for x in v] for i, p in enumerate(pages) if (v := getattr(p, s))} for s in _SEQS]
        lazy = [pickle.dumps(tuple(getattr(p, s) for s in _LAZY), protocol=pickle.HIGHEST_PROTOCOL) for p in pages]
        fm: dict[str, Any] = {}
        for p in pages:
            # The loader finds a page's source by its file (Lazy.fill), its front matter as that
            # source's unless stored here.
            src = p.source
            if p.file:
                if src is None or sources.get(p.file[len("content/") :]) is not src:
                    raise KeyError(p.id)  # the loaded page would find another source, or none
            elif src is not None:
                raise KeyError(p.id)
            if p.fm is not (src.fm if src is not None else None) and (src is not None or p.fm):
                fm[p.id] = p.fm
        raw = {rel: pickle.dumps(s, protocol=pickle.HIGHEST_PROTOCOL) for rel, s in sources.items()}
        site_parts = {
            "config": site.config,
            "data": site.data,
            "now": site.now,
            "home": ix(site.home),
            "regular_pages": [ix(p) for p in site.regular_pages],
            "sections": [ix(p) for p in site.sections],
            "taxonomies": {k: [ix(p) for p in v] for k, v in site.taxonomies.items()},
            "taxonomy_pages": {k: ix(p) for k, p in site.taxonomy_pages.items()},
            "term_index": {k: {t: ix(p) for t, p in v.items()} for k, v in site.term_index.items()},
            "menus": site.menus,
            "next_change": site.next_change,
        }
        rest = {k: v for k, v in parts.items() if k not in ("site", "sources")}
        data = pickle.dumps(
            (_FORMAT, stamp, _COLUMNS, _LAZY, len(pages), cols, seqs, site_parts, rest, lazy, raw, fm),
            protocol=pickle.HIGHEST_PROTOCOL,
        )
    except KeyError:
        return False
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return True


def load(path: Path, stamp: bytes) -> dict[str, Any] | None:
    """The parts stored by :func:`dump` (with ``site`` rebuilt, its pages' lazy slots unset and
    ``sources`` a :class:`Sources`), or None when there is no snapshot or it was written under
    another stamp."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError:
        return None
    try:
        fmt, got, names, lazy_names, n, cols, seqs, sp, rest, lazy, sources, fm = pickle.loads(raw)
    except Exception:  # a truncated, foreign or older file is only a missed shortcut
        return None
    if fmt != _FORMAT or got != stamp or names != _COLUMNS or lazy_names != _LAZY:
        return None
    site = Site(sp["config"], sp["data"], sp["now"])
    new = object.__new__
    pages = [new(Page) for _ in range(n)]
    get = pages.__getitem__
    k = len(_EAGER)
    for j in range(k, k + len(_REFS)):
        cols[j] = [None if i < 0 else pages[i] for i in cols[j]]
    for _ in map(_fill, pages, repeat(site, n), *cols):
        pass
    for s, col in zip(_SEQS, seqs, strict=True):
        slot = getattr(Page, s)
        for i, ixs in col.items():
            slot.__set__(pages[i], PageSeq(map(get, ixs)))
    site.pages = pages
    site.by_id = {p.id: p for p in pages}
    site.home = pages[sp["home"]]
    site.regular_pages = PageSeq(map(get, sp["regular_pages"]))
    site.sections = PageSeq(map(get, sp["sections"]))
    site.taxonomies = {k: PageSeq(map(get, v)) for k, v in sp["taxonomies"].items()}
    site.taxonomy_pages = {k: pages[i] for k, i in sp["taxonomy_pages"].items()}
    site.term_index = {k: {t: pages[i] for t, i in v.items()} for k, v in sp["term_index"].items()}
    site.menus = sp["menus"]
    site.next_change = sp["next_change"]
    srcs = Sources(sources)
    site.lazy = Lazy(pages, lazy, srcs, fm)
    rest["site"] = site
    rest["sources"] = srcs
    return rest
