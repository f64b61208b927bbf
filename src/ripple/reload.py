"""What a saved file means for a running app under ``ripple dev``.

A change that leaves the app's declarations as they were (functions, their settings, triggers,
resources) only needs the warm sandboxes of the functions whose code it touched replaced: a fresh
sandbox imports the handler from disk. A function's code is its handler's module and every module
of the app's folder that module imports, followed statically (``import`` and ``from ... import``
statements, including relative ones and those inside functions). Anything else, a changed
declaration above all, restarts the platform.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ripple.app import App, Function


def declarations(app: App) -> tuple[Any, ...]:
    """Everything about ``app`` that a running platform was built from, comparable with ``==``."""
    functions = sorted((f.name, f.handler, str(f.root), f.settings) for f in app.functions.values())
    triggers = sorted(
        (
            t.name,
            t.function,
            t.kind,
            t.source,
            repr(t.options),
            t.rule,
            t.schedule.expression if t.schedule else None,
            repr(t.policy_source),
        )
        for t in app.triggers
    )
    resources = sorted((r.kind, r.name, repr(sorted(r.spec.items()))) for r in app.resources)
    return app.name, tuple(functions), tuple(triggers), tuple(resources)


def _module_file(root: Path, dotted: str) -> Path | None:
    base = root.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate.resolve()
    return None


def _package_of(root: Path, path: Path) -> str:
    """The dotted package a file under ``root`` belongs to ("" at the top)."""
    return ".".join(path.relative_to(root).parts[:-1])


def imports(root: Path, path: Path) -> set[Path]:
    """The files under ``root`` that the module at ``path`` imports directly."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return set()
    package = _package_of(root, path)
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".") if package else []
                parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
                base = ".".join([*parts, base] if base else parts)
            if base:
                names.append(base)
            # "from pkg import mod" may name a submodule.
            names += [f"{base}.{a.name}" if base else a.name for a in node.names]
    out = set()
    for name in names:
        # "import a.b.c" imports a, a.b and a.b.c.
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            found = _module_file(root, ".".join(parts[:i]))
            if found is not None:
                out.add(found)
    return out


def code_of(fn: Function, parsed: dict[Path, set[Path]] | None = None) -> set[Path]:
    """The files of ``fn``'s code: its handler's module and what that imports under its root.
    ``parsed`` memoizes each file's direct imports across calls (functions share modules)."""
    root = fn.root.resolve()
    start = _module_file(root, fn.handler.rpartition(".")[0])
    if start is None:
        return set()
    parsed = {} if parsed is None else parsed
    seen, todo = {start}, [start]
    while todo:
        path = todo.pop()
        if path not in parsed:
            parsed[path] = imports(root, path)
        for found in parsed[path] - seen:
            seen.add(found)
            todo.append(found)
    return seen


def affected(old: App, new: App, changed: Iterable[Path]) -> set[str] | None:
    """The functions whose warm sandboxes must be replaced after ``changed`` files were saved, or
    None when the app's declarations changed and the platform must restart."""
    if declarations(old) != declarations(new):
        return None
    paths = {Path(p).resolve() for p in changed}
    parsed: dict[Path, set[Path]] = {}
    return {name for name, fn in new.functions.items() if code_of(fn, parsed) & paths}
