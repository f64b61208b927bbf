"""Content-addressed bodies: small ones inline in the database, large ones in the blob folder.

A body is named by its SHA-256, never by the user's key, so no key can address a path. Bodies up to
``INLINE_MAX`` bytes live in the ``blobs`` table (SQLite reads and writes small values faster than
the file system does); larger ones stream through a temporary file into ``blobs/ab/cdef...``, in
chunks, never whole in memory. ``refs`` counts the objects using a body; at zero the row goes, and
its file is unlinked after the commit. Files orphaned by a crash are removed by ``gc()``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ripple.errors import ValidationError
from ripple.store.embedded.db import Database

INLINE_MAX = 64 * 1024
CHUNK = 1024 * 1024
_counter = itertools.count()

Body = bytes | bytearray | memoryview | str | IO[bytes] | Iterable[bytes]


@dataclass(slots=True)
class Ingested:
    """A body read and hashed, not yet part of any transaction."""

    sha256: str
    md5: str
    size: int
    data: bytes | None  # inline bodies
    tmp: Path | None  # large bodies, waiting to be linked into place


class BlobFolder:
    def __init__(self, folder: Path):
        self.root = folder / "blobs"
        self.tmpdir = self.root / "tmp"
        self.tmpdir.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:]

    # -- writing ----------------------------------------------------------------------------------

    def ingest(self, body: Body) -> Ingested:
        """Hash ``body`` (bytes, str, a binary file object or an iterable of bytes chunks).

        Raises ValidationError for other types. Large bodies are spooled to a temporary file.
        """
        if isinstance(body, str):
            body = body.encode("utf-8")
        if isinstance(body, bytes | bytearray | memoryview):
            data = body if type(body) is bytes else bytes(body)  # bytes are immutable: no copy
            if len(data) <= INLINE_MAX:
                return Ingested(hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest(), len(data), data, None)
            return self._spool(iter((data,)))
        if hasattr(body, "read"):
            return self._spool(_chunks(body))  # type: ignore[arg-type]
        if isinstance(body, Iterable):
            return self._spool(iter(body))
        raise ValidationError(f"object body must be bytes, str, a binary file or chunks, not {type(body).__name__}")

    def _spool(self, chunks: Iterator[bytes]) -> Ingested:
        sha, md5 = hashlib.sha256(), hashlib.md5()
        size = 0
        head = bytearray()
        tmp: Path | None = None
        f: IO[bytes] | None = None
        try:
            for chunk in chunks:
                if not isinstance(chunk, bytes | bytearray | memoryview):
                    raise ValidationError(f"body chunks must be bytes, not {type(chunk).__name__}")
                sha.update(chunk)
                md5.update(chunk)
                size += len(chunk)
                if f is None:
                    head += chunk
                    if len(head) > INLINE_MAX:
                        tmp = self.tmpdir / f"{os.getpid()}-{next(_counter)}"
                        f = open(tmp, "wb")  # noqa: SIM115 - closed in finally
                        f.write(head)
                        head = bytearray()
                else:
                    f.write(chunk)
        except BaseException:
            if f is not None:
                f.close()
            if tmp is not None:
                with contextlib.suppress(OSError):
                    tmp.unlink()
            raise
        if f is not None:
            f.close()
            return Ingested(sha.hexdigest(), md5.hexdigest(), size, None, tmp)
        return Ingested(sha.hexdigest(), md5.hexdigest(), size, bytes(head), None)

    def attach(self, con: sqlite3.Connection, ing: Ingested) -> int:
        """Inside a write transaction: take one reference to the body, storing it if new.

        Moving the temp file into place happens under the write lock, so ``gc()`` (which also runs
        under it) can never unlink a file that a committing object is about to point at.
        """
        if ing.tmp is not None:
            final = self.path(ing.sha256)
            if not final.exists():
                final.parent.mkdir(exist_ok=True)
                os.replace(ing.tmp, final)
        # A new body is the common case, and a plain insert is the cheapest statement for it; an
        # identical body already stored takes one more reference instead.
        cur = con.execute(
            "INSERT OR IGNORE INTO blobs(hash, size, refs, data) VALUES(?,?,1,?)", (ing.sha256, ing.size, ing.data)
        )
        if cur.rowcount == 1:
            return cur.lastrowid  # type: ignore[return-value]
        return con.execute("UPDATE blobs SET refs=refs+1 WHERE hash=? RETURNING id", (ing.sha256,)).fetchone()[0]

    def discard(self, ing: Ingested) -> None:
        """Drop the temp file of an ingested body (after commit, or when the write failed)."""
        if ing.tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                ing.tmp.unlink()

    def release(self, con: sqlite3.Connection, blob_id: int) -> str | None:
        """Inside a write transaction: drop one reference. Returns the hash of a file body that is
        now unreferenced; the caller removes it after commit (``remove_if_unreferenced``)."""
        con.execute("UPDATE blobs SET refs=refs-1 WHERE id=?", (blob_id,))
        row = con.execute("SELECT hash, data IS NULL FROM blobs WHERE id=? AND refs<=0", (blob_id,)).fetchone()
        if row is None:
            return None
        con.execute("DELETE FROM blobs WHERE id=?", (blob_id,))
        return row[0] if row[1] else None

    def unlink(self, sha256: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(sha256).unlink()

    def remove_if_unreferenced(self, db: Database, sha256: str) -> None:
        """After the commit that released a file body: unlink it, unless another writer has taken
        the same body since. The check and the unlink happen under the write lock, where ``attach``
        also runs, so a put of the same bytes can never commit against a file about to vanish."""
        with db.write() as con:
            if con.execute("SELECT 1 FROM blobs WHERE hash=?", (sha256,)).fetchone() is None:
                self.unlink(sha256)

    # -- reading ----------------------------------------------------------------------------------

    def open(self, sha256: str) -> IO[bytes]:
        return open(self.path(sha256), "rb")

    # -- collection -------------------------------------------------------------------------------

    def gc(self, con: sqlite3.Connection) -> dict[str, int]:
        """Inside a write transaction: remove unreferenced rows, files without a row, and temp
        files left by processes that no longer exist. Returns counts of what was removed."""
        removed = {"rows": 0, "files": 0, "tmp": 0, "bytes": 0}
        for blob_id, sha, is_file in con.execute("SELECT id, hash, data IS NULL FROM blobs WHERE refs<=0").fetchall():
            con.execute("DELETE FROM blobs WHERE id=?", (blob_id,))
            removed["rows"] += 1
            if is_file:
                self.unlink(sha)
        known = {h for (h,) in con.execute("SELECT hash FROM blobs WHERE data IS NULL")}
        for sub in self.root.iterdir():
            if sub.name == "tmp" or not sub.is_dir():
                continue
            for f in sub.iterdir():
                if sub.name + f.name not in known:
                    removed["bytes"] += f.stat().st_size
                    f.unlink()
                    removed["files"] += 1
        for f in self.tmpdir.iterdir():
            pid = f.name.split("-", 1)[0]
            if not pid.isdigit() or not _alive(int(pid)):
                f.unlink()
                removed["tmp"] += 1
        return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _chunks(f: IO[bytes]) -> Iterator[bytes]:
    read = f.read
    while True:
        chunk = read(CHUNK)
        if not chunk:
            return
        yield chunk


class RangeReader(io.RawIOBase):
    """A read-only window ``[start, start+length)`` over a file; closes the file when closed."""

    def __init__(self, f: IO[bytes], start: int, length: int):
        self._f = f
        self._left = length
        f.seek(start)

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._left <= 0:
            return 0
        n = self._f.readinto(memoryview(b)[: min(len(b), self._left)])  # type: ignore[attr-defined]
        self._left -= n or 0
        return n or 0

    def close(self) -> None:
        self._f.close()
        super().close()
