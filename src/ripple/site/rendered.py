"""What a content file renders to, kept apart from the markdown pipeline so the model can use it
without importing markdown-it and Pygments."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

_TAGS = re.compile(r"<[^>]*>")
_WS = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Rendered:
    """What one content file renders to. Hashable fields so lists can depend on parts of it."""

    content: str
    summary: str
    truncated: bool
    toc: str
    word_count: int
    reading_time: int


def plain_text(html_text: str) -> str:
    """Content without tags and entities, whitespace collapsed (Hugo's ``.Plain``)."""
    return _WS.sub(" ", html.unescape(_TAGS.sub(" ", html_text))).strip()


def word_count(html_text: str) -> int:
    """How many words :func:`plain_text` of ``html_text`` has, without building it: collapsing the
    whitespace changes nothing for ``str.split`` (``\\s`` and ``str.isspace`` are the same set)."""
    return len(html.unescape(_TAGS.sub(" ", html_text)).split())
