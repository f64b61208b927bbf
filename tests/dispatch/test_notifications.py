"""S3's notification rules: wildcards, encoded filters, and the overlap rule's documented examples."""

from __future__ import annotations

import pytest

from ripple.dispatch.notifications import NotificationRule, check_filter, check_overlaps, expand, overlaps
from ripple.errors import ValidationError


def rule(name, events=("s3:ObjectCreated:*",), prefix="", suffix=""):
    return NotificationRule(name, expand(events), prefix, suffix)


def test_wildcards_expand():
    assert expand(["s3:ObjectCreated:*"]) == {
        "s3:ObjectCreated:Put", "s3:ObjectCreated:Post", "s3:ObjectCreated:Copy",
        "s3:ObjectCreated:CompleteMultipartUpload",
    }  # fmt: skip
    assert expand("s3:ObjectRemoved:*") == {"s3:ObjectRemoved:Delete", "s3:ObjectRemoved:DeleteMarkerCreated"}


@pytest.mark.parametrize(
    "events, needle",
    [(["s3:ObjectRestore:*"], "not supported"), (["ObjectCreated:Put"], "unknown"), ([], "at least one")],
)
def test_bad_event_types(events, needle):
    with pytest.raises(ValidationError, match=needle):
        expand(events)


def test_matching_uses_the_encoded_key():
    r = rule("r", prefix="my+docs/", suffix=".md")
    assert r.matches("ObjectCreated:Put", "my+docs/a+b.md")
    assert not r.matches("ObjectRemoved:Delete", "my+docs/a.md")
    assert not r.matches("ObjectCreated:Put", "my+docs/a.txt")


def test_filters_must_be_written_encoded():
    assert check_filter("prefix", "content/") == "content/"
    with pytest.raises(ValidationError, match="'my\\+docs/'"):
        check_filter("prefix", "my docs/")
    with pytest.raises(ValidationError, match="wildcards"):
        check_filter("suffix", "*.jpg")


# The valid and invalid pairs from the S3 developer guide's filtering examples.
@pytest.mark.parametrize(
    "a, b, conflict",
    [
        (dict(prefix="images/"), dict(prefix="logs/"), False),
        (dict(suffix=".jpg"), dict(suffix=".png"), False),
        (dict(suffix="jpg"), dict(suffix="pg"), True),
        (dict(), dict(prefix="images/"), True),
        (dict(prefix="images/", suffix=".jpg"), dict(prefix="images/", suffix=".png"), False),
        (dict(prefix="images/"), dict(prefix="images/thumbs/"), True),
        (dict(events=("s3:ObjectCreated:*",)), dict(events=("s3:ObjectRemoved:*",)), False),
        (dict(events=("s3:ObjectCreated:*",)), dict(events=("s3:ObjectCreated:Put",)), True),
    ],
)
def test_overlap_rule(a, b, conflict):
    ra, rb = rule("a", **a), rule("b", **b)
    assert overlaps(ra, rb) is conflict and overlaps(rb, ra) is conflict
    if conflict:
        with pytest.raises(ValidationError, match="'a' and 'b' overlap"):
            check_overlaps([ra, rb])
    else:
        check_overlaps([ra, rb])


def test_object_records_are_taken_from_their_bytes_as_the_decoded_path_takes_them(tmp_path):
    # The dispatcher reads an object trigger's records without decoding them (event name, encoded
    # key, configurationId stamped into the bytes); the result must be the decoded path's, for
    # puts, copies and deletes of awkward keys, matched or not.
    import orjson

    import ripple
    from ripple.dispatch.dispatcher import Dispatcher
    from ripple.dispatch.triggers import Trigger
    from ripple.store.base import Change

    with ripple.connect(tmp_path) as c:
        b = c.create_bucket("photos")
        keys = ["my docs/a b.md", "my+docs/x.md", 'q"uote\\.md', "émoji 😀.md", "my docs/a.txt", "plain/k.md"]
        for k in keys:
            b.put(k, b"x")
        b.copy(keys[0], "my docs/copy.md")
        b.delete(keys[1])
        changes = c.log.read(0, sources=["bucket:photos"])
        rules = [
            rule("md-in-docs", prefix="my+docs/", suffix=".md"),
            rule("all"),
            rule("gone", ("s3:ObjectRemoved:*",)),
        ]
        d = Dispatcher(c, [], lambda *a, **k: None)
        taken = 0
        for r in rules:
            t = Trigger(f"f:{r.name}", "f", "object", "photos", None, rule=r)
            for ch in changes:
                decoded = d._match(t, orjson.loads(ch.raw))
                fast = d._take(t, Change(ch.seq, ch.source, ch.partition, ch.ts, raw=ch.raw))
                assert (fast is None) == (decoded is None), (r.name, ch.partition)
                if fast is not None:
                    taken += 1
                    assert orjson.loads(fast) == decoded
                    assert orjson.loads(fast)["s3"]["configurationId"] == r.name
        assert taken == 2 + len(keys) + 1 + 1  # two encoded under my+docs/; every put and the copy; one delete
