"""The server's store client and the fixed pool of threads that call it."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ripple.client import Client, connect

T = TypeVar("T")


class StoreConnection:
    """The server's own client on a state folder, opened on first use and closed with ``close()``,
    and the pool of ``threads`` threads that make its (blocking) store calls.

    Store calls run on this fixed pool, not on anyio's worker threads: the client opens one SQLite
    connection per calling thread and keeps it until the client closes, and anyio retires idle
    workers and starts new ones, so a long-running server would collect connections (and file
    descriptors) without bound. Here there are at most ``threads`` of them. Needs an asyncio event
    loop (uvicorn's).
    """

    def __init__(self, folder: Path, *, threads: int = 16):
        self.folder = folder
        self._threads = threads
        self._client: Client | None = None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def client(self) -> Client:
        """The open client, opening it if needed. Raises StateError (and its kinds) when the state
        folder cannot be opened."""
        client = self._client
        if client is not None:
            return client
        with self._lock:
            if self._client is None:
                self._client = connect(self.folder)
            return self._client

    def _executor(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(self._threads, thread_name_prefix="ripple-http")
            return self._pool

    async def call(self, fn: Callable[[Client], T], *, abandoned: Callable[[T], None] | None = None) -> T:
        """``fn(client)`` on the pool; returns or raises what it does. If the awaiting task is
        cancelled while ``fn`` runs, ``abandoned(result)`` is called with the result nobody will
        use (to close what it holds open)."""
        future = self._executor().submit(lambda: fn(self.client()))
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            if abandoned is not None:
                future.add_done_callback(lambda f: _discard(f, abandoned))
            raise

    def close(self) -> None:
        """Stop the pool (waiting for calls in progress) and close the client. Use again reopens."""
        with self._lock:
            pool, self._pool = self._pool, None
            client, self._client = self._client, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if client is not None:
            client.close()


def _discard(future: concurrent.futures.Future, abandoned: Callable[[T], None]) -> None:
    if not future.cancelled() and future.exception() is None:
        abandoned(future.result())
