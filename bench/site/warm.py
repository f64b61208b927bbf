"""A warm ripple process for run.py: one :class:`ripple.site.Builder` kept between builds, as a
watcher or the platform's warm worker keeps it. Not a benchmark on its own.

    python bench/site/warm.py SRC OUT

Reads one request per line on stdin, an ISO time (``2026-11-27T12:00:00+00:00``), builds with
that ``now`` and no hint of what changed (every file is scanned, as a cold build does), and answers
with one JSON line: ``{"wall": s, "cpu": s, "written": n, "deleted": n, "spliced": n, "full": bool}``,
timed inside this process (the request's round trip is not included). An empty line or EOF ends it.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime

from ripple.site import Builder


def main() -> None:
    src, out = sys.argv[1:3]
    with Builder(src, out) as b:
        for line in sys.stdin:
            line = line.strip()
            if not line:
                break
            now = datetime.fromisoformat(line)
            c0, t0 = time.process_time(), time.perf_counter()
            r = b.build(now=now)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            answer = {
                "wall": wall,
                "cpu": cpu,
                "written": len(r.written),
                "deleted": len(r.deleted),
                "spliced": r.spliced,
                "full": r.full,
            }
            print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
