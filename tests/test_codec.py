"""The compiled item codec gives the Python path's bytes, refuses nothing the Python path accepts,
and accepts nothing it refuses (ripple.store.codec)."""

from __future__ import annotations

import os
from decimal import Decimal

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ripple.errors import ValidationError
from ripple.store import codec
from ripple.store import values as vals

_codec = pytest.importorskip("ripple.store._codec") if not os.environ.get("RIPPLE_REQUIRE_CODEC") else None
if _codec is None:  # CI builds it: a missing extension there is a failure, not a skip
    from ripple.store import _codec


def python_path(item):
    return codec.dumps_av(vals.item_to_av_checked(item))


text = st.text(st.characters(codec="utf-8") | st.sampled_from('"\\\x00\x1f\x7f\u2028é😀'), max_size=12)
common = st.recursive(
    text | st.integers(-(2**63), 2**63 - 1) | st.booleans() | st.none(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20,
)
anything = st.recursive(
    text
    | st.text(max_size=4)  # lone surrogates included
    | st.integers()
    | st.booleans()
    | st.none()
    | st.floats()
    | st.decimals()
    | st.binary(max_size=6)
    | st.frozensets(st.integers(-5, 5)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text | st.integers(0, 3), inner, max_size=4),
    max_leaves=20,
)
names = st.text(min_size=1, max_size=8)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(names, common, max_size=6))
def test_common_items_take_the_compiled_path_with_identical_bytes(item):
    out = _codec.encode_item(item)
    assert out is not None
    assert out == python_path(item)
    assert codec.encode_item(item) == out


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(names | st.just("") | st.integers(0, 2), anything, max_size=6))
def test_anything_else_falls_back_and_errors_stay_the_python_paths(item):
    try:
        expected = python_path(item)
    except ValidationError as e:
        assert _codec.encode_item(item) is None  # never accepts what the Python path refuses
        with pytest.raises(ValidationError) as raised:
            codec.encode_item(item)
        assert str(raised.value) == str(e)
        return
    out = _codec.encode_item(item)
    assert out is None or out == expected
    assert codec.encode_item(item) == expected


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(names, common, max_size=4), text.filter(bool), st.integers(-(2**63), 2**63 - 1))
def test_record_keys_in_key_schema_order(item, hash_value, range_value):
    # Key attributes are scalars (S, N or B): the compiled path sees str and int ones.
    item = {**item, "pk": hash_value, "sk": range_value}
    av = vals.item_to_av_checked(item)
    for keys in (("pk", "sk"), ("sk", "pk"), ("pk",)):
        assert _codec.encode_keys(item, keys) == orjson.dumps({k: av[k] for k in keys})
    assert _codec.encode_keys(item, ("pk", "absent")) is None


def test_edges_of_the_common_shapes():
    deep: object = "x"
    for _ in range(vals.MAX_NESTING):
        deep = [deep]
    cases = [
        {"n": 2**63 - 1, "m": -(2**63)},
        {"n": 2**63},  # beyond 64 bits: the Python path
        {"d": Decimal("1.5"), "e": Decimal("-3"), "f": Decimal("1.50"), "g": Decimal("1E+3"), "h": Decimal("-0")},
        {"deep": deep},  # deeper than 32 levels: the Python path refuses it by name
        {"k" * 16383: 1},
        {"k" * 16384: 1},
        {"": 1},
        {"s": "\ud800"},
        {"t": True, "f": False, "z": None, "e": "", "l": [], "m": {}},
    ]
    for item in cases:
        try:
            expected = python_path(item)
        except ValidationError:
            assert _codec.encode_item(item) is None, item
            continue
        out = _codec.encode_item(item)
        assert out is None or out == expected, item
    assert _codec.encode_item({"d": Decimal("1.5")}) == b'{"d":{"N":"1.5"}}'
    assert _codec.encode_item({"f": Decimal("1.50")}) is None  # not canonical: normalized in Python
    assert _codec.encode_item({"n": 2**63}) is None


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(names, st.floats(allow_nan=True, allow_infinity=True) | st.lists(st.floats(), max_size=3)))
def test_floats_take_the_compiled_path_when_their_repr_is_positional(item):
    # Epoch seconds with milliseconds are floats: the compiled codec writes Decimal(repr(x)) made
    # canonical, and leaves exponents, NaN, the infinities and -0.0 to the Python path.
    try:
        expected = python_path(item)
    except ValidationError:
        assert _codec.encode_item(item) is None
        return
    out = _codec.encode_item(item)
    assert out is None or out == expected
    simple = all(
        x == x and abs(x) != float("inf") and "e" not in repr(x) and repr(x) != "-0.0"
        for v in item.values()
        for x in (v if isinstance(v, list) else [v])
    )
    assert (out is not None) == simple
    assert _codec.encode_item({"t": 1764291234.567, "z": 0.0, "i": 3.0}) == (
        b'{"i":{"N":"3"},"t":{"N":"1764291234.567"},"z":{"N":"0"}}'
    )


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=0, exclude_min=True, allow_infinity=False) | st.floats(max_value=0, allow_nan=False))
def test_float_range_keys_encode_as_their_stored_number(x):
    from ripple.store.embedded.tables import _fast_key

    fast = _fast_key(x, "N", 256)
    if fast is not None:
        assert fast == vals.encode_key(vals.normalize(x), "N")
        assert x > 0 and "e" not in repr(x)


def test_item_size_limit_holds_on_the_compiled_path():
    from ripple.errors import ItemTooLarge

    with pytest.raises(ItemTooLarge):
        codec.encode_item({"pk": "a", "blob": "x" * (400 * 1024)})
    assert codec.encode_item({"pk": "a", "blob": "x" * (390 * 1024)})


def test_lone_surrogates_are_refused_by_name_and_nothing_is_written(tmp_path):
    import ripple

    client = ripple.connect(tmp_path)
    table = client.create_table("games", hash_key="pk:S", stream="NEW_AND_OLD_IMAGES")
    bad = [
        (lambda: table.put({"pk": "a", "v": "\ud800"}), "attribute 'v'"),
        (lambda: table.put({"pk": "a", "m": {"x": ["ok", "\udfff"]}}), "attribute 'm'"),
        (lambda: table.put({"pk": "\ud800"}), "'pk'"),
        (lambda: table.batch_write([{"pk": "b"}, {"pk": "c", "v": "\ud800"}]), "attribute 'v'"),
        (lambda: table.update({"pk": "a"}, update="SET v = :v", values={":v": "\udc00"}), "attribute 'v'"),
        (lambda: table.transact_write([{"put": {"item": {"pk": "d", "x": "\ud800"}}}]), "attribute 'x'"),
        (lambda: table.get({"pk": "\ud800"}), "key pk"),
        (lambda: table.delete({"pk": "\ud800"}), "key pk"),
    ]
    for call, named in bad:
        with pytest.raises(ValidationError, match="lone surrogate") as raised:
            call()
        assert named in str(raised.value)
    assert table.scan().items == []
    assert client.log.read(0) == []
    client.close()
