"""The write path's byte-template record builders agree with the dict builders field for field, and
the batched write paths (put_many, batch_write) record exactly what the one-at-a-time calls do."""

from __future__ import annotations

import base64
from urllib.parse import quote_plus

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ripple
from ripple.events import dynamodb as ddb
from ripple.events import s3

ARN = ddb.stream_arn("games", 1_700_000_000.123)
IMAGES = {
    "INSERT": ({"a": {"S": "x"}}, None),
    "MODIFY": ({"a": {"N": "1"}}, {"a": {"N": "2"}}),
    "REMOVE": (None, {"a": {"S": "y"}}),
}


@pytest.mark.parametrize("view", ddb.VIEW_TYPES)
@pytest.mark.parametrize("event", sorted(IMAGES))
def test_dynamodb_template_equals_record(view, event):
    new, old = IMAGES[event]
    keys = {"a": {"S": "k"}}
    want = ddb.record(
        event, keys, new=new, old=old, view=view, seq=987654321, ts=1_700_000_001.9, size_bytes=42, arn=ARN
    )
    carried_new = new if view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES") else None
    carried_old = old if view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") else None
    got = ddb.RecordTemplate(ARN, view).build(
        event,
        orjson.dumps(keys),
        None if carried_new is None else orjson.dumps(carried_new),
        None if carried_old is None else orjson.dumps(carried_old),
        987654321,
        1_700_000_001.9,
        42,
    )
    parsed = orjson.loads(got)
    assert parsed == want
    assert list(parsed) == list(want) and list(parsed["dynamodb"]) == list(want["dynamodb"])


_KEY_TEXT = st.lists(st.characters(codec="utf-8") | st.sampled_from(["}}", '}},"', '"', "\\", "{"]), max_size=8).map(
    "".join
)
_KEY_VALUE = st.one_of(
    _KEY_TEXT.map(lambda t: {"S": t or "x"}),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(lambda d: {"N": str(d)}),
    st.binary(min_size=1, max_size=8).map(lambda b: {"B": base64.b64encode(b).decode()}),
)


@given(
    st.dictionaries(st.sampled_from(["id", "sk", "Keys", "NewImage", '}},"']), _KEY_VALUE, min_size=1, max_size=2),
    st.sampled_from(ddb.VIEW_TYPES),
    st.sampled_from(sorted(IMAGES)),
    st.dictionaries(_KEY_TEXT, _KEY_VALUE, max_size=3),
    st.booleans(),
)
def test_record_keys_reads_the_keys_from_the_bytes(keys, view, event, image, template):
    """Filters that read only the keys are matched against ``record_keys(raw)``: it must be the
    record's own Keys whatever the keys and images hold (quotes, braces, the field names)."""
    new = {**image, **keys} if event != "REMOVE" else None
    old = {**image, **keys} if event != "INSERT" else None
    if template:
        raw = ddb.RecordTemplate(ARN, view, region='us-"east-1').build(
            event,
            orjson.dumps(keys),
            orjson.dumps(new) if new is not None and view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES") else None,
            orjson.dumps(old) if old is not None and view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") else None,
            7,
            1_700_000_001.0,
            10,
        )
    else:
        raw = orjson.dumps(
            ddb.record(event, keys, new=new, old=old, view=view, seq=7, ts=1.7e9, size_bytes=10, arn=ARN)
        )
    assert ddb.record_keys(raw) == orjson.loads(raw)["dynamodb"]["Keys"]


@pytest.mark.parametrize(
    "raw",
    [
        b"{}",
        b"not json",
        b'{"dynamodb":{"Keys":{"a":{"S":"x"}}}}',
        b'{"x":1,"dynamodb":{"ApproximateCreationDateTime":1,"Keys":{"a":1}}',
    ],
)
def test_record_keys_declines_bytes_of_another_layout(raw):
    assert ddb.record_keys(raw) is None


def test_dynamodb_template_refuses_unknown_view():
    with pytest.raises(ValueError, match="NEW_ONLY"):
        ddb.RecordTemplate(ARN, "NEW_ONLY")


@given(st.text(min_size=1, max_size=40))
def test_s3_key_encoding_is_quote_plus(key):
    assert s3.encode_key(key) == quote_plus(key, safe="/")


@given(st.text(min_size=1, max_size=40), st.integers(0, 2**60), st.integers(0, 2**40))
def test_s3_template_equals_record(key, seq, size):
    rid, host = s3.new_request_id()
    want = s3.record(
        "ObjectCreated:Put",
        "photos",
        key,
        ts=1_700_000_000.5,
        seq=seq,
        size=size,
        etag="ab" * 16,
        request_id=rid,
        host_id=host,
    )
    tpl = s3.RecordTemplate("ObjectCreated:Put", "photos", ts=1_700_000_000.5, request_id=rid, host_id=host)
    assert orjson.loads(tpl.build(key, seq, size, "ab" * 16)) == want


def _records(client):
    return [c.record for c in client.log.read(0, limit=1000)]


def test_put_many_overwrites_and_repeats_like_single_puts(tmp_path):
    """Overwritten objects release their old bodies; a key given twice in one call ends with the
    last body and two records, as two puts would."""
    with ripple.connect(tmp_path / "a") as one, ripple.connect(tmp_path / "b") as many:
        puts = [("a", b"1"), ("b", b"2"), ("a", b"3"), ("c", b"2")]
        for c in (one, many):
            c.create_bucket("bkt").put("a", b"old a")
            c.bucket("bkt").put("b", b"old b")
        for k, v in puts:
            one.bucket("bkt").put(k, v)
        many.bucket("bkt").put_many(puts)
        many.bucket("bkt").put_many([("b", b"again"), ("d", b"again")])
        one.bucket("bkt").put("b", b"again")
        one.bucket("bkt").put("d", b"again")
        for c in (one, many):
            assert {k: c.bucket("bkt").read(k) for k in "abcd"} == {"a": b"3", "b": b"again", "c": b"2", "d": b"again"}
        strip = lambda recs: [(r["eventName"], r["s3"]["object"]["key"], r["s3"]["object"].get("eTag")) for r in recs]  # noqa: E731
        assert strip(_records(one)) == strip(_records(many))
        # Bodies no object points at are gone ("old a", "old b", "1"); "2" is left on "c" only.
        for c in (one, many):
            con = c.store._db.con
            refs = dict(con.execute("SELECT data, refs FROM blobs").fetchall())
            assert refs == {b"3": 1, b"2": 1, b"again": 2}


@pytest.mark.parametrize("range_key", [None, "sk:N"])
def test_batch_write_records_match_single_writes(tmp_path, range_key):
    """INSERT, MODIFY, REMOVE and no-change writes in one batch: the same records as put/delete one
    at a time, on a hash-only table and one with a range key (two lookup paths)."""

    def make(c):
        t = c.create_table("tbl", hash_key="pk:S", range_key=range_key, stream="NEW_AND_OLD_IMAGES")
        return t

    def k(i):
        return {"pk": f"p{i % 3}", **({"sk": i} if range_key else {})} if range_key else {"pk": f"p{i}"}

    with ripple.connect(tmp_path / "a") as one, ripple.connect(tmp_path / "b") as many:
        ta, tb = make(one), make(many)
        for t in (ta, tb):
            for i in range(4):
                t.put({**k(i), "v": i})
        puts = [
            {**k(0), "v": 0},  # unchanged: no record
            {**k(1), "v": 10},  # MODIFY
            {**k(5), "v": 5, "tags": {"x", "y"}, "m": {"n": [1, "two", None]}},  # INSERT
        ]
        deletes = [k(2), k(9)]  # REMOVE; absent: no record
        for item in puts:
            ta.put(item)
        for key in deletes:
            ta.delete(key)
        tb.batch_write(puts=puts, deletes=deletes)
        drop = lambda recs: [  # noqa: E731
            {
                **r,
                "eventID": None,
                "eventSourceARN": None,
                "dynamodb": {**r["dynamodb"], "ApproximateCreationDateTime": None},
            }
            for r in recs
        ]
        ra, rb = drop(_records(one)), drop(_records(many))
        assert [r["eventName"] for r in rb[4:]] == ["MODIFY", "INSERT", "REMOVE"]
        assert ra == rb
        assert ta.scan().items == tb.scan().items
