"""What outputs a site has (pages, pagers, feeds, aliases, sitemap, robots, 404) and how each one is
rendered, plus the per-page markdown cache whose entries carry their own recorded dependencies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from markupsafe import Markup

from ripple.site.content import Page, Pager, Site
from ripple.site.errors import BuildError
from ripple.site.rendered import Rendered
from ripple.site.shortcodes import Shortcode, expand, restore
from ripple.site.sources import read_source
from ripple.site.state import dumps, loads
from ripple.site.templates import INTERNAL, Templates
from ripple.site.tracking import TRACKER, Key, Tracked, TrackedList, key_from_json
from ripple.site.urls import output_file

Producer = tuple[Any, ...]
EMPTY = Rendered("", "", False, '<nav id="TableOfContents"></nav>', 0, 0)


def output_specs(site: Site, templates: Templates) -> dict[str, Producer]:
    """Every output file of the site except pagers 2..n (known only once page 1 has rendered).

    Raises :class:`BuildError` when two pages claim the same output file.
    """
    specs: dict[str, Producer] = {}
    owners: dict[str, str] = {}

    def add(path: str, prod: Producer, owner: str, weak: bool = False) -> None:
        if path in specs:
            if weak:
                return
            if specs[path][0] != "alias":
                raise BuildError(f"{owner} and {owners[path]} both produce {path}", file=owner or None)
        specs[path] = prod
        owners[path] = owner

    for p in site.pages:
        if p.kind == "page":
            add(output_file(p.out_path), ("page", p.id), p.file)
        else:
            add(output_file(p.out_path), ("list", p.id, 1), p.file or p.id)
            add(output_file(p.out_path)[: -len("index.html")] + "index.xml", ("rss", p.id), p.file or p.id)
    for p in site.pages:
        for a in p.aliases:
            add(output_file(a), ("alias", p.id), p.file, weak=True)
    add("sitemap.xml", ("sitemap",), "sitemap")
    if site.config.robots_txt:
        add("robots.txt", ("robots",), "robots")
    if "404.html" in templates.files:
        add("404.html", ("404",), "layouts/404.html")
    return specs


def pager_specs(site: Site, page_id: str) -> dict[str, Producer]:
    """Pagers 2..n of a list page and the ``/page/1/`` alias, for a page whose template paginates."""
    p = site.by_id[page_id]
    g = Pager(p, 1)
    base = output_file(p.out_path)[: -len("index.html")]
    out: dict[str, Producer] = {f"{base}{site.config.pager_path}/1/index.html": ("alias", p.id)}
    for n in range(2, g.total + 1):
        out[f"{base}{site.config.pager_path}/{n}/index.html"] = ("list", p.id, n)
    return out


def _single_candidates(p: Page) -> list[str]:
    c = []
    if p.layout:
        c.append(f"{p.type}/{p.layout}.html")
    c.append(f"{p.type}/single.html")
    if p.layout:
        c.append(f"_default/{p.layout}.html")
    c.append("_default/single.html")
    return c


def _list_candidates(p: Page) -> list[str]:
    lay = [f"{p.type}/{p.layout}.html"] if p.layout else []
    if p.kind == "home":
        return [
            *lay,
            "index.html",
            "home.html",
            "list.html",
            "_default/index.html",
            "_default/home.html",
            "_default/list.html",
        ]
    if p.kind == "section":
        return [
            *lay,
            f"{p.type}/section.html",
            f"{p.type}/list.html",
            f"section/{p.section}.html",
            "_default/section.html",
            "_default/list.html",
        ]
    if p.kind == "taxonomy":
        return [
            *lay,
            f"{p.type}/terms.html",
            f"{p.type}/taxonomy.html",
            f"{p.type}/list.html",
            "_default/terms.html",
            "_default/taxonomy.html",
            "_default/list.html",
        ]
    return [*lay, f"{p.type}/term.html", f"{p.type}/list.html", "_default/term.html", "_default/list.html"]


def _rss_candidates(p: Page) -> list[str]:
    own = ["index.rss.xml", "home.rss.xml", "rss.xml"] if p.kind == "home" else [f"{p.type}/rss.xml"]
    return [*own, "_default/rss.xml", INTERNAL + "rss.xml"]


class OutputRenderer:
    """Renders one producer to bytes, recording its dependencies."""

    def __init__(self, site: Site, templates: Templates, site_proxy: Tracked) -> None:
        self.site = site
        self.t = templates
        self.site_proxy = site_proxy

    def page_proxy(self, p: Page) -> Tracked:
        return Tracked(("p", p.id), p)

    def render(self, prod: Producer) -> tuple[bytes, dict[Key, bytes], set[str], set[int], Slots | None]:
        """Render an output: its bytes, the keys it read, its flags, the ids of stored keys it read
        through cached fragments, and its slots (see :func:`slots_of`). Raises :class:`BuildError`
        (template errors, missing layouts)."""
        rec = TRACKER.push()
        rec.slots = []
        self._found: list[tuple[int, int, Any]] = []
        try:
            text = self._render(prod)
        finally:
            TRACKER.pop()
        data = text.encode("utf-8")
        if not self._found:
            return data, rec.deps, rec.flags, rec.ids, None  # type: ignore[return-value]
        own_ids: set[int] = rec.ids  # type: ignore[assignment]
        deps, ids, slots = slots_of(text, self._found, rec.deps, own_ids)
        return data, deps, rec.flags, ids, slots

    def slot_context(self, ck: Any) -> tuple[Any] | None:
        """The argument of a slot's partial call from its fragment id's JSON form (``["v", value]``,
        ``["t", ["p", page id]]`` or ``["t", ["site"]]``), in a 1-tuple; None when it names a page
        that no longer exists or a value of another kind."""
        if ck[0] == "v":
            return (ck[1],)
        if ck[0] == "t":
            key = ck[1]
            if key == ["site"]:
                return (self.site_proxy,)
            if len(key) == 2 and key[0] == "p":
                p = self.site.by_id.get(key[1])
                return (self.page_proxy(p),) if p is not None else None
        return None

    def _out(self, name: str, ctx: dict[str, Any]) -> str:
        text, self._found = self.t.render_output(name, ctx)
        return text

    def _need(self, candidates: list[str], p: Page | None, what: str) -> str:
        name = self.t.lookup(candidates)
        if name is None:
            raise BuildError(
                f"no layout for {what}; looked for "
                + ", ".join(f"layouts/{c}" for c in candidates if not c.startswith(INTERNAL)),
                file=(p.file if p and p.file else "layouts/"),
                line=1 if p and p.file else None,
            )
        return name

    def _render(self, prod: Producer) -> str:
        kind = prod[0]
        site = self.site
        if kind == "page":
            p = site.by_id[prod[1]]
            name = self._need(_single_candidates(p), p, f"page {p.file} (kind page, type {p.type!r})")
            return self._out(name, {"page": self.page_proxy(p)})
        if kind == "list":
            p = site.by_id[prod[1]]
            n = prod[2]
            name = self._need(_list_candidates(p), p, f"{p.kind} page {p.path or '/'!r}")
            pager = Tracked(("p", p.id, ("pager", n)), Pager(p, n))
            return self._out(name, {"page": self.page_proxy(p), "paginator": _FlagProxy(pager)})
        if kind == "rss":
            p = site.by_id[prod[1]]
            name = self._need(_rss_candidates(p), p, "RSS")
            if p.kind == "home":
                key, seq = ("site", "regular_pages"), site.regular_pages
            elif p.kind == "section":
                key, seq = ("p", p.id, "regular_pages_recursive"), p.regular_pages_recursive
            else:
                key, seq = ("p", p.id, "pages"), p.pages
            items = TrackedList(key, seq)
            if site.config.rss_limit > 0:
                items = items.first(site.config.rss_limit)
            return self._out(name, {"page": self.page_proxy(p), "rss_pages": items})
        if kind == "alias":
            p = site.by_id[prod[1]]
            name = self._need(["alias.html", "_default/alias.html", INTERNAL + "alias.html"], None, "aliases")
            return self._out(name, {"page": self.page_proxy(p), "permalink": self.page_proxy(p).permalink})
        if kind == "sitemap":
            name = self._need(["sitemap.xml", "_default/sitemap.xml", INTERNAL + "sitemap.xml"], None, "sitemap")
            return self._out(name, {"page": self.page_proxy(site.home)})
        if kind == "robots":
            name = self._need(["robots.txt", "_default/robots.txt", INTERNAL + "robots.txt"], None, "robots.txt")
            return self._out(name, {"page": self.page_proxy(site.home)})
        if kind == "404":
            return self._out("404.html", {"page": self.page_proxy(site.home)})
        raise AssertionError(kind)


#: an output's slots: ([(start byte, end byte, fragment id)], keys read only in slots, ids read only
#: in slots (not among its own ids), its own ids)
Slots = tuple[list[tuple[int, int, str]], list[Key], set[int], set[int]]


def slots_of(
    text: str, found: list[tuple[int, int, Any]], own: dict[Key, bytes], own_ids: set[int]
) -> tuple[dict[Key, bytes], set[int], Slots]:
    """All the keys and ids an output read (its own and its slots'), and its :data:`Slots`, from
    the slots :meth:`Templates.render_output` found at character offsets of ``text``. ``own``
    becomes the first of them (updated in place: it is the output's finished recording)."""
    slot_ids: set[int] = set()
    only: list[Key] = []
    offsets: list[tuple[int, int, str]] = []
    for start, end, (_, fid, sdeps, sids, places) in found:
        # Not among the output's own keys nor an earlier slot's (both in ``own`` by now).
        only.extend([k for k in sdeps if k not in own])
        own.update(sdeps)
        slot_ids.update(sids)
        if places is None:
            offsets.append((start, end, fid))
        else:  # a partial_each: a slot per item
            offsets.extend([(start + off, start + off + n, f) for off, n, f in places])
    if not text.isascii():
        # Bytes, not characters, in the file: counted along the text once (the places ascend).
        cpos = bpos = 0

        def at(c: int) -> int:
            nonlocal cpos, bpos
            bpos += len(text[cpos:c].encode())
            cpos = c
            return bpos

        offsets = [(at(s), at(e), f) for s, e, f in offsets]
    return own, own_ids | slot_ids, (offsets, only, slot_ids - own_ids, own_ids)


class _FlagProxy:
    """The ``paginator`` variable: using it marks the list page as paginated (pagers 2..n exist)."""

    __slots__ = ("_inner",)

    def __init__(self, inner: Tracked) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        TRACKER.flag("paginate")
        return getattr(self._inner, name)


class ContentCache:
    """Rendered markdown per page, memoized per build and kept in the state across builds.

    An entry is reused when the file hash and renderer settings match and every key its shortcodes
    read (templates, other pages' URLs) still has the recorded digest.
    """

    def __init__(
        self,
        src: Path,
        site: Site,
        templates: Templates,
        renderer: Callable[[], Any],
        env_digest: bytes,
        file_hash: Callable[[str], bytes],
        stored: Callable[[str], tuple[bytes, bytes, bytes, bytes] | None],
        current: Callable[[Key], bytes],
    ) -> None:
        self.src = src
        self.site = site
        self.t = templates
        self._make_md = renderer
        self._md: Any = None
        self.env = env_digest
        self.file_hash = file_hash
        self.stored = stored
        self.current = current
        self.memo: dict[str, Rendered] = {}
        self.new: dict[str, tuple[bytes, bytes, bytes, bytes]] = {}
        self.rendered = 0

    @property
    def md(self) -> Any:
        if self._md is None:
            self._md = self._make_md()
        return self._md

    def __call__(self, p: Page) -> Rendered:
        r = self.memo.get(p.id)
        if r is None:
            r = self._get(p)
            self.memo[p.id] = r
        return r

    def _get(self, p: Page) -> Rendered:
        if not p.file:  # no source (``file`` names it without unpickling a snapshot's)
            return EMPTY
        fh = self.file_hash(p.file)
        row = self.stored(p.id)
        if row is not None and row[0] == fh and row[1] == self.env:
            deps = orjson.loads(row[2])
            if all(self.current(key_from_json(k)) == bytes.fromhex(d) for k, d in deps):
                return loads(row[3])
        r, deps = self._render(p)
        enc = orjson.dumps([[_jsonable(key), d.hex()] for key, d in deps.items()])
        self.new[p.id] = (fh, self.env, enc, dumps(r))
        self.rendered += 1
        return r

    def _render(self, p: Page) -> tuple[Rendered, dict[Key, bytes]]:
        src = p.source
        assert src is not None
        if src.body is None:
            src.body = read_source(self.src, src.path, (src.text, src.fm)).body
        rec = TRACKER.push(ids=False)  # the content cache stores keys, not key ids
        try:
            page = Tracked(("p", p.id), p)
            site = self.t.site

            def render_sc(sc: Shortcode, line: int) -> str:
                name = self.t.lookup([f"shortcodes/{sc.name}.html", f"{INTERNAL}shortcodes/{sc.name}.html"])
                if name is None:
                    raise BuildError(
                        f"unknown shortcode {sc.name!r} (no layouts/shortcodes/{sc.name}.html)", file=p.file, line=line
                    )
                ctx = {
                    "shortcode": sc,
                    "page": page,
                    "site": site,
                    "highlight": self._highlight,
                    "ref": lambda r: _ref(site, r, "permalink", p, line),
                    "relref": lambda r: _ref(site, r, "rel_permalink", p, line),
                }
                return self.t.render(name, ctx)

            body, holders = expand(src.body, render_sc, file=p.file, first_line=src.body_line)
            fm_summary = p.fm.get("summary")
            r = self.md.render(body, str(fm_summary) if fm_summary else None)
            if holders:
                r = Rendered(
                    restore(r.content, holders),
                    restore(r.summary, holders),
                    r.truncated,
                    r.toc,
                    r.word_count,
                    r.reading_time,
                )
        finally:
            TRACKER.pop()
        return r, rec.deps

    def _highlight(self, code: str, lang: str = "") -> Markup:
        return Markup(self.md.highlight(code.strip("\n") + "\n", lang))


def _ref(site: Tracked, ref: str, attr: str, p: Page, line: int) -> str:
    target = site.get_page(ref)
    if target is None:
        raise BuildError(f"ref {ref!r}: no such page", file=p.file, line=line)
    return getattr(target, attr)


def _jsonable(k: Any) -> Any:
    if isinstance(k, tuple):
        return [_jsonable(x) for x in k]
    return k
