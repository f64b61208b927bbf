"""Where the built-in templates live, without importing Jinja (a build that renders nothing needs
their digests, not the template engine)."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULTS_DIR = Path(__file__).parent / "_defaults"
INTERNAL = "_internal/"


def internal_templates() -> dict[str, Path]:
    """Built-in templates (RSS, sitemap, robots, alias, shortcodes), named ``_internal/...``."""
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(DEFAULTS_DIR):
        dirnames.sort()
        rel = os.path.relpath(dirpath, DEFAULTS_DIR)
        for f in filenames:
            found.append(f if rel == "." else f"{rel}/{f}".replace(os.sep, "/"))
    return {INTERNAL + r: DEFAULTS_DIR / r for r in sorted(found)}
