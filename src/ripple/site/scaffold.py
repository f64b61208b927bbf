"""``ripple site new``: a starter site (config, a post, a page, a small theme) to build on."""

from __future__ import annotations

from pathlib import Path

from ripple.site.errors import BuildError

STARTER = Path(__file__).parent / "starter"


def new_site(dest: str | Path) -> list[str]:
    """Create a starter site in ``dest`` (which must be missing or empty); returns the files made.

    Raises :class:`BuildError` when ``dest`` exists and is not an empty folder.
    """
    import shutil  # not at the top: ``import ripple.site`` stays cheap (shutil loads bz2, lzma)

    d = Path(dest)
    if d.exists() and (not d.is_dir() or any(d.iterdir())):
        raise BuildError(f"{d} already exists and is not empty; choose a new folder")
    made: list[str] = []
    for p in sorted(STARTER.rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            rel = p.relative_to(STARTER)
            (d / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, d / rel)
            made.append(rel.as_posix())
    return made
