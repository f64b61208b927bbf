"""Site configuration: ``hugo.toml`` / ``config.toml`` (or ``.yaml``/``.yml``/``.json``) with Hugo's keys.

Keys are case-insensitive as in Hugo. Values ripple cannot honour are refused with the file and line
rather than ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, tzinfo
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ripple.site.errors import BuildError
from ripple.site.frontmatter import line_of, load_json, load_toml, load_yaml
from ripple.site.index import find_config

PERMALINK_TOKENS = {
    "year",
    "month",
    "monthname",
    "day",
    "weekday",
    "weekdayname",
    "yearday",
    "section",
    "sections",
    "title",
    "slug",
    "filename",
    "slugorfilename",
    "contentbasename",
}


@dataclass(frozen=True)
class SiteConfig:
    """The parsed, validated config. ``raw`` keeps every key (lower-cased) for ``site.params`` etc."""

    file: str | None
    base_url: str = "/"
    title: str = ""
    language_code: str = "en-us"
    copyright: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    taxonomies: dict[str, str] = field(default_factory=lambda: {"tag": "tags", "category": "categories"})
    permalinks: dict[str, str] = field(default_factory=dict)
    pager_size: int = 10
    pager_path: str = "page"
    summary_length: int = 70
    menus: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    build_drafts: bool = False
    build_future: bool = False
    build_expired: bool = False
    time_zone: tzinfo = UTC
    rss_limit: int = -1
    robots_txt: bool = False
    highlight_style: str = "monokai"
    highlight_no_classes: bool = True
    toc_start: int = 2
    toc_end: int = 3
    toc_ordered: bool = False
    main_sections: list[str] | None = None

    @cached_property
    def base_path(self) -> str:
        """The path part of baseURL, e.g. ``/blog`` for ``https://x.org/blog/`` (``""`` at the root)."""
        url = self.base_url
        if "://" in url:
            url = "/" + url.split("://", 1)[1].partition("/")[2]
        return "/" + url.strip("/") if url.strip("/") else ""

    @cached_property
    def root_url(self) -> str:
        """baseURL without its trailing slash; permalinks are ``root_url + rel_permalink``."""
        url = self.base_url.rstrip("/")
        if "://" in url:
            scheme, rest = url.split("://", 1)
            return scheme + "://" + rest.partition("/")[0]
        return ""


#: Fields only templates read (``site.title``, ``site.params``, ...), never the page model: an edit of
#: them alone keeps the model and re-checks only what templates read (the home page's title falls
#: back to the site's, see content.home_titles).
PRESENTATION_FIELDS = frozenset({"title", "language_code", "copyright", "params"})


def model_view(cfg: SiteConfig) -> list[Any]:
    """The config as the page model depends on it: every field but :data:`PRESENTATION_FIELDS`, as
    plain values to digest."""
    out: list[Any] = []
    for f in fields(cfg):
        if f.name not in PRESENTATION_FIELDS:
            v = getattr(cfg, f.name)
            out.append((f.name, str(v) if isinstance(v, tzinfo) else v))
    return out


def _lower(d: Any) -> Any:
    if isinstance(d, dict):
        return {str(k).lower(): v for k, v in d.items()}
    return d


def load_config(src: Path) -> tuple[SiteConfig, bytes]:
    """Read and validate the site config; returns it and the raw bytes (for change detection).

    Raises :class:`BuildError` naming the config file and line for unparsable text or bad values.
    """
    path = find_config(src)
    if path is None:
        return SiteConfig(file=None), b""
    data = path.read_bytes()
    name = path.name
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BuildError("config is not UTF-8", file=name) from None
    if name.endswith(".toml"):
        raw = load_toml(text, file=name)
    elif name.endswith(".json"):
        raw = load_json(text, file=name)
    else:
        raw = load_yaml(text, file=name) or {}
    if not isinstance(raw, dict):
        raise BuildError("config must be a mapping of key: value", file=name, line=1)
    return _validate(_lower(raw), text, name), data


def _validate(raw: dict[str, Any], text: str, name: str) -> SiteConfig:
    def bad(key: str, msg: str) -> BuildError:
        return BuildError(f"{key}: {msg}", file=name, line=line_of(text, key.split(".")[-1]))

    def get_str(key: str, default: str) -> str:
        v = raw.get(key, default)
        if not isinstance(v, str):
            raise bad(key, f"must be a string, got {v!r}")
        return v

    def get_bool(key: str, default: bool) -> bool:
        v = raw.get(key, default)
        if not isinstance(v, bool):
            raise bad(key, f"must be true or false, got {v!r}")
        return v

    def get_int(d: dict[str, Any], key: str, default: int, minimum: int, label: str) -> int:
        v = d.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            raise bad(label, f"must be an integer >= {minimum}, got {v!r}")
        return v

    if raw.get("uglyurls"):
        raise bad("uglyURLs", "ugly URLs are not supported; ripple writes pretty URLs (dir/index.html)")
    for key in ("theme", "defaultcontentlanguageinsubdir", "languages"):
        if raw.get(key):
            raise bad(key, "themes and multilingual sites are not supported yet")

    params = _lower(raw.get("params") or {})
    if not isinstance(params, dict):
        raise bad("params", "must be a mapping")

    tax_raw = raw.get("taxonomies", {"tag": "tags", "category": "categories"})
    if not isinstance(tax_raw, dict) or not all(isinstance(v, str) and v for v in tax_raw.values()):
        raise bad("taxonomies", 'must map singular names to plural names, e.g. tag = "tags"')
    taxonomies = {str(k).lower(): v.lower() for k, v in tax_raw.items()}

    perm_raw = _lower(raw.get("permalinks") or {})
    if not isinstance(perm_raw, dict):
        raise bad("permalinks", "must map section names to patterns")
    if isinstance(perm_raw.get("page"), dict):  # Hugo 0.120+: [permalinks.page]
        perm_raw = {**{k: v for k, v in perm_raw.items() if not isinstance(v, dict)}, **perm_raw["page"]}
    permalinks: dict[str, str] = {}
    for sec, pattern in perm_raw.items():
        if isinstance(pattern, dict):
            continue  # [permalinks.section] / [permalinks.term]: list-page patterns are not supported
        if not isinstance(pattern, str):
            raise bad(f"permalinks.{sec}", f"must be a string pattern, got {pattern!r}")
        for seg in pattern.split("/"):
            for tok in [t for t in seg.split(":")[1:]]:
                tok = tok.split("-")[0].split("_")[0].split(".")[0]
                if tok and not tok.startswith("slug") and tok not in PERMALINK_TOKENS:
                    raise bad(sec, f"unknown permalink token :{tok} in {pattern!r}")
        permalinks[str(sec)] = pattern

    pag = _lower(raw.get("pagination") or {})
    pager_size = get_int(pag, "pagersize", raw.get("paginate", 10), 1, "pagerSize")
    pager_path = pag.get("path", raw.get("paginatepath", "page"))
    if not isinstance(pager_path, str) or not pager_path.strip("/"):
        raise bad("path", "pagination path must be a non-empty string")

    menus_raw = _lower(raw.get("menus") or raw.get("menu") or {})
    menus: dict[str, list[dict[str, Any]]] = {}
    for mname, entries in menus_raw.items():
        if isinstance(entries, dict):
            entries = [entries]
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise bad(f"menus.{mname}", "must be a list of entries with name and url/pageRef")
        menus[mname] = [_lower(e) for e in entries]

    tz_name = get_str("timezone", "UTC")
    try:
        tz: tzinfo = UTC if tz_name.upper() in ("UTC", "ETC/UTC") else ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise bad("timeZone", f"unknown time zone {tz_name!r}") from None

    services = _lower(raw.get("services") or {})
    rss = _lower(services.get("rss") or {})
    rss_limit = rss.get("limit", raw.get("rsslimit", -1))
    if isinstance(rss_limit, bool) or not isinstance(rss_limit, int):
        raise bad("rssLimit", f"must be an integer, got {rss_limit!r}")

    markup = _lower(raw.get("markup") or {})
    hl = _lower(markup.get("highlight") or {})
    toc = _lower(markup.get("tableofcontents") or {})
    style = hl.get("style", "monokai")
    try:
        from pygments.styles import get_style_by_name

        get_style_by_name(style)
    except Exception:
        raise bad("style", f"unknown highlight style {style!r}") from None

    main = params.get("mainsections")
    if main is not None and (not isinstance(main, list) or not all(isinstance(s, str) for s in main)):
        raise bad("mainSections", "must be a list of section names")

    return SiteConfig(
        file=name,
        base_url=get_str("baseurl", "/"),
        title=get_str("title", ""),
        language_code=get_str("languagecode", "en-us"),
        copyright=get_str("copyright", ""),
        params=params,
        taxonomies=taxonomies,
        permalinks=permalinks,
        pager_size=pager_size,
        pager_path=pager_path.strip("/"),
        summary_length=get_int(raw, "summarylength", 70, 0, "summaryLength"),
        menus=menus,
        build_drafts=get_bool("builddrafts", False),
        build_future=get_bool("buildfuture", False),
        build_expired=get_bool("buildexpired", False),
        time_zone=tz,
        rss_limit=rss_limit,
        robots_txt=get_bool("enablerobotstxt", False),
        highlight_style=style,
        highlight_no_classes=bool(hl.get("noclasses", True)),
        toc_start=get_int(toc, "startlevel", 2, 1, "startLevel"),
        toc_end=get_int(toc, "endlevel", 3, 1, "endLevel"),
        toc_ordered=bool(toc.get("ordered", False)),
        main_sections=main,
    )
