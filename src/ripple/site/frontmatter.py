"""Front matter: YAML (``---``), TOML (``+++``) or JSON (``{``) ahead of the body, as Hugo detects it.

YAML is read with libyaml but YAML 1.2-ish scalars: ``yes``/``no``/``on``/``off`` stay strings and
dates stay strings (parsed later by :func:`parse_date`), so content written for Hugo means the same.
"""

from __future__ import annotations

import functools
import json
import re
import tomllib
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any

from ripple.site.errors import BuildError


@functools.cache
def _loader() -> Any:
    """Safe loader without YAML 1.1's yes/no booleans and implicit timestamps (made on first use:
    importing PyYAML costs ~15 ms that a build which parses nothing can skip)."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class _HugoLoader(base):  # type: ignore[misc, valid-type]
        pass

    _HugoLoader.yaml_implicit_resolvers = {
        ch: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:timestamp",)]
        for ch, resolvers in base.yaml_implicit_resolvers.copy().items()
    }
    _HugoLoader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    for ch in list(_HugoLoader.yaml_implicit_resolvers):
        _HugoLoader.yaml_implicit_resolvers[ch] = [
            (tag, rx)
            for tag, rx in _HugoLoader.yaml_implicit_resolvers[ch]
            if not (tag == "tag:yaml.org,2002:bool" and rx.match("yes"))
        ]
    return _HugoLoader


def load_yaml(text: str, *, file: str, first_line: int = 1) -> Any:
    """Parse YAML text; raises :class:`BuildError` naming ``file`` and the line of the problem."""
    import yaml

    try:
        return yaml.load(text, Loader=_loader())
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = first_line + (mark.line if mark else 0)
        raise BuildError(f"invalid YAML: {e.problem or e}", file=file, line=line) from None
    except yaml.YAMLError as e:
        raise BuildError(f"invalid YAML: {e}", file=file, line=first_line) from None


_TOML_LINE = re.compile(r"\(at line (\d+)")
_TOML_WHERE = re.compile(r"\s*\(at [^)]*\)")


def load_toml(text: str, *, file: str, first_line: int = 1) -> dict[str, Any]:
    """Parse TOML text; raises :class:`BuildError` naming ``file`` and the line of the problem."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = _TOML_LINE.search(str(e))
        # Without a line number the error is "(at end of document)".
        line = first_line + (int(m.group(1)) - 1 if m else text.rstrip("\n").count("\n"))
        msg = _TOML_WHERE.sub("", str(e)).strip()
        raise BuildError(f"invalid TOML: {msg}", file=file, line=line) from None


def load_json(text: str, *, file: str, first_line: int = 1) -> Any:
    """Parse JSON text; raises :class:`BuildError` naming ``file`` and the line of the problem."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise BuildError(f"invalid JSON: {e.msg}", file=file, line=first_line + e.lineno - 1) from None


def split(text: str, *, file: str, known: tuple[str, dict[str, Any]] | None = None) -> tuple[dict[str, Any], str, int]:
    """Split a content file into (front matter with lower-cased keys, body, first body line).

    ``known`` is (front matter text, its parse) from an earlier version of the file: when the
    block, delimiters included, is that text again, its parse is returned as it is, unparsed. The
    commonest edit is to a body, and a YAML parser costs ~20 ms to import in a new process.

    Raises :class:`BuildError` for an unclosed or malformed block, or one that is not a mapping.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    first = text.split("\n", 1)[0].rstrip("\r")
    if first in ("---", "+++"):
        lines = text.split("\n")
        for i in range(1, len(lines)):
            if lines[i].rstrip("\r") == first:
                break
        else:
            raise BuildError(f"front matter opened with {first} on line 1 is never closed", file=file, line=1)
        body = "\n".join(lines[i + 1 :])
        body_line = i + 2
        if known is not None and known[0].removeprefix("\ufeff") == "\n".join(lines[: i + 1]):
            return known[1], body, body_line
        block = "\n".join(lines[1:i])
        fm = load_yaml(block, file=file, first_line=2) if first == "---" else load_toml(block, file=file, first_line=2)
    elif text.lstrip().startswith("{"):
        dec = json.JSONDecoder()
        stripped = text.lstrip()
        try:
            fm, end = dec.raw_decode(stripped)
        except json.JSONDecodeError as e:
            raise BuildError(f"invalid JSON front matter: {e.msg}", file=file, line=e.lineno) from None
        offset = len(text) - len(stripped) + end
        body_line = text.count("\n", 0, offset) + 1
        body = text[offset:]
        for nl in ("\r\n", "\n"):
            if body.startswith(nl):
                body, body_line = body[len(nl) :], body_line + 1
                break
    else:
        return {}, text, 1
    if fm is None:
        fm = {}
    if not isinstance(fm, dict):
        raise BuildError("front matter must be a mapping of field: value", file=file, line=2)
    return lower_keys(fm), body, body_line


def lower_keys(d: dict[str, Any]) -> dict[str, Any]:
    """Hugo's field names and params are case-insensitive: keep them lower-cased (one level deep for
    ``params``, as Hugo does)."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        lk = str(k).lower()
        if lk == "params" and isinstance(v, dict):
            v = {str(pk).lower(): pv for pk, pv in v.items()}
        out[lk] = v
    return out


_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y-%m-%dT%H:%M")


def parse_date(value: Any, tz: tzinfo = UTC) -> datetime | None:
    """A front-matter date as an aware datetime (naive values take the site's time zone).

    Raises ``ValueError`` for a value that is not a date; the caller names the file and line.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime.combine(value, time())
    elif isinstance(value, time):
        raise ValueError(f"not a date: {value!r}")
    elif isinstance(value, str):
        s = value.strip()
        try:
            dt = datetime.fromisoformat(s.replace("Z", "+00:00") if s.endswith("Z") else s)
        except ValueError:
            for fmt in _DATE_FORMATS:
                try:
                    dt = datetime.strptime(s, fmt)
                    break
                except ValueError:
                    continue
            else:
                raise ValueError(f"not a date: {value!r}") from None
    else:
        raise ValueError(f"not a date: {value!r}")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    return dt


def line_of(text: str, key: str, default: int = 1) -> int:
    """The 1-based line where ``key`` is set in a front matter or config text (best effort)."""
    rx = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*[:=]", re.IGNORECASE | re.MULTILINE)
    m = rx.search(text)
    return text.count("\n", 0, m.start()) + 1 if m else default
