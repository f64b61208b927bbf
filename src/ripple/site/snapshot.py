"""The page model of the last build, kept next to the state (``OUT/.ripple/model.pickle``) so that a
new process does not rebuild ~10k pages from their cached parses.

The file is one pickle: the sources, every page with its references to other pages stored as
indexes (a plain pickle would recurse along the prev/next chain), the site's lists and the output
specs. It carries a stamp that the state's ``meta`` table names in the same commit as the outputs
it describes; a snapshot whose stamp the state does not name (a crash between the two writes, a
build by an older ripple) is ignored and the model is rebuilt from the parses.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

from ripple.site.content import Page, Site
from ripple.site.tracking import PageSeq

_FORMAT = 2

#: slots holding one page, or a list of pages: stored as indexes into the page list
_REFS = ("parent", "prev", "next", "prev_in_section", "next_in_section")
_SEQS = ("pages", "regular_pages", "regular_pages_recursive", "sections")


def dump(path: Path, stamp: bytes, parts: dict[str, Any]) -> bool:
    """Write the snapshot of ``parts`` (``site``, ``sources``, and plain values) under ``stamp``.

    Returns False, writing nothing, when the model holds something it cannot store (a page outside
    ``site.pages``); the next process then rebuilds the model, as without a snapshot."""
    site: Site = parts["site"]
    pages = site.pages
    index = {id(p): i for i, p in enumerate(pages)}

    def ix(p: Page | None) -> int:
        return -1 if p is None else index[id(p)]

    saved = [(p.site, *(getattr(p, s) for s in _REFS), *(getattr(p, s) for s in _SEQS)) for p in pages]
    content_fn, lookup = site.content_fn, site.lookup
    try:
        for p in pages:
            p.site = None  # type: ignore[assignment]
            for s in _REFS:
                setattr(p, s, ix(getattr(p, s)))
            for s in _SEQS:
                setattr(p, s, [index[id(x)] for x in getattr(p, s)])
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
        data = pickle.dumps((_FORMAT, stamp, pages, site_parts, rest), protocol=pickle.HIGHEST_PROTOCOL)
    except KeyError:
        return False
    finally:
        for p, sv in zip(pages, saved, strict=True):
            p.site = sv[0]
            for s, v in zip(_REFS, sv[1 : 1 + len(_REFS)], strict=True):
                setattr(p, s, v)
            for s, v in zip(_SEQS, sv[1 + len(_REFS) :], strict=True):
                setattr(p, s, v)
        site.content_fn, site.lookup = content_fn, lookup
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
        fmt, got, pages, sp, rest = pickle.loads(raw)
    except Exception:  # a truncated or foreign file is only a missed shortcut
        return None
    if fmt != _FORMAT or got != stamp:
        return None
    site = Site(sp["config"], sp["data"], sp["now"])

    def at(i: int) -> Page | None:
        return None if i < 0 else pages[i]

    for p in pages:
        p.site = site
        for s in _REFS:
            setattr(p, s, at(getattr(p, s)))
        for s in _SEQS:
            setattr(p, s, PageSeq([pages[i] for i in getattr(p, s)]))
    site.pages = pages
    site.by_id = {p.id: p for p in pages}
    site.home = pages[sp["home"]]
    site.regular_pages = PageSeq([pages[i] for i in sp["regular_pages"]])
    site.sections = PageSeq([pages[i] for i in sp["sections"]])
    site.taxonomies = {k: PageSeq([pages[i] for i in v]) for k, v in sp["taxonomies"].items()}
    site.taxonomy_pages = {k: pages[i] for k, i in sp["taxonomy_pages"].items()}
    site.term_index = {k: {t: pages[i] for t, i in v.items()} for k, v in sp["term_index"].items()}
    site.menus = sp["menus"]
    site.next_change = sp["next_change"]
    rest["site"] = site
    return rest
