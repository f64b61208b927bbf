"""The page model of the last build, kept next to the state (``OUT/.ripple/model.pickle``) so that a
new process does not rebuild ~10k pages from their cached parses.

The file is one pickle: the sources, the pages column by column (one list per slot) with their
references to other pages stored as indexes (a plain pickle would recurse along the prev/next
chain), the site's lists and the output specs. It carries a stamp that the state's ``meta`` table
names in the same commit as the outputs it describes; a snapshot whose stamp the state does not
name (a crash between the two writes, a build by an older ripple) is ignored and the model is
rebuilt from the parses.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from itertools import repeat
from pathlib import Path
from typing import Any

from ripple.site.content import Page, Site
from ripple.site.tracking import PageSeq

_FORMAT = 3

#: slots holding one page, or a list of pages: stored as indexes into the page list
_REFS = ("parent", "prev", "next", "prev_in_section", "next_in_section")
_SEQS = ("pages", "regular_pages", "regular_pages_recursive", "sections")
#: every other slot but ``site``, stored as it is
_PLAIN = tuple(s for s in Page.__slots__ if s not in _REFS and s not in _SEQS and s != "site")
_COLUMNS = (*_PLAIN, *_REFS, *_SEQS)


def _filler() -> Callable[..., None]:
    # Pages are stored column by column (one list per slot) and filled by one generated function
    # call each: unpickling 10k slot objects one by one (a state dict per page, set attribute by
    # attribute) cost ~0.27 s at 10k pages, the columns and this ~0.12 s.
    args = ", ".join(("o", "site", *_COLUMNS))
    body = "".join(f"    o.{s} = {s}\n" for s in ("site", *_COLUMNS))
    ns: dict[str, Any] = {}
    exec(f"def fill({args}):\n{body}", ns)  # generated from the slot names above only
    return ns["fill"]  # type: ignore[no-any-return]


_fill = _filler()


def dump(path: Path, stamp: bytes, parts: dict[str, Any]) -> bool:
    """Write the snapshot of ``parts`` (``site``, ``sources``, and plain values) under ``stamp``.

    Returns False, writing nothing, when the model holds something it cannot store (a page outside
    ``site.pages``); the next process then rebuilds the model, as without a snapshot."""
    site: Site = parts["site"]
    pages = site.pages
    index = {id(p): i for i, p in enumerate(pages)}

    def ix(p: Page | None) -> int:
        return -1 if p is None else index[id(p)]

    try:
        cols = [[getattr(p, s) for p in pages] for s in _PLAIN]
        cols += [[ix(getattr(p, s)) for p in pages] for s in _REFS]
        cols += [[[index[id(x)] for x in getattr(p, s)] for p in pages] for s in _SEQS]
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
        rest = {k: v for k, v in parts.items() if k != "site"}
        # One pickle for all of it: a page's source is the same object as in ``sources``.
        data = pickle.dumps(
            (_FORMAT, stamp, _COLUMNS, len(pages), cols, site_parts, rest), protocol=pickle.HIGHEST_PROTOCOL
        )
    except KeyError:
        return False
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return True


def load(path: Path, stamp: bytes) -> dict[str, Any] | None:
    """The parts stored by :func:`dump` (with ``site`` rebuilt), or None when there is no snapshot
    or it was written under another stamp."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError:
        return None
    try:
        fmt, got, names, n, cols, sp, rest = pickle.loads(raw)
    except Exception:  # a truncated, foreign or older file is only a missed shortcut
        return None
    if fmt != _FORMAT or got != stamp or names != _COLUMNS:
        return None
    site = Site(sp["config"], sp["data"], sp["now"])
    new = object.__new__
    pages = [new(Page) for _ in range(n)]
    get = pages.__getitem__
    k = len(_PLAIN)
    for j in range(k, k + len(_REFS)):
        cols[j] = [None if i < 0 else pages[i] for i in cols[j]]
    for j in range(k + len(_REFS), len(_COLUMNS)):
        cols[j] = [PageSeq(map(get, ixs)) for ixs in cols[j]]
    for _ in map(_fill, pages, repeat(site, n), *cols):
        pass
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
    rest["site"] = site
    return rest
