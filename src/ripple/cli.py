"""The ``ripple`` command: a thin layer over the library.

Human-readable output by default, ``--json`` for scripts. A user mistake prints one line naming the
problem and exits 1 (usage errors exit 2), never a traceback.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ripple.errors import RippleError, ValidationError
from ripple.events import SAMPLE_KINDS


class _OnFirstUse:
    """A module imported when first used: ``ripple site build`` (as ``python -m ripple.site``)
    must start without the Decimal JSON and the rest that only other commands need."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)


jsonfmt: Any = _OnFirstUse("ripple.jsonfmt")


class Ctx:
    def __init__(self, state: str | None, as_json: bool):
        self.state = state
        self.as_json = as_json
        self._client = None

    @property
    def client(self):
        if self._client is None:
            import ripple

            self._client = ripple.connect(self.state)
        return self._client

    def out(self, value: Any, human: Callable[[Any], str] | str | None = None) -> None:
        if self.as_json:
            click.echo(jsonfmt.dumps(value))
        elif human is None:
            click.echo(jsonfmt.dumps(value, pretty=True))
        else:
            text = human(value) if callable(human) else human
            if text:
                click.echo(text)


pass_ctx = click.make_pass_decorator(Ctx)

#: Set by :func:`run`, the ``ripple`` console command: this process is the command and nothing else,
#: so a command may leave with ``os._exit`` once its work is committed and printed (``site build``).
STANDALONE = False


def run() -> None:
    """The ``ripple`` console command: :func:`main` in a process of its own."""
    global STANDALONE
    was, STANDALONE = STANDALONE, True
    try:
        main()
    finally:  # main() ends in SystemExit; a caller in-process (a test) gets the flag back as it was
        STANDALONE = was


def _fail(msg: str) -> None:
    click.echo(f"error: {msg}", err=True)
    sys.exit(1)


class RippleGroup(click.Group):
    """Turns every RippleError (and an unwritable terminal) into one line and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RippleError as e:
            _fail(str(e))
        except BrokenPipeError:
            sys.stderr.close()
            sys.exit(1)
        except KeyboardInterrupt:
            sys.exit(130)


@click.group(cls=RippleGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--state", envvar="RIPPLE_STATE", help="State folder (default ./.ripple; env RIPPLE_STATE).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output.")
@click.version_option(package_name="ripple")
@click.pass_context
def main(ctx: click.Context, state: str | None, as_json: bool) -> None:
    """ripple: reactive functions on your own machines, the AWS Lambda model without AWS."""
    if state:
        # Every subcommand, and every sandbox they start, finds the same state folder; restored when
        # the command ends, for callers that run commands in-process (tests, scripts).
        previous = os.environ.get("RIPPLE_STATE")
        os.environ["RIPPLE_STATE"] = state
        ctx.call_on_close(
            lambda: (
                os.environ.__setitem__("RIPPLE_STATE", previous)
                if previous is not None
                else os.environ.pop("RIPPLE_STATE", None)
            )
        )
    ctx.obj = Ctx(state, as_json)
    ctx.call_on_close(lambda: ctx.obj._client and ctx.obj._client.close())


# --- buckets ---------------------------------------------------------------------------------------


def parse_s3(url: str) -> tuple[str, str] | None:
    """``s3://bucket/key`` → (bucket, key); None for a local path."""
    if not url.startswith("s3://"):
        return None
    rest = url[5:]
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise ValidationError(f"{url!r} names no bucket; expected s3://BUCKET/KEY")
    return bucket, key


@main.group()
def bucket() -> None:
    """Buckets and objects (S3 semantics)."""


@bucket.command("mb")
@click.argument("name")
@click.option("--website", is_flag=True, help="Serve this bucket as a website.")
@click.option("--index", default="index.html", show_default=True, help="Website index document.")
@click.option("--error-document", default=None, help="Website error document key.")
@pass_ctx
def bucket_mb(c: Ctx, name: str, website: bool, index: str, error_document: str | None) -> None:
    """Make a bucket: NAME or s3://NAME."""
    name = (parse_s3(name) or (name, ""))[0]
    site = {"index": index, "error": error_document} if website else None
    info = c.client.store.create_bucket(name, website=site)
    c.out({"bucket": info.name, "website": info.website}, f"make_bucket: {name}")


@bucket.command("rb")
@click.argument("name")
@pass_ctx
def bucket_rb(c: Ctx, name: str) -> None:
    """Remove an empty bucket."""
    name = (parse_s3(name) or (name, ""))[0]
    c.client.store.delete_bucket(name)
    c.out({"removed": name}, f"remove_bucket: {name}")


@bucket.command("ls")
@click.argument("url", required=False)
@click.option("-r", "--recursive", is_flag=True, help="List every key, not one level.")
@pass_ctx
def bucket_ls(c: Ctx, url: str | None, recursive: bool) -> None:
    """List buckets, or the objects under s3://BUCKET/PREFIX."""
    if not url:
        rows = [{"name": b.name, "created": b.created, "website": b.website is not None} for b in c.client.buckets()]
        c.out(rows, lambda rs: "\n".join(f"{_ts(r['created'])}  {r['name']}" for r in rs))
        return
    b, prefix = parse_s3(url) or (url, "")
    store = c.client.store
    token = None
    while True:
        page = store.list_objects(b, prefix=prefix, delimiter=None if recursive else "/", continuation_token=token)
        for p in page.common_prefixes:
            c.out({"prefix": p}, f"{'PRE':>30} {p}")
        for o in page.contents:
            c.out(
                {"key": o.key, "size": o.size, "etag": o.etag, "last_modified": o.last_modified},
                f"{_ts(o.last_modified)} {o.size:>10} {o.key}",
            )
        if not page.is_truncated:
            break
        token = page.next_continuation_token


def _ts(t: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")


def _local_target(root: Path, rel: str) -> Path:
    """Where key suffix ``rel`` lands under ``root``; refuses anything that would escape it."""
    target = (root / rel).resolve()
    base = root.resolve()
    if rel.startswith("/") or (target != base and base not in target.parents):
        raise ValidationError(f"key {rel!r} would be written outside {root}; refusing to copy it")
    return target


@bucket.command("cp")
@click.argument("src")
@click.argument("dst")
@click.option("-r", "--recursive", is_flag=True, help="Copy a folder or a whole prefix.")
@click.option("--content-type", default=None, help="Content type (default: guessed from the name).")
@pass_ctx
def bucket_cp(c: Ctx, src: str, dst: str, recursive: bool, content_type: str | None) -> None:
    """Copy between local files and s3://BUCKET/KEY, in either direction (or bucket to bucket)."""
    s, d = parse_s3(src), parse_s3(dst)
    store = c.client.store
    pairs: list[tuple[Any, Any]] = []
    if s is None and d is None:
        raise ValidationError("one of SRC and DST must be an s3:// URL")
    if s is None:  # upload
        path = Path(src)
        if path.is_dir():
            if not recursive:
                raise ValidationError(f"{src} is a folder; use --recursive")
            prefix = d[1] if not d[1] or d[1].endswith("/") else d[1] + "/"
            files = sorted(p for p in path.rglob("*") if p.is_file())
            pairs = [(p, (d[0], prefix + p.relative_to(path).as_posix())) for p in files]
        elif path.is_file():
            key = d[1] + path.name if (not d[1] or d[1].endswith("/")) else d[1]
            pairs = [(path, (d[0], key))]
        else:
            raise ValidationError(f"no such local file or folder: {src}")
        import mimetypes

        for p, (b, k) in pairs:
            ctype = content_type or mimetypes.guess_type(p.name)[0]
            with open(p, "rb") as f:
                store.put_object(b, k, f, content_type=ctype)
            c.out({"upload": str(p), "to": f"s3://{b}/{k}"}, f"upload: {p} to s3://{b}/{k}")
        return
    if recursive:
        keys = [o for o in _all_objects(store, s[0], s[1])]
        if not keys:
            raise ValidationError(f"nothing under s3://{s[0]}/{s[1]}")
        items = [(o, o[len(s[1]) :].lstrip("/") if s[1] else o) for o in keys]
    else:
        items = [(s[1], None)]
    for key, rel in items:
        if d is not None:  # bucket to bucket
            dkey = (d[1] + (rel or key.rsplit("/", 1)[-1])) if (not d[1] or d[1].endswith("/")) else d[1]
            store.copy_object(s[0], key, d[0], dkey, content_type=content_type)
            c.out(
                {"copy": f"s3://{s[0]}/{key}", "to": f"s3://{d[0]}/{dkey}"},
                f"copy: s3://{s[0]}/{key} to s3://{d[0]}/{dkey}",
            )
            continue
        target = Path(dst)
        if rel is not None:
            target = _local_target(target, rel)
        elif target.is_dir() or dst.endswith("/"):
            target = _local_target(target, key.rsplit("/", 1)[-1])
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".ripple-part")
        with store.get_object(s[0], key) as body, open(tmp, "wb") as f:
            for chunk in body.iter_chunks():
                f.write(chunk)
        os.replace(tmp, target)
        c.out({"download": f"s3://{s[0]}/{key}", "to": str(target)}, f"download: s3://{s[0]}/{key} to {target}")


def _all_objects(store: Any, bucket: str, prefix: str) -> list[str]:
    keys, token = [], None
    while True:
        page = store.list_objects(bucket, prefix=prefix, continuation_token=token)
        keys += [o.key for o in page.contents]
        if not page.is_truncated:
            return keys
        token = page.next_continuation_token


@bucket.command("rm")
@click.argument("url")
@click.option("-r", "--recursive", is_flag=True, help="Remove every key under the prefix.")
@pass_ctx
def bucket_rm(c: Ctx, url: str, recursive: bool) -> None:
    """Remove s3://BUCKET/KEY (or, with -r, everything under a prefix)."""
    s = parse_s3(url)
    if s is None:
        raise ValidationError(f"{url!r} is not an s3:// URL")
    store = c.client.store
    keys = _all_objects(store, s[0], s[1]) if recursive else [s[1]]
    for key in keys:
        if store.delete_object(s[0], key):
            c.out({"delete": f"s3://{s[0]}/{key}"}, f"delete: s3://{s[0]}/{key}")
        elif not recursive:
            c.out({"delete": f"s3://{s[0]}/{key}", "existed": False}, f"delete: s3://{s[0]}/{key} (no such key)")


# --- tables ----------------------------------------------------------------------------------------


@main.group()
def table() -> None:
    """Tables (DynamoDB semantics). Items are JSON; numbers keep every digit."""


def _item(text: str, what: str) -> dict[str, Any]:
    value = jsonfmt.loads(text, what)
    if not isinstance(value, dict):
        raise ValidationError(f"{what} must be a JSON object, not {type(value).__name__}")
    return value


def _opt_json(text: str | None, what: str) -> dict[str, Any] | None:
    return None if text is None else _item(text, what)


@table.command("create")
@click.argument("name")
@click.option("--hash-key", required=True, help="NAME:TYPE, e.g. event_key:S")
@click.option("--range-key", default=None, help="NAME:TYPE, e.g. start_timestamp:N")
@click.option("--stream", default=None, help="KEYS_ONLY | NEW_IMAGE | OLD_IMAGE | NEW_AND_OLD_IMAGES")
@pass_ctx
def table_create(c: Ctx, name: str, hash_key: str, range_key: str | None, stream: str | None) -> None:
    spec = c.client.store.create_table(name, hash_key=hash_key, range_key=range_key, stream=stream)
    c.out(_spec(spec), f"created table {name}")


def _spec(spec: Any) -> dict[str, Any]:
    return {
        "name": spec.name,
        "hash_key": f"{spec.hash_key}:{spec.hash_type}",
        "range_key": f"{spec.range_key}:{spec.range_type}" if spec.range_key else None,
        "stream": spec.stream_view,
        "stream_arn": spec.stream_arn,
        "items": spec.item_count,
        "created": spec.created,
    }


@table.command("describe")
@click.argument("name")
@pass_ctx
def table_describe(c: Ctx, name: str) -> None:
    c.out(_spec(c.client.store.describe_table(name)))


@table.command("ls")
@pass_ctx
def table_ls(c: Ctx) -> None:
    c.out(c.client.tables(), lambda names: "\n".join(names))


@table.command("drop")
@click.argument("name")
@pass_ctx
def table_drop(c: Ctx, name: str) -> None:
    """Delete a table and all its items."""
    c.client.store.delete_table(name)
    c.out({"dropped": name}, f"dropped table {name}")


def _expr_opts(f: Callable) -> Callable:
    f = click.option("--names", default=None, help="Expression attribute names, JSON.")(f)
    f = click.option("--values", default=None, help="Expression attribute values, JSON.")(f)
    return f


@table.command("put")
@click.argument("name")
@click.argument("item")
@click.option("--condition", default=None)
@_expr_opts
@pass_ctx
def table_put(c: Ctx, name: str, item: str, condition: str | None, names: str | None, values: str | None) -> None:
    """Put ITEM (a JSON object)."""
    c.client.store.put_item(
        name,
        _item(item, "item"),
        condition=condition,
        names=_opt_json(names, "--names"),
        values=_opt_json(values, "--values"),
    )
    c.out({"ok": True}, "")


@table.command("get")
@click.argument("name")
@click.argument("key")
@click.option("--projection", default=None)
@click.option("--names", default=None, help="Expression attribute names, JSON.")
@pass_ctx
def table_get(c: Ctx, name: str, key: str, projection: str | None, names: str | None) -> None:
    """Get the item at KEY (a JSON object of the key attributes)."""
    item = c.client.store.get_item(name, _item(key, "key"), projection=projection, names=_opt_json(names, "--names"))
    if item is None:
        _fail(f"no item with key {key} in table {name!r}")
    c.out(item)


@table.command("delete")
@click.argument("name")
@click.argument("key")
@click.option("--condition", default=None)
@_expr_opts
@pass_ctx
def table_delete(c: Ctx, name: str, key: str, condition: str | None, names: str | None, values: str | None) -> None:
    """Delete the item at KEY."""
    c.client.store.delete_item(
        name,
        _item(key, "key"),
        condition=condition,
        names=_opt_json(names, "--names"),
        values=_opt_json(values, "--values"),
    )
    c.out({"ok": True}, "")


@table.command("update")
@click.argument("name")
@click.argument("key")
@click.option("--update", "update_expr", required=True)
@click.option("--condition", default=None)
@_expr_opts
@pass_ctx
def table_update(
    c: Ctx, name: str, key: str, update_expr: str, condition: str | None, names: str | None, values: str | None
) -> None:
    """Apply an update expression to the item at KEY; prints the new item."""
    item = c.client.store.update_item(
        name,
        _item(key, "key"),
        update=update_expr,
        condition=condition,
        names=_opt_json(names, "--names"),
        values=_opt_json(values, "--values"),
        return_values="ALL_NEW",
    )
    c.out(item)


def _page_out(c: Ctx, page: Any) -> None:
    if c.as_json:
        c.out(
            {
                "Items": page.items,
                "Count": page.count,
                "ScannedCount": page.scanned_count,
                "LastEvaluatedKey": page.last_evaluated_key,
            }
        )
    else:
        for item in page.items:
            click.echo(jsonfmt.dumps(item))
        if page.last_evaluated_key is not None:
            click.echo(f"-- more: --start-key '{jsonfmt.dumps(page.last_evaluated_key)}'", err=True)


@table.command("query")
@click.argument("name")
@click.option("--key-condition", required=True)
@click.option("--filter", "filter_expr", default=None)
@click.option("--projection", default=None)
@_expr_opts
@click.option("--limit", type=int, default=None)
@click.option("--backward", is_flag=True, help="Descending range-key order.")
@click.option("--start-key", default=None, help="LastEvaluatedKey of the previous page, JSON.")
@pass_ctx
def table_query(
    c: Ctx,
    name: str,
    key_condition: str,
    filter_expr: str | None,
    projection: str | None,
    names: str | None,
    values: str | None,
    limit: int | None,
    backward: bool,
    start_key: str | None,
) -> None:
    page = c.client.store.query(
        name,
        key_condition=key_condition,
        filter=filter_expr,
        projection=projection,
        names=_opt_json(names, "--names"),
        values=_opt_json(values, "--values"),
        forward=not backward,
        limit=limit,
        start_key=_opt_json(start_key, "--start-key"),
    )
    _page_out(c, page)


@table.command("scan")
@click.argument("name")
@click.option("--filter", "filter_expr", default=None)
@click.option("--projection", default=None)
@_expr_opts
@click.option("--limit", type=int, default=None)
@click.option("--start-key", default=None, help="LastEvaluatedKey of the previous page, JSON.")
@pass_ctx
def table_scan(
    c: Ctx,
    name: str,
    filter_expr: str | None,
    projection: str | None,
    names: str | None,
    values: str | None,
    limit: int | None,
    start_key: str | None,
) -> None:
    page = c.client.store.scan(
        name,
        filter=filter_expr,
        projection=projection,
        names=_opt_json(names, "--names"),
        values=_opt_json(values, "--values"),
        limit=limit,
        start_key=_opt_json(start_key, "--start-key"),
    )
    _page_out(c, page)


# --- streams and topics ----------------------------------------------------------------------------


@main.group()
def stream() -> None:
    """Record streams (Kinesis semantics)."""


@stream.command("create")
@click.argument("name")
@click.option("--shards", type=int, default=1, show_default=True)
@click.option("--retention-hours", type=float, default=24, show_default=True)
@pass_ctx
def stream_create(c: Ctx, name: str, shards: int, retention_hours: float) -> None:
    spec = c.client.store.create_stream(name, shards=shards, retention_hours=retention_hours)
    c.out({"name": spec.name, "shards": spec.shards, "arn": spec.arn}, f"created stream {name} ({shards} shards)")


@stream.command("put")
@click.argument("name")
@click.argument("data")
@click.option("--partition-key", "-k", required=True)
@pass_ctx
def stream_put(c: Ctx, name: str, data: str, partition_key: str) -> None:
    """Put DATA (text; '-' reads bytes from standard input)."""
    payload = sys.stdin.buffer.read() if data == "-" else data.encode()
    res = c.client.stream(name).put(payload, partition_key=partition_key)
    c.out({"ShardId": res.shard_id, "SequenceNumber": res.sequence_number}, f"{res.shard_id} {res.sequence_number}")


@stream.command("ls")
@pass_ctx
def stream_ls(c: Ctx) -> None:
    c.out(c.client.streams(), lambda names: "\n".join(names))


@main.group()
def topic() -> None:
    """Pub/sub topics (SNS semantics)."""


@topic.command("create")
@click.argument("name")
@pass_ctx
def topic_create(c: Ctx, name: str) -> None:
    arn = c.client.store.create_topic(name)
    c.out({"TopicArn": arn}, arn)


@topic.command("publish")
@click.argument("name")
@click.argument("message")
@click.option("--subject", default=None)
@click.option("--attr", "attrs", multiple=True, help="NAME=VALUE message attribute (repeatable).")
@pass_ctx
def topic_publish(c: Ctx, name: str, message: str, subject: str | None, attrs: tuple[str, ...]) -> None:
    attributes = {}
    for a in attrs:
        k, sep, v = a.partition("=")
        if not sep:
            raise ValidationError(f"--attr {a!r} must look like NAME=VALUE")
        attributes[k] = v
    mid = c.client.topic(name).publish(message, subject=subject, attributes=attributes)
    c.out({"MessageId": mid}, mid)


@topic.command("ls")
@pass_ctx
def topic_ls(c: Ctx) -> None:
    c.out(c.client.topics(), lambda names: "\n".join(names))


# --- the change log and housekeeping ---------------------------------------------------------------


@main.command("events")
@click.option("--after", type=int, default=None, help="Start after this log position (default: the oldest kept).")
@click.option("--source", "sources", multiple=True, help="bucket:NAME, table:NAME, stream:NAME, topic:NAME.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new changes as they commit.")
@pass_ctx
def events_cmd(c: Ctx, after: int | None, sources: tuple[str, ...], follow: bool) -> None:
    """Print change records as JSON lines: {seq, source, partition, ts, record}."""
    log = c.client.log
    srcs = list(sources) or None
    if after is None:
        after = log.horizon(srcs)
    changes = log.follow(after, sources=srcs) if follow else _until_now(log, after, srcs)
    for ch in changes:
        click.echo(
            jsonfmt.dumps(
                {"seq": ch.seq, "source": ch.source, "partition": ch.partition, "ts": ch.ts, "record": ch.record}
            )
        )
        if follow:
            sys.stdout.flush()


def _until_now(log: Any, after: int, sources: list[str] | None) -> Any:
    while batch := log.read(after, sources=sources):
        yield from batch
        after = batch[-1].seq


@main.command("gc")
@pass_ctx
def gc_cmd(c: Ctx) -> None:
    """Collect unreferenced blobs and trim change records past retention."""
    removed = c.client.gc()
    removed["changes_trimmed"] = c.client.log.trim()
    c.out(removed, lambda r: ", ".join(f"{k}: {v}" for k, v in r.items()))


@main.command("status")
@click.option("--app", "app_spec", default=None, help="The app (default ./app.py, if present).")
@pass_ctx
def status_cmd(c: Ctx, app_spec: str | None) -> None:
    """What the state folder holds; with an app, its functions, triggers, lag and dead letters."""
    stats: dict[str, Any] = c.client.store.stats()
    stats["state"] = str(c.client.folder)
    if app_spec or os.path.exists("app.py"):
        from ripple.dispatch.asyncq import AsyncQueue
        from ripple.dispatch.dispatcher import Dispatcher
        from ripple.runtime.loader import load_app

        app = load_app(app_spec)
        lag = Dispatcher(c.client, app.triggers, invoke=None).lag()  # type: ignore[arg-type]
        dead = AsyncQueue(c.client.store._db).dead_letters()
        stats["functions"] = sorted(app.functions)
        stats["triggers"] = [
            {"trigger": t.name, "function": t.function, "lag": lag.get(t.name, 0),
             "dead_letters": sum(1 for d in dead if d.trigger == t.name)}
            for t in app.triggers
        ]  # fmt: skip

    def human(s: dict[str, Any]) -> str:
        lines = [f"{k:>9}: {v}" for k, v in s.items() if k not in ("functions", "triggers")]
        if "functions" in s:
            lines.append(f"functions: {', '.join(s['functions']) or 'none'}")
            for t in s["triggers"]:
                lines.append(f"  {t['trigger']:<48} lag {t['lag']:>6}   dead letters {t['dead_letters']}")
        return "\n".join(lines)

    c.out(stats, human)


@main.command("why")
@click.argument("function")
@click.option("--app", "app_spec", default=None, help="The app (default ./app.py).")
@pass_ctx
def why_cmd(c: Ctx, function: str, app_spec: str | None) -> None:
    """Why did (or didn't) FUNCTION fire? Its triggers' recent events, verdicts and last errors."""
    from ripple.dispatch.why import explain
    from ripple.runtime.loader import load_app

    report = explain(load_app(app_spec), c.client, function)

    def human(r: dict[str, Any]) -> str:
        lines = [f"function {r['function']}"]
        if r.get("note"):
            lines.append(f"  {r['note']}")
        for t in r["triggers"]:
            lines.append(f"  trigger {t['trigger']}: lag {t.get('lag', 0)}, queued {t['queued']}, "
                         f"dead letters {t['dead_letters']}")  # fmt: skip
            if t.get("note"):
                lines.append(f"    {t['note']}")
            for e in t.get("recent", []):
                verdict = "taken" if e["taken"] else f"skipped: {e['why_not']}"
                state = "processed" if e["processed"] else "pending"
                lines.append(f"    #{e['seq']} {e['partition'][:40]:<40} {verdict} ({state})")
            if t["kind"] != "schedule" and not t.get("recent"):
                lines.append("    no change records from its source yet")
        for e in r["last_errors"]:
            lines.append(f"  last error: {e['status']} {e['error_type']}: {e['error_message']} ({e['request_id']})")
        return "\n".join(lines)

    c.out(report, human)


@main.command("generate-event")
@click.argument("kind", type=click.Choice(SAMPLE_KINDS))
@click.option("--bucket")
@click.option("--key")
@click.option("--body", help="s3-put: the object's text (sets size and eTag).")
@click.option("--table")
@click.option("--keys", "keys_json", help="dynamodb-*: the key attributes, JSON.")
@click.option("--new", "new_json", help="dynamodb-*: the new image's other attributes, JSON.")
@click.option("--old", "old_json", help="dynamodb-*: the old image's other attributes, JSON.")
@click.option("--view", type=click.Choice(["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]))
@click.option("--stream")
@click.option("--partition-key")
@click.option("--data")
@click.option("--topic")
@click.option("--message")
@click.option("--subject")
@click.option("--rule")
def generate_event_cmd(kind: str, **opts: Any) -> None:
    """Print an AWS-shaped sample event, built by the same code as the change log's records."""
    from ripple.events.samples import generate

    for name in ("keys_json", "new_json", "old_json"):
        if opts[name] is not None:
            opts[name.removesuffix("_json")] = _item(opts[name], "--" + name.removesuffix("_json"))
    click.echo(jsonfmt.dumps(generate(kind, opts), pretty=True))


def _delivery_line(d: Any) -> None:
    # Called once per invocation from the dispatch threads, thousands of times a second under
    # load: one formatted write, not click.echo's per-call terminal checks.
    t = time.localtime(d.ts)
    status = "ok" if d.ok else f"FAILED {d.error_type or 'Unhandled'}"
    sys.stdout.write(
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{int(d.ts * 1000) % 1000:03d}  {d.function:<20} "
        f"{d.trigger:<40} {d.records:>5} record(s) {d.duration_ms:>9.1f} ms  {status}\n"
    )  # Platform.run flushes once per dispatcher step


#: ``ripple dev`` serves website buckets here unless told otherwise.
DEFAULT_HTTP_PORT = 8642


def _http_server(platform: Any, host: str, port: int | None) -> Any:
    """Start the HTTP server for the platform's state (None when disabled or not installed)."""
    if port is None:
        return None
    try:
        from ripple.http.server import serve_in_thread
    except ImportError:
        click.echo("ripple: HTTP server not installed (pip install 'ripple[http]'); website buckets are not served")
        return None
    try:
        server = serve_in_thread(platform.client.folder, host=host, port=port)
    except OSError as e:
        raise ValidationError(
            f"cannot serve HTTP on {host}:{port} ({e}); pass --port N, --port 0 (any) or --no-http"
        ) from None
    for res in platform.app.resources:
        if res.kind == "bucket" and res.spec.get("website"):
            click.echo(f"ripple: website bucket {res.name!r} at {server.url_for(res.name)}")
    return server


def _run_platform(app_spec: str | None, *, reload: bool, host: str, port: int | None) -> None:
    import threading

    from ripple.platform import Platform, watch
    from ripple.runtime.loader import load_app

    server = None
    try:
        while True:
            app = load_app(app_spec)
            platform = Platform(app, on_delivery=_delivery_line)
            platform.install_signal_handlers()
            click.echo(
                f"ripple: app {app.name!r}: {len(app.functions)} function(s), {len(app.triggers)} trigger(s); "
                f"state {platform.client.folder}. Ctrl-C stops."
            )
            if server is None:
                # One server across reloads: it reads the store, not the app.
                server = _http_server(platform, host, port)
            changed = threading.Event()
            if reload:
                watch([app.root], _on_change(app_spec, app, platform, changed), platform.stopping)
            try:
                platform.run()
            finally:
                platform.close()
            if not changed.is_set():
                return
            click.echo("ripple: the app's declarations changed; restarting it")
            _forget_modules(app.root)
    finally:
        if server is not None:
            server.close()


def _forget_modules(root: Path) -> None:
    """Drop the app's modules from sys.modules, so the next import reads them from disk again."""
    for name in [m for m, mod in sys.modules.items() if str(getattr(mod, "__file__", "")).startswith(str(root))]:
        del sys.modules[name]


def _on_change(app_spec: str | None, app: Any, platform: Any, restart: Any) -> Callable[[set[Path]], None]:
    """What ``ripple dev`` does when files change: replace the warm sandboxes of the functions whose
    code changed, or restart the platform when the app's declarations changed."""
    from ripple import reload
    from ripple.runtime.loader import load_app

    def changed(files: set[Path]) -> None:
        _forget_modules(app.root)
        try:
            new = load_app(app_spec)
        except RippleError as e:
            click.echo(f"ripple: reload failed ({e}); new invocations will report it", err=True)
            new = None
        names = reload.affected(app, new, files) if new is not None else None
        if names is None and new is not None:
            restart.set()
            platform.stop()
            return
        names = names if names is not None else set(app.functions)
        if names:
            n = platform.pool.retire(names)
            click.echo(f"ripple: {', '.join(sorted(names))}: code changed; replaced {n} warm sandbox(es)")
        else:
            click.echo(f"ripple: {', '.join(sorted(p.name for p in files))} changed; no function's code uses it")

    return changed


def _platform_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--no-http", is_flag=True, help="Do not start the HTTP server.")(f)
    f = click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_HTTP_PORT, show_default=True,
                     help="HTTP port for website buckets (0: any free port).")(f)  # fmt: skip
    f = click.option("--host", default="127.0.0.1", show_default=True, help="HTTP listen address.")(f)
    return click.argument("app_spec", required=False, metavar="[APP]")(f)


@main.command("dev")
@_platform_options
def dev_cmd(app_spec: str | None, host: str, port: int, no_http: bool) -> None:
    """Run APP (default ./app.py) embedded, printing a line per invocation. On save, only the
    functions whose code changed get fresh sandboxes; a changed declaration restarts the app.
    Website buckets are served over HTTP and their URLs printed."""
    _run_platform(app_spec, reload=True, host=host, port=None if no_http else port)


@main.command("serve")
@_platform_options
def serve_cmd(app_spec: str | None, host: str, port: int, no_http: bool) -> None:
    """Run APP (default ./app.py) embedded, without reloading; website buckets served over HTTP."""
    _run_platform(app_spec, reload=False, host=host, port=None if no_http else port)


@main.group()
def dlq() -> None:
    """Dead letters: events every attempt failed for and no destination took."""


def _queue(c: Ctx) -> Any:
    from ripple.dispatch.asyncq import AsyncQueue

    return AsyncQueue(c.client.store._db)


@dlq.command("ls")
@click.argument("function", required=False)
@pass_ctx
def dlq_ls(c: Ctx, function: str | None) -> None:
    rows = [
        {"id": d.id, "function": d.function, "trigger": d.trigger, "condition": d.condition, "attempts": d.attempts,
         "ts": d.ts}
        for d in _queue(c).dead_letters(function)
    ]  # fmt: skip
    c.out(rows, lambda rs: "\n".join(
        f"{r['id']:>6}  {_ts(r['ts'])}  {r['function']:<20} {r['condition']:<24} x{r['attempts']}  {r['trigger']}"
        for r in rs) or "no dead letters")  # fmt: skip


@dlq.command("show")
@click.argument("dead_letter_id", type=int)
@pass_ctx
def dlq_show(c: Ctx, dead_letter_id: int) -> None:
    d = _queue(c).dead_letter(dead_letter_id)
    c.out({"id": d.id, "function": d.function, "trigger": d.trigger, "condition": d.condition,
           "attempts": d.attempts, "error": d.error, "event": jsonfmt.loads(d.event, "event")})  # fmt: skip


@dlq.command("redrive")
@click.argument("ids", type=int, nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Redrive every dead letter.")
@pass_ctx
def dlq_redrive(c: Ctx, ids: tuple[int, ...], all_: bool) -> None:
    """Queue dead letters again for their trigger (a running platform delivers them)."""
    if not ids and not all_:
        raise ValidationError("name the dead letters to redrive, or pass --all")
    n = _queue(c).redrive(None if all_ else list(ids), time.time())
    c.out({"redriven": n}, f"redriven: {n}")


@dlq.command("purge")
@click.argument("ids", type=int, nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Purge every dead letter.")
@pass_ctx
def dlq_purge(c: Ctx, ids: tuple[int, ...], all_: bool) -> None:
    if not ids and not all_:
        raise ValidationError("name the dead letters to purge, or pass --all")
    n = _queue(c).purge(None if all_ else list(ids))
    c.out({"purged": n}, f"purged: {n}")


def _templates() -> list[str]:
    from importlib.resources import files

    return sorted(p.name for p in (files("ripple") / "templates").iterdir() if p.is_dir() and p.name[0] not in "._")


@main.command("init")
@click.argument("directory")
@click.option("--template", default="blank", show_default=True, help="blank, blog or leaderboard.")
@pass_ctx
def init_cmd(c: Ctx, directory: str, template: str) -> None:
    """Create a new app in DIRECTORY from a template; `ripple dev` runs it as it is."""
    from ripple.templates import render

    if template not in _templates():
        raise ValidationError(f"unknown template {template!r}; choose one of {', '.join(_templates())}")
    target = Path(directory)
    if target.exists() and any(target.iterdir()):
        raise ValidationError(f"{directory!r} exists and is not empty; choose a new folder")
    name = render.app_name(target)
    written = render.render(template, target, name)
    c.out({"created": str(target), "name": name, "files": [str(w) for w in written]},
          f"created {template} app {name!r} in {target}; next: cd {directory} && ripple dev")  # fmt: skip


@main.command("demo")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_HTTP_PORT, show_default=True,
              help="HTTP port for the blog (0: any free port).")  # fmt: skip
@click.option("--exit", "exit_after", is_flag=True, help="Stop after the demo instead of serving on.")
@pass_ctx
def demo_cmd(c: Ctx, port: int, exit_after: bool) -> None:
    """Run the two example apps (a blog rebuilt from uploads, a leaderboard rolled up from a table's
    changes) on the state folder, show each at work, and keep serving until Ctrl-C."""
    from ripple.demo import run

    run(c.client, echo=click.echo, port=port, exit_after=exit_after)


# Subsystems that bring heavier imports are loaded only when their command runs.
_LAZY = {
    "site": ("ripple.site.cli", "site"),
    "invoke": ("ripple.runtime.cli", "COMMANDS"),
    "logs": ("ripple.runtime.cli", "COMMANDS"),
    "invocations": ("ripple.runtime.cli", "COMMANDS"),
}


def _lazy_command(name: str) -> click.Command | None:
    module, attr = _LAZY[name]
    try:
        found = getattr(__import__(module, fromlist=[attr]), attr)
    except (ImportError, AttributeError):
        return None
    for cmd in found if isinstance(found, list | tuple) else [found]:
        if isinstance(cmd, click.Command) and cmd.name == name:
            return cmd
    return None


def _list_commands(self: click.Group, ctx: click.Context) -> list[str]:
    return sorted(set(self.commands) | set(_LAZY))


def _get_command(self: click.Group, ctx: click.Context, name: str) -> click.Command | None:
    if name in self.commands:
        return self.commands[name]
    return _lazy_command(name) if name in _LAZY else None


main.list_commands = _list_commands.__get__(main)  # type: ignore[method-assign]
main.get_command = _get_command.__get__(main)  # type: ignore[method-assign]
