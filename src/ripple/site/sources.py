"""Reading the source folder: which files exist, which changed (stat first, then content hash), the
parsed front matter of content files (cached by hash) and the data files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ripple.site.content import Source
from ripple.site.errors import BuildError
from ripple.site.frontmatter import load_json, load_toml, load_yaml, split
from ripple.site.index import CONTENT_EXTS, FileInfo
from ripple.site.state import dumps
from ripple.site.tracking import digest_bytes


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
