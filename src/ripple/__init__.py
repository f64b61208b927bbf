"""ripple: reactive functions on your own machines, the AWS Lambda model without AWS.

The public API is loaded lazily (PEP 562), so ``import ripple`` stays cheap for the CLI, worker
processes and ``ripple.errors`` users; each name is imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ripple import errors
from ripple.errors import RippleError

__version__ = "0.1.0"

_LAZY = {
    "App": "ripple.app",
    "Bucket": "ripple.client",
    "Client": "ripple.client",
    "Stream": "ripple.client",
    "Table": "ripple.client",
    "Topic": "ripple.client",
    "connect": "ripple.client",
    "Change": "ripple.store.base",
    "ObjectInfo": "ripple.store.base",
    "Page": "ripple.store.base",
    "item_from_image": "ripple.store.values",
    "item_size": "ripple.store.values",
}

__all__ = [
    "App",
    "Bucket",
    "Change",
    "Client",
    "ObjectInfo",
    "Page",
    "RippleError",
    "Stream",
    "Table",
    "Topic",
    "__version__",
    "connect",
    "errors",
    "item_from_image",
    "item_size",
]

if TYPE_CHECKING:
    from ripple.app import App
    from ripple.client import Bucket, Client, Stream, Table, Topic, connect
    from ripple.store.base import Change, ObjectInfo, Page
    from ripple.store.values import item_from_image, item_size


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ripple' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
