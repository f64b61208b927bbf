"""Hugo shortcodes in markdown: ``{{< name args >}}`` (output inserted as HTML) and
``{{% name args %}}`` (output goes through markdown), paired or not, positional or named args,
nested, and ``{{</* escaped */>}}``. Templates are ``layouts/shortcodes/<name>.html`` with built-in
``figure``, ``highlight``, ``youtube``, ``ref``, ``relref`` and ``param``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ripple.site.errors import BuildError

_OPEN = re.compile(r"\{\{([<%])\s*(/\*)?\s*(/)?\s*([\w./-]+)(.*?)\s*(\*/)?\s*(/)?\s*([>%])\}\}", re.DOTALL)
_ARG = re.compile(r'(?:(\w+)\s*=\s*)?("(?:[^"\\]|\\.)*"|`[^`]*`|[^\s"`]+)')
PLACEHOLDER = "HAHAHUGOSHORTCODE{}HBHB"


@dataclass
class Shortcode:
    """What a shortcode template sees as ``shortcode``."""

    name: str
    positional: list[str] = field(default_factory=list)
    named: dict[str, str] = field(default_factory=dict)
    inner: str = ""
    ordinal: int = 0

    def get(self, key: int | str, default: Any = None) -> Any:
        if isinstance(key, int):
            return self.positional[key] if key < len(self.positional) else default
        return self.named.get(key, default)

    @property
    def params(self) -> Any:
        return self.named if self.named else self.positional

    @property
    def is_named_params(self) -> bool:
        return bool(self.named)


@dataclass
class _Tag:
    start: int
    end: int
    delim: str
    name: str
    closing: bool
    self_closing: bool
    args: str
    escaped: bool


def _tags(body: str) -> list[_Tag]:
    out = []
    for m in _OPEN.finditer(body):
        delim, esc_open, closing, name, args, esc_close, selfc, end_delim = m.groups()
        if (delim == "<") != (end_delim == ">"):
            continue
        out.append(
            _Tag(m.start(), m.end(), delim, name, bool(closing), bool(selfc), args or "", bool(esc_open and esc_close))
        )
    return out


def _parse_args(s: str) -> tuple[list[str], dict[str, str]]:
    pos: list[str] = []
    named: dict[str, str] = {}
    for m in _ARG.finditer(s):
        k, v = m.group(1), m.group(2)
        if v.startswith('"'):
            v = v[1:-1].replace('\\"', '"')
        elif v.startswith("`"):
            v = v[1:-1]
        if k:
            named[k] = v
        else:
            pos.append(v)
    return pos, named


def expand(body: str, render: Any, *, file: str, first_line: int) -> tuple[str, dict[str, str]]:
    """Replace shortcodes in ``body``; ``render(shortcode) -> str`` renders one.

    Returns the markdown source (``{{< >}}`` output replaced by placeholders) and the placeholders'
    HTML. Raises :class:`BuildError` for an unknown shortcode or an unclosed one, with its line.
    """
    tags = _tags(body)
    if not tags:
        return body, {}
    holders: dict[str, str] = {}
    counter = [0]

    def line_at(pos: int) -> int:
        return first_line + body.count("\n", 0, pos)

    def process(lo: int, hi: int, idx: int, stop: str | None) -> tuple[str, int, int]:
        """Expand tags from index ``idx`` within body[lo:hi]; stop at closing tag ``stop``."""
        parts: list[str] = []
        pos = lo
        i = idx
        while i < len(tags) and tags[i].start < hi:
            t = tags[i]
            if t.escaped:
                parts.append(body[pos : t.start])
                raw = body[t.start : t.end]
                parts.append(re.sub(r"\{\{([<%])\s*/\*\s*", r"{{\1 ", raw).replace("*/", "").replace("  ", " "))
                pos = t.end
                i += 1
                continue
            if t.closing:
                if t.name == stop:
                    parts.append(body[pos : t.start])
                    return "".join(parts), i, t.start
                raise BuildError(
                    f"closing shortcode {t.name!r} without an opening one", file=file, line=line_at(t.start)
                )
            parts.append(body[pos : t.start])
            pos_args, named = _parse_args(t.args)
            inner = ""
            j = i + 1
            end = t.end
            if not t.self_closing and any(x.closing and x.name == t.name for x in tags[i + 1 :]):
                inner, j, _ = process(t.end, hi, i + 1, t.name)
                end = tags[j].end
                j += 1
            sc = Shortcode(t.name, pos_args, named, inner, counter[0])
            counter[0] += 1
            out = render(sc, line_at(t.start))
            if t.delim == "%":
                parts.append(str(out))
            else:
                ph = PLACEHOLDER.format(len(holders))
                holders[ph] = str(out)
                parts.append(ph)
            pos = end
            i = j
        if stop is not None:
            raise BuildError(f"shortcode {stop!r} is never closed", file=file, line=first_line)
        parts.append(body[pos:hi])
        return "".join(parts), i, hi

    text, _, _ = process(0, len(body), 0, None)
    return text, holders


def restore(html: str, holders: dict[str, str]) -> str:
    """Put ``{{< >}}`` output back, dropping the paragraph markdown wrapped around a lone one."""
    for ph, out in holders.items():
        html = html.replace(f"<p>{ph}</p>", out).replace(ph, out)
    return html
