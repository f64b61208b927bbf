"""The source scan: every file under the source folders with its size, mtime and content hash,
read from several threads when there are many (a first build), with the same result."""

from __future__ import annotations

from pathlib import Path

import pytest
from site_helpers import write

from ripple.site import index, sources
from ripple.site.errors import BuildError


def _tree(root: Path, n: int) -> None:
    write(root, {f"content/posts/p{i:03d}.md": f"---\ntitle: P{i}\n---\nbody {i}\n" for i in range(n)})
    write(root, {"layouts/_default/single.html": "{{ page.title }}", "static/a.txt": "a"})


def test_threaded_reads_hash_every_file_as_one_reader_does(tmp_path: Path, monkeypatch) -> None:
    _tree(tmp_path, 60)
    one = index.scan(tmp_path, {}, None, False)
    monkeypatch.setattr(index, "THREADED_READS", 2)  # 62 files: four threads
    many = index.scan(tmp_path, {}, None, False)
    assert list(many) == list(one) and len(one) == 62  # the same paths in the same order
    assert {p: f.hash for p, f in many.items()} == {p: f.hash for p, f in one.items()}
    assert len({f.hash for f in many.values()}) == 62  # every file's own hash, none left empty
    # A file that changed since: only it is read again, by size and mtime.
    (tmp_path / "content/posts/p007.md").write_text("---\ntitle: changed\n---\n")
    again = index.scan(tmp_path, {p: (f.size, f.mtime, f.hash) for p, f in many.items()}, None, False)
    assert [p for p in again if again[p].hash != many[p].hash] == ["content/posts/p007.md"]


def test_a_read_failing_in_a_reader_thread_raises_in_the_caller(tmp_path: Path, monkeypatch) -> None:
    _tree(tmp_path, 20)
    real = index.digest_bytes

    def digest(data: bytes) -> bytes:
        if b"body 13" in data:
            raise OSError("cannot read p013")
        return real(data)

    monkeypatch.setattr(index, "digest_bytes", digest)
    monkeypatch.setattr(index, "THREADED_READS", 2)
    with pytest.raises(OSError, match="p013"):
        index.scan(tmp_path, {}, None, False)


def test_a_full_build_hashes_content_files_as_it_parses_them(tmp_path: Path) -> None:
    """defer_content leaves content files' hashes to load_sources, which must record the hashes a
    plain scan gives (the next build compares with them), in both the serial and the two-process
    parse, and hash every other file itself."""
    from ripple.site import parallel

    _tree(tmp_path, parallel.MIN_ITEMS + 5)
    plain = index.scan(tmp_path, {}, None, False)
    for folder in (None, tmp_path):  # one process; two (with a folder for the child's results)
        deferred = index.scan(tmp_path, {}, None, False, defer_content=True)
        assert [p for p, f in deferred.items() if not f.hash] == [p for p in plain if p.startswith("content/")]
        srcs, cache = sources.load_sources(tmp_path, deferred, lambda p, h: None, folder=folder)
        assert {p: f.hash for p, f in deferred.items()} == {p: f.hash for p, f in plain.items()}
        assert {p: v[0] for p, v in cache.items()} == {p: f.hash for p, f in plain.items() if p.startswith("content/")}
        assert srcs["posts/p003.md"].fm["title"] == "P3"


def test_a_content_file_that_cannot_be_read_is_a_build_error_naming_it(tmp_path: Path) -> None:
    _tree(tmp_path, 3)
    files = index.scan(tmp_path, {}, None, False, defer_content=True)
    (tmp_path / "content/posts/p001.md").unlink()  # gone between the scan and the parse
    with pytest.raises(BuildError) as e:
        sources.load_sources(tmp_path, files, lambda p, h: None)
    assert e.value.file == "content/posts/p001.md" and "cannot read" in str(e.value)
