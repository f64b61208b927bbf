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
