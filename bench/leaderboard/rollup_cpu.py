"""The roll-up's own CPU per game, in-process: no sandbox, no dispatcher, no writer beside it.

A benchmark, not a test. Writes ``--games`` loadgen games (as run.py's writer does, 25 per
``batch_write``) into a fresh state folder, reads their change records once, then feeds them to
``rollup.on_records`` in batches of 100 (as the trigger does with one lane): the first ``--warmup``
games untimed, the rest timed with ``time.process_time``. Prints CPU µs per game, the view writes
and the view items read per game. Compare two versions of the app back to back on one machine with
``--app`` (a folder holding ``rollup.py`` and ``ranking.py``); the figure is steadier than run.py's
rates on a shared machine, and it is only the app's part (run.py's "sandbox" CPU adds the worker
protocol, its "platform" CPU the dispatcher and pool).

    .venv/bin/python bench/leaderboard/rollup_cpu.py [--app examples/leaderboard] [--runs 3]
"""

from __future__ import annotations

import argparse
import collections
import gc
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


class _Counting:
    """The real table, counting the view items read (instrumentation only)."""

    def __init__(self, table: Any):
        self.table, self.read = table, 0

    def batch_get(self, keys: list[dict]) -> list[dict]:
        self.read += len(keys)
        return self.table.batch_get(keys)

    def get(self, key: dict, **kw: Any) -> Any:
        self.read += 1
        return self.table.get(key, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.table, name)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--app", type=Path, default=ROOT / "examples" / "leaderboard")
    ap.add_argument("--games", type=int, default=22_000)
    ap.add_argument("--warmup", type=int, default=2_000)
    ap.add_argument("--runs", type=int, default=1, help="fresh state folders, one after another")
    args = ap.parse_args()
    sys.path[:0] = [str(args.app.resolve()), str(HERE)]
    import rollup
    from loadgen import Games

    import ripple
    from ripple.dispatch.filters import compile_filters
    from ripple.testing import VirtualClock

    passes = compile_filters([rollup.OWN_WRITES_FILTER])
    for _ in range(args.runs):
        clock = VirtualClock(1.8e9)
        with tempfile.TemporaryDirectory() as d, ripple.connect(os.path.join(d, "state"), clock=clock) as client:
            table = client.table(rollup.GAMES)
            client.create_table(
                rollup.GAMES, hash_key="event_key:S", range_key="start_timestamp:N", stream="NEW_AND_OLD_IMAGES"
            )
            games, after = Games(7), client.log.latest()
            for i in range(args.games // 25):
                clock.set(1.8e9 + i * 0.025)  # 1,000 games/s of store time
                table.batch_write(puts=games.batch(25, clock.t))
            records = []
            while page := client.log.read(after, sources=[f"table:{rollup.GAMES}"], limit=1000):
                after = page[-1].seq
                records += [c.record for c in page if passes(c.record)]
            # The replayed records are the benchmark's, not the roll-up's (a sandbox holds one batch):
            # frozen, so the collector's full passes do not scan 20,000 records the roll-up never
            # holds at once (one such pass cost ~10 µs per game of the timed part).
            gc.collect()
            gc.freeze()
            for i in range(0, args.warmup, 100):
                rollup.on_records(table, records[i : i + 100], 10)
            counting, writes = _Counting(table), collections.Counter()
            t0 = time.process_time()
            for i in range(args.warmup, len(records), 100):
                for view in rollup.on_records(counting, records[i : i + 100], 10):
                    writes[view.split("#")[0]] += 1
            cpu = time.process_time() - t0
            gc.unfreeze()
            n = len(records) - args.warmup
            print(
                f"{args.app}: {n:,} games: {cpu / n * 1e6:.0f} µs CPU per game; "
                f"view writes {sum(writes.values()) / n:.3f} per game, "
                f"view items read {counting.read / n:.3f} per game",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
