"""The outputs rewritten per edit kind match ssg.md §5.2 (for this theme), and each incremental
result equals a clean build."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
import site_edits as E
from site_helpers import NOW, oracle, synth, tree

from ripple.site import build

N = 120


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int]:
    root = tmp_path_factory.mktemp("counts")
    src = synth().make(N, root, ("ripple",))["ripple"]
    res = build(src, root / "out", now=NOW)
    assert res.full and res.outputs == len(tree(root / "out"))
    html = sum(1 for v in tree(root / "out").values() if b"<aside>" in v)  # pages with the recent-10 sidebar
    return src, root / "out", html


@pytest.fixture
def site(base: tuple[Path, Path, int], tmp_path: Path) -> tuple[Path, Path, int]:
    # Copies keep mtimes, so the copied state sees an unchanged site.
    src, out = tmp_path / "src", tmp_path / "out"
    shutil.copytree(base[0], src)
    shutil.copytree(base[1], out)
    return src, out, base[2]


def old_post(src: Path) -> Path:
    # Old enough to be in no top-10 list, with older and newer neighbours.
    return E.posts(src)[20]


def run(src: Path, out: Path, tmp_path: Path, now=NOW) -> list[str]:
    res = build(src, out, now=now)
    oracle(src, out, tmp_path, now)
    return res.written


def test_e0_identical_bytes_rewrite_nothing(site, tmp_path) -> None:
    src, out, _ = site
    E.touch_same(old_post(src))
    assert run(src, out, tmp_path) == []


def test_e1_body_outside_summary_rewrites_only_its_page(site, tmp_path) -> None:
    src, out, _ = site
    E.edit_body_tail(old_post(src))
    w = run(src, out, tmp_path)
    assert len(w) == 1 and w[0].startswith("posts/post-")


def test_e1b_body_inside_summary(site, tmp_path) -> None:
    src, out, _ = site
    E.edit_body_head(old_post(src))
    w = run(src, out, tmp_path)
    feeds = [x for x in w if x.endswith("index.xml")]
    assert len(feeds) == 6, w  # home, section, 3 tags, 1 category
    assert len(w) == 9, w


def test_e2_retitle_old_post(site, tmp_path) -> None:
    src, out, _ = site
    E.retitle(old_post(src), "A brand new title")
    w = run(src, out, tmp_path)
    assert len(w) == 14, w


def test_e2b_retitle_top10_post_touches_every_sidebar_page(site, tmp_path) -> None:
    src, out, html = site
    E.retitle(E.posts(src)[-1], "Newest renamed")
    w = run(src, out, tmp_path)
    assert len([x for x in w if b"<aside>" in (out / x).read_bytes()]) == html


def test_e3_brand_new_tag(site, tmp_path) -> None:
    src, out, _ = site
    E.add_tag(old_post(src), "zzbrandnew")
    w = run(src, out, tmp_path)
    assert "tags/zzbrandnew/index.html" in w and "tags/zzbrandnew/index.xml" in w
    assert "tags/index.html" in w and "tags/index.xml" in w and "sitemap.xml" in w
    # ssg.md counts 6 files; ripple also writes Hugo's /page/1/ alias of the new term list.
    assert len(w) == 7, w


def test_e4_partial_everywhere(site, tmp_path) -> None:
    src, out, html = site
    E.edit_layout(src, "partials/header.html", "e4")
    w = run(src, out, tmp_path)
    assert len(w) == html  # every page with the base layout, not the alias stubs or feeds


def test_e5_one_sections_single_layout(site, tmp_path) -> None:
    src, out, _ = site
    notes = len(E.posts(src, "notes"))
    E.edit_layout(src, "notes/single.html", "e5")
    w = run(src, out, tmp_path)
    assert len(w) == notes and all(x.startswith("notes/") for x in w)


def test_e6_newest_post(site, tmp_path) -> None:
    src, out, html = site
    E.add_post(src, "brand-new", (NOW - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    w = run(src, out, tmp_path)
    assert len([x for x in w if b"<aside>" in (out / x).read_bytes()]) == html + 1  # and the new page


def test_e7_unpublish_and_e8_rename_delete_old_outputs(site, tmp_path) -> None:
    src, out, _ = site
    p = old_post(src)
    url = f"posts/{p.stem}/index.html"
    assert (out / url).exists()
    E.unpublish(p)
    res = build(src, out, now=NOW)
    assert url in res.deleted and not (out / url).exists()
    oracle(src, out, tmp_path)
    q = E.posts(src)[30]
    E.set_slug(q, "renamed-slug")
    res = build(src, out, now=NOW)
    assert f"posts/{q.stem}/index.html" in res.deleted and "posts/renamed-slug/index.html" in res.written
    oracle(src, out, tmp_path)


def test_e9_data_key(site, tmp_path) -> None:
    src, out, _ = site
    notes = len(E.posts(src, "notes"))
    E.edit_data(src, key_read=False, value="still unread")
    assert run(src, out, tmp_path) == []
    E.edit_data(src, key_read=True, value="Grace Author")
    w = run(src, out, tmp_path)
    assert len(w) == notes and all(x.startswith("notes/") for x in w)


def test_e10_config_title(site, tmp_path) -> None:
    src, out, html = site
    E.edit_config_title(src, "Renamed Blog")
    w = run(src, out, tmp_path)
    assert len([x for x in w if b"<aside>" in (out / x).read_bytes()]) == html
    assert "sitemap.xml" not in w  # it does not show the title


def test_e12_time_passes_a_future_post(site, tmp_path) -> None:
    src, out, _ = site
    res = build(src, out, now=NOW)
    assert res.written == [] and res.next_change is not None
    later = res.next_change + timedelta(seconds=1)
    w = run(src, out, tmp_path, now=later)
    assert len(w) > 10
