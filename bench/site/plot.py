"""Plot a site benchmark run: wall time per edit kind for ripple in a new process, ripple in a warm
process and Hugo (a full build each time), on a log scale, with the goals as lines.

    .venv/bin/python bench/site/plot.py bench/out/site/results.json bench/site/results/edits.png
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    src, dst = Path(sys.argv[1]), Path(sys.argv[2])
    r = json.loads(src.read_text())[-1]
    c = r["clean"]
    names = ["clean", "no-op", *(e["id"] for e in r["edits"])]
    cold = [c["ripple_s"], r["noop_s"], *(e["ripple_s"] for e in r["edits"])]
    warm = [float("nan"), r["warm_noop"]["wall"], *(e["warm_s"] for e in r["edits"])]
    hugo = [c["hugo_s"], c["hugo_s"], *(e["hugo_s"] for e in r["edits"])]
    fig, ax = plt.subplots(figsize=(11, 4.8))
    x = range(len(names))
    w = 0.27
    ax.bar([i - w for i in x], cold, w, label="ripple, new process (CLI)")
    ax.bar(list(x), warm, w, label="ripple, warm process (Builder / watch)")
    ax.bar([i + w for i in x], hugo, w, label="Hugo, full build")
    ax.axhline(0.2, color="k", ls=":", lw=1)
    ax.text(len(names) - 0.5, 0.21, "fine-grained goal 0.2 s", ha="right", va="bottom", fontsize=8)
    ax.axhline(c["hugo_s"] / 2, color="k", ls="--", lw=1)
    ax.text(len(names) - 0.5, c["hugo_s"] / 2 * 1.05, "half of Hugo's clean build", ha="right", fontsize=8)
    ax.set_yscale("log")
    ax.set_xticks(list(x), names)
    ax.set_ylabel("wall seconds (log)")
    ax.set_title(f"{r['n']:,} posts: each edit kind, page cache dropped before every build")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.07), ncol=3)
    fig.tight_layout()
    dst.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(dst, dpi=110)


if __name__ == "__main__":
    main()
