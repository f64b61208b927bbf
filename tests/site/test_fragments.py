"""Partials kept across builds (the state's ``fragments`` table) and front matter edits taken into
the saved page model: each shortcut must give the bytes a clean build gives, and a damaged, moved
or stale fragment must be rendered again, never used."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import site_edits as E
from site_helpers import NOW, built_copy, oracle, synth_site, write

from ripple.site import Builder, build, pipeline

N = 40


@pytest.fixture(scope="module")
def site_src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth_site(tmp_path_factory, "frag", N)


@pytest.fixture
def built(site_src: Path, tmp_path: Path) -> tuple[Path, Path]:
    return built_copy(site_src, tmp_path)


def _db(out: Path) -> sqlite3.Connection:
    return sqlite3.connect(out / ".ripple" / "site.db", isolation_level=None)


def _fragments(out: Path) -> list[tuple[str, str, bytes, bytes]]:
    db = _db(out)
    try:
        return db.execute("SELECT id, text, deps, sum FROM fragments ORDER BY id").fetchall()
    finally:
        db.close()


def test_feed_items_are_kept_and_a_changed_one_is_rendered_again(built, tmp_path) -> None:
    src, out = built
    rows = _fragments(out)
    assert any("rss_item" in r[0] for r in rows)
    E.edit_body_head(E.posts(src)[5], "frag")  # the post's summary, in its feed items, changes
    res = build(src, out, now=NOW)
    assert res.fragments_reused > 0
    assert len(res.written) > 1
    oracle(src, out, tmp_path)
    E.retitle(E.posts(src)[5], "Fragment retitled")
    res = build(src, out, now=NOW)
    assert res.fragments_reused > 0
    oracle(src, out, tmp_path)


def test_damaged_fragments_are_rendered_again(built, tmp_path) -> None:
    src, out = built
    db = _db(out)
    rows = db.execute("SELECT id FROM fragments").fetchall()
    for i, (fid,) in enumerate(rows):
        if i % 3 == 0:
            db.execute("UPDATE fragments SET text = 'WRONG' WHERE id = ?", (fid,))
        elif i % 3 == 1:
            db.execute("UPDATE fragments SET deps = ? WHERE id = ?", (b"not json", fid))
        else:
            db.execute("UPDATE fragments SET sum = NULL, text = NULL WHERE id = ?", (fid,))
    db.close()
    E.edit_body_head(E.posts(src)[7], "damaged")
    res = build(src, out, now=NOW)
    assert res.fragments_reused == 0
    oracle(src, out, tmp_path)
    # The rows were rewritten by that build: the next one can use them again.
    E.edit_body_head(E.posts(src)[8], "again")
    assert build(src, out, now=NOW).fragments_reused > 0
    oracle(src, out, tmp_path)


def test_a_row_moved_to_another_fragment_is_not_used(built, tmp_path) -> None:
    src, out = built
    items = [r for r in _fragments(out) if "rss_item" in r[0]]
    a, b = items[0], items[1]
    db = _db(out)
    # b's row now holds a's text, ids and checksum: a valid row, but not b's.
    db.execute("UPDATE fragments SET text = ?, deps = ?, sum = ? WHERE id = ?", (a[1], a[2], a[3], b[0]))
    db.close()
    E.edit_body_head(E.posts(src)[2], "moved")
    build(src, out, now=NOW)
    oracle(src, out, tmp_path)


def test_a_fragment_of_a_deleted_key_goes_with_it(built, tmp_path, monkeypatch) -> None:
    src, out = built
    # Removing posts and rebuilding the sidebar (a bulk build) sweeps keys nothing reads any more.
    monkeypatch.setattr(pipeline, "SWEEP_EVERY", 1)
    for p in E.posts(src)[:3]:
        p.unlink()
    E.edit_layout(src, "partials/sidebar.html", "sweep")
    build(src, out, now=NOW)
    db = _db(out)
    try:
        live = {r[0] for r in db.execute("SELECT id FROM keys")}
        for _fid, deps in db.execute("SELECT id, deps FROM fragments"):
            assert set(json.loads(deps)) <= live
    finally:
        db.close()
    E.edit_body_head(E.posts(src)[4], "after-sweep")
    build(src, out, now=NOW)
    oracle(src, out, tmp_path)


def test_title_edits_reuse_the_saved_model(built, tmp_path) -> None:
    src, out = built
    post = E.posts(src)[6]
    E.retitle(post, "A new title for an old post")
    res = build(src, out, now=NOW)
    assert res.model == "reused"
    oracle(src, out, tmp_path)
    post.write_text(post.read_text().replace("title:", "description: described\ntitle:", 1))
    res = build(src, out, now=NOW)
    assert res.model == "reused"
    oracle(src, out, tmp_path)
    E.redate(post, "2020-01-01T00:00:00Z")  # the order changes: the model is built anew
    res = build(src, out, now=NOW)
    assert res.model == "built"
    oracle(src, out, tmp_path)


def test_title_edits_in_a_warm_builder(site_src, tmp_path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    shutil.copytree(site_src, src)
    with Builder(src, out) as b:
        b.build(now=NOW)
        for i, post in enumerate(E.posts(src)[3:6]):
            E.retitle(post, f"Warm title {i}")
            res = b.build(now=NOW, changed=[post.relative_to(src).as_posix()], changed_only=True)
            assert res.model == "reused"
            oracle(src, out, tmp_path)


TIE = {
    "hugo.toml": 'title = "Tie"\nbaseURL = "https://t.org/"\n[permalinks]\nnotes = "/n/:title/"\n',
    "layouts/_default/baseof.html": "<t>{{ site.title }}</t>{% block main %}{% endblock %}",
    "layouts/_default/single.html": '{% extends "_default/baseof.html" %}{% block main %}{{ page.title }}'
    "{% if page.next %} next {{ page.next.title }}{% endif %}{% endblock %}",
    "layouts/_default/list.html": '{% extends "_default/baseof.html" %}{% block main %}'
    "{% for p in paginator.pages %}[{{ p.title }}]{% endfor %}{% endblock %}",
    "content/posts/a.md": "---\ntitle: A\ndate: 2026-01-01\n---\nalpha\n",
    "content/posts/b.md": "---\ntitle: B\ndate: 2026-01-01\n---\nbeta\n",
    "content/posts/c.md": "---\ntitle: C\ndate: 2026-01-03\n---\ngamma\n",
    "content/notes/n.md": "---\ntitle: Note\ndate: 2026-01-02\n---\nnote\n",
    "content/menu.md": "---\ntitle: Menu page\ndate: 2025-01-02\nmenus: main\n---\nmenu\n",
}


def test_title_edits_that_move_a_page_rebuild_the_model(tmp_path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    write(src, TIE)
    with Builder(src, out) as b:  # keeps the model in memory (a small build writes no snapshot)
        b.build(now=NOW)

        def edit(rel: str, text: str) -> str:
            write(src, {rel: text})
            res = b.build(now=NOW, changed=[rel])
            oracle(src, out, tmp_path)
            return res.model

        # a and b share weight and date: the title decides their order.
        assert edit("content/posts/a.md", "---\ntitle: Z\ndate: 2026-01-01\n---\nalpha\n") == "built"
        # c has no tie: the model takes the new title.
        assert edit("content/posts/c.md", "---\ntitle: C2\ndate: 2026-01-03\n---\ngamma\n") == "reused"
        # The title is in the note's URL (permalink pattern), and in the menu entry's name.
        assert edit("content/notes/n.md", "---\ntitle: Renamed note\ndate: 2026-01-02\n---\nnote\n") == "built"
        menu = "---\ntitle: Menu renamed\ndate: 2025-01-02\nmenus: main\n---\nmenu\n"
        assert edit("content/menu.md", menu) == "built"


ITEMS = {
    "hugo.toml": 'title = "Items"\nbaseURL = "https://i.org/"\n',
    "layouts/_default/single.html": "{{ page.title }}",
    "layouts/_default/list.html": '{% for p in paginator.pages %}{{ partial("item.html", p) }}{% endfor %}',
    "layouts/partials/item.html": "[{{ page.title }}]",
    "content/posts/a.md": "---\ntitle: A\ndate: 2026-01-01\n---\nalpha\n",
    "content/posts/b.md": "---\ntitle: B\ndate: 2026-01-02\n---\nbeta\n",
}


def test_a_fragment_whose_key_changed_while_unused_is_not_used_later(tmp_path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    write(src, ITEMS)
    build(src, out, now=NOW)
    # No list calls the partial while a's title changes: its stored item is now stale...
    write(
        src,
        {
            "layouts/_default/list.html": "{% for p in paginator.pages %}({{ p.title }}){% endfor %}",
            "content/posts/a.md": "---\ntitle: A2\ndate: 2026-01-01\n---\nalpha\n",
        },
    )
    build(src, out, now=NOW)
    oracle(src, out, tmp_path)
    # ...and must not come back when the partial is called again.
    write(src, {"layouts/_default/list.html": ITEMS["layouts/_default/list.html"]})
    res = build(src, out, now=NOW)
    oracle(src, out, tmp_path)
    assert "[A2]" in (out / "index.html").read_text()
    assert res.fragments_reused >= 1  # b's item, whose keys did not change


def _unread_keys(out: Path) -> set[int]:
    """The keys no output's row names (what a sweep drops)."""
    db = _db(out)
    try:
        read: set[int] = set()
        for (deps,) in db.execute("SELECT deps FROM outputs"):
            read.update(json.loads(deps))
        return {r[0] for r in db.execute("SELECT id FROM keys")} - read
    finally:
        db.close()


def test_keys_nothing_reads_are_swept_once_enough_may_have_died(built, tmp_path, monkeypatch) -> None:
    # A bulk build sweeps unreferenced keys only when it is worth it: after SWEEP_EVERY bulk builds,
    # or when many outputs were deleted. In between, dead keys stay (they are only re-checked).
    src, out = built
    monkeypatch.setattr(pipeline, "BULK_OUTPUTS", 5)
    E.unpublish(E.posts(src)[5])  # its page's keys: nothing reads them from now on
    bulk = int(build(src, out, now=NOW).rendered > 5)
    dead = _unread_keys(out)
    assert dead
    while bulk < pipeline.SWEEP_EVERY - 1:
        E.edit_layout(src, "partials/sidebar.html", f"bulk-{bulk}")
        assert build(src, out, now=NOW).rendered > 5
        bulk += 1
        assert _unread_keys(out) >= dead  # not swept yet
    E.edit_layout(src, "partials/sidebar.html", "sweeping")
    assert build(src, out, now=NOW).rendered > 5
    assert _unread_keys(out) == set()
    oracle(src, out, tmp_path)
    # Half the posts deleted at once: the build that deletes them sweeps.
    for p in E.posts(src)[::2]:
        p.unlink()
    assert build(src, out, now=NOW).rendered > 5
    assert _unread_keys(out) == set()
    oracle(src, out, tmp_path)
