"""Lambda's filter patterns: every documented operator, the records they apply to, and bad patterns."""

from __future__ import annotations

import base64
import json

import pytest

from ripple.dispatch.filters import compile_filters, reads_only
from ripple.errors import ValidationError


def passes(pattern, record):
    return compile_filters([pattern])(record)


@pytest.mark.parametrize(
    "pattern, yes, no",
    [
        ({"UserID": [None]}, {"UserID": None}, {"UserID": "x"}),
        ({"LastName": [""]}, {"LastName": ""}, {"LastName": "Doe"}),
        ({"Name": ["Alice"]}, {"Name": "Alice"}, {"Name": "alice"}),
        (
            {"Location": ["New York"], "Day": ["Monday"]},
            {"Location": "New York", "Day": "Monday"},
            {"Location": "New York", "Day": "Sunday"},
        ),
        ({"PaymentType": ["Credit", "Debit"]}, {"PaymentType": "Debit"}, {"PaymentType": "Cash"}),
        ({"Weather": [{"anything-but": ["Raining"]}]}, {"Weather": "Sunny"}, {"Weather": "Raining"}),
        ({"Weather": [{"anything-but": "Raining"}]}, {"Weather": "Sunny"}, {}),
        ({"Code": [{"anything-but": {"prefix": "ERR"}}]}, {"Code": "OK1"}, {"Code": "ERR42"}),
        ({"Price": [{"numeric": ["=", 100]}]}, {"Price": 100}, {"Price": 101}),
        ({"Price": [{"numeric": [">", 10, "<=", 20]}]}, {"Price": 20}, {"Price": 10}),
        ({"Price": [{"numeric": [">", 10, "<=", 20]}]}, {"Price": 10.5}, {"Price": "15"}),
        ({"ProductName": [{"exists": True}]}, {"ProductName": "x"}, {"Other": 1}),
        ({"ProductName": [{"exists": False}]}, {"Other": 1}, {"ProductName": "x"}),
        ({"Region": [{"prefix": "us-"}]}, {"Region": "us-east-1"}, {"Region": "eu-west-1"}),
        ({"Flag": [True]}, {"Flag": True}, {"Flag": 1}),
        ({"Price": [300]}, {"Price": 300}, {"Price": 300.0}),  # numbers compare by their text
        ({"Tags": ["red"]}, {"Tags": ["blue", "red"]}, {"Tags": ["blue"]}),  # any element of an array
        ({"a": {"b": {"c": ["x"]}}}, {"a": {"b": {"c": "x"}}}, {"a": {"b": "x"}}),
        ({"a": {"b": [{"exists": False}]}}, {"a": {}}, {"a": {"b": 1}}),
    ],
)
def test_documented_operators(pattern, yes, no):
    assert passes(pattern, yes) is True
    assert passes(pattern, no) is False


def test_filters_are_or_and_missing_fields_never_match():
    f = compile_filters([{"eventName": ["INSERT"]}, {"eventName": ["REMOVE"]}])
    assert f({"eventName": "INSERT"}) and f({"eventName": "REMOVE"}) and not f({"eventName": "MODIFY"})
    assert not compile_filters([{"x": ["a"]}])({})
    assert not compile_filters([{"x": [{"anything-but": "a"}]}])({})
    assert compile_filters(None) is None and compile_filters([]) is None


def test_dynamodb_records_match_in_attribute_value_form():
    rec = {
        "eventName": "INSERT",
        "dynamodb": {"Keys": {"Id": {"N": "101"}}, "NewImage": {"Id": {"N": "101"}, "kind": {"S": "game"}}},
    }
    assert passes({"dynamodb": {"Keys": {"Id": {"N": ["101"]}}}}, rec)
    assert passes({"eventName": ["INSERT"], "dynamodb": {"NewImage": {"kind": {"S": ["game"]}}}}, rec)
    assert not passes({"dynamodb": {"NewImage": {"kind": {"S": ["board"]}}}}, rec)
    assert passes({"dynamodb": {"NewImage": {"kind": {"S": [{"anything-but": ["board"]}]}}}}, rec)


def test_kinesis_data_is_matched_decoded_and_metadata_at_top_level():
    def rec(data: bytes, pk="1"):
        return {
            "eventName": "aws:kinesis:record",
            "kinesis": {"partitionKey": pk, "data": base64.b64encode(data).decode()},
        }

    hot = rec(json.dumps({"temperature": 60, "status": "Active"}).encode())
    assert passes({"data": {"temperature": [{"numeric": [">", 50]}]}}, hot)
    assert not passes({"data": {"status": ["Inactive"]}}, hot)
    assert passes({"partitionKey": ["1"]}, hot)
    assert passes({"kinesis": {"partitionKey": ["1"]}}, hot)
    assert not passes({"data": {"status": ["Active"]}}, rec(b"not json"))
    assert passes({"partitionKey": ["7"]}, rec(b"not json", pk="7"))  # metadata still matches


@pytest.mark.parametrize(
    "pattern, needle",
    [
        ({"a": [{"suffix": ".png"}]}, "'suffix' is not supported"),
        ({"a": [{"wildcard": "*"}]}, "'wildcard' is not supported"),
        ({"a": [{"equals-ignore-case": "x"}]}, "not supported"),
        ({"$or": [{"a": ["x"]}]}, "'$or' is not supported"),
        ({"a": [{"bogus": 1}]}, "unknown filter operator 'bogus'"),
        ({"a": [{"numeric": [">", "10"]}]}, "finite number"),
        ({"a": [{"numeric": ["!=", 1]}]}, "'!='"),
        ({"a": [{"numeric": ["<", 5, ">", 1]}]}, "lower bound then an upper"),
        ({"a": [{"exists": "yes"}]}, "true or false"),
        ({"a": [{"prefix": 5}]}, "prefix needs a string"),
        ({"a": []}, "at least one value"),
        ({"a": "x"}, "must be a list"),
        ({}, "must not be empty"),
        ({"a": [{"anything-but": []}]}, "at least one"),
        ({"a": [{"x": 1, "y": 2}]}, "exactly one key"),
        ({"a": [[1]]}, "must be a string, number"),
    ],
)
def test_bad_patterns_refused_by_name(pattern, needle):
    with pytest.raises(ValidationError, match=needle.replace("$", r"\$")):
        compile_filters([pattern])


def test_pattern_strings_and_limits():
    assert compile_filters(['{"a": ["x"]}'])({"a": "x"})
    assert compile_filters([{"Pattern": '{"a": ["x"]}'}])({"a": "x"})
    with pytest.raises(ValidationError, match="not valid JSON"):
        compile_filters(["{a: x}"])
    with pytest.raises(ValidationError, match="at most 5"):
        compile_filters([{"a": ["x"]}] * 6)
    with pytest.raises(ValidationError, match="4096"):
        compile_filters([{"a": ["x" * 5000]}])
    with pytest.raises(ValidationError, match="JSON object"):
        compile_filters(['["a"]'])


KEYS_RECORD = {
    "eventName": "INSERT",
    "dynamodb": {
        "Keys": {"pk": {"S": "USER#1"}, "sk": {"N": "0"}},
        "NewImage": {"pk": {"S": "USER#1"}, "sk": {"N": "0"}, "status": {"S": "done"}},
    },
}


@pytest.mark.parametrize(
    "filters, keys_only",
    [
        ([{"dynamodb": {"Keys": {"sk": {"N": [{"anything-but": ["0"]}]}}}}], True),
        ([json.dumps({"dynamodb": {"Keys": {"pk": {"S": [{"prefix": "USER#"}]}}}})], True),
        ([{"dynamodb": {"Keys": {"pk": {"S": ["a"]}}}}, {"dynamodb": {"Keys": {"sk": {"N": ["1"]}}}}], True),
        ([{"dynamodb": {"Keys": {"pk": {"S": ["a"]}}}}, {"eventName": ["INSERT"]}], False),
        ([{"dynamodb": {"Keys": {"pk": {"S": ["a"]}}, "NewImage": {"status": {"S": ["done"]}}}}], False),
        ([{"dynamodb": {"NewImage": {"status": {"S": ["done"]}}}}], False),
        ([{"dynamodb": {"Keys": [{"exists": True}]}}], False),
        ([], False),
        (None, False),
    ],
)
def test_filters_that_read_only_the_keys_are_known(filters, keys_only):
    """A trigger matches such filters against the keys alone (read from the stored bytes without
    decoding the images); any filter that reads more gets the whole record."""
    assert reads_only(filters, ("dynamodb", "Keys")) is keys_only
    if keys_only:
        view = {"dynamodb": {"Keys": KEYS_RECORD["dynamodb"]["Keys"]}}
        assert compile_filters(filters)(view) == compile_filters(filters)(KEYS_RECORD)


def test_reads_only_refuses_bad_patterns_as_compile_does():
    with pytest.raises(ValidationError, match="not valid JSON"):
        reads_only(["{nope"], ("dynamodb", "Keys"))
