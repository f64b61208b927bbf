"""Time one edit kind from a copy of a built site, for back-to-back comparisons (not a timed test).

    .venv/bin/python bench/site/one_edit.py BASE RUN E1

``BASE`` holds ``ripple/`` (a site from synth.py) and ``out/`` (its full build). BASE is copied to RUN
(``cp -a``, so mtimes stay and the scan hashes nothing else), the edit of run.py is applied and
``python -m ripple.site build`` is timed under ``/usr/bin/time`` in a new process, as run.py does.
Prints wall and CPU seconds. Comparing two versions of the code: build BASE once with each, then
alternate ``PYTHONPATH=old/src ... BASE_old`` and ``... BASE_new`` runs of the same edit.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base", type=Path)
    ap.add_argument("work", type=Path)
    ap.add_argument("edit", help="an edit kind of run.py (E0-E12)")
    a = ap.parse_args()
    run.compile_ripple()
    shutil.rmtree(a.work, ignore_errors=True)
    subprocess.run(["cp", "-a", str(a.base), str(a.work)], check=True)
    src = a.work / "ripple"
    now = run.NOW
    fn = dict((eid, f) for eid, _, f in run.edits(0))[a.edit]
    if fn is None:  # E12: the clock passes the next scheduled post
        now = run.NOW + timedelta(days=9)
    else:
        fn(src)
    cmd = [run.PY, "-m", "ripple.site", "build", str(src), str(a.work / "out"), "--quiet", "--now"]
    wall, rss = run.timed([*cmd, now.strftime("%Y-%m-%dT%H:%M:%S+00:00")], warm=[src, a.work / "out" / ".ripple"])
    print(f"{a.edit}: wall {wall:.2f} s, cpu {run.LAST_CPU[0]:.2f} s, rss {rss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
