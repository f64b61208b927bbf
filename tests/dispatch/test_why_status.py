"""`ripple why` and `ripple status` answer "why didn't my function fire?" from what the platform saw."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ripple.cli import main
from ripple.runtime.loader import load_app
from ripple.testing import run_app

APP = Path(__file__).parent / "apps" / "pipeline.py"


def test_why_shows_verdicts_pending_and_errors(tmp_path):
    state = tmp_path / "state"
    with run_app(load_app(str(APP)), state=state) as h:
        b = h.bucket("uploads")
        b.put("in/ok.txt", b"")
        b.put("in/wrong.md", b"")
        h.drain()
        h.topic("alerts").publish("explode", attributes={"level": "error"})
        h.drain()
        b.put("in/later.txt", b"")  # written, not yet dispatched
    runner = CliRunner()
    res = runner.invoke(main, ["--state", str(state), "--json", "why", "on_upload", "--app", str(APP)])
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    [trig] = report["triggers"]
    verdicts = {e["partition"]: (e["taken"], e["why_not"], e["processed"]) for e in trig["recent"]}
    assert verdicts["in/ok.txt"] == (True, None, True)
    assert verdicts["in/wrong.md"] == (False, "key 'in/wrong.md' does not end with suffix '.txt'", True)
    assert verdicts["in/later.txt"] == (True, None, False)
    assert trig["lag"] == 1
    page = json.loads(runner.invoke(main, ["--state", str(state), "--json", "why", "page", "--app", str(APP)]).output)
    assert page["triggers"][0]["dead_letters"] == 1
    assert page["last_errors"][0]["error_type"] == "RuntimeError"
    human = runner.invoke(main, ["--state", str(state), "why", "echo", "--app", str(APP)]).output
    assert "no triggers" in human
    bad = runner.invoke(main, ["--state", str(state), "why", "nope", "--app", str(APP)])
    assert bad.exit_code == 1 and "nope" in bad.output


def test_status_lists_triggers_with_lag_and_dead_letters(tmp_path):
    state = tmp_path / "state"
    with run_app(load_app(str(APP)), state=state) as h:
        h.topic("alerts").publish("explode", attributes={"level": "error"})
        h.drain()
        h.bucket("uploads").put("in/x.txt", b"")
    out = json.loads(CliRunner().invoke(main, ["--state", str(state), "--json", "status", "--app", str(APP)]).output)
    rows = {t["trigger"]: t for t in out["triggers"]}
    assert rows["page:topic:alerts"]["dead_letters"] == 1
    assert rows["on_upload:object:uploads"]["lag"] == 1
    assert "echo" in out["functions"] and out["objects"] == 1
