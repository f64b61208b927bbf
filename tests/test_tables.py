"""Tables behave as DynamoDB does, and each committed write has exactly one stream record."""

from __future__ import annotations

from decimal import Decimal

import pytest

import ripple
from ripple import errors


@pytest.fixture
def games(client):
    return client.create_table(
        "games", hash_key="event_key:S", range_key="start_timestamp:N", stream="NEW_AND_OLD_IMAGES"
    )


def key(u="u1", ts=100):
    return {"event_key": u, "start_timestamp": ts}


def records(client, table="games"):
    return [c.record for c in client.log.read(0, sources=[f"table:{table}"])]


def test_put_get_types_round_trip(games):
    item = {
        **key(),
        "score": 924,
        "ratio": Decimal("0.125"),
        "handle": "ace",
        "completed": True,
        "none": None,
        "tags": {"a", "b"},
        "scores": {Decimal(1), Decimal(2)},
        "blob": b"\x00\x01",
        "blobs": {b"x"},
        "achievements": [{"id": 1, "shortname": "first", "bonus_score": 5}],
        "meta": {"lvl": {"deep": [1, "x"]}},
        "empty": "",
    }
    games.put(item)
    got = games.get(key())
    assert got["score"] == Decimal(924) and isinstance(got["score"], Decimal)
    assert got["tags"] == {"a", "b"} and got["blob"] == b"\x00\x01" and got["none"] is None
    assert got["achievements"][0]["bonus_score"] == Decimal(5)
    assert got["meta"]["lvl"]["deep"] == [Decimal(1), "x"]
    assert games.get(key(ts=1)) is None


def test_condition_expressions(client, games):
    games.put({**key(), "score": 1})
    with pytest.raises(errors.ConditionalCheckFailed):
        games.put({**key(), "score": 2}, condition="attribute_not_exists(event_key)")
    assert games.get(key())["score"] == 1
    games.put({**key(), "score": 3}, condition="score < :s", values={":s": 2})
    with pytest.raises(errors.ConditionalCheckFailed) as e:
        games.delete(key(), condition="score = :x", values={":x": 99}, return_old_on_failure=True)
    assert e.value.item["score"] == 3
    n = len(records(client))
    with pytest.raises(errors.ConditionalCheckFailed):
        games.update(key(), update="SET score = :v", condition="attribute_not_exists(score)", values={":v": 5})
    assert len(records(client)) == n  # no record for a failed condition


def test_update_expressions_and_return_values(games):
    games.put({**key(), "score": 10, "tags": {"a"}, "old": {"a", "z"}, "hist": [1], "gone": "x"})
    new = games.update(
        key(),
        update="SET score = score + :d, hist = list_append(hist, :h), opener = if_not_exists(opener, :f) "
        "REMOVE gone ADD tags :t, plays :one DELETE #o :a",
        names={"#o": "old"},
        values={":d": 5, ":h": [2], ":f": "yes", ":t": {"b"}, ":one": 1, ":a": {"a"}},
        return_values="ALL_NEW",
    )
    assert new["score"] == 15 and new["hist"] == [1, 2] and new["opener"] == "yes"
    assert new["tags"] == {"a", "b"} and new["old"] == {"z"} and new["plays"] == 1 and "gone" not in new
    assert games.update(key(), update="SET score = :v", values={":v": 1}, return_values="UPDATED_OLD") == {"score": 15}
    assert games.update(key(), update="SET score = :v", values={":v": 2}, return_values="UPDATED_NEW") == {"score": 2}
    assert (
        games.update(key(), update="SET #s = :v", names={"#s": "score"}, values={":v": 3}, return_values="ALL_OLD")[
            "score"
        ]
        == 2
    )
    with pytest.raises(errors.ValidationError, match="part of the key"):
        games.update(key(), update="SET start_timestamp = :v", values={":v": 1})
    # Updating an absent item creates it from its key.
    assert games.update(key(ts=7), update="ADD plays :one", values={":one": 1}, return_values="ALL_NEW") == {
        **key(ts=7),
        "plays": 1,
    }


def test_query_operators_order_and_pages(games):
    for ts in range(1, 21):
        games.put({**key(ts=ts), "score": ts % 5})
    games.put({**key(u="u2", ts=1), "score": 100})

    def q(cond, vals, **kw):
        return [
            int(i["start_timestamp"]) for i in games.query(key_condition=cond, values={":u": "u1", **vals}, **kw).items
        ]

    assert q("event_key = :u", {}) == list(range(1, 21))
    assert q("event_key = :u AND start_timestamp < :t", {":t": 4}) == [1, 2, 3]
    assert q("event_key = :u AND start_timestamp <= :t", {":t": 4}) == [1, 2, 3, 4]
    assert q("event_key = :u AND start_timestamp > :t", {":t": 18}) == [19, 20]
    assert q("event_key = :u AND start_timestamp >= :t", {":t": 19}) == [19, 20]
    assert q("event_key = :u AND start_timestamp = :t", {":t": 7}) == [7]
    assert q("event_key = :u AND start_timestamp BETWEEN :a AND :b", {":a": 5, ":b": 8}) == [5, 6, 7, 8]
    assert q("event_key = :u", {}, forward=False)[:3] == [20, 19, 18]
    assert q("event_key = :u", {":s": 0}, filter="score = :s") == [5, 10, 15, 20]
    page = games.query(key_condition="event_key = :u", filter="score = :s", values={":u": "u1", ":s": 0}, limit=6)
    assert [int(i["start_timestamp"]) for i in page.items] == [5]
    assert page.scanned_count == 6 and page.count == 1  # Limit counts items read, before the filter
    assert page.last_evaluated_key == key(ts=6)
    seen, start = [], None
    while True:
        p = games.query(key_condition="event_key = :u", values={":u": "u1"}, limit=7, start_key=start, forward=False)
        seen += [int(i["start_timestamp"]) for i in p.items]
        if p.last_evaluated_key is None:
            break
        start = p.last_evaluated_key
    assert seen == list(range(20, 0, -1))
    proj = games.query(
        key_condition="event_key = :u AND start_timestamp = :t", values={":u": "u1", ":t": 3}, projection="score"
    )
    assert proj.items == [{"score": 3}]


def test_begins_with_on_string_range_key(client):
    t = client.create_table("files", hash_key="dir:S", range_key="name:S")
    for name in ["a.txt", "ab.txt", "b.txt", "abc.md", "za"]:
        t.put({"dir": "d", "name": name})
    got = t.query(
        key_condition="dir = :d AND begins_with(#n, :p)", names={"#n": "name"}, values={":d": "d", ":p": "ab"}
    )
    assert [i["name"] for i in got.items] == ["ab.txt", "abc.md"]
    back = t.query(
        key_condition="dir = :d AND begins_with(#n, :p)",
        names={"#n": "name"},
        values={":d": "d", ":p": "a"},
        forward=False,
    )
    assert [i["name"] for i in back.items] == ["abc.md", "ab.txt", "a.txt"]


def test_numeric_range_keys_sort_numerically(client):
    t = client.create_table("nums", hash_key="h:S", range_key="n:N")
    values = [Decimal(v) for v in ["-1e10", "-2.5", "-2", "-0.001", "0", "1e-5", "0.5", "2", "10", "1e20"]]
    for v in reversed(values):
        t.put({"h": "x", "n": v})
    assert [i["n"] for i in t.query(key_condition="h = :h", values={":h": "x"}).items] == values
    t.put({"h": "x", "n": Decimal("2.0")})  # 2.0 is the same key as 2
    assert len(t.query(key_condition="h = :h", values={":h": "x"}).items) == len(values)


def test_scan_pages_and_filter(client):
    t = client.create_table("scanme", hash_key="id:N")
    for i in range(50):
        t.put({"id": i, "even": i % 2 == 0})
    assert sorted(int(i["id"]) for i in t.scan_all()) == list(range(50))
    evens = list(t.scan_all(filter="even = :t", values={":t": True}, limit=7))
    assert len(evens) == 25
    assert t.scan(limit=10).last_evaluated_key is not None


def test_batch_write_and_get(client, games):
    games.batch_write(puts=[{**key(ts=i), "score": i} for i in range(25)])
    got = games.batch_get([key(ts=i) for i in (1, 2, 99)])
    assert sorted(int(i["score"]) for i in got) == [1, 2]
    games.batch_write(deletes=[key(ts=i) for i in range(10)])
    assert games.describe().item_count == 15
    with pytest.raises(errors.ValidationError, match="1 to 25"):
        games.batch_write(puts=[{**key(ts=i)} for i in range(26)])
    with pytest.raises(errors.ValidationError, match="duplicates"):
        games.batch_write(puts=[key(ts=500), key(ts=500)])
    assert games.get(key(ts=500)) is None  # nothing of a refused batch was written


def test_batch_get_reads_many_keys_in_order_with_projection_and_refuses_bad_requests(client, games):
    games.batch_write(puts=[{**key(ts=i), "score": i, "state": "x" * 50} for i in range(1, 21)])
    wanted = [key(ts=i) for i in (7, 3, 999, 12)]
    assert [int(i["start_timestamp"]) for i in games.batch_get(wanted)] == [7, 3, 12]
    assert games.batch_get(wanted[:2], projection="score") == [{"score": 7}, {"score": 3}]
    other = client.create_table("players", hash_key="id:S")
    other.put({"id": "p1", "handle": "ace"})
    got = client.store.batch_get({"games": [key(ts=5)], "players": [{"id": "p1"}, {"id": "nobody"}]})
    assert [int(i["score"]) for i in got["games"]] == [5] and got["players"] == [{"id": "p1", "handle": "ace"}]
    with pytest.raises(errors.ValidationError, match="duplicates"):
        games.batch_get([key(ts=5), key(ts=Decimal("5.0"))])  # the same number, written twice
    with pytest.raises(errors.ValidationError, match="1 to 100"):
        games.batch_get([key(ts=i) for i in range(101)])
    with pytest.raises(errors.ValidationError, match="key"):
        games.batch_get([{"event_key": "u1"}])  # no range key
    with pytest.raises(errors.NotFound, match="nope"):
        client.store.batch_get({"nope": [{"id": "x"}]})


def test_stream_records_per_view_type(client):
    for view in ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
        name = f"view-{view.lower()}"
        t = client.create_table(name, hash_key="id:S", stream=view)
        t.put({"id": "a", "v": 1})
        t.put({"id": "a", "v": 2})
        t.delete({"id": "a"})
        recs = records(client, name)
        assert [r["eventName"] for r in recs] == ["INSERT", "MODIFY", "REMOVE"]
        has = [(("NewImage" in r["dynamodb"]), ("OldImage" in r["dynamodb"])) for r in recs]
        expected = {
            "KEYS_ONLY": [(False, False)] * 3,
            "NEW_IMAGE": [(True, False), (True, False), (False, False)],
            "OLD_IMAGE": [(False, False), (False, True), (False, True)],
            "NEW_AND_OLD_IMAGES": [(True, False), (True, True), (False, True)],
        }[view]
        assert has == expected, view
        for r in recs:
            assert r["dynamodb"]["Keys"] == {"id": {"S": "a"}}
            assert r["dynamodb"]["StreamViewType"] == view


def test_no_record_for_writes_that_change_nothing(client, games):
    games.put({**key(), "score": 1})
    games.put({**key(), "score": 1})
    games.update(key(), update="SET score = :s", values={":s": 1})
    games.delete(key(ts=12345))
    assert [r["eventName"] for r in records(client)] == ["INSERT"]


def test_table_without_stream_records_nothing(client):
    t = client.create_table("plain", hash_key="id:S")
    t.put({"id": "a"})
    assert client.log.latest() == 0


def test_dynamodb_record_shape(client, games):
    games.put({**key(), "score": 924})
    games.update(key(), update="SET score = :s", values={":s": 925})
    rec = records(client)[1]
    assert set(rec) == {
        "eventID",
        "eventName",
        "eventVersion",
        "eventSource",
        "awsRegion",
        "dynamodb",
        "eventSourceARN",
    }
    assert rec["eventName"] == "MODIFY" and rec["eventSource"] == "aws:dynamodb" and rec["eventVersion"] == "1.1"
    assert len(rec["eventID"]) == 32 and int(rec["eventID"], 16) >= 0
    d = rec["dynamodb"]
    assert isinstance(d["ApproximateCreationDateTime"], int)
    assert d["Keys"] == {"event_key": {"S": "u1"}, "start_timestamp": {"N": "100"}}
    assert d["NewImage"]["score"] == {"N": "925"} and d["OldImage"]["score"] == {"N": "924"}
    assert d["SequenceNumber"].isdigit() and 21 <= len(d["SequenceNumber"]) <= 40
    assert isinstance(d["SizeBytes"], int) and d["SizeBytes"] >= 1
    arn = rec["eventSourceARN"]
    assert arn.startswith("arn:aws:dynamodb:") and ":table/games/stream/" in arn
    seqs = [r["dynamodb"]["SequenceNumber"] for r in records(client)]
    assert seqs == sorted(seqs)


@pytest.mark.parametrize(
    "item, match",
    [
        ({"start_timestamp": 1}, "Missing the key event_key"),
        ({"event_key": "u"}, "Missing the key start_timestamp"),
        ({"event_key": 5, "start_timestamp": 1}, "Type mismatch for key event_key"),
        ({"event_key": "u", "start_timestamp": "1"}, "Type mismatch for key start_timestamp"),
        ({"event_key": "", "start_timestamp": 1}, "empty string"),
        ({"event_key": "u", "start_timestamp": Decimal("1" * 39)}, "38"),
        ({"event_key": "u", "start_timestamp": 1, "big": "x" * 400 * 1024}, "maximum allowed size"),
        ({"event_key": "u", "start_timestamp": 1, "bad": object()}, "object"),
        ({"event_key": "u", "start_timestamp": 1, "s": set()}, "empty"),
    ],
)
def test_bad_items_refused_and_nothing_written(client, games, item, match):
    with pytest.raises(errors.ValidationError, match=match):
        games.put(item)
    assert games.describe().item_count == 0
    assert client.log.latest() == 0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"condition": "score >"}, "Syntax error"),
        ({"condition": "#nope = :v", "values": {":v": 1}}, "#nope"),
        ({"condition": "score = :nope"}, ":nope"),
        ({"condition": "score = :v", "values": {":v": 1, ":extra": 2}}, "unused"),
        ({"condition": "status = :v", "values": {":v": 1}}, "reserved keyword"),
    ],
)
def test_bad_expressions_named(client, games, kwargs, match):
    with pytest.raises(errors.ValidationError, match=match):
        games.put({**key(), "score": 1}, **kwargs)
    assert games.get(key()) is None


def test_bad_table_requests(client, games):
    with pytest.raises(errors.NotFound, match="nope"):
        client.table("nope").put({"id": "x"})
    with pytest.raises(errors.ValidationError, match="does not match the schema"):
        games.get({"event_key": "u1"})
    with pytest.raises(errors.ValidationError, match="does not match the schema"):
        games.get({**key(), "extra": 1})
    with pytest.raises(errors.ValidationError, match="return_values"):
        games.put({**key()}, return_values="ALL_NEW")
    with pytest.raises(errors.ValidationError, match="limit"):
        games.query(key_condition="event_key = :u", values={":u": "x"}, limit=0)
    with pytest.raises(errors.ValidationError):
        games.query(key_condition="score = :u", values={":u": "x"})
    for spec in [
        dict(hash_key="id"),
        dict(hash_key="id:X"),
        dict(hash_key="id:S", stream="ALL"),
        dict(hash_key="id:S", range_key="id:N"),
    ]:
        with pytest.raises(errors.ValidationError):
            client.create_table("bad-table", **spec)
    with pytest.raises(errors.ValidationError):
        client.create_table("x", hash_key="id:S")  # table names are 3 to 255 characters
    with pytest.raises(errors.Conflict):
        client.create_table("games", hash_key="id:S")
    assert client.tables() == ["games"]


def test_stream_images_decode_with_the_public_helper(client):
    """`ripple.item_from_image` turns a record's images back into items as reads return them, and
    names the bad part of a malformed one."""
    t = client.create_table("images", hash_key="pk:S", stream="NEW_AND_OLD_IMAGES")
    item = {"pk": "a", "n": Decimal("1.5"), "b": b"\x00", "tags": {"x", "y"}, "m": {"l": [1, None, True]}}
    t.put(item)
    rec = client.log.read(0)[-1].record["dynamodb"]
    want = {**item, "m": {"l": [Decimal(1), None, True]}}
    assert ripple.item_from_image(rec["NewImage"]) == t.get({"pk": "a"}) == want
    assert ripple.item_from_image(rec["Keys"]) == {"pk": "a"}
    assert ripple.item_size(item) == ripple.item_size(t.get({"pk": "a"}))
    with pytest.raises(errors.ValidationError, match="more than one datatypes"):
        ripple.item_from_image({"pk": {"S": "a", "N": "1"}})


def test_float_range_keys_are_the_numbers_their_repr_says(games, client):
    # Epoch seconds with milliseconds, as game servers write them: stored as Decimal(repr(x)), read
    # back by that number, ordered numerically with Decimal and int keys, one item per number.
    starts = [1764291234.567, 1764291234.5, 1764291234.0, 0.001, 1e-05, 1e16, 12.25]
    games.batch_write(puts=[{"event_key": "u", "start_timestamp": s, "score": s} for s in starts])
    games.put({"event_key": "u", "start_timestamp": Decimal("1764291234.5"), "score": 1})  # the same key
    got = [i["start_timestamp"] for i in games.query(key_condition="event_key = :u", values={":u": "u"}).items]
    want = sorted({Decimal(repr(s)) for s in starts})
    assert got == want
    assert games.get({"event_key": "u", "start_timestamp": Decimal("1764291234")})["score"] == Decimal("1764291234")
    assert games.get({"event_key": "u", "start_timestamp": 1764291234.5})["score"] == 1
    wanted = [{"event_key": "u", "start_timestamp": x} for x in (1764291234.5, Decimal("12.25"), 12, 0.001)]
    assert [i["start_timestamp"] for i in games.batch_get(wanted)] == [
        Decimal("1764291234.5"),
        Decimal("12.25"),
        Decimal("0.001"),
    ]
    with pytest.raises(errors.ValidationError, match="does not match the schema"):
        games.batch_get([{"event_key": "u", "start_timestamp": 1.5, "x": 1}])
    with pytest.raises(errors.ValidationError, match="Type mismatch"):
        games.batch_get([{"event_key": "u", "start_timestamp": "1.5"}])
    record = client.log.read(0, limit=1)[0].record
    assert record["dynamodb"]["Keys"]["start_timestamp"] == {"N": "1764291234.567"}
