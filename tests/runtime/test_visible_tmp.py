"""A sandbox's private /tmp must not hide what it needs that lives under /tmp: the function's code,
the state folder, and the interpreter with its import path (CI clones and tests live there)."""

from __future__ import annotations

import sys

from ripple.runtime.worker import _visible_under_tmp


def test_needed_folders_under_tmp_stay_visible(tmp_path, monkeypatch):
    code, state, venv = tmp_path / "app", tmp_path / "app" / "state", tmp_path / "venv"
    for p in (code, state, venv / "lib"):
        p.mkdir(parents=True)
    monkeypatch.setattr(sys, "prefix", str(venv))
    monkeypatch.setattr(sys, "path", [str(venv / "lib"), "/usr/lib/python3", "/tmp", ""])
    visible = _visible_under_tmp({"root": str(code), "env": {"RIPPLE_STATE": str(state)}})
    # The outermost folders only (state sits inside the code folder); never /tmp itself; nothing
    # outside /tmp.
    assert visible == sorted([str(code), str(venv)])
