"""The DynamoDB value model: normalizing Python values, attribute-value JSON, sizes and key encoding."""

from __future__ import annotations

import base64
from decimal import Decimal as D

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ripple.errors import ItemTooLarge, ValidationError
from ripple.store.values import (
    MAX_ITEM_SIZE,
    check_item_size,
    check_key_value,
    decode_key,
    encode_key,
    from_av,
    item_from_av,
    item_size,
    item_to_av,
    item_to_av_checked,
    normalize,
    normalize_item,
    to_av,
    type_of,
)

# --- normalize ----------------------------------------------------------------------------------------


def test_python_types_map_to_dynamodb_types():
    assert type_of("a") == "S"
    assert type_of(D(1)) == "N"
    assert type_of(b"x") == "B"
    assert type_of({"a", "b"}) == "SS"
    assert type_of({D(1)}) == "NS"
    assert type_of({b"x"}) == "BS"
    assert type_of([1]) == "L"
    assert type_of({"a": 1}) == "M"
    assert type_of(True) == "BOOL"
    assert type_of(None) == "NULL"


def test_int_float_bytearray_tuple_are_coerced():
    assert normalize(3) == D(3) and type(normalize(3)) is D
    assert normalize(0.1) == D("0.1")  # through repr, not the binary expansion
    assert normalize(bytearray(b"ab")) == b"ab" and type(normalize(bytearray(b"ab"))) is bytes
    assert normalize(memoryview(b"ab")) == b"ab"
    assert normalize((1, "a")) == [D(1), "a"]
    assert normalize(frozenset({1, 2})) == {D(1), D(2)}


def test_bool_is_not_a_number():
    assert normalize(True) is True
    assert type_of(normalize(False)) == "BOOL"
    assert normalize([True, 1]) == [True, D(1)]
    assert type(normalize([True, 1])[0]) is bool


def test_numbers_are_canonical():
    assert str(normalize(D("1.50"))) == "1.5"
    assert str(normalize(D("1E+2"))) == "100"
    assert str(normalize(D("-0"))) == "0"
    assert normalize(D("0.000")) == 0


def test_thirty_eight_digits_accepted_thirty_nine_refused():
    assert normalize(D("1" * 38)) == D("1" * 38)
    with pytest.raises(ValidationError, match=r"more than 38 significant digits.*path: n"):
        normalize(D("1" * 39), "n")
    # trailing zeros are not significant
    assert normalize(D("1" + "0" * 60)) == D(10) ** 60


def test_number_range():
    assert normalize(D("1E-130")) == D("1E-130")
    assert normalize(D("9.9999999999999999999999999999999999999E+125"))
    assert normalize(D("-9.9999999999999999999999999999999999999E+125"))
    with pytest.raises(ValidationError, match="Number overflow"):
        normalize(D("1E+126"))
    with pytest.raises(ValidationError, match="Number overflow"):
        normalize(-(10**126))
    with pytest.raises(ValidationError, match="Number underflow"):
        normalize(D("1E-131"))


@pytest.mark.parametrize("bad", [D("NaN"), D("Infinity"), D("-Infinity"), float("nan"), float("inf")])
def test_nan_and_infinity_refused(bad):
    with pytest.raises(ValidationError, match="Infinity and NaN"):
        normalize({"x": bad})


def test_errors_name_the_path():
    with pytest.raises(ValidationError, match=r"path: scores\[3\]\.x"):
        normalize_item({"scores": [0, 1, 2, {"x": D("1" * 40)}]})


def test_empty_and_mixed_sets_refused():
    with pytest.raises(ValidationError, match="set may not be empty; path: tags"):
        normalize_item({"tags": set()})
    with pytest.raises(ValidationError, match="mixes"):
        normalize_item({"s": {"a", 1}})
    with pytest.raises(ValidationError, match="Sets may hold only"):
        normalize_item({"s": {True}})
    with pytest.raises(ValidationError, match="Sets may hold only"):
        normalize_item({"s": {(1, 2)}})


def test_unsupported_types_are_named():
    with pytest.raises(ValidationError, match=r"Unsupported type 'object'.*path: a.b"):
        normalize({"b": object()}, "a")
    import datetime

    with pytest.raises(ValidationError, match="datetime"):
        normalize(datetime.datetime.now())


def test_map_keys_must_be_strings():
    with pytest.raises(ValidationError, match="Map keys must be strings"):
        normalize({1: "a"})


def test_nesting_limit():
    v: object = "leaf"
    for _ in range(32):
        v = [v]
    normalize(v)
    with pytest.raises(ValidationError, match="Nesting Levels have exceeded"):
        normalize([v])


def test_normalize_item_refuses_bad_top_level():
    with pytest.raises(ValidationError, match="must be a map"):
        normalize_item([1])
    with pytest.raises(ValidationError, match="empty string"):
        normalize_item({"": 1})
    with pytest.raises(ValidationError, match="Attribute names must be strings"):
        normalize_item({1: 1})


def test_subclasses_accepted_as_base_types():
    import enum
    from collections import OrderedDict

    class Color(enum.StrEnum):
        RED = "red"

    class Size(enum.IntEnum):
        BIG = 3

    out = normalize_item({"c": Color.RED, "s": Size.BIG, "m": OrderedDict(a=1)})
    assert out == {"c": "red", "s": D(3), "m": {"a": D(1)}}
    assert type(out["c"]) is str and type(out["m"]) is dict


# --- attribute-value JSON -----------------------------------------------------------------------------


def test_to_av_every_type():
    item = {
        "s": "x",
        "n": D("1.50"),
        "b": b"hi",
        "ss": {"b", "a"},
        "ns": {D(2), D("1.0")},
        "bs": {b"y", b"x"},
        "l": [1, None],
        "m": {"k": True},
    }
    assert item_to_av(item) == {
        "s": {"S": "x"},
        "n": {"N": "1.5"},
        "b": {"B": base64.b64encode(b"hi").decode()},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2"]},
        "bs": {"BS": [base64.b64encode(b"x").decode(), base64.b64encode(b"y").decode()]},
        "l": {"L": [{"N": "1"}, {"NULL": True}]},
        "m": {"M": {"k": {"BOOL": True}}},
    }


def test_number_text_has_no_exponent():
    assert to_av(D("1E+5")) == {"N": "100000"}
    assert to_av(D("1.2E-3")) == {"N": "0.0012"}
    assert to_av(-7) == {"N": "-7"}


def test_from_av_round_trip():
    av = {"a": {"M": {"x": {"L": [{"N": "01.500"}, {"SS": ["q"]}, {"NULL": True}, {"BOOL": False}]}}}}
    item = item_from_av(av)
    assert item == {"a": {"x": [D("1.5"), {"q"}, None, False]}}
    assert item_to_av(item) == {
        "a": {"M": {"x": {"L": [{"N": "1.5"}, {"SS": ["q"]}, {"NULL": True}, {"BOOL": False}]}}}
    }


@pytest.mark.parametrize(
    ("av", "message"),
    [
        ({}, "Supplied AttributeValue is empty"),
        ({"S": "a", "N": "1"}, "more than one datatypes"),
        ({"X": "a"}, "unknown datatype: X"),
        ({"S": 1}, "must be a string"),
        ({"N": "abc"}, "cannot be converted into a number: abc"),
        ({"N": "NaN"}, "cannot be converted into a number"),
        ({"N": " 1"}, "cannot be converted into a number"),
        ({"N": "1_000"}, "cannot be converted into a number"),
        ({"N": 5}, "cannot be converted into a number"),
        ({"N": "1" * 39}, "more than 38 significant digits"),
        ({"N": "1e200"}, "Number overflow"),
        ({"B": "not base64!"}, "Invalid base64"),
        ({"BOOL": "true"}, "must be true or false"),
        ({"NULL": False}, "Null attribute value types must have the value of true"),
        ({"SS": []}, "An string set may not be empty"),
        ({"NS": ["1", "1.0"]}, "contains duplicates"),
        ({"SS": ["a", 1]}, "array of strings"),
        ({"L": {"S": "a"}}, "must be an array"),
        ({"M": []}, "must be an object"),
        ("S", "must be an object"),
    ],
)
def test_from_av_refuses_malformed_input(av, message):
    with pytest.raises(ValidationError, match=message):
        from_av(av)


def test_trusted_and_normalized_fast_paths_give_the_same_result():
    item = {"n": D("1.5"), "b": b"\x00", "s": {"x"}, "ns": {D(2)}, "bs": {b"y"}, "l": [None, True], "m": {"k": "v"}}
    av = item_to_av(item)
    assert item_to_av(normalize_item(item), normalized=True) == av
    assert item_from_av(av, trusted=True) == item_from_av(av) == item
    assert type(item_from_av(av, trusted=True)["n"]) is D


def test_from_av_error_names_path():
    with pytest.raises(ValidationError, match=r"path: a\.b\[1\]"):
        item_from_av({"a": {"M": {"b": {"L": [{"S": "ok"}, {"N": "x"}]}}}})


def test_from_av_nesting_limit():
    av: dict = {"S": "x"}
    for _ in range(40):
        av = {"L": [av]}
    with pytest.raises(ValidationError, match="Nesting Levels"):
        from_av(av)


def test_item_from_av_refuses_non_object():
    with pytest.raises(ValidationError):
        item_from_av([{"S": "a"}])
    with pytest.raises(ValidationError):
        item_from_av({"": {"S": "a"}})


# --- sizes --------------------------------------------------------------------------------------------


def test_item_size_rules():
    assert item_size({"ab": "héllo"}) == 2 + 6
    assert item_size({"n": D("12345")}) == 1 + 3 + 1  # ceil(5/2) + 1
    assert item_size({"n": D("1" + "0" * 30)}) == 1 + 2  # trailing zeros are not significant
    assert item_size({"b": b"\x00" * 10}) == 11
    assert item_size({"t": True, "z": None}) == 4
    assert item_size({"l": ["ab", "c"]}) == 1 + 3 + 3
    assert item_size({"m": {"k": "v"}}) == 1 + 3 + 2
    assert item_size({"s": {"ab", "c"}}) == 1 + 3


def test_item_size_limit():
    check_item_size({"a": "x" * (MAX_ITEM_SIZE - 1)})
    with pytest.raises(ItemTooLarge, match=r"Item size has exceeded the maximum allowed size: 409602 bytes"):
        check_item_size({"a": "x" * (MAX_ITEM_SIZE + 1)})


# --- keys ---------------------------------------------------------------------------------------------


def test_key_checks():
    check_key_value("id", "a", "S")
    with pytest.raises(ValidationError, match="Type mismatch for key id expected: S actual: N"):
        check_key_value("id", D(1), "S")
    with pytest.raises(ValidationError, match=r"cannot contain an empty string value. Key: id"):
        check_key_value("id", "", "S")
    with pytest.raises(ValidationError, match=r"empty binary value. Key: id"):
        check_key_value("id", b"", "B")
    check_key_value("id", "x" * 2048, "S")
    with pytest.raises(ValidationError, match=r"Size of hashkey has exceeded.*key: id"):
        check_key_value("id", "x" * 2049, "S")
    check_key_value("sk", "x" * 1024, "S", range_key=True)
    with pytest.raises(ValidationError, match=r"range keys has exceeded.*key: sk"):
        check_key_value("sk", "x" * 1025, "S", range_key=True)


def test_number_key_order_examples():
    nums = [D(x) for x in ["-1E+125", "-100", "-1.5", "-1", "-0.5", "-1E-130", "0", "1E-130", "0.5", "1", "1.5", "100"]]
    encoded = [encode_key(n, "N") for n in nums]
    assert encoded == sorted(encoded)
    assert len(set(encoded)) == len(encoded)
    for n, e in zip(nums, encoded, strict=True):
        assert decode_key(e, "N") == n


def test_equal_numbers_encode_identically():
    assert encode_key(D("1.0"), "N") == encode_key(D(1), "N") == encode_key(1, "N") == encode_key(D("1E0"), "N")
    assert encode_key(D("-0"), "N") == encode_key(0, "N")


def test_number_prefixes_order_correctly():
    assert encode_key(D("0.12"), "N") < encode_key(D("0.123"), "N")
    assert encode_key(D("-0.123"), "N") < encode_key(D("-0.12"), "N")


def test_string_keys_order_by_utf8_bytes():
    a, b = "\uffff", "\U0001f600"  # UTF-16 would order these the other way
    assert encode_key(a, "S") < encode_key(b, "S")
    assert decode_key(encode_key(b, "S"), "S") == b


def test_encode_key_type_mismatch():
    with pytest.raises(ValidationError, match="expected: N actual: S"):
        encode_key("1", "N")
    with pytest.raises(ValidationError, match="expected: N actual: BOOL"):
        encode_key(True, "N")
    with pytest.raises(ValidationError):
        decode_key(b"\x09", "N")


@given(
    st.recursive(
        st.one_of(
            st.decimals(allow_nan=True, allow_infinity=True),
            st.integers(min_value=-(10**40), max_value=10**40),
            st.text(max_size=5),
            st.booleans(),
            st.none(),
        ),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(min_size=1, max_size=3), inner, max_size=3),
        max_leaves=8,
    )
)
@example(D("1.50"))
@example(D("-0"))
@example(D("-0.0"))
@example(D("0.0"))
@example(D("1E-7"))
@example(D("1E+2"))
@example(D("-1E+2"))
@example(D("11111111111111111111111111111111111111"))
@example(D("111111111111111111111111111111111111111"))
@example(D("0.000000000000000000000000000000000001"))
@example(D("123.45600"))
@example(D("1E-131"))
@example(D("9E+126"))
def test_the_write_paths_fast_conversion_equals_the_full_one(value):
    # item_to_av_checked takes a fast route for common shapes (Decimals included: a read-modify-write
    # sends back what a read returned); it must give the full path's result, or its exact error.
    item = {"k": value}
    try:
        want = item_to_av(normalize_item(item), normalized=True)
    except ValidationError as e:
        with pytest.raises(ValidationError) as got:
            item_to_av_checked(item)
        assert str(got.value) == str(e)
        return
    assert item_to_av_checked(item) == want
