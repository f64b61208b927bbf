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
        "tag:yaml.org,2002:bool", re.compile("^(?:" + "|".join(_BOOL) + ")$"), sorted({w[0] for w in _BOOL})
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
    simple = _simple_yaml(text)
    if simple is not None:
        return simple
    import yaml

    try:
        return yaml.load(text, Loader=_loader())
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = first_line + (mark.line if mark else 0)
        raise BuildError(f"invalid YAML: {e.problem or e}", file=file, line=line) from None
    except yaml.YAMLError as e:
        raise BuildError(f"invalid YAML: {e}", file=file, line=first_line) from None


# -- the common case without PyYAML -------------------------------------------------------------------
#
# Front matter is nearly always one ``key: value`` per line: a title, a date, a list of tags. PyYAML's
# constructor (Python code over libyaml's events) spends ~130 us on such a block, most of a full
# build's parsing of 10k files, and importing it ~15 ms of a new process that re-parses one edited
# file. _simple_yaml reads exactly that subset and returns None for anything else (indentation,
# block lists, anchors, tags, floats, escapes, comments after values, ...), which then goes to
# PyYAML: a wrong guess costs time, never a different value. tests/site/test_frontmatter.py checks
# it against PyYAML (with this module's resolvers) on generated blocks.

_KEY_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):(?:[ ]+(.*?))?[ ]*")
_DQ = re.compile(r'"([^"\\]*)"')
_SQ = re.compile(r"'([^']*)'")
# A flow list's entry: a quoted scalar or a plain one without flow indicators, quotes or "#".
_ITEM = r"""(?:"[^"\\]*"|'[^']*'|[^,\[\]{}"'#]*?)"""
_FLOW = re.compile(rf"\[(?:[ ]*{_ITEM}[ ]*(?:,[ ]*{_ITEM}[ ]*)*)?\]")
_FLOW_SPLIT = re.compile(rf"[ ]*({_ITEM})[ ]*(?:,|\]$)")
# The resolvers of _loader() for plain scalars (PyYAML's, less yes/no/on/off and timestamps;
# _loader's own bool resolver is made from _BOOL).
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NULL = frozenset(("~", "null", "Null", "NULL", ""))
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_NUMBERISH = re.compile(
    r"""[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
    |[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)""",
    re.X,
)
# Characters a plain scalar may not start with (YAML's indicators), and what PyYAML's reader refuses.
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`=<")
_UNSAFE = re.compile("[^\x0a\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
_MISS = object()


def _plain(s: str, flow: bool) -> Any:
    """A plain scalar's value, or _MISS when it is not one _simple_yaml is sure about."""
    if s in _NULL:
        return None
    if s[0] in _INDICATORS or ": " in s or " #" in s or s.endswith(":") or (flow and ":" in s):
        return _MISS
    b = _BOOL.get(s)
    if b is not None:
        return b
    if _NUMBERISH.fullmatch(s):
        return int(s) if _INT.fullmatch(s) else _MISS
    return s


def _value(v: str | None) -> Any:
    if not v:
        return None
    c = v[0]
    if c == '"':
        m = _DQ.fullmatch(v)
        return m.group(1) if m else _MISS
    if c == "'":
        m = _SQ.fullmatch(v)
        return m.group(1) if m else _MISS
    if c == "[":
        if not _FLOW.fullmatch(v):
            return _MISS
        if v[1:].strip() == "]":
            return []
        out = []
        for item in _FLOW_SPLIT.findall(v[1:]):
            if not item:
                return _MISS  # an empty entry ("[a,,b]", "[a, ]"): leave it to PyYAML
            x = item[1:-1] if item[0] in "\"'" else _plain(item, True)
            if x is _MISS:
                return _MISS
            out.append(x)
        return out
    return _plain(v, False)


def _simple_yaml(text: str) -> dict[str, Any] | None:
    """``text`` as a mapping if it is only ``key: value`` lines (at least one) of plain or simply
    quoted scalars and flow lists of them (blank and comment lines aside), else None. Never a value
    PyYAML would not give."""
    if _UNSAFE.search(text):
        return None  # tabs, CR, control characters, BOMs, line separators: PyYAML's call
    out: dict[str, Any] = {}
    for line in text.split("\n"):
        if not line or line[0] == "#" or line.isspace():
            continue
        m = _KEY_LINE.fullmatch(line)
        if m is None:
            return None
        key = m.group(1)
        if key in _BOOL or key in _NULL:
            return None
        v = _value(m.group(2))
        if v is _MISS:
            return None
        out[key] = v
    # No key at all (empty, or only comments): PyYAML's None, not {} (a data file keeps its null).
    return out or None


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
