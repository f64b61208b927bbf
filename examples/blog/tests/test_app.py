from pathlib import Path

from ripple.runtime.loader import load_app
from ripple.testing import run_app

app = load_app(str(Path(__file__).parent.parent / "app.py"))

POST = b"---\ntitle: Fresh post\ndate: 2026-11-27T10:00:00Z\n---\nFresh words.\n"


def test_the_sample_site_is_built_and_a_new_post_appears():
    with run_app(app) as p:
        site = p.bucket("blog-site")
        assert b"Hello, ripple" in site.read("index.html")
        p.bucket("blog-src").put("content/posts/fresh.md", POST)
        p.drain()
        assert b"Fresh post" in site.read("index.html")
        assert b"Fresh words." in site.read("posts/fresh/index.html")
