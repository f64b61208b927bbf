"""The CLI: every resource command, JSON output for scripts, and one clear line for every mistake."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ripple.cli import main


@pytest.fixture
def run(tmp_path):
    runner = CliRunner()

    def invoke(*args, ok=True, input=None):
        res = runner.invoke(main, ["--state", str(tmp_path / "state"), *args], input=input, catch_exceptions=False)
        if ok:
            assert res.exit_code == 0, res.output
        return res

    return invoke


def test_bucket_commands(run, tmp_path):
    run("bucket", "mb", "s3://cli-bucket")
    assert "cli-bucket" in run("bucket", "ls").output
    src = tmp_path / "site"
    (src / "posts").mkdir(parents=True)
    (src / "index.html").write_text("<h1>hi</h1>")
    (src / "posts" / "a.md").write_text("# A")
    run("bucket", "cp", "-r", str(src), "s3://cli-bucket/www/")
    out = run("--json", "bucket", "ls", "-r", "s3://cli-bucket/www/").output
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["key"] for r in rows] == ["www/index.html", "www/posts/a.md"]
    listing = run("bucket", "ls", "s3://cli-bucket/www/").output
    assert "PRE www/posts/" in listing and "www/index.html" in listing
    dest = tmp_path / "down"
    run("bucket", "cp", "-r", "s3://cli-bucket/www", str(dest))
    assert (dest / "posts" / "a.md").read_text() == "# A"
    run("bucket", "cp", "s3://cli-bucket/www/index.html", str(tmp_path / "one.html"))
    assert (tmp_path / "one.html").read_text() == "<h1>hi</h1>"
    run("bucket", "cp", "s3://cli-bucket/www/index.html", "s3://cli-bucket/copy.html")
    run("bucket", "rm", "-r", "s3://cli-bucket/www/")
    run("bucket", "rm", "s3://cli-bucket/copy.html")
    run("bucket", "rb", "cli-bucket")
    assert run("--json", "bucket", "ls").output.strip() == "[]"


def test_content_type_guessed_on_upload(run, tmp_path):
    run("bucket", "mb", "types-bucket")
    f = tmp_path / "page.html"
    f.write_text("x")
    run("bucket", "cp", str(f), "s3://types-bucket/")
    import ripple

    with ripple.connect(tmp_path / "state") as c:
        assert c.bucket("types-bucket").head("page.html").content_type == "text/html"


def test_download_refuses_keys_that_escape_the_folder(run, tmp_path):
    import ripple

    with ripple.connect(tmp_path / "state") as c:
        c.create_bucket("evil-bucket").put("x/../../escape.txt", b"gotcha")
    res = run("bucket", "cp", "-r", "s3://evil-bucket/x", str(tmp_path / "dl"), ok=False)
    assert res.exit_code == 1 and "outside" in res.output
    assert not (tmp_path / "escape.txt").exists()


def test_table_commands(run):
    run(
        "table",
        "create",
        "games",
        "--hash-key",
        "event_key:S",
        "--range-key",
        "start_timestamp:N",
        "--stream",
        "NEW_AND_OLD_IMAGES",
    )
    run("table", "put", "games", '{"event_key": "u1", "start_timestamp": 1428071547, "score": 924.5}')
    run("table", "put", "games", '{"event_key": "u1", "start_timestamp": 1428071548, "score": 12345678901234567890123}')
    got = json.loads(
        run("--json", "table", "get", "games", '{"event_key": "u1", "start_timestamp": 1428071548}').output
    )
    assert got["score"] == 12345678901234567890123  # every digit survives
    upd = run(
        "--json",
        "table",
        "update",
        "games",
        '{"event_key": "u1", "start_timestamp": 1428071547}',
        "--update",
        "SET score = score + :d",
        "--values",
        '{":d": 0.5}',
    ).output
    assert json.loads(upd)["score"] == 925
    q = json.loads(
        run(
            "--json",
            "table",
            "query",
            "games",
            "--key-condition",
            "event_key = :u",
            "--values",
            '{":u": "u1"}',
            "--backward",
        ).output
    )
    assert [i["start_timestamp"] for i in q["Items"]] == [1428071548, 1428071547] and q["Count"] == 2
    s = json.loads(run("--json", "table", "scan", "games", "--limit", "1").output)
    assert s["Count"] == 1 and s["LastEvaluatedKey"] is not None
    desc = json.loads(run("--json", "table", "describe", "games").output)
    assert desc["range_key"] == "start_timestamp:N" and desc["items"] == 2
    run("table", "delete", "games", '{"event_key": "u1", "start_timestamp": 1428071547}')
    assert json.loads(run("--json", "table", "describe", "games").output)["items"] == 1
    run("table", "drop", "games")
    assert run("--json", "table", "ls").output.strip() == "[]"


def test_stream_topic_and_events(run):
    run("stream", "create", "jobs", "--shards", "2")
    out = json.loads(run("--json", "stream", "put", "jobs", "hello", "-k", "user-1").output)
    assert out["ShardId"].startswith("shardId-")
    run("stream", "put", "jobs", "-", "-k", "user-2", input="from stdin")
    run("topic", "create", "alerts")
    run("topic", "publish", "alerts", "disk full", "--subject", "ops", "--attr", "level=error")
    lines = [json.loads(line) for line in run("events").output.splitlines()]
    assert [e["source"] for e in lines] == ["stream:jobs", "stream:jobs", "topic:alerts"]
    assert lines[2]["record"]["Sns"]["MessageAttributes"]["level"]["Value"] == "error"
    only = run("events", "--source", "topic:alerts").output.splitlines()
    assert len(only) == 1
    after = run("events", "--after", str(lines[1]["seq"])).output.splitlines()
    assert len(after) == 1


@pytest.mark.parametrize(
    "args, needle",
    [
        (["bucket", "mb", "Bad_Name"], "invalid bucket name 'Bad_Name'"),
        (["bucket", "rb", "no-such-bucket"], "'no-such-bucket' does not exist"),
        (["bucket", "cp", "/definitely/not/here", "s3://b-bucket/"], "no such local file"),
        (["bucket", "cp", "a", "b"], "s3:// URL"),
        (["table", "put", "nope", '{"a": 1}'], "nope not found"),
        (["table", "put", "nope", "{not json"], "not valid JSON"),
        (["table", "create", "tbl", "--hash-key", "id:Q"], "S, N or B"),
        (["stream", "put", "nope", "x", "-k", "k"], "'nope' does not exist"),
        (["topic", "publish", "nope", "m", "--attr", "novalue"], "NAME=VALUE"),
        (["events", "--after", "-5"], "non-negative"),
    ],
)
def test_mistakes_give_one_line_and_exit_1(run, args, needle):
    res = run(*args, ok=False)
    assert res.exit_code == 1
    assert needle in res.output
    assert res.output.startswith("error: ") and res.output.count("\n") == 1
    assert "Traceback" not in res.output


def test_real_process_exit_codes_and_no_traceback(tmp_path):
    exe = [str(Path(sys.executable).parent / "ripple")]
    mb = [*exe, "--state", str(tmp_path / "s"), "bucket", "mb", "exit-codes"]
    ok = subprocess.run(mb, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "make_bucket: exit-codes" in ok.stdout, ok.stderr
    again = subprocess.run(mb, capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and again.stderr.startswith("error: ") and "Traceback" not in again.stderr
    bad = subprocess.run(
        [*exe, "--state", str(tmp_path / "s"), "table", "get", "games", '{"event_key": 1}'],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1 and "Traceback" not in bad.stderr and bad.stderr.startswith("error: ")
    usage = subprocess.run([*exe, "bucket", "mb"], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2


def _shape(value):
    """The structure of a JSON value: keys and types, not the values."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


def test_generated_events_have_the_change_log_shapes(run, tmp_path):
    import ripple

    with ripple.connect(tmp_path / "state") as c:
        b = c.create_bucket("example-bucket")
        b.put("test/key", b"x")
        b.delete("test/key")
        t = c.create_table("ExampleTable", hash_key="Id:N", stream="NEW_AND_OLD_IMAGES")
        t.put({"Id": 101, "Message": "New item!"})
        t.put({"Id": 101, "Message": "changed"})
        t.delete({"Id": 101})
        c.create_stream("example-stream").put(b"x", partition_key="1")
        c.create_topic("example-topic").publish("m", subject="s")
        logged = [ch.record for ch in c.log.read(0)]
    kinds = ["s3-put", "s3-delete", "dynamodb-insert", "dynamodb-modify", "dynamodb-remove", "kinesis", "sns"]
    for kind, record in zip(kinds, logged, strict=True):
        sample = json.loads(run("generate-event", kind, "--subject", "s").output)
        assert _shape(sample["Records"][0]) == _shape(record), kind
    sched = json.loads(run("generate-event", "schedule", "--rule", "nightly").output)
    assert sched["detail-type"] == "Scheduled Event" and sched["source"] == "aws.events"
    assert sched["resources"][0].endswith(":rule/nightly") and sched["detail"] == {}
    bad = run("generate-event", "dynamodb-insert", "--keys", '{"Id": 1e400}', ok=False)
    assert bad.exit_code == 1 and "error:" in bad.output


def test_state_option_does_not_leak_into_the_calling_process(tmp_path, monkeypatch):
    import os

    monkeypatch.delenv("RIPPLE_STATE", raising=False)
    res = CliRunner().invoke(main, ["--state", str(tmp_path / "s"), "status"])
    assert res.exit_code == 0 and "RIPPLE_STATE" not in os.environ
    monkeypatch.setenv("RIPPLE_STATE", "/elsewhere")
    CliRunner().invoke(main, ["--state", str(tmp_path / "s"), "status"])
    assert os.environ["RIPPLE_STATE"] == "/elsewhere"
