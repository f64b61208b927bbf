"""examples/blog is the blog template rendered with the name "blog": the two cannot drift apart."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from ripple.cli import main
from ripple.templates.render import render

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "blog"
SKIP = {"__pycache__", ".ripple", ".pytest_cache"}


def files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not SKIP & set(p.relative_to(root).parts) and p.suffix != ".pyc"
    }


def test_the_example_is_the_template_rendered_as_blog(tmp_path: Path) -> None:
    render("blog", tmp_path / "blog", "blog")
    want, have = files(tmp_path / "blog"), files(EXAMPLE)
    assert sorted(have) == sorted(want)
    for rel, data in want.items():
        assert have[rel] == data, f"examples/blog/{rel} differs from the template: re-render it"


def test_ripple_init_blog_names_every_resource_after_the_folder(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["init", str(tmp_path / "myblog"), "--template", "blog"])
    assert res.exit_code == 0, res.output
    app_py = (tmp_path / "myblog" / "app.py").read_text()
    assert 'Names.for_app("myblog")' in app_py and 'App("myblog")' in app_py
    # Layouts, markdown and CSS are copied byte for byte (their braces are not format fields).
    layout = "site/layouts-hugo/_default/baseof.html"
    assert (tmp_path / "myblog" / layout).read_bytes() == (EXAMPLE / layout).read_bytes()
    readme = (tmp_path / "myblog" / "README.md").read_text()
    assert "s3://myblog-src/content/posts/" in readme and '{"full": true}' in readme
