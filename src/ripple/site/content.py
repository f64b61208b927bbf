"""The site model: pages (regular, section, home, taxonomy, term) with Hugo's fields, fallbacks, URLs
and default order, built fresh every build from cached parses (cheap: no markdown is rendered here).

Templates read it only through :mod:`ripple.site.tracking` proxies; :mod:`ripple.site.fields` holds
the whole readable surface, so every read is recorded. Taxonomies and menus have their own modules.
"""

from __future__ import annotations

import math
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ripple.site.config import SiteConfig
from ripple.site.errors import BuildError
from ripple.site.frontmatter import line_of, parse_date
from ripple.site.index import CONTENT_EXTS
from ripple.site.tracking import PageSeq
from ripple.site.urls import expand, make_path, normalize_url, urlize

# Hugo's default date fallbacks (configuration/front-matter); ":git" and ":filename" are not supported.
DATE_KEYS = ("date", "publishdate", "pubdate", "published", "lastmod", "modified")
LASTMOD_KEYS = ("lastmod", "modified", "date", "publishdate", "pubdate", "published")
PUBLISH_KEYS = ("publishdate", "pubdate", "published", "date")
EXPIRY_KEYS = ("expirydate", "unpublishdate")


@dataclass(slots=True)
class Source:
    """A parsed content file: front matter (lower-cased keys), body and where the body starts."""

    path: str  # relative to content/, posix
    fm: dict[str, Any]
    body: str | None  # None until needed when the parse came from the cache
    body_line: int
    text: str  # front matter text, for line numbers in errors
    #: the page's own derived fields (dates, URL, ...) and the config they were computed under;
    #: cached across builds so an unchanged file costs an unpickle, not a re-derivation
    fields: dict[str, Any] | None = None
    fields_config: bytes = b""
    dirty: bool = True

    def __reduce__(self) -> tuple[Any, ...]:
        # A slots dataclass unpickles through a Python __setstate__ looping over its fields: ~20 µs
        # a source, 0.2 s for the 10k of a model snapshot. The constructor with positional values
        # does the same in a fraction of it.
        return (
            Source,
            (self.path, self.fm, self.body, self.body_line, self.text, self.fields, self.fields_config, self.dirty),
        )


class Page:
    """One page of any kind. Attributes are plain; templates read them via ``FIELDS``."""

    __slots__ = (
        "aliases",
        "date",
        "description",
        "dir",
        "draft",
        "expiry_date",
        "file",
        "fm",
        "id",
        "kind",
        "lastmod",
        "layout",
        "link_title",
        "menus_fm",
        "next",
        "next_in_section",
        "out_path",
        "pages",
        "params",
        "parent",
        "path",
        "prev",
        "prev_in_section",
        "publish_date",
        "regular_pages",
        "regular_pages_recursive",
        "section",
        "sections",
        "site",
        "skey",
        "slug",
        "source",
        "terms",
        "title",
        "type",
        "url",
        "weight",
    )

    def __init__(self, site: Site, kind: str, pid: str, path: str, source: Source | None) -> None:
        self.site = site
        self.kind = kind
        self.id = pid
        self.path = path
        self.source = source
        self.file = f"content/{source.path}" if source else ""
        self.fm: dict[str, Any] = source.fm if source else {}
        self.dir = ""
        self.section = ""
        self.title = ""
        self.link_title = ""
        self.date: datetime | None = None
        self.lastmod: datetime | None = None
        self.publish_date: datetime | None = None
        self.expiry_date: datetime | None = None
        self.draft = False
        self.weight = 0
        self.slug = ""
        self.url = ""
        self.aliases: list[str] = []
        self.type = ""
        self.layout = ""
        self.description = ""
        self.params: dict[str, Any] = {}
        self.terms: dict[str, list[str]] = {}
        self.menus_fm: Any = None
        self.out_path = "/"
        self.pages = PageSeq()
        self.regular_pages = PageSeq()
        self.regular_pages_recursive = PageSeq()
        self.sections = PageSeq()
        self.parent: Page | None = None
        self.prev: Page | None = None
        self.next: Page | None = None
        self.prev_in_section: Page | None = None
        self.next_in_section: Page | None = None
        self.skey: tuple[Any, ...] | None = None

    def __repr__(self) -> str:
        return f"<Page {self.id}>"

    def __getattr__(self, name: str) -> Any:
        # Reached only for a slot never set: a page loaded from a snapshot, whose rarely read slots
        # are unpickled at their first read (snapshot.Lazy). object.__getattribute__ for ``site``:
        # on a page without one, ``self.site`` would come back here.
        try:
            lazy = object.__getattribute__(self, "site").lazy
        except AttributeError:
            lazy = None
        if lazy is None or not lazy.fill(self, name):
            raise AttributeError(f"'Page' object has no attribute {name!r}")
        return object.__getattribute__(self, name)

    @property
    def rel_permalink(self) -> str:
        return self.site.config.base_path + self.out_path

    @property
    def permalink(self) -> str:
        return self.site.config.root_url + self.rel_permalink

    def sort_key(self) -> tuple[Any, ...]:
        """Hugo's default order: weight (0 last), newest date, link title, file path. Computed once,
        after the page's date is final."""
        k = self.skey
        if k is None:
            ts = self.date.timestamp() if self.date else -math.inf
            k = self.skey = (self.weight == 0, self.weight, -ts, self.link_title, self.file or self.id)
        return k


class Pager:
    """Page ``number`` of a list page's paginator."""

    __slots__ = ("number", "page")

    def __init__(self, page: Page, number: int) -> None:
        self.page = page
        self.number = number

    @property
    def size(self) -> int:
        return self.page.site.config.pager_size

    @property
    def total(self) -> int:
        return max(1, math.ceil(len(self.page.pages) / self.size))

    def url(self, n: int) -> str | None:
        if n < 1 or n > self.total:
            return None
        base = self.page.rel_permalink
        return base if n == 1 else f"{base}{self.page.site.config.pager_path}/{n}/"


class Site:
    """All pages of one build plus config, data, menus and taxonomies."""

    def __init__(self, config: SiteConfig, data: dict[str, Any], now: datetime) -> None:
        self.config = config
        self.data = data
        self.now = now
        self.pages: list[Page] = []
        self.by_id: dict[str, Page] = {}
        self.lookup: dict[str, Page] = {}
        self._pages_indexed = False
        self.home: Page
        self.regular_pages = PageSeq()
        self.sections = PageSeq()
        self.taxonomies: dict[str, PageSeq] = {}
        self.taxonomy_pages: dict[str, Page] = {}
        self.term_index: dict[str, dict[str, Page]] = {}
        self.menus: dict[str, list[Any]] = {}  # name -> [menus.MenuEntry]
        self.content_fn: Callable[[Page], Any] | None = None
        self.next_change: datetime | None = None
        #: the loader of slots a snapshot left unset on its pages (snapshot.Lazy), or None
        self.lazy: Any = None

    def get_page(self, ref: str) -> Page | None:
        # Built on first use, list pages first: menus look up sections, rarely single pages.
        key = _ref_key(ref)
        if not self.lookup:
            for p in self.pages:
                if p.kind != "page":
                    self.lookup[_ref_key(p.path if p.kind != "home" else "/")] = p
        hit = self.lookup.get(key)
        if hit is None and not self._pages_indexed:
            self._pages_indexed = True
            for p in self.pages:
                if p.kind == "page":
                    self.lookup.setdefault(_ref_key(p.path), p)
                    self.lookup.setdefault(_ref_key(p.path.rsplit(".", 1)[0]), p)
            hit = self.lookup.get(key)
        return hit

    def content(self, page: Page) -> Any:
        assert self.content_fn is not None
        return self.content_fn(page)


def _ref_key(ref: str) -> str:
    r = "/" + str(ref).strip().strip("/").lower()
    for ext in CONTENT_EXTS:
        if r.endswith(ext):
            r = r[: -len(ext)]
    for tail in ("/_index", "/index"):
        if r.endswith(tail):
            r = r[: -len(tail)] or "/"
    return r if r != "" else "/"


# --- building the model ----------------------------------------------------------------------------------


def _first_date(src: Source, keys: tuple[str, ...], cfg: SiteConfig) -> datetime | None:
    for k in keys:
        v = src.fm.get(k)
        if v not in (None, ""):
            try:
                return parse_date(v, cfg.time_zone)
            except ValueError as e:
                raise BuildError(f"{k}: {e}", file=f"content/{src.path}", line=line_of(src.text, k, 1)) from None
    return None


def _fill_from_fm(p: Page, src: Source, cfg: SiteConfig) -> None:
    fm = src.fm
    f = f"content/{src.path}"

    def s(key: str) -> str:
        v = fm.get(key, "")
        if v is None:
            return ""
        if isinstance(v, (dict, list)):
            raise BuildError(
                f"{key} must be a single value, got {type(v).__name__}", file=f, line=line_of(src.text, key)
            )
        return str(v)

    p.title = s("title")
    p.link_title = s("linktitle") or p.title
    p.date = _first_date(src, DATE_KEYS, cfg)
    p.lastmod = _first_date(src, LASTMOD_KEYS, cfg)
    p.publish_date = _first_date(src, PUBLISH_KEYS, cfg)
    p.expiry_date = _first_date(src, EXPIRY_KEYS, cfg)
    draft = fm.get("draft", False)
    if not isinstance(draft, bool):
        raise BuildError(f"draft must be true or false, got {draft!r}", file=f, line=line_of(src.text, "draft"))
    p.draft = draft
    weight = fm.get("weight", 0)
    if isinstance(weight, bool) or not isinstance(weight, int):
        raise BuildError(f"weight must be an integer, got {weight!r}", file=f, line=line_of(src.text, "weight"))
    p.weight = weight
    p.slug = s("slug")
    p.url = s("url")
    aliases = fm.get("aliases") or []
    if isinstance(aliases, str):
        aliases = [aliases]
    if not isinstance(aliases, list):
        raise BuildError("aliases must be a list of paths", file=f, line=line_of(src.text, "aliases"))
    p.aliases = [normalize_url(str(a)) for a in aliases]
    p.layout = s("layout")
    p.description = s("description")
    params = {k: v for k, v in fm.items() if k != "params"}
    extra = fm.get("params") or {}
    if not isinstance(extra, dict):
        raise BuildError("params must be a mapping", file=f, line=line_of(src.text, "params"))
    params.update(extra)
    p.params = params
    p.menus_fm = fm.get("menus", fm.get("menu"))
    for plural in cfg.taxonomies.values():
        v = fm.get(plural)
        if v is None:
            continue
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list):
            raise BuildError(f"{plural} must be a list of terms", file=f, line=line_of(src.text, plural))
        p.terms[plural] = [str(t) for t in v if str(t).strip()]


def _published(p: Page, cfg: SiteConfig, now: datetime) -> bool:
    if p.draft and not cfg.build_drafts:
        return False
    if p.publish_date and p.publish_date > now and not cfg.build_future:
        return False
    return not (p.expiry_date and p.expiry_date <= now and not cfg.build_expired)


_CACHED_FIELDS = (
    "title",
    "link_title",
    "date",
    "lastmod",
    "publish_date",
    "expiry_date",
    "draft",
    "weight",
    "slug",
    "url",
    "aliases",
    "layout",
    "description",
    "params",
    "menus_fm",
    "terms",
    "dir",
    "section",
    "type",
    "out_path",
)


_DATE_FIELDS = ("date", "lastmod", "publish_date", "expiry_date")


def _freeze_date(d: datetime, tz: Any) -> tuple[str, bool]:
    # Unpickling aware datetimes is ~30x slower than fromisoformat; keep whether the zone is the
    # site's (restored as that object, so %Z formats the same) or a fixed offset from the text.
    if d.tzinfo is tz and tz is not UTC:  # fromisoformat gives back the UTC singleton itself
        return d.replace(tzinfo=None).isoformat(), True
    return d.isoformat(), False


def _thaw_date(v: tuple[str, bool], tz: Any) -> datetime:
    d = datetime.fromisoformat(v[0])
    return d.replace(tzinfo=tz) if v[1] else d


def derive_fields(p: Page, src: Source, cfg: SiteConfig, config_key: bytes) -> None:
    """Set a regular page's fields from its front matter, path and the config, and cache them on
    its source (``src.fields``, marked dirty: to be stored). Raises :class:`BuildError`."""
    d, name = posixpath.split(src.path)
    _fill_from_fm(p, src, cfg)
    stem = name.rsplit(".", 1)[0]
    if stem == "index" and d:  # leaf bundle: the directory names the page
        d, stem = posixpath.split(d)
    p.dir = d
    p.section = d.split("/", 1)[0] if d else ""
    p.type = str(p.fm.get("type") or p.section or "page")
    p.out_path = _page_url(p, stem, cfg)
    src.fields = {f: getattr(p, f) for f in _CACHED_FIELDS}
    for f in _DATE_FIELDS:
        if src.fields[f] is not None:
            src.fields[f] = _freeze_date(src.fields[f], cfg.time_zone)
    src.fields_config = config_key
    src.dirty = True


def home_titles(home: Page, cfg: SiteConfig) -> tuple[str, str]:
    """The home page's title and link title: its front matter's (checked by _fill_from_fm), else the
    site's title, as Hugo does."""
    own, link = home.fm.get("title"), home.fm.get("linktitle")
    title = ("" if own is None else str(own)) or cfg.title
    return title, ("" if link is None else str(link)) or title


def build_site(
    config: SiteConfig, sources: dict[str, Source], data: dict[str, Any], now: datetime, config_key: bytes = b""
) -> Site:
    """Build the page model from parsed sources. Raises :class:`BuildError` for bad field values or
    two pages claiming the same URL."""
    site = Site(config, data, now)
    cfg = config
    branch_meta: dict[str, Source] = {}
    regular: list[Page] = []
    upcoming: list[datetime] = []
    for path in sorted(sources):
        src = sources[path]
        d, name = posixpath.split(path)
        if name.startswith("_index."):
            branch_meta[d] = src
            continue
        p = Page(site, "page", "page:" + path, path, src)
        if src.fields is not None and src.fields_config == config_key:
            for f, v in src.fields.items():
                setattr(p, f, v)
            for f in _DATE_FIELDS:
                v = getattr(p, f)
                if v is not None:
                    setattr(p, f, _thaw_date(v, cfg.time_zone))
        else:
            derive_fields(p, src, cfg, config_key)
        if not _published(p, cfg, now):
            for t in (p.publish_date, p.expiry_date):
                if t and t > now:
                    upcoming.append(t)
            continue
        if p.expiry_date and p.expiry_date > now:
            upcoming.append(p.expiry_date)
        regular.append(p)
    site.next_change = min(upcoming) if upcoming else None

    # Sections: top-level directories, and deeper ones that have an _index.md (Hugo's rule).
    sec_dirs: set[str] = set()
    for p in regular:
        if p.dir:
            sec_dirs.add(p.dir.split("/", 1)[0])
    for d in branch_meta:
        if d:
            sec_dirs.add(d)
            parts = d.split("/")
            sec_dirs.add(parts[0])
    taxonomy_names = set(cfg.taxonomies.values())
    sec_dirs = {d for d in sec_dirs if d.split("/", 1)[0] not in taxonomy_names}
    home = Page(site, "home", "home", "", branch_meta.get(""))
    if home.source:
        _fill_from_fm(home, home.source, cfg)
    home.title, home.link_title = home_titles(home, cfg)
    home.type = "home"
    home.out_path = "/"
    site.home = home
    sections: dict[str, Page] = {}
    for d in sorted(sec_dirs):
        sp = Page(site, "section", "section:" + d, d, branch_meta.get(d))
        if sp.source:
            _fill_from_fm(sp, sp.source, cfg)
        sp.dir = d
        sp.section = d.split("/", 1)[0]
        sp.title = sp.title or title_case(d.rsplit("/", 1)[-1].replace("-", " "))
        sp.link_title = sp.link_title or sp.title
        sp.type = str(sp.fm.get("type") or sp.section)
        sp.out_path = normalize_url(sp.url) if sp.url else "/" + make_path(d) + "/"
        sections[d] = sp

    def owner(d: str) -> Page:
        while d:
            if d in sections:
                return sections[d]
            d = posixpath.dirname(d)
        return home

    key = Page.sort_key
    for p in regular:
        p.parent = owner(p.dir)
        p.parent.regular_pages.append(p)
    for d, sp in sections.items():
        sp.parent = owner(posixpath.dirname(d)) if "/" in d else home
        sp.parent.sections.append(sp)
    branches = [home, *sections.values()]
    for b in branches:
        b.regular_pages.sort(key=key)
    # Recursive lists and dates, deepest sections first so parents see their children's.
    for b in sorted(branches, key=lambda b: -b.path.count("/") if b.path else 1):
        b.sections.sort(key=key)
        rec = list(b.regular_pages)
        for s in b.sections:
            rec.extend(s.regular_pages_recursive)
        rec.sort(key=key)
        b.regular_pages_recursive = PageSeq(rec)
        _list_dates(b, rec)
        b.pages = PageSeq(sorted([*b.regular_pages, *b.sections], key=key))
    site.regular_pages = PageSeq(sorted(regular, key=key))
    site.sections = PageSeq(sorted(home.sections, key=key))
    main = cfg.main_sections
    if main is None:
        counts = sorted((-len(s.regular_pages_recursive), s.path) for s in sections.values() if "/" not in s.path)
        main = [counts[0][1]] if counts else []
    home.pages = PageSeq([p for p in site.regular_pages if p.section in main]) if main else site.regular_pages
    _neighbors(site.regular_pages, "prev", "next")
    for b in branches:
        _neighbors(b.regular_pages, "prev_in_section", "next_in_section")

    pages: list[Page] = [home, *sections.values(), *regular]
    from ripple.site.menus import build_menus
    from ripple.site.taxonomy import build_taxonomies

    pages.extend(build_taxonomies(site, regular, branch_meta))
    site.pages = pages
    for p in pages:
        site.by_id[p.id] = p
    site.menus = build_menus(site, regular + list(sections.values()) + [home])
    return site


_SMALL = {"a", "an", "and", "as", "at", "but", "by", "for", "in", "nor", "of", "on", "or", "the", "to", "vs"}


def title_case(s: str) -> str:
    """Hugo's default titleCaseStyle (AP): capitalise words, small words stay lower unless first."""
    words = s.split(" ")
    out = []
    for i, w in enumerate(words):
        if w and (i == 0 or w.lower() not in _SMALL):
            w = w[0].upper() + w[1:]
        out.append(w)
    return " ".join(out)


def _list_dates(b: Page, rec: list[Page]) -> None:
    dates = [p.date for p in rec if p.date]
    mods = [p.lastmod for p in rec if p.lastmod]
    if dates and (b.date is None or max(dates) > b.date):
        b.date = max(dates)
    if mods and (b.lastmod is None or max(mods) > b.lastmod):
        b.lastmod = max(mods)
    b.publish_date = b.publish_date or b.date
    b.skey = None  # the date may have changed: recompute the order key


def _neighbors(seq: list[Page], prev: str, nxt: str) -> None:
    # Hugo: with the default order (newest first), .Next is the newer page and .Prev the older one.
    n = len(seq)
    for i, p in enumerate(seq):
        setattr(p, nxt, seq[i - 1] if i > 0 else None)
        setattr(p, prev, seq[i + 1] if i + 1 < n else None)


def _page_url(p: Page, stem: str, cfg: SiteConfig) -> str:
    if p.url:
        return normalize_url(p.url)
    pattern = cfg.permalinks.get(p.section)
    if pattern:
        return expand(
            pattern,
            date=p.date,
            title=p.title,
            slug=p.slug,
            filename=stem,
            section=p.section,
            sections=p.dir,
        )
    last = urlize(p.slug) if p.slug else make_path(stem)
    prefix = make_path(p.dir) + "/" if p.dir else ""
    return "/" + prefix + last + "/"


# Registers the fields templates can read (imported last: it needs the classes above).
from ripple.site import fields as _fields  # noqa: E402, F401
