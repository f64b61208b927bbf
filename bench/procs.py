"""Process helpers shared by the benchmarks (bench/dispatch, bench/leaderboard): start processes in
their own sessions so whole trees can be paused and ended, find a tree's processes, read their CPU
time, and the percentile the reports use. Imported with ``bench/`` on ``sys.path``."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")

#: Every process group a run started, so a failure anywhere still ends them all.
STARTED: list[subprocess.Popen[bytes]] = []


def spawn(args: Sequence[str], *, log: Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start a process in its own session, so its whole tree can be paused and ended by group id;
    its output is appended to ``log``."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            list(args),
            cwd=cwd,
            env=env if env is not None else os.environ.copy(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    STARTED.append(proc)
    return proc


def signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def end(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM (a graceful stop) to the group, then SIGKILL whatever is left of it."""
    signal_group(proc, signal.SIGCONT)
    signal_group(proc, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout)
    signal_group(proc, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)
    if proc in STARTED:
        STARTED.remove(proc)


def descendants(root: int) -> list[int]:
    """``root`` and every process below it (ripple's sandboxes leave the session, not the tree)."""
    parent: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                parent[int(d)] = int(Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()[1])
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(c for c, pp in parent.items() if pp == p)
    return out


def cpu_seconds(pids: Sequence[int]) -> dict[int, tuple[str, float]]:
    """utime + stime per process (``comm`` too, to tell the platform from its sandboxes)."""
    out = {}
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            raw = Path(f"/proc/{pid}/stat").read_text()
            comm = raw[raw.index("(") + 1 : raw.rindex(")")]
            fields = raw.rsplit(")", 1)[1].split()
            out[pid] = (comm, (int(fields[11]) + int(fields[12])) / CLK_TCK)
    return out


def redis_pid() -> int | None:
    for d in os.listdir("/proc"):
        if d.isdigit():
            with contextlib.suppress(OSError):
                if Path(f"/proc/{d}/comm").read_text().strip() == "redis-server":
                    return int(d)
    return None


def pct(values: Sequence[float], p: float) -> float:
    """The p-th percentile (nearest rank), NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]
