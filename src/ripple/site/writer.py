"""Writing a build's outputs into the output folder.

Existing files are overwritten in place (see :func:`write_all`), several at a time when there are
many: rewriting 15k pages costs ~0.2-0.3 s of system time, ~0.5 s with the page cache cold.
Creating them is another matter: a full build into an empty folder spends 2-15 s in the kernel
allocating 16k inodes and folders (much more right after a large delete on the same file system,
as ext4 skips recently freed inodes). So when many files are to be written, another process writes
them while the build works out the state's rows and inserts them; the build waits for it just
before the state's ``COMMIT`` (:meth:`ripple.site.state.State.commit`'s ``before_commit``). On
Linux that is a Python process started with ``posix_spawn`` running this file, which maps the
outputs' bytes from memory files (nothing of the build's memory is shared, so the build takes no
copy-on-write faults): a :class:`Spool`, which the rendering processes fill as they go; elsewhere
a forked child that inherits the bytes copy-on-write, used when many files are new. A process
rather than a thread: the rows are pure Python, and a thread that needs the GIL back after every
system call would wait up to a switch interval (5 ms) per file.

The state is marked dirty before the first byte is written and only marked clean by that commit,
so a write that fails (or a process that dies meanwhile) leaves a state whose next build is a full
one, as before.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Container
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

#: below this many new files a fork (~20-50 ms with a 10k-page model in memory, and copy-on-write
#: faults while both processes run) does not pay
FORK_MIN_FILES = 1000


#: rewrites of existing files are spread over this many threads once there are at least two chunks
#: of them (see :func:`write_all`)
REWRITE_THREADS = 8
REWRITE_CHUNK = 256


def write_all(out: Path, files: dict[str, bytes], existing: Container[str] = ()) -> None:
    """Write ``files`` (path relative to ``out``, ``/``-separated -> bytes) under ``out``, creating
    folders as needed. Not atomic per file (no temp file and rename, and an existing file is
    overwritten in place): the caller marks its state dirty first. Raises OSError (the first one
    met, after every thread stopped).

    ``existing``: the paths that are there already (the last build's outputs). Many of them are
    rewritten by :data:`REWRITE_THREADS` threads: overwriting a file smaller than a page in place
    reads that page first, and with the page cache cold (a machine that has done other work since
    the last build) 15.5k rewrites took 1.4-1.8 s one by one, 0.5-0.6 s eight at a time, each
    thread's system calls waiting on the disk while the others run (0.15-0.29 s either way with
    the cache warm). New files are written by this thread alone: creating inodes contends on the
    file system's locks, and threads made 16k creations slower (1.1-2.2 s against 2.3-2.5 s)."""
    root = os.fspath(out) + os.sep
    paths = sorted(files)
    again = [p for p in paths if p in existing] if existing else []
    _create(root, files, [p for p in paths if p not in existing] if again else paths)
    if len(again) < 2 * REWRITE_CHUNK:
        _write(root, files, again)
        return
    chunks = [again[i : i + REWRITE_CHUNK] for i in range(0, len(again), REWRITE_CHUNK)]
    in_threads(REWRITE_THREADS, chunks, lambda chunk: _write(root, files, chunk), "ripple-site-write")


def in_threads(n: int, chunks: list[T], work: Callable[[T], None], name: str) -> None:
    """Call ``work`` on every chunk from ``n`` threads, each taking the next chunk left, and wait
    for them. After an exception no thread takes another chunk; the first one raised is raised
    here. The threads are gone when this returns."""
    todo = iter(chunks)
    errors: list[BaseException] = []

    def run() -> None:
        # A list iterator's next() is atomic under the GIL: each chunk goes to one thread.
        for chunk in todo:
            if errors:
                return
            try:
                work(chunk)
            except BaseException as e:
                errors.append(e)
                return

    threads = [threading.Thread(target=run, name=f"{name}-{i}") for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def _create(root: str, files: dict[str, bytes], paths: list[str]) -> None:
    # Files that should be new (a full build's: 16k files in as many folders). Their folders are
    # made first, parents before children, and each file is created exclusively: a file that is
    # there after all (left by someone else) is overwritten by _write, truncated. Against opening
    # each file, failing for want of its folder and making that, this saves two path walks and an
    # exception per folder and a truncate per file: 16k new files took 1.6 s instead of 2.3.
    if not paths:
        return
    folders = set()
    for path in paths:
        d = path.rpartition("/")[0]
        while d and d not in folders:
            folders.add(d)
            d = d.rpartition("/")[0]
    os.makedirs(root, exist_ok=True)  # the output folder itself may not be there yet
    for d in sorted(folders):  # a parent sorts before its children
        try:
            os.mkdir(root + d)
        except FileExistsError:
            pass
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    there = []
    for path in paths:
        try:
            fd = os.open(root + path, flags, 0o666)
        except FileExistsError:
            there.append(path)
            continue
        try:
            _write_fully(fd, files[path])
        finally:
            os.close(fd)
    _write(root, files, there)


def _write(root: str, files: dict[str, bytes], paths: list[str]) -> None:
    # Plain string paths and file descriptors: at 15k files a Path and a buffered file object per
    # output cost about a third of the writing CPU time. Folders are made only when opening a file
    # fails for want of one: a rewrite finds them all there, and 15k makedirs(exist_ok=True) calls
    # (a failing mkdir and an exception each) cost more than the rewrite itself.
    #
    # No O_TRUNC: an existing file is overwritten in place and then cut to the new length. On ext4
    # (the default auto_da_alloc mount option) a file truncated to zero and written again has its
    # blocks allocated and its writeback started when it is closed, to protect "truncate and
    # rewrite" against a crash: rewriting the 15.5k pages of a sidebar edit took 5-8 s that way,
    # 0.2-0.3 s in place. New files (a full build) are the same either way.
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
    for path in paths:
        data = files[path]
        full = root + path
        try:
            fd = os.open(full, flags, 0o666)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(full), exist_ok=True)
            fd = os.open(full, flags, 0o666)
        try:
            _write_fully(fd, data)
            os.ftruncate(fd, len(data))
        finally:
            os.close(fd)


def remove(out: Path, rel: str) -> None:
    """Delete the output ``rel`` (missing is fine) and the folders it leaves empty, up to ``out``."""
    p = out / rel
    try:
        p.unlink()
    except FileNotFoundError:
        return
    d = p.parent
    while d != out and d.is_dir():
        try:
            d.rmdir()
        except OSError:
            break
        d = d.parent


#: where a spooled output's bytes are: (side, start, end) in :class:`Spool`'s memory file ``side``
Spooled = tuple[int, int, int]


class Spool:
    """Memory files that a build's outputs are written into as they are rendered, one per
    rendering process (``side`` 0: the build, 1: its forked renderer), for the spawned writer to
    map (:class:`OutputWriter`). A rendered output then costs one ``pwrite`` in the process that
    made it, and its bytes do not stay in memory: the forked renderer's outputs never travel back
    to the build through its results file, and the build never holds all ~150 MB of a 10k-post
    rewrite at once (each megabyte of it is pages the kernel zeroes first, ~3 us a page here).

    Linux only (``memfd_create``); :meth:`open` returns None elsewhere or where no memory file can
    be made. Not thread-safe; each process writes only its own side's file."""

    def __init__(self, fds: list[int]) -> None:
        self.fds = fds
        self.side = 0
        self._end = 0  # how far this process has filled its side's file

    @classmethod
    def open(cls, sides: int = 2) -> Spool | None:
        if not can_spawn():
            return None
        fds: list[int] = []
        try:
            for i in range(sides):
                fds.append(os.memfd_create(f"ripple-site-outputs-{i}", os.MFD_CLOEXEC))
        except OSError:
            for fd in fds:
                os.close(fd)
            return None
        return cls(fds)

    def as_side(self, side: int) -> None:
        """Write to file ``side`` from now on, after what earlier processes put there (for a forked
        renderer, called once in the child)."""
        self.side = side
        self._end = os.fstat(self.fds[side]).st_size

    def put(self, data: bytes) -> Spooled | bytes:
        """Write ``data`` to this process's file; returns where it is, or ``data`` itself when the
        file cannot take it (no memory left for it: the caller keeps the bytes, as without a
        spool)."""
        start = self._end
        try:
            _pwrite_fully(self.fds[self.side], data, start)
        except OSError:
            return data
        self._end = start + len(data)
        return self.side, start, self._end

    def read(self, ref: Spooled) -> bytes:
        side, start, end = ref
        return os.pread(self.fds[side], end - start, start)

    def close(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds = []


class OutputWriter:
    """Writes ``files`` and removes ``stale`` outputs under ``out``, while the caller goes on, when
    there are many; else in :meth:`start` itself. :meth:`wait` returns once everything is written
    (to the page cache: no fsync, as before) and raises OSError if the writing failed (in another
    process: its message). Always call :meth:`wait` (it reaps the other process).

    ``files`` maps each path to its bytes, or to where they are in ``spool`` (:class:`Spool`, which
    the caller keeps open until :meth:`start` returns and closes after).

    Where another process writes: on Linux (``memfd_create``), a new Python process started with
    ``posix_spawn`` running this file, which maps the spool's memory files (:data:`SPAWN_MIN_FILES`
    or more outputs); elsewhere a forked child, when at least :data:`FORK_MIN_FILES` of them are
    new (not in ``existing``, the paths already there) and forking is safe
    (:func:`ripple.site.parallel.available`)."""

    def __init__(
        self,
        out: Path,
        files: dict[str, bytes | Spooled],
        stale: list[str],
        existing: Container[str],
        spool: Spool | None = None,
    ) -> None:
        self.out = out
        self.existing = existing
        self.new_files = sum(1 for p in files if p not in existing)
        self.files = files
        self.spool = spool
        self.stale = stale
        self._pid = 0
        self._pipe = -1
        self._error: OSError | None = None

    def _bytes(self) -> dict[str, bytes]:
        spool = self.spool
        if spool is None:
            return self.files  # type: ignore[return-value]
        return {p: v if isinstance(v, bytes) else spool.read(v) for p, v in self.files.items()}

    def _write(self) -> None:
        write_all(self.out, self._bytes(), self.existing)
        for path in self.stale:
            remove(self.out, path)

    def start(self) -> None:
        from ripple.site import parallel

        if len(self.files) >= SPAWN_MIN_FILES and can_spawn():
            try:
                self._spawn()
                return
            except OSError:
                # No process or no memory file to be had (a sandbox's limits, a full /dev/shm):
                # nothing was written yet, so one of the paths below writes everything.
                self._abandon()
        if self.new_files < FORK_MIN_FILES or not parallel.available():
            try:
                self._write()
            except OSError as e:
                self._error = e
            return
        r, w = os.pipe()
        pid = parallel.fork()
        if pid == 0:  # the child: writes, reports a failure through the pipe, never returns
            code = 1
            try:
                os.close(r)
                try:
                    self._write()
                    code = 0
                except BaseException as e:
                    os.write(w, f"{type(e).__name__}: {e}".encode()[:4000])
            finally:
                os._exit(code)
        os.close(w)
        self._pid, self._pipe = pid, r

    def _spawn(self) -> None:
        # The writer process starts (posix_spawn: no copy of this process's memory, so none of a
        # fork's copy-on-write faults in the caller afterwards) while the bytes not spooled yet
        # and then the index go into the spool's first file; the index's place in it is sent last,
        # and the writer maps the files and writes.
        spool = self.spool or Spool.open(1)
        if spool is None:
            raise OSError("no memory file for the output writer")
        fds: list[int] = []
        try:
            ctl_r, ctl_w = os.pipe()
            fds += (ctl_r, ctl_w)
            res_r, res_w = os.pipe()
            fds += (res_r, res_w)
            wanted = [ctl_r, res_w, *spool.fds]
            # dup2 in order: a source must not sit on a number an earlier action fills
            sources = [_above(fd, _CTL_FD + len(wanted), fds) for fd in wanted]
            pid = os.posix_spawn(
                sys.executable,
                [sys.executable, "-I", "-S", os.path.abspath(__file__), str(os.getpid()), str(len(spool.fds))],
                os.environ,
                file_actions=[(os.POSIX_SPAWN_DUP2, fd, _CTL_FD + i) for i, fd in enumerate(sources)],
            )
        except BaseException:
            for fd in fds:
                os.close(fd)
            if spool is not self.spool:
                spool.close()
            raise
        os.close(ctl_r)
        os.close(res_w)
        for fd in fds[4:]:
            os.close(fd)
        self._pid, self._pipe = pid, res_r
        try:
            spool.as_side(0)
            index = []
            existing = self.existing
            for path, data in self.files.items():
                ref = spool.put(data) if isinstance(data, bytes) else data
                if isinstance(ref, bytes):
                    raise OSError(f"no memory left to hand {path} to the output writer")
                index.append((path, *ref, path in existing))
            blob = json.dumps({"out": os.fspath(self.out), "files": index, "stale": self.stale}).encode()
            at = spool.put(blob)
            if isinstance(at, bytes):
                raise OSError("no memory left to hand the outputs to the output writer")
            _write_fully(ctl_w, at[1].to_bytes(8, "little") + len(blob).to_bytes(8, "little"))
        finally:
            os.close(ctl_w)  # without the 16 bytes, the writer exits writing nothing
            if spool is not self.spool:
                spool.close()

    def _abandon(self) -> None:
        if self._pid:
            pid, self._pid = self._pid, 0
            os.close(self._pipe)
            os.waitpid(pid, 0)  # it exits at once: the index never came

    def wait(self) -> None:
        if self._pid:
            pid, self._pid = self._pid, 0
            try:
                with os.fdopen(self._pipe, "rb") as f:
                    message = f.read().decode(errors="replace")
            finally:
                _, status = os.waitpid(pid, 0)
            code = os.waitstatus_to_exitcode(status)
            if code != 0 and self._error is None:
                self._error = OSError(message or f"output writer exited with status {code}")
        if self._error is not None:
            err, self._error = self._error, None
            raise err


#: at least this many outputs go to a spawned writer process (~25 ms to start, overlapped)
SPAWN_MIN_FILES = 1000

# The spawned writer's file descriptors: the index's place, its error message, then the spool's
# memory files.
_CTL_FD, _RES_FD, _MEM_FD = 3, 4, 5


def _above(fd: int, floor: int, opened: list[int]) -> int:
    """``fd``, or a duplicate of it at ``floor`` or above (added to ``opened``) when it is below."""
    if fd >= floor:
        return fd
    import fcntl

    dup = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, floor)
    opened.append(dup)
    return dup


def _write_fully(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _pwrite_fully(fd: int, data: bytes, at: int) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, at)
        view, at = view[n:], at + n


def can_spawn() -> bool:
    """Whether :class:`OutputWriter` can hand its bytes to a spawned process (Linux)."""
    return hasattr(os, "memfd_create") and hasattr(os, "posix_spawn") and bool(sys.executable)


def _spawned(parent: int, spools: int) -> int:
    """The spawned writer (``python -I -S writer.py PARENT_PID SPOOLS``): stdlib only, as it runs
    without the site's packages. Dies with its parent, as a forked one does: a writer outliving a
    killed build would go on writing under the next build. Returns the exit status."""
    import ctypes
    import mmap

    ctypes.CDLL(None, use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    if os.getppid() != parent:  # the parent died before that took effect
        return 1
    try:
        with os.fdopen(_CTL_FD, "rb") as f:
            head = f.read()
        if len(head) != 16:
            return 1  # the caller gave up before handing everything over
        at, n = int.from_bytes(head[:8], "little"), int.from_bytes(head[8:], "little")
        # Left mapped until the process exits: the outputs are views into them.
        views = []
        for fd in range(_MEM_FD, _MEM_FD + spools):
            size = os.fstat(fd).st_size
            views.append(memoryview(mmap.mmap(fd, size, prot=mmap.PROT_READ) if size else b""))
        job = json.loads(bytes(views[0][at : at + n]))
        out = Path(job["out"])
        files = {path: views[side][a:b] for path, side, a, b, _ in job["files"]}
        write_all(out, files, {path for path, *_, there in job["files"] if there})  # type: ignore[arg-type]
        for path in job["stale"]:
            remove(out, path)
        return 0
    except BaseException as e:
        os.write(_RES_FD, f"{type(e).__name__}: {e}".encode()[:4000])
        return 1


if __name__ == "__main__":
    sys.exit(_spawned(int(sys.argv[1]), int(sys.argv[2])))
