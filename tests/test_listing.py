"""ListObjectsV2 against a model: sort the keys' UTF-8 bytes, group by delimiter, page by max-keys."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ripple
from ripple import errors

# Few distinct characters make shared prefixes and delimiters likely; astral and accented letters
# catch any ordering by UTF-16 or by code point tables instead of UTF-8 bytes.
ALPHABET = st.sampled_from(["a", "b", "/", "-", "é", "z", "\U0001f600", "~", "A", "0"])
KEYS = st.lists(st.text(ALPHABET, min_size=1, max_size=6), min_size=0, max_size=25, unique=True)


def model(keys, prefix, delimiter, start_after):
    entries = []
    seen = set()
    for k in sorted(keys, key=lambda k: k.encode("utf-8")):
        if not k.startswith(prefix) or (start_after is not None and k.encode() <= start_after.encode()):
            continue
        if delimiter:
            i = k.find(delimiter, len(prefix))
            if i >= 0:
                cp = k[: i + len(delimiter)]
                if cp not in seen:
                    seen.add(cp)
                    entries.append(("p", cp))
                continue
        entries.append(("k", k))
    return entries


def walk(bucket, prefix, delimiter, start_after, max_keys):
    out = []
    token = None
    pages = 0
    while True:
        page = bucket.list(
            prefix, delimiter=delimiter, start_after=start_after, continuation_token=token, max_keys=max_keys
        )
        pages += 1
        assert page.key_count == len(page.contents) + len(page.common_prefixes) <= max_keys
        # Within a page S3 returns keys and prefixes as two sorted lists; merge them back by order.
        merged = sorted(
            [("k", o.key) for o in page.contents] + [("p", p) for p in page.common_prefixes],
            key=lambda e: e[1].encode(),
        )
        out += merged
        if not page.is_truncated:
            assert page.next_continuation_token is None
            return out, pages
        assert page.next_continuation_token
        token = page.next_continuation_token
        assert pages < 200


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    keys=KEYS,
    prefix=st.text(ALPHABET, max_size=2),
    delimiter=st.one_of(st.none(), st.sampled_from(["/", "-", "é", "ab"])),
    start_after=st.one_of(st.none(), st.text(ALPHABET, max_size=3)),
    max_keys=st.integers(1, 7),
)
def test_listing_matches_utf8_byte_order_model(tmp_path_factory, keys, prefix, delimiter, start_after, max_keys):
    with ripple.connect(tmp_path_factory.mktemp("list")) as c:
        b = c.create_bucket("list-bucket")
        for k in keys:
            b.put(k, b"")
        got, _ = walk(b, prefix, delimiter, start_after, max_keys)
        assert got == model(keys, prefix, delimiter, start_after)


def test_listing_pages_over_thousands_of_keys(bucket):
    keys = [f"photos/{y}/{i:04d}.jpg" for y in (2024, 2025) for i in range(1200)] + ["readme.txt"]
    for k in keys:
        bucket.put(k, b"")
    top = bucket.list(delimiter="/")
    assert top.common_prefixes == ["photos/"] and [o.key for o in top.contents] == ["readme.txt"]
    years = bucket.list("photos/", delimiter="/")
    assert years.common_prefixes == ["photos/2024/", "photos/2025/"]
    got, pages = walk(bucket, "photos/2025/", None, None, 1000)
    assert [k for _, k in got] == sorted(k for k in keys if k.startswith("photos/2025/"))
    assert pages == 2
    assert list(bucket.keys()) == sorted(keys)
    infos = list(bucket.objects("photos/2024/"))  # across two pages, with what a listing carries
    assert [o.key for o in infos] == sorted(k for k in keys if k.startswith("photos/2024/"))
    assert {o.etag for o in infos} == {'"d41d8cd98f00b204e9800998ecf8427e"'} and {o.size for o in infos} == {0}


def test_listing_bad_arguments(bucket):
    for bad in [-1, 1001, "10", True]:
        with pytest.raises(errors.ValidationError, match="max_keys"):
            bucket.list(max_keys=bad)
    with pytest.raises(errors.ValidationError, match="continuation token"):
        bucket.list(continuation_token="not-a-token")
    with pytest.raises(errors.ValidationError):
        bucket.list(delimiter="")
    assert bucket.list(max_keys=0).is_truncated is False
