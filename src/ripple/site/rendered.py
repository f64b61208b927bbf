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

    def __reduce__(self) -> tuple[object, ...]:
        # A frozen slots dataclass unpickles through a Python __setstate__ that sets each field with
        # object.__setattr__ (~60 us a page under a profiler; a bulk build loads ~10k of them from
        # the state). The constructor with positional values is a fraction of it. Rows pickled the
        # old way still load (the dataclass keeps its __setstate__).
        return (
            Rendered,
            (self.content, self.summary, self.truncated, self.toc, self.word_count, self.reading_time),
        )


def plain_text(html_text: str) -> str:
    """Content without tags and entities, whitespace collapsed (Hugo's ``.Plain``)."""
    return _WS.sub(" ", html.unescape(_TAGS.sub(" ", html_text))).strip()


def word_count(html_text: str) -> int:
    """How many words :func:`plain_text` of ``html_text`` has, without building it: collapsing the
    whitespace changes nothing for ``str.split`` (``\\s`` and ``str.isspace`` are the same set)."""
    return len(html.unescape(_TAGS.sub(" ", html_text)).split())
