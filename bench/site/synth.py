"""Deterministic synthetic blog of ssg.md §5.2, with the same theme for ripple (Jinja) and Hugo (Go).

``python bench/site/synth.py N DEST`` writes ``DEST/ripple`` and ``DEST/hugo``: identical content,
config and data; only the layouts differ. Posts: ~400 words, 30% with a code block, 3 tags from 200
(Zipf-ish), 1 of 10 categories, dates 7 hours apart, 5% with aliases, 2% drafts, 1% future-dated
(relative to ``NOW``); sections ``posts`` (90%) and ``notes`` (10%).
"""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
HERE = Path(__file__).parent
WORDS = (  # noqa: SIM905 - a word list reads better as text
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut "
    "labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco "
    "laboris nisi aliquip ex ea commodo consequat duis aute irure in reprehenderit voluptate "
    "velit esse cillum fugiat nulla pariatur excepteur sint occaecat cupidatat non proident "
    "sunt culpa qui officia deserunt mollit anim id est laborum river stone cloud build cache "
    "graph query page list feed index delta bucket event python"
).split()
CODE = """```python
def handler(event, context):
    total = 0
    for record in event["Records"]:
        total += len(record["s3"]["object"]["key"])
    return {"total": total}
```"""

CONFIG = """baseURL = "https://bench.example.org/"
title = "Bench Blog"
languageCode = "en-us"
enableRobotsTXT = true
summaryLength = 70

[pagination]
pagerSize = 10

[taxonomies]
tag = "tags"
category = "categories"

[params]
mainSections = ["posts"]
description = "synthetic"

[[menus.main]]
name = "Home"
url = "/"
weight = 1

[[menus.main]]
name = "Posts"
pageRef = "/posts"
weight = 2

[[menus.main]]
name = "Tags"
url = "/tags/"
weight = 3
"""

DATA = """default:
  name: Ada Writer
  twitter: ada
unused:
  note: nobody reads this key
"""


def tag_of(rng: random.Random) -> str:
    # Zipf-ish over 200 tags: a few big terms, a long tail.
    i = min(199, int(rng.paretovariate(1.1)) - 1)
    return f"tag{i:03d}"


def post_text(i: int, rng: random.Random, n: int) -> tuple[str, str]:
    """(relative path, file text) of post ``i``; higher i is newer."""
    section = "notes" if i % 10 == 9 else "posts"
    date = NOW - timedelta(hours=7 * (n - i) + 3)
    if i % 100 == 57:
        date = NOW + timedelta(days=3 + i % 5)  # future-dated
    tags: list[str] = []
    while len(tags) < 3:
        t = tag_of(rng)
        if t not in tags:
            tags.append(t)
    fm = [
        "---",
        f'title: "Post number {i}"',
        f"date: {date.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        f"tags: [{', '.join(tags)}]",
        f"categories: [cat{i % 10}]",
    ]
    if i % 20 == 3:
        fm.append(f"aliases: [/old/{i}/]")
    if i % 50 == 11:
        fm.append("draft: true")
    fm.append("---")
    paras = []
    for _ in range(5):
        paras.append(" ".join(rng.choice(WORDS) for _ in range(80)).capitalize() + ".")
    if i % 10 in (1, 4, 8):
        paras.insert(2, CODE)
    return f"content/{section}/post-{i:05d}.md", "\n".join(fm) + "\n" + "\n\n".join(paras) + "\n"


def write_common(dest: Path, n: int) -> None:
    rng = random.Random(1234)
    (dest / "content" / "posts").mkdir(parents=True, exist_ok=True)
    (dest / "content" / "notes").mkdir(parents=True, exist_ok=True)
    (dest / "data").mkdir(parents=True, exist_ok=True)
    (dest / "hugo.toml").write_text(CONFIG)
    (dest / "data" / "authors.yaml").write_text(DATA)
    (dest / "content" / "_index.md").write_text("---\ntitle: Bench Blog\n---\n")
    (dest / "content" / "posts" / "_index.md").write_text("---\ntitle: Posts\n---\n")
    (dest / "content" / "notes" / "_index.md").write_text("---\ntitle: Notes\n---\n")
    for i in range(n):
        rel, text = post_text(i, rng, n)
        (dest / rel).write_text(text)


def copy_theme(kind: str, dest: Path) -> None:
    src = HERE / f"theme_{kind}"
    for p in sorted(src.rglob("*")):
        if p.is_file():
            target = dest / "layouts" / p.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(p.read_bytes())


def make(n: int, dest: Path, kinds: tuple[str, ...] = ("ripple", "hugo")) -> dict[str, Path]:
    """Write the site for each engine in ``kinds``; returns ``{kind: site folder}``."""
    out = {}
    for kind in kinds:
        d = dest / kind
        write_common(d, n)
        copy_theme(kind, d)
        out[kind] = d
    return out


if __name__ == "__main__":
    make(int(sys.argv[1]), Path(sys.argv[2]))
