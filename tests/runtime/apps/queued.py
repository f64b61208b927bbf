"""Functions for the burst loop's tests: output that must stay with its invocation, a crash and a
slow call with others queued behind them."""

import os
import sys
import time

from ripple.app import App

app = App("queued")


@app.function(timeout=30)
def chatty(event, context):
    i = event["i"]
    for j in range(event.get("lines", 3)):
        print(f"event {i} line {j}")
    sys.stdout.write(f"event {i} unfinished")  # no newline: the invocation's end ends the line
    return {"i": i, "pid": os.getpid(), "remaining_ms": context.get_remaining_time_in_millis()}


@app.function(timeout=30)
def crashy(event, context):
    print(f"event {event['i']}")
    if event.get("die"):
        sys.stdout.flush()
        os._exit(3)
    return {"i": event["i"], "pid": os.getpid()}


@app.function(timeout=1)
def sleepy(event, context):
    time.sleep(event["seconds"])
    return {"i": event["i"], "remaining_ms": context.get_remaining_time_in_millis()}


@app.function(timeout=30)
def io_bound(event, context):
    time.sleep(event["seconds"])  # waiting on I/O: more sandboxes, not more cores, make it faster
    return {"pid": os.getpid()}


@app.function(timeout=30)
def bulky(event, context):
    return "x" * event["answer"]  # a big answer the worker blocks on until the pool reads it


@app.function(timeout=30)
def mimic(event, context):
    # Output holding what a log end mark looks like (the old fixed mark, then one with a made-up
    # token) must stay this invocation's output, and so must everything printed after it.
    print(f"event {event['i']} before")
    sys.stdout.write("\x00\x1eripple:end\x1e\x00" + f"\x00\x1eripple:end:{event['i']:016x}\x1e\x00\n")
    print(f"event {event['i']} after")
    return {"i": event["i"]}
