"""The cold-process shortcuts: two-process rendering, the page model snapshot, the no-op shortcut.
Each must leave outputs (and, for rendering, the state's rows) exactly as the plain path does."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import site_edits as E
from hypothesis import given, settings
from hypothesis import strategies as st
from site_helpers import NOW, oracle, synth, tree

from ripple.site import build, parallel

N = 60


@pytest.fixture(scope="module")
def site_src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth().make(N, tmp_path_factory.mktemp("fast"), ("ripple",))["ripple"]


def _rows(out: Path) -> dict[str, list[tuple]]:
    db = sqlite3.connect(out / ".ripple" / "site.db")
    try:
        return {
            t: db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
            for t in ("files", "parsed", "keys", "outputs", "content")
        }
    finally:
        db.close()


def _both(src: Path, tmp: Path, name: str, monkeypatch: pytest.MonkeyPatch, now=NOW) -> tuple[Path, Path]:
    """Build into ``name-seq`` with one process and into ``name-par`` with two (threshold lowered)."""
    seq, par = tmp / f"{name}-seq", tmp / f"{name}-par"
    monkeypatch.setenv("RIPPLE_SITE_JOBS", "1")
    a = build(src, seq, now=now)
    monkeypatch.delenv("RIPPLE_SITE_JOBS")
    monkeypatch.setattr(parallel, "MIN_ITEMS", 2)
    b = build(src, par, now=now)
    monkeypatch.setattr(parallel, "MIN_ITEMS", 400)
    assert (a.written, a.deleted, a.rendered, a.markdown_rendered) == (
        b.written,
        b.deleted,
        b.rendered,
        b.markdown_rendered,
    )
    return seq, par


@pytest.mark.skipif(not parallel.available(), reason="needs fork, 2 CPUs and a single thread")
def test_two_processes_render_what_one_does(site_src: Path, tmp_path: Path, monkeypatch) -> None:
    src = tmp_path / "src"
    shutil.copytree(site_src, src)
    seq, par = _both(src, tmp_path, "full", monkeypatch)
    assert tree(seq) == tree(par)
    assert _rows(seq) == _rows(par)  # same key ids, digests, dependency lists
    # Incremental builds that re-render many outputs (a partial, a new post, the config) also fork.
    for step, edit in enumerate(
        [
            lambda: E.edit_layout(src, "partials/sidebar.html", "par"),
            lambda: E.add_post(src, "par-new", (NOW - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")),
            lambda: E.edit_config_title(src, "Parallel Blog"),
            lambda: E.edit_body_head(E.posts(src)[3], "par"),
        ]
    ):
        edit()
        seq2, par2 = _both(src, tmp_path, f"e{step}", monkeypatch)
        assert tree(seq2) == tree(par2)
        # And incrementally, from the previous state, in two processes: equal to a clean build.
        monkeypatch.setattr(parallel, "MIN_ITEMS", 2)
        build(src, par, now=NOW)
        monkeypatch.setattr(parallel, "MIN_ITEMS", 400)
        assert tree(par) == tree(seq2)


def test_template_error_in_the_child_is_a_build_error(site_src: Path, tmp_path: Path, monkeypatch) -> None:
    if not parallel.available():
        pytest.skip("needs fork")
    src = tmp_path / "src"
    shutil.copytree(site_src, src)
    # An error only on pages the child renders (every other one): the parent must report it.
    (src / "layouts" / "_default" / "single.html").write_text(
        "{% if page.title.endswith('1') or page.title.endswith('3') %}{{ page.nope() }}{% endif %}x"
    )
    monkeypatch.setattr(parallel, "MIN_ITEMS", 2)
    from ripple.site import BuildError

    with pytest.raises(BuildError) as e:
        build(src, tmp_path / "out", now=NOW)
    assert "layouts/_default/single.html" in str(e.value)
    assert not (tmp_path / "out" / "index.html").exists()


def test_front_matter_errors_in_two_processes_name_the_first_bad_file(
    site_src: Path, tmp_path: Path, monkeypatch
) -> None:
    if not parallel.available():
        pytest.skip("needs fork")
    src = tmp_path / "src"
    shutil.copytree(site_src, src)
    posts = E.posts(src)
    # Bad files early and late in path order, sized so that the parent parses the last one (the
    # heaviest) and the child the first: the parent would meet its own bad file first.
    for p, size in ((posts[-1], 200_000), (posts[-2], 10), (posts[2], 100_000)):
        p.write_text("---\ntitle: [unclosed\n---\n" + "body " * size + "\n")
    monkeypatch.setattr(parallel, "MIN_ITEMS", 2)
    from ripple.site import BuildError

    with pytest.raises(BuildError) as e:
        build(src, tmp_path / "out", now=NOW)
    first = min(posts[-1], posts[-2], posts[2])
    assert e.value.file == "content/" + first.relative_to(src / "content").as_posix()
    assert "invalid YAML" in e.value.reason
    assert not (tmp_path / "out" / "index.html").exists()


def test_snapshot_serves_a_new_process(site_src: Path, tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    shutil.copytree(site_src, src)
    build(src, out, now=NOW)
    assert (out / ".ripple" / "model.pickle").exists()
    edits = [
        lambda: E.edit_body_tail(E.posts(src)[10], "snap"),
        lambda: E.edit_data(src, key_read=True, value="Snap Author"),
        lambda: E.edit_layout(src, "notes/single.html", "snap"),
        lambda: E.retitle(E.posts(src)[12], "Snap title"),  # rebuilds the model
        lambda: E.edit_body_head(E.posts(src)[12], "snap"),
    ]
    for edit in edits:
        edit()
        # A new process each time, as the CLI: the model comes from the snapshot when it applies.
        subprocess.run(
            [sys.executable, "-m", "ripple.site", "build", str(src), str(out), "--quiet", "--now", NOW.isoformat()],
            check=True,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        oracle(src, out, tmp_path)


def test_stale_snapshot_is_ignored(site_src: Path, tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    shutil.copytree(site_src, src)
    build(src, out, now=NOW)
    snap = out / ".ripple" / "model.pickle"
    old = snap.read_bytes()
    E.add_post(src, "snap-new", (NOW - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    build(src, out, now=NOW)
    snap.write_bytes(old)  # a snapshot the state no longer names
    E.edit_body_tail(E.posts(src)[5], "stale")
    build(src, out, now=NOW)
    oracle(src, out, tmp_path)
    snap.write_bytes(b"garbage")
    E.edit_body_tail(E.posts(src)[6], "stale")
    build(src, out, now=NOW)
    oracle(src, out, tmp_path)


def test_noop_shortcut_respects_time(site_src: Path, tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    shutil.copytree(site_src, src)
    first = build(src, out, now=NOW)
    assert first.next_change is not None  # the synthetic site has future posts
    again = build(src, out, now=NOW)
    assert again.written == [] and again.rendered == 0 and again.outputs == first.outputs
    assert again.next_change == first.next_change
    # Earlier than the last build: a page published in between must disappear, not be kept.
    back = build(src, out, now=NOW - timedelta(days=30))
    oracle(src, out, tmp_path, NOW - timedelta(days=30))
    assert back.written or back.deleted
    # Past the next scheduled change: the future post appears.
    later = first.next_change + timedelta(seconds=1)
    res = build(src, out, now=later)
    assert res.written
    oracle(src, out, tmp_path, later)
    # Options are inputs too.
    res = build(src, out, now=later, build_drafts=True)
    assert res.written
    oracle_drafts = tmp_path / "drafts"
    build(src, oracle_drafts, now=later, build_drafts=True)
    assert tree(out) == tree(oracle_drafts)


_PROBE = """
import sys
from datetime import datetime
from ripple.site import Builder
res = Builder(sys.argv[1], sys.argv[2]).build(now=datetime.fromisoformat(sys.argv[3]))
heavy = sorted(m for m in ("jinja2", "markdown_it", "markdown_it_pyrs", "pygments", "ripple.site.pipeline",
                           "ripple.site.content", "ripple.site.templates", "rich") if m in sys.modules)
print(res.model, len(res.written), ",".join(heavy))
"""


def test_a_build_that_finds_nothing_changed_loads_no_page_model_or_template_engine(
    site_src: Path, tmp_path: Path
) -> None:
    # A no-op and a re-upload of identical bytes end after the scan, in a new process that never
    # imports the page model, Jinja, markdown or rich (what kept a 10k-post no-op above 0.2 s).
    src, out = tmp_path / "src", tmp_path / "out"
    shutil.copytree(site_src, src)
    build(src, out, now=NOW)

    def probe() -> list[str]:
        r = subprocess.run(
            [sys.executable, "-c", _PROBE, str(src), str(out), NOW.isoformat()], capture_output=True, text=True
        )
        assert r.returncode == 0, r.stderr
        return r.stdout.split()

    assert probe() == ["unchanged", "0"]
    E.touch_same(E.posts(src)[3])  # E0: new mtime, same bytes
    assert probe() == ["unchanged", "0"]
    E.edit_body_tail(E.posts(src)[3], "probe")
    model, written, heavy = probe()
    assert (model, written) == ("reused", "1") and "ripple.site.pipeline" in heavy.split(",")
    oracle(src, out, tmp_path)


def test_library_versions_read_from_files_are_the_imported_ones() -> None:
    # The env digest names each rendering library by a version read from its files, not imported:
    # it must be the version the library reports, or an upgrade could go unnoticed.
    import importlib

    from ripple.site.index import _version

    for name in ("jinja2", "markdown_it", "mdit_py_plugins", "markdown_it_pyrs", "pygments"):
        assert _version(name) == importlib.import_module(name).__version__


def test_progress_is_reported_for_a_full_build_and_never_for_a_noop(site_src: Path, tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    shutil.copytree(site_src, src)
    seen: list[tuple[int, int]] = []
    res = build(src, out, now=NOW, progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, 0)  # at once, before the total is known
    total = seen[-1][1]
    assert seen[-1] == (total, total) and 0 < total <= res.outputs
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    seen.clear()
    build(src, out, now=NOW, progress=lambda done, total: seen.append((done, total)))
    assert seen == []


def test_snapshot_round_trips_the_model(site_src: Path, tmp_path: Path) -> None:
    """The snapshot (pages stored column by column) loads back into the model that was saved: every
    slot of every page, links between pages as the same pages, and the site's lists."""
    from ripple.site import snapshot
    from ripple.site.builder import SNAPSHOT_FILE, Builder
    from ripple.site.content import Page

    out = tmp_path / "out"
    with Builder(site_src, out) as b:
        assert b.build(now=NOW).full
        saved = b._model
        stamp = b._state.get_meta("model_stamp")
    assert saved is not None and stamp
    parts = snapshot.load(out / ".ripple" / SNAPSHOT_FILE, stamp)
    assert parts is not None
    site, old = parts["site"], saved.site

    def ident(v: object) -> object:
        if isinstance(v, Page):
            return ("page", v.id)
        if isinstance(v, list) and v and isinstance(v[0], Page):
            return ("pages", [p.id for p in v])
        return v

    assert [p.id for p in site.pages] == [p.id for p in old.pages]
    for new_p, old_p in zip(site.pages, old.pages, strict=True):
        assert new_p.site is site
        for s in Page.__slots__:
            if s == "site":
                continue
            a, b_ = getattr(new_p, s), getattr(old_p, s)
            if s == "source":
                assert (a and (a.path, a.fm)) == (b_ and (b_.path, b_.fm))
            else:
                assert ident(a) == ident(b_), (new_p.id, s)
        for s in snapshot._REFS:  # links point into the loaded page list, not to copies
            v = getattr(new_p, s)
            assert v is None or site.by_id[v.id] is v
    assert [p.id for p in site.regular_pages] == [p.id for p in old.regular_pages]
    assert {k: [p.id for p in v] for k, v in site.taxonomies.items()} == {
        k: [p.id for p in v] for k, v in old.taxonomies.items()
    }
    assert site.home.id == old.home.id and site.home is site.by_id[old.home.id]
    assert {k: {t: p.id for t, p in v.items()} for k, v in site.term_index.items()} == {
        k: {t: p.id for t, p in v.items()} for k, v in old.term_index.items()
    }


def _loaded(src: Path, out: Path):
    """(the model a build saved, the snapshot of it loaded back as a new process would)."""
    from ripple.site import snapshot
    from ripple.site.builder import SNAPSHOT_FILE, Builder

    with Builder(src, out) as b:
        b.build(now=NOW)
        saved = b._model
        stamp = b._state.get_meta("model_stamp")
    parts = snapshot.load(out / ".ripple" / SNAPSHOT_FILE, stamp)
    assert saved is not None and parts is not None
    return saved, parts


def test_snapshot_lazy_slots_load_once_and_keep_later_writes(site_src: Path, tmp_path: Path) -> None:
    """A page's rarely read slots come from the snapshot at the first read of any of them, all at
    once; a slot written after that (as the model's patching does, loading the page first) stays."""
    from ripple.site import snapshot

    saved, parts = _loaded(site_src, tmp_path / "out")
    site = parts["site"]
    old = next(p for p in saved.site.pages if p.kind == "page" and p.params)
    post = site.by_id[old.id]
    assert {"lastmod", "params", "publish_date"} <= set(snapshot._LAZY)
    assert site.lazy.load_page(post) and not site.lazy.load_page(post)  # pending once, then loaded
    post.lastmod = NOW
    assert post.publish_date == old.publish_date and post.params == old.params
    assert post.lastmod == NOW
    # Another page is untouched by that load, and loads on its own first read.
    other = next(p for p in site.pages if p.kind == "page" and p is not post)
    assert other.lastmod == saved.site.by_id[other.id].lastmod
    assert not site.lazy.load_page(other)
    # A page's front matter is its source's, unpickled with it; a page without a source has none.
    assert post.fm == old.fm and post.fm is post.source.fm and post.source.path == old.source.path
    assert site.home.source is None or site.home.file
    with pytest.raises(AttributeError, match="no_such_slot"):
        post.no_such_slot  # noqa: B018 - not a slot: still an AttributeError


def test_snapshot_sources_unpickle_only_what_is_looked_up(site_src: Path, tmp_path: Path) -> None:
    """The loaded sources: keys, ``in`` and ``len`` cost no unpickling; a lookup unpickles that one
    source once; setting and deleting work for loaded and unloaded sources alike."""
    from ripple.site.content import Source

    saved, parts = _loaded(site_src, tmp_path / "out")
    srcs = parts["sources"]
    assert sorted(srcs) == sorted(saved.sources) and len(srcs) == len(saved.sources)
    assert list(srcs.loaded()) == []
    first, second, third = sorted(srcs)[:3]
    assert first in srcs and "no/such.md" not in srcs
    got = srcs[first]
    assert isinstance(got, Source) and got.path == first and srcs[first] is got
    assert list(srcs.loaded()) == [got]
    del srcs[first]  # a loaded one
    del srcs[second]  # one never unpickled
    assert first not in srcs and second not in srcs and len(srcs) == len(saved.sources) - 2
    with pytest.raises(KeyError):
        srcs["no/such.md"]
    with pytest.raises(KeyError):
        del srcs["no/such.md"]
    srcs[third] = got  # replacing an unpickled one: the new value wins
    assert srcs[third] is got and len(srcs) == len(saved.sources) - 2


def test_rows_reading_finds_exactly_the_rows_with_an_id() -> None:
    """The substring search for rows that read a changed key agrees with decoding every row, for
    ids at the start, middle and end of a list, lone ids, and ids that are prefixes of others."""
    import itertools

    import orjson

    from ripple.site.pipeline import _rows_reading
    from ripple.site.state import OutputRow

    lists = [[], [1], [12], [1, 2, 3], [3, 21, 121], [7, 70, 700], [2], [121, 1], [5, 12, 7], []]
    rows = {f"o{i}": OutputRow(b"", "", orjson.dumps(ids), "") for i, ids in enumerate(lists)}
    for n in (1, 2, 3):
        for ids in itertools.combinations([1, 2, 3, 7, 12, 21, 70, 121, 700, 9], n):
            want = {p for p, r in rows.items() if not set(ids).isdisjoint(orjson.loads(r.deps))}
            assert _rows_reading(rows, set(ids)) == want, ids


@settings(max_examples=300, deadline=None)
@given(
    lists=st.lists(
        st.one_of(st.lists(st.integers(0, 400), max_size=6), st.sampled_from(["bad", None, b"[1,2"])), max_size=12
    ),
    ids=st.sets(st.integers(0, 400), min_size=1, max_size=80),
)
def test_naming_agrees_with_decoding_every_list(lists, ids) -> None:
    """state.naming (joined substring search up to FEW_IDS ids, one regex per list above) finds
    exactly the lists holding one of ``ids``, and every list it cannot read."""
    import orjson

    from ripple.site.state import naming

    blobs = [orjson.dumps(x) if isinstance(x, list) else x for x in lists]
    want = {i for i, x in enumerate(lists) if not isinstance(x, list) or not ids.isdisjoint(x)}
    assert naming(blobs, ids) == want


@pytest.mark.parametrize(
    "command",
    [["-m", "ripple.site"], ["-c", "from ripple.cli import run; run()", "site"]],
    ids=["python -m ripple.site", "ripple site"],
)
def test_cli_leaves_the_state_whole_after_a_bulk_build(site_src: Path, tmp_path: Path, command: list[str]) -> None:
    """``python -m ripple.site build`` and the ``ripple site build`` console command leave without
    closing the state (os._exit); after a full build the write-ahead log is folded back anyway, so
    ``site.db`` copied alone holds every output row (and the next, small build does not pay for
    folding a large log). What they print comes out whole."""
    import sqlite3

    src, out = tmp_path / "src", tmp_path / "out"
    shutil.copytree(site_src, src)
    done = subprocess.run(
        [sys.executable, *command, "build", str(src), str(out), "--now", NOW.isoformat()],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert "full build: " in done.stdout and done.stdout.endswith("(rebuild then)\n")  # all of it
    wal = out / ".ripple" / "site.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    alone = tmp_path / "alone.db"
    shutil.copyfile(out / ".ripple" / "site.db", alone)
    db = sqlite3.connect(alone)
    try:
        (n,) = db.execute("SELECT count(*) FROM outputs").fetchone()
    finally:
        db.close()
    assert n == sum(1 for p in out.rglob("*") if p.is_file() and ".ripple" not in p.parts)


def test_unchanged_front_matter_is_reused_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A body edit keeps the earlier parse of an identical front matter block (YAML or TOML, with
    or without a BOM); a changed block is parsed anew, and a broken one is still an error."""
    from ripple.site import frontmatter
    from ripple.site.errors import BuildError

    def parse_all(text: str) -> tuple[str, dict]:
        fm, _, line = frontmatter.split(text, file="content/a.md")
        return "\n".join(text.split("\n")[: line - 1]), fm

    for v1, v2, changed in (
        (
            "---\ntitle: A\ntags: [x]\n---\nold body\n",
            "---\ntitle: A\ntags: [x]\n---\nnew body\nmore\n",
            "---\ntitle: B\n---\nx",
        ),
        ('+++\ntitle = "A"\n+++\nold body', '+++\ntitle = "A"\n+++\nnew body', '+++\ntitle = "B"\n+++\nx'),
        ("\ufeff---\ntitle: A\n---\nold", "\ufeff---\ntitle: A\n---\nnew body", "\ufeff---\ntitle: B\n---\nx"),
    ):
        known = parse_all(v1)
        with monkeypatch.context() as m:
            m.setattr(frontmatter, "load_yaml", None)  # any parse would fail
            m.setattr(frontmatter, "load_toml", None)
            fm, body, line = frontmatter.split(v2, file="content/a.md", known=known)
        assert fm is known[1] and body.startswith("new body") and line == v2.count("\n", 0, v2.index("new")) + 1
        fm, _, _ = frontmatter.split(changed, file="content/a.md", known=known)
        assert fm == {"title": "B"}
    with pytest.raises(BuildError, match="invalid YAML"):
        frontmatter.split("---\ntitle: [A\n---\nbody", file="content/a.md", known=known)


def test_warm_builder_follows_builds_by_another_process(site_src: Path, tmp_path: Path) -> None:
    """A Builder keeps the state's tables, stored partials and page model in memory between builds;
    when another process builds the same site in between, the next warm build must not trust them
    (feed items re-rendered by the other build, outputs it wrote)."""
    from ripple.site.builder import Builder

    src, out = tmp_path / "src", tmp_path / "out"
    shutil.copytree(site_src, src)
    with Builder(src, out) as b:
        b.build(now=NOW)
        E.edit_body_head(E.posts(src)[-1], "warm one")  # a newest post's summary: its feed items change
        b.build(now=NOW)
        oracle(src, out, tmp_path)
        E.retitle(E.posts(src)[-1], "Retitled elsewhere")
        build(src, out, now=NOW)  # another process (another connection) builds meanwhile
        E.edit_body_head(E.posts(src)[-2], "warm two")
        res = b.build(now=NOW)
        assert not res.full
        oracle(src, out, tmp_path)
        E.retitle(E.posts(src)[-1], "Retitled back")  # undo the other build's title: its items again
        b.build(now=NOW)
        oracle(src, out, tmp_path)


def test_warm_builder_reuses_runs_of_feed_items_only_while_exact(
    site_src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A warm Builder keeps runs of feed items assembled from stored partials (templates.RUN_ITEMS,
    4 here). They serve the next build's feeds rendered whole (their lists moved; an edit of items
    alone splices them), and never once an item in them changed, a list moved over them, or
    another process built in between."""
    from ripple.site import templates
    from ripple.site.builder import Builder

    monkeypatch.setattr(templates, "RUN_ITEMS", 4)
    src, out = tmp_path / "src", tmp_path / "out"
    shutil.copytree(site_src, src)
    posts = E.posts(src)
    with Builder(src, out) as b:
        b.build(now=NOW)
        E.unpublish(posts[20])  # feeds re-rendered from stored items: runs kept
        b.build(now=NOW)
        runs = b._state.runs
        assert len(runs) > 0
        oracle(src, out, tmp_path)
        hits = runs.hits
        E.unpublish(posts[30])
        b.build(now=NOW)
        assert runs.hits > hits  # the feeds' items newer than it came as runs
        oracle(src, out, tmp_path)
        recent = (NOW - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        for edit in [
            lambda: E.edit_body_head(posts[31], "three"),  # inside a kept run
            lambda: E.retitle(posts[21], "Runs retitled"),
            lambda: E.unpublish(posts[22]),  # every later run of the feeds moves
            lambda: E.add_post(src, "runs-newest", recent),  # every run moves
            lambda: E.edit_config_title(src, "Runs Blog"),  # a new model; items unchanged
        ]:
            edit()
            b.build(now=NOW)
            oracle(src, out, tmp_path)
        E.edit_body_head(posts[25], "elsewhere")
        build(src, out, now=NOW)  # another process: the runs must not survive it
        E.edit_body_head(posts[26], "four")
        b.build(now=NOW)
        oracle(src, out, tmp_path)


def test_a_builder_for_one_build_can_still_build_again(site_src: Path, tmp_path: Path) -> None:
    """``once=True`` (the command line) keeps nothing in memory after its commit; a second build by
    the same Builder reads the state back and is still a clean build's, incrementally."""
    from ripple.site.builder import Builder

    src, out = tmp_path / "src", tmp_path / "out"
    shutil.copytree(site_src, src)
    with Builder(src, out, once=True) as b:
        assert b.build(now=NOW).full
        assert b._state._outputs is None and b._state._files is None  # dropped, not refreshed
        E.retitle(E.posts(src)[2], "Built twice")
        second = b.build(now=NOW)
        assert not second.full and 0 < second.rendered < 50
    oracle(src, out, tmp_path)
