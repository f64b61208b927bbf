"""Writing a build's outputs into the output folder.

Existing files are overwritten in place (see :func:`write_all`), several at a time when there are
many: rewriting 15k pages costs ~0.2-0.3 s of system time, ~0.5 s with the page cache cold.
Creating them is another matter: a full build into an empty folder spends 2-15 s in the kernel
allocating 16k inodes and folders (much more right after a large delete on the same file system,
as ext4 skips recently freed inodes). So when many files are new,
the build forks a writer that inherits the outputs' bytes (copy-on-write: nothing is copied or
pickled) and writes them while the parent works out the state's rows and inserts them; the parent
waits for it just before the state's ``COMMIT`` (:meth:`ripple.site.state.State.commit`'s
``before_commit``). A process rather than a thread: the rows are pure Python, and a thread that
needs the GIL back after every system call would wait up to a switch interval (5 ms) per file.

The state is marked dirty before the first byte is written and only marked clean by that commit,
so a write that fails (or a process that dies meanwhile) leaves a state whose next build is a full
one, as before.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Container
from pathlib import Path

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
    if len(again) < 2 * REWRITE_CHUNK:
        _write(root, files, paths)
        return
    _write(root, files, [p for p in paths if p not in existing])
    chunks = iter([again[i : i + REWRITE_CHUNK] for i in range(0, len(again), REWRITE_CHUNK)])
    errors: list[OSError] = []

    def work() -> None:
        # A list iterator's next() is atomic under the GIL: each chunk goes to one thread.
        for chunk in chunks:
            if errors:
                return
            try:
                _write(root, files, chunk)
            except OSError as e:
                errors.append(e)
                return

    threads = [threading.Thread(target=work, name=f"ripple-site-write-{i}") for i in range(REWRITE_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


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
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
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


class OutputWriter:
    """Writes ``files`` and removes ``stale`` outputs under ``out``: in a forked child started by
    :meth:`start` when at least :data:`FORK_MIN_FILES` of them are new (not in ``existing``, the
    paths already there) and forking is safe (:func:`ripple.site.parallel.available`), else in
    :meth:`start` itself. :meth:`wait` returns once everything is written (to the page cache: no
    fsync, as before) and raises OSError if the writing failed (in the child: its message). Always
    call :meth:`wait` (it reaps the child)."""

    def __init__(self, out: Path, files: dict[str, bytes], stale: list[str], existing: Container[str]) -> None:
        self.out = out
        self.existing = existing
        self.new_files = sum(1 for p in files if p not in existing)
        self.files = files
        self.stale = stale
        self._pid = 0
        self._pipe = -1
        self._error: OSError | None = None

    def _write(self) -> None:
        write_all(self.out, self.files, self.existing)
        for path in self.stale:
            remove(self.out, path)

    def start(self) -> None:
        from ripple.site import parallel

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

    def wait(self) -> None:
        if self._pid:
            pid, self._pid = self._pid, 0
            try:
                with os.fdopen(self._pipe, "rb") as f:
                    message = f.read().decode(errors="replace")
            finally:
                _, status = os.waitpid(pid, 0)
            code = os.waitstatus_to_exitcode(status)
            if code != 0:
                self._error = OSError(message or f"output writer exited with status {code}")
        if self._error is not None:
            err, self._error = self._error, None
            raise err
