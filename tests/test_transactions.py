"""TransactWriteItems: all actions or none, conditions judged on the items as they stood, one
stream record per changed item, and bad requests refused by name with nothing written."""

from __future__ import annotations

import pytest

from ripple import errors


@pytest.fixture
def tables(client):
    a = client.create_table("accounts", hash_key="id:S", stream="NEW_AND_OLD_IMAGES")
    b = client.create_table("ledger", hash_key="acct:S", range_key="n:N", stream="NEW_IMAGE")
    a.put({"id": "alice", "balance": 100, "version": 1})
    a.put({"id": "bob", "balance": 5, "version": 1})
    return a, b


def changes(client, after):
    return [(c.source, c.record["eventName"]) for c in client.log.read(after)]


def transfer(amount, version=1):
    return [
        {
            "update": {
                "table": "accounts",
                "key": {"id": "alice"},
                "update": "SET balance = balance - :a, version = version + :one",
                "condition": "balance >= :a AND version = :v",
                "values": {":a": amount, ":v": version, ":one": 1},
            }
        },
        {
            "update": {
                "table": "accounts",
                "key": {"id": "bob"},
                "update": "SET balance = balance + :a",
                "values": {":a": amount},
            }
        },
        {"put": {"table": "ledger", "item": {"acct": "alice", "n": version, "amount": -amount}}},
        {"check": {"table": "accounts", "key": {"id": "carol"}, "condition": "attribute_not_exists(id)"}},
    ]


def test_all_actions_apply_together_with_their_records(client, tables):
    a, b = tables
    pos = client.log.latest()
    client.transact_write(transfer(30))
    assert a.get({"id": "alice"})["balance"] == 70 and a.get({"id": "bob"})["balance"] == 35
    assert b.get({"acct": "alice", "n": 1})["amount"] == -30
    assert changes(client, pos) == [
        ("table:accounts", "MODIFY"),
        ("table:accounts", "MODIFY"),
        ("table:ledger", "INSERT"),
    ]


def test_a_failed_condition_cancels_everything_with_reasons(client, tables):
    a, b = tables
    pos = client.log.latest()
    with pytest.raises(errors.TransactionCanceled) as e:
        client.transact_write(transfer(500))  # more than alice has
    assert [r["Code"] for r in e.value.reasons] == ["ConditionalCheckFailed", "None", "None", "None"]
    assert "[ConditionalCheckFailed, None, None, None]" in str(e.value)
    assert a.get({"id": "bob"})["balance"] == 5 and b.get({"acct": "alice", "n": 1}) is None
    assert client.log.latest() == pos


def test_conditions_see_the_items_before_the_transaction(client, tables):
    a, _ = tables
    actions = [
        {"put": {"table": "accounts", "item": {"id": "carol", "balance": 1}}},
        # carol does not exist yet for this check, although the put above creates her
        {"check": {"table": "accounts", "key": {"id": "dave"}, "condition": "attribute_not_exists(id)"}},
        {
            "delete": {
                "table": "accounts",
                "key": {"id": "bob"},
                "condition": "balance = :b",
                "values": {":b": 5},
                "return_old_on_failure": True,
            }
        },
    ]
    client.transact_write(actions)
    assert a.get({"id": "carol"}) == {"id": "carol", "balance": 1} and a.get({"id": "bob"}) is None
    with pytest.raises(errors.TransactionCanceled) as e:
        client.transact_write(
            [
                {"put": {"table": "accounts", "item": {"id": "erin"}}},
                {
                    "update": {
                        "table": "accounts",
                        "key": {"id": "alice"},
                        "update": "SET x = :x",
                        "condition": "balance = :b",
                        "values": {":x": 1, ":b": 1},
                        "return_old_on_failure": True,
                    }
                },
            ]
        )
    assert e.value.reasons[1]["Item"]["balance"] == 100 and a.get({"id": "erin"}) is None


def test_unchanged_items_and_absent_deletes_record_nothing(client, tables):
    pos = client.log.latest()
    client.transact_write(
        [
            {"put": {"table": "accounts", "item": {"id": "bob", "balance": 5, "version": 1}}},  # as it is
            {"delete": {"table": "accounts", "key": {"id": "nobody"}}},
        ]
    )
    assert client.log.latest() == pos


@pytest.mark.parametrize(
    "actions, match",
    [
        ([], "1 to 100 actions"),
        ([{"put": {"table": "accounts", "item": {"id": f"x{i}"}}} for i in range(101)], "1 to 100 actions"),
        ([{"upsert": {"table": "accounts", "item": {"id": "x"}}}], "must be one of"),
        ([{"put": {"table": "accounts", "key": {"id": "x"}}}], "needs 'table' and 'item'"),
        ([{"put": {"table": "accounts", "item": {"id": "x"}, "update": "SET a = :a"}}], "does not take update"),
        ([{"update": {"table": "accounts", "key": {"id": "x"}}}], "needs an 'update'"),
        ([{"check": {"table": "accounts", "key": {"id": "x"}}}], "needs a 'condition'"),
        ([{"put": {"table": "accounts", "item": {"id": "x"}, "retries": 3}}], "unknown option"),
        (
            [
                {"put": {"table": "accounts", "item": {"id": "x"}}},
                {"delete": {"table": "accounts", "key": {"id": "x"}}},
            ],
            "multiple operations on one item",
        ),
        ([{"put": {"table": "accounts", "item": {"id": "x"}, "condition": "a = :missing"}}], ":missing"),
        ([{"put": {"table": "accounts", "item": {"id": 7}}}], "Type mismatch"),
        ([{"update": {"table": "accounts", "key": {"id": "x"}, "update": "SET id = :i", "values": {":i": "y"}}}], "id"),
        ([{"put": {"table": "nope", "item": {"id": "x"}}}], "nope"),
        ("put", "list of actions"),
    ],
)
def test_bad_requests_are_refused_by_name_and_write_nothing(client, tables, actions, match):
    pos = client.log.latest()
    with pytest.raises((errors.ValidationError, errors.NotFound), match=match):
        client.transact_write(actions)
    assert client.log.latest() == pos and tables[0].get({"id": "x"}) is None
