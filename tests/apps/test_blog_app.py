"""The blog app (examples/blog, `ripple init --template blog`) on real sandboxes and a virtual clock.

The source bucket is seeded with the sample site on start; every test then edits it and checks the
website bucket: what appears, what is rewritten (counted in the change log), what is deleted.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from ripple.runtime.loader import load_app
from ripple.testing import Harness, run_app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "blog"
app = load_app(str(EXAMPLE / "app.py"))
make_app = sys.modules["app"].make_app  # the same module, for the Hugo variant
blog_builder = sys.modules["blog_builder"]

SRC, SITE, LOCKS = "blog-src", "blog-site", "blog-locks"
HELLO = "content/posts/hello-ripple.md"


def post(title: str, body: str = "Some words.", date: str = "2026-11-25T10:00:00Z", tags: str = "[news]") -> bytes:
    return f'---\ntitle: "{title}"\ndate: {date}\ntags: {tags}\n---\n{body}\n'.encode()


def site_writes(p: Harness, after: int) -> tuple[set[str], set[str]]:
    """(keys put, keys deleted) in the website bucket after log position ``after``."""
    put, deleted = set(), set()
    for c in p.client.log.read(after, sources=[f"bucket:{SITE}"], limit=100_000):
        (put if c.record["eventName"].startswith("ObjectCreated") else deleted).add(c.partition)
    return put, deleted


def builds(p: Harness, function: str = "build_incremental") -> list[dict[str, Any]]:
    """The reports of the runs so far (each run prints one ``blog-build`` line)."""
    p.pool.flush()
    lines = [ln.message for ln in p.pool.store.logs(function, limit=100_000)]
    return [orjson.loads(m.split(" ", 1)[1]) for m in lines if m.startswith("blog-build ")]


def test_the_seeded_site_is_served_with_content_types() -> None:
    with run_app(app) as p:
        site = p.bucket(SITE)
        keys = set(site.keys())
        assert {"index.html", "404.html", "about/index.html", "posts/hello-ripple/index.html", "index.xml",
                "tags/ripple/index.html", "css/style.css", "sitemap.xml"} <= keys  # fmt: skip
        assert b"Hello, ripple" in site.read("index.html")
        assert site.head("index.html").content_type == "text/html; charset=utf-8"
        assert site.head("css/style.css").content_type == "text/css; charset=utf-8"
        assert site.head("index.xml").content_type == "application/rss+xml; charset=utf-8"
        assert site.head("sitemap.xml").content_type == "application/xml; charset=utf-8"
        assert p.client.store.bucket_info(SITE).website == {"index": "index.html", "error": "404.html"}


def test_upload_edit_delete_touch_only_what_they_must() -> None:
    with run_app(app) as p:
        src, site = p.bucket(SRC), p.bucket(SITE)
        seq = p.client.log.latest()
        src.put("content/posts/my-post.md", post("My post", "Fresh words here."))
        p.drain()
        assert b"My post" in site.read("index.html")
        assert b"Fresh words here." in site.read("posts/my-post/index.html")
        assert b"My post" in site.read("tags/news/index.html")
        put, _ = site_writes(p, seq)
        assert "posts/hello-ripple/index.html" in put  # the sidebar lists the newest posts
        assert "css/style.css" not in put and "about/index.html" in put

        # A body edit after <!--more-->: one page's bytes change, so one object is written.
        seq = p.client.log.latest()
        src.put(HELLO, src.read(HELLO).replace(b"becomes one build.", b"becomes one build, or a few."))
        p.drain()
        assert site_writes(p, seq) == ({"posts/hello-ripple/index.html"}, set())
        assert b"or a few." in site.read("posts/hello-ripple/index.html")
        assert builds(p)[-1]["rendered"] <= 3  # only outputs that read the post's content

        # Re-uploading identical bytes (a duplicate event, say) builds nothing and writes nothing.
        seq = p.client.log.latest()
        src.put(HELLO, src.read(HELLO))
        p.drain()
        assert site_writes(p, seq) == (set(), set())
        assert builds(p)[-1]["skipped"] == 1 and builds(p)[-1]["passes"] == 0

        seq = p.client.log.latest()
        src.delete("content/posts/my-post.md")
        p.drain()
        put, deleted = site_writes(p, seq)
        assert {"posts/my-post/index.html", "tags/news/index.html", "tags/news/index.xml"} <= deleted
        assert not site.exists("posts/my-post/index.html")
        assert b"My post" not in site.read("index.html")


def test_a_burst_upload_runs_few_builds() -> None:
    with run_app(app) as p:
        src = p.bucket(SRC)
        for i in range(40):  # one commit and one event each, as `ripple bucket cp -r` makes them
            src.put(f"content/posts/burst-{i:02d}.md", post(f"Burst {i}", date=f"2026-10-{i % 28 + 1:02d}T08:00:00Z"))
        p.drain()
        runs = [d for d in p.deliveries if d.function == "build_incremental"]
        assert 1 <= len(runs) <= 2 and sum(d.records for d in runs) == 40
        assert all(p.bucket(SITE).exists(f"posts/burst-{i:02d}/index.html") for i in range(40))


def test_state_survives_a_restart_and_the_next_build_is_incremental(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with run_app(app, state=state) as p:
        p.bucket(SRC).put("content/posts/first.md", post("First"))
        p.drain()  # the sandbox's first run: cold, it fetches the state and every source
        p.bucket(SRC).put("content/posts/second.md", post("Second"))
        p.drain()
        warm = builds(p)[-1]
        assert warm["downloaded"] == 1 and not warm["full"]  # warm: its /tmp mirror and state
    # A new platform: new sandboxes with an empty /tmp; the state comes from the state bucket.
    with run_app(app, state=state) as p:
        src = p.bucket(SRC)
        seq = p.client.log.latest()
        src.put(HELLO, src.read(HELLO).replace(b"becomes one build.", b"becomes one build, after a restart."))
        p.drain()
        cold = builds(p)[-1]
        assert not cold["full"] and cold["rendered"] <= 3
        assert cold["downloaded"] == len(list(src.keys()))  # a cold mirror fetches every source
        assert site_writes(p, seq) == ({"posts/hello-ripple/index.html"}, set())
        assert b"First" in p.bucket(SITE).read("index.html")


def test_a_held_lease_blocks_the_build_and_loses_nothing() -> None:
    with run_app(app) as p:
        locks, site = p.table(LOCKS), p.bucket(SITE)
        lease = locks.get({"id": "site"})
        assert lease["lease_owner"] == "" and int(lease["generation"]) == 1  # the seed's build
        locks.update({"id": "site"}, update="SET lease_owner = :o, lease_expires = :e",
                     values={":o": "someone-else", ":e": time.time() + 3600})  # fmt: skip
        p.bucket(SRC).put("content/posts/blocked.md", post("Blocked"))
        p.drain()
        assert b"Blocked" not in site.read("index.html")
        (dead,) = p.dead_letters("build_incremental")
        assert "LeaseHeld" in str(dead.error)
        assert locks.get({"id": "site"})["pending"] is True  # the holder would run again for it
        # The holder dies; its lease goes stale. The next change takes it over and reconciles
        # everything, the blocked post included.
        locks.update({"id": "site"}, update="SET lease_expires = :e", values={":e": time.time() - 1})
        p.bucket(SRC).put("content/posts/later.md", post("Later"))
        p.drain()
        home = site.read("index.html")
        assert b"Blocked" in home and b"Later" in home
        assert locks.get({"id": "site"})["lease_owner"] == ""


def test_the_lease_protocol_never_interleaves() -> None:
    with run_app(app) as p:
        table = p.table(LOCKS)
        a, b = blog_builder.Lease(table, "a"), blog_builder.Lease(table, "b")
        a.acquire()
        with pytest.raises(blog_builder.LeaseHeld):
            b.acquire()  # and asks a to run again
        assert a.release() is False  # a runs another pass for b's change
        with pytest.raises(blog_builder.LeaseHeld):
            b.acquire()
        assert a.release() is False
        assert a.release() is True
        b.acquire()
        with pytest.raises(blog_builder.LeaseLost):
            a.renew()
        with pytest.raises(blog_builder.LeaseLost):
            a.commit(99, "x", "ripple")
        # Both engines invoked at once on one site (build_incremental alone has reserved
        # concurrency 1, so the platform already queues its own runs): they never both build,
        # the site ends correct either way, and every pass moved the generation by one.
        from concurrent.futures import ThreadPoolExecutor

        b.abandon()
        gen0 = int(table.get({"id": "site"})["generation"])
        p.bucket(SRC).put("content/posts/both.md", post("Both"))
        with ThreadPoolExecutor(2) as ex:
            results = list(ex.map(lambda fn: p.invoke(fn, {}), ["build_incremental", "build_hugo"]))
        ok = [orjson.loads(r.payload) for r in results if r.function_error is None]
        failed = [orjson.loads(r.payload) for r in results if r.function_error is not None]
        assert ok and all(f["errorType"] == "LeaseHeld" for f in failed)
        assert int(table.get({"id": "site"})["generation"]) == gen0 + sum(r["passes"] for r in ok)
        p.drain()
        assert b"Both" in p.bucket(SITE).read("index.html")


def test_the_hugo_variant_builds_and_updates_the_same_site() -> None:
    with run_app(make_app("hugo")) as p:
        src, site = p.bucket(SRC), p.bucket(SITE)
        home = site.read("index.html")
        assert b"Hello, ripple" in home and b'content="Hugo' in home
        seq = p.client.log.latest()
        src.put("content/posts/from-hugo.md", post("From Hugo", "Built by the binary."))
        p.drain()
        assert b"From Hugo" in site.read("index.html")
        assert b"Built by the binary." in site.read("posts/from-hugo/index.html")
        assert site.head("posts/from-hugo/index.html").content_type == "text/html; charset=utf-8"
        put, _ = site_writes(p, seq)
        assert "css/style.css" not in put  # unchanged bytes are not uploaded again
        report = builds(p, "build_hugo")[-1]
        assert report["full"] and report["engine"] == "hugo"
        src.delete("content/posts/from-hugo.md")
        p.drain()
        assert not site.exists("posts/from-hugo/index.html")


def test_a_future_post_appears_when_its_date_passes_without_an_upload() -> None:
    # The sandbox builds with the real clock; the schedule's event carries the harness's virtual
    # time (2027-01-15), which a build takes when it is later. A post dated 2027-01-01 is in the
    # future for the upload's build and due at the first tick.
    with run_app(app) as p:
        src, site = p.bucket(SRC), p.bucket(SITE)
        if time.time() >= 1_798_761_600:  # 2027-01-01: the real clock has passed the post's date
            pytest.skip("the real clock is past the future post's date")
        src.put("content/posts/new-year.md", post("New year", "Published by the clock.", date="2027-01-01T00:00:00Z"))
        p.drain()
        assert not site.exists("posts/new-year/index.html") and b"New year" not in site.read("index.html")
        item = p.table(LOCKS).get({"id": "site"})
        assert float(item["next_change"]) == 1_798_761_600  # ripple.site reported when it comes due
        runs = len(builds(p))
        p.advance(60)  # the first tick
        assert b"Published by the clock." in site.read("posts/new-year/index.html")
        assert b"New year" in site.read("index.html")
        assert len(builds(p)) == runs + 1
        p.advance(120)  # later ticks find nothing due: no build, nothing written
        seq = p.client.log.latest()
        p.advance(60)
        assert len(builds(p)) == runs + 1 and site_writes(p, seq) == (set(), set())
