"""The common shape of a post, rendered by markdown-it.rs (``markdown-it-pyrs``) instead of
markdown-it-py: its parser is ~15x faster, and the bytes are the same (decisions/0109).

Only documents made of what both engines render alike are taken: paragraphs, headings, lists,
block quotes, rules, tables, fenced and indented code, emphasis, strikethrough, code spans, links,
images, autolinks, escapes and entities. Anything else (raw HTML, footnotes, task lists, and the
edge cases listed below where the engines differ) returns ``None``, and markdown-it-py renders it. What
the Rust engine does not do the way the site needs, this module does on its output, the way the
markdown-it-py pipeline in :mod:`ripple.site.markdown` does it on tokens: heading ids (the anchors
plugin's slugs), Pygments for code blocks, the table of contents and Hugo's summaries. A property
test holds every result to markdown-it-py's.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import TypeVar

from markdown_it_pyrs import MarkdownIt, Node

from ripple.site.rendered import Rendered, word_count

T = TypeVar("T")

_MD = MarkdownIt("commonmark").enable_many(["table", "strikethrough", "autolink_ext"])

#: node kinds both engines render alike (the property test's grammar covers each)
_TAKEN = frozenset(
    {
        "root",
        "paragraph",
        "heading",
        "lheading",
        "code_block",
        "fence",
        "blockquote",
        "hr",
        "bullet_list",
        "ordered_list",
        "list_item",
        "table",
        "thead",
        "tbody",
        "trow",
        "tcell",
        "text",
        "text_special",
        "softbreak",
        "hardbreak",
        "em",
        "strong",
        "code_inline",
        "link",
        "image",
        "strikethrough",
        "autolink",
    }
)
# Footnotes: without the plugin a definition (`[^1]: x`) is read as a link reference definition and
# vanishes, so the tree cannot tell; refused wherever `[^` appears, code included (a false alarm
# only costs the slow path). Control characters: both engines replace NUL, but only one then reads
# it as text in a link; form feeds, DEL.
_CONTROL = tuple(map(chr, [*range(9), 11, 12, *range(14, 32), 127]))  # `in` beats a regex 4x
# Whitespace beyond ASCII's (what str.isspace takes): markdown-it-py trims it from a paragraph's
# ends (Python's str.strip), markdown-it.rs keeps it.
_WIDE_SPACE = re.compile("[\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
# markdown-it.rs links no bare URL that follows non-ASCII text in its paragraph.
_LINKABLE = re.compile(r"://|www\.|@", re.IGNORECASE)
# A line that is only a list marker: markdown-it-py lets it end a lazy paragraph inside a block
# quote's list as an empty item, markdown-it.rs continues the paragraph (CommonMark's reading).
# (Searched in "\n" + text: a leading literal makes the search ~8x faster than a MULTILINE `^`.)
_BARE_MARKER = re.compile(r"\n[ \t>]*(?:[-+*]|[0-9]{1,9}[.)])[ \t]*(?:\n|$)")
_TICKS = re.compile(r"`+")
# Link targets both engines normalize alike. Others are refused: a backslash, a space, and any
# percent-encoding (markdown-it.rs hands targets over encoded, so a decoded `&nbsp;`, which
# markdown-it-py trims, arrives as %C2%A0).
_URL = re.compile(r"[A-Za-z0-9._~:/?#@!$&'()*+,;=-]*")
_CODE = re.compile(r'<pre><code(?: class="[^"]*")?>.*?</code></pre>\n', re.DOTALL)
_HEADING = re.compile(r"<h([1-6])>")
_TOC_ITEM = re.compile(r'<h([1-6]) id="([^"]*)">(.*?)</h\1>', re.DOTALL)
_TAGS = re.compile(r"<[^>]*>")
_SLUG_DROP = re.compile(r"[^\w\u4e00-\u9fff\- ]")


class _Doc:
    """One parsed document: its tree walked once for what the post-processing needs."""

    __slots__ = ("blocks", "code_end", "codes", "ok", "slugs", "titles")

    def __init__(self, root: Node) -> None:
        self.codes: list[tuple[str, str]] = []  # (content, language) of each code block, in order
        self.titles: list[str] = []  # each heading's text as the anchors plugin reads it
        self.blocks = root.children
        self.code_end = 0  # where the last code block ends in the source, in bytes
        self.ok = self._walk(self.blocks)
        self.slugs = _slugs(self.titles) if self.ok else []

    def _walk(self, nodes: list[Node]) -> bool:
        for n in nodes:
            name = n.name
            if name not in _TAKEN:
                return False
            if name == "fence":
                meta = n.meta
                info = meta["info"]
                if "\\" in info or "&" in info:  # escapes: markdown-it-py hands the raw text over
                    return False
                info = info.strip()
                self.codes.append((meta["content"], info.split(maxsplit=1)[0] if info else ""))
                self.code_end = n.srcmap[1]
            elif name == "code_block":
                self.codes.append((n.meta["content"], ""))
                self.code_end = n.srcmap[1]
            elif name == "heading" or name == "lheading":
                self.titles.append("".join(_title(n)))
            elif name == "link" or name == "image" or name == "autolink":
                if not _URL.fullmatch(n.meta["url"]) or (name == "image" and _has_special(n)):
                    return False
            elif (name == "list_item" and _task(n)) or (name == "blockquote" and not n.children):
                return False  # a task list; an empty quote, where markdown-it.rs puts a newline
            kids = n.children  # a new list at every access
            if kids and not self._walk(kids):
                return False
        return True


def _refused(src: str) -> bool:
    """Whether the text holds something the tree cannot show (or markdown-it.rs gets wrong)."""
    if "[^" in src or any(c in src for c in _CONTROL) or _BARE_MARKER.search("\n" + src):
        return True
    if "`" in src and _unpaired_ticks(src):
        return True
    return not src.isascii() and bool(_WIDE_SPACE.search(src) or _LINKABLE.search(src))


def _unpaired_ticks(src: str) -> bool:
    """Whether a line has a run of backticks no other run on it can close. markdown-it.rs 0.6 panics
    on an unclosed code span after an unmatched `[` (its panic is caught below, but it prints to
    stderr); lines whose runs pair up cannot hold one, others take the slow path."""
    for line in src.split("\n"):
        if "`" not in line or line.lstrip(" \t>").startswith("```"):  # a fence's own line
            continue
        runs = _TICKS.findall(line)
        if len(runs) % 2 or any(runs.count(r) % 2 for r in set(runs)):
            return True
    return False


def _task(item: Node) -> bool:
    # A list item that starts with `[`: the reference pipeline's task-list plugin may take it.
    first = item.children[0] if item.children else None
    if first is not None and first.name == "paragraph":
        first = first.children[0] if first.children else None
    return first is not None and first.name == "text" and first.meta["content"].startswith("[")


def _has_special(node: Node) -> bool:
    # markdown-it.rs leaves escapes and entities out of an image's alt text.
    return any(c.name == "text_special" or _has_special(c) for c in node.children)


def _title(node: Node) -> list[str]:
    # The anchors plugin joins the content of a heading's text and code spans, whatever emphasis or
    # link they sit in, and skips images (their alt text is not a token of the heading's line).
    out: list[str] = []
    for n in node.children:
        name = n.name
        if name == "text" or name == "text_special":
            out.append(n.meta["content"])
        elif name == "code_inline":
            out.extend(c.meta["content"] for c in n.children)
        elif name != "image":
            out.extend(_title(n))
    return out


def _finish(raw: str, doc: _Doc, highlight: Callable[[str, str], str]) -> str:
    """``raw`` with ids on its headings and its code blocks highlighted, in document order."""
    ids = iter(doc.slugs)
    out = _HEADING.sub(lambda m: f'<h{m[1]} id="{next(ids)}">', raw)
    codes = iter(doc.codes)
    return _CODE.sub(lambda _m: highlight(*next(codes)), out)


def _slugs(titles: list[str]) -> list[str]:
    # mdit_py_plugins.anchors' slugify and unique_slug, written again: importing that module
    # imports markdown-it-py, which this path exists to leave out. The property test holds both.
    seen: set[str] = set()
    out = []
    for title in titles:
        slug = base = _SLUG_DROP.sub("", title.lower().replace(" ", "-"))
        i = 1
        while slug in seen:
            slug = f"{base}-{i}"
            i += 1
        seen.add(slug)
        out.append(html.escape(slug))
    return out


def _html(src: str, highlight: Callable[[str, str], str]) -> tuple[str, _Doc] | None:
    if _refused(src):
        return None
    doc = _rust(lambda: _Doc(_MD.tree(src)))
    if doc is None or not doc.ok:
        return None
    if doc.code_end and not src.endswith("\n") and doc.code_end >= len(src.encode()):
        # Code running to the end of a document with no last newline: markdown-it.rs ends it
        # with one, markdown-it-py as the document does.
        return None
    raw = _rust(lambda: _MD.render(src))
    return None if raw is None else (_finish(raw, doc, highlight), doc)


def _rust(call: Callable[[], T]) -> T | None:
    """``call()``, or None where markdown-it.rs 0.6 panics (a few malformed inputs; pyo3 raises its
    PanicException, a BaseException): markdown-it-py renders those."""
    try:
        return call()
    except BaseException as e:
        if type(e).__name__ != "PanicException":
            raise
        return None


def render(
    body: str,
    fm_summary: str | None,
    *,
    highlight: Callable[[str, str], str],
    toc: Callable[[list[tuple[int, str, str]]], str],
    toc_levels: tuple[int, int],
    summary_length: int,
    more: str,
) -> Rendered | None:
    """What :meth:`ripple.site.markdown.Renderer.render` returns for ``body``, or ``None`` when the
    body (or its summary) holds something this path does not take."""
    if "\r" in body:
        # markdown-it-py's first step, done here so the tree's byte offsets index the very text
        # the summary slices, however markdown-it.rs counts a CR.
        body = body.replace("\r\n", "\n").replace("\r", "\n")
    if fm_summary and "\r" in fm_summary:
        fm_summary = fm_summary.replace("\r\n", "\n").replace("\r", "\n")
    if more in body:
        head: str | None
        head, _, tail = body.partition(more)
        full_src = body.replace(more, "", 1)
    else:
        head = tail = None
        full_src = body
    got = _html(full_src, highlight)
    if got is None:
        return None
    content, doc = got
    if head is not None or fm_summary:
        part = _html(head if head is not None else fm_summary or "", highlight)
        if part is None:
            return None
        summary = part[0].strip()
        truncated = bool(tail.strip()) if tail is not None else True
    else:
        auto = _auto_summary(full_src, content, doc, highlight, summary_length)
        if auto is None:
            return None
        summary, truncated = auto
    lo, hi = toc_levels
    items = [(int(lv), hid, text) for lv, hid, text in _TOC_ITEM.findall(content) if lo <= int(lv) <= hi]
    words = word_count(content)
    return Rendered(
        content=content,
        summary=summary,
        truncated=truncated,
        toc=toc(items),
        word_count=words,
        reading_time=(words + 212) // 213,
    )


def _auto_summary(
    src: str, content: str, doc: _Doc, highlight: Callable[[str, str], str], length: int
) -> tuple[str, bool] | None:
    # Hugo's: whole top-level blocks until `length` words. The first k blocks are the source up to
    # the end of block k (source maps count bytes), rendered with the whole document's heading ids
    # and code blocks; what they render to must begin the whole document's HTML, or the path is
    # left (a block that reads differently on its own would otherwise slip through).
    blocks = doc.blocks
    if not blocks:
        return "", False
    data = src.encode()
    for k, block in enumerate(blocks, 1):
        # A growing prefix, not the block alone: every block keeps its context (list tightness, a
        # lazy line) as it is in the whole document.
        try:
            text = data[: block.srcmap[1]].decode()
        except UnicodeDecodeError:  # an offset inside a character: not a block's end after all
            return None
        raw = _rust(lambda text=text: _MD.render(text))
        if raw is None:
            return None
        prefix = _finish(raw, doc, highlight)
        if not content.startswith(prefix):
            return None
        if len(_TAGS.sub(" ", prefix).split()) >= length:
            return prefix.strip(), k < len(blocks)
    return content.strip(), False
