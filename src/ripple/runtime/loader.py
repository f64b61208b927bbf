"""Finding the user's app: ``--app PATH_OR_MODULE[:ATTR]``, by default ``app.py`` in the current directory.

Shared by every command that needs the app.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

from ripple.app import App
from ripple.errors import NotFound, ValidationError

DEFAULT_APP = "app.py"


def load_app(spec: str | None = None, *, cwd: str | Path | None = None) -> App:
    """Import the app named by ``spec`` and return its :class:`App`.

    ``spec`` is a file (``app.py``, ``src/blog/app.py``) or a module (``blog.app``), optionally followed
    by ``:ATTR``; without ``:ATTR`` the module's ``app`` is used, else its only App.

    Raises:
        NotFound: the file or module does not exist.
        ValidationError: importing it failed, or it holds no (or several, or not an) App.
    """
    spec = spec or DEFAULT_APP
    base = Path(cwd) if cwd is not None else Path.cwd()
    target, _, attr = spec.partition(":")
    if target.endswith(".py") or os.sep in target or "/" in target:
        module = _load_file((base / target).resolve(), spec)
    else:
        module = _load_module(target, base, spec)
    return _find_app(module, attr, spec)


def _load_file(path: Path, spec: str) -> ModuleType:
    if not path.is_file():
        raise NotFound(f"app file not found: {str(path)!r} (from --app {spec!r})")
    name = path.stem
    loaded = sys.modules.get(name)
    if loaded is not None and getattr(loaded, "__file__", None) == str(path):
        return loaded
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    mod_spec = importlib.util.spec_from_file_location(name, path)
    if mod_spec is None or mod_spec.loader is None:
        raise ValidationError(f"cannot import {str(path)!r} as Python (from --app {spec!r})")
    module = importlib.util.module_from_spec(mod_spec)
    sys.modules[name] = module
    try:
        mod_spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise ValidationError(f"importing app {spec!r} failed: {type(exc).__name__}: {exc}") from exc
    return module


def _load_module(name: str, base: Path, spec: str) -> ModuleType:
    if str(base) not in sys.path:
        sys.path.insert(0, str(base))
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            raise NotFound(f"app module not found: {name!r} (from --app {spec!r})") from exc
        raise ValidationError(f"importing app {spec!r} failed: {exc}") from exc
    except Exception as exc:
        raise ValidationError(f"importing app {spec!r} failed: {type(exc).__name__}: {exc}") from exc


def _find_app(module: ModuleType, attr: str, spec: str) -> App:
    if attr:
        found = getattr(module, attr, None)
        if not isinstance(found, App):
            raise ValidationError(f"{attr!r} in {module.__name__!r} is not a ripple App (from --app {spec!r})")
        return found
    default = getattr(module, "app", None)
    if isinstance(default, App):
        return default
    apps = [v for v in vars(module).values() if isinstance(v, App)]
    if len(apps) != 1:
        what = "no App" if not apps else f"{len(apps)} Apps"
        raise ValidationError(f"module {module.__name__!r} has {what}; name one with --app {spec}:ATTR")
    return apps[0]
