"""Recursive loop detection: a chain that writes back into its own trigger stops after 16 hops, as
Lambda's does, and what stopped it is recorded (dead letter, or the failure destination)."""

from __future__ import annotations

import json
from pathlib import Path

from ripple.runtime.loader import load_app
from ripple.testing import run_app

APP = Path(__file__).parent / "apps" / "loops.py"


def test_object_loop_stops_after_16_hops(tmp_path):
    with run_app(load_app(str(APP)), state=tmp_path / "s") as h:
        h.bucket("ping-bucket").put("ping-0", b"start")
        h.drain()
        keys = sorted(h.bucket("ping-bucket").keys(), key=lambda k: int(k.split("-")[1]))
        assert keys == [f"ping-{i}" for i in range(17)]  # 16 invocations, each writing one object
        assert sum(1 for d in h.deliveries if d.function == "bounce") == 16
        [dead] = h.dead_letters("bounce")
        assert dead.condition == "RecursiveInvocationDetected"
        assert json.loads(dead.event)["Records"][0]["s3"]["object"]["key"] == "ping-16"


def test_stream_loop_stops_and_reports_to_the_failure_destination(tmp_path):
    with run_app(load_app(str(APP)), state=tmp_path / "s") as h:
        h.stream("echo").put(b"start", partition_key="k")
        h.drain()
        assert sum(1 for d in h.deliveries if d.function == "repeat") == 16
        [report] = [c.record for c in h.client.log.read(0, sources=["topic:stopped"])]
        body = json.loads(report["Sns"]["Message"])
        assert body["requestContext"]["condition"] == "RecursiveInvocationDetected"
        assert body["KinesisBatchInfo"]["batchSize"] == 1
