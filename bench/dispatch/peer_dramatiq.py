"""Dramatiq's no-op actor on the local Redis (default broker settings, no results middleware)."""

import os
import time

import dramatiq
import stamp
from dramatiq.brokers.redis import RedisBroker

PREFIX = os.environ.get("BENCH_PREFIX", "bench-dispatch")
dramatiq.set_broker(RedisBroker(url=os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/0"), namespace=PREFIX))


@dramatiq.actor(queue_name="noop", max_retries=0)
def noop(i: int) -> None:
    t = time.time()
    stamp.mark([i], t)
