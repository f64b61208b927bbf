"""Upload-to-live latency of the blog app (issue 6 §4), not a timed test.

    .venv/bin/python bench/blog/run.py --sizes 1000 10000 [--repeats 3]

For each size and each engine (the incremental ripple.site function and the Hugo-binary variant),
in the same run: a fresh state folder, the blog app (`ripple init --template blog`) served by a real
`ripple serve` process with its HTTP server, and the synthetic site of ssg.md §5.2 (bench/site/synth.py:
Jinja layouts for ripple.site in ``layouts/``, the same theme in Go templates for Hugo in
``layouts-hugo/``).

- burst: the whole site uploaded with put_many (1000 objects per transaction); measured from the last
  upload's commit until the build that took every source has published (the app's lease item records
  the sources digest it built) and the home page is served;
- edits E1 (body edit outside the summary), E2 (retitle an old post), E3 (a brand-new tag on an old
  post) and E6 (a newest post), each ``--repeats`` times: from the upload's commit until the page the
  edit changes is served over HTTP with its new bytes (the post's page for E1/E2, the new term page
  for E3, the home page for E6). Polled over HTTP every 2 ms.

Results: stdout (markdown), ``bench/blog/results/results.json`` and ``latency.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "bench" / "site"))
sys.path.insert(0, str(ROOT / "tests" / "site"))

import site_edits as E  # noqa: E402
import synth  # noqa: E402

import ripple  # noqa: E402

RIPPLE = str(Path(sys.executable).parent / "ripple")
APP = "bench"
EDITS = ("E1", "E2", "E3", "E6")


def make_source(n: int, work: Path) -> Path:
    """One source tree holding both themes: ripple.site's in layouts/, Hugo's in layouts-hugo/."""
    sites = synth.make(n, work / "gen")
    src = work / "src"
    shutil.copytree(sites["ripple"], src)
    shutil.copytree(sites["hugo"] / "layouts", src / "layouts-hugo")
    shutil.rmtree(work / "gen")
    return src


def files_of(src: Path) -> list[tuple[str, bytes]]:
    return [(p.relative_to(src).as_posix(), p.read_bytes()) for p in sorted(src.rglob("*")) if p.is_file()]


def fetch(port: int, path: str) -> tuple[int, bytes]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": f"{APP}-site.localhost"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""


def wait_served(port: int, path: str, ok, timeout: float) -> float:
    """Poll ``path`` until ``ok(status, body)``; returns the monotonic time it first held."""
    deadline = time.monotonic() + timeout
    while True:
        status, body = fetch(port, path)
        if ok(status, body):
            return time.monotonic()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} not live after {timeout:.0f} s (last status {status})")
        time.sleep(0.002)


class Served:
    """`ripple serve` of the blog app on a fresh state, with one engine."""

    def __init__(self, work: Path, engine: str):
        self.state = work / f"state-{engine}"
        env = {**os.environ, "RIPPLE_STATE": str(self.state), "BLOG_ENGINE": engine, "BLOG_SEED": "0"}
        # `ripple init` names the app after its folder: "bench" -> buckets bench-src, bench-site.
        self.app_dir = work / engine / APP
        self.app_dir.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([RIPPLE, "init", str(self.app_dir), "--template", "blog"], env=env, check=True,
                       capture_output=True)  # fmt: skip
        self.proc = subprocess.Popen([RIPPLE, "serve", "--port", "0"], cwd=self.app_dir, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        self.port = 0
        for _ in range(5):
            m = re.search(r"at http://[^:]+:(\d+)/", self.proc.stdout.readline())
            if m:
                self.port = int(m.group(1))
                break
        if not self.port:
            raise RuntimeError("ripple serve printed no URL: " + self.proc.stderr.read()[-2000:])
        self.client = ripple.connect(self.state)

    def built_sources(self) -> str:
        item = self.client.table(f"{APP}-locks").get({"id": "site"}) or {}
        return "" if item.get("lease_owner") else str(item.get("sources", ""))

    def run_timings(self, function: str) -> list[dict]:
        """The timings the app's build function logged for each of its runs (blog-build lines)."""
        out = subprocess.run([RIPPLE, "--state", str(self.state), "logs", function], capture_output=True, text=True,
                             timeout=120).stdout  # fmt: skip
        runs = []
        for line in out.splitlines():
            if "blog-build " in line:
                runs.append(json.loads(line.split("blog-build ", 1)[1]))
        return runs

    def close(self) -> None:
        self.client.close()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def sources_digest(app_dir: Path, listing: dict[str, str]) -> str:
    sys.path.insert(0, str(app_dir))
    try:
        import blog_builder

        return blog_builder.sources_digest({k: e for k, e in listing.items() if blog_builder.is_source(k)})
    finally:
        sys.path.remove(str(app_dir))


def wait_idle(s: Served, timeout: float) -> None:
    """Until the app has built exactly the bucket's current sources and let go of its lease (the
    app's own completion marker), so that each measured upload finds it idle."""
    bucket = s.client.bucket(f"{APP}-src")
    want = sources_digest(s.app_dir, {o.key: o.etag for o in bucket.objects()})
    try:
        s.client.log.wait_until(lambda: s.built_sources() == want, timeout)
    except TimeoutError:
        raise TimeoutError("the blog app did not finish building in time") from None


def burst(s: Served, src: Path, timeout: float) -> float:
    bucket = s.client.bucket(f"{APP}-src")
    items = files_of(src)
    for i in range(0, len(items), 1000):
        bucket.put_many(items[i : i + 1000])
    t0 = time.monotonic()
    wait_idle(s, timeout)
    done = wait_served(s.port, "/", lambda st, _b: st == 200, timeout)
    return done - t0


def page_of(src: Path, post: Path) -> str:
    """The URL path of a synthetic post (permalinks /:section/:slug/ with slug = file stem)."""
    return f"/{post.parent.name}/{post.stem}/"


def edit(s: Served, src: Path, kind: str, rep: int, timeout: float) -> float:
    bucket = s.client.bucket(f"{APP}-src")
    posts = E.posts(src)
    old = posts[len(posts) // 2 - rep * 7]
    marker = f"bench{kind.lower()}r{rep}{int(time.time() * 1000) % 100000}"
    if kind == "E1":
        E.edit_body_tail(old, marker)
        changed, path = old, page_of(src, old)
        ok = lambda st, b: st == 200 and marker.encode() in b  # noqa: E731
    elif kind == "E2":
        E.retitle(old, f"Retitled {marker}")
        changed, path = old, page_of(src, old)
        ok = lambda st, b: st == 200 and f"Retitled {marker}".encode() in b  # noqa: E731
    elif kind == "E3":
        E.add_tag(old, marker)
        changed, path = old, f"/tags/{marker}/"
        ok = lambda st, b: st == 200  # noqa: E731
    else:
        newest = synth.NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
        changed = E.add_post(src, f"newest-{marker}", newest)
        path = "/"
        title = changed.read_text().split("title:", 1)[1].split("\n", 1)[0].strip().strip('"')
        ok = lambda st, b: st == 200 and title.encode() in b  # noqa: E731
    wait_idle(s, timeout)  # the previous edit's run has finished (state stored, lease released)
    bucket.put(changed.relative_to(src).as_posix(), changed.read_bytes())
    t0 = time.monotonic()
    return wait_served(s.port, path, ok, timeout) - t0


def run_size(n: int, repeats: int, work: Path, engines: tuple[str, ...] = ("ripple", "hugo")) -> dict:
    print(f"== N = {n} posts", flush=True)
    out: dict = {"n": n, "engines": {}}
    for engine in engines:
        ework = work / f"{n}-{engine}"
        ework.mkdir(parents=True)
        src = make_source(n, ework)
        s = Served(ework, engine)
        try:
            res: dict = {"burst_s": burst(s, src, timeout=1800)}
            print(f"  {engine}: burst of {len(files_of(src))} files live in {res['burst_s']:.2f} s", flush=True)
            for kind in EDITS:
                times = [edit(s, src, kind, r, timeout=600) for r in range(repeats)]
                res[kind] = {"median_s": statistics.median(times), "runs_s": times}
                print(f"  {engine}: {kind} median {res[kind]['median_s']:.3f} s  runs {[round(t, 3) for t in times]}",
                      flush=True)  # fmt: skip
            fn = "build_incremental" if engine == "ripple" else "build_hugo"
            res["function_runs"] = s.run_timings(fn)
            for kind, run in zip(("burst", *[k for k in EDITS for _ in range(repeats)]), res["function_runs"],
                                 strict=False):  # fmt: skip
                print(f"    {engine} {kind}: handler {run.get('seconds')} s {run.get('timings')}", flush=True)
        finally:
            s.close()
        out["engines"][engine] = res
    return out


def table(results: list[dict]) -> str:
    lines = []
    for r in results:
        e = r["engines"]
        lines += [f"#### N = {r['n']} posts", "", "| Upload | ripple (incremental) | Hugo variant | ripple / Hugo |",
                  "| --- | ---: | ---: | ---: |"]  # fmt: skip
        rb, hb = e["ripple"]["burst_s"], e["hugo"]["burst_s"]
        lines.append(f"| burst: whole site | {rb:.2f} s | {hb:.2f} s | {rb / hb:.2f} |")
        for k, desc in zip(EDITS, ("body edit", "retitle an old post", "new tag on an old post", "newest post"),
                           strict=True):  # fmt: skip
            a, b = e["ripple"][k]["median_s"], e["hugo"][k]["median_s"]
            lines.append(f"| {k} {desc} | {a:.3f} s | {b:.3f} s | {a / b:.3f} |")
        lines.append("")
    return "\n".join(lines)


def plot(results: list[dict], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4), squeeze=False)
    for ax, r in zip(axes[0], results, strict=True):
        xs = range(len(EDITS))
        for off, engine in ((-0.2, "ripple"), (0.2, "hugo")):
            ax.bar([x + off for x in xs], [r["engines"][engine][k]["median_s"] for k in EDITS], width=0.4,
                   label=engine)  # fmt: skip
        ax.set_xticks(list(xs), EDITS)
        ax.set_yscale("log")
        ax.set_ylabel("upload committed -> page served (s, log)")
        ax.set_title(f"{r['n']} posts")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--engines", default="ripple,hugo", help="ripple,hugo (a subset skips the table and plot)")
    args = ap.parse_args()
    engines = tuple(args.engines.split(","))
    results = []
    with tempfile.TemporaryDirectory(prefix="ripple-bench-blog-") as d:
        for n in args.sizes:
            results.append(run_size(n, args.repeats, Path(d), engines))
    outdir = HERE / "results"
    outdir.mkdir(exist_ok=True)
    name = "results.json" if engines == ("ripple", "hugo") else f"results-{'-'.join(engines)}.json"
    (outdir / name).write_text(json.dumps(results, indent=2))
    if engines == ("ripple", "hugo"):
        plot(results, outdir / "latency.png")
        print(table(results))


if __name__ == "__main__":
    main()
