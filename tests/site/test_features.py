"""Hugo features a user relies on, checked on real output files."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from site_helpers import NOW, tree, write

from ripple.site import build

CONFIG = """
baseURL = "https://example.org/blog/"
title = "Feature Site"
enableRobotsTXT = true
summaryLength = 10
[pagination]
pagerSize = 2
[permalinks]
posts = "/:year/:month/:slug/"
[params]
mainSections = ["posts"]
[[menus.main]]
name = "Tags"
url = "/tags/"
weight = 20
"""

BASE = """<html><title>{{ page.title }}</title>
<nav>{% for m in site.menus.main %}[{{ m.name }}|{{ m.url }}]{% endfor %}</nav>
{% block main %}{% endblock %}</html>
"""

LAYOUTS = {
    "layouts/_default/baseof.html": BASE,
    "layouts/_default/single.html": '{% extends "_default/baseof.html" %}{% block main %}SINGLE {{ page.title }}|'
    "{{ page.word_count }}w|{{ page.reading_time }}m|{{ page.content }}|TOC:{{ page.toc }}"
    "{% for t in page.get_terms('tags') %}<tag {{ t.title }}>{% endfor %}{% endblock %}",
    "layouts/posts/special.html": "SPECIAL {{ page.title }}",
    "layouts/_default/list.html": '{% extends "_default/baseof.html" %}{% block main %}LIST {{ page.kind }} '
    "{% for p in paginator.pages %}<{{ p.title }}|{{ p.summary }}|{{ p.truncated }}>{% endfor %}"
    "{{ paginator.page_number }}/{{ paginator.total_pages }}{% endblock %}",
    "layouts/_default/terms.html": "TERMS {% for t in page.pages %}{{ t.title }}={{ t.pages|length }};{% endfor %}",
    "layouts/404.html": "NOT FOUND {{ site.title }}",
    "layouts/partials/who.html": "WHO {{ site.data.people.ada.name }}",
    "layouts/shortcodes/box.html": "<div class=box>{{ shortcode.get('kind') }}:{{ shortcode.inner }}</div>",
    "layouts/shortcodes/raw.html": "{{ shortcode.inner }}",
    "layouts/notes/single.html": "NOTE {{ partial('who.html') }} {{ page.content }}",
}


def old(days: int) -> str:
    return (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def site(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    write(src, {"hugo.toml": CONFIG, **LAYOUTS})
    write(
        src,
        {
            "content/_index.md": "---\ntitle: Home Page\n---\nWelcome.",
            "content/posts/_index.md": "+++\ntitle = 'All Posts'\n+++\n",
            "content/posts/a.md": f"---\ntitle: Alpha\ndate: {old(3)}\ntags: [Go, Python]\nslug: first\n"
            "aliases: [/old/alpha/]\n---\nShort intro here.\n<!--more-->\nThe rest of the body.\n",
            "content/posts/b.md": f'+++\ntitle = "Beta"\npublishDate = {old(2)[:10]}\ntags = ["go"]\n+++\n'
            "one two three four five six seven eight nine ten eleven twelve.\n\nSecond paragraph.\n",
            "content/posts/c.json.md": f'{{"title": "Gamma", "date": "{old(1)}", "summary": "From *fm*"}}\n'
            "## Head One\n\nText[^1] with ~~strike~~.\n\n### Sub\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
            "[^1]: A footnote.\n",
            "content/posts/draft.md": f"---\ntitle: Drafty\ndraft: true\ndate: {old(1)}\n---\nx\n",
            "content/posts/future.md": f"---\ntitle: Soon\ndate: {(NOW + timedelta(days=2)).isoformat()}\n---\nx\n",
            "content/posts/expired.md": f"---\ntitle: Gone\ndate: {old(9)}\nexpiryDate: {old(1)}\n---\nx\n",
            "content/posts/heavy.md": f"---\ntitle: Heavy\nweight: 1\ndate: {old(30)}\nlayout: special\n---\nx\n",
            "content/posts/code.md": f"---\ntitle: Code\ndate: {old(20)}\n---\n```python\nprint('hi')\n```\n\n"
            '{{< box kind="note" >}}inner *text*{{< /box >}}\n\n{{% raw %}}**bold** <x>{{% /raw %}}\n\n'
            '{{< highlight go >}}\nfunc main() {}\n{{< /highlight >}}\n\nSee {{< ref "posts/a.md" >}}.\n',
            "content/notes/n1.md": f"---\ntitle: Note One\ndate: {old(5)}\nurl: /custom/place/\n"
            "menus:\n  main:\n    weight: 10\n---\nnote body\n",
            "content/about.md": "---\ntitle: About\nmenus: main\nweight: 5\n---\nabout",
            "data/people.yaml": "ada:\n  name: Ada L\n",
            "static/img/logo.svg": "<svg/>",
        },
    )
    return src


def built(site: Path, tmp_path: Path, **kw) -> dict[str, str]:
    out = tmp_path / "out"
    build(site, out, now=NOW, **kw)
    return {k: v.decode() for k, v in tree(out).items()}


def test_urls_permalinks_slug_url_aliases_and_pretty_paths(site: Path, tmp_path: Path) -> None:
    t = built(site, tmp_path)
    a_date = NOW - timedelta(days=3)
    assert f"{a_date:%Y}/{a_date:%m}/first/index.html" in t  # :year/:month/:slug
    assert "custom/place/index.html" in t  # url overrides everything
    assert "about/index.html" in t
    stub = t["old/alpha/index.html"]
    assert f"url=https://example.org/blog/{a_date:%Y}/{a_date:%m}/first/" in stub
    assert "img/logo.svg" in t and t["img/logo.svg"] == "<svg/>"


def test_drafts_future_expired_hidden_by_default_and_flags(site: Path, tmp_path: Path) -> None:
    t = built(site, tmp_path)
    joined = "".join(t.values())
    assert "Drafty" not in joined and "Soon" not in joined and "Gone" not in joined
    t2 = {k: v.decode() for k, v in _build(site, tmp_path / "o2", build_drafts=True, build_future=True).items()}
    assert any("SINGLE Drafty" in v for v in t2.values())
    assert any("SINGLE Soon" in v for v in t2.values())


def _build(site: Path, out: Path, **kw) -> dict[str, bytes]:
    build(site, out, now=NOW, **kw)
    return tree(out)


def test_default_order_pagination_and_summaries(site: Path, tmp_path: Path) -> None:
    t = built(site, tmp_path)
    # weight first, then newest date: Heavy (weight 1), Gamma, Beta, Alpha, Code
    home1 = t["index.html"]
    assert home1.index("<Heavy|") < home1.index("<Gamma|")
    assert "1/3" in home1
    assert "<Beta|" in t["page/2/index.html"] and "<Alpha|" in t["page/2/index.html"]
    assert "<Code|" in t["page/3/index.html"]
    assert 'url=https://example.org/blog/"' in t["page/1/index.html"]
    # summaries: manual divider, front matter, automatic (10 words, whole paragraphs)
    p2 = t["page/2/index.html"]
    assert "<Alpha|<p>Short intro here.</p>|True>" in p2
    assert "<Beta|<p>one two three four five six seven eight nine ten eleven twelve.</p>|True>" in p2
    assert "<Gamma|<p>From <em>fm</em></p>|True>" in home1
    assert "LIST section" in t["posts/index.html"]


def test_markdown_gfm_footnotes_toc_highlighting_shortcodes(site: Path, tmp_path: Path) -> None:
    t = built(site, tmp_path)
    g = next(v for v in t.values() if "SINGLE Gamma" in v)
    assert '<h2 id="head-one">Head One</h2>' in g
    assert "<s>strike</s>" in g and "<table>" in g and 'class="footnotes"' in g
    assert '<a href="#head-one">Head One</a>' in g and '<a href="#sub">Sub</a>' in g
    c = next(v for v in t.values() if "SINGLE Code" in v)
    assert '<div class="highlight">' in c and 'data-lang="python"' in c
    assert "<div class=box>note:inner *text*</div>" in c  # {{< >}}: inner kept raw
    assert "<p><strong>bold</strong> &lt;x&gt;</p>" in c  # {{% %}}: output goes through markdown
    assert 'data-lang="go"' in c
    assert "https://example.org/blog/" in c and "/first/" in c  # ref


def test_word_count_reading_time_layout_lookup_partials_data(site: Path, tmp_path: Path) -> None:
    t = built(site, tmp_path)
    b = next(v for v in t.values() if "SINGLE Beta" in v)
    assert "|14w|1m|" in b
    assert any(v == "SPECIAL Heavy" for v in t.values())  # layout: special in posts/
    assert t["custom/place/index.html"].startswith("NOTE WHO Ada L")  # notes/single.html + partial + data


def test_taxonomies_terms_counts_feeds_sitemap_robots_404_menus(site: Path, tmp_path: Path) -> None:
    t = built(site, tmp_path)
    assert t["tags/index.html"] == "TERMS Go=2;Python=1;"
    assert "tags/go/index.html" in t and "tags/python/index.xml" in t
    assert "<title>Alpha</title>" in t["tags/go/index.xml"] and "<title>Beta</title>" in t["tags/go/index.xml"]
    feed = t["index.xml"]
    assert feed.index("<title>Heavy</title>") < feed.index("<title>Alpha</title>")
    assert "&lt;p&gt;Short intro here.&lt;/p&gt;" in feed
    assert "<loc>https://example.org/blog/tags/go/</loc>" in t["sitemap.xml"]
    assert t["robots.txt"] == "User-agent: *\n"
    assert t["404.html"] == "NOT FOUND Feature Site"
    # menus from config and front matter, ordered by weight
    nav = t["about/index.html"].split("<nav>")[1].split("</nav>")[0]
    assert nav == "[About|/blog/about/][Note One|/blog/custom/place/][Tags|/tags/]"


def test_starter_site_builds(tmp_path: Path) -> None:
    from ripple.site import new_site

    new_site(tmp_path / "s")
    res = build(tmp_path / "s", tmp_path / "o", now=NOW)
    t = tree(tmp_path / "o")
    assert res.outputs == len(t) and "index.html" in t and "sitemap.xml" in t and "robots.txt" in t
    assert b"Hello, world" in t["index.html"]
