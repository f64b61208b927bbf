"""Markdown to HTML: CommonMark + GFM (tables, strikethrough, autolinks, task lists), footnotes,
GitHub-style heading ids, a table of contents, Pygments highlighting, and Hugo's three summaries.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pygments import highlight as _pyg_highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from ripple.site.rendered import Rendered, word_count

try:
    from ripple.site import markdown_fast
except ImportError:  # no markdown-it-pyrs wheel for this platform: markdown-it-py renders all
    markdown_fast = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

MORE = "<!--more-->"
_TAGS = re.compile(r"<[^>]*>")


class Renderer:
    """A configured markdown pipeline; one per build (its highlight cache is shared by all pages)."""

    def __init__(
        self,
        *,
        style: str = "monokai",
        no_classes: bool = True,
        toc_start: int = 2,
        toc_end: int = 3,
        toc_ordered: bool = False,
        summary_length: int = 70,
    ) -> None:
        self.style = style
        self.no_classes = no_classes
        self.toc_levels = (toc_start, toc_end)
        self.toc_ordered = toc_ordered
        self.summary_length = summary_length
        self._md: MarkdownIt | None = None

    @property
    def md(self) -> MarkdownIt:
        """The markdown-it-py pipeline: the reference, and the path for what markdown_fast refuses.
        Made on first use, so a build whose posts all take the fast path never imports it."""
        if self._md is None:
            self._md = _reference(self)
        return self._md

    # -- highlighting -----------------------------------------------------------------------------------

    def highlight(self, code: str, lang: str, **_: Any) -> str:
        """HTML for a code block, in Hugo's wrapper; unknown languages are escaped, not highlighted."""
        return _highlight(code, lang, self.style, self.no_classes)

    # -- rendering ---------------------------------------------------------------------------------------

    def render(self, body: str, fm_summary: str | None = None) -> Rendered:
        """Render a body (shortcodes already expanded) and derive summary, TOC and word counts."""
        fast = self.render_fast(body, fm_summary)
        return fast if fast is not None else self.render_reference(body, fm_summary)

    def render_fast(self, body: str, fm_summary: str | None = None) -> Rendered | None:
        """:meth:`render` by markdown-it.rs, or ``None`` where it is not taken (see markdown_fast)."""
        if markdown_fast is None:
            return None
        return markdown_fast.render(
            body,
            fm_summary,
            highlight=self.highlight,
            toc=self.toc_html,
            toc_levels=self.toc_levels,
            summary_length=self.summary_length,
            more=MORE,
        )

    def render_reference(self, body: str, fm_summary: str | None = None) -> Rendered:
        """:meth:`render` by markdown-it-py alone (what the fast path is held to)."""
        env: dict[str, Any] = {}
        if MORE in body:
            head, _, _tail = body.partition(MORE)
            full_src = body.replace(MORE, "", 1)
        else:
            head = None
            full_src = body
        tokens = self.md.parse(full_src, env)
        content = self.md.renderer.render(tokens, self.md.options, env)
        words = word_count(content)
        if head is not None:
            summary = self.md.render(head).strip()
            truncated = bool(_tail.strip())
        elif fm_summary:
            summary = self.md.render(fm_summary).strip()
            truncated = True
        else:
            summary, truncated = self._auto_summary(tokens, env)
        return Rendered(
            content=content,
            summary=summary,
            truncated=truncated,
            toc=self.toc_html(self._toc_items(tokens)),
            word_count=words,
            reading_time=(words + 212) // 213,
        )

    def _auto_summary(self, tokens: list[Token], env: dict[str, Any]) -> tuple[str, bool]:
        # Whole top-level blocks until summaryLength words are reached, as Hugo does since 0.134.
        parts: list[str] = []
        words = 0
        i = 0
        n = len(tokens)
        while i < n:
            j = i
            depth = 0
            while True:
                depth += tokens[j].nesting
                j += 1
                if depth <= 0:
                    break
            if tokens[i].type.startswith("footnote"):
                break
            block = self.md.renderer.render(tokens[i:j], self.md.options, env)
            parts.append(block)
            words += len(_TAGS.sub(" ", block).split())
            i = j
            if words >= self.summary_length:
                break
        rest = [t for t in tokens[i:] if not t.type.startswith("footnote")]
        return "".join(parts).strip(), bool(rest)

    def _toc_items(self, tokens: list[Token]) -> list[tuple[int, str, str]]:
        lo, hi = self.toc_levels
        items: list[tuple[int, str, str]] = []
        for k, t in enumerate(tokens):
            if t.type == "heading_open":
                level = int(t.tag[1])
                if lo <= level <= hi:
                    inline = tokens[k + 1]
                    text = self.md.renderer.renderInline(inline.children or [], self.md.options, {})
                    items.append((level, str(t.attrGet("id") or ""), text))
        return items

    def toc_html(self, items: list[tuple[int, str, str]]) -> str:
        """Hugo's table of contents from (level, heading id, heading HTML) in document order."""
        lo = self.toc_levels[0]
        if not items:
            return '<nav id="TableOfContents"></nav>'
        tag = "ol" if self.toc_ordered else "ul"
        out = ['<nav id="TableOfContents">\n']
        depth = 0  # lists currently open
        for lv, hid, text in items:
            want = lv - lo + 1
            if want > depth:
                while depth < want:
                    out.append(f"<{tag}>\n<li>")
                    depth += 1
            else:
                while depth > want:
                    out.append(f"</li>\n</{tag}>\n")
                    depth -= 1
                out.append("</li>\n<li>")
            out.append(f'<a href="#{hid}">{text}</a>')
        while depth > 0:
            out.append(f"</li>\n</{tag}>\n")
            depth -= 1
        out.append("</nav>")
        return "".join(out)


def _reference(outer: Renderer) -> MarkdownIt:
    from markdown_it import MarkdownIt
    from mdit_py_plugins.anchors import anchors_plugin
    from mdit_py_plugins.footnote import footnote_plugin
    from mdit_py_plugins.gfm_autolink import gfm_autolink_plugin
    from mdit_py_plugins.tasklists import tasklists_plugin

    md = MarkdownIt("commonmark", {"html": True, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.use(footnote_plugin).use(tasklists_plugin).use(gfm_autolink_plugin)
    md.use(anchors_plugin, min_level=1, max_level=6, permalink=False)

    def fence(_renderer: Any, tokens: list[Token], idx: int, _options: Any, _env: Any) -> str:
        token = tokens[idx]
        info = token.info.strip()
        return outer.highlight(token.content, info.split(maxsplit=1)[0] if info else "")

    md.add_render_rule("fence", fence)
    md.add_render_rule("code_block", fence)
    return md


@lru_cache(maxsize=4096)
def _highlight(code: str, lang: str, style: str, no_classes: bool) -> str:
    esc_lang = html.escape(lang, quote=True)
    attrs = f' class="language-{esc_lang}" data-lang="{esc_lang}"' if lang else ""
    try:
        lexer = get_lexer_by_name(lang) if lang else None
    except ClassNotFound:
        lexer = None
    if lexer is None:
        return f'<pre tabindex="0"><code{attrs}>{html.escape(code, quote=False)}</code></pre>\n'
    fmt = _formatter(style, no_classes)
    body = _pyg_highlight(code, lexer, fmt)
    if no_classes:
        pre_style = f' style="{fmt.style.background_color and "background-color:" + fmt.style.background_color};"'
        pre_style = pre_style if fmt.style.background_color else ""
        return (
            f'<div class="highlight"><pre tabindex="0" class="chroma"{pre_style}><code{attrs}>'
            f"{body}</code></pre></div>\n"
        )
    return f'<div class="highlight"><pre tabindex="0" class="chroma"><code{attrs}>{body}</code></pre></div>\n'


@lru_cache(maxsize=16)
def _formatter(style: str, no_classes: bool) -> HtmlFormatter:
    return HtmlFormatter(style=style, noclasses=no_classes, nowrap=True)
