"""The two-process split (parallel.split_map): every item done once, by either process, whatever
the claims' size; results back at their positions; a child's BuildError raised with its file."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from ripple.site import parallel
from ripple.site.errors import BuildError

pytestmark = pytest.mark.skipif(not parallel.available(), reason="needs fork, 2 CPUs and a single thread")


def _work(x: int) -> tuple[int, int]:
    sum(range(2000))  # enough for both processes to claim some items
    return x * x, os.getpid()


@pytest.mark.parametrize("sided", [False, True])
def test_every_item_is_done_once_and_comes_back_in_place(tmp_path: Path, sided: bool) -> None:
    items = list(range(500))
    weights = [(i * 7919) % 500 for i in items]  # distinct, shuffled
    sides = [i % 3 == 0 for i in items] if sided else None  # a third for the child's own queue
    results, theirs, extra = parallel.split_map(
        items, _work, weights=weights, sides=sides, child_result=lambda out: out, folder=tmp_path
    )
    assert len(theirs) == len(extra) and len(set(theirs)) == len(theirs)
    for i, (sq, pid) in zip(theirs, extra, strict=True):
        assert results[i] is None and sq == i * i and pid != os.getpid()
        results[i] = (sq, pid)
    assert [r[0] for r in results] == [i * i for i in items]
    mine = [i for i in items if results[i][1] == os.getpid()]
    assert sorted(mine + theirs) == items
    # The child takes its own queue from the front (heaviest first), then ours from the back.
    order = sorted(items, key=lambda i: -weights[i])
    q0, q1 = (
        ([i for i in order if not sides[i]], [i for i in order if sides[i]]) if sides else (order[0::2], order[1::2])
    )
    own = set(q1)
    k = next((j for j, i in enumerate(theirs) if i not in own), len(theirs))
    assert theirs[:k] == q1[:k] and theirs[k:] == q0[::-1][: len(theirs) - k]
    assert not list(tmp_path.iterdir())  # the child's result file is gone


def test_claims_hand_out_each_queue_front_first_then_steal_from_the_back(tmp_path: Path) -> None:
    (tmp_path / "lock").touch()
    c = parallel._Claims(3, 2, str(tmp_path / "lock"))
    c.attach()
    assert [c.take(1), c.take(1), c.take(1), c.take(0), c.take(1), c.take(0), c.take(0)] == [
        (1, 0, 1),
        (1, 1, 2),
        (0, 2, 3),
        (0, 0, 1),
        (0, 1, 2),
        None,
        None,
    ]
    big = parallel._Claims(100, 0, str(tmp_path / "lock"))
    big.attach()
    runs = [big.take(0) for _ in range(3)]
    assert runs == [(0, 0, 3), (0, 3, 6), (0, 6, 8)]  # a 32nd of what is left, at least one
    big.close()
    c.close()


def test_a_build_error_in_either_process_is_raised_with_its_file(tmp_path: Path) -> None:
    def work(x: int) -> int:
        _work(x)
        if x % 50 == 49:  # some in each process's share, whichever claims them
            raise BuildError("bad front matter", file=f"content/p{x}.md", line=3)
        return x

    with pytest.raises(BuildError) as e:
        parallel.split_map(list(range(400)), work, child_result=lambda out: out, folder=tmp_path)
    assert e.value.file is not None and e.value.file.startswith("content/p") and e.value.line == 3
    assert not list(tmp_path.iterdir())


def test_a_child_killed_mid_split_is_an_error_not_a_hang(tmp_path: Path) -> None:
    """SIGKILL of the child while items are left: the parent takes the rest of both queues and
    reports the dead worker (a lock the child held dies with it)."""
    parent = os.getpid()

    def work(x: int) -> int:
        _work(x)
        if os.getpid() != parent and x % 7 == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return x

    with pytest.raises(RuntimeError, match="exited with status -9"):
        parallel.split_map(list(range(400)), work, child_result=lambda out: out, folder=tmp_path)
    assert not list(tmp_path.iterdir())
