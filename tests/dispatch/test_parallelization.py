"""A parallelization factor above 1 spreads a shard's keys over lanes and keeps each key's order."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from ripple.runtime.loader import load_app
from ripple.testing import run_app

APP = Path(__file__).parent / "apps" / "parallel.py"


@pytest.mark.parametrize("workers", [1, 3])
def test_parallel_lanes_keep_per_key_order(tmp_path, workers):
    """With ``workers=3`` the harness runs the four lanes side by side, as the platform does."""
    with run_app(load_app(str(APP)), state=tmp_path / "s", workers=workers) as h:
        src = h.stream("src")
        counters = dict.fromkeys((f"key-{i}" for i in range(12)), 0)
        batch = []
        for n in range(240):
            k = list(counters)[(n * 7) % 12]
            counters[k] += 1
            batch.append((json.dumps({"k": k, "v": counters[k]}).encode(), k))
        for i in range(0, len(batch), 60):
            src.put_many(batch[i : i + 60])
        h.drain()
        got = [json.loads(base64.b64decode(c.record["kinesis"]["data"])) for c in
               h.client.log.read(0, sources=["stream:out"], limit=1000)]  # fmt: skip
        lanes = h.client.store._db.con.execute(
            "SELECT lane, position FROM checkpoints WHERE trigger='copy:stream:src'"
        ).fetchall()
    assert len(got) == 240
    per_key: dict[str, list[int]] = {}
    for d in got:
        per_key.setdefault(d["k"], []).append(d["v"])
    assert per_key == {k: list(range(1, n + 1)) for k, n in counters.items()}
    assert len(lanes) == 4
    # Delivery interleaves keys from different lanes: the global order differs from the write order.
    assert [(d["k"], d["v"]) for d in got] != [(json.loads(b)["k"], json.loads(b)["v"]) for b, _ in batch]
