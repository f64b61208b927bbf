"""blog: a blog. Markdown, layouts and assets in the bucket `blog-src` become a static site in the
website bucket `blog-site`, rebuilt on every upload. `ripple dev` runs it and serves the site.

The build step lives in blog_builder.py; docs: README.md.
"""

import os
from dataclasses import dataclass
from pathlib import Path

import blog_builder

from ripple import App, resources
from ripple.resources import Resource

#: Which engine builds the site: "ripple" (ripple.site, incremental, milliseconds per edit) or
#: "hugo" (the real Hugo binary, a full build per upload, as the original app did). Only one of the
#: two functions below is triggered by the source bucket; the other can still be invoked by hand.
ENGINE = os.environ.get("BLOG_ENGINE", "ripple")

NAMES = blog_builder.Names.for_app("blog")
#: The sample site uploaded to the source bucket on first start (BLOG_SEED=0: start empty).
SAMPLE = Path(__file__).parent / "site"
SEED = os.environ.get("BLOG_SEED", "1") != "0"

#: Settings of both build functions: a full build of a big site needs time and memory (Hugo
#: runs as a child process of the sandbox and counts against its memory).
BUILD = dict(timeout=300, memory_mb=1024, tmp_mb=1024)
#: How long object events are gathered before a build starts. None: a lone edit starts its build at
#: once, and everything that arrives while a build runs (concurrency 1) is taken by the next build in
#: one batch of up to 1000, so a burst from `ripple bucket cp -r` still becomes a few builds. A
#: window would add its length to every edit's latency.
BATCH_WINDOW_S = 0.0


def build_incremental(event, context):
    """Reconcile the source bucket and rebuild the site incrementally with ripple.site."""
    return blog_builder.handle(NAMES, "ripple", event)


def build_hugo(event, context):
    """Reconcile the source bucket, run Hugo into a fresh folder, publish what changed."""
    return blog_builder.handle(NAMES, "hugo", event)


@dataclass(frozen=True)
class SeededWebsite(Resource):
    """The website bucket, declared last: once every resource exists, an empty source bucket is
    filled with the sample site and built at once, so a fresh `ripple dev` serves a site."""

    engine: str = "ripple"

    def ensure(self, client) -> None:
        super().ensure(client)
        if SEED:
            blog_builder.seed(client, NAMES, self.engine, SAMPLE)


def make_app(engine: str = ENGINE) -> App:
    """The app, with the source bucket's trigger on the function of ``engine``."""
    if engine not in blog_builder.ENGINES:
        raise ValueError(f"BLOG_ENGINE must be one of {blog_builder.ENGINES}, not {engine!r}")
    app = App("blog")
    src = app.bucket(NAMES.src)
    app.bucket(NAMES.state)  # the generator's state (site.db), one object per generation
    app.table(NAMES.locks, hash_key="id:S")  # the lease and the current generation
    # app.bucket(NAMES.site, website=True, error="404.html"), declared with the seeding step:
    website = resources.bucket(NAMES.site, website=True, index="index.html", error="404.html")
    app._declare(SeededWebsite(website.kind, website.name, website.spec, engine=engine))

    active, other = (build_incremental, build_hugo) if engine == "ripple" else (build_hugo, build_incremental)
    # Object events are only a signal: a batch of up to 1000 changes (or what arrived within
    # BATCH_WINDOW_S) runs one build that reconciles against the bucket, and a batch whose changes
    # an earlier build already took costs one listing. Concurrency 1 queues the next batch behind
    # a running build; the lease guards against everything else (the other engine, invocations by
    # hand, a second host). Retries: soon, then after a dead holder's lease has gone stale.
    app.on_object(
        src,
        events=["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
        batch_size=1000,
        batch_window_s=BATCH_WINDOW_S,
        retry_delays_s=blog_builder.RETRY_DELAYS_S,
        concurrency=1,
        **BUILD,
    )(active)
    if engine == "ripple":
        # Future posts appear (and expired ones go) when their time comes, not at the next upload:
        # each minute's tick costs one read unless ripple.site said something comes due.
        app.schedule("rate(1 minute)")(active)
    app.function(**BUILD)(other)
    return app


app = make_app()
