"""Celery's no-op task on the local Redis (no result backend: nothing waits for results)."""

import os
import time

import stamp
from celery import Celery

PREFIX = os.environ.get("BENCH_PREFIX", "bench-dispatch")
app = Celery("bench", broker=os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/0"))
app.conf.update(
    task_ignore_result=True,
    task_default_queue=f"{PREFIX}-celery",
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)


@app.task(name="noop")
def noop(i: int) -> None:
    t = time.time()
    stamp.mark([i], t)
