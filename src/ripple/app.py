"""Declaring an app in Python: ``App(name)`` and the functions it runs.

A function's settings live in :class:`FunctionSettings`, a validated frozen dataclass, so that every
decorator that declares a function (``@app.function`` now; the trigger decorators ``@app.on_object``,
``@app.on_table``, ... later) takes the same options with the same defaults, ranges and error messages.
Defaults and ranges are Lambda's: timeout 3 s (1–900 s), memory 128 MB (128–10,240 MB), /tmp 512 MB
(512–10,240 MB), environment variables at most 4 KB in total.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from ripple import resources
from ripple.dispatch.triggers import (
    Trigger,
    check_triggers,
    object_trigger,
    schedule_trigger,
    stream_trigger,
    topic_trigger,
)
from ripple.errors import Conflict, NotFound, ValidationError

Handler = Callable[[Any, Any], Any]
H = TypeVar("H", bound=Handler)

#: Lambda's limits (aws-semantics.md §9.1).
TIMEOUT_RANGE_S = (1.0, 900.0)
MEMORY_RANGE_MB = (128, 10_240)
TMP_RANGE_MB = (512, 10_240)
ENV_MAX_BYTES = 4 * 1024
DESCRIPTION_MAX = 256

_FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ENV_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]+$")
_HANDLER = re.compile(r"^[A-Za-z_][\w/]*(\.[A-Za-z_]\w*)*\.[A-Za-z_]\w*$")

#: Variables Lambda sets itself; a function may not override them (aws-semantics.md §7.4).
RESERVED_ENV = frozenset(
    {
        "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
    }
)  # fmt: skip


def _check_number(name: str, value: object, lo: float, hi: float, *, integer: bool, unit: str) -> None:
    ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok_type:
        kind = "an integer" if integer else "a number"
        raise ValidationError(f"{name} must be {kind} of {unit}, got {value!r}")
    if not lo <= value <= hi:  # type: ignore[operator]
        raise ValidationError(f"{name}={value!r} is out of range: Lambda allows {lo:g} to {hi:g} {unit}")


@dataclass(frozen=True)
class FunctionSettings:
    """How a function runs: the settings every function-declaring decorator accepts.

    Attributes:
        timeout: wall-clock limit per invocation, in seconds (1–900; default 3).
        memory_mb: resident-memory limit of the sandbox, in MiB (128–10,240; default 128).
        tmp_mb: size of the sandbox's private /tmp, in MiB (512–10,240; default 512).
        concurrency: reserved concurrency; ``None`` shares the unreserved pool, ``0`` throttles every
            invocation (Lambda's way to switch a function off).
        env: environment variables for the handler (keys ``[A-Za-z][A-Za-z0-9_]+``, no reserved names,
            4 KB in total).
        description: free text, at most 256 characters.

    Raises:
        ValidationError: on construction, naming the bad setting and value.
    """

    timeout: float = 3
    memory_mb: int = 128
    tmp_mb: int = 512
    concurrency: int | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        _check_number("timeout", self.timeout, *TIMEOUT_RANGE_S, integer=False, unit="seconds")
        _check_number("memory_mb", self.memory_mb, *MEMORY_RANGE_MB, integer=True, unit="MB")
        _check_number("tmp_mb", self.tmp_mb, *TMP_RANGE_MB, integer=True, unit="MB")
        if self.concurrency is not None:
            _check_number("concurrency", self.concurrency, 0, 1_000_000, integer=True, unit="invocations")
        if not isinstance(self.description, str) or len(self.description) > DESCRIPTION_MAX:
            raise ValidationError(f"description must be a string of at most {DESCRIPTION_MAX} characters")
        object.__setattr__(self, "env", MappingProxyType(_checked_env(self.env)))

    @classmethod
    def names(cls) -> frozenset[str]:
        """The option names these settings accept."""
        return frozenset(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_options(cls, options: Mapping[str, Any], *, accepted: frozenset[str] = frozenset()) -> FunctionSettings:
        """Build settings from keyword options, refusing any name that is neither a setting nor in
        ``accepted`` (the caller's own options, e.g. a trigger's ``batch_size``).

        Raises:
            ValidationError: for an unknown option (with a close match, if any) or a bad value.
        """
        known = cls.names()
        for name in options:
            if name not in known and name not in accepted:
                close = difflib.get_close_matches(name, sorted(known | accepted), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ValidationError(f"unknown function option {name!r}{hint}")
        return cls(**{k: v for k, v in options.items() if k in known})


def _checked_env(env: object) -> dict[str, str]:
    if not isinstance(env, Mapping):
        raise ValidationError(f"env must be a mapping of names to strings, got {env!r}")
    out: dict[str, str] = {}
    for key, value in env.items():
        if not isinstance(key, str) or not _ENV_KEY.match(key):
            raise ValidationError(f"env name {key!r} is invalid: use a letter then letters, digits or _")
        if key in RESERVED_ENV:
            raise ValidationError(f"env name {key!r} is reserved by the runtime")
        if not isinstance(value, str):
            raise ValidationError(f"env value for {key!r} must be a string, got {value!r}")
        out[key] = value
    size = sum(len(k.encode()) + len(v.encode()) for k, v in out.items())
    if size > ENV_MAX_BYTES:
        raise ValidationError(f"env is {size} bytes; Lambda allows at most {ENV_MAX_BYTES}")
    return out


@dataclass(frozen=True)
class Function:
    """A declared function: its name, its handler (``module.attr``, as Lambda's ``_HANDLER``), the
    directory its module is imported from, and its settings."""

    name: str
    handler: str
    root: Path
    settings: FunctionSettings


def _caller_root(caller: Mapping[str, Any]) -> Path:
    """Lambda's task root for the module declaring the app: the directory its handlers' modules are
    imported from, so ``pkg/app.py`` (module ``pkg.app``) gives the directory holding ``pkg``."""
    file, module = caller.get("__file__"), caller.get("__name__", "")
    if not file or module == "__main__":
        return Path.cwd()
    path = Path(file).absolute()
    depth = module.count(".") + (1 if path.name == "__init__.py" else 0)
    return path.parents[depth]


def check_function_name(name: object) -> str:
    """Return ``name`` if it is a valid Lambda function name (1–64 of ``[A-Za-z0-9_-]``).

    Raises:
        ValidationError: naming the bad value.
    """
    if not isinstance(name, str) or not _FUNCTION_NAME.match(name):
        raise ValidationError(f"function name {name!r} is invalid: use 1-64 letters, digits, - or _")
    return name


class App:
    """A ripple application: a named set of functions (and, later, resources and triggers).

    Example::

        app = App("blog")

        @app.function(timeout=30, memory_mb=512)
        def resize(event, context): ...
    """

    def __init__(self, name: str, *, root: str | Path | None = None) -> None:
        """``root`` is the directory handler modules are imported from (Lambda's task root); the app
        loader sets it to the app file's directory. Raises ValidationError for a bad name."""
        if not isinstance(name, str) or not _FUNCTION_NAME.match(name):
            raise ValidationError(f"app name {name!r} is invalid: use 1-64 letters, digits, - or _")
        self.name = name
        self.root = Path(root).absolute() if root is not None else _caller_root(sys._getframe(1).f_globals)
        self._functions: dict[str, Function] = {}
        self._resources: dict[tuple[str, str], resources.Resource] = {}
        self._triggers: list[Trigger] = []

    @property
    def functions(self) -> Mapping[str, Function]:
        """The declared functions by name (read-only)."""
        return MappingProxyType(self._functions)

    def get_function(self, name: str) -> Function:
        """Raises NotFound (ResourceNotFoundException) naming ``name`` if no such function exists."""
        try:
            return self._functions[name]
        except KeyError:
            known = ", ".join(sorted(self._functions)) or "none"
            raise NotFound(f"Function not found: {name!r} (this app has: {known})") from None

    def function(self, name: str | None = None, *, handler: str | None = None, **options: Any) -> Any:
        """Declare a function, as a decorator or, with ``handler="module.attr"``, directly.

        Used as ``@app.function(...)`` it returns the decorated function unchanged (so it stays callable
        in tests) and names the function after it unless ``name`` is given. With ``handler`` it
        registers a Lambda-style handler (e.g. ``"lambda_function.lambda_handler"``) and returns the
        :class:`Function`.

        Raises:
            ValidationError: an unknown option, a value out of Lambda's range, a bad name or handler.
            Conflict: a function of that name already exists.
        """
        settings = FunctionSettings.from_options(options)
        if handler is not None:
            if name is None:
                raise ValidationError("a function declared by handler string needs a name")
            return self.add_function(name, handler, settings)

        def decorate(fn: H) -> H:
            if not callable(fn) or getattr(fn, "__qualname__", None) != getattr(fn, "__name__", None):
                raise ValidationError(f"@app.function decorates a module-level function, got {fn!r}")
            self.add_function(name or fn.__name__, f"{fn.__module__}.{fn.__name__}", settings)
            return fn

        return decorate

    # --- resources -------------------------------------------------------------------------------

    @property
    def resources(self) -> list[resources.Resource]:
        return list(self._resources.values())

    @property
    def triggers(self) -> list[Trigger]:
        return list(self._triggers)

    def _declare(self, res: resources.Resource) -> resources.Resource:
        key = (res.kind, res.name)
        if key in self._resources:
            raise Conflict(f"{res.kind} {res.name!r} is declared twice in app {self.name!r}")
        self._resources[key] = res
        return res

    def bucket(
        self, name: str, *, website: bool = False, index: str = "index.html", error: str | None = None
    ) -> resources.Resource:
        """Declare a bucket (``website=True`` serves it over HTTP). Returns the resource handle."""
        return self._declare(resources.bucket(name, website=website, index=index, error=error))

    def table(
        self, name: str, *, hash_key: str, range_key: str | None = None, stream: str | None = None
    ) -> resources.Resource:
        """Declare a table: ``hash_key="event_key:S"``, ``range_key="start_timestamp:N"``, ``stream=VIEW``."""
        return self._declare(resources.table(name, hash_key=hash_key, range_key=range_key, stream=stream))

    def stream(self, name: str, *, shards: int = 1, retention_hours: float = 24) -> resources.Resource:
        """Declare a record stream with ``shards`` shards."""
        return self._declare(resources.stream(name, shards=shards, retention_hours=retention_hours))

    def topic(self, name: str) -> resources.Resource:
        """Declare a topic."""
        return self._declare(resources.topic(name))

    # --- triggers --------------------------------------------------------------------------------

    def _trigger(self, build: Callable[[str, dict[str, Any]], Trigger], options: dict[str, Any], name: str | None):
        """The shared path of the trigger decorators: split the function settings from the trigger's
        options, register the function (or reuse it when decorators are stacked) and the trigger."""
        settings_opts = {k: v for k, v in options.items() if k in FunctionSettings.names()}
        trigger_opts = {k: v for k, v in options.items() if k not in FunctionSettings.names()}

        def decorate(fn: H) -> H:
            if not callable(fn) or getattr(fn, "__qualname__", None) != getattr(fn, "__name__", None):
                raise ValidationError(f"trigger decorators decorate a module-level function, got {fn!r}")
            fname = name or fn.__name__
            handler = f"{fn.__module__}.{fn.__name__}"
            # Everything is validated before anything is registered: a refused decorator leaves the
            # app as it was.
            try:
                trig = build(fname, trigger_opts)
            except ValidationError as e:
                if "unknown" in str(e):
                    raise ValidationError(
                        f"{e} (or function settings: {', '.join(sorted(FunctionSettings.names()))})"
                    ) from None
                raise
            check_triggers([*self._triggers, trig])
            existing = self._functions.get(fname)
            if existing is None or existing.handler != handler or settings_opts:
                settings = FunctionSettings.from_options(settings_opts)
                self.add_function(fname, handler, settings)
            # else: another trigger on a function already declared (stacked decorators)
            self._triggers.append(trig)
            return fn

        return decorate

    def on_object(self, bucket: Any, *, events: Any = ("s3:ObjectCreated:*",), prefix: str | None = None,
                  suffix: str | None = None, name: str | None = None, **options: Any) -> Any:  # fmt: skip
        """Run the function for object events in ``bucket`` (asynchronously, one event per
        invocation unless ``batch_size`` is given). Refuses filters that overlap another object
        trigger on the bucket for a shared event type, as S3 does."""
        src = resources.source_name("bucket", bucket)
        return self._trigger(
            lambda fn, o: object_trigger(fn, src, events=events, prefix=prefix, suffix=suffix, **o), options, name
        )

    def on_table(self, table: Any, *, name: str | None = None, **options: Any) -> Any:
        """Run the function for batches of the table's stream records (poll-based, ordered per item)."""
        src = resources.source_name("table", table)
        declared = self._resources.get(("table", src))
        if declared is not None and not declared.spec.get("stream"):
            raise ValidationError(
                f"table {src!r} has no stream; declare it with stream='NEW_AND_OLD_IMAGES' (or another view)"
            )
        return self._trigger(lambda fn, o: stream_trigger(fn, "table", src, **o), options, name)

    def on_stream(self, stream: Any, *, name: str | None = None, **options: Any) -> Any:
        """Run the function for batches of a record stream's records (poll-based, ordered per shard)."""
        src = resources.source_name("stream", stream)
        return self._trigger(lambda fn, o: stream_trigger(fn, "stream", src, **o), options, name)

    def on_topic(self, topic: Any, *, filter_policy: Mapping[str, Any] | None = None, name: str | None = None,
                 **options: Any) -> Any:  # fmt: skip
        """Run the function for messages published to ``topic`` that pass ``filter_policy``."""
        src = resources.source_name("topic", topic)
        return self._trigger(lambda fn, o: topic_trigger(fn, src, filter_policy=filter_policy, **o), options, name)

    def schedule(self, expression: str, *, name: str | None = None, **options: Any) -> Any:
        """Run the function on ``rate(...)`` or ``cron(...)`` (UTC), as an EventBridge schedule."""
        return self._trigger(lambda fn, o: schedule_trigger(fn, expression, **o), options, name)

    def add_function(self, name: str, handler: str, settings: FunctionSettings) -> Function:
        """Register a function; the shared path of every declaring decorator.

        Raises:
            ValidationError: bad name or handler string. Conflict: the name is taken.
        """
        check_function_name(name)
        if not isinstance(handler, str) or not _HANDLER.match(handler):
            raise ValidationError(f"handler {handler!r} is invalid: expected 'module.function'")
        if name in self._functions:
            raise Conflict(f"function {name!r} is declared twice in app {self.name!r}")
        fn = Function(name=name, handler=handler, root=self.root, settings=settings)
        self._functions[name] = fn
        return fn

    def __repr__(self) -> str:
        return f"App({self.name!r}, functions={sorted(self._functions)})"
