"""RQ's no-op job (run by ``rq worker`` with SimpleWorker: no fork per job)."""

import time

import stamp


def noop(i: int) -> None:
    t = time.time()
    stamp.mark([i], t)
