"""Messages between the pool and a sandbox: a JSON header and an opaque body, length-prefixed.

Frame: ``!II`` (header length, body length), the header as JSON, then the body bytes. The body carries
the event or the result untouched, so a 6 MB payload is never re-encoded.
"""

from __future__ import annotations

import socket
import struct
from typing import Any

import orjson

_PREFIX = struct.Struct("!II")
#: Headers are small dicts; a bigger one means a corrupt or hostile stream.
MAX_HEADER = 1 << 20
MAX_BODY = 64 << 20
_PEEK = 1 << 16


def send(sock: socket.socket, header: dict[str, Any], body: bytes = b"") -> None:
    """Send one message. Raises OSError if the peer is gone."""
    head = orjson.dumps(header)
    sock.sendall(_PREFIX.pack(len(head), len(body)) + head + body)


def recv(sock: socket.socket) -> tuple[dict[str, Any], bytes]:
    """Receive one message.

    Raises:
        EOFError: the peer closed the connection (cleanly or mid-message).
        ValueError: the stream is not made of frames (a handler wrote to the control socket).
        TimeoutError: the socket's timeout expired mid-message.
    """
    # One read usually holds the whole message; MSG_PEEK keeps the stream intact for the slow path.
    first = sock.recv(_PEEK, socket.MSG_PEEK)
    if len(first) >= _PREFIX.size:
        hlen, blen = _PREFIX.unpack_from(first)
        total = _PREFIX.size + hlen + blen
        if hlen > MAX_HEADER or blen > MAX_BODY:
            raise ValueError(f"frame too large: header {hlen} bytes, body {blen} bytes")
        if len(first) >= total:
            data = _exact(sock, total)
            return _header(data[_PREFIX.size : _PREFIX.size + hlen]), data[_PREFIX.size + hlen :]
    hlen, blen = _PREFIX.unpack(_exact(sock, _PREFIX.size))
    if hlen > MAX_HEADER or blen > MAX_BODY:
        raise ValueError(f"frame too large: header {hlen} bytes, body {blen} bytes")
    header = _header(_exact(sock, hlen))
    return header, _exact(sock, blen) if blen else b""


def _header(raw: bytes) -> dict[str, Any]:
    header = orjson.loads(raw)
    if not isinstance(header, dict):
        raise ValueError("frame header is not an object")
    return header


def _exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:])
        if k == 0:
            raise EOFError("peer closed the connection")
        got += k
    return bytes(buf)
