"""Markdown rendered by markdown-it.rs (markdown_fast) must be what markdown-it-py renders.

A user cannot tell which engine rendered a post: every document the fast path takes must give
the very ``Rendered`` (content, summary, truncated, TOC, word count) that the markdown-it-py
pipeline gives, with the same summary length, TOC levels and highlighting; every document it is
unsure of must go to markdown-it-py."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ripple.site import markdown_fast
from ripple.site.markdown import MORE, Renderer

_RENDERERS = [
    Renderer(),
    Renderer(summary_length=5, toc_start=1, toc_end=6, toc_ordered=True),
    Renderer(style="friendly", no_classes=False, summary_length=1, toc_start=3, toc_end=4),
]


def _agrees(body: str, fm_summary: str | None = None) -> bool:
    """Whether the fast path took ``body`` for every renderer; fails where it differs."""
    took = False
    for r in _RENDERERS:
        fast = r.render_fast(body, fm_summary)
        if fast is not None:
            took = True
            assert fast == r.render_reference(body, fm_summary), (body, fm_summary)
    return took


# What posts are made of, near misses and the constructs the fast path must refuse included.
_WORDS = ["lorem", "ipsum", "Ünïcode", "日本語", "a_b", "x*y", "1.", "2)", "-", "+", "#", "&", "&amp;", "&copy;"]
_WORDS += ["&#35;", "\\*", "\\", "<b>", "</i>", "<!-- c -->", "`", "``", "~~", "~", "**", "__", "_", "*", "|", "[", "]"]
_WORDS += ["(", ")", "!", ">", "[^1]", "[x]", "[ ]", "http://example.com/a_b", "https://x.y/(p)", "www.ripple.dev"]
_WORDS += ["me@example.org", "<http://a.b/c>", "<me@x.y>", "\t", "  ", "'", '"', "ǅ", "\u00a0", "x\\_y", "%20"]
_WORDS += ["\r\n", "\r", "&nbsp;", "&#0;", "\x00", "&#X1F600;", "&bogus;", "1986\\.", "\f", "\v", "\u2028"]

_INLINE = st.one_of(
    st.sampled_from(_WORDS),
    st.sampled_from(_WORDS).map(lambda w: f"*{w}*"),
    st.sampled_from(_WORDS).map(lambda w: f"**{w}**"),
    st.sampled_from(_WORDS).map(lambda w: f"~~{w}~~"),
    st.sampled_from(_WORDS).map(lambda w: f"`{w}`"),
    st.sampled_from(_WORDS).map(lambda w: f"[{w}](/p/{w})"),
    st.sampled_from(_WORDS).map(lambda w: f'[{w}](http://x.y/{w} "t{w}")'),
    st.sampled_from(_WORDS).map(lambda w: f"![{w}](/i/{w}.png)"),
    st.sampled_from(_WORDS).map(lambda w: f"[{w}][ref]"),
    st.text(alphabet="ab *_`~[]()<>&\\#!-|:.", max_size=8),
)
_LINE = st.lists(_INLINE, min_size=1, max_size=8).map(" ".join)
_CODE = st.text(alphabet="ab =(){}<>&\"'\\\n\t", max_size=30)
_LANG = st.sampled_from(["", "python", "go", "nosuchlang", "py extra", "c\\+\\+", "&amp;", "js{1}"])

_BLOCK = st.one_of(
    _LINE,
    st.lists(_LINE, min_size=2, max_size=4).map("\n".join),  # soft breaks, lazy lines
    st.lists(_LINE, min_size=2, max_size=3).map(lambda xs: "  \n".join(xs) + "\\\nend"),  # hard breaks
    st.lists(_LINE, min_size=2, max_size=3).map(lambda xs: f"- {xs[0]}\n  - {xs[1]}\n    > {xs[-1]}"),
    st.tuples(_LINE, _LINE).map(lambda t: f"> - {t[0]}\n>\n>   {t[1]}\nlazy"),
    st.tuples(st.integers(1, 6), _LINE).map(lambda t: "#" * t[0] + " " + t[1]),
    _LINE.map(lambda s: s + "\n===="),
    _LINE.map(lambda s: s + "\n----"),
    st.tuples(_LANG, _CODE).map(lambda t: f"```{t[0]}\n{t[1]}\n```"),
    st.tuples(_LANG, _CODE).map(lambda t: f"~~~{t[0]}\n{t[1]}\n~~~"),
    _CODE.map(lambda c: "\n".join("    " + x for x in c.split("\n"))),
    st.lists(_LINE, min_size=1, max_size=3).map(lambda xs: "\n".join(f"- {x}" for x in xs)),
    st.lists(_LINE, min_size=1, max_size=3).map(lambda xs: "\n\n".join(f"{i}. {x}" for i, x in enumerate(xs, 1))),
    st.tuples(_LINE, _LANG, _CODE).map(lambda t: f"- {t[0]}\n\n  ```{t[1]}\n  {t[2]}\n  ```"),
    st.lists(_LINE, min_size=1, max_size=3).map(lambda xs: "\n".join(f"> {x}" for x in xs)),
    st.sampled_from(["---", "***", "___", "- - -"]),
    st.lists(_LINE, min_size=2, max_size=3).map(lambda xs: "| a | b |\n|:--|--:|\n" + "\n".join(f"|{x}|" for x in xs)),
    st.sampled_from(["[ref]: /target", "[ref]: http://x.y 'T'", "[^1]: a note", "<div>\nraw\n</div>", MORE]),
    st.sampled_from(["- [ ] todo", "- [x] done", "* [X] Done", "1. [ ] first"]),
)
_DOC = st.lists(_BLOCK, max_size=7).map("\n\n".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_DOC)
def test_fast_path_renders_what_markdown_it_py_renders(body: str) -> None:
    _agrees(body)


@settings(max_examples=100, deadline=None)
@given(_DOC, st.one_of(st.none(), _LINE))
def test_front_matter_summary_renders_alike(body: str, fm_summary: str | None) -> None:
    _agrees(body, fm_summary)


def test_both_paths_are_taken_on_posts_like_the_benchmarks() -> None:
    """The fast path must take the common post (else it is dead weight) and refuse what it cannot
    render alike; a seeded run checks both happen and agree."""
    rnd = random.Random(7)
    words = [w for w in _WORDS if w.isalpha()]
    took = refused = 0
    for i in range(300):
        paras = [" ".join(rnd.choice(words) for _ in range(rnd.randint(5, 60))) for _ in range(rnd.randint(1, 5))]
        if i % 3 == 0:
            paras.insert(rnd.randint(0, len(paras)), "```python\ndef f(e):\n    return e['Records']\n```")
        if i % 5 == 0:
            paras.insert(rnd.randint(0, len(paras)), f"## {rnd.choice(words)} `code` *x*")
        if i % 7 == 0:
            paras.append(rnd.choice(["Note[^1].\n\n[^1]: here", "<div>raw</div>", "- [ ] task"]))
        if _agrees("\n\n".join(paras)):
            took += 1
        else:
            refused += 1
    assert took > 200 and refused > 20, (took, refused)


@pytest.mark.parametrize(
    "body",
    [
        "",
        "\n\n",
        "# A\n\n# A\n\n## A-1\n\n# a",  # duplicate slugs, and a generated slug taken by an earlier one
        "# *Em* `code` [link](/x) ![alt *t*](/i.png) &amp; \\#\n\ntext",
        "Setext *one*\nline two\n===\n\nbody",
        "one <!--more--> two",
        "para\n<!--more-->\n\n## After\n\nmore",
        "only head<!--more-->",
        "```python\nx = 1\n```\n\n    indented\n\n~~~\nplain\n~~~",
        "- a\n\n  ```go\n  func f() {}\n  ```\n- b",
        "> # quoted heading\n> text",
        "| a | b |\n| :- | -: |\n| `x` | **y** |",
        "see www.example.com, http://a.b/c?d=1 and me@x.org.",
        "a [link][r] later\n\n[r]: /target",  # a reference defined after the summary
        " ".join(["word"] * 200) + "\n\n" + " ".join(["more"] * 10),
        "Note[^1].\n\n[^1]: A footnote.",
        "<b>raw</b> html",
        "- [x] done\n- [ ] todo",
        "[x](<a b>) [y](a\\_b) [z](/ü)",
        # where markdown-it.rs 0.6 differs (decisions/0109): each must go to markdown-it-py
        "[`a](b)",  # panics in markdown-it.rs
        "x [ `y\n\n`z` [`w` ``v",
        "![&#35; \\*](/i/x.png)",  # alt text without its entity and escape
        "é http://e.com/a",  # no link after non-ASCII text
        "\u00a0para\u00a0",  # non-ASCII whitespace at a paragraph's ends
        "[&nbsp;](/p/&nbsp;)",
        "[\x00](/p/\x00)",
        "- a\n\n  >",  # an empty block quote
        "```\ncode",  # unclosed at the end, no final newline
        "    code",
        "> - lorem\n>\n>   lorem *\n*\nlazy",
        "a\r\nb\r\n\r\n# h\r\n\r\ntext\rmore",
    ],
)
def test_fixed_cases_agree(body: str) -> None:
    _agrees(body)
    _agrees(body, "From *fm*")


def test_a_panic_in_markdown_it_rs_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the backtick screen, the input that makes markdown-it.rs 0.6 panic still renders
    (by markdown-it-py): the panic, a BaseException, is caught and nothing else is."""
    monkeypatch.setattr(markdown_fast, "_unpaired_ticks", lambda _src: False)
    r = _RENDERERS[0]
    assert r.render_fast("[`a](b)") is None
    assert r.render("[`a](b)") == r.render_reference("[`a](b)")
    assert r.render_fast("[`a`](b)") is not None
