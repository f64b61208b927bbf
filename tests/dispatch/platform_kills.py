"""The kill loop the platform's crash tests share: start ``ripple serve``, write while it runs,
SIGKILL it at a random moment, again and again."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

RIPPLE = str(Path(sys.executable).parent / "ripple")


def start(cwd: Path, state: Path) -> subprocess.Popen[bytes]:
    """``ripple serve`` of ``cwd/app.py`` on ``state``, without HTTP."""
    return subprocess.Popen([RIPPLE, "--state", str(state), "serve", "--no-http"], cwd=cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip


def kill_repeatedly(
    cwd: Path,
    state: Path,
    client,
    rng: random.Random,
    kills: int,
    delivered: Callable[[], int],
    write: Callable[[], None],
    linger_s: float,
) -> tuple[int, int]:
    """Kill at least ``kills`` times, and go on (up to a bound) until at least half of them landed
    while deliveries were progressing: a kill during start-up proves less. ``write`` runs while the
    platform starts; every fourth kill lands during start-up, the others up to ``linger_s`` after
    the first new delivery (``delivered()`` counts them; the deliveries stream wakes the wait).
    Returns (kills, kills that landed mid-delivery)."""
    done = progressed = 0
    while done < kills or progressed < kills // 2:
        assert done < 4 * kills, f"only {progressed} of {done} kills landed mid-delivery"
        before = delivered()
        proc = start(cwd, state)
        write()  # writes go on while it starts and delivers
        if done % 4 == 3:
            time.sleep(rng.uniform(0.05, 1.0))  # a kill during start-up
        else:
            # Once it delivers (start-up takes ~1 s idle, several on a loaded machine), a random
            # moment of the delivery: mid-batch, mid-checkpoint.
            ready = time.monotonic() + 60
            pos = client.log.latest(["stream:deliveries"])
            while delivered() == before and time.monotonic() < ready:
                client.log.wait(pos, 1.0, sources=["stream:deliveries"])
                pos = client.log.latest(["stream:deliveries"])
            time.sleep(rng.uniform(0.0, linger_s))
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        done += 1
        progressed += delivered() > before
    return done, progressed
