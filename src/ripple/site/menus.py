"""Menus from the config (``[[menus.main]]``) and from front matter (``menus: main``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ripple.site.content import Page, Site
from ripple.site.errors import BuildError
from ripple.site.frontmatter import line_of
from ripple.site.tracking import IDENTITY


@dataclass(frozen=True, slots=True)
class MenuEntry:
    name: str
    url: str
    weight: int = 0
    identifier: str = ""
    parent: str = ""
    pre: str = ""
    post: str = ""
    title: str = ""
    page: str = ""  # id of the page it points to, if any
    children: tuple[MenuEntry, ...] = ()


def build_menus(site: Site, pages: list[Page]) -> dict[str, list[MenuEntry]]:
    """Every menu, entries sorted by weight then name, children nested under their parent.

    Raises :class:`BuildError` for a ``menus`` front matter value of the wrong shape.
    """
    cfg = site.config
    raw: dict[str, list[dict[str, Any]]] = {k: list(v) for k, v in cfg.menus.items()}
    for p in pages:
        m = p.menus_fm
        if not m:
            continue
        if isinstance(m, str):
            m = {m: {}}
        elif isinstance(m, list):
            m = {str(x): {} for x in m}
        if not isinstance(m, dict):
            raise BuildError(
                "menus must be a menu name, a list or a mapping",
                file=p.file,
                line=line_of(p.source.text if p.source else "", "menus"),
            )
        for name, e in m.items():
            e = {str(k).lower(): v for k, v in (e or {}).items()} if isinstance(e, dict) else {}
            e.setdefault("name", p.link_title)
            e.setdefault("weight", p.weight)
            e["_page"] = p
            raw.setdefault(str(name), []).append(e)
    menus: dict[str, list[MenuEntry]] = {}
    for name, entries in raw.items():
        flat: list[tuple[dict[str, Any], MenuEntry]] = []
        for e in entries:
            page: Page | None = e.get("_page")
            if page is None and e.get("pageref"):
                page = site.get_page(str(e["pageref"]))
            url = page.rel_permalink if page else str(e.get("url", ""))
            ident = str(e.get("identifier") or e.get("name", ""))
            flat.append(
                (
                    e,
                    MenuEntry(
                        name=str(e.get("name") or (page.link_title if page else "")),
                        url=url,
                        weight=int(e.get("weight") or 0),
                        identifier=ident,
                        parent=str(e.get("parent") or ""),
                        pre=str(e.get("pre") or ""),
                        post=str(e.get("post") or ""),
                        title=str(e.get("title") or ""),
                        page=page.id if page else "",
                    ),
                )
            )

        menus[name] = list(_tree([m for _, m in flat], ""))
    return menus


def _tree(entries: list[MenuEntry], parent: str) -> tuple[MenuEntry, ...]:
    kids = sorted(
        (m for m in entries if m.parent == parent), key=lambda m: (m.weight == 0, m.weight, m.name, m.identifier)
    )
    return tuple(MenuEntry(**{**_shallow(m), "children": _tree(entries, m.identifier)}) for m in kids)


def _shallow(m: MenuEntry) -> dict[str, Any]:
    return {f: getattr(m, f) for f in m.__dataclass_fields__}


IDENTITY[MenuEntry] = asdict
