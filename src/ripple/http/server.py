"""The HTTP server: one starlette app that routes by Host header, served by uvicorn.

Parts today: website hosting (``<bucket>.localhost``, website.py). The S3, DynamoDB and Lambda APIs
and the dashboard join as further ``HostRoute``s in ``create_app`` (docs/decisions/
0300-http-host-routing.md). Requests no part claims get a plain 404 that says how to address a
website.

    handle = serve_in_thread("/path/to/state")      # port 0: a free port
    handle.url_for("my-site")                       # 'http://my-site.localhost:54321/'
    handle.close()
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocketClose

from ripple.client import Client
from ripple.config import state_path
from ripple.http.connection import StoreConnection
from ripple.http.hosts import DEFAULT_SUFFIXES, HostRoute, bucket_from_host, check_suffixes
from ripple.http.website import WebsiteApp, send_reply, text
from ripple.store.names import check_bucket_name

StateSource = Client | str | os.PathLike[str] | None


def _folder(source: StateSource) -> Path:
    if isinstance(source, Client):
        return Path(source.folder)
    return state_path(source)


def create_app(source: StateSource = None, *, host_suffixes: Sequence[str] = DEFAULT_SUFFIXES) -> Starlette:
    """The ASGI app serving ``source``'s website buckets (a Client, a state folder path, or None for
    ``$RIPPLE_STATE`` / ``./.ripple``) at ``http://<bucket>.<suffix>[:port]/`` for each host suffix.

    The app opens its own client on the folder at lifespan startup (or on the first request) and
    closes it at lifespan shutdown; it is ``app.state.ripple`` (a StoreConnection). A caller's
    Client is never used or closed, only its folder: the server's threads' SQLite connections are
    then its own and all close with it. Needs an asyncio server (uvicorn). Raises ValueError for an
    invalid host suffix.
    """
    suffixes = check_suffixes(host_suffixes)
    store = StoreConnection(_folder(source))

    def website_host(host: str) -> dict[str, str] | None:
        bucket = bucket_from_host(host, suffixes)
        return None if bucket is None else {"bucket": bucket}

    example = f"http://<bucket>.{_url_suffix(suffixes)}:<port>/"

    async def unknown_host(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await WebSocketClose()(scope, receive, send)
            return
        message = (
            "404 Not Found: this host names no website bucket. "
            f"ripple serves each website bucket at its own host name: {example}"
        )
        await send_reply(text(404, message, scope["method"] == "HEAD"), receive, send)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await store.call(lambda client: None)  # a state folder that cannot open fails startup
        try:
            yield
        finally:
            store.close()

    app = Starlette(routes=[HostRoute(website_host, WebsiteApp(store), name="website")], lifespan=lifespan)
    # Paths never select a part, so starlette's slash redirects would only confuse: parts own paths.
    app.router.redirect_slashes = False
    app.router.default = unknown_host
    app.state.ripple = store
    return app


def _url_suffix(suffixes: tuple[str, ...]) -> str:
    return "localhost" if "localhost" in suffixes else suffixes[-1]


class _Server(uvicorn.Server):
    """uvicorn's server, telling the starting thread when startup ended (started or failed)."""

    def __init__(self, config: uvicorn.Config):
        super().__init__(config)
        self.ready = threading.Event()
        self.error: BaseException | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()

    def run_until_closed(self, sock: socket.socket) -> None:
        try:
            self.run(sockets=[sock])
        except BaseException as e:  # uvicorn exits the thread with SystemExit when startup fails
            self.error = e
        finally:
            self.ready.set()


class ServerHandle:
    """A running server (from ``serve_in_thread``). ``port`` is the bound port; ``close()`` stops
    it and waits; also a context manager."""

    def __init__(self, server: _Server, thread: threading.Thread, store: StoreConnection, host: str, port: int,
                 suffixes: tuple[str, ...]):  # fmt: skip
        self._server, self._thread, self._store = server, thread, store
        self.host, self.port = host, port
        self._suffix = _url_suffix(suffixes)

    @property
    def url(self) -> str:
        """The server's own address (no bucket: it answers 404 with a hint)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def url_for(self, bucket: str) -> str:
        """``http://<bucket>.localhost:<port>/``. Raises InvalidBucketName for a bad name."""
        return f"http://{check_bucket_name(bucket)}.{self._suffix}:{self.port}/"

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def close(self, timeout: float = 10.0) -> None:
        """Stop accepting, let responses in flight finish (cut after 5 s), close the store client.
        Idempotent. Raises TimeoutError if the server thread does not end within ``2 * timeout``."""
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout)
        self._store.close()  # also when a forced exit skipped the lifespan shutdown
        if self._thread.is_alive():
            raise TimeoutError(f"the HTTP server on port {self.port} did not stop within {2 * timeout:g} s")

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _bind(host: str, port: int) -> socket.socket:
    family, _, _, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
    except OSError:
        sock.close()
        raise
    return sock


def serve_in_thread(
    source: StateSource = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    host_suffixes: Sequence[str] = DEFAULT_SUFFIXES,
    startup_timeout: float = 30.0,
) -> ServerHandle:
    """Serve ``source``'s website buckets on ``host:port`` from a background thread; returns once
    the server accepts connections. ``port=0`` picks a free port (``handle.port``).

    Raises StateError (and its kinds) when the state folder cannot be opened, OSError when the
    address cannot be bound (e.g. the port is taken), ValueError for a bad host suffix, and
    RuntimeError when the server fails to start.
    """
    app = create_app(source, host_suffixes=host_suffixes)
    store: StoreConnection = app.state.ripple
    store.client()  # open now, so a bad state folder raises here with its own error
    try:
        sock = _bind(host, port)
    except OSError as e:
        store.close()
        raise OSError(e.errno, f"cannot listen on {host}:{port}: {e.strerror}") from e
    bound_port = sock.getsockname()[1]
    # log_config=None: leave the host process's logging configuration alone (uvicorn's default
    # rewrites it); proxy_headers=False: nothing in front of us is trusted to rewrite the client.
    config = uvicorn.Config(app, log_config=None, log_level="warning", access_log=False, lifespan="on",
                            proxy_headers=False, timeout_graceful_shutdown=5)  # fmt: skip
    server = _Server(config)
    thread = threading.Thread(target=server.run_until_closed, args=(sock,), name=f"ripple-http:{bound_port}",
                              daemon=True)  # fmt: skip
    thread.start()
    handle = ServerHandle(server, thread, store, host, bound_port, check_suffixes(host_suffixes))
    if not server.ready.wait(startup_timeout) or not server.started:
        with contextlib.suppress(TimeoutError):
            handle.close(timeout=5.0)
        sock.close()
        why = f": {server.error!r}" if server.error is not None else ""
        raise RuntimeError(f"the HTTP server on {host}:{bound_port} did not start{why}")
    return handle
