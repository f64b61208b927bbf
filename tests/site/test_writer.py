"""Speed-ups that must not change a byte: writing outputs (in place, and from a forked writer while
the state commits), ``partial_each``, and counting words without building the plain text."""

from __future__ import annotations

import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
import site_edits as E
from site_helpers import NOW, oracle, synth, tree, write

from ripple.site import build, parallel, writer
from ripple.site.rendered import plain_text, word_count

N = 40


@pytest.fixture(scope="module")
def site_src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth().make(N, tmp_path_factory.mktemp("writer"), ("ripple",))["ripple"]


def test_write_all_overwrites_in_place_and_cuts_to_length(tmp_path: Path) -> None:
    writer.write_all(tmp_path, {"a/index.html": b"x" * 5000, "b.xml": b"short"})
    ino = (tmp_path / "a" / "index.html").stat().st_ino
    writer.write_all(tmp_path, {"a/index.html": b"new", "b.xml": b"a longer text"})
    assert (tmp_path / "a" / "index.html").read_bytes() == b"new"
    assert (tmp_path / "b.xml").read_bytes() == b"a longer text"
    assert (tmp_path / "a" / "index.html").stat().st_ino == ino  # the same file, rewritten


def test_new_files_make_their_folders_and_replace_what_was_there(tmp_path: Path) -> None:
    # Outputs the writer takes for new: deep folders with no file of their own on the way, and a
    # file someone else left where an output goes (longer than the output: it must be cut).
    (tmp_path / "left").mkdir()
    (tmp_path / "left" / "index.html").write_bytes(b"x" * 9000)
    files = {
        "a/b/c/d/index.html": b"deep",
        "left/index.html": b"short",
        "posts/page/2/index.html": b"p2",
        "posts/page/10/index.html": b"p10",
        "posts-x/index.html": b"a sibling that sorts between posts and posts/",
        "index.html": b"home",
    }
    writer.write_all(tmp_path, files)
    assert {p: (tmp_path / p).read_bytes() for p in files} == files
    # An output folder that is not there yet (the state kept elsewhere) is made too.
    writer.write_all(tmp_path / "new" / "out", files)
    assert {p: (tmp_path / "new" / "out" / p).read_bytes() for p in files} == files
    # A file where a folder must go: the error names it, as opening the output would.
    (tmp_path / "blocked").write_bytes(b"")
    with pytest.raises(NotADirectoryError, match="blocked"):
        writer.write_all(tmp_path, {"blocked/index.html": b"x"})


def test_many_rewrites_spread_over_threads_write_every_byte(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(writer, "REWRITE_CHUNK", 3)  # 40 rewrites: 14 chunks over the threads
    first = {f"p{i}/index.html": b"old %d " % i * (i * 50) for i in range(40)}
    writer.write_all(tmp_path, first)
    inodes = {p: (tmp_path / p).stat().st_ino for p in first}
    # Longer, shorter and empty rewrites of existing files, plus new files beside them.
    second = {p: (b"new %d" % i) * ((i * 37) % 90) for i, p in enumerate(first)}
    second |= {f"fresh/{i}.xml": b"<x>%d</x>" % i for i in range(5)}
    writer.write_all(tmp_path, second, existing=first)
    assert {p: (tmp_path / p).read_bytes() for p in second} == second
    assert all((tmp_path / p).stat().st_ino == ino for p, ino in inodes.items())  # rewritten in place


def test_a_failed_threaded_rewrite_raises(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(writer, "REWRITE_CHUNK", 2)
    files = {f"p{i}/index.html": b"x" for i in range(12)}
    writer.write_all(tmp_path, files)
    # Where an output goes, a folder is in the way: opening it for writing fails in its thread.
    (tmp_path / "p7" / "index.html").unlink()
    (tmp_path / "p7" / "index.html").mkdir()
    with pytest.raises(IsADirectoryError, match="p7"):
        writer.write_all(tmp_path, {p: b"y" for p in files}, existing=files)
    assert threading.active_count() == 1  # every thread stopped: the next build may fork


def _dirty(out: Path) -> bytes:
    db = sqlite3.connect(out / ".ripple" / "site.db")
    try:
        return db.execute("SELECT v FROM meta WHERE k='dirty'").fetchone()[0]
    finally:
        db.close()


@pytest.mark.skipif(not parallel.available(), reason="needs fork, 2 CPUs and a single thread")
def test_forked_writer_builds_what_the_plain_path_does(site_src: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(writer, "FORK_MIN_FILES", 10**9)
    build(site_src, tmp_path / "plain", now=NOW)
    monkeypatch.setattr(writer, "FORK_MIN_FILES", 1)
    res = build(site_src, tmp_path / "forked", now=NOW)
    assert res.timings.get("write") is not None
    assert tree(tmp_path / "plain") == tree(tmp_path / "forked")
    assert _dirty(tmp_path / "forked") == b"0"


@pytest.mark.parametrize("how", ["spawned", "forked", "here"])
def test_write_failure_leaves_state_dirty(site_src: Path, tmp_path: Path, monkeypatch, how: str) -> None:
    if how == "forked" and not parallel.available():
        pytest.skip("needs fork, 2 CPUs and a single thread")
    if how == "spawned" and not writer.can_spawn():
        pytest.skip("needs memfd_create and posix_spawn")
    src = tmp_path / "src"
    shutil.copytree(site_src, src)
    out = tmp_path / "out"
    build(src, out, now=NOW)
    # A new post whose output folder cannot be made: a plain file sits where its folder goes. The
    # failure happens in the writer process (or before the rows, in this one), and is raised when
    # the commit waits for it, after the state's rows were inserted.
    E.add_post(src, "blocked", "2026-11-27T11:00:00Z")
    (out / "posts" / "blocked").write_text("in the way")
    monkeypatch.setattr(writer, "SPAWN_MIN_FILES", 1 if how == "spawned" else 10**9)
    monkeypatch.setattr(writer, "FORK_MIN_FILES", 1 if how == "forked" else 10**9)
    with pytest.raises(OSError, match="blocked"):
        build(src, out, now=NOW)
    assert _dirty(out) == b"1"  # rolled back to the dirty mark set before writing
    (out / "posts" / "blocked").unlink()
    res = build(src, out, now=NOW)
    assert res.full  # a dirty state makes the next build a full one
    oracle(src, out, tmp_path)


@pytest.mark.skipif(not writer.can_spawn(), reason="needs memfd_create and posix_spawn")
def test_spawned_writer_writes_rewrites_and_deletes_as_the_plain_path(
    site_src: Path, tmp_path: Path, monkeypatch
) -> None:
    src = tmp_path / "src"
    shutil.copytree(site_src, src)
    monkeypatch.setattr(writer, "SPAWN_MIN_FILES", 1)
    monkeypatch.setattr(writer, "REWRITE_CHUNK", 4)  # the spawned writer's rewrites go out threaded
    out = tmp_path / "out"
    spawned = []
    real = writer.OutputWriter._spawn
    monkeypatch.setattr(writer.OutputWriter, "_spawn", lambda self: spawned.append(self.out) or real(self))
    build(src, out, now=NOW)  # every output new
    oracle(src, out, tmp_path)
    E.edit_layout(src, "partials/sidebar.html", "spawned")  # every page rewritten in place
    res = build(src, out, now=NOW)
    assert len(res.written) > 40
    oracle(src, out, tmp_path)
    E.unpublish(E.posts(src)[5])  # its page deleted, lists rewritten
    res = build(src, out, now=NOW)
    assert res.deleted and not any((out / p).exists() for p in res.deleted)
    oracle(src, out, tmp_path)
    assert spawned.count(out) == 3 and _dirty(out) == b"0"  # clean builds spawn one each too
    assert threading.active_count() == 1


@pytest.mark.skipif(not writer.can_spawn(), reason="needs memfd_create and posix_spawn")
def test_a_writer_that_cannot_be_spawned_leaves_the_writing_to_the_build(
    site_src: Path, tmp_path: Path, monkeypatch
) -> None:
    def refused(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted", "posix_spawn")  # as a sandbox's limit would

    monkeypatch.setattr(writer, "SPAWN_MIN_FILES", 1)
    monkeypatch.setattr(writer.os, "posix_spawn", refused)
    res = build(site_src, tmp_path / "out", now=NOW)
    assert len(res.written) > 40 and _dirty(tmp_path / "out") == b"0"
    monkeypatch.undo()
    oracle(site_src, tmp_path / "out", tmp_path)


@pytest.mark.skipif(
    not (writer.can_spawn() and parallel.available()), reason="needs memfd_create, posix_spawn and fork"
)
def test_both_render_processes_spool_their_outputs_for_the_spawned_writer(
    site_src: Path, tmp_path: Path, monkeypatch
) -> None:
    # A split render: the forked renderer's outputs go into the second memory file, never back
    # through its results, and the writer maps both. What it writes must be a clean build's bytes.
    src = tmp_path / "src"
    shutil.copytree(site_src, src)
    monkeypatch.setattr(parallel, "MIN_ITEMS", 2)
    monkeypatch.setattr(writer, "SPAWN_MIN_FILES", 1)
    handed = []
    real = writer.OutputWriter._spawn

    def spawn(self: writer.OutputWriter) -> None:
        handed.append({p: v[0] if isinstance(v, tuple) else "bytes" for p, v in self.files.items()})
        real(self)

    monkeypatch.setattr(writer.OutputWriter, "_spawn", spawn)
    out = tmp_path / "out"
    build(src, out, now=NOW)
    E.edit_layout(src, "partials/sidebar.html", "spooled")
    res = build(src, out, now=NOW)
    assert len(res.written) > 40
    assert len(handed) == 2  # the full build's and the rewrite's
    oracle(src, out, tmp_path)
    for files in handed[:2]:
        # Each rendered output went into its own process's file; only static files come as bytes.
        assert list(files.values()).count(0) > 5 and list(files.values()).count(1) > 5
        assert all((src / "static" / p).is_file() for p, v in files.items() if v == "bytes")


@pytest.mark.skipif(
    not (writer.can_spawn() and parallel.available()), reason="needs memfd_create, posix_spawn and fork"
)
@pytest.mark.parametrize("spawn", [True, False])
def test_outputs_the_spool_cannot_take_stay_in_memory(site_src: Path, tmp_path: Path, monkeypatch, spawn) -> None:
    # A memory file that refuses some writes (no memory left for it): those outputs keep their
    # bytes, the rest are read back from the spool when no writer process can be had.
    src = tmp_path / "src"
    shutil.copytree(site_src, src)
    monkeypatch.setattr(parallel, "MIN_ITEMS", 2)
    monkeypatch.setattr(writer, "SPAWN_MIN_FILES", 1)
    calls = [0]
    real_pwrite = writer._pwrite_fully

    def pwrite(fd: int, data: bytes, at: int) -> None:
        calls[0] += 1
        if calls[0] % 3 == 0:
            raise OSError(28, "No space left on device")
        real_pwrite(fd, data, at)

    monkeypatch.setattr(writer, "_pwrite_fully", pwrite)
    if not spawn:
        monkeypatch.setattr(writer.os, "posix_spawn", lambda *a, **k: (_ for _ in ()).throw(PermissionError(1, "no")))
    out = tmp_path / "out"
    res = build(src, out, now=NOW)
    assert len(res.written) > 40 and _dirty(out) == b"0"
    monkeypatch.undo()
    oracle(src, out, tmp_path)


def test_spool_reads_back_what_each_side_put(tmp_path: Path) -> None:
    spool = writer.Spool.open()
    if spool is None:
        pytest.skip("needs memfd_create")
    try:
        a = spool.put(b"first output")
        spool.as_side(1)
        b = spool.put(b"")
        c = spool.put(b"x" * 70000)
        spool.as_side(0)  # after what side 0 holds already
        d = spool.put(b"last")
        assert (a, b, c, d) == ((0, 0, 12), (1, 0, 0), (1, 0, 70000), (0, 12, 16))
        assert [spool.read(r) for r in (a, b, c, d)] == [b"first output", b"", b"x" * 70000, b"last"]
    finally:
        spool.close()


def test_partial_each_matches_the_template_loop(tmp_path: Path) -> None:
    layouts = {
        "layouts/_default/baseof.html": "{% block main %}{% endblock %}",
        "layouts/partials/item.html": "<li>{{ page.title }}</li>",
        "layouts/partials/n.html": "[{{ ctx }}]",
    }
    content = {
        f"content/posts/p{i}.md": f"---\ntitle: P{i}\ndate: 2026-01-0{i + 1}\n---\nText {i}.\n" for i in range(4)
    }
    base = {"config.toml": 'baseURL = "https://x.org/"\ntitle = "T"\n', **content, **layouts}
    loop = (
        "{% for p in page.pages %}, {{ partial('item.html', p) }}{% endfor %}|"
        "{% for i in [1, 2] %}{{ partial('n.html', i) }}{% endfor %}"
    )
    each = "{{ partial_each('item.html', page.pages, ', ') }}|{{ partial_each('n.html', [1, 2]) }}"
    for name, body in (("loop", loop), ("each", each)):
        write(tmp_path / name, {**base, "layouts/_default/list.html": body, "layouts/_default/single.html": "s"})
        build(tmp_path / name, tmp_path / f"{name}-out", now=NOW)
    assert tree(tmp_path / "loop-out") == tree(tmp_path / "each-out")
    assert b"<li>P3</li>, <li>P2</li>" in (tmp_path / "each-out" / "posts" / "index.html").read_bytes()
    # The reads are recorded as the loop records them: a retitle reaches the list, incrementally.
    src = tmp_path / "each"
    E.retitle(src / "content" / "posts" / "p2.md", "Renamed")
    res = build(src, tmp_path / "each-out", now=NOW)
    assert "posts/index.html" in res.written
    assert b"<li>Renamed</li>" in (tmp_path / "each-out" / "posts" / "index.html").read_bytes()
    oracle(src, tmp_path / "each-out", tmp_path)


def test_partial_each_escapes_a_plain_separator(tmp_path: Path) -> None:
    write(
        tmp_path / "s",
        {
            "config.toml": 'baseURL = "https://x.org/"\ntitle = "T"\n',
            "content/posts/a.md": "---\ntitle: A\n---\nx\n",
            "layouts/_default/single.html": "{{ partial_each('n.html', [1, 2], '<b>') }}",
            "layouts/_default/list.html": "l",
            "layouts/partials/n.html": "{{ ctx }}",
        },
    )
    build(tmp_path / "s", tmp_path / "o", now=NOW)
    assert (tmp_path / "o" / "posts" / "a" / "index.html").read_bytes() == b"&lt;b&gt;1&lt;b&gt;2"


@pytest.mark.parametrize(
    "html",
    ["", "  ", "<p>a</p><p>b</p>", "a&nbsp;b", "x &amp; y", "a\u2003b", "a&#32;b&#x2028;c", "<b>x</b>y\n\tz &lt;w&gt;"],
)
def test_word_count_is_that_of_the_plain_text(html: str) -> None:
    assert word_count(html) == len(plain_text(html).split())
