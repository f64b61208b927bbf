"""Fixtures for runtime tests: real pools over the apps in ``apps/``, checked to leave no process behind."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import APPS, alive, wait_until

from ripple.runtime.loader import load_app
from ripple.runtime.pool import Pool


@pytest.fixture
def make_pool(tmp_path: Path) -> Iterator[Callable[..., Pool]]:
    """Build pools over ``apps/<name>.py``; on teardown close them and check every process is gone."""
    pools: list[Pool] = []
    seen: set[int] = set()

    def make(app_name: str, **options: object) -> Pool:
        options.setdefault("state", tmp_path / "state")
        options.setdefault("spare", False)  # tests count processes; the spare has its own test
        pool = Pool(load_app(str(APPS / f"{app_name}.py")), **options)  # type: ignore[arg-type]
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        seen.update(pool.processes())
        template = pool._template._proc  # the template, too, must be gone
        if template is not None:
            seen.add(template.pid)
        pool.close()
    wait_until(lambda: not [p for p in seen if alive(p)], 10, "the pool's processes to exit")


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory a sandbox can see too: /tmp is private to each sandbox, /dev/shm is not."""
    path = Path(tempfile.mkdtemp(prefix="ripple-test-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def pool(make_pool: Callable[..., Pool]) -> Pool:
    return make_pool("basic")


@pytest.fixture
def failing(make_pool: Callable[..., Pool]) -> Pool:
    return make_pool("failing", max_processes=32)
