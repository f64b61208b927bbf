"""SIGKILL the platform at random moments while it delivers a stream: after every restart each record
is delivered at least once, per-key order holds, and duplicates stay within what was in flight."""

from __future__ import annotations

import base64
import json
import os
import random
import signal
import time

from platform_kills import kill_repeatedly, start

import ripple

KILLS = int(os.environ.get("RIPPLE_PLATFORM_KILLS", "20"))
SEED = int(os.environ.get("RIPPLE_CRASH_SEED", "20261127"))
BATCH = 20
APP = """
import base64
import ripple
from ripple import App
app = App("crashy")
src = app.stream("input", shards=2)
app.stream("deliveries", shards=1)

@app.on_stream(src, batch_size=BATCH, starting_position="TRIM_HORIZON")
def copy(event, context):
    import time
    # One atomic append per batch: the deliveries stream's order is the delivery order.
    ripple.connect().stream("deliveries").put_many(
        [(base64.b64decode(r["kinesis"]["data"]), "d") for r in event["Records"]]
    )
    time.sleep(0.03)  # delivered but not yet checkpointed: the window a kill turns into duplicates
""".replace("BATCH", str(BATCH))


def deliveries(c):
    out, after = [], 0
    while page := c.log.read(after, sources=["stream:deliveries"], limit=1000):
        out += [json.loads(base64.b64decode(ch.record["kinesis"]["data"])) for ch in page]
        after = page[-1].seq
    return out


def test_platform_survives_sigkill_without_losing_or_reordering(tmp_path):
    rng = random.Random(SEED)
    (tmp_path / "app.py").write_text(APP)
    state = tmp_path / "state"
    counters = dict.fromkeys((f"k{i}" for i in range(10)), 0)
    with ripple.connect(state) as c:
        c.create_stream("input", shards=2)
        c.create_stream("deliveries", shards=1)
        written = 0

        def write() -> None:
            nonlocal written
            for _ in range(rng.randint(8, 14)):
                batch = []
                for _ in range(25):
                    k = rng.choice(list(counters))
                    counters[k] += 1
                    batch.append((json.dumps({"k": k, "v": counters[k]}).encode(), k))
                    written += 1
                c.stream("input").put_many(batch)

        kills, progressed = kill_repeatedly(tmp_path, state, c, rng, KILLS, lambda: len(deliveries(c)), write, 0.6)
        # A last run delivers what is left; wait on the log, not the clock.
        proc = start(tmp_path, state)
        try:
            deadline = time.monotonic() + 120
            pos = 0
            while len({(d["k"], d["v"]) for d in deliveries(c)}) < written:
                assert time.monotonic() < deadline, f"only {len(set(map(str, deliveries(c))))} of {written} delivered"
                c.log.wait(pos, 5, sources=["stream:deliveries"])
                pos = c.log.latest(["stream:deliveries"])
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        got = deliveries(c)

    seen: dict[str, int] = {}
    for d in got:
        # Per key, a delivery is either the next record or a redelivery of one already seen: never a skip.
        assert d["v"] <= seen.get(d["k"], 0) + 1, f"{d} skipped ahead of {seen.get(d['k'])}"
        seen[d["k"]] = max(seen.get(d["k"], 0), d["v"])
    assert seen == counters  # every record delivered
    duplicates = len(got) - written
    # Each kill can redeliver at most what was in flight: one batch per shard lane.
    assert 0 <= duplicates <= (kills + 1) * BATCH * 2, duplicates
    print(
        f"platform crash test: {kills} kills ({progressed} mid-delivery), "
        f"{len(got)} deliveries of {written} records ({duplicates} duplicates)"
    )
