"""Shared helpers: write a site from a dict, read an output tree, and the clean-build oracle."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ripple.site import BuildResult, build

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
BENCH = Path(__file__).resolve().parents[2] / "bench" / "site"


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def tree(out: Path) -> dict[str, bytes]:
    """Every output file (the state folder excluded) with its bytes."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and ".ripple" not in p.relative_to(out).parts
    }


def oracle(src: Path, out: Path, scratch: Path, now: datetime = NOW) -> BuildResult:
    """Assert that ``out`` equals a clean full build of ``src`` made in a fresh folder."""
    clean = scratch / f"clean-{len(list(scratch.glob('clean-*')))}"
    res = build(src, clean, now=now)
    a, b = tree(out), tree(clean)
    assert sorted(a) == sorted(b), (
        f"file sets differ: only incremental {sorted(set(a) - set(b))[:5]}, only clean {sorted(set(b) - set(a))[:5]}"
    )
    differ = [k for k in a if a[k] != b[k]]
    assert not differ, f"{len(differ)} files differ, e.g. {differ[:5]}"
    return res


def synth_site(factory: Any, name: str, n: int) -> Path:
    """The benchmark's synthetic site of ``n`` posts (ripple's copy), made once in a new temp folder."""
    return synth().make(n, factory.mktemp(name), ("ripple",))["ripple"]


def built_copy(site_src: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of ``site_src`` in ``tmp_path``, fully built: (source folder, output folder)."""
    src, out = tmp_path / "src", tmp_path / "out"
    shutil.copytree(site_src, src)
    assert build(src, out, now=NOW).full
    return src, out


def synth():
    """The benchmark's synthetic site generator (bench/site/synth.py)."""
    if "ripple_bench_synth" in sys.modules:
        return sys.modules["ripple_bench_synth"]
    spec = importlib.util.spec_from_file_location("ripple_bench_synth", BENCH / "synth.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["ripple_bench_synth"] = mod
    spec.loader.exec_module(mod)
    return mod
