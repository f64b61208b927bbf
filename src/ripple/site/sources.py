"""Reading the source folder: which files exist, which changed (stat first, then content hash), the
parsed front matter of content files (cached by hash) and the data files."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ripple.site.content import CONTENT_EXTS, Source
from ripple.site.errors import BuildError
from ripple.site.frontmatter import load_json, load_toml, load_yaml, split
from ripple.site.state import dumps
from ripple.site.tracking import digest_bytes

DIRS = ("content", "layouts", "data", "static")


@dataclass(slots=True)
class FileInfo:
    size: int
    mtime: int
    hash: bytes


def _walk(root: str, prefix: str, out: list[tuple[str, os.stat_result]]) -> None:
    # scandir, not os.walk + os.stat: one stat per file and no per-entry path joins in Python (10k
    # files cost ~30 ms this way). Hidden entries and editor backups (``x~``) are skipped.
    try:
        it = os.scandir(root)
    except (FileNotFoundError, NotADirectoryError):
        return
    with it:
        entries = sorted(it, key=lambda e: e.name)
    for e in entries:
        name = e.name
        if name.startswith("."):
            continue
        if e.is_dir():
            if not e.is_symlink():  # as os.walk: a linked folder is neither entered nor a file
                _walk(e.path, f"{prefix}{name}/", out)
        elif not name.endswith("~"):
            out.append((prefix + name, e.stat()))


def scan(
    src: Path,
    previous: dict[str, tuple[int, int, bytes]],
    hint: set[str] | None,
    verify: bool,
    *,
    defer_content: bool = False,
) -> dict[str, FileInfo]:
    """Every source file (``content/...``, ``layouts/...``, ``data/...``, ``static/...``) with its hash.

    A file whose size and mtime match the last build keeps its recorded hash unless it is in
    ``hint`` or ``verify`` is set; everything else is read and hashed, so a missing hint costs
    time, never correctness of what changed content-wise.

    ``defer_content`` (a full build, which parses every content file anyway): content files to be
    read are left with an empty hash, for :func:`load_sources` to fill as it parses them, and only
    their readahead is started here: each is then read once, by the two parsing processes, while
    the disk serves the rest (a 10k-post scan with a cold page cache spent ~1 s waiting on reads
    that the parse then repeated from the cache).
    """
    files: dict[str, FileInfo] = {}
    base = os.fspath(src)
    to_read: list[str] = []
    for d in DIRS:
        found: list[tuple[str, os.stat_result]] = []
        _walk(os.path.join(base, d), d + "/", found)
        # Sorted by path as a whole (``a/b`` before ``a-c``), as the index always was.
        found.sort(key=lambda x: x[0])
        for path, st in found:
            prev = previous.get(path)
            if (
                prev
                and not verify
                and prev[0] == st.st_size
                and prev[1] == st.st_mtime_ns
                and not (hint and path in hint)
            ):
                files[path] = FileInfo(st.st_size, st.st_mtime_ns, prev[2])
            else:
                files[path] = FileInfo(st.st_size, st.st_mtime_ns, b"")
                to_read.append(path)
    if defer_content:
        deferred = [p for p in to_read if p.startswith("content/") and p.endswith(CONTENT_EXTS)]
        if deferred:
            readahead(base, deferred)
            skip = set(deferred)
            to_read = [p for p in to_read if p not in skip]
    for path, h in _hashes(base, to_read).items():
        files[path].hash = h
    return files


#: files to hash from which several threads read at once
THREADED_READS = 512
READ_THREADS = 4


def _hashes(base: str, paths: list[str]) -> dict[str, bytes]:
    """path -> digest of its bytes. Many files (a first build) are read from a few threads: with a
    cold page cache each read waits on the disk, and a few reads in flight at once made the scan of
    a first build at 10k posts 0.44 s against 0.75 s one at a time (16 threads were slower than
    4). Raises the first OSError met. The threads are gone when this returns (a build forks only
    without other threads)."""

    def read(chunk: list[str], out: dict[str, bytes]) -> None:
        for path in chunk:
            with open(os.path.join(base, path), "rb") as f:
                out[path] = digest_bytes(f.read())

    out: dict[str, bytes] = {}
    if len(paths) < THREADED_READS:
        read(paths, out)
    else:
        from ripple.site.writer import in_threads

        readahead(base, paths)

        strides = [paths[i::READ_THREADS] for i in range(READ_THREADS)]
        in_threads(READ_THREADS, strides, lambda c: read(c, out), "ripple-site-read")
    return out


def readahead(base: str, paths: list[str]) -> None:
    """Queue the kernel's readahead of every file ``paths`` names under ``base``
    (``POSIX_FADV_WILLNEED``, which returns at once): the disk then serves many requests together,
    not the one or four that readers have in flight. Files that cannot be opened are skipped (their
    reader reports them). A no-op where the call does not exist (macOS)."""
    # A first build's scan at 10k posts with a cold page cache: 1.42-1.50 s -> 0.82-0.99 s.
    # (Advising from a thread beside the readers was slower: 1.28-1.47 s.)
    advise = getattr(os, "posix_fadvise", None)
    if advise is None:
        return
    for path in paths:
        try:
            fd = os.open(os.path.join(base, path), os.O_RDONLY)
        except OSError:
            continue
        try:
            advise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
        finally:
            os.close(fd)


def read_source(src: Path, rel: str, known: tuple[str, dict[str, Any]] | None = None) -> Source:
    """Parse one content file; raises :class:`BuildError` with file and line for bad front matter.

    ``known``: (front matter text, front matter) of an earlier parse of this file, whose front
    matter is reused, not parsed again, if the text is unchanged (see :func:`frontmatter.split`)."""
    return _parse(rel, _read(src, rel), known)


def _read(src: Path, rel: str) -> bytes:
    try:
        return (src / "content" / rel).read_bytes()
    except OSError as e:
        raise BuildError(f"cannot read: {e.strerror or e}", file=f"content/{rel}") from None


def _read_hashed(src: Path, rel: str) -> tuple[Source, bytes]:
    data = _read(src, rel)
    return _parse(rel, data), digest_bytes(data)


def _parse(rel: str, data: bytes, known: tuple[str, dict[str, Any]] | None = None) -> Source:
    file = f"content/{rel}"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BuildError(f"not UTF-8 text: {e.reason}", file=file) from None
    text = text.replace("\r\n", "\n")
    fm, body, body_line = split(text, file=file, known=known)
    fm_text = "\n".join(text.split("\n")[: max(0, body_line - 1)])
    return Source(rel, fm, body, body_line, fm_text)


def scan_changed(src: Path, previous: dict[str, tuple[int, int, bytes]], changed: set[str]) -> dict[str, FileInfo]:
    """The file index from the last build with only ``changed`` paths re-read (deleted ones dropped).

    For callers that know exactly what changed (the blog app reconciles its bucket against its
    mirror); walking and stat-ing every file is what it saves. Paths outside the source folders
    are ignored."""
    files = {p: FileInfo(*v) for p, v in previous.items() if p not in changed}
    for path in changed:
        if path.split("/", 1)[0] not in DIRS or "/" not in path:
            continue
        full = os.path.join(src, path)
        try:
            st = os.stat(full)
            with open(full, "rb") as f:
                data = f.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            continue
        files[path] = FileInfo(st.st_size, st.st_mtime_ns, digest_bytes(data))
    # The order scan() yields: by source folder, then by path.
    groups: dict[str, list[str]] = {d: [] for d in DIRS}
    for p in files:
        groups[p.split("/", 1)[0]].append(p)
    return {p: files[p] for d in DIRS for p in sorted(groups[d])}


def load_sources(
    src: Path,
    files: dict[str, FileInfo],
    cached: Callable[[str, bytes], Any | None],
    *,
    folder: Path | None = None,
) -> tuple[dict[str, Source], dict[str, tuple[bytes, bytes]]]:
    """Content sources by path (relative to content/), re-parsing only files whose hash changed.

    ``cached(path, hash)`` returns the stored parse of a file with that hash, or None. Returns the
    sources and ``path -> (hash, b"")`` for every content file (see :func:`parse_rows`); bodies of
    cached files are loaded lazily (``Source.body`` is ``None`` until needed). With ``folder`` (for
    a temporary file) many files are parsed in two processes. Raises :class:`BuildError` for the
    first file, in path order, that cannot be parsed.
    """
    sources: dict[str, Source | None] = {}
    new_cache: dict[str, tuple[bytes, bytes]] = {}
    todo: list[str] = []
    for path, info in files.items():
        if not path.startswith("content/") or not path.endswith(CONTENT_EXTS):
            continue
        rel = path[len("content/") :]
        hit = cached(path, info.hash) if info.hash else None
        if hit is not None:
            fm, fm_text, body_line, fields, fields_config = hit
            sources[rel] = Source(rel, fm, None, body_line, fm_text, fields, fields_config, dirty=False)
        else:
            sources[rel] = None  # parsed below; the placeholder keeps the files' order
            todo.append(rel)
        new_cache[path] = (info.hash, b"")
    parsed = _parse_many(src, todo, [files["content/" + rel].size for rel in todo], folder)
    for rel, (source, h) in zip(todo, parsed, strict=True):
        sources[rel] = source
        # The hash of the bytes parsed (a deferred one, see scan, is filled in here).
        path = "content/" + rel
        files[path].hash = h
        new_cache[path] = (h, b"")
    return sources, new_cache  # type: ignore[return-value]


def _parse_many(src: Path, rels: list[str], sizes: list[int], folder: Path | None) -> list[tuple[Source, bytes]]:
    """``read_source`` of each of ``rels`` with the hash of the bytes read, some of them in a forked
    child when there are many (a full build of 10k files spends ~1 s here, reading and parsing
    front matter)."""
    from ripple.site import parallel

    if folder is not None and len(rels) >= parallel.MIN_ITEMS and parallel.available():
        try:
            results, theirs, extra = parallel.split_map(
                rels,
                lambda rel: _read_hashed(src, rel),
                weights=sizes,
                child_result=lambda out: out,
                folder=folder,
            )
        except BuildError:
            pass  # parsed again below, in order, so the error names the first bad file
        else:
            for i, s in zip(theirs, extra, strict=True):
                results[i] = s
            return results
    return [_read_hashed(src, rel) for rel in rels]


def parse_rows(
    sources: dict[str, Source], cache: dict[str, tuple[bytes, bytes]]
) -> tuple[dict[str, tuple[bytes, bytes]], dict[str, Any]]:
    """The parse cache rows to store: re-pickled for sources parsed or re-derived this build, empty
    (meaning "unchanged, keep the stored row") for the rest; and the re-pickled parses unpickled,
    by path, for the state's in-memory copy."""
    out = dict(cache)
    decoded: dict[str, Any] = {}
    for rel, s in sources.items():
        if s.dirty:
            path = "content/" + rel
            parse = (s.fm, s.text, s.body_line, s.fields, s.fields_config)
            out[path] = (cache[path][0], dumps(parse))
            decoded[path] = parse
    return out, decoded


def load_data(src: Path, files: dict[str, FileInfo]) -> dict[str, Any]:
    """``data/**/*.{yaml,yml,toml,json}`` as nested mappings (``data/a/b.yaml`` is ``data.a.b``).

    Raises :class:`BuildError` with file and line for unparsable files.
    """
    data: dict[str, Any] = {}
    for path in files:
        if not path.startswith("data/"):
            continue
        rel = path[len("data/") :]
        stem, _, ext = rel.rpartition(".")
        if ext not in ("yaml", "yml", "toml", "json"):
            continue
        text = (src / path).read_text("utf-8")
        if ext == "toml":
            value = load_toml(text, file=path)
        elif ext == "json":
            value = load_json(text, file=path)
        else:
            value = load_yaml(text, file=path)
        node = data
        parts = stem.split("/")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = _plain(value)
    return data


def _plain(v: Any) -> Any:
    # Data is hashed canonically; keep only JSON-like values (dates become ISO strings).
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return v
