"""The source index: which files a site's source folder holds and which changed since the last build
(stat first, then content hash), and the digests that say whether anything else a build depends on
changed (the config file, ripple's built-in templates, the rendering libraries).

Kept free of the page model, the template engine and markdown, so that a build that finds nothing
changed (a no-op, a re-upload of identical bytes) is decided without importing them.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ripple.site.tracking import digest, digest_bytes

#: the version of the rules that turn sources into outputs; a new one makes the next build a full one
FORMAT = b"ripple-site-1"
#: the content files (others under content/ are page resources, copied as they are)
CONTENT_EXTS = (".md", ".markdown")
#: the site config's file names, looked for in this order
CONFIG_NAMES = (
    "hugo.toml",
    "hugo.yaml",
    "hugo.yml",
    "hugo.json",
    "config.toml",
    "config.yaml",
    "config.yml",
    "config.json",
)


def find_config(src: Path) -> Path | None:
    for name in CONFIG_NAMES:
        p = src / name
        if p.is_file():
            return p
    return None


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


_VERSION = re.compile(r"""^__version__\s*=\s*["']([^"']+)["']""", re.M)


def _version(module: str) -> str:
    # The version line of the package's __init__, read rather than imported: importing markdown-it,
    # Pygments and Jinja costs ~80 ms that a build which renders nothing can skip. A package whose
    # version lives in compiled code (markdown-it-pyrs: a 4 MB library to load) is named by its
    # installed metadata's folder beside it, ``<name>-<version>.dist-info``.
    spec = importlib.util.find_spec(module)
    if spec is not None and spec.origin:
        try:
            with open(spec.origin, encoding="utf-8") as f:
                m = _VERSION.search(f.read())
        except OSError:
            m = None
        if m:
            return m.group(1)
        if spec.submodule_search_locations:
            site = os.path.dirname(os.path.dirname(spec.origin))
            prefix = module + "-"
            try:
                found = [n for n in os.listdir(site) if n.startswith(prefix) and n.endswith(".dist-info")]
            except OSError:
                found = []
            if len(found) == 1:
                return found[0][len(prefix) : -len(".dist-info")]
    return str(importlib.import_module(module).__version__)


def env_digest() -> bytes:
    """A digest of the rule version and of every library whose version decides what a page renders to."""
    # Both markdown engines (decisions/0109): their versions name what a post renders to.
    engines = [_version(m) for m in ("jinja2", "markdown_it", "mdit_py_plugins", "markdown_it_pyrs", "pygments")]
    return digest([FORMAT.decode(), *engines])


def internal_digests() -> dict[str, bytes]:
    """Built-in template name (``_internal/...``) -> digest of its bytes."""
    from ripple.site.layouts import internal_templates

    return {n: digest_bytes(p.read_bytes()) for n, p in internal_templates().items()}
