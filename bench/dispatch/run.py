"""bench/dispatch: ripple's dispatch beside Celery, Dramatiq, huey and RQ (issue 4 §8).

One run measures, one system after the other on the same machine:

- ripple, object feed: ``ripple serve`` (a child process) runs a no-op ``@app.on_object`` function,
  one event per invocation; this process writes the objects (``bucket.put``);
- ripple, table feed: the same with a no-op ``@app.on_table(batch_size=100)`` function; this process
  writes the items (``table.put``, or ``batch_write`` of 25 to fill a backlog quickly);
- Celery, Dramatiq, huey, RQ: the same no-op task, two worker processes, Redis broker; this process
  enqueues.

For each, three phases (ids are unique per run, so every event is matched to its handler start):

1. idle arrival: single events, each written after the previous one was handled plus a random gap;
2. drain: the consumers are paused (SIGSTOP to their process group), N events are written, the
   consumers are resumed; events/s = N / (last handler start - resume);
3. steady load: events written at a fixed rate (``--rate``, or half the system's drained rate if that
   is lower, so no system is flooded), for at most 5 s.

Latency is from just after the write returned (``put`` committed, or the enqueue call returned) to
the ``time.time()`` the handler took on entry; handlers record it on /dev/shm (stamp.py).

Run: ``.venv/bin/python bench/dispatch/run.py`` (about 3 minutes; ``--quick`` for a smoke run).
Prints a Markdown table; writes ``results.json`` and ``latency.png`` to ``--out``. ``--profile``
samples ripple's platform and sandbox with py-spy during the drains (``profile-<system>.txt``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
sys.path.insert(0, str(HERE.parent))

from procs import STARTED, cpu_seconds, descendants, end, pct, redis_pid, signal_group, spawn  # noqa: E402

# -- handler start times ---------------------------------------------------------------------------


class Stamps:
    """Reads the handlers' stamp files incrementally: only bytes appended since the last poll."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.start: dict[int, float] = {}
        self.duplicates = 0
        self._offsets: dict[str, int] = {}
        self._rest: dict[str, bytes] = {}

    def poll(self) -> None:
        for entry in os.scandir(self.folder):
            off = self._offsets.get(entry.name, 0)
            if entry.stat().st_size <= off:
                continue
            with open(entry.path, "rb") as f:
                f.seek(off)
                data = self._rest.get(entry.name, b"") + f.read()
            self._offsets[entry.name] = off + len(data) - len(self._rest.get(entry.name, b""))
            lines = data.split(b"\n")
            self._rest[entry.name] = lines.pop()  # an incomplete last line waits for the next poll
            for line in lines:
                t, i = line.split()
                ident = int(i)
                if ident in self.start:
                    self.duplicates += 1
                else:
                    self.start[ident] = float(t)

    def wait(self, ids: Sequence[int], timeout: float, interval: float = 0.0005) -> bool:
        """Poll until every id in ``ids`` has a start time; False on timeout."""
        deadline = time.monotonic() + timeout
        missing = [i for i in ids if i not in self.start]
        while missing:
            if time.monotonic() > deadline:
                return False
            time.sleep(interval)
            self.poll()
            missing = [i for i in missing if i not in self.start]
        return True


# -- processes -------------------------------------------------------------------------------------


# -- systems ---------------------------------------------------------------------------------------


@dataclass
class System:
    """One thing under test: how to start its consumers and how to write one event or many."""

    name: str
    start: Callable[[], subprocess.Popen[bytes]]
    send: Callable[[int], None]
    fill: Callable[[Sequence[int]], dict[int, float]] | None = None  # many at once; returns commit times
    close: Callable[[], None] = lambda: None
    fill_note: str = ""


def ripple_system(feed: str, run_dir: Path, env: dict[str, str]) -> System:
    import ripple

    state = run_dir / f"state-{feed}"
    log = run_dir / f"ripple-{feed}.log"
    env = {**env, "BENCH_FEED": feed}
    holder: dict[str, Any] = {}

    def start() -> subprocess.Popen[bytes]:
        args = [str(VENV_BIN / "ripple"), "--state", str(state), "serve", "--no-http", "ripple_app.py"]
        proc = spawn(args, env=env, log=log, cwd=HERE)
        # The platform prints its first line once the app's resources exist; writes may start then.
        deadline = time.monotonic() + 60
        while "ripple: app" not in (log.read_text() if log.exists() else ""):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ripple serve did not start: {log.read_text() if log.exists() else ''}")
            time.sleep(0.05)
        holder["client"] = ripple.connect(state)
        holder["bucket"] = holder["client"].bucket("bench-objects")
        holder["table"] = holder["client"].table("feed")
        return proc

    def send(i: int) -> None:
        if feed == "object":
            holder["bucket"].put(f"o/{i}", b"x")
        else:
            holder["table"].put({"id": i, "v": "x"})

    def fill(ids: Sequence[int]) -> dict[int, float]:
        committed = {}
        if feed == "object":
            for i in ids:
                holder["bucket"].put(f"o/{i}", b"x")
                committed[i] = time.time()
        else:
            for k in range(0, len(ids), 25):
                chunk = ids[k : k + 25]
                holder["table"].batch_write([{"id": i, "v": "x"} for i in chunk])
                t = time.time()
                committed.update(dict.fromkeys(chunk, t))
        return committed

    def close() -> None:
        if "client" in holder:
            holder.pop("client").close()

    note = "bucket.put per event" if feed == "object" else "table.batch_write of 25 items"
    return System(f"ripple {feed}", start, send, fill, close, fill_note=note)


def peer_system(name: str, run_dir: Path, env: dict[str, str]) -> System:
    sys.path.insert(0, str(HERE))
    os.environ.update(env)  # the peer modules read the prefix and the Redis URL at import
    log = run_dir / f"{name}.log"
    py = str(VENV_BIN / "python")
    prefix = env["BENCH_PREFIX"]
    redis_url = env["BENCH_REDIS"]

    if name == "celery":
        import peer_celery

        args = [py, "-m", "celery", "-A", "peer_celery", "worker", "-c", "2", "-P", "prefork", "-l", "WARNING",
                "--without-gossip", "--without-mingle", "--without-heartbeat"]  # fmt: skip

        def send(i: int) -> None:
            peer_celery.noop.delay(i)

    elif name == "dramatiq":
        import peer_dramatiq

        args = [py, "-m", "dramatiq", "peer_dramatiq", "--processes", "2", "--threads", "1"]

        def send(i: int) -> None:
            peer_dramatiq.noop.send(i)

    elif name == "huey":
        import peer_huey

        args = [py, "-m", "huey.bin.huey_consumer", "peer_huey.huey", "-k", "process", "-w", "2", "-q", "-C", "-n"]

        def send(i: int) -> None:
            peer_huey.noop(i)

    elif name == "rq":
        import peer_rq
        from redis import Redis
        from rq import Queue

        queue = Queue(f"{prefix}-rq", connection=Redis.from_url(redis_url))
        args = [py, "-m", "rq.cli", "worker", "-u", redis_url, "-w", "rq.worker.SimpleWorker", "-q", f"{prefix}-rq"]

        def send(i: int) -> None:
            queue.enqueue(peer_rq.noop, i, result_ttl=0)

    else:
        raise ValueError(name)

    def start() -> subprocess.Popen[bytes]:
        if name != "rq":
            return spawn(args, env=env, log=log, cwd=HERE)
        # RQ has no process pool for SimpleWorker: two workers, in one process group via a shell.
        line = " & ".join([subprocess.list2cmdline(args)] * 2) + " & wait"
        return spawn(["/bin/sh", "-c", line], env=env, log=log, cwd=HERE)

    return System(name, start, send, fill_note="one enqueue call per event")


# -- phases ----------------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    idle: list[float] = field(default_factory=list)  # latencies, seconds
    steady: list[float] = field(default_factory=list)
    write_call: list[float] = field(default_factory=list)  # idle phase: how long the write call took
    drain_rate: float = 0.0
    fill_rate: float = 0.0
    steady_rate: float = 0.0  # achieved by the writer
    steady_target: float = 0.0
    lost: int = 0
    duplicates: int = 0
    cpu_us_per_event: dict[str, float] = field(default_factory=dict)
    note: str = ""
    error: str = ""
    drain_rates: list[float] = field(default_factory=list)  # one per round; drain_rate is their median


def merge(rounds: Sequence[Result]) -> Result:
    """One system's rounds as one result: the median drained rate and CPU per event, latencies
    pooled, losses and duplicates summed."""
    first = rounds[0]
    rates = [r.drain_rate for r in rounds if r.drain_rate > 0]
    kinds = {k for r in rounds for k in r.cpu_us_per_event}
    return Result(
        first.name,
        idle=[v for r in rounds for v in r.idle],
        steady=[v for r in rounds for v in r.steady],
        write_call=[v for r in rounds for v in r.write_call],
        drain_rate=statistics.median(rates) if rates else 0.0,
        fill_rate=statistics.median(r.fill_rate for r in rounds),
        steady_rate=statistics.median(r.steady_rate for r in rounds),
        steady_target=statistics.median(r.steady_target for r in rounds),
        lost=sum(r.lost for r in rounds),
        duplicates=sum(r.duplicates for r in rounds),
        cpu_us_per_event={k: statistics.median(r.cpu_us_per_event.get(k, 0.0) for r in rounds) for k in kinds},
        note=" ".join(dict.fromkeys(r.note for r in rounds)),
        error=next((r.error for r in rounds if r.error), ""),
        drain_rates=[r.drain_rate for r in rounds],
    )


class Ids:
    def __init__(self) -> None:
        self.n = 0

    def take(self, k: int) -> list[int]:
        out = list(range(self.n + 1, self.n + k + 1))
        self.n += k
        return out


def warm_up(sys_: System, stamps: Stamps, ids: Ids, n: int, timeout: float = 60.0) -> None:
    """Until the consumers answer (their first events may precede the trigger's start: resend), then
    ``n`` more so every worker has imported and run the task."""
    deadline = time.monotonic() + timeout
    while True:
        (i,) = ids.take(1)
        sys_.send(i)
        if stamps.wait([i], 0.5, interval=0.01):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"{sys_.name}: no handler ran within {timeout:.0f} s")
    batch = ids.take(n)
    for i in batch:
        sys_.send(i)
    if not stamps.wait(batch, timeout, interval=0.01):
        raise RuntimeError(f"{sys_.name}: warm-up events were not all handled")


def idle_phase(sys_: System, stamps: Stamps, ids: Ids, n: int, res: Result, rng: random.Random) -> None:
    for i in ids.take(n):
        time.sleep(rng.uniform(0.02, 0.06))  # the system settles back into its idle wait
        t0 = time.time()
        sys_.send(i)
        t = time.time()
        # The commit lies somewhere inside the call: its duration bounds how early the handler may
        # start relative to the return (negative latencies: the writer was descheduled after the
        # commit woke the consumer, on a 2-core machine).
        res.write_call.append(t - t0)
        if stamps.wait([i], 5.0):
            res.idle.append(stamps.start[i] - t)
        else:
            res.lost += 1


def steady_phase(sys_: System, stamps: Stamps, ids: Ids, n: int, rate: float, res: Result) -> None:
    batch = ids.take(n)
    committed = {}
    t0 = time.monotonic()
    for k, i in enumerate(batch):
        # Open loop at a fixed rate: a system that falls behind shows it as growing latency.
        delay = t0 + k / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sys_.send(i)
        committed[i] = time.time()
    res.steady_rate = n / (time.monotonic() - t0)
    stamps.wait(batch, 60.0, interval=0.01)
    res.steady = [stamps.start[i] - committed[i] for i in batch if i in stamps.start]
    res.lost += sum(1 for i in batch if i not in stamps.start)


def drain_phase(
    sys_: System, proc: subprocess.Popen[bytes], stamps: Stamps, ids: Ids, n: int, res: Result, profile: Path | None
) -> None:
    batch = ids.take(n)
    time.sleep(0.3)  # let the consumers finish what they were doing before they stop
    signal_group(proc, signal.SIGSTOP)
    try:
        t = time.perf_counter()
        if sys_.fill is not None:
            sys_.fill(batch)
        else:
            for i in batch:
                sys_.send(i)
        res.fill_rate = n / (time.perf_counter() - t)
    finally:
        pids = descendants(proc.pid)
        rpid = redis_pid()
        before = cpu_seconds([*pids, *([rpid] if rpid else [])])
        spy = None
        if profile is not None:
            spy = subprocess.Popen(
                # ripple: the platform process only (peers: the worker tree), sampled without stopping it, and
                # only the thread that
                # holds the GIL: the samples are where its Python CPU goes (time with the GIL released,
                # in SQLite or a syscall, is the rest of its CPU time from /proc).
                [str(VENV_BIN / "py-spy"), "record", "-p", str(proc.pid), "-r", "2000", "--nonblocking", "--gil",
                 "-f", "raw", "-o", str(profile), *([] if "ripple" in sys_.name else ["--subprocesses"])],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            STARTED.append(spy)
            time.sleep(1.0)  # py-spy attaches (to a stopped process it can still read memory)
        resumed = time.time()
        signal_group(proc, signal.SIGCONT)
    ok = stamps.wait(batch, 120.0, interval=0.02)
    after = cpu_seconds(list(before))
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            spy.wait(30)
        end(spy)
    done = [stamps.start[i] for i in batch if i in stamps.start]
    res.lost += n - len(done)
    if done:
        res.drain_rate = len(done) / (max(done) - resumed)
    if not ok:
        res.note += f" drain timed out with {n - len(done)} events unhandled;"
    # CPU per event by process kind: where a system spends the machine's two cores.
    for pid, (comm, cpu) in after.items():
        kind = "redis" if pid == rpid else comm
        used = cpu - before.get(pid, (comm, cpu))[1]
        res.cpu_us_per_event[kind] = res.cpu_us_per_event.get(kind, 0.0) + used * 1e6 / max(len(done), 1)


def measure(sys_: System, args: argparse.Namespace, stamps: Stamps, ids: Ids, run_dir: Path) -> Result:
    res = Result(sys_.name, note=sys_.fill_note + ";")
    rng = random.Random(4)
    proc = sys_.start()
    try:
        warm_up(sys_, stamps, ids, args.warmup)
        print(f"  {sys_.name}: warm; idle arrivals", flush=True)
        idle_phase(sys_, stamps, ids, args.idle, res, rng)
        n = args.drain_table if sys_.name == "ripple table" else args.drain
        print(f"  {sys_.name}: drain of {n}", flush=True)
        profile = run_dir / f"profile-{sys_.name.replace(' ', '-')}.txt" if args.profile and sys_.name != "rq" else None
        drain_phase(sys_, proc, stamps, ids, n, res, profile)
        if profile is not None and profile.exists():
            shutil.copy(profile, args.out / profile.name)
        # Latency under load means something only below capacity: a system that cannot drain --rate
        # gets half its own drained rate (and at most 5 s of it), so every system runs loaded, not
        # flooded.
        res.steady_target = min(args.rate, 0.5 * res.drain_rate) if res.drain_rate else args.rate
        count = max(10, min(args.steady, int(res.steady_target * 5)))
        print(f"  {sys_.name}: steady load, {count} events at {res.steady_target:,.0f}/s", flush=True)
        steady_phase(sys_, stamps, ids, count, res.steady_target, res)
    except Exception as exc:  # one system failing must not cost the others' figures
        res.error = f"{type(exc).__name__}: {exc}"
        print(f"  {sys_.name}: FAILED: {res.error}", flush=True)
    finally:
        sys_.close()
        end(proc)
    stamps.poll()
    res.duplicates = stamps.duplicates
    stamps.duplicates = 0
    return res


# -- report ----------------------------------------------------------------------------------------


def ms(v: float) -> str:
    return "n/a" if v != v else (f"{v * 1e3:.2f}" if v < 0.01 else f"{v * 1e3:.1f}")


def table(results: Sequence[Result]) -> str:
    rows = [
        "| system | drained events/s | steady load: events/s, p50 / p99 (ms) | idle arrival p50 / p99 (ms) | "
        "write call p50 / p99 (ms) | CPU µs per event in the drain | lost / duplicated | note |",
        "| --- | ---: | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        cpu = ", ".join(f"{k} {v:.0f}" for k, v in sorted(r.cpu_us_per_event.items(), key=lambda kv: -kv[1]) if v >= 1)
        drained = f"{r.drain_rate:,.0f}"
        if len(r.drain_rates) > 1:
            drained += " (" + " / ".join(f"{v:,.0f}" for v in r.drain_rates) + ")"
        rows.append(
            f"| {r.name} | {drained} | {r.steady_rate:,.0f}/s: {ms(pct(r.steady, 50))} / "
            f"{ms(pct(r.steady, 99))} | "
            f"{ms(pct(r.idle, 50))} / {ms(pct(r.idle, 99))} | {ms(pct(r.write_call, 50))} / "
            f"{ms(pct(r.write_call, 99))} | {cpu} | {r.lost} / {r.duplicates} | "
            f"{(r.note + ' ' + r.error).strip()} |"
        )
    return "\n".join(rows)


def ratios(results: Sequence[Result]) -> str:
    peers = [r for r in results if not r.name.startswith("ripple") and r.drain_rate > 0]
    if not peers:
        return "no peer finished"
    fastest = max(peers, key=lambda r: r.drain_rate)
    lines = [f"fastest peer: {fastest.name} ({fastest.drain_rate:,.0f} events/s)"]
    for r in results:
        if r.name.startswith("ripple"):
            per_round = ""
            if len(r.drain_rates) > 1:
                # Round k of ripple against round k of the fastest peer: the two ran minutes apart.
                pairs = [f"{a / b:.2f}" for a, b in zip(r.drain_rates, fastest.drain_rates, strict=False) if b > 0]
                per_round = f" (rounds: {' / '.join(pairs)})"
            lines.append(
                f"{r.name}: {r.drain_rate / fastest.drain_rate:.2f}x the fastest peer's events/s{per_round} "
                f"(goal a: >= 2x, goal b: >= 10x); p50/p99 steady {ms(pct(r.steady, 50))}/{ms(pct(r.steady, 99))} ms, "
                f"idle {ms(pct(r.idle, 50))}/{ms(pct(r.idle, 99))} ms (goal: <= 1 / <= 5 ms)"
            )
    return "\n".join(lines)


def plot(results: Sequence[Result], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for ax, phase in zip(axes, ("idle", "steady"), strict=True):
        for r in results:
            values = sorted(v * 1e3 for v in getattr(r, phase))
            if values:
                ax.plot(values, [(k + 1) / len(values) for k in range(len(values))], label=r.name,
                        linestyle="-" if r.name.startswith("ripple") else "--")  # fmt: skip
        # symlog, not log: a handler may start before the write call returned (negative latency).
        ax.set_xscale("symlog", linthresh=0.1)
        ax.set_xlabel("write returned → handler start (ms; linear below 0.1, log above)")
        ax.set_title("idle arrival" if phase == "idle" else "steady load")
        ax.axvline(1, color="grey", linewidth=0.5)
        ax.axvline(5, color="grey", linewidth=0.5)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("fraction of events")
    axes[1].legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def machine() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next(ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name"))
    import importlib.metadata as md

    versions = {}
    for pkg in ("celery", "dramatiq", "huey", "rq", "redis", "hiredis", "kombu"):
        with contextlib.suppress(md.PackageNotFoundError):
            versions[pkg] = md.version(pkg)
    redis_version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.strip()
    # src/ changes under other hands: say which code was measured (HEAD plus any uncommitted diff).
    git = ["git", "-C", str(HERE)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run([*git, "diff", "--stat", "HEAD", "--", "src"], capture_output=True, text=True).stdout
    return {
        "git": head + (f" + uncommitted src changes ({dirty.strip().splitlines()[-1]})" if dirty.strip() else ""),
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "redis_server": redis_version,
        "packages": versions,
        "loadavg": os.getloadavg(),
    }


# -- main ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def run_folders() -> Iterator[tuple[Path, Path]]:
    """A scratch folder for state and logs, and the stamp folder on /dev/shm; both removed after."""
    run_dir = Path(tempfile.mkdtemp(prefix="ripple-bench-dispatch-"))
    shm = Path(tempfile.mkdtemp(prefix="ripple-bench-dispatch-", dir="/dev/shm"))
    try:
        yield run_dir, shm
    finally:
        shutil.rmtree(shm, ignore_errors=True)
        shutil.rmtree(run_dir, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=HERE / "results")
    ap.add_argument("--systems", default="ripple-object,ripple-table,celery,dramatiq,huey,rq")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/13", help="a database this run may flush at the end")
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--idle", type=int, default=80, help="single events at an idle system")
    ap.add_argument("--steady", type=int, default=1500, help="at most this many events at the steady rate")
    ap.add_argument("--rate", type=float, default=300.0, help="steady load, events/s")
    ap.add_argument("--drain", type=int, default=4000, help="backlog drained (object feed and peers)")
    ap.add_argument("--drain-table", type=int, default=20000, help="backlog drained (table feed)")
    ap.add_argument("--profile", action="store_true", help="py-spy ripple's platform and sandbox during the drains")
    ap.add_argument("--quick", action="store_true", help="a smoke run: small counts")
    ap.add_argument(
        "--rounds", type=int, default=1, help="run every system this many times, interleaved; report medians"
    )
    args = ap.parse_args()
    if args.quick:
        args.warmup, args.idle, args.steady, args.drain, args.drain_table = 20, 10, 100, 300, 1000
    args.out.mkdir(parents=True, exist_ok=True)

    from redis import Redis

    redis = Redis.from_url(args.redis)
    if redis.dbsize():
        print(f"error: {args.redis} is not empty; give --redis a database this run may flush", file=sys.stderr)
        return 2

    started = dt.datetime.now(dt.UTC)
    info = machine()
    print(f"{started:%Y-%m-%d %H:%M} UTC; {info['cpus']} CPUs ({info['cpu']}); load {info['loadavg']}", flush=True)
    results: list[Result] = []
    # SIGTERM ends the run the way Ctrl-C does, so the finally below still ends every process.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        with run_folders() as (run_dir, shm):
            env = {**os.environ, "BENCH_STAMPS": str(shm), "BENCH_REDIS": args.redis,
                   "BENCH_PREFIX": f"bench-dispatch-{os.getpid()}", "PYTHONPATH": str(HERE)}  # fmt: skip
            stamps = Stamps(shm)
            ids = Ids()
            names = args.systems.split(",")
            rounds: dict[str, list[Result]] = {name: [] for name in names}
            # Systems take turns, round after round: a change in the machine's load (a shared VM's
            # neighbours) then falls on every system alike, and the medians say more than one run.
            for rnd in range(args.rounds):
                for name in names:
                    print(f"{name}:" + (f" round {rnd + 1} of {args.rounds}" if args.rounds > 1 else ""), flush=True)
                    if name.startswith("ripple-"):
                        system = ripple_system(name.split("-", 1)[1], run_dir, env)
                    else:
                        system = peer_system(name, run_dir, env)
                    r = measure(system, args, stamps, ids, run_dir)
                    rounds[name].append(r)
                    print(f"  {r.name}: {r.drain_rate:,.0f} events/s; idle p50 {ms(pct(r.idle, 50))} ms", flush=True)
            results = [merge(rounds[name]) for name in names]
            for log in run_dir.glob("*.log"):
                # The tail is enough to see how a consumer ended; ripple serve's line per invocation
                # would make these megabytes.
                tail = log.read_text(errors="replace").splitlines()[-100:]
                (args.out / log.name).write_text("\n".join(tail) + "\n")
    finally:
        for proc in list(STARTED):
            end(proc, timeout=5)
        with contextlib.suppress(Exception):
            redis.flushdb()
    elapsed = (dt.datetime.now(dt.UTC) - started).total_seconds()
    info["loadavg_after"] = os.getloadavg()

    print()
    print(table(results))
    print()
    print(ratios(results))
    data = {
        "date": f"{started:%Y-%m-%d %H:%M} UTC",
        "seconds": round(elapsed, 1),
        "command": " ".join([".venv/bin/python", "bench/dispatch/run.py", *sys.argv[1:]]),
        "machine": info,
        "settings": {k: str(v) for k, v in vars(args).items()},
        "results": [
            {
                **{k: v for k, v in vars(r).items() if k not in ("idle", "steady", "write_call")},
                "write_call_ms": {p: pct(r.write_call, p) * 1e3 for p in (50, 99)},
                "idle_ms": {p: pct(r.idle, p) * 1e3 for p in (50, 90, 99)} | {"n": len(r.idle)},
                "steady_ms": {p: pct(r.steady, p) * 1e3 for p in (50, 90, 99)} | {"n": len(r.steady)},
            }
            for r in results
        ],
        "table": table(results),
        "ratios": ratios(results),
    }
    (args.out / "results.json").write_text(json.dumps(data, indent=2, default=str))
    wrote = ["results.json"]
    if plot(results, args.out / "latency.png"):
        wrote.append("latency.png")
    print(f"\n{elapsed:.0f} s; wrote {', '.join(wrote)} to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
