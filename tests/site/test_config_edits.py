"""Config edits: a change of the site's title, copyright or params keeps the page model (only what
templates read changes); any other key builds the model anew. Either way the output is a clean
build's."""

from __future__ import annotations

from pathlib import Path

import pytest
from site_helpers import NOW, oracle, write

from ripple.site import Builder, build

CONFIG = """baseURL = "https://example.org/"
title = "{title}"
copyright = "{copyright}"

[pagination]
pagerSize = {pager}

[params]
tagline = "{tagline}"
"""

LAYOUTS = {
    "layouts/_default/baseof.html": (
        '<html lang="{{ site.language_code }}"><title>{{ page.title }} | {{ site.title }}</title>'
        "{{ partial('head.html') }}{% block main %}{% endblock %}<footer>{{ site.copyright }}</footer></html>"
    ),
    "layouts/partials/head.html": "<header>{{ site.title }}: {{ site.params.tagline }}</header>",
    "layouts/_default/single.html": (
        '{% extends "_default/baseof.html" %}{% block main %}<h1>{{ page.link_title }}</h1>'
        "<p>{{ page.param('tagline') }}</p>{{ page.content }}{% endblock %}"
    ),
    "layouts/_default/list.html": (
        '{% extends "_default/baseof.html" %}{% block main %}<h1>{{ page.title }}</h1>'
        "{% for p in paginator.pages %}<a>{{ p.title }}</a>{% endfor %}{% endblock %}"
    ),
}


def _site(src: Path, **kw: object) -> None:
    values = {"title": "Old Blog", "copyright": "(c) old", "pager": 2, "tagline": "first", **kw}
    (src / "hugo.toml").parent.mkdir(parents=True, exist_ok=True)
    (src / "hugo.toml").write_text(CONFIG.format(**values))


@pytest.fixture
def site(tmp_path: Path) -> tuple[Path, Path]:
    src, out = tmp_path / "src", tmp_path / "out"
    files = dict(LAYOUTS)
    for i in range(5):
        extra = "tagline: own\n" if i == 0 else ""
        files[f"content/posts/p{i}.md"] = f"---\ntitle: Post {i}\ndate: 2026-01-0{i + 1}\n{extra}---\nBody {i}.\n"
    # No content/_index.md: the home page takes the site's title.
    write(src, files)
    _site(src)
    return src, out


def _page(out: Path, rel: str) -> str:
    return (out / rel / "index.html").read_text()


def test_params_and_copyright_keep_the_model_and_reach_every_reader(site, tmp_path: Path) -> None:
    src, out = site
    with Builder(src, out) as b:
        assert b.build(now=NOW).full
        _site(src, tagline="second", copyright="(c) new")
        r = b.build(now=NOW)
        assert r.model == "reused"
        p1, p0 = _page(out, "posts/p1"), _page(out, "posts/p0")
        assert "<header>Old Blog: second</header>" in p1 and "<footer>(c) new</footer>" in p1
        assert "<p>second</p>" in p1  # page.param falls back to the site's
        assert "<p>own</p>" in p0  # a page's own param wins
        oracle(src, out, tmp_path)


def test_a_title_the_home_page_takes_builds_the_model_anew(site, tmp_path: Path) -> None:
    # No content/_index.md: the home page's title is the site's, and it sorts among pages (the
    # sitemap's order) and names menu entries, so the model is built again.
    src, out = site
    with Builder(src, out) as b:
        b.build(now=NOW)
        _site(src, title="New Blog")
        assert b.build(now=NOW).model == "built"
        assert "<h1>New Blog</h1>" in _page(out, "")
        assert "<title>Post 1 | New Blog</title>" in _page(out, "posts/p1")
        oracle(src, out, tmp_path)
    _site(src, title="Renamed")  # and from a new process, which loads the model's snapshot
    build(src, out, now=NOW)
    assert "<h1>Renamed</h1>" in _page(out, "")
    oracle(src, out, tmp_path)


@pytest.mark.parametrize("warm", [True, False])
def test_a_title_edit_keeps_the_model_when_the_home_page_has_its_own(site, tmp_path: Path, warm: bool) -> None:
    src, out = site
    write(src, {"content/_index.md": "---\ntitle: Welcome\n---\n"})
    with Builder(src, out) as b:
        b.build(now=NOW)
        _site(src, title="Renamed")
        if warm:
            r = b.build(now=NOW)
    if not warm:
        r = build(src, out, now=NOW)  # as a new process does: the model from its snapshot
    assert r.model == "reused"
    assert "<h1>Welcome</h1>" in _page(out, "")
    assert "<title>Welcome | Renamed</title>" in _page(out, "")
    assert "<header>Renamed: first</header>" in _page(out, "posts/p3")
    oracle(src, out, tmp_path)


def test_other_config_keys_build_the_model_anew(site, tmp_path: Path) -> None:
    src, out = site
    with Builder(src, out) as b:
        b.build(now=NOW)
        assert (out / "page" / "3" / "index.html").exists()
        _site(src, pager=3)  # pages move between pagers
        r = b.build(now=NOW)
        assert r.model == "built"
        assert not (out / "page" / "3").exists()
        oracle(src, out, tmp_path)
        _site(src, pager=3, tagline="then")  # then a param alone again
        assert b.build(now=NOW).model == "reused"
        oracle(src, out, tmp_path)
