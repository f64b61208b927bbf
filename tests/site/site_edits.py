"""The edit kinds of ssg.md §5.2, applied to a site made by bench/site/synth.py."""

from __future__ import annotations

import os
import re
from pathlib import Path


def posts(src: Path, section: str = "posts") -> list[Path]:
    """Published-looking posts of a section, oldest first (synth numbers posts by age)."""
    return sorted(
        p
        for p in (src / "content" / section).glob("post-*.md")
        if "draft: true" not in p.read_text() and "date: 2026-12" not in p.read_text()
    )


def _sub(path: Path, pattern: str, repl: str, count: int = 1) -> None:
    text = path.read_text()
    new, n = re.subn(pattern, repl, text, count=count, flags=re.MULTILINE)
    assert n, f"{pattern!r} not in {path}"
    path.write_text(new)


def touch_same(path: Path) -> None:
    """E0: re-upload identical bytes (new mtime)."""
    data = path.read_bytes()
    path.write_bytes(data)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))


def edit_body_tail(path: Path, tag: str = "x") -> None:
    """E1: a paragraph appended far below the summary."""
    path.write_text(path.read_text() + f"\nAn appended paragraph {tag}.\n")


def edit_body_head(path: Path, tag: str = "x") -> None:
    """E1b: a word changed inside the summary (the first paragraph)."""
    _sub(path, r"^(---\n)([A-Z])", rf"\1Edited{tag} \2")


def retitle(path: Path, title: str) -> None:
    """E2 / E2b."""
    _sub(path, r"^title: .*$", f'title: "{title}"')


def redate(path: Path, date: str) -> None:
    _sub(path, r"^date: .*$", f"date: {date}")


def add_tag(path: Path, tag: str) -> None:
    """E3 (a brand-new tag) or an existing one."""
    _sub(path, r"^tags: \[", f"tags: [{tag}, ")


def remove_tags(path: Path) -> None:
    _sub(path, r"^tags: \[.*\]$", "tags: []")


def unpublish(path: Path) -> None:
    """E7."""
    _sub(path, r"^---\n", "---\ndraft: true\n")


def set_slug(path: Path, slug: str) -> None:
    """E8 (rename)."""
    _sub(path, r"^---\n", f"---\nslug: {slug}\n")


def add_post(src: Path, name: str, date: str, tags: str = "tag000, tag001, tag002") -> Path:
    """E6: a new post (newest when ``date`` is the latest)."""
    p = src / "content" / "posts" / f"{name}.md"
    p.write_text(
        f'---\ntitle: "New {name}"\ndate: {date}\ntags: [{tags}]\ncategories: [cat1]\n---\n'
        "A brand new post with a short first paragraph of words.\n\nAnd a second one.\n"
    )
    return p


def edit_layout(src: Path, rel: str, marker: str) -> None:
    """E4 / E5: a change to a layout or partial."""
    p = src / "layouts" / rel
    p.write_text(p.read_text().replace("<", f"<!-- {marker} --><", 1))


def edit_data(src: Path, key_read: bool, value: str) -> None:
    """E9: a data key read by the author partial (notes pages), or one nobody reads."""
    p = src / "data" / "authors.yaml"
    if key_read:
        _sub(p, r"^  name: .*$", f"  name: {value}")
    else:
        _sub(p, r"^  note: .*$", f"  note: {value}")


def edit_config_title(src: Path, title: str) -> None:
    """E10."""
    _sub(src / "hugo.toml", r'^title = ".*"$', f'title = "{title}"')


def edit_config_param(src: Path, value: str) -> None:
    """A site param a layout prints (``site.params.description``): the page model stays."""
    _sub(src / "hugo.toml", r'^description = ".*"$', f'description = "{value}"')


def edit_config_pager(src: Path, size: int) -> None:
    """The pager size: every list's pages move, a new page model."""
    _sub(src / "hugo.toml", r"^pagerSize = \d+$", f"pagerSize = {size}")
