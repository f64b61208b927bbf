"""Website buckets over HTTP, with S3 static website hosting semantics (docs/http.md).

The bucket comes from the Host header (``hosts.HostRoute`` put it in ``path_params``); the key is
the request path percent-decoded once, without its leading slash, and is only ever looked up in
that bucket of the store. Keys never name files: bodies live in SQLite or under their SHA-256, so
``..``, ``%2f`` or a backslash in a path are just characters of a key.

Store calls block (SQLite, files), so each request resolves in one call on the server's thread pool
(connection.py). Bodies stream in chunks from the store's body stream, never whole in memory; the
chunk reads touch only a file or a buffer, so they may use anyio's worker threads.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import formatdate, parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote_to_bytes

import anyio
import anyio.to_thread
from starlette.datastructures import Headers
from starlette.types import Receive, Scope, Send

from ripple.errors import InvalidKey, InvalidRange, NoSuchBucket, NoSuchKey, ValidationError
from ripple.http.connection import StoreConnection
from ripple.store.base import ObjectBody, ObjectInfo
from ripple.store.names import check_key

if TYPE_CHECKING:
    from ripple.client import Bucket, Client

CHUNK = 256 * 1024
STORE_DEFAULT_TYPE = "binary/octet-stream"  # what the store records when a put gave no content type
_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")
_PRINTABLE = re.compile(r"^[\x20-\x7e]*$")
# Characters left as they are in a redirect's Location; everything else is percent-encoded, so a
# key cannot inject a header, a scheme or a backslash (which browsers read as a slash).
_LOCATION_SAFE = "/!$&'()*+,;=:@~"


@dataclass
class Reply:
    """One response, decided in a worker thread and sent by the event loop. ``body`` is bytes or an
    open ObjectBody (streamed, then closed); ``send_body`` is False for HEAD."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | ObjectBody = b""
    send_body: bool = True

    def close(self) -> None:
        if isinstance(self.body, ObjectBody):
            self.body.close()


class _BadPath(Exception):
    pass


class _Unsatisfiable(Exception):
    def __init__(self, info: ObjectInfo):
        self.info = info


class WebsiteApp:
    """The ASGI app serving website buckets from the server's StoreConnection."""

    def __init__(self, store: StoreConnection):
        self._store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        bucket: str = scope["path_params"]["bucket"]
        # raw_path keeps the bytes as sent; scope["path"] was decoded already, with undecodable
        # bytes silently replaced, and the key must be decoded exactly once and strictly.
        raw_path = scope.get("raw_path") or quote(scope["path"]).encode("ascii")
        headers = Headers(scope=scope)
        method = scope["method"]
        reply = await self._store.call(lambda c: resolve(c, bucket, method, raw_path, headers), abandoned=Reply.close)
        await send_reply(reply, receive, send)


# --- deciding the response (in a worker thread) ----------------------------------------------------


def resolve(client: Client, bucket: str, method: str, raw_path: bytes, headers: Headers) -> Reply:
    """The response to ``method raw_path`` for website bucket ``bucket``. Never raises for a bad
    request (those become 4xx replies); store failures (StateError and the like) propagate."""
    head_only = method == "HEAD"
    try:
        site = client.store.bucket_info(bucket).website
    except NoSuchBucket:
        return text(404, f"404 Not Found: there is no bucket named {bucket!r}.", head_only)
    if site is None:
        return text(
            404,
            f"404 Not Found: bucket {bucket!r} is not a website bucket (it has no website configuration).",
            head_only,
        )
    if method not in ("GET", "HEAD"):
        return text(405, f"405 Method Not Allowed: website buckets serve GET and HEAD, not {method}.", False,
                    [("Allow", "GET, HEAD")])  # fmt: skip
    try:
        path = decode_path(raw_path)
    except _BadPath as e:
        return text(400, f"400 Bad Request: {e}", head_only)
    index = site.get("index") or "index.html"
    key = path + index if path == "" or path.endswith("/") else path
    try:
        check_key(key)
    except InvalidKey as e:
        return text(400, f"400 Bad Request: {e}", head_only)
    b = client.bucket(bucket)
    rng = parse_range(headers.get("range"))
    try:
        body = _open(b, key, rng, headers.get("if-range") if rng is not None else None)
    except _Unsatisfiable as u:
        if not_modified(u.info, headers):  # preconditions come before the range (RFC 9110 §13.2.2)
            return _not_modified_reply(u.info)
        return text(416, f"416 Range Not Satisfiable: the object is {u.info.size} bytes.", head_only,
                    [("Content-Range", f"bytes */{u.info.size}")])  # fmt: skip
    except NoSuchBucket:  # deleted while we looked
        return text(404, f"404 Not Found: there is no bucket named {bucket!r}.", head_only)
    except NoSuchKey:
        # S3: "/dir" with no object "dir" but an index document "dir/index.html" redirects to "/dir/".
        if path and not path.endswith("/") and _exists(b, f"{path}/{index}"):
            return Reply(302, [("Location", location_for(path + "/")), ("Content-Length", "0")])
        return _not_found(b, site.get("error"), key, head_only)
    return _object_reply(body, headers, head_only)


def decode_path(raw_path: bytes) -> str:
    """The request path, percent-decoded once as UTF-8, without its one leading slash (S3's key).
    Raises _BadPath for a target that is not an absolute path (``*``, ``http://host/...``) or that
    does not decode to UTF-8."""
    if not raw_path.startswith(b"/"):
        raise _BadPath("the request target must be a path starting with '/' (absolute URLs are not served)")
    try:
        return unquote_to_bytes(raw_path[1:]).decode("utf-8")
    except UnicodeDecodeError:
        raise _BadPath("the path does not percent-decode to UTF-8") from None


def parse_range(value: str | None) -> tuple[int, int | None] | str | None:
    """One ``bytes=`` range, in the form the store takes; None when absent or not a single valid
    range, which is then ignored and the whole object served (RFC 9110 §14.2; S3 does the same
    for multiple ranges)."""
    if value is None:
        return None
    m = _RANGE_RE.match(value.strip().replace(" ", ""))
    if m is None:
        return None
    first, last = m.group(1), m.group(2)
    if first == "":
        return None if last == "" else f"bytes=-{int(last)}"
    if last != "" and int(last) < int(first):
        return None
    return int(first), int(last) if last else None


def _open(b: Bucket, key: str, rng: tuple[int, int | None] | str | None, if_range: str | None) -> ObjectBody:
    """Open ``key`` (ranged when ``rng`` and If-Range allow it). Raises NoSuchKey, NoSuchBucket,
    _Unsatisfiable."""
    try:
        body = b.get(key, range=rng)
    except InvalidRange:
        info = b.head(key)
        if if_range is not None and not if_range_matches(if_range, info):
            return b.get(key)  # the client's copy is stale: it gets the whole new object
        raise _Unsatisfiable(info) from None
    if rng is not None and if_range is not None and not if_range_matches(if_range, body.info):
        body.close()
        return b.get(key)
    return body


def _exists(b: Bucket, key: str) -> bool:
    try:
        b.head(key)
    except (NoSuchKey, ValidationError):
        return False
    return True


def _not_found(b: Bucket, error_key: str | None, key: str, head_only: bool) -> Reply:
    """404 with the bucket's error document (its body and content type) if it has one that
    exists, else a small plain page."""
    if error_key:
        try:
            doc = b.get(error_key)
        except (NoSuchKey, ValidationError):
            pass
        else:
            headers = [("Content-Type", content_type(doc.info)), ("Content-Length", str(doc.info.size))]
            if head_only:
                doc.close()
                return Reply(404, headers, b"", send_body=False)
            return Reply(404, headers, doc)
    return text(404, f"404 Not Found: no object {key!r} in this website bucket.", head_only)


def _object_reply(body: ObjectBody, headers: Headers, head_only: bool) -> Reply:
    info = body.info
    if not_modified(info, headers):
        body.close()
        return _not_modified_reply(info)
    out = [
        ("Content-Type", content_type(info)),
        ("ETag", info.etag),
        ("Last-Modified", http_date(info.last_modified)),
        ("Accept-Ranges", "bytes"),
    ]
    out += [(f"x-amz-meta-{k}", v) for k, v in info.metadata.items() if _PRINTABLE.match(v)]
    status, length = 200, info.size
    if body.content_range is not None:
        first, last, total = body.content_range
        status, length = 206, last - first + 1
        out.append(("Content-Range", f"bytes {first}-{last}/{total}"))
    out.append(("Content-Length", str(length)))
    if head_only:
        body.close()
        return Reply(status, out, b"", send_body=False)
    return Reply(status, out, body)


def _not_modified_reply(info: ObjectInfo) -> Reply:
    return Reply(304, [("ETag", info.etag), ("Last-Modified", http_date(info.last_modified))], b"", send_body=False)


# --- HTTP details ------------------------------------------------------------------------------------


def text(status: int, message: str, head_only: bool, extra: list[tuple[str, str]] | None = None) -> Reply:
    """A small plain-text page (ripple's own errors), never sniffed as HTML."""
    data = (message + "\n").encode("utf-8")
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("X-Content-Type-Options", "nosniff"),
        ("Content-Length", str(len(data))),
        *(extra or []),
    ]
    return Reply(status, headers, b"" if head_only else data, send_body=not head_only)


def content_type(info: ObjectInfo) -> str:
    """The stored content type; when the put gave none (the store's default) or it cannot go in a
    header, a guess from the key's extension."""
    ctype = info.content_type
    if ctype == STORE_DEFAULT_TYPE or not _PRINTABLE.match(ctype):
        guessed, _ = mimetypes.guess_type(info.key, strict=False)
        return guessed or STORE_DEFAULT_TYPE
    return ctype


def http_date(ts: float) -> str:
    """RFC 9110 IMF-fixdate, e.g. ``Sun, 06 Nov 1994 08:49:37 GMT`` (whole seconds)."""
    return formatdate(int(ts), usegmt=True)


def parse_http_date(value: str) -> int | None:
    """Epoch seconds of an HTTP date, or None when it does not parse (the header is then ignored)."""
    try:
        dt = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if dt.tzinfo is None:  # "-0000" parses as naive: HTTP dates are always GMT
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp())


def not_modified(info: ObjectInfo, headers: Headers) -> bool:
    """If-None-Match (weak comparison, ``*`` matches) else If-Modified-Since: True → 304."""
    inm = headers.get("if-none-match")
    if inm is not None:
        tags = [t.strip() for t in inm.split(",")]
        return any(t == "*" or t.removeprefix("W/") == info.etag for t in tags)
    ims = headers.get("if-modified-since")
    if ims is not None:
        since = parse_http_date(ims)
        return since is not None and int(info.last_modified) <= since
    return False


def if_range_matches(value: str, info: ObjectInfo) -> bool:
    """If-Range: an entity tag must match strongly, a date exactly; otherwise the range is dropped."""
    value = value.strip()
    if value.startswith(('"', "W/")):
        return value == info.etag
    when = parse_http_date(value)
    return when is not None and when == int(info.last_modified)


def location_for(path: str) -> str:
    """The Location for a redirect to the key ``path``: its URL path, percent-encoded, and never
    starting with ``//`` (which a browser would read as another host): a leading slash of the key
    is sent as ``%2F``, which decodes back to the same key."""
    encoded = quote(path, safe=_LOCATION_SAFE)
    if encoded.startswith("/"):
        encoded = "%2F" + encoded[1:]
    return "/" + encoded


# --- sending (on the event loop) -------------------------------------------------------------------


async def send_reply(reply: Reply, receive: Receive, send: Send) -> None:
    """Send ``reply``; a body stream is read in chunks in worker threads, stops when the client
    disconnects, and is always closed."""
    stream = reply.body if isinstance(reply.body, ObjectBody) else None
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers]
    try:
        await send({"type": "http.response.start", "status": reply.status, "headers": raw})
        if stream is None or not reply.send_body:
            body = reply.body if isinstance(reply.body, bytes) and reply.send_body else b""
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return
        async with anyio.create_task_group() as tg:
            # The server drops writes to a closed connection silently, so watch for the disconnect
            # or a client that goes away would still have the whole object read for nothing.
            async def watch() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                tg.cancel_scope.cancel()

            tg.start_soon(watch)
            while chunk := await anyio.to_thread.run_sync(stream.read, CHUNK):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            tg.cancel_scope.cancel()
    finally:
        if stream is not None:
            stream.close()
