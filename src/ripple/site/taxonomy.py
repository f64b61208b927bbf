"""Taxonomies: the ``/tags/`` page and one term page per term, with members in Hugo's order."""

from __future__ import annotations

from typing import Any

from ripple.site.content import Page, Site, Source, _fill_from_fm, _list_dates, title_case
from ripple.site.tracking import PageSeq
from ripple.site.urls import urlize


def build_taxonomies(site: Site, regular: list[Page], meta: dict[str, Source]) -> list[Page]:
    """Taxonomy and term pages of the published ``regular`` pages; fills ``site.taxonomies``.

    Raises :class:`BuildError` for bad front matter in a term's ``_index.md``.
    """
    cfg = site.config
    out: list[Page] = []
    key = Page.sort_key
    for plural in sorted(cfg.taxonomies.values()):
        tp = Page(site, "taxonomy", "taxonomy:" + plural, plural, meta.get(plural))
        if tp.source:
            _fill_from_fm(tp, tp.source, cfg)
        tp.title = tp.title or title_case(plural)
        tp.link_title = tp.link_title or tp.title
        tp.type = plural
        tp.section = plural
        tp.out_path = "/" + urlize(plural) + "/"
        tp.parent = site.home
        members: dict[str, list[Page]] = {}
        names: dict[str, str] = {}
        for p in regular:
            for t in p.terms.get(plural, ()):
                k = urlize(t)
                if not k:
                    continue
                members.setdefault(k, []).append(p)
                names.setdefault(k, t)
        terms: list[Page] = []
        wkey = f"{plural}_weight"
        for k in sorted(members):
            src = meta.get(f"{plural}/{k}")
            term = Page(site, "term", f"term:{plural}/{k}", f"{plural}/{k}", src)
            if src:
                _fill_from_fm(term, src, cfg)
            term.title = term.title or title_case(names[k])
            term.link_title = term.link_title or term.title
            term.type = plural
            term.section = plural
            term.out_path = f"/{urlize(plural)}/{k}/"
            term.parent = tp

            def tkey(p: Page, wkey: str = wkey) -> tuple[Any, ...]:
                w = p.fm.get(wkey, 0)
                w = w if isinstance(w, int) and not isinstance(w, bool) else 0
                return (w == 0, w, *key(p))

            weighted = any(wkey in p.fm for p in members[k])
            term.pages = PageSeq(sorted(members[k], key=tkey if weighted else key))
            term.regular_pages = term.pages
            term.regular_pages_recursive = term.pages
            _list_dates(term, term.pages)
            terms.append(term)
        tp.pages = PageSeq(sorted(terms, key=key))  # by newest member, as Hugo lists terms
        tp.regular_pages = PageSeq()
        tp.regular_pages_recursive = PageSeq([p for p in regular if p.terms.get(plural)])
        _list_dates(tp, tp.regular_pages_recursive)
        site.taxonomies[plural] = PageSeq(terms)
        site.term_index[plural] = {t.path.split("/", 1)[1]: t for t in terms}
        site.taxonomy_pages[plural] = tp
        out.append(tp)
        out.extend(terms)
    return out
