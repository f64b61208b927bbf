"""Loop bodies compiled as partials (loops.py): a ``{% for %}`` whose body reads only its item and
globals renders each item once per build, keeps it as a fragment and splices it as a slot. The text
must be Jinja's to the byte: the same loop under ``{% autoescape true %}`` (which an HTML layout has
anyway, and which loops.py leaves alone) is the reference. A loop whose body reads anything else
must be left to Jinja, and an edit of the layout must drop every item it rendered."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from site_helpers import NOW, oracle, write

from ripple.site import BuildError, build

# (body of the home page's layout, whether its loop is compiled as a partial)
LOOPS = {
    "fields": ('{% for p in site.regular_pages %}<a href="{{ p.rel_permalink }}">{{ p.title }}</a>{% endfor %}', True),
    "date filter": ('{% for p in site.regular_pages %}{{ p.date | date_format("%Y-%m") }};{% endfor %}', True),
    "nested loop": (
        '{% for p in site.regular_pages %}<li>{{ p.title }}:{% for t in p.get_terms("tags") %}'
        "{{ t.title }},{% endfor %}</li>{% endfor %}",
        True,
    ),
    "partial inside": ('{% for p in site.regular_pages %}{{ partial("card.html", p) }}{% endfor %}', True),
    "site global": ("{% for p in site.regular_pages %}{{ site.title }}/{{ p.title }}{% endfor %}", True),
    "whitespace control": ("{%- for p in site.regular_pages -%}\n  {{ p.title }}\n{%- endfor %}", True),
    "data items": ("{% for a in site.data.people.list %}{{ a.name }}{% endfor %}", True),
    "in a macro": (
        "{% macro m() %}{% for p in site.regular_pages %}{{ p.title }}{% endfor %}{% endmacro %}{{ m() }}{{ m() }}",
        True,
    ),
    "in an if": ("{% if page.title %}{% for p in site.regular_pages %}{{ p.title }}|{% endfor %}{% endif %}", True),
    "loop variable": ("{% for p in site.regular_pages %}{{ loop.index }}{{ p.title }}{% endfor %}", False),
    "reads the page": ("{% for p in site.regular_pages %}{{ p.title }} on {{ page.title }}{% endfor %}", False),
    "set inside": ("{% for p in site.regular_pages %}{% set x = p.title %}{{ x }}{% endfor %}", False),
    "else": ("{% for p in site.regular_pages %}{{ p.title }}{% else %}none{% endfor %}", False),
    "filtered": ("{% for p in site.regular_pages if p.title != 'B' %}{{ p.title }}{% endfor %}", False),
    "outer name": ('{% set sep = "|" %}{% for p in site.regular_pages %}{{ p.title }}{{ sep }}{% endfor %}', False),
    "shadowed global": (
        "{% set site = page %}{% for p in page.pages %}{{ site.title }}{{ p.title }}{% endfor %}",
        False,
    ),
    "break": ("{% for p in site.regular_pages %}{{ p.title }}{% break %}{% endfor %}", False),
    "tuple target": ("{% for a, b in [(1, 2), (3, 4)] %}{{ a }}{{ b }}{% endfor %}", False),
    "do": ("{% set l = [] %}{% for p in site.regular_pages %}{% do l.append(1) %}{{ p.title }}{% endfor %}", False),
    "autoescape off": (
        "{% autoescape false %}{% for p in site.regular_pages %}{{ p.title }}{% endfor %}{% endautoescape %}",
        False,
    ),
}


def _site(root: Path, home: str) -> Path:
    src = root / "src"
    write(
        src,
        {
            "config.toml": 'title = "Loops <&>"\nbaseURL = "https://example.org/"\n',
            "content/posts/a.md": '---\ntitle: A <b> & "q"\ndate: 2026-01-01\ntags: [x, "y&z"]\n---\nBody a.\n',
            "content/posts/b.md": "---\ntitle: B\ndate: 2026-01-02\ntags: [x]\n---\nBody b.\n",
            "content/posts/c.md": "---\ntitle: Ünïcode C\ndate: 2026-01-03\n---\nBody c.\n",
            "data/people.yaml": "list:\n  - name: Ada <1>\n  - name: Grace\n",
            "layouts/index.html": home,
            "layouts/_default/single.html": "{{ page.title }}",
            "layouts/_default/list.html": "{{ page.title }}",
            "layouts/partials/card.html": "<div>{{ page.title }}</div>",
        },
    )
    return src


def _loop_fragments(out: Path) -> list[str]:
    """The stored items of the home layout's loops."""
    with sqlite3.connect(out / ".ripple" / "site.db") as db:
        return sorted(r[0] for r in db.execute("SELECT id FROM fragments WHERE id LIKE '[\"/for/%/index.html\"%'"))


@pytest.mark.parametrize("name", sorted(LOOPS))
def test_a_loop_renders_as_jinja_does_and_only_plain_bodies_become_partials(tmp_path, name) -> None:
    home, plain = LOOPS[name]
    src = _site(tmp_path / "a", home)
    out = tmp_path / "a" / "out"
    build(src, out, now=NOW)
    ref_src = _site(tmp_path / "b", "{% autoescape true %}" + home + "{% endautoescape %}")
    build(ref_src, tmp_path / "b" / "out", now=NOW)
    got = (out / "index.html").read_text()
    assert got == (tmp_path / "b" / "out" / "index.html").read_text()
    if name != "autoescape off":
        assert "<b>" not in got
    stored = _loop_fragments(out)
    if not plain:
        assert stored == []
    elif name != "data items":  # data rows have no stable name: rendered per build, never stored
        assert stored and all(f.startswith('["/for/0/index.html"') for f in stored)
    assert _loop_fragments(tmp_path / "b" / "out") == []


def test_an_item_edit_takes_the_other_items_from_storage_and_a_layout_edit_drops_them_all(tmp_path) -> None:
    home = "<h1>{{ page.title }}</h1>{% for p in site.regular_pages %}<h2>{{ p.title }}</h2>{{ p.summary }}{% endfor %}"
    src = _site(tmp_path, home)
    out = tmp_path / "out"
    build(src, out, now=NOW)
    write(src, {"content/posts/b.md": "---\ntitle: B retitled\ndate: 2026-01-02\ntags: [x]\n---\nBody b.\n"})
    res = build(src, out, now=NOW)
    # The list is rendered again; its two other items come from their stored fragments.
    assert "index.html" in res.written and res.fragments_reused >= 2
    oracle(src, out, tmp_path)
    # The body changes, then a new loop comes first: the old body's name (/for/0/) is the new one's.
    for layout in (
        home.replace("<h2>", "<h3>").replace("</h2>", "</h3>"),
        "{% for p in site.regular_pages %}[{{ p.title }}]{% endfor %}" + home,
    ):
        write(src, {"layouts/index.html": layout})
        build(src, out, now=NOW)
        oracle(src, out, tmp_path)
    text = (out / "index.html").read_text()
    assert "[B retitled]" in text and "<h2>B retitled</h2>" in text and "<h3>" not in text


def test_an_error_in_a_loop_body_names_the_layout_and_line_and_changes_nothing(tmp_path) -> None:
    src = _site(tmp_path, "<ul>\n{% for p in site.regular_pages %}\n<li>{{ p.title }}</li>\n{% endfor %}</ul>")
    out = tmp_path / "out"
    build(src, out, now=NOW)
    before = (out / "index.html").read_bytes()
    write(
        src, {"layouts/index.html": "<ul>\n{% for p in site.regular_pages %}\n<li>{{ p.title + 1 }}</li>\n{% endfor %}"}
    )
    with pytest.raises(BuildError) as e:
        build(src, out, now=NOW)
    assert e.value.file == "layouts/index.html" and e.value.line == 3
    assert (out / "index.html").read_bytes() == before
