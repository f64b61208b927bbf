"""Capturing a sandbox's output per invocation, and Lambda's START / END / REPORT lines.

A sandbox writes stdout and stderr to one pipe; the pool reads it while the invocation runs and turns
it into lines tagged with the request id. Each invocation keeps at most ``limit_bytes`` of output; the
rest is counted and replaced by one line saying how much was dropped (a handler printing 100 MB must
not fill the disk or the platform's memory).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

#: A log sink receives rows ``[(function, request_id, epoch seconds, line), ...]``, in order.
LogSink = Callable[[list[tuple[str, str, float, str]]], None]
DEFAULT_LIMIT_BYTES = 1 << 20
#: Lambda's ``X-Amz-Log-Result`` carries the last 4 KB of the log.
TAIL_BYTES = 4096


class LogCapture:
    """Splits one invocation's output into lines, keeping the first ``limit_bytes`` of it."""

    def __init__(
        self, function: str, request_id: str, sink: LogSink, *, limit_bytes: int = DEFAULT_LIMIT_BYTES
    ) -> None:
        self.function = function
        self.request_id = request_id
        self._sink = sink
        self._limit = limit_bytes
        self._kept = 0
        self.dropped = 0
        self._partial = b""
        self.lines: list[str] = []
        self._held: list[bytes] | None = None
        self._held_bytes = 0

    def hold(self) -> None:
        """Keep output fed from now on until :meth:`release`: an invocation queued behind another
        may write before its START line is logged."""
        if self._held is None:
            self._held, self._held_bytes = [], 0

    def release(self) -> None:
        """Log the output held since :meth:`hold`, and what comes next as it comes."""
        held, self._held = self._held, None
        if held:
            self.feed(b"".join(held))

    def feed(self, data: bytes) -> None:
        """Take a chunk of raw output."""
        if self._held is not None:
            room = self._limit - self._held_bytes
            if len(data) > room:
                self.dropped += len(data) - max(room, 0)
                data = data[: max(room, 0)]
            self._held.append(data)
            self._held_bytes += len(data)
            return
        if self._kept >= self._limit:
            self.dropped += len(data)
            return
        room = self._limit - self._kept
        if len(data) > room:
            self.dropped += len(data) - room
            data = data[:room]
        self._kept += len(data)
        data = self._partial + data
        *complete, self._partial = data.split(b"\n")
        if complete:
            self.emit([c.decode("utf-8", "replace") for c in complete])

    def emit(self, lines: list[str]) -> None:
        """Log ``lines`` (platform lines such as START, or the handler's) now."""
        now = time.time()
        self.lines.extend(lines)
        fn, rid = self.function, self.request_id
        # The rows are built here, not in the writer thread, which must not hold the GIL long.
        self._sink([(fn, rid, now, line) for line in lines])

    def finish(self) -> None:
        """Flush a trailing partial line and the note about dropped output."""
        tail = []
        if self._partial:
            tail.append(self._partial.decode("utf-8", "replace"))
            self._partial = b""
        if self.dropped:
            tail.append(f"[ripple] {self.dropped} bytes of output dropped: over {self._limit} bytes this invocation")
            self.dropped = 0
        if tail:
            self.emit(tail)

    def tail(self) -> str:
        """The last 4 KB of this invocation's log, as ``X-Amz-Log-Result`` carries it (decoded)."""
        text = "\n".join(self.lines) + "\n"
        return text.encode()[-TAIL_BYTES:].decode("utf-8", "replace")


def start_line(request_id: str, version: str = "$LATEST") -> str:
    return f"START RequestId: {request_id} Version: {version}"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def billed_ms(duration_ms: float) -> int:
    """Lambda bills duration rounded up to the next 1 ms (since December 2020)."""
    return max(1, math.ceil(duration_ms))


def report_line(request_id: str, duration_ms: float, memory_mb: int, max_memory_mb: int, init_ms: float | None) -> str:
    """Lambda's tab-separated REPORT line, ending with a tab; Init Duration only on a cold start."""
    parts = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {billed_ms(duration_ms)} ms",
        f"Memory Size: {memory_mb} MB",
        f"Max Memory Used: {max_memory_mb} MB",
    ]
    if init_ms is not None:
        parts.append(f"Init Duration: {init_ms:.2f} ms")
    return "\t".join(parts) + "\t"


def timeout_line(request_id: str, seconds: float) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"
    return f"{stamp} {request_id} Task timed out after {seconds:.2f} seconds"
