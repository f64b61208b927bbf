"""Messages between the pool and a sandbox: a JSON header and an opaque body, length-prefixed.

Frame: ``!II`` (header length, body length), the header as JSON, then the body bytes. The body carries
the event or the result untouched, so a 6 MB payload is never re-encoded.

A warm invocation is one frame each way, and each side sends it with one ``send`` and reads it with
one ``recv`` (a 64 KiB read holds any small frame whole): four syscalls per round trip besides the
pool's ``poll``, where peeking, exact-size reads and a socket timeout set and cleared around each read
(CPython polls before every read on a socket with a timeout) took ten.
"""

from __future__ import annotations

import socket
import struct
from typing import Any

import orjson

_PREFIX = struct.Struct("!II")
#: What begins the mark the worker writes on the log pipe after a queued invocation's output and
#: before its answer, so the pool knows where the output of the invocation sent after it begins.
LOG_MARK = b"\x00\x1eripple:end:"


def log_mark(token: str) -> bytes:
    """The end mark of the invocation whose request carried ``token`` (fresh random per call, so
    output that happens to hold mark-like bytes, even a mark copied from an earlier call, never
    moves another call's lines)."""
    return LOG_MARK + token.encode() + b"\x1e\x00"


#: Headers are small dicts; a bigger one means a corrupt or hostile stream.
MAX_HEADER = 1 << 20
MAX_BODY = 64 << 20
_CHUNK = 1 << 16
#: Bodies from this size on are sent without being copied next to their header first.
_GATHER = 1 << 14
#: Reads of the rest of a big frame: about what a Unix socket's buffer holds.
_BIG_CHUNK = 1 << 18


def send(sock: socket.socket, header: dict[str, Any], body: bytes = b"") -> None:
    """Send one message. Raises OSError if the peer is gone."""
    head = orjson.dumps(header)
    first = _PREFIX.pack(len(head), len(body)) + head
    if len(body) < _GATHER:
        sock.sendall(first + body)
        return
    # A big body (a batch of stream records) goes out from where it is, not copied into one buffer.
    sent = sock.sendmsg([first, body])
    if sent < len(first):
        sock.sendall(first[sent:])
        sent = len(first)
    if sent < len(first) + len(body):
        sock.sendall(memoryview(body)[sent - len(first) :])


class Channel:
    """One end of a control socket, reading whole frames.

    Bytes that arrive after a frame (only a handler scribbling on the socket sends any: each side
    waits for the other's answer) are kept and parsed as the start of the next frame, so garbage is
    reported by the read it corrupts, as a reader that never over-reads would report it.
    """

    __slots__ = ("_rest", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._rest = b""

    def fileno(self) -> int:
        return self.sock.fileno()

    @property
    def buffered(self) -> bool:
        """Whether bytes of a next frame were already read (recv will not wait for the socket)."""
        return bool(self._rest)

    def send(self, header: dict[str, Any], body: bytes = b"") -> None:
        """Send one message. Raises OSError if the peer is gone."""
        send(self.sock, header, body)

    def recv(self, timeout: float | None = None) -> tuple[dict[str, Any], bytes]:
        """Receive one message.

        ``timeout`` None blocks until the message is complete; a number of seconds expects data to be
        ready (the caller polled) and bounds each wait for the rest of a message that arrives in parts.

        Raises:
            EOFError: the peer closed the connection (cleanly or mid-message).
            ValueError: the stream is not made of frames (a handler wrote to the control socket).
            TimeoutError: the timeout expired mid-message.
        """
        buf = self._rest or self._read(_CHUNK, timeout)
        while len(buf) < _PREFIX.size:
            buf += self._read(_PREFIX.size - len(buf), timeout)
        hlen, blen = _PREFIX.unpack_from(buf)
        if hlen > MAX_HEADER or blen > MAX_BODY:
            self._rest = b""
            raise ValueError(f"frame too large: header {hlen} bytes, body {blen} bytes")
        start = _PREFIX.size + hlen
        total = start + blen
        if len(buf) >= total:
            self._rest = buf[total:]
            return _header(buf[_PREFIX.size : start]), buf[start:total] if blen else b""
        self._rest = b""
        parts = self._rest_of_frame(buf, total, timeout)
        if len(buf) >= start:
            # A big body: joined once from the pieces, so each byte is copied once after the kernel's copy.
            parts[0] = buf[start:]
            return _header(buf[_PREFIX.size : start]), b"".join(parts)
        data = b"".join(parts)
        return _header(data[_PREFIX.size : start]), data[start:]

    def _read(self, n: int, timeout: float | None) -> bytes:
        if timeout is None:
            data = self.sock.recv(n)
        else:
            try:
                data = self.sock.recv(n, socket.MSG_DONTWAIT)
            except BlockingIOError:
                self.sock.settimeout(max(timeout, 0.001))
                try:
                    data = self.sock.recv(n)
                finally:
                    self.sock.settimeout(None)
        if not data:
            raise EOFError("peer closed the connection")
        return data

    def _rest_of_frame(self, first: bytes, total: int, timeout: float | None) -> list[bytes]:
        """``first`` and the pieces that complete a frame of ``total`` bytes (no byte beyond it)."""
        parts, have = [first], len(first)
        if timeout is not None:
            self.sock.settimeout(max(timeout, 0.001))
        try:
            while have < total:
                chunk = self.sock.recv(min(total - have, _BIG_CHUNK))
                if not chunk:
                    raise EOFError("peer closed the connection")
                parts.append(chunk)
                have += len(chunk)
        finally:
            if timeout is not None:
                self.sock.settimeout(None)
        return parts


def _header(raw: bytes) -> dict[str, Any]:
    header = orjson.loads(raw)
    if not isinstance(header, dict):
        raise ValueError("frame header is not an object")
    return header
