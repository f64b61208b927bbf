"""Lambda's event filtering (``FilterCriteria``), aws-semantics.md §4.5.

A record passes when it matches *any* filter; within a pattern every named field must match (AND);
each field lists alternatives (OR). The operators are EventBridge's subset that Lambda documents:
exact values (strings, numbers, booleans, null, ""), ``prefix``, ``anything-but``, ``numeric``
ranges and ``exists``. Others (``suffix``, ``wildcard``, ``equals-ignore-case``, ``$or``, ``cidr``)
are refused by name rather than silently ignored.

Patterns are compiled once (``compile_filters``) and matched against the record as a handler would
see it, except that a Kinesis record's ``data`` is matched base64-decoded and JSON-parsed, as Lambda
does.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ripple.errors import ValidationError

MAX_FILTERS = 5
MAX_PATTERN_CHARS = 4096
_UNSUPPORTED = ("suffix", "wildcard", "equals-ignore-case", "cidr", "$or")
_NUMERIC_OPS = {
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
_MISSING = object()

Matcher = Callable[[Any], bool]  # called with the field's value, or _MISSING


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _number_form(v: Any) -> str:
    # Lambda compares plain numbers by their text: 300, 300.0 and 3.0e2 are different values.
    return json.dumps(v)


def _leaf(values: Any) -> Matcher:
    """Any-of the alternatives in one field's list. A record value that is a list matches when any
    of its elements does (EventBridge's array rule)."""
    alternatives = [_alternative(a) for a in values]
    missing = any(getattr(m, "matches_missing", False) for m in alternatives)
    # Every record the trigger examines passes through here: one alternative (the usual filter)
    # is called directly instead of through any() and a generator.
    one = alternatives[0] if len(alternatives) == 1 else lambda v: any(m(v) for m in alternatives)

    def field(v: Any) -> bool:
        if v is _MISSING:
            return missing
        if isinstance(v, list):
            return any(one(x) for x in v) or (not v and one(v))
        return one(v)

    return field


def _alternative(a: Any) -> Matcher:
    if a is None:
        return lambda v: v is None
    if isinstance(a, bool):
        return lambda v: isinstance(v, bool) and v is a
    if isinstance(a, str):
        return lambda v: isinstance(v, str) and v == a
    if _is_number(a):
        form = _number_form(a)
        return lambda v: _is_number(v) and _number_form(v) == form
    if isinstance(a, Mapping):
        return _operator(a)
    raise ValidationError(f"filter value {a!r} must be a string, number, boolean, null or an operator object")


def _operator(op: Mapping[str, Any]) -> Matcher:
    if len(op) != 1:
        raise ValidationError(f"a filter operator object must have exactly one key, not {sorted(op)}")
    name, arg = next(iter(op.items()))
    if name in _UNSUPPORTED:
        raise ValidationError(f"filter operator {name!r} is not supported by Lambda event filtering")
    if name == "prefix":
        if not isinstance(arg, str):
            raise ValidationError(f"prefix needs a string, not {arg!r}")
        return lambda v: isinstance(v, str) and v.startswith(arg)
    if name == "exists":
        if not isinstance(arg, bool):
            raise ValidationError(f"exists needs true or false, not {arg!r}")
        if arg:
            return lambda v: v is not _MISSING
        m = lambda v: False  # noqa: E731 - a present value never matches exists:false
        m.matches_missing = True  # type: ignore[attr-defined]
        return m
    if name == "anything-but":
        return _anything_but(arg)
    if name == "numeric":
        return _numeric(arg)
    raise ValidationError(f"unknown filter operator {name!r}")


def _anything_but(arg: Any) -> Matcher:
    if isinstance(arg, Mapping):
        if set(arg) != {"prefix"} or not isinstance(arg["prefix"], str):
            raise ValidationError(f"anything-but takes values or {{'prefix': string}}, not {arg!r}")
        p = arg["prefix"]
        return lambda v: isinstance(v, str) and not v.startswith(p)
    items = arg if isinstance(arg, list) else [arg]
    if not items:
        raise ValidationError("anything-but needs at least one value")
    for x in items:
        if not (isinstance(x, str) or _is_number(x)):
            raise ValidationError(f"anything-but values must be strings or numbers, not {x!r}")
    strings = {x for x in items if isinstance(x, str)}
    numbers = {_number_form(x) for x in items if _is_number(x)}

    def m(v: Any) -> bool:
        if isinstance(v, str):
            return v not in strings
        if _is_number(v):
            return _number_form(v) not in numbers
        return v is not None and v is not _MISSING

    return m


def _numeric(arg: Any) -> Matcher:
    if not isinstance(arg, list) or len(arg) not in (2, 4):
        raise ValidationError(f"numeric needs [op, number] or [op, number, op, number], not {arg!r}")
    tests = []
    for i in range(0, len(arg), 2):
        op, bound = arg[i], arg[i + 1]
        if op not in _NUMERIC_OPS:
            raise ValidationError(f"numeric operator {op!r} must be one of {', '.join(_NUMERIC_OPS)}")
        if not _is_number(bound) or not math.isfinite(bound):
            raise ValidationError(f"numeric bound {bound!r} must be a finite number")
        tests.append((_NUMERIC_OPS[op], bound))
    if len(tests) == 2 and (arg[0] in ("<", "<=", "=") or arg[2] in (">", ">=", "=")):
        raise ValidationError(f"a numeric range must be a lower bound then an upper bound: {arg!r}")
    return lambda v: _is_number(v) and all(f(v, b) for f, b in tests)


def _pattern(p: Mapping[str, Any], path: str) -> Callable[[Any], bool]:
    if not p:
        raise ValidationError(f"filter pattern {path or 'root'} must not be empty")
    fields: list[tuple[str, Callable[[Any], bool], bool]] = []
    for key, spec in p.items():
        where = f"{path}.{key}" if path else key
        if key in _UNSUPPORTED:
            raise ValidationError(f"filter operator {key!r} is not supported by Lambda event filtering")
        if isinstance(spec, Mapping):
            fields.append((key, _pattern(spec, where), True))
        elif isinstance(spec, list):
            if not spec:
                raise ValidationError(f"filter field {where!r} needs at least one value")
            fields.append((key, _leaf(spec), False))
        else:
            raise ValidationError(f"filter field {where!r} must be a list of values or a nested pattern, not {spec!r}")

    def match(obj: Any) -> bool:
        # Records are decoded JSON: plain dicts skip the Mapping ABC's (slow) instance check.
        for key, m, nested in fields:
            v = obj.get(key, _MISSING) if type(obj) is dict or isinstance(obj, Mapping) else _MISSING
            if nested:
                if not m(v if type(v) is dict or isinstance(v, Mapping) else _MISSING):
                    return False
            elif not m(v):
                return False
        return True

    def nested_or_missing(obj: Any) -> bool:
        # A nested pattern over an absent object can still match when it only asks for absence.
        return match(obj if obj is not _MISSING else {})

    return nested_or_missing


def compile_filters(filters: Sequence[Any] | None) -> Callable[[Mapping[str, Any]], bool] | None:
    """Compile ``filters`` (patterns as dicts or JSON strings, or ``{"Pattern": "..."}`` as in the
    API) into one predicate over a record, or None when there are no filters. Raises
    ValidationError naming the bad pattern, field or operator."""
    if not filters:
        return None
    compiled = [_pattern(f, "") for f in _patterns(filters)]
    if len(compiled) == 1:
        only = compiled[0]
        return lambda record: only(_matchable(record))

    def passes(record: Mapping[str, Any]) -> bool:
        view = _matchable(record)
        return any(p(view) for p in compiled)

    return passes


def reads_only(filters: Sequence[Any] | None, path: Sequence[str]) -> bool:
    """Whether every pattern of ``filters`` reads nothing but the field at ``path`` (and what is
    inside it): such filters give the same answer on a record holding only that field, which a
    trigger can read from the stored bytes without decoding the rest. False without filters.
    Raises ValidationError as :func:`compile_filters` does."""
    if not filters:
        return False
    for p in _patterns(filters):
        for key in path:
            if not isinstance(p, Mapping) or set(p) != {key}:
                return False
            p = p[key]
        if not isinstance(p, Mapping):
            return False
    return True


def _patterns(filters: Sequence[Any]) -> list[Mapping[str, Any]]:
    """The patterns of ``filters`` as dicts, checked for count, JSON and size."""
    if len(filters) > MAX_FILTERS:
        raise ValidationError(f"at most {MAX_FILTERS} filters per trigger, not {len(filters)}")
    out = []
    for i, f in enumerate(filters):
        if isinstance(f, Mapping) and set(f) == {"Pattern"}:
            f = f["Pattern"]
        if isinstance(f, str):
            if len(f) > MAX_PATTERN_CHARS:
                raise ValidationError(f"filter {i} is {len(f)} characters; the limit is {MAX_PATTERN_CHARS}")
            try:
                f = json.loads(f)
            except ValueError as e:
                raise ValidationError(f"filter {i} is not valid JSON: {e}") from e
        if not isinstance(f, Mapping):
            raise ValidationError(f"filter {i} must be a JSON object pattern, not {f!r}")
        if len(json.dumps(f)) > MAX_PATTERN_CHARS:
            raise ValidationError(f"filter {i} is over {MAX_PATTERN_CHARS} characters")
        out.append(f)
    return out


def _matchable(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """What a pattern sees. DynamoDB, S3 and SNS records as they are. A Kinesis record's metadata
    (``partitionKey``, ``sequenceNumber``, ...) is matched at the top level and its ``data`` as the
    JSON it encodes; data that is not JSON matches no data pattern (Lambda drops such records)."""
    kin = record.get("kinesis")
    if kin is None or not isinstance(kin, Mapping) or "data" not in kin:
        return record
    try:
        decoded = json.loads(base64.b64decode(kin["data"], validate=True))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        decoded = _MISSING
    view = {**record, **kin, "data": decoded}
    if decoded is _MISSING:
        del view["data"]
    return view
