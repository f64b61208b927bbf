"""The function runtime: sandboxes (warm worker processes), their limits, logs and invocation records.

The pool is the entry point; everything else is its machinery::

    from ripple.runtime import Pool

    with Pool(app, state=".ripple") as pool:
        result = pool.invoke("resize", {"key": "a.png"})

This package's ``__init__`` stays import-light on purpose: the template process that sandboxes fork from
imports ``ripple.runtime.worker`` and nothing of the pool.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ripple.runtime.pool import InvocationResult, Pool
    from ripple.runtime.records import InvocationRecord, LogLine, RecordStore, SqliteRecordStore

__all__ = ["InvocationRecord", "InvocationResult", "LogLine", "Pool", "RecordStore", "SqliteRecordStore"]


def __getattr__(name: str) -> Any:
    if name in ("Pool", "InvocationResult"):
        from ripple.runtime import pool

        return getattr(pool, name)
    if name in ("InvocationRecord", "LogLine", "RecordStore", "SqliteRecordStore"):
        from ripple.runtime import records

        return getattr(records, name)
    raise AttributeError(name)
