"""Render an app template into a folder.

Files ending ``.tmpl`` are formatted with the app's name (``{name}``; literal braces doubled); every
other file is copied byte for byte, so layouts, markdown and CSS need no escaping.
"""

from __future__ import annotations

import re
from importlib.abc import Traversable
from importlib.resources import files
from pathlib import Path

#: Never copied: bytecode and editor litter that may sit in an installed template folder.
_SKIP = {"__pycache__", ".ripple", ".pytest_cache"}


def app_name(target: Path) -> str:
    """The app name ``ripple init`` derives from a folder: lowercase letters, digits and hyphens,
    3 to 40 characters, so that ``<name>-src`` and friends are valid bucket names."""
    name = re.sub(r"[^a-z0-9-]+", "-", target.resolve().name.lower()).strip("-")[:40] or "app"
    return f"app-{name}" if len(name) < 3 else name


def render(template: str, target: Path, name: str) -> list[Path]:
    """Write ``template`` into ``target`` (created) for an app called ``name``; returns the files
    written. Raises ``FileNotFoundError`` for a template that does not exist."""
    root = files("ripple") / "templates" / template
    if not root.is_dir():
        raise FileNotFoundError(f"no template {template!r}")
    written: list[Path] = []

    def copy(node: Traversable, rel: Path) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            if child.name in _SKIP or child.name.endswith(".pyc"):
                continue
            if child.is_dir():
                copy(child, rel / child.name)
                continue
            if child.name.endswith(".tmpl"):
                out = target / rel / child.name.removesuffix(".tmpl")
                data = child.read_text(encoding="utf-8").format(name=name).encode()
            else:
                out = target / rel / child.name
                data = child.read_bytes()
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
            written.append(out)

    copy(root, Path())
    return written
