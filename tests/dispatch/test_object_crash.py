"""SIGKILL the platform at random moments while it delivers object events, which it takes straight
from the change log (decision 0009): after every restart each upload is delivered at least once,
first failures are retried from the durable queue, and duplicates stay within what was in flight."""

from __future__ import annotations

import base64
import os
import random
import signal
import time
import zlib

from platform_kills import kill_repeatedly, start

import ripple
from ripple.dispatch.dispatcher import DIRECT_PAGE

KILLS = int(os.environ.get("RIPPLE_PLATFORM_KILLS", "20"))
SEED = int(os.environ.get("RIPPLE_CRASH_SEED", "20261128"))
APP = """
import time, zlib
import ripple
from ripple import App
app = App("crashy-objects")
app.bucket("uploads")
app.stream("deliveries", shards=1)

@app.on_object("uploads", prefix="in/", retry_delays_s=(0.05, 0.05))
def seen(event, context):
    key = event["Records"][0]["s3"]["object"]["key"]
    c = ripple.connect()
    if zlib.crc32(key.encode()) % 5 == 0 and not c.bucket("uploads").exists("failed/" + key):
        c.bucket("uploads").put("failed/" + key, b"1")  # outside the trigger's prefix: no event
        raise RuntimeError("the first attempt fails")
    c.stream("deliveries").put(key.encode(), partition_key="d")
    time.sleep(0.002)  # delivered, not yet acknowledged: the window a kill turns into duplicates
"""


def deliveries(c) -> list[str]:
    out, after = [], 0
    while page := c.log.read(after, sources=["stream:deliveries"], limit=1000):
        out += [base64.b64decode(ch.record["kinesis"]["data"]).decode() for ch in page]
        after = page[-1].seq
    return out


def test_object_delivery_survives_sigkill_without_losing_an_event(tmp_path):
    rng = random.Random(SEED)
    (tmp_path / "app.py").write_text(APP)
    state = tmp_path / "state"
    with ripple.connect(state) as c:
        c.create_bucket("uploads")
        c.create_stream("deliveries", shards=1)
        uploads = c.bucket("uploads")
        keys: list[str] = []
        # An object trigger sees uploads made after it first started (as S3's notifications do):
        # probes until one is delivered show it has started before the kills begin.
        proc = start(tmp_path, state)
        for probe in range(600):
            uploads.put(f"in/probe-{probe}", b"x")
            try:
                c.log.wait_until(lambda: bool(deliveries(c)), 0.2)
                break
            except TimeoutError:
                continue
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)

        def write() -> None:
            for _ in range(rng.randint(40, 120)):
                keys.append(f"in/{len(keys):05d}")
                uploads.put(keys[-1], b"x")

        # Up to 0.3 s after a delivery: mid-step, delivered, acknowledged or not.
        kills, progressed = kill_repeatedly(tmp_path, state, c, rng, KILLS, lambda: len(deliveries(c)), write, 0.3)
        proc = start(tmp_path, state)  # a last run delivers what is left (retries included)
        try:
            deadline = time.monotonic() + 120
            pos = 0
            while not set(keys) <= set(deliveries(c)):
                missing = len(set(keys) - set(deliveries(c)))
                assert time.monotonic() < deadline, f"{missing} of {len(keys)} uploads never delivered"
                c.log.wait(pos, 5, sources=["stream:deliveries"])
                pos = c.log.latest(["stream:deliveries"])
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        got = [d for d in deliveries(c) if not d.startswith("in/probe-")]
    failing = [k for k in keys if zlib.crc32(k.encode()) % 5 == 0]
    assert failing and all(uploads_failed(state, k) for k in failing)  # the retry path was taken
    duplicates = len(got) - len(keys)
    # A kill redelivers at most one step's events: those taken from the log whose checkpoint had
    # not moved yet, plus retries in flight.
    assert 0 <= duplicates <= (kills + 1) * DIRECT_PAGE * 2, duplicates
    print(f"object crash test: {kills} kills ({progressed} mid-delivery), {len(got)} deliveries of {len(keys)}")


def uploads_failed(state, key: str) -> bool:
    with ripple.connect(state) as c:
        return c.bucket("uploads").exists("failed/" + key)
