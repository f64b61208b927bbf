"""JSON for people and scripts: DynamoDB values (Decimal, bytes, sets) in and out without losing
precision. Numbers are read as Decimal and written with all their digits."""

from __future__ import annotations

import base64
import decimal
import json
from typing import Any

import orjson

from ripple.errors import ValidationError

_CTX = decimal.Context(prec=60)


def loads(text: str | bytes, what: str = "JSON") -> Any:
    """Parse JSON with every number as Decimal. Raises ValidationError naming ``what``."""
    try:
        return json.loads(text, parse_float=decimal.Decimal, parse_int=decimal.Decimal)
    except (ValueError, TypeError) as e:
        raise ValidationError(f"{what} is not valid JSON: {e}") from e


# Bytes a JSON number token can follow, mapped to "x"; digits to "0"; quotes and dots kept.
_TOKENS = bytes(0x30 if 0x30 <= i <= 0x39 else i if i in (0x22, 0x2E) else 0x78 for i in range(256))
_BIG_INT = b"x" + b"0" * 19


def python_loads(data: bytes) -> Any:
    """Exactly what ``json.loads(data)`` returns (and raises), about twice as fast on large events.

    orjson parses unless the text has a run of 19 or more digits that could be an integer token
    (not right after a quote or a dot): orjson turns integers beyond 64 bits into floats where
    Python keeps them exact. Text orjson refuses (lone surrogates, NaN, 1e400, invalid JSON) is
    left to ``json.loads`` as well, so results and error messages are json's. A false alarm (such
    digits inside a string) only costs the slower parse."""
    tokens = data.translate(_TOKENS)
    if tokens.find(_BIG_INT) < 0 and not tokens.startswith(_BIG_INT[1:]):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(data)


def number_text(d: decimal.Decimal) -> str:
    """A Decimal as JSON number text with every significant digit (``1.50`` → ``1.5``, ``1E+3`` → ``1000``)."""
    d = d.normalize(_CTX)
    exp = d.as_tuple().exponent
    if isinstance(exp, int) and 0 <= exp <= 40:
        return format(d, "f")
    return str(d)


def dumps(value: Any, *, pretty: bool = False) -> str:
    """Serialise ``value`` to JSON text. Decimals appear as numbers, bytes as base64, sets as sorted lists."""
    parts: list[str] = []
    _emit(value, parts, "\n" if pretty else None)
    return "".join(parts)


def _emit(v: Any, out: list[str], nl: str | None) -> None:
    inner = None if nl is None else nl + "  "
    if isinstance(v, bool) or v is None or isinstance(v, str | int | float):
        out.append(orjson.dumps(v).decode())
    elif isinstance(v, decimal.Decimal):
        out.append(number_text(v))
    elif isinstance(v, bytes | bytearray | memoryview):
        out.append('"' + base64.b64encode(bytes(v)).decode("ascii") + '"')
    elif isinstance(v, dict):
        if not v:
            out.append("{}")
            return
        out.append("{")
        for i, (k, item) in enumerate(v.items()):
            out.append(("," if i else "") + (inner or ""))
            out.append(orjson.dumps(str(k)).decode() + (": " if nl else ":"))
            _emit(item, out, inner)
        out.append((nl or "") + "}")
    elif isinstance(v, list | tuple | set | frozenset):
        items = sorted(v, key=lambda x: (type(x).__name__, x)) if isinstance(v, set | frozenset) else v
        if not items:
            out.append("[]")
            return
        out.append("[")
        for i, item in enumerate(items):
            out.append(("," if i else "") + (inner or ""))
            _emit(item, out, inner)
        out.append((nl or "") + "]")
    else:
        raise TypeError(f"cannot serialise {type(v).__name__} as JSON")
