"""Poll-based delivery for one lane of one shard: Lambda's event source mapping rules for streams
(aws-semantics.md §4.2–4.4, §4.7).

A lane is a shard's records (or, with a parallelization factor above 1, the subset of them whose
partition key hashes to the lane, so per-key order holds). The runner is a state machine driven by
``step(now)``: each call makes at most one invocation and says when to call again, so the caller
owns time (a real clock, or the test harness's virtual one) and nothing here sleeps.

The rules, in order of precedence:
- records that no filter admits are skipped; the checkpoint moves past them;
- a batch is at most ``batch_size`` records and at most 6 MB of event; with a batching window it is
  sent when full, when the window since its oldest record has passed, or never early;
- success (no function error, no reported failures) checkpoints past the whole batch;
- ``ReportBatchItemFailures``: the checkpoint moves to just before the lowest failed sequence
  number and the rest is retried; a malformed report is a whole-batch failure;
- a function error retries the batch (with ``bisect_on_error`` the batch is split in two first,
  which does not count against ``max_retry_attempts``);
- when attempts are exhausted or the oldest record is older than ``max_record_age_s``, the batch is
  discarded: ``on_discard`` gets it (for the on-failure destination) and the lane moves on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from ripple.dispatch.filters import compile_filters
from ripple.dispatch.options import MAX_PAYLOAD_BYTES, StreamOptions
from ripple.events import iso_s
from ripple.store.base import Change

#: Delay before retrying a failed batch: 0.1 s doubling per attempt, capped (Lambda retries stream
#: batches quickly; its exact schedule is not documented).
RETRY_BASE_S = 0.1
RETRY_CAP_S = 30.0
#: Lambda's recursive loop detection stops a chain of triggered invocations after about 16 hops.
MAX_CHAIN_HOPS = 16


@dataclass(frozen=True)
class Response:
    """What the dispatcher needs from an invocation: did the function fail, and what did it return."""

    function_error: str | None  # "Unhandled" when the function raised, timed out or crashed
    payload: Any  # decoded JSON response (or the error object)
    throttled: bool = False  # no concurrency was free: nothing ran, and it is no attempt
    request_id: str = ""
    duration_ms: float | None = None  # the invocation's wall time, when the invoker measured it
    raw: bytes | None = None  # ``payload``'s JSON as the function returned it, when the invoker has it


@dataclass(frozen=True)
class Discard:
    records: list[Change]
    condition: str  # RetryAttemptsExhausted | RecordAgeExceeded
    attempts: int
    response: Response | None


def sequence_number(record: dict[str, Any]) -> str:
    """The identifier ReportBatchItemFailures uses: the record's stream sequence number."""
    if "dynamodb" in record:
        return record["dynamodb"]["SequenceNumber"]
    return record["kinesis"]["sequenceNumber"]


def failed_index(batch: list[Change], payload: Any) -> int | None:
    """Index of the lowest failed record reported by a ReportBatchItemFailures response; None when
    the response reports complete success; -1 when it is malformed (a whole-batch failure)."""
    if payload is None:
        return None
    if not isinstance(payload, dict):
        return -1
    failures = payload.get("batchItemFailures")
    if not failures:  # absent, null or empty: complete success
        return None
    if not isinstance(failures, list):
        return -1
    index = {sequence_number(c.record): i for i, c in enumerate(batch)}
    lowest = None
    for f in failures:
        ident = f.get("itemIdentifier") if isinstance(f, dict) else None
        if not ident or ident not in index:
            return -1
        lowest = index[ident] if lowest is None else min(lowest, index[ident])
    return lowest


class LaneRunner:
    """Delivers one lane's records in order.

    ``fetch(after, limit)`` returns the lane's records after a position, at most ``limit``, and the
    highest position it examined (records of other lanes up to there are not this lane's business);
    ``invoke(event, hops)`` runs the function synchronously (``hops``: its depth in a chain of
    triggered invocations); the event's ``Records`` are ``orjson.Fragment``s of the stored JSON,
    ready to be encoded into the payload; ``on_discard`` receives batches given up on. ``position`` is the
    checkpoint (everything up to it is done). ``filter_view(change)`` is what the trigger's filters
    are matched against (default: the decoded record); a cheaper view is allowed only when the
    filters read nothing outside it."""

    def __init__(
        self,
        options: StreamOptions,
        *,
        fetch: Callable[[int, int], tuple[list[Change], int]],
        invoke: Callable[[dict[str, Any], int], Response],
        on_discard: Callable[[Discard], None],
        position: int,
        attempts: int = 0,
        window: tuple[float, Any] | None = None,
        shard: str = "",
        filter_view: Callable[[Change], Mapping[str, Any]] | None = None,
    ):
        self.options = options
        self._fetch = fetch
        self._invoke = invoke
        self._on_discard = on_discard
        self._passes = compile_filters(list(options.filters))
        # What the filters are matched against: the record, or less of it when they read less.
        self._filter_view: Callable[[Change], Mapping[str, Any]] = filter_view or (lambda c: c.record)
        self.position = position
        self.attempts = attempts  # failed attempts of the batch at the head
        self._pending: list[list[Change]] = []  # the head batch, or its bisected parts in order
        self._skip_to = position  # checkpoint after the head batch, filtered-out records included
        self.invocations = 0
        # Tumbling windows: (start, state) of the open window, persisted with the checkpoint; the
        # head batch's window start and whether it is the window's final invocation.
        self.window = window
        self._shard = shard
        self._arn = ""
        self._head_window: float | None = None
        self._head_final = False

    # -- building the head batch ------------------------------------------------------------------

    def _window_of(self, c: Change) -> float:
        w = self.options.tumbling_window_s
        assert w is not None
        return (c.ts // w) * w

    def _gather(self, now: float) -> float | None:
        """Fill ``_pending`` with the next batch. Returns None when one is ready, else when to look
        again (``float('inf')`` when there is nothing to deliver)."""
        opts = self.options
        batch: list[Change] = []
        size = 0
        after = self.position
        reached = self.position
        later_window = False  # the batch stopped at a record of a later tumbling window
        while len(batch) < opts.batch_size:
            records, examined = self._fetch(after, opts.batch_size - len(batch) + 50)
            full = False
            for c in records:
                if self._passes is not None and not self._passes(self._filter_view(c)):
                    reached = c.seq  # filtered out: skipped, as Lambda skips it
                    continue
                n = len(c.raw) + 1
                if batch and size + n > MAX_PAYLOAD_BYTES - 64:
                    full = True
                    break
                if opts.tumbling_window_s and batch and self._window_of(c) != self._window_of(batch[0]):
                    full = later_window = True
                    break
                batch.append(c)
                size += n
                reached = c.seq
                if len(batch) >= opts.batch_size:
                    full = True
                    break
            if full:
                break
            if examined <= after:
                break  # the end of the log
            # Every record up to ``examined`` was this lane's (and is in the batch or filtered out)
            # or another lane's: none is left behind by moving there.
            after = reached = max(reached, examined)
        if opts.tumbling_window_s:
            return self._gather_windowed(now, batch, reached, later_window)
        if not batch:
            if reached > self.position:
                self.position = reached  # only filtered-out records: the lane moves past them
            return float("inf")
        if len(batch) < opts.batch_size and opts.batch_window_s > 0 and size < MAX_PAYLOAD_BYTES // 2:
            ready_at = batch[0].ts + opts.batch_window_s
            if now < ready_at:
                return ready_at
        self._pending = [batch]
        self._skip_to = reached
        return None

    def _gather_windowed(self, now: float, batch: list[Change], reached: int, later: bool) -> float | None:
        """Tumbling windows (aws-semantics.md §4.6): batches never cross a window; the window's last
        invocation, once it has ended, carries ``isFinalInvokeForWindow`` (with no records if none
        are left), after which its state is dropped."""
        w = self.options.tumbling_window_s
        assert w is not None
        open_start = self.window[0] if self.window else None
        if open_start is not None and (
            (batch and self._window_of(batch[0]) > open_start) or (not batch and now >= open_start + w)
        ):
            # The open window has ended: its final invocation comes before anything of the next.
            self._pending, self._skip_to = [[]], self.position
            self._head_window, self._head_final = open_start, True
            return None
        if not batch:
            if reached > self.position:
                self.position = reached
            return open_start + w if open_start is not None else float("inf")
        start = self._window_of(batch[0])
        if not later and now < start + w and len(batch) < self.options.batch_size and self.options.batch_window_s:
            ready_at = batch[0].ts + self.options.batch_window_s
            if now < ready_at:
                return ready_at
        self._pending, self._skip_to = [batch], reached
        self._head_window = start
        # Final when the window is over and nothing of it is left behind this batch.
        self._head_final = now >= start + w and (later or len(batch) < self.options.batch_size)
        return None

    def _event(self, sub: list[Change]) -> dict[str, Any]:
        # The stored bytes go into the payload as they are (decoding them only to encode them
        # again was most of a batch's cost).
        event: dict[str, Any] = {"Records": [orjson.Fragment(c.raw) for c in sub]}
        w = self.options.tumbling_window_s
        if w is None:
            return event
        if sub:
            self._arn = sub[0].record.get("eventSourceARN", self._arn)
        start = self._head_window or 0.0
        state = self.window[1] if self.window and self.window[0] == start else {}
        event.update(
            window={"start": iso_s(start), "end": iso_s(start + w)},
            state=state,
            shardId=self._shard or "shardId-000000000000",
            eventSourceARN=self._arn,
            isFinalInvokeForWindow=self._head_final,
            isWindowTerminatedEarly=False,
        )
        return event

    # -- one step ---------------------------------------------------------------------------------

    def idle(self, latest: int) -> bool:
        """True when a step could do nothing: no batch in hand, no open window or retry, and no
        record after the checkpoint (``latest``: the newest position of the lane's source)."""
        return not self._pending and self.window is None and self.attempts == 0 and self.position >= latest

    def step(self, now: float) -> float:
        """Make progress; returns the time to call again (``now`` for at once, ``inf`` when idle
        until new records arrive)."""
        if not self._pending:
            wait = self._gather(now)
            if wait is not None:
                return wait
        sub = self._pending[0]
        opts = self.options
        if sub and opts.max_record_age_s >= 0 and now - sub[0].ts > opts.max_record_age_s:
            self._discard(sub, "RecordAgeExceeded", None)
            return now
        hops = 1 + max((c.hops for c in sub), default=0)
        if hops > MAX_CHAIN_HOPS:
            # The batch was written by a chain that has looped 16 times: stop it here.
            self._discard(sub, "RecursiveInvocationDetected", None)
            return now
        self.invocations += 1
        resp = self._invoke(self._event(sub), hops)
        if resp.throttled:  # nothing ran: retry without spending an attempt
            return now + RETRY_BASE_S
        if (
            resp.function_error is None
            and opts.tumbling_window_s
            and not (isinstance(resp.payload, dict) and "state" in resp.payload)
        ):
            # A windowed function must return its state; without it the invocation failed.
            return self._failed(sub, resp, now)
        if resp.function_error is None:
            idx = failed_index(sub, resp.payload) if opts.report_batch_item_failures else None
            if idx is None:
                if opts.tumbling_window_s:
                    start = self._head_window or 0.0
                    self.window = None if self._head_final else (start, resp.payload["state"])
                self._done(sub)
                return now
            if idx > 0:
                # Records before the lowest failure are done; the remainder is retried. (A malformed
                # report, -1, or a failure of the first record fails the whole batch.)
                self._advance_to(sub[idx - 1].seq)
                sub = self._pending[0] = sub[idx:]
        return self._failed(sub, resp, now)

    def _failed(self, sub: list[Change], resp: Response, now: float) -> float:
        opts = self.options
        if opts.bisect_on_error and len(sub) > 1:
            half = len(sub) // 2
            self._pending[0:1] = [sub[:half], sub[half:]]
            return now
        self.attempts += 1
        if 0 <= opts.max_retry_attempts < self.attempts:
            self._discard(sub, "RetryAttemptsExhausted", resp)
            return now
        return now + min(RETRY_BASE_S * 2 ** (self.attempts - 1), RETRY_CAP_S)

    def _done(self, sub: list[Change]) -> None:
        self._pending.pop(0)
        self.attempts = 0
        self._advance_to(self._skip_to if not self._pending or not sub else sub[-1].seq)

    def _discard(self, sub: list[Change], condition: str, resp: Response | None) -> None:
        self._on_discard(Discard(sub, condition, self.attempts, resp))
        self._done(sub)

    def _advance_to(self, seq: int) -> None:
        if seq > self.position:
            self.position = seq
