"""Summarise a py-spy ``raw`` profile (collapsed stacks) written by ``run.py --profile``.

Run: ``.venv/bin/python bench/dispatch/spy_summary.py PROFILE [--events N] [--us-per-sample U] [--top K]``

Prints, per function (``file:function``), its inclusive share of the samples (time with it on the
stack) and its own share (time with it at the top), heaviest first. With ``--events`` and
``--us-per-sample`` (1e6 / sampling rate) the shares become µs per event.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<fn>.*) \((?P<file>[^:()]*)(?::\d+)?\)$")


def frames(stack: str) -> list[str]:
    out = []
    for raw in stack.split(";"):
        if raw.startswith("process "):
            continue
        m = _FRAME.match(raw.strip())
        # Keep the path from the package root on (ripple/..., sqlite3/...): short and unambiguous.
        name = f"{m['file'].split('site-packages/')[-1]}:{m['fn']}" if m else raw.strip()
        out.append(name)
    return out


def summarise(path: Path) -> tuple[int, Counter[str], Counter[str]]:
    total = 0
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        fs = frames(stack)
        for f in set(fs):
            inclusive[f] += n
        if fs:
            own[fs[-1]] += n
    return total, inclusive, own


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("profile", type=Path)
    ap.add_argument("--events", type=int, default=0)
    ap.add_argument("--us-per-sample", type=float, default=0.0)
    ap.add_argument("--top", type=int, default=40)
    args = ap.parse_args()
    total, inclusive, own = summarise(args.profile)
    scale = args.us_per_sample / args.events if args.events and args.us_per_sample else 0.0
    unit = "µs/event" if scale else "samples"
    print(f"{total} samples")
    for title, counter in (("inclusive", inclusive), ("own", own)):
        print(f"\n{title}: share, {unit}, function")
        for fn, n in counter.most_common(args.top):
            value = f"{n * scale:8.1f}" if scale else f"{n:8d}"
            print(f"{n / total:6.1%} {value}  {fn}")


if __name__ == "__main__":
    main()
