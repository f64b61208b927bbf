"""bench/invoke: warm overhead, cold start (template fork vs fresh interpreter), throughput, log latency.

Run:  .venv/bin/python bench/invoke/run.py [--quick]

Not a test: it prints numbers for docs/runtime.md. The machine is shared and noisy, so compare the
ratios within one run rather than absolute times across runs.
"""

from __future__ import annotations

import argparse
import os
import select
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ripple.runtime.loader import load_app
from ripple.runtime.pool import Pool

APP = load_app(str(Path(__file__).with_name("app.py")))


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes, from /proc (0 for those gone)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def warm(state: Path, n: int) -> dict[str, float]:
    """Round trip of a no-op invocation on a warm sandbox: dispatch, transfer, result, records.

    Also the CPU time each invocation costs: the platform's (every thread, the record writer's too,
    up to the records being stored) and the worker's."""
    with Pool(APP, state=state, spare=False) as pool:
        for _ in range(200):
            pool.invoke("noop", b"{}")
        pool.flush()
        workers = pool.processes()
        cpu0, worker0 = time.process_time(), cpu_seconds(workers)
        times = []
        for _ in range(n):
            t = time.perf_counter()
            pool.invoke("noop", b"{}")
            times.append((time.perf_counter() - t) * 1e6)
        pool.flush()
        cpu1, worker1 = time.process_time(), cpu_seconds(workers)
    return {
        "p50_us": pct(times, 50),
        "p99_us": pct(times, 99),
        "mean_us": statistics.fmean(times),
        "platform_cpu_us": (cpu1 - cpu0) / n * 1e6,
        "worker_cpu_us": (worker1 - worker0) / n * 1e6,
    }


def cold(state: Path, n: int, *, fork: bool, spare: bool = False) -> dict[str, float]:
    """Init Duration (spawn to handler imported) and the whole cold invocation's round trip."""
    with Pool(APP, state=state, fork=fork, spare=spare) as pool:
        pool.invoke("noop", b"{}")  # start the template itself
        inits, totals = [], []
        for _ in range(n):
            pool.reap_idle(max_idle_s=0)
            if spare:
                pool.prepare()
            t = time.perf_counter()
            result = pool.invoke("noop", b"{}")
            totals.append((time.perf_counter() - t) * 1e3)
            inits.append(result.init_duration_ms or 0.0)
    return {"init_p50_ms": pct(inits, 50), "init_p99_ms": pct(inits, 99), "total_p50_ms": pct(totals, 50)}


def throughput(state: Path, seconds: float, concurrency: int = 2) -> float:
    """No-op invocations per second with ``concurrency`` callers."""
    with Pool(APP, state=state) as pool:
        for _ in range(concurrency):
            pool.invoke("noop", b"{}")
        counts = [0] * concurrency
        stop = time.perf_counter() + seconds

        def caller(i: int) -> None:
            while time.perf_counter() < stop:
                pool.invoke("noop", b"{}", invocation_type="Event")
                counts[i] += 1

        threads = [threading.Thread(target=caller, args=(i,)) for i in range(concurrency)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return sum(counts) / (time.perf_counter() - start)


def log_latency(state: Path, n: int) -> dict[str, float]:
    """From a handler's print to the line arriving on ``ripple logs -f``'s stdout, in ms."""
    code = "import sys; from ripple.runtime.cli import logs; logs(sys.argv[1:])"
    with Pool(APP, state=state) as pool:
        pool.invoke("stamp", {"seq": -1})
        follower = subprocess.Popen(
            [sys.executable, "-c", code, "stamp", "-f", "--state", str(state)],
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        latencies: list[float] = []
        buf = b""
        try:
            time.sleep(1.0)  # let the follower reach the end of the existing log
            for seq in range(n):
                pool.invoke("stamp", {"seq": seq})
                deadline = time.monotonic() + 5
                got = None
                while got is None and time.monotonic() < deadline:
                    ready, _, _ = select.select([follower.stdout], [], [], 1)
                    if ready:
                        buf += os.read(follower.stdout.fileno(), 65536)  # type: ignore[union-attr]
                        arrived = time.time()
                        *lines, buf = buf.split(b"\n")
                        for line in lines:
                            if f" stamp {seq} ".encode() in line:
                                got = arrived - float(line.rsplit(b" ", 1)[1])
                if got is not None:
                    latencies.append(got * 1e3)
                time.sleep(0.05)
        finally:
            follower.kill()
            follower.wait()
    return {"p50_ms": pct(latencies, 50), "p99_ms": pct(latencies, 99), "max_ms": max(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    args = parser.parse_args()
    scale = 0.2 if args.quick else 1.0
    with tempfile.TemporaryDirectory(prefix="ripple-bench-") as tmp:
        base = Path(tmp)
        with Pool(APP, state=base / "probe") as probe:
            print(f"isolation: {probe.isolation}", flush=True)
        w = warm(base / "warm", int(5000 * scale))
        print(
            f"warm no-op invoke: p50 {w['p50_us']:.0f} us, p99 {w['p99_us']:.0f} us, mean {w['mean_us']:.0f} us;"
            f" CPU per invocation: platform {w['platform_cpu_us']:.0f} us, worker {w['worker_cpu_us']:.0f} us"
        )
        s = cold(base / "spare", int(50 * scale), fork=True, spare=True)
        f = cold(base / "fork", int(50 * scale), fork=True)
        x = cold(base / "exec", int(50 * scale), fork=False)
        print(
            f"cold start, adopting a spare:  Init Duration p50 {s['init_p50_ms']:.2f} ms (p99 {s['init_p99_ms']:.2f}),"
            f" whole invocation p50 {s['total_p50_ms']:.2f} ms"
        )
        print(
            f"cold start, template fork:     Init Duration p50 {f['init_p50_ms']:.2f} ms (p99 {f['init_p99_ms']:.2f}),"
            f" whole invocation p50 {f['total_p50_ms']:.2f} ms"
        )
        print(
            f"cold start, fresh interpreter: Init Duration p50 {x['init_p50_ms']:.2f} ms (p99 {x['init_p99_ms']:.2f}),"
            f" whole invocation p50 {x['total_p50_ms']:.2f} ms"
        )
        print(f"fork is {x['init_p50_ms'] / f['init_p50_ms']:.1f}x faster than a fresh interpreter (Init p50)")
        tput = throughput(base / "tput", 5 * scale)
        print(f"throughput, concurrency 2: {tput:.0f} invocations/s")
        lat = log_latency(base / "logs", int(50 * scale))
        print(f"logs -f latency (print to screen): p50 {lat['p50_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms")


if __name__ == "__main__":
    main()
