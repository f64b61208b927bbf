"""The two-process split (parallel.split_map): every item done once, by either process, whatever
the claims' size; results back at their positions; a child's BuildError raised with its file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ripple.site import parallel
from ripple.site.errors import BuildError

pytestmark = pytest.mark.skipif(not parallel.available(), reason="needs fork, 2 CPUs and a single thread")


def _work(x: int) -> tuple[int, int]:
    sum(range(2000))  # enough for both processes to claim some items
    return x * x, os.getpid()


@pytest.mark.parametrize("max_claims", [16_000, 7])
def test_every_item_is_done_once_and_comes_back_in_place(tmp_path: Path, monkeypatch, max_claims: int) -> None:
    monkeypatch.setattr(parallel, "_MAX_CLAIMS", max_claims)  # 7: claims of many items each
    items = list(range(500))
    weights = [(i * 7919) % 500 for i in items]  # distinct, shuffled
    results, theirs, extra = parallel.split_map(
        items, _work, weights=weights, child_result=lambda out: out, folder=tmp_path
    )
    assert len(theirs) == len(extra) and len(set(theirs)) == len(theirs)
    for i, (sq, pid) in zip(theirs, extra, strict=True):
        assert results[i] is None and sq == i * i and pid != os.getpid()
        results[i] = (sq, pid)
    assert [r[0] for r in results] == [i * i for i in items]
    mine = [i for i in items if results[i][1] == os.getpid()]
    assert sorted(mine + theirs) == items
    if max_claims > len(items):  # one item a claim: the child took the heaviest first
        assert [weights[i] for i in theirs] == sorted((weights[i] for i in theirs), reverse=True)
    assert not list(tmp_path.iterdir())  # the child's result file is gone


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
