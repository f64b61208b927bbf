"""Slots: a partial printed straight into an output by ``{{ partial(...) }}`` (or each item of a
``{{ partial_each(...) }}``) is spliced into the output's old bytes when only keys read inside it
changed. Each splice must give the bytes a clean build gives; a partial whose text the template
captures, filters, measures or tests must never be spliced; a hand-edited or deleted output, or a
slot whose page is gone, is rendered instead."""

from __future__ import annotations

import shutil
import sqlite3
import sys
from pathlib import Path

import pytest
import site_edits as E
from site_helpers import NOW, built_copy, oracle, synth_site, write

from ripple.site import BuildError, build, parallel

N = 40


@pytest.fixture(scope="module")
def site_src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_site(tmp_path_factory, "slots", N)


@pytest.fixture
def built(site_src: Path, tmp_path: Path) -> tuple[Path, Path]:
    return built_copy(site_src, tmp_path)


def test_a_sidebar_edit_splices_every_page_and_matches_a_clean_build(built, tmp_path) -> None:
    src, out = built
    E.edit_layout(src, "partials/sidebar.html", "s1")
    res = build(src, out, now=NOW)
    assert res.rendered > N  # every HTML page shows the sidebar
    assert res.spliced == res.rendered  # and nothing else of them changed
    oracle(src, out, tmp_path)
    assert "s1" in (out / "index.html").read_text()


def test_retitling_a_recent_post_splices_all_but_the_pages_showing_it_themselves(built, tmp_path) -> None:
    src, out = built
    newest = E.posts(src)[-1]
    E.retitle(newest, "A retitled newest post")
    res = build(src, out, now=NOW)
    assert 0 < res.spliced < res.rendered  # its own page, lists and feeds print the title outside the sidebar
    oracle(src, out, tmp_path)


def test_adding_a_newest_post_then_a_data_edit_read_in_a_block_splice(built, tmp_path) -> None:
    src, out = built
    E.add_post(src, "slot-newest", "2026-11-27T11:00:00Z")
    res = build(src, out, now=NOW)
    assert res.spliced > 0
    oracle(src, out, tmp_path)
    # notes/single.html prints partial("author.html") inside its block, which baseof prints in place
    E.edit_data(src, True, "Grace Slot")
    res = build(src, out, now=NOW)
    assert res.spliced == res.rendered > 0
    oracle(src, out, tmp_path)


def test_a_hand_edited_or_deleted_output_is_rendered_not_spliced(built, tmp_path) -> None:
    src, out = built
    page = next(p for p in sorted(out.rglob("index.html")) if "posts/" in p.as_posix())
    page.write_text(page.read_text().replace("<aside>", "<aside class=tampered>"))
    (out / "index.html").unlink()
    E.edit_layout(src, "partials/sidebar.html", "s2")
    res = build(src, out, now=NOW)
    assert res.spliced == res.rendered - 2
    oracle(src, out, tmp_path)


def _site(root: Path, single: str) -> Path:
    src = root / "src"
    write(
        src,
        {
            "config.toml": 'title = "Slots"\nbaseURL = "https://example.org/"\n',
            "content/posts/a.md": "---\ntitle: Ünïcode A\ndate: 2026-01-01\n---\nBody a, ünïcode.\n",
            "content/posts/b.md": "---\ntitle: B\ndate: 2026-01-02\n---\nBody b.\n",
            "data/who.yaml": "name: Ada\n",
            "layouts/_default/single.html": single,
            "layouts/_default/list.html": "{{ page.title }}",
            "layouts/partials/who.html": "<b>{{ site.data.who.name }}</b>",
            "layouts/partials/byline.html": "<i>{{ page.title }} by {{ site.data.who.name }}</i>",
        },
    )
    return src


# Templates that use a partial's text in ways a splice could not reproduce: every edit of the
# partial must render the page again. The partial's text changes length below (Ada -> Grace Hopper).
CAPTURED = {
    "set": '{% set s = partial("who.html") %}[{{ s }}]',
    "filter": '{{ partial("who.html") | upper }}',
    "filter block": '{% filter upper %}{{ partial("who.html") }}{% endfilter %}',
    "macro": '{% macro m() %}{{ partial("who.html") }}{% endmacro %}{{ m() | length }}{{ m() }}',
    "test": '{% if partial("who.html") | length > 10 %}long{% endif %}{{ partial("who.html") }}',
    "set block": '{% set x %}{{ partial("who.html") }}{% endset %}{{ x | length }}{{ x }}',
    "call block": '{% macro w() %}<{{ caller() }}>{% endmacro %}{% call w() %}{{ partial("who.html") }}{% endcall %}',
    "block capture": '{% block b %}{{ partial("who.html") }}{% endblock %}|{{ self.b() | length }}',
    "include in set": '{% set x %}{% include "partials/who.html" %}{{ partial("who.html") }}{% endset %}{{ x|e }}',
    "computed argument": '{{ partial("who" ~ ".html") }}',
}


@pytest.mark.parametrize("name", sorted(CAPTURED))
def test_a_captured_or_filtered_partial_is_never_spliced(tmp_path, name) -> None:
    src = _site(tmp_path, CAPTURED[name])
    out = tmp_path / "out"
    build(src, out, now=NOW)
    write(src, {"data/who.yaml": "name: Grace Hopper\n"})
    res = build(src, out, now=NOW)
    assert res.rendered == 2 and res.spliced == 0
    oracle(src, out, tmp_path)


def test_slots_after_non_ascii_text_and_with_a_page_argument_splice_byte_exact(tmp_path) -> None:
    single = '<h1>{{ page.title }}</h1>{{ partial("byline.html", page) }} ü {{ partial("who.html") }}{{ page.content }}'
    src = _site(tmp_path, single)
    out = tmp_path / "out"
    build(src, out, now=NOW)
    for name in ("Grace Hopper", "Ŧ", "Ada"):
        write(src, {"data/who.yaml": f"name: {name}\n"})
        res = build(src, out, now=NOW)
        assert res.rendered == res.spliced == 2
        oracle(src, out, tmp_path)
        assert f"by {name}" in (out / "posts/a/index.html").read_text()


def test_a_damaged_slots_column_renders_the_outputs_instead(built, tmp_path) -> None:
    src, out = built
    # Every id counted as read only in slots, so that the sidebar edit takes these rows to a splice,
    # and slot places that do not decode as places.
    damage = [
        ("[[0, 5, 7, 9]]", "index.html"),
        ('[["a", 0, "x"]]', "notes/%"),
        ('[[0, 99999999, "[]"]]', "posts/%"),
    ]
    db = sqlite3.connect(out / ".ripple" / "site.db", isolation_level=None)
    try:
        for where, paths in damage:
            db.execute(
                "UPDATE outputs SET slots = '[' || CAST(deps AS TEXT) || ', ' || ? || ']' "
                "WHERE path LIKE ? AND slots != ''",
                (where, paths),
            )
    finally:
        db.close()
    E.edit_layout(src, "partials/sidebar.html", "s3")
    res = build(src, out, now=NOW)
    assert res.rendered > res.spliced > 0  # the tags' and categories' pages still splice
    oracle(src, out, tmp_path)


# --- item slots: ``{{ partial_each(...) }}`` printed straight into an output -----------------------------


def test_a_summary_edit_splices_its_item_into_every_feed_listing_it(built, tmp_path) -> None:
    src, out = built
    post = E.posts(src)[N // 2]
    E.edit_body_head(post, "a new first sentence for the feeds")
    res = build(src, out, now=NOW)
    feeds = [p for p in res.written if p.endswith(".xml") and p != "sitemap.xml"]
    assert len(feeds) >= 4  # home, its section, its category and tags
    assert res.spliced >= len(feeds)  # each feed: one item replaced, the others' bytes kept
    oracle(src, out, tmp_path)
    assert "a new first sentence for the feeds" in (out / "index.xml").read_text()
    # Then its title (the item again) and a post added on top (the list itself: rendered whole).
    E.retitle(post, "Ünïcode retitled in the feeds")
    assert build(src, out, now=NOW).spliced >= len(feeds)
    oracle(src, out, tmp_path)
    E.add_post(src, "items-newest", "2026-11-27T11:00:00Z")
    build(src, out, now=NOW)
    oracle(src, out, tmp_path)


# List layouts that use partial_each's text other than by printing it in place, or print it in
# place (``direct``, the one that splices). byline.html reads the data file edited below.
EACH = {
    "direct": '{{ page.title }} ü {{ partial_each("byline.html", site.regular_pages, " · ") }}|',
    "set": '{% set s = partial_each("byline.html", site.regular_pages) %}[{{ s }}]',
    "filter": '{{ partial_each("byline.html", site.regular_pages) | upper }}',
    "set block": '{% set x %}{{ partial_each("byline.html", site.regular_pages) }}{% endset %}{{ x | length }}{{ x }}',
    "macro": '{% macro m() %}{{ partial_each("byline.html", site.regular_pages) }}{% endmacro %}{{ m() | length }}',
    "test": '{% if partial_each("byline.html", site.regular_pages) | length > 60 %}long{% endif %}',
}


@pytest.mark.parametrize("name", sorted(EACH))
def test_partial_each_splices_item_by_item_only_when_printed_in_place(tmp_path, name) -> None:
    src = _site(tmp_path, "{{ page.title }}")
    write(src, {"layouts/_default/list.html": EACH[name]})
    out = tmp_path / "out"
    build(src, out, now=NOW)
    for who in ("Grace Hopper", "Ŧ", "Ada"):
        write(src, {"data/who.yaml": f"name: {who}\n"})
        res = build(src, out, now=NOW)
        assert res.rendered == 4  # every page with list.html: home, section, two taxonomy indexes
        assert res.spliced == (4 if name == "direct" else 0)
        oracle(src, out, tmp_path)


def _rows(out: Path) -> list[tuple[str, bytes, str]]:
    db = sqlite3.connect(out / ".ripple" / "site.db")
    try:
        return db.execute("SELECT path, deps, slots FROM outputs ORDER BY path").fetchall()
    finally:
        db.close()


def _keys(out: Path) -> list[tuple[int, str]]:
    db = sqlite3.connect(out / ".ripple" / "site.db")
    try:
        return db.execute("SELECT id, key FROM keys ORDER BY id").fetchall()
    finally:
        db.close()


def _split_twin(built: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the built site and its output, and renders split from two outputs on."""
    twin = tmp_path / "twin"
    shutil.copytree(tmp_path / "src", twin / "src")
    shutil.copytree(built[1], twin / "out")
    monkeypatch.setattr(parallel, "MIN_ITEMS", 2)
    return twin


@pytest.mark.skipif(not parallel.available(), reason="needs fork, 2 CPUs and a single thread")
def test_a_split_render_commits_the_rows_and_key_ids_of_a_one_process_build(built, tmp_path, monkeypatch) -> None:
    # Each process of a split render sorts its outputs' known ids itself, and the commit hands out
    # ids to new keys in the order the outputs read them: the state must be the one a build in a
    # single process writes, rows, key ids and swept keys alike.
    src, out = built
    twin = _split_twin(built, tmp_path, monkeypatch)
    monkeypatch.setattr(sys.modules["ripple.site.pipeline"], "BULK_OUTPUTS", 5)  # so unreferenced keys are swept
    monkeypatch.setattr(sys.modules["ripple.site.pipeline"], "SWEEP_EVERY", 1)  # by every bulk build
    recent = "2026-11-27T11:00:00Z"
    for step, edit in enumerate(
        [
            lambda s: E.add_post(s, "split-newest", recent),  # new keys on every page's sidebar
            lambda s: E.edit_layout(s, "partials/sidebar.html", "split"),
            lambda s: E.retitle(E.posts(s)[4], "Split retitled"),
            lambda s: E.unpublish(E.posts(s)[7]),  # its keys unreferenced: swept
            lambda s: E.edit_body_head(E.posts(s)[9], "split"),
            lambda s: E.edit_config_title(s, "Split Blog"),
        ]
    ):
        edit(src)
        edit(twin / "src")
        build(src, out, now=NOW)
        with monkeypatch.context() as m:
            m.setenv("RIPPLE_SITE_JOBS", "1")
            build(twin / "src", twin / "out", now=NOW)
        assert _rows(out) == _rows(twin / "out"), step
        assert _keys(out) == _keys(twin / "out"), step
    oracle(src, out, tmp_path)


@pytest.mark.skipif(not parallel.available(), reason="needs fork, 2 CPUs and a single thread")
def test_splices_that_read_the_same_keys_keep_their_rows_ids(built, tmp_path, monkeypatch) -> None:
    # In a split render, a splice whose slots read the keys they read before keeps the row's ids
    # instead of mapping them again: the rows must be the ones the full mapping writes.
    src, out = built
    twin = _split_twin(built, tmp_path, monkeypatch)
    builds = sys.modules["ripple.site.pipeline"]
    same: list[bool] = []
    splice = builds._Build._splice

    def spy(self, path, row, r):
        got = splice(self, path, row, r)
        if got is not None:
            same.append(got[4])
        return got

    monkeypatch.setattr(builds._Build, "_splice", spy)
    for step, edit in enumerate(
        [
            lambda s: E.edit_layout(s, "partials/sidebar.html", "same1"),
            lambda s: E.retitle(E.posts(s)[-1], "Same keys, new title"),
            lambda s: E.edit_config_title(s, "Same Blog"),
            lambda s: E.edit_body_head(E.posts(s)[3], "own"),  # an own read after the kept rows
            # An old post becomes the newest: the sidebars list it, so their slots read other keys.
            lambda s: E.redate(E.posts(s)[5], "2026-11-27T11:30:00Z"),
            lambda s: E.edit_layout(s, "partials/sidebar.html", "same2"),
        ]
    ):
        edit(src)
        edit(twin / "src")
        res = build(src, out, now=NOW)
        assert res.spliced > 0 or step == 3, step
        oracle(src, out, tmp_path)
        with monkeypatch.context() as m:
            m.setattr(builds._Build, "_slot_key_ids", lambda self, fid: None)  # always map the ids
            build(twin / "src", twin / "out", now=NOW)
        assert _rows(out) == _rows(twin / "out"), step
    assert any(same)  # the shortcut was taken (in this process, at least)


# --- value slots: ``{{ site.<path> }}`` printed straight into an output ---------------------------------


def test_a_config_title_edit_splices_the_pages_that_print_it(built, tmp_path) -> None:
    src, out = built
    E.edit_config_title(src, "A Much Longer Renamed Blog")
    res = build(src, out, now=NOW)
    assert res.model == "reused"
    assert res.spliced > N  # every HTML page: the <title> in baseof and the header partial
    oracle(src, out, tmp_path)
    page = (out / "posts" / E.posts(src)[0].stem / "index.html").read_text()
    assert "- A Much Longer Renamed Blog</title>" in page


def _config(src: Path, title: str, motto: str = "") -> None:
    text = f'title = "{title}"\nbaseURL = "https://example.org/"\n[params]\nmotto = "{motto}"\n'
    write(src, {"config.toml": text})


# Templates that read the site's title other than by printing it in place: a title edit must
# render them again, and they print what a clean build prints.
VALUE_CAPTURED = {
    "set": "{% set t = site.title %}[{{ t }}]",
    "filter": "{{ site.title | upper }}",
    "concatenated": '{{ site.title ~ "!" }}',
    "set block": "{% set x %}{{ site.title }}{% endset %}{{ x | length }}{{ x }}",
    "test": "{% if site.title | length > 9 %}long{% endif %}{{ site.title }}",
    "macro": "{% macro m() %}{{ site.title }}{% endmacro %}{{ m() | length }}",
}


@pytest.mark.parametrize("name", sorted(VALUE_CAPTURED))
def test_a_captured_or_filtered_site_value_is_never_spliced(tmp_path, name) -> None:
    src = _site(tmp_path, VALUE_CAPTURED[name])
    write(src, {"content/_index.md": "---\ntitle: Home\n---\n"})  # its title is its own
    out = tmp_path / "out"
    build(src, out, now=NOW)
    _config(src, "Slots Renamed")
    res = build(src, out, now=NOW)
    assert res.spliced == 0 and {"posts/a/index.html", "posts/b/index.html"} <= set(res.written)
    oracle(src, out, tmp_path)


def test_site_values_splice_byte_exact_and_a_shadowed_site_is_not_the_site(tmp_path) -> None:
    single = (
        "<t>{{ site.title }}</t> ü {{ site.params.motto }}|{{ site['title'] }}"
        "{% for site in [page] %}<h1>{{ site.title }}</h1>{% endfor %}"
    )
    src = _site(tmp_path, single)
    write(src, {"content/_index.md": "---\ntitle: Home\n---\n"})
    _config(src, "Slots", "<Slots>")
    out = tmp_path / "out"
    build(src, out, now=NOW)
    for title in ("Grace & Hopper", "Ŧ", "", "Ada"):
        _config(src, title, f"<{title}>")
        res = build(src, out, now=NOW)
        oracle(src, out, tmp_path)
        a = (out / "posts/a/index.html").read_text()
        assert "<h1>Ünïcode A</h1>" in a  # ``site`` bound to the page there
        assert res.spliced == 2
        assert f"<t>{title.replace('&', '&amp;')}</t>" in a and "&lt;" in a


def test_an_error_in_a_site_value_names_the_layout_and_line(tmp_path) -> None:
    src = _site(tmp_path, "ok\n{{ site.params.missing.deeper }}")
    with pytest.raises(BuildError) as e:
        build(src, tmp_path / "out", now=NOW)
    assert e.value.file == "layouts/_default/single.html" and e.value.line == 2
