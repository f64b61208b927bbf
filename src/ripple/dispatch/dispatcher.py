"""The dispatcher: every trigger's subscription to the change log, turned into invocations.

It is a loop of ``step()`` calls, each doing what is due now and saying when something is due next;
nothing in here sleeps. A server drives it with the real clock (waking on commits through the
change log's ``wait``); the test harness drives it with a virtual clock and ``drain()``.

- Table and stream triggers (poll-based): one :class:`LaneRunner` per shard and parallelization lane,
  invoked synchronously; checkpoints and attempt counts persist after each step.
- Object and topic triggers (asynchronous): matching new records are invoked straight from the
  log, and the trigger's checkpoint moves past them once each succeeded or entered the durable
  async queue for a retry (decision 0009); queued events are invoked with Lambda's retries, maximum
  age and destinations, and end as dead letters when nothing else takes them.
- Schedules: the last firing time is the checkpoint; a firing is an asynchronous event.
"""

from __future__ import annotations

import functools
import time
import uuid
import zlib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from ripple.client import Client
from ripple.dispatch.asyncq import NOT_QUEUED, AsyncQueue, QueueItem
from ripple.dispatch.filters import reads_only
from ripple.dispatch.lanes import MAX_CHAIN_HOPS, Discard, LaneRunner, Response
from ripple.dispatch.options import AsyncOptions, StreamOptions
from ripple.dispatch.triggers import Trigger, check_triggers
from ripple.errors import NotFound, RippleError, TooManyRequests, ValidationError
from ripple.events import destinations, dynamodb, iso_ms, kinesis, schedule
from ripple.jsonfmt import python_dumps, python_loads
from ripple.store.base import Change

INF = float("inf")
_EVENT_NAME = b'"eventName":"'
_OBJECT_KEY = b'"object":{"key":"'
_NO_CONFIGURATION = b'"configurationId":""'
PAGE = 1000
#: New async events taken from the log per trigger and step. It bounds what a crash can deliver
#: twice: the events of one step, whose checkpoint had not moved yet.
DIRECT_PAGE = 100
ASYNC_PAYLOAD_BYTES = 1024 * 1024 - 1024  # an asynchronous invocation's limit, less the envelope


class Invoker(Protocol):
    """``payload`` is the event's JSON as ``orjson.Fragment`` (ripple built it: no need to parse it).

    An invoker may also have ``all(calls, done, parallel)``: run ``calls`` (``(function, event
    JSON, trigger, hops)``, asynchronous) up to ``parallel`` at once, reporting each one's Response
    with ``done(index, response)`` as it ends. The dispatcher then runs a step's asynchronous events
    from its own thread through it, instead of a thread per running event."""

    def __call__(
        self, function: str, payload: orjson.Fragment, *, asynchronous: bool, trigger: str, hops: int
    ) -> Response: ...


KEYS_PATH = ("dynamodb", "Keys")


def _keys_view(c: Change) -> Mapping[str, Any]:
    """A table record as filters that read only its keys see it, without decoding its images
    (most of a record's bytes); the whole record when its bytes are not laid out as expected."""
    keys = dynamodb.record_keys(c.raw)
    return c.record if keys is None else {"dynamodb": {"Keys": keys}}


AsyncCall = tuple[str, bytes, str, int]


class PoolInvoker:
    """Invoke through a :class:`ripple.runtime.pool.Pool`. Asynchronous events wait for a free slot
    (Lambda's internal queue); synchronous batches report a throttle instead, which costs no attempt."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    def __call__(
        self, function: str, payload: orjson.Fragment, *, asynchronous: bool, trigger: str, hops: int
    ) -> Response:
        try:
            r = self._pool.invoke(
                function,
                payload,
                invocation_type="Event" if asynchronous else "RequestResponse",
                trigger=trigger,
                chain_hops=hops,
            )
        except RippleError as e:
            return _refused(e)
        return _response(r)

    def all(self, calls: Sequence[AsyncCall], done: Callable[[int, Response], None], parallel: int) -> None:
        """Run asynchronous ``calls`` through the pool's one-thread loop (``Pool.invoke_all``)."""
        from ripple.runtime.burst import Call

        def landed(i: int, r: Any) -> None:
            done(i, _refused(r) if isinstance(r, RippleError) else _response(r))

        self._pool.invoke_all([Call(*c) for c in calls], landed, parallel=parallel)


def _response(r: Any) -> Response:
    """What the dispatcher needs of a pool's InvocationResult."""
    return Response(r.function_error, r.json(), request_id=r.request_id, duration_ms=r.duration_ms, raw=r.payload)


def _refused(e: RippleError) -> Response:
    if isinstance(e, TooManyRequests):
        return Response(None, None, throttled=True)
    # The invocation itself was refused (payload too large, function gone, no sandbox): a failed
    # attempt like any other, so it is retried and ends as a dead letter, never an exception that
    # stops the platform.
    return Response("Unhandled", {"errorMessage": str(e), "errorType": e.code})


def pool_invoker(pool: Any) -> PoolInvoker:
    """The invoker that runs functions in ``pool``'s sandboxes."""
    return PoolInvoker(pool)


@dataclass
class Delivery:
    """One invocation the dispatcher made, for ``ripple dev`` lines and tests."""

    trigger: str
    function: str
    ok: bool
    records: int
    ts: float
    duration_ms: float = 0.0  # the invocation's wall time as the dispatcher saw it
    error_type: str | None = None  # the response's errorType when the function failed


class Dispatcher:
    """Runs ``triggers`` against the store behind ``client``, invoking through ``invoke``."""

    def __init__(
        self,
        client: Client,
        triggers: Sequence[Trigger],
        invoke: Invoker,
        *,
        clock: Callable[[], float] = time.time,
        on_delivery: Callable[[Delivery], None] | None = None,
        workers: int = 1,
        exclusive: bool = False,
    ):
        """``workers`` > 1 runs independent lanes and queued events side by side (the platform
        does); 1 keeps every step deterministic (the test harness does). ``exclusive``: no other
        dispatcher runs these triggers (the platform holds a lock), so asynchronous triggers'
        checkpoints are kept in memory after they are saved, not read back at every step."""
        check_triggers(triggers)
        self._client = client
        self._store = client.store
        self._db = client.store._db
        self._log = client.store.log
        self._queue = AsyncQueue(self._db)
        self._invoke = invoke
        self._clock = clock
        self._on_delivery = on_delivery
        self.triggers: dict[str, Trigger] = {t.name: t for t in triggers}
        self._lanes: dict[str, list[tuple[str, LaneRunner]]] = {}
        self._started = False
        self._invoke_triggers: dict[str, Trigger] = {}  # "function:invoke" queues for Event invokes
        #: Async events delivered this step and not yet removed from the queue (list.append is
        #: atomic, so the step's worker threads share it without a lock).
        self._succeeded: list[tuple[Trigger, AsyncOptions, QueueItem, Response, float]] = []
        #: Async triggers' checkpoints to move at the step's end, past the records delivered
        #: straight from the log in this step (saved only when every one of them was handled).
        self._advance: dict[str, int] = {}
        self._workers = workers
        #: Per trigger, when its first queued event is due (INF: none), as the last step's end saw
        #: it: a step skips the queue's query while nothing is due, which at an idle system is one
        #: statement fewer between a commit and its invocation. Enqueues in this process forget
        #: the entry; one by another process (``ripple dlq redrive``) is seen at the next step's
        #: end, which comes within Platform's MAX_WAIT_S.
        self._due_at: dict[str, float] = {}
        self._exclusive = exclusive
        self._positions: dict[str, int] = {}  # exclusive only: async triggers' saved checkpoints
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="ripple-dispatch") if workers > 1 else None

    # -- checkpoints ------------------------------------------------------------------------------

    def _checkpoint(self, trigger: str, lane: str) -> tuple[int, int] | None:
        row = self._db.con.execute(
            "SELECT position, attempts FROM checkpoints WHERE trigger=? AND lane=?", (trigger, lane)
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def _window(self, trigger: str, lane: str) -> tuple[float, Any] | None:
        row = self._db.con.execute(
            "SELECT window FROM checkpoints WHERE trigger=? AND lane=?", (trigger, lane)
        ).fetchone()
        # The window's state is the function's own JSON: read it as its json wrote it.
        return tuple(python_loads(row[0])) if row and row[0] else None  # type: ignore[return-value]

    def _save(self, con: Any, trigger: str, lane: str, position: int, attempts: int = 0, window: Any = None) -> None:
        con.execute(
            "INSERT INTO checkpoints(trigger, lane, position, attempts, window) VALUES(?,?,?,?,?) "
            "ON CONFLICT(trigger, lane) DO UPDATE SET position=excluded.position, attempts=excluded.attempts, "
            "window=excluded.window",
            (trigger, lane, position, attempts, python_dumps(window) if window is not None else None),
        )

    def _start(self, t: Trigger, opts: StreamOptions | None = None) -> int:
        """Where a new trigger starts reading: its starting position (LATEST for asynchronous ones,
        which see only changes made after they exist)."""
        src = [t.log_source]
        if opts is None or opts.starting_position == "LATEST":
            return self._log.latest(src)
        if opts.starting_position == "TRIM_HORIZON":
            return self._log.horizon(src)
        assert opts.starting_timestamp is not None
        return self._log.position_at(opts.starting_timestamp, src)

    # -- the loop ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Pin every new trigger's starting position (and every schedule's clock) now, before
        anything is invoked, so writes made after this call are seen. Triggers that ran before keep
        their checkpoints. Raises NotFound for a trigger on a missing table or stream."""
        now = self._clock()
        self._started = True
        for t in self.triggers.values():
            if t.polled:
                self._lanes_of(t)
            elif self._checkpoint(t.name, "") is None:
                first = int(now * 1000) if t.kind == "schedule" else self._start(t)
                with self._db.write() as con:
                    self._save(con, t.name, "", first)

    def step(self) -> tuple[float, float]:
        """Do everything due now. Returns ``(work, timer)``: when retries, batching windows or new
        async events are next due, and when the next schedule fires (``inf``: nothing pending)."""
        if not self._started:
            self.start()
        now = self._clock()
        seen = self._log.latest()
        work = timer = INF
        lanes: list[Callable[[], float]] = []
        arrivals: list[tuple[Trigger, QueueItem]] = []
        newest: dict[str, int] = {}  # per source, read once per step
        for t in list(self.triggers.values()) + list(self._invoke_triggers.values()):
            if t.polled:
                # Lanes with nothing to do are not stepped: at an idle system a write to one source
                # then costs one task, run inline, instead of a thread hand-off per lane.
                src = t.log_source
                if src not in newest:
                    newest[src] = self._log.latest([src])
                lanes += [
                    functools.partial(self._poll_lane, t, lane, runner, now)
                    for lane, runner in self._lanes_of(t)
                    if not runner.idle(newest[src])
                ]
            elif t.kind == "schedule":
                timer = min(timer, self._tick(t, now))
            elif t.kind != "invoke":
                wake, fresh = self._intake(t, now)
                work = min(work, wake)
                arrivals += [(t, item) for item in fresh]
            known = self._due_at.get(t.name)
            if known is None or known <= now:
                arrivals += [(t, item) for item in self._queue.due(t.name, now)]
        completed = False
        try:
            runs = []
            if self._executor is not None and (len(lanes) > 1 or (lanes and arrivals)):
                # Lanes are independent (each keeps its own order): they run side by side on the
                # executor's threads while this thread runs the asynchronous events, which have no
                # order. Each thread takes lanes from one shared iterator (a list iterator's next
                # is atomic), so a step costs a future per thread, not one per lane.
                pending = iter(lanes)
                runs = [
                    self._executor.submit(lambda: [task() for task in pending])
                    for _ in range(min(self._workers, len(lanes)))
                ]
                wakes = []
            else:
                wakes = [task() for task in lanes]
            try:
                self._deliver_all(arrivals)
            finally:
                wait(runs)  # all of them, also when one raised: no task outlives its step
            wakes += [w for run in runs for w in run.result()]
            completed = True
        finally:
            self._acknowledge(completed)
        work = min([work, *wakes])
        for t in list(self.triggers.values()) + list(self._invoke_triggers.values()):
            nxt = self._queue.next_due(t.name)
            self._due_at[t.name] = INF if nxt is None else nxt
            if nxt is not None:
                work = min(work, nxt)
        if self._log.latest() > seen:
            work = min(work, now)  # handlers (or destinations) wrote during this step: look again
        return work, timer

    def drain(self, *, advance: Callable[[float], None] | None = None, max_steps: int = 100_000) -> int:
        """Step until no work is left now. With ``advance`` (a virtual clock's setter), pending
        retries and batching windows are run by moving the clock to them, so ``drain`` returns only
        when nothing but schedules remains. Returns the number of steps taken."""
        for n in range(1, max_steps + 1):
            work, _ = self.step()
            now = self._clock()
            if work <= now:
                continue
            if work == INF or advance is None:
                return n
            advance(work)
        raise RuntimeError(f"the dispatcher did not settle in {max_steps} steps")

    def next_timer(self) -> float:
        """When the next schedule fires (``inf`` if none)."""
        now = self._clock()
        out = INF
        for t in self.triggers.values():
            if t.kind == "schedule":
                out = min(out, self._next_fire(t, now))
        return out

    # -- poll-based -------------------------------------------------------------------------------

    def _lanes_of(self, t: Trigger) -> list[tuple[str, LaneRunner]]:
        lanes = self._lanes.get(t.name)
        if lanes is not None:
            return lanes
        opts = t.options
        assert isinstance(opts, StreamOptions)
        if t.kind == "stream":
            shards = [kinesis.shard_id(i) for i in range(self._store.describe_stream(t.source).shards)]
        else:
            self._store.describe_table(t.source)  # NotFound now, not at the first record
            shards = [""]
        lanes = []
        start = None
        for shard in shards:
            for k in range(opts.parallelization):
                lane = f"{shard}/{k}"
                saved = self._checkpoint(t.name, lane)
                if saved is None:
                    start = self._start(t, opts) if start is None else start
                    saved = (start, 0)
                    with self._db.write() as con:
                        self._save(con, t.name, lane, start)
                runner = LaneRunner(
                    opts,
                    fetch=self._fetcher(t, shard, k, opts.parallelization),
                    invoke=self._sync_invoker(t),
                    on_discard=lambda d, t=t, shard=shard: self._discarded(t, shard, d),
                    position=saved[0],
                    attempts=saved[1],
                    window=self._window(t.name, lane),
                    shard=shard,
                    filter_view=_keys_view if t.kind == "table" and reads_only(opts.filters, KEYS_PATH) else None,
                )
                lanes.append((lane, runner))
        self._lanes[t.name] = lanes
        return lanes

    def _fetcher(self, t: Trigger, shard: str, k: int, n: int) -> Callable[[int, int], tuple[list[Change], int]]:
        src = [t.log_source]

        def lane_of(c: Change) -> int:
            # Per-key order survives parallelization: one key always maps to one lane (crc32 is
            # stable across restarts, unlike hash()).
            key = c.record["kinesis"]["partitionKey"] if t.kind == "stream" else c.partition
            return zlib.crc32(key.encode()) % n

        def fetch(after: int, limit: int) -> tuple[list[Change], int]:
            out: list[Change] = []
            examined = after
            # Unfiltered (one shard, one lane), every record read is wanted: read only as many as
            # asked, or the rest would be decoded now and again on the next call.
            want = min(PAGE, max(limit, 1)) if not shard and n == 1 else PAGE
            while len(out) < limit:
                page = self._log.read(examined, sources=src, limit=want)
                if not page:
                    break
                for c in page:
                    if (not shard or c.partition == shard) and (n == 1 or lane_of(c) == k):
                        out.append(c)
                        if len(out) >= limit:
                            return out, c.seq
                    examined = c.seq
            return out, examined

        return fetch

    def _sync_invoker(self, t: Trigger) -> Callable[[dict[str, Any], int], Response]:
        def invoke(event: dict[str, Any], hops: int) -> Response:
            started = time.perf_counter()
            # A Fragment: the payload is ripple's own JSON, so the pool need not parse it to check it.
            try:
                payload = orjson.Fragment(orjson.dumps(event))
            except TypeError:  # a tumbling window's state holding an integer beyond 64 bits
                payload = orjson.Fragment(
                    orjson.dumps({**event, "state": orjson.Fragment(python_dumps(event["state"]))})
                )
            resp = self._invoke(t.function, payload, asynchronous=False, trigger=t.name, hops=hops)
            self._delivered(t, resp, len(event.get("Records", ())), started)
            return resp

        return invoke

    def _poll_lane(self, t: Trigger, lane: str, runner: LaneRunner, now: float) -> float:
        w = INF
        for _ in range(100):  # bounded, so one busy lane cannot starve the others
            before = (runner.position, runner.attempts, runner.window)
            w = runner.step(now)
            if (runner.position, runner.attempts, runner.window) != before:
                with self._db.write() as con:
                    self._save(con, t.name, lane, runner.position, runner.attempts, runner.window)
            if w > now:
                break
        return w

    def _discarded(self, t: Trigger, shard: str, d: Discard) -> None:
        opts = t.options
        assert isinstance(opts, StreamOptions)
        now = self._clock()
        first, last = d.records[0], d.records[-1]
        seq = (
            (lambda c: c.record["dynamodb"]["SequenceNumber"])
            if t.kind == "table"
            else (lambda c: c.record["kinesis"]["sequenceNumber"])
        )
        record = destinations.stream_failure_record(
            source="dynamodb" if t.kind == "table" else "kinesis",
            function=t.function,
            request_id=(d.response.request_id if d.response else "") or str(uuid.uuid4()),
            condition=d.condition,
            invoke_count=d.attempts,
            function_error=d.response.function_error if d.response else None,
            shard_id=shard or "shardId-000000000000",
            start_sequence=seq(first),
            end_sequence=seq(last),
            first_arrival=first.ts,
            last_arrival=last.ts,
            batch_size=len(d.records),
            stream_arn=first.record.get("eventSourceARN", ""),
            ts=now,
        )
        with self._db.write() as con:
            hops = 1 + max(c.hops for c in d.records)
            if opts.on_failure:
                self._send(opts.on_failure, record, now, hops=hops)
            else:
                # No destination: keep the batch as a dead letter, so nothing is lost silently.
                event = orjson.dumps({"Records": [c.record for c in d.records]})
                item = QueueItem(NOT_QUEUED, t.name, event, first.ts, max(d.attempts - 1, 0), hops)
                self._queue.bury(con, item, t.function, d.condition, record, now)

    # -- asynchronous -----------------------------------------------------------------------------

    def _intake(self, t: Trigger, now: float) -> tuple[float, list[QueueItem]]:
        """The events ``t`` takes from the new records of its source, to deliver now, and when to
        look again. Its checkpoint moves past them at the step's end (:meth:`_acknowledge`)."""
        position = self._positions.get(t.name)
        if position is None:
            saved = self._checkpoint(t.name, "")
            assert saved is not None  # start() pinned it
            position = saved[0]
            if self._exclusive:
                self._positions[t.name] = position
        opts = t.options
        assert isinstance(opts, AsyncOptions)
        changes = self._log.read(position, sources=[t.log_source], limit=PAGE if opts.batch_size else DIRECT_PAGE)
        if not changes:
            return INF, []
        records = [(c, r) for c in changes if (r := self._take(t, c)) is not None]
        upto = changes[-1].seq
        if opts.batch_size and records:
            full = len(records) >= opts.batch_size
            ready_at = records[0][0].ts + opts.batch_window_s
            if not full and now < ready_at:
                return ready_at, []  # hold the window open; the checkpoint stays before these records
            if full:
                records = records[: opts.batch_size]
                upto = records[-1][0].seq
            groups = _by_size(records, ASYNC_PAYLOAD_BYTES)
        else:
            groups = [[cr] for cr in records]
        self._advance[t.name] = upto
        fresh = [
            QueueItem(
                NOT_QUEUED,
                t.name,
                b'{"Records":[' + b",".join(r for _, r in group) + b"]}",
                now,
                0,
                1 + max(c.hops for c, _ in group),
                records=len(group),
            )
            for group in groups
        ]
        return now, fresh

    def _take(self, t: Trigger, c: Change) -> bytes | None:
        """The JSON of ``c``'s record as ``t`` delivers it, or None when ``t`` does not take it."""
        if t.kind == "object":
            assert t.rule is not None
            # ripple's own S3 records, read without decoding them: the event name, the encoded key
            # (URL-encoded, so it holds no quote) and the empty configurationId to stamp.
            raw = c.raw
            name_at = raw.find(_EVENT_NAME) + len(_EVENT_NAME)
            key_at = raw.find(_OBJECT_KEY) + len(_OBJECT_KEY)
            if name_at >= len(_EVENT_NAME) and key_at >= len(_OBJECT_KEY) and _NO_CONFIGURATION in raw:
                name = raw[name_at : raw.index(b'"', name_at)].decode()
                key = raw[key_at : raw.index(b'"', key_at)].decode()
                if not t.rule.matches(name, key):
                    return None
                return raw.replace(_NO_CONFIGURATION, b'"configurationId":' + orjson.dumps(t.rule.name), 1)
        record = self._match(t, c.record)
        return None if record is None else orjson.dumps(record)

    def _match(self, t: Trigger, record: dict[str, Any]) -> dict[str, Any] | None:
        """The record as this trigger delivers it, or None when the trigger does not take it."""
        if t.kind == "object":
            assert t.rule is not None
            if not t.rule.matches(record["eventName"], record["s3"]["object"]["key"]):
                return None
            return {**record, "s3": {**record["s3"], "configurationId": t.rule.name}}
        if t.kind == "topic":
            if t.filter_policy is not None and not t.filter_policy(record):
                return None
            return {**record, "EventSubscriptionArn": f"{record['Sns']['TopicArn']}:{_subscription(t)}"}
        return record

    def _deliver_all(self, arrivals: list[tuple[Trigger, QueueItem]]) -> None:
        """Invoke a step's asynchronous events, up to ``workers`` at once, and settle each one as it
        ends: acknowledged at the step's end, queued for its retry, or failed."""
        if not arrivals:
            return
        now = self._clock()
        batch: list[tuple[Trigger, AsyncOptions, QueueItem]] = []
        for t, item in arrivals:
            opts = t.options if isinstance(t.options, AsyncOptions) else AsyncOptions()
            if item.hops > MAX_CHAIN_HOPS:
                self._fail(t, opts, item, "RecursiveInvocationDetected", None, now)
            elif now - item.enqueued > opts.max_event_age_s:
                self._fail(t, opts, item, "EventAgeExceeded", None, now)
            else:
                batch.append((t, opts, item))
        invoke_all = getattr(self._invoke, "all", None)
        if invoke_all is not None:
            calls = [(t.function, item.event, t.name, item.hops) for t, _, item in batch]
            invoke_all(calls, lambda i, resp: self._settle(*batch[i], resp), self._workers)
            return
        for t, opts, item in batch:
            started = time.perf_counter()
            resp = self._invoke(
                t.function, orjson.Fragment(item.event), asynchronous=True, trigger=t.name, hops=item.hops
            )
            self._settle(t, opts, item, resp, started)

    def _settle(
        self, t: Trigger, opts: AsyncOptions, item: QueueItem, resp: Response, started: float | None = None
    ) -> None:
        now = self._clock()
        if item.records is not None:
            records = item.records
        else:
            records = len(orjson.loads(item.event).get("Records", ())) if t.kind != "schedule" else 1
        self._delivered(t, resp, records, started)
        if resp.throttled or resp.function_error is not None:
            self._due_at.pop(t.name, None)
        if resp.throttled:
            self._queue.retry(item, now + 1.0, None, count=False)
        elif resp.function_error is None:
            # Acknowledged with the rest of this step's successes in one transaction (see
            # _acknowledge): a crash before that commit delivers the event again, which
            # at-least-once allows, and a commit per event would cost more than the invocation.
            self._succeeded.append((t, opts, item, resp, now))
        elif item.attempts < opts.retry_attempts:
            self._queue.retry(item, now + opts.delay(item.attempts + 1), resp.payload)
        else:
            self._fail(t, opts, item, "RetriesExhausted", resp, now)

    def _fail(
        self, t: Trigger, opts: AsyncOptions, item: QueueItem, condition: str, resp: Response | None, now: float
    ) -> None:
        with self._db.write() as con:
            if opts.on_failure:
                self._queue.done(con, item)
                self._send(opts.on_failure, self._record(t, item, condition, resp, now), now, hops=item.hops + 1)
            else:
                self._queue.bury(con, item, t.function, condition, resp.payload if resp else None, now)

    def _record(self, t: Trigger, item: QueueItem, condition: str, resp: Response | None, now: float) -> dict:
        return destinations.invocation_record(
            function=t.function,
            request_id=(resp.request_id if resp else "") or str(uuid.uuid4()),
            condition=condition,
            invoke_count=item.attempts + (1 if resp is not None else 0),
            # The payloads as the caller and the function wrote them, not decoded and encoded again:
            # orjson cannot encode an integer beyond 64 bits, which Python's json gave the function.
            request_payload=orjson.Fragment(item.event),
            response_payload=None if resp is None else orjson.Fragment(resp.raw) if resp.raw else resp.payload,
            function_error=resp.function_error if resp else None,
            ts=now,
        )

    def _acknowledge(self, completed: bool) -> None:
        """Remove this step's successfully delivered events from the queue, sending their
        on-success records, and move the checkpoints of the records delivered straight from the
        log, in one transaction. ``completed`` is False when a task of the step raised: those
        checkpoints then stay, and the step's records are delivered again (at least once)."""
        done, self._succeeded = self._succeeded, []
        advance, self._advance = self._advance, {}
        if not completed:
            advance = {}
        if not done and not advance:
            return
        with self._db.write() as con:
            for t, opts, item, resp, now in done:
                if item.id != NOT_QUEUED:
                    self._queue.done(con, item)
                if opts.on_success:
                    self._send(opts.on_success, self._record(t, item, "Success", resp, now), now, hops=item.hops + 1)
            for trigger, position in advance.items():
                self._save(con, trigger, "", position)
        if self._exclusive:
            self._positions.update(advance)  # committed

    def _delivered(self, t: Trigger, resp: Response, records: int, started: float | None = None) -> None:
        if self._on_delivery is not None and not resp.throttled:
            ok = resp.function_error is None
            error = None
            if not ok and isinstance(resp.payload, dict):
                error = resp.payload.get("errorType")
            if resp.duration_ms is not None:
                duration = resp.duration_ms
            else:
                duration = (time.perf_counter() - started) * 1000 if started is not None else 0.0
            self._on_delivery(Delivery(t.name, t.function, ok, records, self._clock(), duration, error))

    # -- destinations -----------------------------------------------------------------------------

    def _send(self, dest: str, record: dict[str, Any], now: float, *, hops: int) -> None:
        """Deliver a destination record, inside the caller's write transaction when there is one,
        so the record and the queue or checkpoint change that produced it commit together. A
        function destination continues the chain (``hops``), so destination loops are caught too."""
        kind, _, target = dest.partition(":")
        body = orjson.dumps(record)
        if kind == "function":
            trig = self._invoke_trigger(target)
            with self._db.write() as con:
                self._queue.enqueue(con, trig.name, [body], now, hops=hops)
            self._due_at.pop(trig.name, None)
        elif kind == "topic":
            self._store.publish(target, body.decode())
        elif kind == "stream":
            self._store.put_records(target, [(body, record.get("requestContext", {}).get("requestId") or "x", None)])
        elif kind == "bucket":
            bucket, _, prefix = target.partition("/")
            rid = record.get("requestContext", {}).get("requestId", str(uuid.uuid4()))
            key = f"{prefix}{iso_ms(now)}-{rid}.json" if not prefix or prefix.endswith("/") else f"{prefix}/{rid}.json"
            self._store.put_object(bucket, key, body, content_type="application/json")
        else:  # pragma: no cover - refused when the trigger was declared
            raise NotFound(f"unknown destination {dest!r}")

    def _invoke_trigger(self, function: str) -> Trigger:
        trig = self._invoke_triggers.get(function)
        if trig is None:
            trig = Trigger(f"{function}:invoke", function, "invoke", function, AsyncOptions())
            self._invoke_triggers[function] = trig
        return trig

    def invoke_async(self, function: str, payload: bytes) -> None:
        """Queue an asynchronous (``Event``) invocation with Lambda's retry rules. Raises
        ValidationError, queueing nothing, when ``payload`` is not JSON."""
        try:
            orjson.loads(payload)
        except orjson.JSONDecodeError as e:
            raise ValidationError(f"Could not parse request body into json: {e}") from None
        trig = self._invoke_trigger(function)
        with self._db.write() as con:
            self._queue.enqueue(con, trig.name, [payload], self._clock(), hops=1)
        self._due_at.pop(trig.name, None)

    # -- schedules --------------------------------------------------------------------------------

    def _next_fire(self, t: Trigger, now: float) -> float:
        saved = self._checkpoint(t.name, "")
        last = saved[0] / 1000.0 if saved else now
        assert t.schedule is not None
        nxt = t.schedule.next_after(last)
        return INF if nxt is None else nxt

    def _tick(self, t: Trigger, now: float) -> float:
        assert t.schedule is not None
        saved = self._checkpoint(t.name, "")
        assert saved is not None  # start() pinned it
        last = saved[0] / 1000.0
        due = t.schedule.next_after(last)
        if due is None:
            return INF
        if due > now:
            return due
        # Fire once for the latest missed time, not once per missed time after downtime.
        fire = due
        for _ in range(10_000):
            n = t.schedule.next_after(fire)
            if n is None or n > now:
                break
            fire = n
        event = orjson.dumps(schedule.event(_rule_name(t), ts=fire))
        with self._db.write() as con:
            self._queue.enqueue(con, t.name, [event], now, hops=1)
            self._save(con, t.name, "", int(fire * 1000))
        self._due_at.pop(t.name, None)
        nxt = t.schedule.next_after(fire)
        return INF if nxt is None else nxt

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    # -- introspection ----------------------------------------------------------------------------

    def lag(self) -> dict[str, int]:
        """Per trigger, how many change records wait behind its checkpoint(s)."""
        out: dict[str, int] = {}
        for t in self.triggers.values():
            if t.kind == "schedule":
                continue
            rows = self._db.con.execute("SELECT MIN(position) FROM checkpoints WHERE trigger=?", (t.name,)).fetchone()
            pos = rows[0] if rows and rows[0] is not None else self._log.latest([t.log_source])
            (n,) = self._db.con.execute(
                "SELECT COUNT(*) FROM changes WHERE source=? AND seq>?", (t.log_source, pos)
            ).fetchone()
            out[t.name] = n + self._queue.depth(t.name)
        return out


def _by_size(records: list[tuple[Change, bytes]], limit: int) -> list[list[tuple[Change, bytes]]]:
    """Split a batch so that each event stays under ``limit`` bytes of JSON."""
    groups: list[list[tuple[Change, bytes]]] = [[]]
    size = 0
    for cr in records:
        n = len(cr[1]) + 1
        if groups[-1] and size + n > limit:
            groups.append([])
            size = 0
        groups[-1].append(cr)
        size += n
    return groups


def _rule_name(t: Trigger) -> str:
    """An EventBridge-shaped rule name per schedule trigger (64 characters at most)."""
    return f"{t.function[:50]}-{zlib.crc32(t.source.encode()):08x}"


def _subscription(t: Trigger) -> str:
    # A stable subscription id per trigger, shaped like SNS's.
    return str(uuid.uuid5(uuid.NAMESPACE_URL, t.name))
