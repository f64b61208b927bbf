"""``ripple invoke``, ``ripple logs`` and ``ripple invocations``: click commands over the runtime.

The main CLI registers :data:`COMMANDS`. Exit codes: 0 success, 1 a ripple error (one line on stderr),
2 a usage error (click's), 3 the function failed (``invoke`` still prints its error payload).
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson

from ripple import config
from ripple.errors import RippleError
from ripple.runtime.loader import load_app
from ripple.runtime.records import STATUSES, LogLine, SqliteRecordStore

EXIT_OK, EXIT_ERROR, EXIT_FUNCTION_ERROR = 0, 1, 3
#: How often ``logs -f`` looks for new lines, in seconds (the goal is a line on screen within 100 ms).
FOLLOW_POLL_S = 0.02

F = TypeVar("F", bound=Callable[..., Any])

app_option = click.option(
    "--app",
    "app_spec",
    default=None,
    metavar="PATH_OR_MODULE[:ATTR]",
    help="The app (default: app.py in the current directory).",
)
state_option = click.option(
    "--state", default=None, metavar="DIR", help="State folder (default: $RIPPLE_STATE, else ./.ripple)."
)


def _ripple_errors(fn: F) -> F:
    """Print a RippleError as one line and exit 1: never a traceback for a user mistake."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except RippleError as exc:
            click.echo(f"ripple: {exc.code}: {exc}", err=True)
            sys.exit(EXIT_ERROR)

    return wrapper  # type: ignore[return-value]


@click.command("invoke")
@click.argument("function")
@click.argument("stdin", required=False, metavar="[-]")
@click.option("--payload", default=None, metavar="JSON", help="The event, as JSON.")
@click.option("--payload-file", type=click.File("rb"), default=None, help="Read the event from a file.")
@click.option(
    "--type",
    "invocation_type",
    type=click.Choice(["RequestResponse", "Event", "DryRun"]),
    default="RequestResponse",
    show_default=True,
)
@click.option(
    "--log-type",
    type=click.Choice(["None", "Tail"]),
    default="None",
    show_default=True,
    help="Tail: print the last 4 KB of the invocation's log to stderr.",
)
@app_option
@state_option
@_ripple_errors
def invoke(
    function: str,
    stdin: str | None,
    payload: str | None,
    payload_file: Any,
    invocation_type: str,
    log_type: str,
    app_spec: str | None,
    state: str | None,
) -> None:
    """Invoke FUNCTION once, with the Invoke API's semantics; `-` reads the event from stdin.

    The result (or, if the function failed, Lambda's error object) goes to stdout; a failed function
    exits 3. An Event invocation prints nothing (it runs to completion before the command returns).
    """
    from ripple.runtime.pool import Pool

    if stdin is not None and stdin != "-":
        # Usually `ripple invoke app.py fn`: the app goes in --app.
        raise click.UsageError(
            f"unexpected argument {stdin!r} after FUNCTION {function!r}: give one FUNCTION, the app "
            "with --app PATH, and - to read the event from stdin"
        )
    sources = [s for s in (payload is not None, payload_file is not None, stdin is not None) if s]
    if len(sources) > 1:
        raise click.UsageError("give at most one of --payload, --payload-file and -")
    body = (
        payload.encode()
        if payload is not None
        else payload_file.read()
        if payload_file is not None
        else sys.stdin.buffer.read()
        if stdin == "-"
        else b""
    )
    app = load_app(app_spec)
    app.get_function(function)
    with Pool(app, state=state, spare=False) as pool:  # one invocation: a spare would be wasted
        result = pool.invoke(function, body, invocation_type=invocation_type, log_type=log_type)
    if result.log_result is not None:
        click.echo(result.log_result, err=True, nl=False)
    if invocation_type == "RequestResponse":
        click.echo(result.payload.decode("utf-8", "replace"))
    if result.function_error and invocation_type == "RequestResponse":
        sys.exit(EXIT_FUNCTION_ERROR)


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(value: str, *, now: float | None = None) -> float:
    """``30s``/``10m``/``2h``/``1d``/``1w`` ago, or an ISO 8601 time (UTC if no zone), as epoch seconds.

    Raises:
        click.BadParameter: naming the value.
    """
    now = time.time() if now is None else now
    m = _DURATION.match(value.strip())
    if m:
        return now - float(m.group(1)) * _UNITS[m.group(2)]
    try:
        when = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is neither a duration like 10m nor an ISO 8601 time") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _print_log(line: LogLine, as_json: bool) -> None:
    if as_json:
        obj = {
            "timestamp": _iso(line.timestamp),
            "function": line.function,
            "requestId": line.request_id,
            "message": line.message,
        }
        sys.stdout.write(orjson.dumps(obj).decode() + "\n")
    else:
        sys.stdout.write(f"{_iso(line.timestamp)} {line.message}\n")


def _store(state: str | None) -> SqliteRecordStore | None:
    path = Path(config.state_path(state)) / "runtime.sqlite3"
    return SqliteRecordStore(path) if path.exists() else None


@click.command("logs")
@click.argument("function")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines as they are written.")
@click.option("--since", default=None, metavar="10m|ISO-TIME", help="Only lines from this long ago, or this time.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@state_option
@_ripple_errors
def logs(function: str, follow: bool, since: str | None, as_json: bool, state: str | None) -> None:
    """Print FUNCTION's log: handler output between START, END and REPORT lines."""
    since_ts = parse_since(since) if since else None
    store = _store(state)
    if store is None and follow:
        store = SqliteRecordStore.in_state(config.state_path(state))
    if store is None:
        click.echo(f"ripple: nothing has run with the state folder {config.state_path(state)} yet", err=True)
        return
    last = 0
    try:
        while True:
            batch = store.logs(function, after_id=last, since=since_ts, limit=5000)
            for line in batch:
                _print_log(line, as_json)
            if batch:
                last = batch[-1].id
                sys.stdout.flush()
                continue
            if not follow:
                if not last and not store.invocations(function=function, limit=1):
                    # An empty log is also what a misspelt name gives: say which it is.
                    click.echo(f"ripple: {function!r} has no invocations recorded in this state folder", err=True)
                return
            time.sleep(FOLLOW_POLL_S)
    except KeyboardInterrupt:
        pass
    finally:
        store.close()


@click.command("invocations")
@click.argument("function", required=False)
@click.option(
    "--status", "statuses", multiple=True, type=click.Choice(STATUSES), help="Only these statuses (repeatable)."
)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per record.")
@state_option
@_ripple_errors
def invocations(function: str | None, statuses: tuple[str, ...], limit: int, as_json: bool, state: str | None) -> None:
    """List invocation records, newest first: request id, function, trigger, start, duration, billed
    duration, memory, status and error."""
    store = _store(state)
    if store is None:
        return
    try:
        rows = store.invocations(function, statuses=statuses, limit=limit)
    finally:
        store.close()
    if as_json:
        for r in rows:
            click.echo(orjson.dumps(r._asdict()).decode())
        return
    header = (
        f"{'START':24} {'REQUEST ID':36} {'FUNCTION':20} {'TRIGGER':10} {'STATUS':13} "
        f"{'DURATION':>10} {'BILLED':>8} {'MEMORY':>11}  ERROR"
    )
    click.echo(header)
    for r in rows:
        error = f"{r.error_type}: {r.error_message}" if r.error_type else ""
        click.echo(
            f"{_iso(r.start):24} {r.request_id:36} {r.function:20.20} {r.trigger:10.10} {r.status:13} "
            f"{r.duration_ms:>8.2f}ms {r.billed_duration_ms:>6}ms "
            f"{r.max_memory_used_mb:>4}/{r.memory_size_mb:<4}MB  {error[:120]}"
        )


COMMANDS: list[click.Command] = [invoke, logs, invocations]
