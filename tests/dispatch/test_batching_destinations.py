"""A burst of uploads becomes one invocation (batch size and window), and an on-success destination
hands Lambda's invocation record to the next function."""

from __future__ import annotations

import json
from pathlib import Path

import orjson

from ripple.runtime.loader import load_app
from ripple.testing import run_app

APP = Path(__file__).parent / "apps" / "batching.py"


def logged(h, kind):
    out, n = [], 1
    while (item := h.table("log").get({"id": f"{kind}#{n}"})) is not None:
        out.append(json.loads(item["payload"]))
        n += 1
    return out


def test_a_burst_of_uploads_is_one_build_and_chains_on_success(tmp_path):
    with run_app(load_app(str(APP)), state=tmp_path / "s") as h:
        src = h.bucket("site-src")
        for i in range(40):
            src.put(f"content/post-{i:02d}.md", b"# post")
        src.put("static/logo.png", b"png")  # not under content/: not in any batch
        h.drain()  # the window is crossed on the virtual clock
        assert logged(h, "build") == [[f"content/post-{i:02d}.md" for i in range(40)]]
        assert logged(h, "after") == [{"condition": "Success", "response": {"built": 40}}]
        src.delete("content/post-00.md")
        h.drain()
        assert logged(h, "build")[-1] == ["content/post-00.md"]


def test_batches_are_cut_at_batch_size(tmp_path):
    with run_app(load_app(str(APP)), state=tmp_path / "s") as h:
        h.bucket("site-src").put_many([(f"content/{i:03d}.md", b"x") for i in range(250)])
        h.drain()
        assert [len(b) for b in logged(h, "build")] == [100, 100, 50]


def test_async_batches_are_split_by_size():
    from ripple.dispatch.dispatcher import _by_size

    records = [(None, orjson.dumps({"k": "x" * 100})) for _ in range(10)]
    groups = _by_size(records, 350)  # about three records' JSON per group
    assert [len(g) for g in groups] == [3, 3, 3, 1]
    assert [r for g in groups for r in g] == records


def test_a_destination_record_keeps_integers_beyond_64_bits(tmp_path):
    """Python's json keeps big integers exact, and so must the invocation record a destination
    gets (orjson would refuse to encode them, or turn them into floats when decoding)."""
    with run_app(load_app(str(APP)), state=tmp_path / "s") as h:
        h.bucket("site-src").put("big/a", b"1")
        h.drain()
        assert logged(h, "after") == [{"condition": "Success", "response": {"big": 2**70 + 1, "key": "big/a"}}]
