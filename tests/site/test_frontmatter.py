"""YAML front matter read without PyYAML (frontmatter._simple_yaml) must mean what PyYAML says.

The fast path is only worth having if a user can never tell it is there: every block it accepts
must parse to the very values (types included: ``True`` is not ``1``) that PyYAML with ripple's
resolvers gives, and every block it is unsure of must go to PyYAML, errors and all."""

from __future__ import annotations

import random
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ripple.site.errors import BuildError
from ripple.site.frontmatter import _loader, _simple_yaml, load_yaml


def _typed(v: Any) -> Any:
    """A value with its types spelled out, so True != 1 and 1 != 1.0 in comparisons."""
    if isinstance(v, dict):
        return ("dict", sorted((_typed(k), _typed(x)) for k, x in v.items()))
    if isinstance(v, list):
        return ("list", [_typed(x) for x in v])
    return (type(v).__name__, v)


def _pyyaml(text: str) -> Any:
    return yaml.load(text, Loader=_loader())


def _agrees(text: str) -> bool:
    """Whether _simple_yaml took ``text`` (else None: PyYAML's call); fails if it differs."""
    fast = _simple_yaml(text)
    if fast is None:
        return False
    assert _typed(fast) == _typed(_pyyaml(text)), text
    return True


# Pieces a careless or unusual front matter is made of, near misses of the simple form included.
_KEYS = ["title", "date", "tags", "draft", "Title", "_x", "a1", "yes", "on", "no", "y", "null", "true", "True", "inf"]
_WORDS = [
    "Post",
    "number 1",
    "It's",
    'say "hi"',
    "a#b",
    "a #b",
    "a:b",
    "a: b",
    "12:30",
    "1:2:3",
    "2018-12-03",
    "2018-12-03T00:00:00Z",
    "2018-12-03 10:00:00 +02:00",
    "0",
    "00",
    "017",
    "42",
    "-7",
    "+3",
    "1_000",
    "0x1F",
    "0b101",
    "1.5",
    ".5",
    ".inf",
    "-.inf",
    ".nan",
    "1e5",
    "~",
    "null",
    "Null",
    "NULL",
    "true",
    "False",
    "yes",
    "off",
    "...",
    "=",
    "<<",
    "-",
    "- x",
    "?",
    "? x",
    "!tag x",
    "&a x",
    "*a",
    "%x",
    "@x",
    "`x",
    "|",
    ">",
    "Café au lait",
    "日本語",
    "a, b",
    "(part 2)!",
    "a\tb",
    "x\r",
    "\u2028",
    "\ufeff",
    "\x85",
    "a  b",
    "",
    " ",
]


def _quoted(s: str) -> st.SearchStrategy[str]:
    return st.sampled_from([f'"{s}"', f"'{s}'"])


_scalar = st.one_of(
    st.sampled_from(_WORDS),
    st.sampled_from(_WORDS).flatmap(_quoted),
    st.text(alphabet="ab :#,'\"-[]{}.0129\\!&*", max_size=8),
)
_item = st.one_of(st.sampled_from(_WORDS), st.sampled_from(_WORDS).flatmap(_quoted))
_flow = st.tuples(
    st.lists(_item, max_size=4), st.sampled_from(["[{}]", "[ {} ]", "[{},]"]), st.sampled_from([", ", ","])
).map(lambda t: t[1].format(t[2].join(t[0])))
_value = st.one_of(_scalar, _flow, st.just(""))
_key_line = st.tuples(
    st.sampled_from(_KEYS), st.sampled_from([": ", ":  ", ":", ":\t"]), _value, st.sampled_from(["", " ", " # c"])
).map("".join)
_other_line = st.sampled_from(
    ["", "# a comment", "  # indented comment", "  continued", "- item", "key", "  nested: 1"]
)
_line = st.one_of(_key_line, _other_line)


@settings(max_examples=1500, deadline=None)
@given(st.lists(_line, min_size=1, max_size=6))
def test_generated_blocks_parse_as_pyyaml_does(lines: list[str]) -> None:
    _agrees("\n".join(lines))


def test_seeded_blocks_take_both_paths_and_agree() -> None:
    # The same pieces, drawn by a seeded generator: the fast path must be taken (and left) often,
    # or the property test above would prove nothing about it.
    rnd = random.Random(5)
    taken = [0, 0]
    for _ in range(3000):
        lines = []
        for _ in range(rnd.randint(1, 5)):
            v = rnd.choice(_WORDS)
            if rnd.random() < 0.3:
                v = rnd.choice(['"{}"', "'{}'"]).format(v)
            elif rnd.random() < 0.2:
                v = "[" + ", ".join(rnd.sample(_WORDS, rnd.randint(0, 3))) + "]"
            lines.append(rnd.choice(_KEYS) + ": " + v)
        taken[_agrees("\n".join(lines))] += 1
    assert taken[True] > 300 and taken[False] > 300, taken


@pytest.mark.parametrize(
    "text",
    [
        'title: "Post number 1"\ndate: 2018-12-03T00:00:00Z\ntags: [tag000, tag002, tag001]\ncategories: [cat1]',
        "title: It's a test (part 2)!\ndraft: true\nweight: 10\nempty:\nx: ~\nlist: []\nq: ['a b', \"c\"]",
        "# generated\n\ntitle: Café\nslug: cafe\n",
        "title: first\ntitle: second",
        "aliases: [/old/path/, /older/]",
    ],
)
def test_common_front_matter_takes_the_fast_path(text: str) -> None:
    assert _agrees(text)


@pytest.mark.parametrize(
    "text",
    [
        "",  # PyYAML's None (an empty data file is null), not an empty mapping
        "# only a comment\n\n",
        "a: 12:30",  # a YAML 1.1 sexagesimal int, 750
        "weight: 1.5",
        "tags:\n  - a\n  - b",
        "a: x # comment",
        "true: x",
        "a: [a, ]",
        "params:\n  x: 1",
        'a: "tab\\there"',
        "a: &anchor x\nb: *anchor",
    ],
)
def test_anything_else_is_left_to_pyyaml(text: str) -> None:
    assert _simple_yaml(text) is None
    assert _typed(load_yaml(text, file="x.md")) == _typed(_pyyaml(text))


@pytest.mark.parametrize("text", ["a: b: c", "a: - b", "a: [b", 'a: "b', "a: ]"])
def test_malformed_blocks_still_fail_with_a_line(text: str) -> None:
    with pytest.raises(BuildError) as e:
        load_yaml("ok: 1\n" + text, file="content/x.md", first_line=2)
    # The bad line, or for an unclosed list or string the end of the block where PyYAML notices it.
    assert e.value.file == "content/x.md" and e.value.line in (3, 4)
