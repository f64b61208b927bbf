"""ripple: reactive functions on your own machines, the AWS Lambda model without AWS."""

from __future__ import annotations

from ripple import errors
from ripple.client import Bucket, Client, Stream, Table, Topic, connect
from ripple.errors import RippleError
from ripple.store.base import Change, ObjectInfo, Page

__version__ = "0.1.0"

__all__ = [
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
]
