"""ripple's HTTP server: website buckets today; later the S3, DynamoDB and Lambda APIs and a dashboard.

One ASGI app (starlette) routes each request by its ``Host`` header to one *part*: a request for
``<bucket>.localhost[:port]`` goes to website hosting, anything else to a plain 404 (docs/http.md,
docs/decisions/0300-http-host-routing.md). It needs the ``http`` extra (``pip install 'ripple[http]'``).

The names below load lazily (PEP 562), so ``import ripple.http`` does not import starlette or uvicorn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {
    "ServerHandle": "ripple.http.server",
    "create_app": "ripple.http.server",
    "serve_in_thread": "ripple.http.server",
}

__all__ = ["ServerHandle", "create_app", "serve_in_thread"]

if TYPE_CHECKING:
    from ripple.http.server import ServerHandle, create_app, serve_in_thread


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ripple.http' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
