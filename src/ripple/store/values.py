"""DynamoDB's value model in Python form, its attribute-value JSON, item sizes and key encoding.

The Python form (the one boto3's resource layer uses) is canonical everywhere in ripple:

=============================  ==========  =========================================
Python                         descriptor  notes
=============================  ==========  =========================================
``str``                        ``S``
``decimal.Decimal``            ``N``       at most 38 significant digits, see below
``bytes``                      ``B``
``set`` of ``str``             ``SS``      never empty, one element type only
``set`` of ``Decimal``         ``NS``
``set`` of ``bytes``           ``BS``
``list``                       ``L``
``dict`` (``str`` keys)        ``M``
``bool``                       ``BOOL``    never confused with a number
``None``                       ``NULL``
=============================  ==========  =========================================

:func:`normalize` also accepts ``int`` (exact), ``float`` (converted through ``repr``, so ``0.1`` becomes
``Decimal("0.1")``, not the binary expansion), ``bytearray``/``memoryview`` (to ``bytes``), ``tuple`` (to
``list``) and ``frozenset`` (to ``set``).

Numbers are canonical after normalizing, as DynamoDB stores them: trailing zeros dropped, ``-0`` is ``0``,
and integers carry exponent 0 (``Decimal("1.50")`` becomes ``Decimal("1.5")``, ``Decimal("1E+2")`` becomes
``Decimal("100")``). Their attribute-value text is plain positional notation without an exponent
(``"1.5"``, ``"100"``, ``"0.001"``), which is what DynamoDB returns.
"""

from __future__ import annotations

import base64
import binascii
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from ripple.errors import ItemTooLarge, ValidationError

MAX_ITEM_SIZE = 400 * 1024
MAX_NESTING = 32
MAX_DIGITS = 38
#: Adjusted exponents (the power of ten of the leading digit) DynamoDB can store: 1E-130 .. 9.99..E+125.
MIN_EXPONENT = -130
MAX_EXPONENT = 125
MAX_HASH_KEY_BYTES = 2048
MAX_RANGE_KEY_BYTES = 1024
MAX_NAME_BYTES = 65535

_INVALID = "One or more parameter values were invalid: "
_ZERO = Decimal(0)
_INT_LIMIT = 10**MAX_DIGITS
# DynamoDB's number grammar; Decimal() alone would also take "NaN", " 1", "1_000".
_NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_SET_TYPES = {str: "SS", Decimal: "NS", bytes: "BS"}


def _at(path: str) -> str:
    return f"; path: {path}" if path else ""


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# --- numbers ----------------------------------------------------------------------------------------


def _number(d: Decimal, path: str) -> Decimal:
    """Validate ``d`` against DynamoDB's number limits and return its canonical form."""
    if not d.is_finite():
        raise ValidationError(f"{_INVALID}Infinity and NaN are not supported as numbers: {d}{_at(path)}")
    # Fast path for the common case, whole numbers below 1E38: as_tuple() costs several times more.
    if 0 <= d.adjusted() < MAX_DIGITS:
        i = int(d)
        if i == d:
            return Decimal(i)
    sign, digits, exp = d.as_tuple()
    n = len(digits)
    while n > 1 and digits[n - 1] == 0:
        n -= 1
    if n == 1 and digits[0] == 0:
        return _ZERO
    exp += len(digits) - n  # type: ignore[operator]
    if n > MAX_DIGITS:
        raise ValidationError(f"Attempting to store more than 38 significant digits in a Number{_at(path)}")
    adjusted = exp + n - 1
    if adjusted > MAX_EXPONENT:
        raise ValidationError(
            f"Number overflow. Attempting to store a number with magnitude larger than supported range{_at(path)}"
        )
    if adjusted < MIN_EXPONENT:
        raise ValidationError(
            f"Number underflow. Attempting to store a number with magnitude smaller than supported range{_at(path)}"
        )
    digits = digits[:n]
    if exp > 0:
        # Integers keep exponent 0 so they print as "100", not "1E+2".
        digits = digits + (0,) * exp
        exp = 0
    return Decimal((sign, digits, exp))


def normalize_number(d: Decimal, path: str = "") -> Decimal:
    """The canonical form of a finite number; raises ValidationError for NaN/Infinity, more than 38
    significant digits, or a magnitude outside 1E-130 .. 9.99..E+125."""
    return _number(d, path)


def number_text(d: Decimal) -> str:
    """The canonical DynamoDB text of an already-normalized number: positional, no exponent."""
    return format(d, "f")


def parse_number(text: str, path: str = "") -> Decimal:
    """Parse DynamoDB number text; raises ValidationError for anything that is not a finite number in
    range with at most 38 significant digits."""
    if not isinstance(text, str) or len(text) > 1000 or not _NUMBER_RE.fullmatch(text):
        if not isinstance(text, str):
            shown = f"not a string but {type(text).__name__}"
        else:
            shown = text if len(text) <= 60 else f"{text[:40]}... ({len(text)} characters)"
        raise ValidationError(f"A value provided cannot be converted into a number: {shown}{_at(path)}")
    try:
        d = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid literals
        raise ValidationError(f"A value provided cannot be converted into a number{_at(path)}") from None
    return _number(d, path)


def _sig_digits(d: Decimal) -> int:
    digits = d.as_tuple().digits
    n = len(digits)
    while n > 1 and digits[n - 1] == 0:
        n -= 1
    return n


# --- the Python form --------------------------------------------------------------------------------


def normalize(value: Any, path: str = "") -> Any:
    """Validate a Python value and coerce it to ripple's canonical form (see the module docstring).

    ``path`` names the value in messages (``"scores[3].x"``). Raises ValidationError for numbers with more
    than 38 significant digits or outside DynamoDB's range, NaN/Infinity, empty sets, sets mixing types,
    unsupported types, non-str map keys and nesting deeper than 32 levels.
    """
    return _norm(value, path, 0)


def _norm(v: Any, path: str, depth: int) -> Any:
    t = type(v)
    if t is str or t is bool or v is None or t is bytes:
        return v
    if t is Decimal:
        return _number(v, path)
    if t is int:
        return Decimal(v) if -_INT_LIMIT < v < _INT_LIMIT else _number(Decimal(v), path)
    if t is dict:
        return _norm_map(v, path, depth)
    if t is list or t is tuple:
        return _norm_list(v, path, depth)
    if t is set or t is frozenset:
        return _norm_set(v, path)
    if t is float:
        return _number(Decimal(repr(v)), path)
    if t is bytearray or t is memoryview:
        return bytes(v)
    # Subclasses (IntEnum, OrderedDict, str enums ...) are accepted as their base type.
    if isinstance(v, bool):
        return bool(v)
    if isinstance(v, str):
        return str.__str__(v)
    if isinstance(v, int):
        return _number(Decimal(int(v)), path)
    if isinstance(v, dict):
        return _norm_map(v, path, depth)
    if isinstance(v, (list, tuple)):
        return _norm_list(v, path, depth)
    if isinstance(v, (set, frozenset)):
        return _norm_set(v, path)
    if isinstance(v, bytes):
        return bytes(v)
    raise ValidationError(
        f"{_INVALID}Unsupported type '{t.__module__}.{t.__qualname__}' for a DynamoDB value{_at(path)}"
        if t.__module__ != "builtins"
        else f"{_INVALID}Unsupported type '{t.__qualname__}' for a DynamoDB value{_at(path)}"
    )


def _nesting(path: str, depth: int) -> None:
    if depth >= MAX_NESTING:
        raise ValidationError(f"Nesting Levels have exceeded supported limits{_at(path)}")


def _norm_map(v: dict, path: str, depth: int) -> dict:
    _nesting(path, depth)
    out = {}
    for k, x in v.items():
        if not isinstance(k, str):
            raise ValidationError(f"{_INVALID}Map keys must be strings, got {type(k).__name__} {k!r:.40}{_at(path)}")
        out[k] = _norm(x, _child(path, k), depth + 1)
    return out


def _norm_list(v: list | tuple, path: str, depth: int) -> list:
    _nesting(path, depth)
    return [_norm(x, f"{path}[{i}]", depth + 1) for i, x in enumerate(v)]


def _norm_set(v: set | frozenset, path: str) -> set:
    if not v:
        raise ValidationError(f"{_INVALID}An set may not be empty{_at(path)}")
    out = set()
    kind = None
    for x in v:
        t = type(x)
        if t is bool or t is tuple or t is frozenset or x is None:
            t = object  # refused below; normalizing first would misreport a tuple as too deep
        else:
            x = _norm(x, path, 0)
            t = type(x)
        if t not in _SET_TYPES:
            raise ValidationError(
                f"{_INVALID}Sets may hold only strings, numbers or binary, not {type(x).__name__}{_at(path)}"
            )
        if kind is None:
            kind = t
        elif t is not kind:
            raise ValidationError(f"{_INVALID}A set mixes {_SET_TYPES[kind]} and {_SET_TYPES[t]} elements{_at(path)}")
        out.add(x)
    return out


def normalize_item(item: Any) -> dict:
    """Validate and coerce a whole item: a dict with non-empty str attribute names.

    Raises ValidationError naming the attribute path of the first bad value.
    """
    if not isinstance(item, dict):
        raise ValidationError(
            f"{_INVALID}An item must be a map of attribute names to values, not {type(item).__name__}"
        )
    out = {}
    for k, v in item.items():
        if not isinstance(k, str):
            raise ValidationError(f"{_INVALID}Attribute names must be strings, got {type(k).__name__} {k!r:.40}")
        if not k:
            raise ValidationError(f"{_INVALID}An AttributeName in the item is an empty string")
        if len(k) > MAX_NAME_BYTES // 4 and len(k.encode()) > MAX_NAME_BYTES:
            raise ValidationError(f"{_INVALID}Attribute name is longer than {MAX_NAME_BYTES} bytes: {k[:40]}...")
        out[k] = _norm(v, k, 0)
    return out


def type_of(value: Any) -> str:
    """The DynamoDB type descriptor of a canonical Python value: "S", "N", "B", "SS", "NS", "BS", "L",
    "M", "BOOL" or "NULL". Raises ValidationError for anything else."""
    t = type(value)
    d = _TYPE_OF.get(t)
    if d is not None:
        return d
    if t is set or t is frozenset:
        for x in value:
            s = _SET_TYPES.get(type(x))
            if s is not None:
                return s
            break
        raise ValidationError(f"{_INVALID}Not a valid DynamoDB set: {value!r:.60}")
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "BOOL"
    for base, d in _TYPE_OF.items():
        if isinstance(value, base):
            return d
    raise ValidationError(f"{_INVALID}Unsupported type '{t.__qualname__}' for a DynamoDB value")


_TYPE_OF = {str: "S", Decimal: "N", bytes: "B", bool: "BOOL", list: "L", dict: "M", int: "N", float: "N"}


# --- attribute-value JSON ---------------------------------------------------------------------------


def to_av(value: Any, *, normalized: bool = False) -> dict:
    """The attribute-value JSON of a Python value (``{"N": "1.5"}``, ``{"B": "<base64>"}`` ...).

    Sets are emitted sorted (DynamoDB gives no order; sorting makes records reproducible). Raises
    ValidationError for values :func:`normalize` would refuse. ``normalized=True`` promises the value
    came from :func:`normalize` (or :func:`from_av`) and skips validating it again.
    """
    return _to_av(value if normalized else normalize(value))


def _to_av(v: Any) -> dict:
    t = type(v)
    if t is str:
        return {"S": v}
    if t is Decimal:
        return {"N": format(v, "f")}
    if t is bool:
        return {"BOOL": v}
    if v is None:
        return {"NULL": True}
    if t is bytes:
        return {"B": base64.b64encode(v).decode("ascii")}
    if t is dict:
        return {"M": {k: _to_av(x) for k, x in v.items()}}
    if t is list:
        return {"L": [_to_av(x) for x in v]}
    kind = type_of(v)
    items = sorted(v)
    if kind == "SS":
        return {"SS": items}
    if kind == "NS":
        return {"NS": [format(x, "f") for x in items]}
    return {"BS": [base64.b64encode(x).decode("ascii") for x in items]}


def item_to_av(item: dict, *, normalized: bool = False) -> dict:
    """An item (attribute name -> Python value) as attribute-value JSON. Raises ValidationError.

    ``normalized=True`` promises the item came from :func:`normalize_item` (or :func:`item_from_av`)
    and skips validating it a second time on the write path.
    """
    return {k: _to_av(v) for k, v in (item if normalized else normalize_item(item)).items()}


class _Slow(Exception):
    """Raised inside the fast converter for anything it does not handle; the caller falls back."""


_INT_TEXT_LIMIT = 10**38


def _fast_av(v: Any, depth: int) -> dict:
    # The common shapes only, validated as they are converted; everything else (floats, Decimals,
    # sets, subclasses, big numbers, anything wrong) goes to the full path, which gives the messages.
    t = type(v)
    if t is str:
        return {"S": v}
    if t is int:
        if -_INT_TEXT_LIMIT < v < _INT_TEXT_LIMIT:
            return {"N": str(v)}
        raise _Slow
    if t is bool:
        return {"BOOL": v}
    if t is Decimal:  # what reads return: a read-modify-write sends them back
        text = str(v)
        # Already canonical (as every number read from the store is): positional, at most 38
        # characters so at most 38 digits, no trailing fractional zero, not "-0".
        canonical = len(text) <= 38 and text[-1].isdigit() and "E" not in text and text != "-0"
        if canonical and ("." not in text or text[-1] != "0"):
            return {"N": text}
        try:
            return {"N": format(_number(v, ""), "f")}
        except ValidationError:
            raise _Slow from None  # the full path raises it again, naming the attribute
    if v is None:
        return {"NULL": True}
    if depth >= MAX_NESTING:
        raise _Slow
    if t is dict:
        out = {}
        for k, x in v.items():
            if type(k) is not str:
                raise _Slow
            out[k] = {"S": x} if type(x) is str else _fast_av(x, depth + 1)
        return {"M": out}
    if t is list:
        return {"L": [_fast_av(x, depth + 1) for x in v]}
    raise _Slow


def item_to_av_checked(item: Any) -> dict:
    """Validate an item and convert it to attribute-value JSON in one pass; the write path's fast
    route. Same result and same errors as ``item_to_av(normalize_item(item), normalized=True)``."""
    if type(item) is dict:
        try:
            out = {}
            for k, v in item.items():
                if type(k) is not str or not k or len(k) > MAX_NAME_BYTES // 4:
                    raise _Slow
                # Top-level strings and ints inline: most attributes are one of the two.
                t = type(v)
                if t is str:
                    out[k] = {"S": v}
                elif t is int and -_INT_TEXT_LIMIT < v < _INT_TEXT_LIMIT:
                    out[k] = {"N": str(v)}
                else:
                    out[k] = _fast_av(v, 0)
            return out
        except _Slow:
            pass
    return item_to_av(normalize_item(item), normalized=True)


def from_av(av: Any, path: str = "") -> Any:
    """Parse attribute-value JSON (user input: the CLI, later the HTTP API) into the Python form.

    Raises ValidationError naming the path for anything DynamoDB would refuse: not exactly one type
    descriptor, an unknown descriptor, a payload of the wrong JSON type, a bad number or base64 text,
    empty or duplicate-holding sets, ``NULL`` other than true, nesting deeper than 32 levels.
    """
    return _from_av(av, path, 0)


def _from_av(av: Any, path: str, depth: int) -> Any:
    if not isinstance(av, dict):
        raise ValidationError(f"{_INVALID}An AttributeValue must be an object, not {type(av).__name__}{_at(path)}")
    if len(av) != 1:
        if not av:
            raise ValidationError(
                f"Supplied AttributeValue is empty, must contain exactly one of the supported datatypes{_at(path)}"
            )
        raise ValidationError(
            "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the "
            f"supported datatypes{_at(path)}"
        )
    ((kind, x),) = av.items()
    if kind == "S":
        if type(x) is not str:
            raise _payload(kind, "a string", x, path)
        return x
    if kind == "N":
        return parse_number(x, path)
    if kind == "B":
        return _b64(x, path)
    if kind == "BOOL":
        if type(x) is not bool:
            raise _payload(kind, "true or false", x, path)
        return x
    if kind == "NULL":
        if x is not True:
            raise ValidationError(f"{_INVALID}Null attribute value types must have the value of true{_at(path)}")
        return None
    if kind == "M":
        if not isinstance(x, dict):
            raise _payload(kind, "an object", x, path)
        _nesting(path, depth)
        out = {}
        for k, sub in x.items():
            if not isinstance(k, str):
                raise ValidationError(f"{_INVALID}Map keys must be strings{_at(path)}")
            out[k] = _from_av(sub, _child(path, k), depth + 1)
        return out
    if kind == "L":
        if not isinstance(x, list):
            raise _payload(kind, "an array", x, path)
        _nesting(path, depth)
        return [_from_av(sub, f"{path}[{i}]", depth + 1) for i, sub in enumerate(x)]
    if kind in ("SS", "NS", "BS"):
        if not isinstance(x, list):
            raise _payload(kind, "an array", x, path)
        if not x:
            word = {"SS": "string", "NS": "number", "BS": "binary"}[kind]
            raise ValidationError(f"{_INVALID}An {word} set may not be empty{_at(path)}")
        if kind == "SS":
            for e in x:
                if type(e) is not str:
                    raise _payload(kind, "an array of strings", e, path)
            elems: list = x
        elif kind == "NS":
            elems = [parse_number(e, path) for e in x]
        else:
            elems = [_b64(e, path) for e in x]
        out_set = set(elems)
        if len(out_set) != len(elems):
            shown = ", ".join(str(e) for e in x[:10])
            raise ValidationError(f"{_INVALID}Input collection [{shown}] contains duplicates{_at(path)}")
        return out_set
    raise ValidationError(f"{_INVALID}Supplied AttributeValue has an unknown datatype: {str(kind)[:40]}{_at(path)}")


def _payload(kind: str, want: str, got: Any, path: str) -> ValidationError:
    return ValidationError(f"{_INVALID}The {kind} attribute value must be {want}, not {type(got).__name__}{_at(path)}")


def _b64(x: Any, path: str) -> bytes:
    if isinstance(x, (bytes, bytearray)):
        return bytes(x)
    if type(x) is not str:
        raise _payload("B", "a base64 string", x, path)
    try:
        return base64.b64decode(x, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(f"{_INVALID}Invalid base64 in a binary attribute value{_at(path)}") from None


def item_from_av(av_item: Any, *, trusted: bool = False) -> dict:
    """Parse an item in attribute-value JSON (``{"id": {"S": "a"}}``). Raises ValidationError.

    ``trusted=True`` is for JSON ripple wrote itself with :func:`item_to_av` (stored items, change
    records): it is decoded without validation, several times faster. Never use it on user input.
    """
    if trusted:
        return {k: _trusted(av) for k, av in av_item.items()}
    if not isinstance(av_item, dict):
        raise ValidationError(f"{_INVALID}An item must be an object of attribute values, not {type(av_item).__name__}")
    out = {}
    for k, av in av_item.items():
        if not isinstance(k, str) or not k:
            raise ValidationError(f"{_INVALID}An AttributeName in the item is empty or not a string")
        out[k] = _from_av(av, k, 0)
    return out


def _trusted(av: dict) -> Any:
    ((kind, x),) = av.items()
    if kind == "S" or kind == "BOOL":
        return x
    if kind == "N":
        return Decimal(x)
    if kind == "M":
        return {k: _trusted(v) for k, v in x.items()}
    if kind == "L":
        return [_trusted(v) for v in x]
    if kind == "NULL":
        return None
    if kind == "B":
        return base64.b64decode(x)
    if kind == "SS":
        return set(x)
    if kind == "NS":
        return {Decimal(v) for v in x}
    return {base64.b64decode(v) for v in x}


# --- sizes ------------------------------------------------------------------------------------------


def value_size(value: Any) -> int:
    """DynamoDB's size in bytes of one canonical value (without its attribute name)."""
    t = type(value)
    if t is str:
        return len(value.encode("utf-8"))
    if t is Decimal:
        return (_sig_digits(value) + 1) // 2 + 1
    if t is bytes:
        return len(value)
    if t is bool or value is None:
        return 1
    if t is list:
        return 3 + sum(value_size(x) for x in value)
    if t is dict:
        return 3 + sum(len(k.encode("utf-8")) + value_size(x) for k, x in value.items())
    if t is set or t is frozenset:
        return sum(value_size(x) for x in value)
    return value_size(normalize(value))


def item_from_image(image: Any) -> dict:
    """A DynamoDB stream image (a record's ``Keys``, ``NewImage`` or ``OldImage``), or any item in
    attribute-value JSON, as a Python item: numbers as Decimal, binary as bytes, sets as sets, as
    ``Table.get`` returns items. Raises ValidationError naming the malformed part."""
    return item_from_av(image)


def item_size(item: dict) -> int:
    """DynamoDB's item size: UTF-8 bytes of each attribute name plus its value's size, where strings
    count their UTF-8 bytes, numbers ``ceil(significant digits / 2) + 1``, binary its length, booleans
    and nulls 1, lists and maps 3 plus their elements (map keys count as names), sets their elements."""
    return sum(len(k.encode("utf-8")) + value_size(v) for k, v in item.items())


def check_item_size(item: dict) -> int:
    """Return the item's size; raises ItemTooLarge when it is over :data:`MAX_ITEM_SIZE`."""
    size = item_size(item)
    if size > MAX_ITEM_SIZE:
        raise ItemTooLarge(
            f"Item size has exceeded the maximum allowed size: {size} bytes, limit {MAX_ITEM_SIZE} bytes"
        )
    return size


# --- keys -------------------------------------------------------------------------------------------

_KEY_TYPES = {"S": str, "N": Decimal, "B": bytes}


def check_key_value(name: str, value: Any, type: str, *, range_key: bool = False) -> None:
    """Check a (normalized) key attribute value against its declared type ("S", "N" or "B").

    Raises ValidationError with DynamoDB's messages: a type mismatch, an empty string or binary, or a
    value over 2048 bytes (hash key) / 1024 bytes (``range_key=True``).
    """
    actual = type_of(value)
    if actual != type:
        raise ValidationError(f"{_INVALID}Type mismatch for key {name} expected: {type} actual: {actual}")
    if type == "S":
        if not value:
            raise ValidationError(
                "One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
                f"contain an empty string value. Key: {name}"
            )
        try:
            size = len(value.encode("utf-8"))
        except UnicodeEncodeError:
            raise ValidationError(f"{_INVALID}key {name} is not valid UTF-8 (it holds a lone surrogate)") from None
    elif type == "B":
        if not value:
            raise ValidationError(
                "One or more parameter values are not valid. The AttributeValue for a key attribute cannot "
                f"contain an empty binary value. Key: {name}"
            )
        size = len(value)
    else:
        size = value_size(value)
    if range_key and size > MAX_RANGE_KEY_BYTES:
        raise ValidationError(
            f"{_INVALID}Aggregated size of all range keys has exceeded the size limit of "
            f"{MAX_RANGE_KEY_BYTES} bytes; key: {name}, size: {size}"
        )
    if not range_key and size > MAX_HASH_KEY_BYTES:
        raise ValidationError(
            f"{_INVALID}Size of hashkey has exceeded the maximum size limit of {MAX_HASH_KEY_BYTES} bytes; "
            f"key: {name}, size: {size}"
        )


# Number layout: one sign byte (0x01 negative < 0x02 zero < 0x03 positive), then for non-zero numbers
# the adjusted exponent as two big-endian bytes offset by 0x8000, then one byte per significant digit
# (0x30 + digit). Trailing zeros are stripped, so equal numbers encode identically and a shorter digit
# string sorts first. Negatives invert every byte after the sign and end with 0xFF, so that the larger
# magnitude sorts first and a prefix (-0.12 vs -0.123) sorts after its extensions.
_NEG, _ZERO_B, _POS = b"\x01", b"\x02", b"\x03"


def encode_key(value: Any, type: str) -> bytes:
    """Encode a key value so that memcmp order (SQLite BLOB order) is DynamoDB's order for ``type``:
    S by UTF-8 bytes, B by bytes, N numerically. Raises ValidationError on a type mismatch."""
    if type == "S":
        if not isinstance(value, str):
            raise ValidationError(f"{_INVALID}Type mismatch for key expected: S actual: {type_of(value)}")
        return value.encode("utf-8")
    if type == "B":
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise ValidationError(f"{_INVALID}Type mismatch for key expected: B actual: {type_of(value)}")
        return bytes(value)
    if type != "N":
        raise ValidationError(f"{_INVALID}Key attributes must be of type S, N or B, not {type}")
    if value.__class__ is int:  # timestamps and counters: no Decimal round trip
        digits_s = str(abs(value)) if value else ""
        sig = digits_s.rstrip("0")
        # Out-of-range ints take the Decimal path below, which raises DynamoDB's error.
        if value and len(sig) <= 38 and len(digits_s) <= 126:
            body = (len(digits_s) - 1 + 0x8000).to_bytes(2, "big") + sig.encode()
            return _POS + body if value > 0 else _NEG + bytes(0xFF - b for b in body) + b"\xff"
        if not value:
            return _ZERO_B
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise ValidationError(f"{_INVALID}Type mismatch for key expected: N actual: {type_of(value)}")
    d = _number(Decimal(value), "")
    if not d:
        return _ZERO_B
    sign, digits, exp = d.as_tuple()
    n = _sig_digits(d)
    adjusted = exp + len(digits) - 1  # type: ignore[operator]
    body = (adjusted + 0x8000).to_bytes(2, "big") + bytes(0x30 + x for x in digits[:n])
    if not sign:
        return _POS + body
    return _NEG + bytes(0xFF - b for b in body) + b"\xff"


def decode_key(data: bytes, type: str) -> Any:
    """Inverse of :func:`encode_key`. Raises ValidationError for bytes it did not produce."""
    if type == "S":
        return bytes(data).decode("utf-8")
    if type == "B":
        return bytes(data)
    if type != "N":
        raise ValidationError(f"{_INVALID}Key attributes must be of type S, N or B, not {type}")
    data = bytes(data)
    if data == _ZERO_B:
        return _ZERO
    if len(data) < 4 or data[:1] not in (_NEG, _POS):
        raise ValidationError("Not an encoded number key")
    body = data[1:]
    negative = data[:1] == _NEG
    if negative:
        if body[-1:] != b"\xff":
            raise ValidationError("Not an encoded number key")
        body = bytes(0xFF - b for b in body[:-1])
    adjusted = int.from_bytes(body[:2], "big") - 0x8000
    digits = tuple(b - 0x30 for b in body[2:])
    if not digits or any(not 0 <= x <= 9 for x in digits):
        raise ValidationError("Not an encoded number key")
    return _number(Decimal((1 if negative else 0, digits, adjusted - len(digits) + 1)), "")
