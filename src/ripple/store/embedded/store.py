"""The embedded backend: one state folder, SQLite (WAL) plus a content-addressed blob folder."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path

from ripple.errors import NotFound
from ripple.store.embedded.blobs import BlobFolder
from ripple.store.embedded.changelog import DEFAULT_RETENTION_S, EmbeddedChangeLog
from ripple.store.embedded.db import Database, ensure_folder, translate
from ripple.store.embedded.notify import Notifier
from ripple.store.embedded.objects import EmbeddedObjects
from ripple.store.embedded.records import EmbeddedRecords
from ripple.store.embedded.tables import EmbeddedTables


class EmbeddedStore(EmbeddedObjects, EmbeddedTables, EmbeddedRecords):
    """All four backend contracts over one state folder. Safe to share between threads; any number
    of processes may open the same folder at once.

    ``clock`` returns epoch seconds; the test harness passes a virtual one. ``retention_s`` is how
    long bucket, table and topic change records are kept (streams keep their own retention).
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        clock: Callable[[], float] = time.time,
        durability: str = "normal",
        retention_s: float = DEFAULT_RETENTION_S,
    ):
        self.folder = Path(folder)
        ensure_folder(self.folder)
        self._clock = clock
        self._db = Database(self.folder, durability=durability)
        try:
            self._blobs = BlobFolder(self.folder)
            self._notifier = Notifier(self.folder)
        except OSError as e:
            self._db.close()
            raise translate(e, self.folder) from e
        self.log = EmbeddedChangeLog(self._db, self._notifier, clock)
        self._log = self.log
        self.retention_s = retention_s
        self.log.retention_for = self._retention_for
        self._stream_retention: dict[str, float] = {}

    def _retention_for(self, source: str) -> float:
        if source.startswith("stream:"):
            name = source[7:]
            if name not in self._stream_retention:
                with contextlib.suppress(NotFound):  # a deleted stream's records use the default
                    self._stream_retention[name] = self.describe_stream(name).retention_s
            return self._stream_retention.get(name, self.retention_s)
        return self.retention_s

    def gc(self) -> dict[str, int]:
        """Collect unreferenced blobs and files orphaned by crashes. Returns what was removed."""
        with self._db.write() as con:
            return self._blobs.gc(con)

    def stats(self) -> dict[str, int]:
        con = self._db.con
        q = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "buckets": q("SELECT COUNT(*) FROM buckets"),
            "objects": q("SELECT COUNT(*) FROM objects"),
            "blobs": q("SELECT COUNT(*) FROM blobs"),
            "tables": q("SELECT COUNT(*) FROM tables"),
            "items": q("SELECT COUNT(*) FROM items"),
            "streams": q("SELECT COUNT(*) FROM streams"),
            "topics": q("SELECT COUNT(*) FROM topics"),
            "changes": q("SELECT COUNT(*) FROM changes"),
            "latest": self.log.latest(),
        }

    def close(self) -> None:
        self._notifier.close()
        self._db.close()

    def __enter__(self) -> EmbeddedStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
