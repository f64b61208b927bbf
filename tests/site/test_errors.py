"""Bad input: a clear error naming file and line, and nothing changed in the output or the state."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from site_helpers import NOW, tree, write

from ripple.errors import ValidationError
from ripple.site import BuildError, build
from ripple.site.cli import site as site_cli

GOOD = {
    "hugo.toml": 'title = "T"\nbaseURL = "https://x.org/"\n',
    "layouts/_default/single.html": "S {{ page.title }}\n{{ page.content }}",
    "layouts/_default/list.html": "L {{ page.title }}",
    "content/posts/a.md": "---\ntitle: A\ndate: 2026-01-01\n---\nbody a\n",
    "content/posts/b.md": "---\ntitle: B\ndate: 2026-01-02\n---\nbody b\n",
}


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, Path, dict[str, bytes], bytes]:
    src, out = tmp_path / "src", tmp_path / "out"
    write(src, GOOD)
    build(src, out, now=NOW)
    return src, out, tree(out), (out / ".ripple" / "site.db").read_bytes()


CASES = [
    ("content/posts/a.md", "---\ntitle: A\ntags: [x\n---\nbody\n", "content/posts/a.md", 4, "invalid YAML"),
    ("content/posts/a.md", "+++\ntitle = 'A'\ndate = \n+++\nbody\n", "content/posts/a.md", 3, "invalid TOML"),
    ("content/posts/a.md", "---\ntitle: A\nbody without a closing line\n", "content/posts/a.md", 1, "never closed"),
    ("content/posts/a.md", "---\ntitle: A\ndate: not-a-date\n---\nx\n", "content/posts/a.md", 3, "not a date"),
    ("content/posts/a.md", "---\ntitle: A\ndraft: maybe\n---\nx\n", "content/posts/a.md", 3, "draft"),
    ("content/posts/a.md", "---\ntitle: A\n---\nline\n\n{{< nope >}}\n", "content/posts/a.md", 6, "unknown shortcode"),
    ("layouts/_default/single.html", "S {{ page.title }\n", "layouts/_default/single.html", 1, "syntax error"),
    (
        "layouts/_default/single.html",
        "S\n{{ page.title }}\n{{ page.params.x.y.z }}\n",
        "layouts/_default/single.html",
        3,
        "template error",
    ),
    ("layouts/_default/single.html", 'S\n{{ partial("nope.html") }}\n', "layouts/_default/single.html", 2, "not found"),
    # the name of a loop body's template (loops.py), malformed or past the layout's loops
    ("layouts/_default/single.html", 'S\n\n{{ partial("/for/x") }}\n', "layouts/_default/single.html", 3, "/for/x"),
    (
        "layouts/_default/single.html",
        '{% include "/for/7/_default/single.html" %}\n',
        "layouts/_default/single.html",
        1,
        "template not found: /for/7/_default/single.html",
    ),
    ("hugo.toml", 'title = "T"\n[pagination]\npagerSize = 0\n', "hugo.toml", 3, "pagerSize"),
    ("hugo.toml", 'title = "T"\ntimeZone = "Mars/Base"\n', "hugo.toml", 2, "time zone"),
    ("hugo.toml", 'title = "T"\n[permalinks]\nposts = "/:yeer/:slug/"\n', "hugo.toml", 3, "unknown permalink token"),
    ("hugo.toml", 'title = "T"\nbaseURL = \n', "hugo.toml", 2, "invalid TOML"),
]


@pytest.mark.parametrize(("path", "text", "file", "line", "words"), CASES)
def test_bad_input_names_file_and_line_and_changes_nothing(built, path, text, file, line, words) -> None:
    src, out, before, state = built
    write(src, {path: text})
    with pytest.raises(BuildError) as ei:
        build(src, out, now=NOW)
    e = ei.value
    assert isinstance(e, ValidationError)
    assert (e.file, e.line) == (file, line), str(e)
    assert words in str(e) and str(e).startswith(f"{file}:{line}: ")
    assert tree(out) == before
    assert (out / ".ripple" / "site.db").read_bytes() == state


def test_missing_layout_is_an_error_naming_the_page(built) -> None:
    src, out, before, _ = built
    (src / "layouts/_default/single.html").unlink()
    with pytest.raises(BuildError) as ei:
        build(src, out, now=NOW)
    assert ei.value.file == "content/posts/a.md" and "layouts/_default/single.html" in str(ei.value)
    assert tree(out) == before


def test_after_fixing_the_error_the_build_matches_a_clean_one(built, tmp_path: Path) -> None:
    src, out, _, _ = built
    write(src, {"content/posts/a.md": "---\ntitle: [\n---\n"})
    with pytest.raises(BuildError):
        build(src, out, now=NOW)
    write(src, {"content/posts/a.md": "---\ntitle: A2\ndate: 2026-01-01\n---\nnew\n"})
    build(src, out, now=NOW)
    build(src, tmp_path / "clean", now=NOW)
    assert tree(out) == tree(tmp_path / "clean")


def test_cli_reports_one_line_and_nonzero_exit(built) -> None:
    src, out, _, _ = built
    write(src, {"content/posts/a.md": "---\ntitle: A\ntags: [x\n---\nbody\n"})
    res = CliRunner().invoke(site_cli, ["build", str(src), str(out), "--quiet", "--now", NOW.isoformat()])
    assert res.exit_code == 1
    assert "content/posts/a.md:4: invalid YAML" in res.output
    assert "Traceback" not in res.output


def test_cli_build_and_new(tmp_path: Path) -> None:
    r = CliRunner().invoke(site_cli, ["new", str(tmp_path / "s")])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(site_cli, ["new", str(tmp_path / "s")])
    assert r.exit_code == 1 and "not empty" in r.output
    r = CliRunner().invoke(site_cli, ["build", str(tmp_path / "s"), str(tmp_path / "o"), "--now", NOW.isoformat()])
    assert r.exit_code == 0 and "full build" in r.output, r.output
    r = CliRunner().invoke(
        site_cli, ["build", str(tmp_path / "s"), str(tmp_path / "o"), "-q", "--now", NOW.isoformat()]
    )
    assert r.exit_code == 0 and r.output == ""
