"""URLs as Hugo makes them: lower-cased pretty paths, permalink patterns, ``slug`` and ``url``."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from functools import lru_cache

_DROP = re.compile(r"[^\w\s./_~-]", re.UNICODE)
_SPACES = re.compile(r"\s+")
_TOKEN = re.compile(
    r":(slugorcontentbasename|slugorfilename|contentbasename|filename|sections|section|"
    r"weekdayname|weekday|yearday|monthname|month|year|day|title|slug)"
)


@lru_cache(maxsize=65536)
def urlize(s: str) -> str:
    """Hugo's ``urlize``: lower case, spaces to hyphens, punctuation dropped."""
    s = unicodedata.normalize("NFC", s).strip().lower()
    s = _DROP.sub("", s)
    return _SPACES.sub("-", s)


def make_path(s: str) -> str:
    """Hugo's path sanitising for generated paths (lower-cased, spaces become hyphens)."""
    parts = [urlize(p) for p in s.split("/")]
    return "/".join(parts)


def expand(
    pattern: str,
    *,
    date: datetime | None,
    title: str,
    slug: str,
    filename: str,
    section: str,
    sections: str,
) -> str:
    """Expand a permalink pattern such as ``/:year/:month/:slug/``."""

    def token(m: re.Match[str]) -> str:
        t = m.group(1)
        if t in ("year", "month", "day", "monthname", "weekday", "weekdayname", "yearday"):
            if date is None:
                return ""
            return {
                "year": f"{date.year:04d}",
                "month": f"{date.month:02d}",
                "day": f"{date.day:02d}",
                "monthname": date.strftime("%B").lower(),
                "weekday": str(date.isoweekday() % 7),
                "weekdayname": date.strftime("%A").lower(),
                "yearday": str(date.timetuple().tm_yday),
            }[t]
        if t == "title":
            return urlize(title)
        if t == "slug":
            return urlize(slug) if slug else urlize(title)
        if t in ("slugorfilename", "slugorcontentbasename"):
            return urlize(slug) if slug else make_path(filename)
        if t in ("filename", "contentbasename"):
            return make_path(filename)
        if t == "section":
            return make_path(section)
        return make_path(sections)

    out = _TOKEN.sub(token, pattern)
    out = re.sub(r"/+", "/", "/" + out)
    if not out.endswith("/") and "." not in out.rsplit("/", 1)[-1]:
        out += "/"
    return out


def normalize_url(url: str) -> str:
    """A front matter ``url`` or alias as an absolute site path; directory-like paths end in ``/``."""
    url = "/" + url.strip().lstrip("/")
    url = re.sub(r"/+", "/", url)
    last = url.rsplit("/", 1)[-1]
    if url != "/" and not url.endswith("/") and "." not in last:
        url += "/"
    return url


def output_file(rel: str) -> str:
    """The output file (relative to OUT) that serves site path ``rel``."""
    rel = rel.lstrip("/")
    if rel == "" or rel.endswith("/"):
        return rel + "index.html"
    return rel
