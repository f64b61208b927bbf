"""A well-behaved app: the functions tests invoke to check the contract."""

import json
import os
import time

from ripple.app import App

app = App("basic")
COUNTER = {"n": 0}


@app.function()
def echo(event, context):
    return {"event": event}


@app.function(memory_mb=256, env={"GREETING": "hi"})
def describe(event, context):
    COUNTER["n"] += 1
    names = [k for k in os.environ if k.startswith(("AWS_", "LAMBDA_", "_"))]
    return {
        "count": COUNTER["n"],
        "pid": os.getpid(),
        "env": {k: os.environ[k] for k in [*names, "GREETING", "TZ", "LANG", "PATH"] if k in os.environ},
        "context": {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "identity": [context.identity.cognito_identity_id, context.identity.cognito_identity_pool_id],
            "client_context": None if context.client_context is None else context.client_context.custom,
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
    }


@app.function()
def tmp(event, context):
    path = "/tmp/state.txt"
    before = None
    if os.path.exists(path):
        with open(path) as f:
            before = f.read()
    with open(path, "w") as f:
        f.write(event.get("write", ""))
    st = os.statvfs("/tmp")
    return {"before": before, "tmp_bytes": st.f_blocks * st.f_frsize}


@app.function()
def noisy(event, context):
    import logging

    print("hello from", context.aws_request_id)
    logging.getLogger().warning("a warning")
    return "done"


@app.function()
def fail(event, context):
    raise KeyError(event.get("missing", "action"))


@app.function()
def slow(event, context):
    time.sleep(event.get("seconds", 0.2))
    return json.dumps(event)


@app.function(concurrency=1, timeout=30)
def gated(event, context):
    # Holds its slot until the test opens the gate (a file outside the sandbox's private /tmp).
    while not os.path.exists(event["gate"]):
        time.sleep(0.005)
    return "through"


@app.function(concurrency=0)
def switched_off(event, context):
    return "never"


@app.function(memory_mb=256)
def alloc(event, context):
    held = b"\x01" * (event["mb"] << 20)
    return len(held)


@app.function(timeout=30)
def waits(event, context):
    return gated(event, context)
