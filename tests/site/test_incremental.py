"""Incremental behaviour on a small site: hints, re-hashing, layout lookup misses, interrupted writes,
time as an input."""

from __future__ import annotations

import os
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from site_helpers import NOW, oracle, tree, write

from ripple.site import build

SITE = {
    "hugo.toml": 'title = "Small"\nbaseURL = "https://s.org/"\n',
    "layouts/_default/baseof.html": "<t>{{ site.title }}</t>{% block main %}{% endblock %}",
    "layouts/_default/single.html": '{% extends "_default/baseof.html" %}{% block main %}{{ page.title }}'
    "{{ page.content }}{% endblock %}",
    "layouts/_default/list.html": '{% extends "_default/baseof.html" %}{% block main %}'
    "{% for p in paginator.pages %}[{{ p.title }}]{% endfor %}{% endblock %}",
    "content/posts/a.md": "---\ntitle: A\ndate: 2026-01-01\n---\nsummary\n<!--more-->\nalpha\n",
    "content/posts/b.md": "---\ntitle: B\ndate: 2026-01-02\n---\nsummary\n<!--more-->\nbeta\n",
}


@pytest.fixture
def site(tmp_path: Path) -> tuple[Path, Path]:
    src, out = tmp_path / "src", tmp_path / "out"
    write(src, SITE)
    assert build(src, out, now=NOW).full
    return src, out


def test_noop_writes_nothing_and_is_not_full(site) -> None:
    src, out = site
    res = build(src, out, now=NOW)
    assert not res.full and res.written == [] and res.deleted == [] and res.rendered == 0


def test_an_empty_hint_does_not_hide_a_change(site, tmp_path) -> None:
    src, out = site
    write(src, {"content/posts/a.md": "---\ntitle: A\ndate: 2026-01-01\n---\nsummary\n<!--more-->\nalpha changed\n"})
    res = build(src, out, now=NOW, changed=[])
    assert res.written == ["posts/a/index.html"]
    oracle(src, out, tmp_path)


def test_verify_rehashes_an_edit_that_kept_size_and_mtime(site, tmp_path) -> None:
    src, out = site
    p = src / "content/posts/a.md"
    st = p.stat()
    p.write_text(p.read_text().replace("alpha", "ALPHA"))
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert build(src, out, now=NOW).written == []  # size and mtime say "unchanged"
    res = build(src, out, now=NOW, verify=True)
    assert res.written == ["posts/a/index.html"]
    oracle(src, out, tmp_path)


def test_a_hint_forces_a_rehash_too(site, tmp_path) -> None:
    src, out = site
    p = src / "content/posts/b.md"
    st = p.stat()
    p.write_text(p.read_text().replace("beta", "BETA"))
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert build(src, out, now=NOW, changed=["content/posts/b.md"]).written == ["posts/b/index.html"]


def test_a_more_specific_layout_appearing_re_renders_pages_that_fell_back(site, tmp_path) -> None:
    src, out = site
    write(src, {"layouts/posts/single.html": "POSTS {{ page.title }}"})
    res = build(src, out, now=NOW)
    assert res.written == ["posts/a/index.html", "posts/b/index.html"]
    assert (out / "posts/a/index.html").read_text() == "POSTS A"
    (src / "layouts/posts/single.html").unlink()
    build(src, out, now=NOW)
    oracle(src, out, tmp_path)


def test_an_interrupted_write_makes_the_next_build_full(site, tmp_path) -> None:
    src, out = site
    (out / "posts/a/index.html").write_text("half a fi")  # a crash mid-write...
    db = sqlite3.connect(out / ".ripple/site.db")
    db.execute("INSERT OR REPLACE INTO meta VALUES ('dirty', ?)", (b"1",))  # ...before the commit
    db.commit()
    db.close()
    res = build(src, out, now=NOW)
    assert res.full
    oracle(src, out, tmp_path)


def test_time_is_an_input_a_future_post_appears_when_its_date_passes(site, tmp_path) -> None:
    src, out = site
    when = NOW + timedelta(hours=5)
    write(src, {"content/posts/c.md": f"---\ntitle: C\ndate: {when.isoformat()}\n---\nlater\n"})
    res = build(src, out, now=NOW)
    assert res.next_change == when and "posts/c/index.html" not in tree(out)
    assert build(src, out, now=when - timedelta(seconds=1)).written == []
    res = build(src, out, now=when)
    assert "posts/c/index.html" in res.written and "index.html" in res.written
    oracle(src, out, tmp_path, now=when)


def test_deleting_a_post_deletes_its_outputs_and_empty_folders(site, tmp_path) -> None:
    src, out = site
    (src / "content/posts/a.md").unlink()
    res = build(src, out, now=NOW)
    assert "posts/a/index.html" in res.deleted and not (out / "posts/a").exists()
    oracle(src, out, tmp_path)


def test_state_can_live_elsewhere(tmp_path) -> None:
    src, out, st = tmp_path / "src", tmp_path / "out", tmp_path / "state"
    write(src, SITE)
    build(src, out, now=NOW, state_dir=st)
    assert (st / "site.db").exists() and not (out / ".ripple").exists()
    assert not build(src, out, now=NOW, state_dir=st).full


def test_cached_dates_keep_the_site_time_zone(tmp_path) -> None:
    # Fields come from the parse cache on the second build; %Z and offsets must not change.
    src, out = tmp_path / "src", tmp_path / "out"
    write(src, {**SITE, "hugo.toml": 'title = "Z"\ntimeZone = "Europe/Berlin"\n'})
    write(src, {"layouts/_default/single.html": "{{ page.date | date_format('%Y-%m-%d %H:%M %Z %z') }}"})
    write(src, {"content/posts/c.md": "---\ntitle: C\ndate: 2026-07-01T10:00:00+05:30\n---\nc\n"})
    build(src, out, now=NOW)
    assert (out / "posts/a/index.html").read_text() == "2026-01-01 00:00 CET +0100"
    write(src, {"layouts/_default/single.html": "{{ page.date | date_format('%Y-%m-%d %H:%M %Z %z') }}!"})
    build(src, out, now=NOW)
    assert (out / "posts/a/index.html").read_text() == "2026-01-01 00:00 CET +0100!"
    assert (out / "posts/c/index.html").read_text() == "2026-07-01 10:00 UTC+05:30 +0530!"
    oracle(src, out, tmp_path)
