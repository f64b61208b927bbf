"""Records that Lambda sends to destinations: the asynchronous invocation record (aws-semantics.md
§5.2) and the stream on-failure record (§4.7)."""

from __future__ import annotations

from typing import Any

from ripple.events import ACCOUNT_ID, REGION, iso_ms, iso_s


def function_arn(name: str, *, qualifier: str | None = "$LATEST", region: str = REGION) -> str:
    arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def invocation_record(
    *,
    function: str,
    request_id: str,
    condition: str,
    invoke_count: int,
    request_payload: Any,
    response_payload: Any,
    function_error: str | None,
    ts: float,
) -> dict[str, Any]:
    """The record an on-success or on-failure destination of an asynchronous invocation receives.
    ``condition`` is ``Success``, ``RetriesExhausted`` or ``EventAgeExceeded``; ``function_error``
    (``Unhandled``) only on failure."""
    if condition not in ("Success", "RetriesExhausted", "EventAgeExceeded", "RecursiveInvocationDetected"):
        raise ValueError(condition)
    response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if function_error:
        response["functionError"] = function_error
    return {
        "version": "1.0",
        "timestamp": iso_ms(ts),
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn(function),
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "requestPayload": request_payload,
        "responseContext": response,
        "responsePayload": response_payload,
    }


def stream_failure_record(
    *,
    source: str,
    function: str,
    request_id: str,
    condition: str,
    invoke_count: int,
    function_error: str | None,
    shard_id: str,
    start_sequence: str,
    end_sequence: str,
    first_arrival: float,
    last_arrival: float,
    batch_size: int,
    stream_arn: str,
    ts: float,
) -> dict[str, Any]:
    """What an on-failure destination of a table or stream trigger receives when a batch is
    discarded. ``source`` is ``dynamodb`` or ``kinesis``; the records themselves are not included."""
    response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if function_error:
        response["functionError"] = function_error
    if source == "dynamodb":
        key, stamp = "DDBStreamBatchInfo", iso_s
    elif source == "kinesis":
        key, stamp = "KinesisBatchInfo", iso_ms
    else:
        raise ValueError(source)
    return {
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn(function),
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "responseContext": response,
        "version": "1.0",
        "timestamp": iso_ms(ts),
        key: {
            "shardId": shard_id,
            "startSequenceNumber": start_sequence,
            "endSequenceNumber": end_sequence,
            "approximateArrivalOfFirstRecord": stamp(first_arrival),
            "approximateArrivalOfLastRecord": stamp(last_arrival),
            "batchSize": batch_size,
            "streamArn": stream_arn,
        },
    }
