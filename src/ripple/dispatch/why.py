"""``ripple why FUNCTION``: for each of a function's triggers, what it has seen, what it did with it,
and what went wrong — the answer to "why didn't my function fire?"."""

from __future__ import annotations

from typing import Any

from ripple.app import App
from ripple.client import Client
from ripple.dispatch.asyncq import AsyncQueue
from ripple.dispatch.dispatcher import Dispatcher
from ripple.dispatch.filters import compile_filters
from ripple.dispatch.options import StreamOptions
from ripple.dispatch.triggers import Trigger
from ripple.errors import NotFound


def _verdict(d: Dispatcher, t: Trigger, record: dict[str, Any]) -> str | None:
    """None when the trigger takes the record, else why not."""
    if t.kind == "object":
        assert t.rule is not None
        name, key = record["eventName"], record["s3"]["object"]["key"]
        if f"s3:{name}" not in t.rule.events:
            return f"event {name} is not one of {', '.join(sorted(t.rule.events))}"
        if not key.startswith(t.rule.prefix):
            return f"key {key!r} does not start with prefix {t.rule.prefix!r}"
        if not key.endswith(t.rule.suffix):
            return f"key {key!r} does not end with suffix {t.rule.suffix!r}"
        return None
    if t.kind == "topic":
        return None if t.filter_policy is None or t.filter_policy(record) else "filter policy did not match"
    if isinstance(t.options, StreamOptions) and t.options.filters:
        passes = compile_filters(list(t.options.filters))
        return None if passes is None or passes(record) else "no filter pattern matched"
    return None


def explain(app: App, client: Client, function: str, *, recent: int = 5) -> dict[str, Any]:
    """A report on ``function``'s triggers. Raises NotFound for an unknown function."""
    app.get_function(function)
    d = Dispatcher(client, app.triggers, invoke=None)  # type: ignore[arg-type] - nothing is invoked
    queue = AsyncQueue(client.store._db)
    lag = d.lag()
    out: dict[str, Any] = {"function": function, "triggers": []}
    for t in app.triggers:
        if t.function != function:
            continue
        entry: dict[str, Any] = {"trigger": t.name, "kind": t.kind, "source": t.source}
        rows = client.store._db.con.execute(
            "SELECT lane, position, attempts FROM checkpoints WHERE trigger=?", (t.name,)
        ).fetchall()
        entry["checkpoints"] = [{"lane": lane, "position": p, "failed_attempts": a} for lane, p, a in rows]
        if not rows:
            entry["note"] = "not started: no platform has run this trigger yet (ripple dev / serve)"
        if t.kind == "schedule":
            nxt = d.next_timer()
            entry["next_fire"] = None if nxt == float("inf") else nxt
        else:
            try:
                latest = client.log.latest([t.log_source])
                changes = client.log.read(max(latest - 500, client.log.horizon([t.log_source])),
                                          sources=[t.log_source], limit=500)[-recent:]  # fmt: skip
            except NotFound:
                changes = []
            done = min((p for _, p, _ in rows), default=None)
            entry["lag"] = lag.get(t.name, 0)
            entry["recent"] = [
                {
                    "seq": c.seq,
                    "partition": c.partition,
                    "taken": (v := _verdict(d, t, c.record)) is None,
                    "why_not": v,
                    "processed": done is not None and c.seq <= done,
                }
                for c in changes
            ]
        entry["queued"] = queue.depth(t.name)
        entry["dead_letters"] = len([x for x in queue.dead_letters(function) if x.trigger == t.name])
        out["triggers"].append(entry)
    from ripple.runtime import records

    store = records.SqliteRecordStore.in_state(client.store.folder)
    try:
        failed = (records.ERROR, records.TIMEOUT, records.OUT_OF_MEMORY, records.CRASHED)
        errors = store.invocations(function, statuses=failed, limit=3)
    finally:
        store.close()
    out["last_errors"] = [
        {"request_id": r.request_id, "trigger": r.trigger, "status": r.status, "error_type": r.error_type,
         "error_message": r.error_message, "start": r.start}
        for r in errors
    ]  # fmt: skip
    if not out["triggers"]:
        out["note"] = f"function {function!r} has no triggers: it runs only when invoked (ripple invoke)"
    return out
