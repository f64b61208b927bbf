"""Handlers for bench/invoke: a no-op, and one that prints the time for the log-latency measurement."""

import time

from ripple.app import App

app = App("bench")


@app.function()
def noop(event, context):
    return None


@app.function()
def stamp(event, context):
    print(f"stamp {event['seq']} {time.time():.6f}", flush=True)
    return None
