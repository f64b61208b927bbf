"""huey's no-op task on the local Redis (blocking pops, results not stored)."""

import os
import time
from urllib.parse import urlparse

import stamp
from huey import RedisHuey

PREFIX = os.environ.get("BENCH_PREFIX", "bench-dispatch")
_url = urlparse(os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/0"))
huey = RedisHuey(
    f"{PREFIX}-huey",
    host=_url.hostname,
    port=_url.port,
    db=int(_url.path.strip("/") or 0),
    results=False,
    blocking=True,
)


@huey.task()
def noop(i: int) -> None:
    t = time.time()
    stamp.mark([i], t)
