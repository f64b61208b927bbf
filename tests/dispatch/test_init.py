"""`ripple init DIR --template blank` makes an app that runs and whose own tests pass as they are."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from ripple.cli import main


def test_blank_template_tests_pass_as_generated(tmp_path):
    res = CliRunner().invoke(main, ["init", str(tmp_path / "my-app")])
    assert res.exit_code == 0, res.output
    app_dir = tmp_path / "my-app"
    assert (app_dir / "app.py").exists() and (app_dir / "tests" / "test_app.py").exists()
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=app_dir,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout


def test_init_refuses_a_folder_with_files(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    res = CliRunner().invoke(main, ["init", str(tmp_path / "taken")])
    assert res.exit_code == 1 and "not empty" in res.output
    assert [p.name for p in Path(tmp_path / "taken").iterdir()] == ["keep.txt"]


def test_init_refuses_an_unknown_template_and_creates_nothing(tmp_path):
    res = CliRunner().invoke(main, ["init", str(tmp_path / "x"), "--template", "../blank"])
    assert res.exit_code == 1 and "unknown template '../blank'" in res.output and "blank" in res.output
    assert not (tmp_path / "x").exists()


def test_render_formats_tmpl_files_and_derives_valid_app_names(tmp_path):
    from ripple.templates import render

    written = render.render("blank", tmp_path / "app", "my-app")
    assert all(p.is_file() for p in written) and (tmp_path / "app" / "app.py").read_text().count("my-app") >= 1
    assert render.app_name(tmp_path / "My App!!") == "my-app" and render.app_name(tmp_path / "x") == "app-x"
