"""Containing a sandbox's process tree: counting, measuring, bounding and killing it.

Where the machine lets us (root, cgroup v1 ``memory`` and ``pids`` hierarchies mounted writable), each
sandbox gets its own cgroups: ``pids.max`` bounds forking (a fork loop gets EAGAIN instead of filling
the machine), ``memory.limit_in_bytes`` is a hard backstop, and ``cgroup.procs`` lists every process
however it was started. Elsewhere the sandbox's session (it is a session leader) stands in for the
cgroup: membership by scanning ``/proc``, bounds enforced by the pool's sampling.

cgroup v2 is not implemented yet: this machine mounts only ``hugetlb`` in the unified hierarchy.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import signal
from pathlib import Path

_V1 = Path("/sys/fs/cgroup")
_counter = itertools.count(1)

_PAGE = os.sysconf("SC_PAGE_SIZE")


class Confinement:
    """The processes of one sandbox. ``leader`` is the worker's pid once it is known."""

    def __init__(self) -> None:
        self.leader = 0

    @property
    def procs_files(self) -> list[str]:
        """Files the worker writes its pid to, to join its cgroups (none without cgroups)."""
        return []

    def pids(self) -> list[int]:
        """Every live process of the sandbox: the leader's session, found by scanning /proc."""
        if not self.leader:
            return []
        out = []
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                with contextlib.suppress(OSError, ValueError, IndexError):
                    stat = _read(f"/proc/{entry.name}/stat")
                    # Fields after the ")" closing the command name: state ppid pgrp session ...
                    fields = stat[stat.rindex(b")") + 2 :].split()
                    if int(fields[3]) == self.leader and fields[0] != b"Z":
                        out.append(int(entry.name))
        return out

    def resident_bytes(self, pids: list[int]) -> int:
        """The sum of the processes' resident set sizes, in bytes: an upper bound of
        :meth:`memory_bytes` that costs one short read per process (``/proc/PID/statm``), where
        PSS makes the kernel walk the whole address space."""
        total = 0
        for pid in pids:
            with contextlib.suppress(OSError, ValueError, IndexError):
                total += int(_read(f"/proc/{pid}/statm").split()[1]) * _PAGE
        return total

    def memory_bytes(self, pids: list[int] | None = None) -> int:
        """Memory of the whole tree, in bytes: the sum of each process's proportional set size.

        PSS, not RSS: forked processes share pages (with each other and with the template), and a sum
        of RSS would count them once per process, calling a fork of a 20 MB worker 40 MB.
        """
        total = 0
        for pid in self.pids() if pids is None else pids:
            with contextlib.suppress(OSError, ValueError, IndexError):
                data = _read(f"/proc/{pid}/smaps_rollup")
                start = data.index(b"\nPss:") + 5
                total += int(data[start : data.index(b"kB", start)]) * 1024
        return total

    def oom_kills(self) -> int:
        """How many processes the kernel's OOM killer has killed in this sandbox (0 without cgroups)."""
        return 0

    def fork_refusals(self) -> int:
        """How many forks the process bound refused (0 without cgroups)."""
        return 0

    def kill(self) -> None:
        """SIGKILL every process of the sandbox, repeating until none is left (a fork loop races us)."""
        for _ in range(1000):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)

    def remove(self) -> bool:
        """Release what the confinement holds; False if it must be retried later."""
        return True

    def adopt(self, pid: int) -> None:
        """Move ``pid`` (a process that runs no user code yet) in from outside."""

    def set_memory_limit(self, memory_bytes: int) -> None:
        """Change the hard memory backstop (a spare sandbox learns its function late)."""


def _read(path: str) -> bytes:
    """A whole small kernel file, in as few system calls as it takes."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


class CgroupV1(Confinement):
    """One sandbox's ``memory`` and ``pids`` cgroups under the pool's parent cgroups."""

    def __init__(self, memory_dir: Path, pids_dir: Path, *, memory_bytes: int, max_processes: int) -> None:
        super().__init__()
        self.memory_dir = memory_dir
        self.pids_dir = pids_dir
        # As strings: a running invocation is sampled every 10 ms, and pathlib's reads cost more
        # than the kernel's work here.
        self._procs = (str(pids_dir / "cgroup.procs"), str(memory_dir / "cgroup.procs"))
        self._events = str(pids_dir / "pids.events")
        memory_dir.mkdir()
        pids_dir.mkdir()
        (memory_dir / "memory.limit_in_bytes").write_text(str(memory_bytes))
        (pids_dir / "pids.max").write_text(str(max_processes))

    @property
    def procs_files(self) -> list[str]:
        return [str(self.memory_dir / "cgroup.procs"), str(self.pids_dir / "cgroup.procs")]

    def pids(self) -> list[int]:
        found: set[int] = set()
        for procs in self._procs:
            with contextlib.suppress(OSError):
                found.update(map(int, _read(procs).split()))
        return sorted(found)

    def adopt(self, pid: int) -> None:
        for procs in self.procs_files:
            Path(procs).write_text(str(pid))

    def set_memory_limit(self, memory_bytes: int) -> None:
        (self.memory_dir / "memory.limit_in_bytes").write_text(str(memory_bytes))

    def oom_kills(self) -> int:
        try:
            m = re.search(r"oom_kill (\d+)", (self.memory_dir / "memory.oom_control").read_text())
        except OSError:
            return 0
        return int(m.group(1)) if m else 0

    def fork_refusals(self) -> int:
        try:
            return int(_read(self._events).split()[1])
        except (OSError, IndexError, ValueError):
            return 0

    def remove(self) -> bool:
        done = True
        for d in (self.memory_dir, self.pids_dir):
            try:
                d.rmdir()
            except FileNotFoundError:
                pass
            except OSError:
                done = False
        return done


class Limiter:
    """Makes a :class:`Confinement` per sandbox: cgroups if usable here, else session scanning."""

    def __init__(self, *, use_cgroups: bool = True) -> None:
        self._memory_parent: Path | None = None
        self._pids_parent: Path | None = None
        if use_cgroups:
            self._setup_cgroups()

    @property
    def kind(self) -> str:
        """``"cgroup-v1"`` or ``"session"``."""
        return "cgroup-v1" if self._memory_parent else "session"

    def _setup_cgroups(self) -> None:
        own = _own_cgroups()
        tag = f"ripple-{os.getpid()}-{next(_counter)}"
        try:
            memory = _V1 / "memory" / own.get("memory", "/").lstrip("/") / tag
            pids = _V1 / "pids" / own.get("pids", "/").lstrip("/") / tag
            # (The root of a hierarchy has no pids.max, so look for a file every cgroup has.)
            if not (memory.parent / "memory.limit_in_bytes").exists() or not (pids.parent / "cgroup.procs").exists():
                return
            for parent in (memory.parent, pids.parent):
                _remove_stale(parent)
            memory.mkdir()
            try:
                pids.mkdir()
            except OSError:
                memory.rmdir()
                raise
        except OSError:
            return
        self._memory_parent, self._pids_parent = memory, pids

    def confine(self, name: str, *, memory_bytes: int, max_processes: int) -> Confinement:
        """A fresh confinement for a sandbox called ``name`` (unique within the pool)."""
        if self._memory_parent and self._pids_parent:
            try:
                return CgroupV1(
                    self._memory_parent / name,
                    self._pids_parent / name,
                    memory_bytes=memory_bytes,
                    max_processes=max_processes,
                )
            except OSError:
                pass
        return Confinement()

    def close(self) -> None:
        """Remove the pool's parent cgroups (their sandboxes must be gone)."""
        for d in (self._memory_parent, self._pids_parent):
            if d is not None:
                with contextlib.suppress(OSError):
                    d.rmdir()


def _own_cgroups() -> dict[str, str]:
    out: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for c in controllers.split(","):
                out[c] = path
    return out


def _remove_stale(parent: Path) -> None:
    """Remove the empty cgroups of pools whose process died without closing (a SIGKILLed platform)."""
    for child in parent.glob("ripple-*-*"):
        pid = child.name.split("-")[1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            for sub in [p for p in child.iterdir() if p.is_dir()] + [child]:
                with contextlib.suppress(OSError):
                    sub.rmdir()
