"""Routing by the ``Host`` header: each part of the server (website hosting now; later the S3,
DynamoDB and Lambda APIs and the dashboard) claims the host names it serves with a ``HostRoute``.

Only the Host header decides: the request path never selects a part or a bucket, so no path, however
encoded, can reach another bucket (docs/decisions/0300-http-host-routing.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import ASGIApp, Receive, Scope, Send

from ripple.errors import InvalidBucketName
from ripple.store.names import check_bucket_name

DEFAULT_SUFFIXES = ("localhost",)

# A DNS name (letters, digits, dots, hyphens; underscores tolerated) or a bracketed IPv6 literal,
# then an optional port. Anything else (userinfo, paths, spaces, non-ASCII) is not a host we serve.
_HOST_RE = re.compile(r"^(?P<name>[a-z0-9._-]+|\[[0-9a-f:.]+\])(?::(?P<port>[0-9]{1,5}))?$")
_SUFFIX_RE = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)*$")


def request_host(scope: Scope) -> str | None:
    """The request's host name from its one ``Host`` header: lowercased, without the port or a
    trailing dot. None when the header is missing, repeated or malformed."""
    values = [v for k, v in scope.get("headers", ()) if k == b"host"]
    if len(values) != 1:  # two Host headers are ambiguous: refuse rather than pick one
        return None
    try:
        text = values[0].decode("ascii").strip().lower()
    except UnicodeDecodeError:
        return None
    m = _HOST_RE.match(text)
    if m is None:
        return None
    name = m.group("name")
    return name[:-1] if name.endswith(".") and not name.startswith("[") else name


def check_suffixes(suffixes: Iterable[str]) -> tuple[str, ...]:
    """Normalize host suffixes (``"localhost"``, ``"ripple.test"``): lowercase, no leading or
    trailing dot, longest first so ``a.b.test`` wins over ``b.test``. Raises ValueError for a
    suffix that is not a plain DNS name (a port, a scheme, a wildcard) or for an empty list."""
    out = []
    for s in suffixes:
        norm = s.strip().lower().strip(".") if isinstance(s, str) else ""
        if not _SUFFIX_RE.match(norm):
            raise ValueError(f"invalid host suffix {s!r}: give a DNS name such as 'localhost' or 'ripple.test'")
        out.append(norm)
    if not out:
        raise ValueError("at least one host suffix is needed (e.g. 'localhost')")
    return tuple(sorted(dict.fromkeys(out), key=len, reverse=True))


def bucket_from_host(host: str, suffixes: tuple[str, ...]) -> str | None:
    """``site.localhost`` → ``"site"`` (with suffix ``localhost``); None when ``host`` is not
    ``<valid bucket name>.<suffix>``."""
    for suffix in suffixes:
        if host.endswith("." + suffix):
            name = host[: -len(suffix) - 1]
            try:
                return check_bucket_name(name)
            except InvalidBucketName:
                return None
    return None


class HostRoute(BaseRoute):
    """A starlette route that claims HTTP requests by host name, whatever their path.

    ``match(host)`` returns the path parameters to pass on (e.g. ``{"bucket": "site"}``) or None
    when this part does not serve ``host``. The app sees the original, unmodified path.
    """

    def __init__(self, match: Callable[[str], dict[str, Any] | None], app: ASGIApp, *, name: str):
        self._match = match
        self.app = app
        self.name = name

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        host = request_host(scope)
        params = None if host is None else self._match(host)
        if params is None:
            return Match.NONE, {}
        return Match.FULL, {"path_params": {**scope.get("path_params", {}), **params}, "ripple.host": host}

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        raise NoMatchFound(name, path_params)  # host parts have no reversible paths

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
