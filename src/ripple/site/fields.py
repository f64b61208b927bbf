"""The readable surface of the model: what ``page.x``, ``site.x`` and ``paginator.x`` mean in a
template. Everything a template can read is in these tables, so every read is recorded."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from markupsafe import Markup

from ripple.site.content import Page, Pager, Site
from ripple.site.rendered import plain_text
from ripple.site.tracking import CALLS, FIELDS, IDENTITY, ROOTED, PageSeq
from ripple.site.urls import urlize


def _content(attr: str) -> Callable[[Page], Any]:
    html = attr in ("content", "summary", "toc")

    def get(p: Page) -> Any:
        v = getattr(p.site.content(p), attr)
        return Markup(v) if html else v

    return get


FIELDS[Page] = {
    "id": lambda p: p.id,
    "kind": lambda p: p.kind,
    "title": lambda p: p.title,
    "link_title": lambda p: p.link_title,
    "date": lambda p: p.date,
    "lastmod": lambda p: p.lastmod,
    "publish_date": lambda p: p.publish_date,
    "expiry_date": lambda p: p.expiry_date,
    "draft": lambda p: p.draft,
    "weight": lambda p: p.weight,
    "slug": lambda p: p.slug,
    "description": lambda p: p.description,
    "type": lambda p: p.type,
    "layout": lambda p: p.layout,
    "section": lambda p: p.section,
    "file": lambda p: p.file,
    "aliases": lambda p: p.aliases,
    "params": lambda p: p.params,
    "permalink": lambda p: p.permalink,
    "rel_permalink": lambda p: p.rel_permalink,
    "is_home": lambda p: p.kind == "home",
    "is_page": lambda p: p.kind == "page",
    "is_section": lambda p: p.kind == "section",
    "is_node": lambda p: p.kind != "page",
    "pages": lambda p: p.pages,
    "regular_pages": lambda p: p.regular_pages,
    "regular_pages_recursive": lambda p: p.regular_pages_recursive,
    "sections": lambda p: p.sections,
    "parent": lambda p: p.parent,
    "prev": lambda p: p.prev,
    "next": lambda p: p.next,
    "prev_in_section": lambda p: p.prev_in_section,
    "next_in_section": lambda p: p.next_in_section,
    "content": _content("content"),
    "summary": _content("summary"),
    "truncated": _content("truncated"),
    "toc": _content("toc"),
    "table_of_contents": _content("toc"),
    "word_count": _content("word_count"),
    "reading_time": _content("reading_time"),
    "plain": lambda p: plain_text(p.site.content(p).content),
}


def _get_terms(p: Page, plural: str) -> PageSeq:
    # In front matter order, as Hugo's .GetTerms.
    by_key = p.site.term_index.get(plural, {})
    keys = dict.fromkeys(urlize(t) for t in p.terms.get(plural, ()))
    return PageSeq([by_key[k] for k in keys if k in by_key])


FIELDS[Page]["terms"] = lambda p: {k: _get_terms(p, k) for k in sorted(p.terms)}
CALLS[Page] = {
    "get_terms": _get_terms,
    "pager": lambda p, n: Pager(p, n),
    "param": lambda p, k: p.params.get(str(k).lower(), p.site.config.params.get(str(k).lower())),
    "in_section": lambda p, other: p.section == other,
}
ROOTED[Page] = lambda p: ("p", p.id)
IDENTITY[Page] = lambda p: "\x00" + p.id


def _pager_pages(g: Pager) -> PageSeq:
    a = (g.number - 1) * g.size
    return PageSeq(g.page.pages[a : a + g.size])


FIELDS[Pager] = {
    "pages": _pager_pages,
    "page_number": lambda g: g.number,
    "total_pages": lambda g: g.total,
    "total_items": lambda g: len(g.page.pages),
    "has_prev": lambda g: g.number > 1,
    "has_next": lambda g: g.number < g.total,
    "prev_url": lambda g: g.url(g.number - 1),
    "next_url": lambda g: g.url(g.number + 1),
    "first_url": lambda g: g.url(1),
    "last_url": lambda g: g.url(g.total),
    "page_size": lambda g: g.size,
}

FIELDS[Site] = {
    "title": lambda s: s.config.title,
    "base_url": lambda s: s.config.base_url,
    "language_code": lambda s: s.config.language_code,
    "copyright": lambda s: s.config.copyright,
    "params": lambda s: s.config.params,
    "data": lambda s: s.data,
    "menus": lambda s: s.menus,
    "home": lambda s: s.home,
    "regular_pages": lambda s: s.regular_pages,
    "pages": lambda s: PageSeq(s.pages),
    "sections": lambda s: s.sections,
    "taxonomies": lambda s: s.taxonomies,
    "last_change": lambda s: s.home.date,
}
CALLS[Site] = {"get_page": lambda s, ref: s.get_page(str(ref))}
