"""Destination records, field by field against aws-semantics.md §4.7 and §5.2."""

from __future__ import annotations

import re

from ripple.events.destinations import invocation_record, stream_failure_record

ISO_MS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def test_async_failure_record():
    rec = invocation_record(
        function="my-function",
        request_id="e4b4",
        condition="RetriesExhausted",
        invoke_count=3,
        request_payload={"ORDER_IDS": ["x"]},
        response_payload={"errorMessage": "boom"},
        function_error="Unhandled",
        ts=1573755365.568,
    )
    assert list(rec) == [
        "version",
        "timestamp",
        "requestContext",
        "requestPayload",
        "responseContext",
        "responsePayload",
    ]
    assert rec["version"] == "1.0" and rec["timestamp"] == "2019-11-14T18:16:05.568Z"
    assert rec["requestContext"] == {
        "requestId": "e4b4",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 3,
        "functionArn": rec["requestContext"]["functionArn"],
    }
    assert re.fullmatch(
        r"arn:aws:lambda:[a-z0-9-]+:\d{12}:function:my-function:\$LATEST", rec["requestContext"]["functionArn"]
    )
    assert rec["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}


def test_async_success_record_has_no_function_error():
    rec = invocation_record(
        function="f",
        request_id="r",
        condition="Success",
        invoke_count=1,
        request_payload={},
        response_payload=None,
        function_error=None,
        ts=0,
    )
    assert "functionError" not in rec["responseContext"]


def test_stream_failure_records():
    common = dict(
        function="f",
        request_id="r",
        condition="RetryAttemptsExhausted",
        invoke_count=1,
        function_error="Unhandled",
        shard_id="shardId-000000000000",
        start_sequence="1",
        end_sequence="2",
        first_arrival=1573690399.5,
        last_arrival=1573690399.9,
        batch_size=2,
        stream_arn="arn",
        ts=1573690429.717,
    )
    ddb = stream_failure_record(source="dynamodb", **common)
    assert set(ddb) == {"requestContext", "responseContext", "version", "timestamp", "DDBStreamBatchInfo"}
    info = ddb["DDBStreamBatchInfo"]
    assert info["approximateArrivalOfFirstRecord"] == "2019-11-14T00:13:19Z"  # seconds for DynamoDB
    assert info["batchSize"] == 2 and info["streamArn"] == "arn"
    kin = stream_failure_record(source="kinesis", **common)
    assert re.fullmatch(ISO_MS, kin["KinesisBatchInfo"]["approximateArrivalOfFirstRecord"])  # ms for Kinesis
