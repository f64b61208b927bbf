"""``python_loads``: handlers get exactly what Python's json would give them, whichever parser ran.

A handler's event is decoded by ``python_loads`` in the sandbox (and a result by the platform);
anything that differs from ``json.loads`` (a big integer turned into a float, an error message
worded differently) is a user-visible change of the Lambda runtime's behaviour.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ripple.jsonfmt import python_loads

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()  # unbounded: well past 64 bits
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()  # lone surrogates included
    | st.from_regex(r"[0-9]{15,25}", fullmatch=True)  # digit runs inside strings
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


def _same(a: object, b: object) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))  # type: ignore[arg-type]
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[arg-type]
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)  # type: ignore[index]
    return a == b


@settings(max_examples=400)
@given(_values, st.sampled_from([None, 1]))
def test_any_json_decodes_as_pythons_json_does(value: object, indent: int | None) -> None:
    text = json.dumps(value, indent=indent).encode()
    assert _same(python_loads(text), json.loads(text))


@pytest.mark.parametrize(
    "text",
    [
        b"123456789012345678901234567890",  # a bare big integer: no byte before it
        b"-9223372036854775809",
        b"18446744073709551616",
        b'{"n": 18446744073709551616, "s": "x"}',
        b"[1,\n 99999999999999999999]",
        b'{"SequenceNumber":"100000000000000000006","n":99999999999999999999}',
        b"1e400",
        b"NaN",
        b'"\\ud800"',
        b"\xef\xbb\xbf[1]",  # a UTF-8 byte-order mark
        '[1, "é"]'.encode("utf-16"),
    ],
)
def test_texts_orjson_reads_differently(text: bytes) -> None:
    assert _same(python_loads(text), json.loads(text))


@pytest.mark.parametrize("text", [b"", b"{", b"[1,]", b'{"a" 1}', b"\xff", b"[1] x"])
def test_invalid_json_raises_pythons_error(text: bytes) -> None:
    with pytest.raises(ValueError) as ours:
        python_loads(text)
    with pytest.raises(ValueError) as theirs:
        json.loads(text)
    assert type(ours.value) is type(theirs.value) and str(ours.value) == str(theirs.value)


def test_stream_events_take_the_fast_parser(monkeypatch):
    """Events as triggers build them hold long digit runs only inside strings (event ids in hex,
    21-digit sequence numbers, key values): they must not be sent to the slow parser."""
    from ripple import jsonfmt
    from ripple.events import dynamodb

    arn = dynamodb.stream_arn("games", 1_700_000_000.5)
    tpl = dynamodb.RecordTemplate(arn, "NEW_AND_OLD_IMAGES")
    keys = b'{"id":{"S":"u-123456789012345678901234"},"ts":{"N":"1799999383.000056123456789"}}'
    records = [tpl.build("INSERT", keys, keys, None, 10**12 + i, 1.8e9, 300) for i in range(50)]
    event = b'{"Records":[' + b",".join(records) + b"]}"

    class NoSlowPath:
        @staticmethod
        def loads(_: bytes) -> None:
            raise AssertionError("json.loads was used")

    monkeypatch.setattr(jsonfmt, "json", NoSlowPath)
    assert len(python_loads(event)["Records"]) == 50


def test_python_dumps_writes_what_json_reads_back():
    from ripple.jsonfmt import python_dumps

    for value in ({"n": 2**70, "m": [-(2**64), 1.5, "é"]}, {"small": 1, "s": "x"}, [None, True]):
        assert json.loads(python_dumps(value)) == value
    with pytest.raises(TypeError):
        python_dumps({"x": object()})
