"""Trigger options, validated against Lambda's ranges; an option ripple does not honour is refused by
name (never stored and ignored)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from ripple.dispatch.filters import compile_filters
from ripple.errors import ValidationError

STARTING_POSITIONS = ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP")
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # a synchronous invocation's request limit


def _int(name: str, value: Any, lo: int, hi: int, *, allow: tuple[int, ...] = ()) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not (lo <= value <= hi or value in allow):
        extra = f" (or {', '.join(map(str, allow))})" if allow else ""
        raise ValidationError(f"{name} must be an integer from {lo} to {hi}{extra}, not {value!r}")
    return value


def _number(name: str, value: Any, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise ValidationError(f"{name} must be a number from {lo:g} to {hi:g} seconds, not {value!r}")
    return float(value)


@dataclass(frozen=True)
class StreamOptions:
    """An event source mapping for a table's stream or a record stream (aws-semantics.md §4.1)."""

    batch_size: int = 100
    batch_window_s: float = 0.0
    starting_position: str = "LATEST"
    starting_timestamp: float | None = None
    bisect_on_error: bool = False
    max_retry_attempts: int = -1
    max_record_age_s: int = -1
    report_batch_item_failures: bool = False
    filters: tuple[Any, ...] = ()
    parallelization: int = 1
    tumbling_window_s: int | None = None
    on_failure: str | None = None

    def __post_init__(self) -> None:
        _int("batch_size", self.batch_size, 1, 10_000)
        if self.tumbling_window_s is not None:
            _int("tumbling_window_s", self.tumbling_window_s, 1, 900)
            if self.bisect_on_error:
                raise ValidationError("tumbling_window_s cannot be combined with bisect_on_error in ripple")
        _number("batch_window_s", self.batch_window_s, 0, 300)
        if self.starting_position not in STARTING_POSITIONS:
            raise ValidationError(
                f"starting_position must be one of {', '.join(STARTING_POSITIONS)}, not {self.starting_position!r}"
            )
        if (self.starting_position == "AT_TIMESTAMP") != (self.starting_timestamp is not None):
            raise ValidationError("starting_timestamp is required with AT_TIMESTAMP, and only with it")
        for name in ("bisect_on_error", "report_batch_item_failures"):
            if not isinstance(getattr(self, name), bool):
                raise ValidationError(f"{name} must be true or false, not {getattr(self, name)!r}")
        _int("max_retry_attempts", self.max_retry_attempts, 0, 10_000, allow=(-1,))
        # Lambda refuses 0-59 although they sit inside the raw range.
        _int("max_record_age_s", self.max_record_age_s, 60, 604_800, allow=(-1,))
        _int("parallelization", self.parallelization, 1, 10)
        compile_filters(list(self.filters))  # refuses bad patterns now, at declaration

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> StreamOptions:
        """Build from keyword options; unknown ones are refused by name."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValidationError(
                f"unknown stream trigger option(s): {', '.join(unknown)}; ripple accepts {', '.join(sorted(known))}"
            )
        opts = dict(options)
        if "filters" in opts:
            filters = opts["filters"]
            if isinstance(filters, Mapping | str) or not isinstance(filters, list | tuple):
                raise ValidationError("filters must be a list of patterns")
            opts["filters"] = tuple(filters)
        return cls(**opts)


#: Waits before the first and second retry of a failed asynchronous event. AWS waits 1 and 2
#: minutes; ripple defaults to seconds so a local loop stays quick, and takes any values.
DEFAULT_RETRY_DELAYS_S = (1.0, 2.0)
DESTINATION_KINDS = ("function", "topic", "stream", "bucket")


def check_destination(name: str, spec: Any) -> str | None:
    """A destination: ``function:NAME``, ``topic:NAME``, ``stream:NAME`` or ``bucket:NAME/PREFIX``."""
    if spec is None:
        return None
    if not isinstance(spec, str) or ":" not in spec:
        raise ValidationError(
            f"{name} must look like 'function:NAME', 'topic:NAME', 'stream:NAME' or 'bucket:NAME/PREFIX', not {spec!r}"
        )
    kind, _, target = spec.partition(":")
    if kind not in DESTINATION_KINDS or not target:
        raise ValidationError(f"{name} {spec!r}: the kind must be one of {', '.join(DESTINATION_KINDS)}")
    return spec


@dataclass(frozen=True)
class AsyncOptions:
    """Asynchronous delivery (objects, topics, schedules, Event invokes), aws-semantics.md §5."""

    retry_attempts: int = 2
    max_event_age_s: int = 21_600
    retry_delays_s: tuple[float, ...] = DEFAULT_RETRY_DELAYS_S
    on_success: str | None = None
    on_failure: str | None = None
    batch_size: int | None = None  # object triggers may batch, as S3 -> SQS -> Lambda does
    batch_window_s: float = 0.0

    def __post_init__(self) -> None:
        _int("retry_attempts", self.retry_attempts, 0, 2)
        _int("max_event_age_s", self.max_event_age_s, 60, 21_600)
        delays = self.retry_delays_s
        if (
            not isinstance(delays, tuple | list)
            or len(delays) < 2
            or not all(isinstance(d, int | float) and not isinstance(d, bool) and 0 <= d <= 3600 for d in delays)
        ):
            raise ValidationError(f"retry_delays_s must be two or more waits of 0 to 3600 seconds, not {delays!r}")
        check_destination("on_success", self.on_success)
        check_destination("on_failure", self.on_failure)
        if self.batch_size is not None:
            _int("batch_size", self.batch_size, 1, 10_000)
        _number("batch_window_s", self.batch_window_s, 0, 300)
        if self.batch_window_s and self.batch_size is None:
            raise ValidationError("batch_window_s needs batch_size (batching is off without it)")

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        return float(self.retry_delays_s[min(attempt, len(self.retry_delays_s)) - 1])

    @classmethod
    def from_options(cls, options: Mapping[str, Any], *, batching: bool = False) -> AsyncOptions:
        known = {f.name for f in fields(cls)} - (set() if batching else {"batch_size", "batch_window_s"})
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValidationError(
                f"unknown asynchronous trigger option(s): {', '.join(unknown)}; "
                f"ripple accepts {', '.join(sorted(known))}"
            )
        opts = dict(options)
        if "retry_delays_s" in opts and isinstance(opts["retry_delays_s"], list):
            opts["retry_delays_s"] = tuple(opts["retry_delays_s"])
        return cls(**opts)
