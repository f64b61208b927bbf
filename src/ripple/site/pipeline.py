"""One build past its survey (see builder.py): model, find changed keys, render only affected outputs,
write, delete, commit.

Everything that can fail on bad input (parsing, templates, layouts) happens before the first byte is
written, so a failed build leaves the previous output and state exactly as they were.
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import orjson

from ripple.site import content as _content  # noqa: F401 - registers the model's FIELDS
from ripple.site import snapshot
from ripple.site.builder import BULK_OUTPUTS, SNAPSHOT_FILE, BuildResult, Survey
from ripple.site.config import load_config, model_view
from ripple.site.content import (
    _CACHED_FIELDS,
    CONTENT_EXTS,
    Page,
    Site,
    Source,
    build_site,
    derive_fields,
    home_titles,
)
from ripple.site.errors import BuildError
from ripple.site.fragments import Fragments, Row
from ripple.site.fragments import row as fragment_row
from ripple.site.index import FileInfo, readahead
from ripple.site.sources import load_data, load_sources, parse_rows, read_source
from ripple.site.state import State, dumps, id_namer, loads, naming
from ripple.site.tracking import (
    MISSING_DIGEST,
    TRACKER,
    Key,
    Missing,
    Tracked,
    digest,
    digest_bytes,
    key_from_json,
    resolve,
)
from ripple.site.writer import OutputWriter, Spool, Spooled

if TYPE_CHECKING:
    from ripple.site.config import SiteConfig
    from ripple.site.render import ContentCache, Producer, Slots
    from ripple.site.templates import Templates


class _Model:
    """A build's page model and what it was built from, for the next build of the same Builder."""

    def __init__(
        self,
        key: tuple[Any, ...],
        data_sig: tuple[Any, ...],
        site: Site,
        sources: dict[str, Source],
        now: datetime,
        order_digest: bytes,
        list_digests: dict[str, bytes],
        hashes: dict[str, bytes],
        previous: _Model | None = None,
    ) -> None:
        self.key = key
        #: content path (relative to content/) -> hash of the file version the model reflects; a
        #: snapshot can be several builds old, so edits are found against these, not the state's
        self.hashes = hashes
        self.data_sig = data_sig
        self.site = site
        self.sources = sources
        self.now = now
        self.order_digest = order_digest
        self.list_digests = list_digests
        #: the output specs and their producer strings, valid for one set of layout names
        self.specs: tuple[frozenset[str], dict[str, Any], dict[str, str]] | None = None
        self._pages_of: dict[str, list[Any]] | None = None
        if previous is not None:  # the same model carried forward
            self._pages_of = previous._pages_of
            self.specs = previous.specs
        # Committed: the next build stores only what it re-parses. A snapshot's sources that were
        # never unpickled are clean already.
        for src in sources.loaded() if isinstance(sources, snapshot.Sources) else sources.values():
            if src.dirty:
                src.dirty = False

    @property
    def pages_of(self) -> dict[str, list[Any]]:
        """Content path (relative to content/) -> the pages made from that file."""
        if self._pages_of is None:
            # ``file`` rather than ``source``: it names the source without unpickling a snapshot's.
            po: dict[str, list[Any]] = {}
            for p in self.site.pages:
                if p.file:
                    po.setdefault(p.file[len("content/") :], []).append(p)
            self._pages_of = po
        return self._pages_of

    def dump(self, path: Path, stamp: bytes) -> bool:
        """Write this model to ``path`` (see snapshot.py); False if it cannot be stored."""
        # Bodies are read from the files when needed, and the derived fields are on the pages (a
        # source without them is re-derived if the model is ever rebuilt from it): both would
        # double the file and the time to load it.
        saved = {rel: (s.body, s.fields, s.fields_config) for rel, s in self.sources.items()}
        for s in self.sources.values():
            s.body, s.fields, s.fields_config = None, None, b""
        try:
            return snapshot.dump(
                path,
                stamp,
                {
                    "key": self.key,
                    "data_sig": self.data_sig,
                    "site": self.site,
                    "sources": self.sources,
                    "now": self.now,
                    "order_digest": self.order_digest,
                    "list_digests": self.list_digests,
                    "hashes": self.hashes,
                    "specs": self.specs,
                },
            )
        finally:
            for rel, s in self.sources.items():
                s.body, s.fields, s.fields_config = saved[rel]

    @classmethod
    def load(cls, path: Path, stamp: bytes) -> _Model | None:
        parts = snapshot.load(path, stamp)
        if parts is None:
            return None
        m = cls(
            parts["key"],
            parts["data_sig"],
            parts["site"],
            parts["sources"],
            parts["now"],
            parts["order_digest"],
            parts["list_digests"],
            parts["hashes"],
        )
        m.specs = parts["specs"]
        return m


class _Build:
    def __init__(
        self,
        src: Path,
        out: Path,
        state: State,
        now: datetime,
        progress: Callable[[int, int], None] | None,
        survey: Survey,
    ) -> None:
        self.src = src
        self.out = out
        self.state = state
        self.now = now
        self.progress = progress
        #: what the build found before modelling anything (builder.survey), never unchanged
        self.survey = survey
        self.snapshots = True
        self.once = False  # see Builder
        #: where a leaving process's builds put what they made, never to be freed (see Builder)
        self.left: list[Any] | None = None
        #: the child writing the model snapshot (a pid), True when written here, None: none
        self.dumper: int | bool | None = None
        #: the page model of this Builder's last build (in), and of this build (out)
        self.previous_model: _Model | None = None
        self.model: _Model | None = None
        self.timings: dict[str, float] = {}
        #: for split renders: the state's keys by text (then the commit's), and the first id the
        #: state had not handed out; this process's key codes and tables (see _split)
        self.key_ids: dict[str, int] | None = None
        self.key_base = 0
        self.split_tables: list[tuple[dict[Key, int], _KeyTable]] = []
        self.spliced = 0
        #: a slot's fragment id -> (its partial's bytes, keys and ids read), this build
        self.slot_memo: dict[str, tuple[bytes, dict[Key, bytes], Any]] = {}
        #: a slot's fragment id -> the ids of every key its partial read (None: one is new to the state)
        self.slot_ids: dict[str, frozenset[int] | None] = {}
        #: for splices: whether a slot keeps its bytes, by fragment id, and the stored fragments'
        #: ids (see _slot_keeper); built on the first splice
        self.keeper: tuple[Callable[[str], bool], dict[str, bytes]] | None = None
        #: key text -> id from the state, one key at a time, where the split render loaded none
        self.lazy_ids: _LazyIds | None = None
        #: slots (fragment ids) found this build to read other keys than their stored fragment,
        #: and the same keys (see _reads_as_stored)
        self.slot_moved: set[str] = set()
        self.slot_as_stored: set[str] = set()
        #: where split renders put the outputs' bytes (see writer.Spool); closed by Builder.build
        self.spool: Spool | None = None

    def _lap(self, name: str, t: float) -> float:
        n = time.perf_counter()
        self.timings[name] = round(n - t, 4)
        return n

    def run(self, t0: float) -> BuildResult:
        st = self.state
        sv = self.survey
        full, env, prev_files, files, ov, inputs = sv.full, sv.env, sv.prev_files, sv.files, sv.overrides, sv.inputs
        internal = sv.internal
        t = time.perf_counter()
        if self.progress and full:
            self.progress(0, 0)  # a long build shows its bar from here, before the total is known

        from ripple.site.render import ContentCache
        from ripple.site.templates import Templates

        stamp = b"" if full else (st.get_meta("model_stamp") or b"")
        config, _ = load_config(self.src)
        # What the page model is built from: an edit of the site's title or params alone keeps it.
        model_digest = digest(model_view(config))
        if self.previous_model is None and stamp and self._snapshot_may_apply(files, prev_files, model_digest):
            # A new process: the last build's page model from its snapshot, if it is still the one
            # the state describes (see snapshot.py); _reuse then decides whether it applies.
            self.previous_model = _Model.load(st.path.parent / SNAPSHOT_FILE, stamp)
        order_digest = b""
        if ov:
            config = dataclasses.replace(config, **ov)
        data_sig = tuple((p, fi.hash) for p, fi in files.items() if p.startswith("data/"))
        content_paths = frozenset(
            p[len("content/") :] for p in files if p.startswith("content/") and p.endswith(CONTENT_EXTS)
        )
        model_key = (model_digest, tuple(sorted(ov.items())), content_paths)
        reused = None if full else self._reuse(model_key, data_sig, files, config)
        if reused is not None:
            m, edited = reused
            site, sources = m.site, m.sources
            parse_cache = {"content/" + rel: (files["content/" + rel].hash, b"") for rel in sources}
            parse_cache, decoded = parse_rows(edited, parse_cache)
            order_digest, list_digests = m.order_digest, m.list_digests
        else:
            sources, parse_cache = load_sources(
                self.src, files, (lambda p, h: None) if full else st.decoded, folder=st.path.parent
            )
            data = load_data(self.src, files)
            site = build_site(config, sources, data, self.now, model_digest)
            parse_cache, decoded = parse_rows(sources, parse_cache)
            # Neighbours (prev/next) only change when the order of published pages does.
            order_digest = digest([p.id for p in site.regular_pages])
            # Pager and member-list keys of a list page only change when its lists do.
            list_digests = {
                p.id: digest(
                    [[q.id for q in seq] for seq in (p.pages, p.regular_pages, p.regular_pages_recursive, p.sections)]
                )
                for p in site.pages
                if p.kind != "page"
            }
        self.model = _Model(
            model_key,
            data_sig,
            site,
            sources,
            self.now,
            order_digest,
            list_digests,
            reused[0].hashes if reused else {rel: files["content/" + rel].hash for rel in sources},
            reused and reused[0],
        )
        if reused is None:
            stamp = b""  # a new model: the snapshot on disk (if any) no longer describes it
        t = self._lap("model", t)

        layouts = {p[len("layouts/") :]: self.src / p for p in files if p.startswith("layouts/")}
        tpl_digests = dict(internal)
        tpl_digests.update({p[len("layouts/") :]: fi.hash for p, fi in files.items() if p.startswith("layouts/")})
        site_proxy = Tracked(("site",), site)
        templates = Templates(layouts, tpl_digests, site_proxy, config, st.path.parent / "jinja")

        def roots(key: Key) -> tuple[Any, tuple[Any, ...]]:
            if key[0] == "p":
                page = site.by_id.get(key[1])
                if page is None:
                    raise Missing
                return page, key[2:]
            if key[0] == "site":
                return site, key[1:]
            raise Missing

        memo = TRACKER.memo

        def current(key: Key) -> bytes:
            d = memo.get(key)
            if d is None:
                d = tpl_digests.get(key[1], MISSING_DIGEST) if key[0] == "tpl" else resolve(key, roots)
                memo[key] = d
            return d

        def make_renderer() -> Any:
            # Imported on first use: a build that renders no markdown never loads markdown-it/Pygments.
            from ripple.site.markdown import Renderer

            return Renderer(
                style=config.highlight_style,
                no_classes=config.highlight_no_classes,
                toc_start=config.toc_start,
                toc_end=config.toc_end,
                toc_ordered=config.toc_ordered,
                summary_length=config.summary_length,
            )

        md_env = digest(
            [
                env.hex(),
                config.highlight_style,
                config.highlight_no_classes,
                config.toc_start,
                config.toc_end,
                config.toc_ordered,
                config.summary_length,
            ]
        )
        cc = ContentCache(
            self.src,
            site,
            templates,
            make_renderer,
            md_env,
            lambda f: files[f].hash,
            (lambda pid: None) if full else _ContentRows(st),
            current,
        )
        site.content_fn = cc

        # Which recorded keys changed since the last build. Keys that cannot have changed (a page's
        # own fields when its file did not change, neighbours when the order did not) are not loaded.
        changed_ids: dict[int, bytes] = {}
        if not full:
            if st.get_meta("model_config") == model_digest:
                # The same model config, so page-local keys of untouched pages are as they were (a
                # changed site title reaches the home page's, which is always checked).
                touched = [
                    "page:" + p[len("content/") :]
                    for p in set(files) ^ set(prev_files)
                    | {p for p, fi in files.items() if p in prev_files and prev_files[p][2] != fi.hash}
                    if p.startswith("content/")
                ]
                old_lists = loads(st.get_meta("lists") or dumps({}))
                moved = [pid for pid, d in list_digests.items() if old_lists.get(pid) != d]
                moved += [pid for pid in old_lists if pid not in list_digests]
                rows_ = st.keys_to_check(touched, st.content_with_deps(), st.get_meta("order") != order_digest, moved)
            else:
                rows_ = st.all_keys()
            for i, text, stored in rows_:
                d = current(key_from_json(orjson.loads(text)))
                if d != stored:
                    changed_ids[i] = d
        t = self._lap("verify", t)
        # Partials kept from the last build, valid when none of the keys they read changed.
        templates.fragments = (
            Fragments(lambda: {}, frozenset())
            if full
            else Fragments(st.fragments, frozenset(changed_ids), st.fragment, st.fragments_checked)
        )
        templates.runs = None if full else st.runs

        prev = {} if full and st.fresh else st.outputs()
        result = self._outputs(site, templates, site_proxy, prev, full, changed_ids, cc)
        t = self._lap("render", t)
        outputs, to_write, rendered = result
        outputs.update(self._static(files, prev, outputs, to_write, full))

        stale = sorted(p for p in prev if p not in outputs)
        rendered_outputs = [o for o in outputs.values() if not isinstance(o, _Kept)]
        bulk = full or len(rendered_outputs) > BULK_OUTPUTS
        if not stamp and self.snapshots and bulk:
            # Only after builds that rendered much anyway: writing the snapshot costs ~0.6 s at
            # 10k pages, more than a small edit's whole build. In a child process when possible,
            # while this one writes outputs and commits. The order of the snapshot file and the
            # commit naming its stamp does not matter: a stamp without its file, or a file under
            # another stamp (a crash, a failed child), is only a snapshot the next build ignores.
            stamp = os.urandom(16)
            self.dumper = self._dump_snapshot(stamp)
            if self.dumper is None:
                stamp = b""
            t = self._lap("snapshot", t)
        # From here on we write: mark the state dirty so an interrupted write forces a full rebuild.
        # Many files are written by another process (writer.py) while the state's rows are
        # worked out and inserted; the commit that marks the state clean waits for it.
        st.set_dirty(True)
        writer = OutputWriter(self.out, to_write, stale, prev, self.spool)
        writer.start()
        t = self._lap("write", t)  # all of the writing, or only handing it to a writer process
        if self.left is not None:
            self.left.append(locals())  # see Builder(leaving=True)
        try:
            return self._commit(
                t,
                t0,
                writer,
                site=site,
                templates=templates,
                outputs=outputs,
                to_write=to_write,
                stale=stale,
                rendered=rendered,
                full=full,
                bulk=bulk,
                stamp=stamp,
                env=env,
                model_digest=model_digest,
                order_digest=order_digest,
                list_digests=list_digests,
                inputs=inputs,
                files=files,
                prev_files=prev_files,
                parse_cache=parse_cache,
                decoded=decoded,
                cc=cc,
                changed_ids=changed_ids,
                reused=reused,
            )
        finally:
            # On success commit() has waited already; on a failure the writer is still reaped, and
            # its error (if any) is the lesser news.
            try:
                writer.wait()
            except OSError:
                pass

    def _waited(self, writer: OutputWriter) -> None:
        # Timings: how long the commit waited for a writer process (the rest of the writing
        # overlapped the rows and inserts).
        t = time.perf_counter()
        writer.wait()
        self._lap("write_wait", t)

    def _commit(
        self,
        t: float,
        t0: float,
        writer: OutputWriter,
        *,
        site: Site,
        templates: Templates,
        outputs: dict[str, Any],
        to_write: dict[str, bytes | Spooled],
        stale: list[str],
        rendered: int,
        full: bool,
        bulk: bool,
        stamp: bytes,
        env: bytes,
        model_digest: bytes,
        order_digest: bytes,
        list_digests: dict[str, bytes],
        inputs: bytes,
        files: dict[str, FileInfo],
        prev_files: dict[str, Any],
        parse_cache: dict[str, Any],
        decoded: dict[str, Any],
        cc: ContentCache,
        changed_ids: dict[int, bytes],
        reused: Any,
    ) -> BuildResult:
        """The state's new rows, committed once ``writer`` has written every output (its OSError is
        raised, with the state left dirty). Runs while the writer thread writes."""
        st = self.state

        # Keys: ids for new ones, fresh digests for changed ones; unreferenced ones are dropped by a
        # bulk build once enough may have died (see _Sweeps; a dead key is only re-checked, never wrong).
        key_ids = self.key_ids  # loaded already for a split render
        if key_ids is None:
            key_ids = {} if full else (st.key_ids() if bulk else _LazyIds(st))
        next_id = st.max_key_id() + 1 if not full else 1
        # ~800k key reads over ~16k outputs in a bulk build: only keys met for the first time go
        # through the loops below; each output's ids are then gathered with map() over the memos.
        new_keys: dict[int, tuple[str, bytes, str, int]] = {}
        rows: dict[str, tuple[bytes, str, bytes, str, bytes]] = {}
        id_memo: dict[Key, int] = {}
        sweeps = _Sweeps.read(st, full)
        sweeps.deleted += len(stale)
        sweep = bulk and not full and sweeps.due(len(key_ids), len(outputs))
        referenced: set[int] = set()
        tables: set[_KeyTable] = set()  # of split renders' outputs, whose old ids they list
        before = st.outputs() if not full else {}
        for path, o in outputs.items():
            if isinstance(o, _Kept):
                continue
            if o.same:
                # A splice whose slots read what they read before: the last build's ids, new places.
                row = before[path]
                only = sorted(row.slot_info()[0])
                rows[path] = (o.hash, o.producer, row.deps, ",".join(sorted(o.flags)), orjson.dumps([only, o.slots[0]]))
                if sweep:
                    referenced |= row.dep_ids()
                continue
            if type(o) is _Remote:
                # Its process sorted the old ids already (_row_ids): only keys new to the state get
                # ids here, in the order the outputs read them, as a one-process build hands them out.
                tab = o.table
                res = tab.resolve
                head, new, s_head, s_new, where_json = o.pre
                for c in new:
                    if res[c] is None:
                        kt = tab.keys[c - tab.base]
                        i = key_ids.get(kt[0])  # new to the state, unless an earlier output had it
                        if i is None:
                            i = next_id
                            next_id += 1
                            key_ids[kt[0]] = i
                            new_keys[i] = kt
                        res[c] = i
                new_ids = [res[c] for c in new]
                slots = b""
                if s_head is not None:
                    slots = b"[" + _close_ids(s_head, [res[c] for c in s_new]) + b"," + where_json + b"]"
                if sweep:
                    tables.add(tab)
                    referenced.update(new_ids)  # type: ignore[arg-type]
                rows[path] = (o.hash, o.producer, _close_ids(head, new_ids), ",".join(sorted(o.flags)), slots)  # type: ignore[arg-type]
                continue
            for k in [k for k in o.deps if k not in id_memo]:
                text = orjson.dumps(k).decode()
                i = key_ids.get(text)
                if i is None:
                    i = next_id
                    next_id += 1
                    key_ids[text] = i
                    new_keys[i] = (text, o.deps[k], *_classify(k))
                id_memo[k] = i
            got = set(map(id_memo.__getitem__, o.deps))
            to_id = id_memo.__getitem__
            slots = b""
            if o.slots is not None:
                where, only, only_ids, own_ids = o.slots
                slots = orjson.dumps([sorted(_in_slots(got, set(map(to_id, only)), only_ids, own_ids)), where])
            if o.ids:
                got.update(o.ids)
            if sweep:
                referenced |= got
            rows[path] = (o.hash, o.producer, orjson.dumps(sorted(got)), ",".join(sorted(o.flags)), slots)
        frag_rows = _fragment_rows(templates.fragments, id_memo, key_ids, self.split_tables)
        # Unreferenced keys are swept when the full id map was loaded anyway (a dead key is only
        # re-checked now and then, never wrong).
        dead: set[int] = set()
        if sweep:
            for tab in tables:
                referenced |= tab.read
            for o in outputs.values():
                if isinstance(o, _Kept):
                    referenced.update(o.row.dep_ids())
            dead = {i for i in key_ids.values() if i not in referenced}
        if sweep or full:
            sweeps = _Sweeps(len(key_ids) - len(dead), 0, 0)  # key_ids has the new keys by now
        elif bulk:
            sweeps.bulk += 1
        live_content = {p.id for p in site.pages if p.file}  # the pages with a source
        new_files = {p: (fi.size, fi.mtime, fi.hash) for p, fi in files.items()}
        t = self._lap("rows", t)
        if self.left is not None:
            self.left.append(dict(vars(st)))  # the in-memory copies the commit lets go of
        st.commit(
            before_commit=lambda: self._waited(writer),
            meta={
                "env": env,
                "model_config": model_digest,
                "order": order_digest,
                "lists": dumps(list_digests),
                "inputs": inputs,
                "model_now": self.now.isoformat().encode(),
                "next_change": site.next_change.isoformat().encode() if site.next_change else b"",
                "model_stamp": stamp,
                "sweeps": sweeps.encode(),
            },
            files={p: v for p, v in new_files.items() if prev_files.get(p) != v},
            gone_files=[p for p in prev_files if p not in new_files],
            parsed=parse_cache,
            decoded=decoded,
            content=cc.new,
            content_live=live_content,
            new_keys=new_keys,
            changed_keys={i: d for i, d in changed_ids.items() if i not in dead},
            dead_keys=dead,
            outputs=rows,
            deleted=stale,
            fragments=frag_rows,
            reset=full,
            remember=not self.once,
        )
        self._lap("commit", t)
        if self.left is not None:
            self.left.append(locals())
        return BuildResult(
            outputs=len(outputs),
            written=sorted(to_write),
            deleted=stale,
            rendered=rendered,
            markdown_rendered=cc.rendered,
            full=full,
            seconds=time.perf_counter() - t0,
            next_change=site.next_change,
            timings=self.timings,
            model="built" if reused is None else "reused",
            fragments_reused=templates.fragments.hits if templates.fragments else 0,
            spliced=self.spliced,
        )

    def _snapshot_may_apply(self, files: dict[str, FileInfo], prev: dict[str, Any], model_digest: bytes) -> bool:
        """False when the snapshot surely cannot be reused (see :meth:`_reuse`), so a new process need
        not load it (~0.15 s at 10k pages): the config or the set of content files changed, or a
        changed file's front matter differs from its cached parse. Only a shortcut: True is always
        safe, since _reuse checks everything again against the loaded model."""
        if self.state.get_meta("model_config") != model_digest:
            return False
        moved = 0
        for path, fi in files.items():
            if not path.startswith("content/") or not path.endswith(CONTENT_EXTS):
                continue
            old = prev.get(path)
            if old is None:
                return False
            if old[2] != fi.hash:
                moved += 1
                if moved > 50:
                    return True  # many edits: let _reuse decide on the loaded model
                parse = self.state.decoded_one(path, old[2])
                if parse is not None:
                    was, fm = parse[0], read_source(self.src, path[len("content/") :], (parse[1], parse[0])).fm
                    if any(k not in _FM_TEXT_ONLY for k in was.keys() | fm.keys() if was.get(k) != fm.get(k)):
                        return False
        return all(p in files for p in prev if p.startswith("content/") and p.endswith(CONTENT_EXTS))

    def _reuse(
        self, key: tuple[Any, ...], data_sig: tuple[Any, ...], files: dict[str, FileInfo], config: SiteConfig
    ) -> tuple[_Model, dict[str, Source]] | None:
        """The previous build's page model, if this build's would be equal to it: same config (but
        for its presentation fields, swapped in here, see config.model_view) and set of content
        files, only bodies edited (front matter equal, or changed in title-like keys only, see
        :func:`_patchable`), and no publish or expiry date passed since. Edits are found against
        the file versions the model reflects (``m.hashes``), which for a snapshot can be older than
        the last build. Data files only feed ``site.data``, so a data edit swaps that in. Returns it
        with the edited files' new parses (already swapped into the model's pages), or None: build
        the model anew."""
        m = self.previous_model
        if m is None or m.key != key or self.now < m.now:
            return None
        if m.site.next_change is not None and self.now >= m.site.next_change:
            return None
        if m.site.config != config:  # in presentation fields only (the key holds the rest)
            home = m.site.home
            if m.site.lazy is not None:
                m.site.lazy.load_page(home)
            if home_titles(home, config) != (home.title, home.link_title):
                return None  # the home page's title comes from the site's: it sorts, and names menu entries
        edited: dict[str, Source] = {}
        patched: dict[str, Page] = {}
        for rel in m.sources:
            path = "content/" + rel
            if m.hashes.get(rel) != files[path].hash:
                old = m.sources[rel]
                new = read_source(self.src, rel, (old.text, old.fm))
                if new.fm is not old.fm and new.fm != old.fm:
                    tmp = _patchable(m, rel, new)
                    if tmp is None:
                        return None
                    patched[rel] = tmp
                edited[rel] = new
        for rel, new in edited.items():
            old = m.sources[rel]
            m.sources[rel] = new
            m.hashes[rel] = files["content/" + rel].hash
            tmp = patched.get(rel)
            if tmp is None:
                # Derived fields depend on the front matter, path and config alone: all unchanged.
                new.fields, new.fields_config = old.fields, old.fields_config
            for page in m.pages_of.get(rel, ()):
                page.source = new
                if tmp is not None:
                    if m.site.lazy is not None:  # a snapshot's page: its stored fields first
                        m.site.lazy.load_page(page)
                    for f in _PATCHED:
                        setattr(page, f, getattr(tmp, f))
                    page.fm = new.fm
                    page.skey = None
        if m.data_sig != data_sig:
            m.site.data = load_data(self.src, files)
            m.data_sig = data_sig
        m.site.now = self.now
        m.site.config = config
        return m, edited

    def _outputs(
        self,
        site: Site,
        templates: Templates,
        site_proxy: Tracked,
        prev: dict[str, Any],
        full: bool,
        changed_ids: dict[int, bytes],
        cc: ContentCache,
    ) -> tuple[dict[str, Any], dict[str, bytes | Spooled], int]:
        from ripple.site import parallel
        from ripple.site.render import OutputRenderer, output_specs, pager_specs

        r = OutputRenderer(site, templates, site_proxy)
        names = frozenset(templates.files)
        cached = self.model.specs if self.model is not None else None
        if cached is not None and cached[0] == names:
            specs, producers = cached[1], cached[2]
        else:
            specs = output_specs(site, templates)
            producers = {path: orjson.dumps(prod).decode() for path, prod in specs.items()}
            if self.model is not None:
                self.model.specs = (names, specs, producers)
        outputs: dict[str, Any] = {}
        to_write: dict[str, bytes | Spooled] = {}
        changed = set(changed_ids)
        # With very few changed keys (a body edit: 2-4), the rows that read one are found by a
        # substring search over all id lists at once (see _rows_reading). With a few more, a regex
        # over each row's id list (orjson text, "[1,2,3]") still rules out almost every row without
        # decoding it (16k rows: ~60-80 ms instead of ~90-130 ms).
        hit_rows = _rows_reading(prev, changed) if not full and 0 < len(changed) <= _FEW_KEYS else None
        hits = (
            re.compile(rb"[\[,](?:" + b"|".join(str(i).encode() for i in sorted(changed)) + rb")[,\]]").search
            if hit_rows is None and 0 < len(changed) <= 256
            else None
        )
        # Whether a stored row read none of the changed keys: one test, chosen once (all three are
        # exact; the regex matches whole ids between the list's brackets and commas).
        untouched: Callable[[str, Any], bool]
        if hit_rows is not None:
            untouched = lambda path, row: path not in hit_rows  # noqa: E731
        elif hits is not None:
            untouched = lambda path, row: hits(row.deps) is None  # noqa: E731
        else:
            untouched = lambda path, row: changed.isdisjoint(row.dep_ids())  # noqa: E731
        count = [0]
        total = len(specs)
        if self.progress and full:
            self.progress(0, total)  # a small build shows none: its first report comes at 200 outputs
        fork = parallel.available()
        folder = self.state.path.parent

        if full and fork:
            # Every page's markdown is needed (its own page, summaries in lists and feeds): render
            # it first, half in each process, so the outputs below find it all in the memo.
            with_source = [p for p in site.pages if p.kind == "page" and p.source is not None and p.id not in cc.memo]
            if len(with_source) >= parallel.MIN_ITEMS:
                _, _, extra = parallel.split_map(
                    with_source,
                    cc,
                    # Fenced code costs Pygments time: weigh pages by their body's size.
                    weights=[p.source.body is None or len(p.source.body) for p in with_source],
                    child_result=lambda _: {pid: row for pid, row in cc.new.items()},
                    folder=folder,
                )
                for pid, row in extra.items():
                    if pid not in cc.new:
                        cc.new[pid] = row
                        cc.memo[pid] = loads(row[3])
                        cc.rendered += 1

        #: outputs whose changed keys were all read inside their slots: spliced, not rendered
        splice_rows: dict[str, Any] = {}

        def kept(path: str, prod: Producer) -> _Kept | None:
            if full:
                return None
            row = prev.get(path)
            if row is not None and row.producer == (producers.get(path) or orjson.dumps(prod).decode()):
                if not changed or untouched(path, row):
                    k = row.kept
                    if k is None:
                        k = row.kept = _Kept(row)
                    return k
                info = row.slot_info()
                if info is not None and changed.intersection(row.dep_ids()) <= info[0]:
                    splice_rows[path] = row
            return None

        def render(item: tuple[str, Producer]) -> tuple[Any, bytes | None]:
            path, prod = item
            row = prev.get(path)
            got = self._splice(path, splice_rows[path], r) if path in splice_rows else None
            same = False
            if got is not None:
                data, deps, ids, slots, same = got
                flags = _flags(row)
                self.spliced += 1
            else:
                data, deps, flags, ids, slots = r.render(prod)
            h = digest_bytes(data)
            if self.progress:
                count[0] += 1
                if count[0] % 200 == 0:
                    self.progress(min(count[0], total), total)
            ps = producers.get(path) or orjson.dumps(prod).decode()
            return _New(h, ps, deps, flags, ids, slots, same), (data if full or row is None or row.hash != h else None)

        def weight(prod: Producer) -> float:
            # Rough relative costs, to split the work evenly between two processes.
            kind = prod[0]
            if kind == "rss":
                p = site.by_id[prod[1]]
                n = len(site.regular_pages if p.kind == "home" else p.regular_pages_recursive or p.pages)
                limit = site.config.rss_limit
                return 1 + 0.5 * (min(n, limit) if limit > 0 else n)
            if kind == "list":
                return 1 + site.config.pager_size
            if kind == "sitemap":
                return 1 + 0.2 * len(site.pages)
            return 1 if kind == "page" else 0.2

        def batch(items: list[tuple[str, Producer]]) -> None:
            spliced = [path for path, _ in items if path in splice_rows]
            if spliced:
                self._slot_keeper(templates)  # once, before a split: both processes use it
            if len(spliced) >= _READAHEAD_MIN:
                # Each splice reads its old file, cold after an edit that touches every page. One
                # read at a time waits on the disk for each (16k files: ~2 s here); queued
                # together first, the disk serves them in ~0.2 s and the reads find them cached.
                readahead(self.out, spliced)
            if fork and len(items) >= parallel.MIN_ITEMS:
                # Feeds in the child's queue: they list the same pages, whose item partials one
                # process then renders once and replays (in both processes: ~10k items twice).
                sides = [prod[0] == "rss" for _, prod in items]
                results = self._split(items, render, cc, parallel, [weight(p) for _, p in items], sides, full)
            else:
                results = [render(x) for x in items]
            for (path, _), (o, data) in zip(items, results, strict=True):
                outputs[path] = o
                if data is not None:
                    to_write[path] = data
            rendered[0] += len(items)

        rendered = [0]
        todo: list[tuple[str, Producer]] = []
        for path, prod in specs.items():
            k = kept(path, prod)
            outputs[path] = k  # a placeholder until rendered: outputs keep the specs' order
            if k is None:
                todo.append((path, prod))
        batch(todo)
        lists = [prod[1] for path, prod in specs.items() if prod[0] == "list" and "paginate" in outputs[path].flags]
        todo = []
        for pid in lists:
            for path, prod in pager_specs(site, pid).items():
                if path not in specs:
                    k = kept(path, prod)
                    outputs[path] = k
                    if k is None:
                        todo.append((path, prod))
        batch(todo)
        if self.progress:
            self.progress(total, total)
        return outputs, to_write, rendered[0]

    def _splice(self, path: str, row: Any, r: Any) -> tuple[bytes, dict[Key, bytes], set[int], Slots, bool] | None:
        """An output whose changed keys were all read inside its slots, made from its file: each
        slot's bytes replaced by its partial's text now (rendered once per build and argument, or
        taken from the stored fragments). Returns (bytes, keys read, ids read, slots) as a render
        does, and whether the slots read the very keys they read before (the usual case: a new
        title among the same ten posts), when the row keeps its ids and only the places change
        (no keys nor ids are returned then). None when it must be rendered instead: the file is
        gone or not the bytes the state recorded (edited by hand), a slot's argument no longer
        exists, the row's slots do not decode, or a partial fails.

        A slot whose stored fragment reads no key that changed keeps its bytes (they are its text
        now, by the rule that keeps a whole output): a feed's unchanged items are not looked up.
        Unless every slot rendered again read the very keys its stored fragment did (so the row
        keeps its ids), the splice is made again with every slot's text."""
        try:
            with open(os.path.join(self.out, path), "rb") as f:
                data = f.read()
        except OSError:
            return None
        if digest_bytes(data) != row.hash:
            return None
        got = self._spliced(data, row, r, True)
        return self._spliced(data, row, r, False) if got is False else got

    def _spliced(
        self, data: bytes, row: Any, r: Any, keep_bytes: bool
    ) -> tuple[bytes, dict[Key, bytes], set[int], Slots, bool] | Literal[False] | None:
        """:meth:`_splice` of the output's checked bytes ``data``, keeping the bytes of unchanged
        slots if ``keep_bytes``; False when some were kept but a slot rendered again read other
        keys than its stored fragment, or one known to (then at once: E6's new post in every
        sidebar would otherwise cost each page two passes)."""
        only, where = row.slot_info()
        own_ids = set(row.dep_ids() - only)
        memo = self.slot_memo
        pieces: list[bytes] = []
        offsets: list[tuple[int, int, str]] = []
        made: list[tuple[bytes, dict[Key, bytes], Any]] = []
        fetched: list[str] = []
        keep = self._slot_keeper(r.t)[0] if keep_bytes else lambda fid: False
        pos = size = 0
        # Any failure, a partial's error or a row that does not decode as it should, renders the
        # output instead: the render reports a partial's error with its file and line.
        try:
            for start, end, fid in where:
                if not pos <= start <= end <= len(data):
                    return None
                if keep(fid):
                    pieces.append(data[pos:end])
                    size += end - pos
                    offsets.append((size - (end - start), size, fid))
                    pos = end
                    continue
                if keep_bytes and fid in self.slot_moved:
                    return False
                fetched.append(fid)
                got = memo.get(fid)
                if got is None:
                    tname, ck = orjson.loads(fid)
                    ctx = r.slot_context(ck)
                    if ctx is None:
                        return None
                    text, sdeps, sids, _ = r.t.partial_parts(tname, ctx[0])
                    got = memo[fid] = (str(text).encode(), sdeps, sids)
                b = got[0]
                pieces.append(data[pos:start])
                size += start - pos
                offsets.append((size, size + len(b), fid))
                pieces.append(b)
                size += len(b)
                pos = end
                made.append(got)
        except Exception:
            return None
        pieces.append(data[pos:])
        data = b"".join(pieces)
        if len(fetched) < len(where):
            if self._reads_as_stored(fetched):
                return data, {}, set(), (offsets, [], set(), set()), True
            return False
        if self.key_ids is not None:  # a split render: every key the state has, by text
            read: set[int] = set()
            for _, _, fid in where:
                ids = self._slot_key_ids(fid)
                if ids is None:
                    break
                read |= ids
            else:
                if read - own_ids == only:
                    return data, {}, set(), (offsets, [], set(), set()), True
        deps: dict[Key, bytes] = {}
        slot_ids: set[int] = set()
        for _, sdeps, sids in made:
            deps.update(sdeps)
            slot_ids.update(sids)
        return data, deps, own_ids | slot_ids, (offsets, list(deps), slot_ids - own_ids, own_ids), False

    def _slot_keeper(self, t: Templates) -> tuple[Callable[[str], bool], dict[str, bytes]]:
        """(``fid -> bool``: whether a slot's bytes in an old output are still its partial's text,
        its stored fragment naming no key that changed; every stored fragment's ids), built once
        per build. The commit drops every fragment naming a changed key that it does not store
        anew, and an output holding a slot read that slot's ids, so it was written again whenever
        the fragment was; hence the bytes at its place are the fragment's text."""
        if self.keeper is None:
            frags = t.fragments
            changed = set(frags.changed) if frags is not None else set()
            blobs = self.state.fragment_ids()
            named = id_namer(changed) if changed else (lambda blob: False)
            seen: dict[str, bool] = {}

            def keep(fid: str) -> bool:
                k = seen.get(fid)
                if k is None:
                    blob = blobs.get(fid)
                    k = seen[fid] = blob is not None and not named(blob)
                return k

            self.keeper = (keep, blobs)
        return self.keeper

    def _reads_as_stored(self, fids: list[str]) -> bool:
        """Whether each of these slots (in slot_memo) read this build the keys its stored fragment
        read (ids compared); False when one has no stored fragment or reads a key new to the state."""
        assert self.keeper is not None  # built by the splice that asks
        blobs = self.keeper[1]
        for fid in fids:
            if fid in self.slot_as_stored:
                continue
            blob = blobs.get(fid)
            ids = self._slot_key_ids(fid)
            try:
                same = blob is not None and ids is not None and ids == frozenset(orjson.loads(blob))
            except (orjson.JSONDecodeError, TypeError):
                same = False
            if not same:
                self.slot_moved.add(fid)
                return False
            self.slot_as_stored.add(fid)
        return True

    def _slot_key_ids(self, fid: str) -> frozenset[int] | None:
        """The state's ids of every key a slot's partial read this build (see slot_memo), or None
        when one is new to the state; once per fragment id and process."""
        if fid in self.slot_ids:
            return self.slot_ids[fid]
        _, sdeps, sids = self.slot_memo[fid]
        known: Any = self.key_ids
        if known is None:
            if self.lazy_ids is None:
                self.lazy_ids = _LazyIds(self.state)
            known = self.lazy_ids
        got = set(sids)
        for k in sdeps:
            i = known.get(orjson.dumps(k).decode())
            if i is None:
                self.slot_ids[fid] = None
                return None
            got.add(i)
        self.slot_ids[fid] = ids = frozenset(got)
        return ids

    def _dump_snapshot(self, stamp: bytes) -> int | bool | None:
        """Write the model's snapshot under ``stamp``: in a forked child when possible (returns its
        pid, for :func:`parallel.wait`), else here (True, or None when it cannot be stored)."""
        from ripple.site import parallel

        assert self.model is not None
        path = self.state.path.parent / SNAPSHOT_FILE
        if parallel.available():
            # At a lower priority: the build's own rows, commit and writer come first on the two
            # cores (the snapshot only speeds up the next build). E6 at 10k posts, in-process,
            # three runs each: 6.09-6.56 -> 5.67-6.03 s.
            return parallel.spawn(lambda: (os.nice(10), self.model.dump(path, stamp))[1])  # type: ignore[union-attr]
        return True if self.model.dump(path, stamp) else None

    def _in_child(self) -> None:
        if self.spool is not None:
            self.spool.as_side(1)
        self.state.reconnect()
        self.progress = None  # the parent reports progress; the terminal is not the child's

    def _split(
        self,
        items: list[tuple[str, Producer]],
        render: Callable[..., Any],
        cc: ContentCache,
        parallel: Any,
        weights: list[float],
        sides: list[bool],
        full: bool,
    ) -> list[tuple[Any, bytes | None]]:
        """``render`` over ``items`` in two processes; each output comes back with its keys as codes
        of its process's :class:`_KeyTable`, and the markdown the child rendered joins ``cc``."""
        before = set(cc.new)
        spliced = self.spliced
        fragments = cc.t.fragments
        assert fragments is not None
        frags_before = set(fragments.new)
        if self.key_ids is None:
            # Every key the state has, by text: loaded here rather than by the commit, so that both
            # processes map the keys they read to ids as they render (the bulk of a commit's key
            # work, otherwise done by this process alone after the render).
            self.key_ids = {} if full else self.state.key_ids()
            self.key_base = 0 if full else self.state.max_key_id() + 1
        known, base = self.key_ids, self.key_base
        codes: dict[Key, int] = {}
        table: list[tuple[str, bytes, str, int]] = []
        read: set[int] = set()  # the ids under base this process's outputs read (for the sweep)
        if self.spool is None:
            self.spool = Spool.open()
        spool = self.spool

        def work(item: tuple[str, Producer]) -> tuple[Any, ...]:
            # In each process, as it renders (the queue balances the cost, see split_map).
            o, data = render(item)
            if data is not None and spool is not None:
                data = spool.put(data)
            deps = o.deps
            for k in [k for k in deps if k not in codes]:
                text = orjson.dumps(k).decode()
                i = known.get(text)
                if i is None:
                    codes[k] = base + len(table)
                    table.append((text, deps[k], *_classify(k)))
                else:
                    codes[k] = i
            sl = o.slots
            if sl is not None:
                sl = (sl[0], [codes[k] for k in sl[1]], sorted(sl[2]), sorted(sl[3]))
            idx = list(map(codes.__getitem__, deps))
            pre = None if o.same else _row_ids(idx, o.ids, sl, base, read)
            return o.hash, o.producer, sorted(o.flags), data, sl, o.same, pre

        def child_result(outs: list[tuple[Any, ...]]) -> Any:
            frags = []
            for fid, (text, deps, ids) in fragments.new.items():
                if fid not in frags_before:
                    frags.append((fid, text, [codes[k] for k in deps if k in codes], len(deps), sorted(ids)))
            md = {pid: row for pid, row in cc.new.items() if pid not in before}
            return table, outs, md, frags, self.spliced - spliced, read

        results, theirs, (their_table, outs, md, frags, their_spliced, their_read) = parallel.split_map(
            items,
            work,
            weights=weights,
            sides=sides,
            child_setup=self._in_child,
            child_result=child_result,
            folder=self.state.path.parent,
        )
        self.spliced += their_spliced
        mine = _KeyTable(table, base, read)
        self.split_tables.append((codes, mine))
        for i, r in enumerate(results):
            if r is not None:
                h, producer, flags, data, sl, same, pre = r
                results[i] = (_Remote(h, producer, mine, set(flags), sl, same, pre), data)
        keys = _KeyTable(their_table, base, their_read)
        for i, (h, producer, flags, data, sl, same, pre) in zip(theirs, outs, strict=True):
            results[i] = (_Remote(h, producer, keys, set(flags), sl, same, pre), data)
        for fid, text, idx, n, ids in frags:
            # A fragment whose keys all reached the child's outputs (so they get ids); else not kept.
            if fid not in fragments.new and len(idx) == n:
                texts = [their_table[c - base][0] for c in idx if c >= base]
                fragments.remote[fid] = (text, texts, [*ids, *(c for c in idx if c < base)])
        for pid, row in md.items():
            if pid not in cc.new:
                cc.new[pid] = row
                cc.rendered += 1
        return results

    def _static(
        self,
        files: dict[str, FileInfo],
        prev: dict[str, Any],
        outputs: dict[str, Any],
        to_write: dict[str, bytes | Spooled],
        full: bool,
    ) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        for path, fi in files.items():
            if not path.startswith("static/"):
                continue
            rel = path[len("static/") :]
            if rel in outputs:
                continue  # generated pages win over static files, as in Hugo
            ps = orjson.dumps(("static", path)).decode()
            row = prev.get(rel)
            o = _New(fi.hash, ps, {}, set(), set())
            extra[rel] = o
            if full or row is None or row.hash != fi.hash:
                to_write[rel] = (self.src / path).read_bytes()
        return extra


#: up to this many changed keys, _rows_reading beats a regex search per row (~7 ms an id over
#: 16k rows, plus ~35 ms to join them)
_FEW_KEYS = 4


@dataclass
class _Sweeps:
    """When a bulk build sweeps the keys no output reads any more. The sweep gathers every id all
    ~16k rows read (~0.15 s at 10k pages) and found nothing to drop after most bulk edits (a new
    post, a partial, the config title: their outputs read what they read before). Keys die when
    outputs go or read other keys, and a dead key is only re-checked, never wrong: so a sweep waits
    until the key table has grown by a tenth since the last one, a tenth as many outputs as the
    site has were deleted since, or :data:`SWEEP_EVERY` bulk builds went by without one."""

    #: keys after the last sweep (or full build), bulk builds since, outputs deleted since
    live: int
    bulk: int
    deleted: int

    @classmethod
    def read(cls, st: State, full: bool) -> _Sweeps:
        raw = None if full else st.get_meta("sweeps")
        try:
            live, bulk, deleted = (int(x) for x in raw.split(b","))  # type: ignore[union-attr]
        except (AttributeError, ValueError):
            return cls(-1, 0, 0)  # never swept (an older state): due now
        return cls(live, bulk, deleted)

    def due(self, keys: int, outputs: int) -> bool:
        return self.live < 0 or keys > self.live * 1.1 or self.deleted * 10 > outputs or self.bulk + 1 >= SWEEP_EVERY

    def encode(self) -> bytes:
        return b"%d,%d,%d" % (self.live, self.bulk, self.deleted)


#: bulk builds after which one sweeps unreferenced keys even if nothing else says it is time
SWEEP_EVERY = 8


def _rows_reading(rows: dict[str, Any], ids: set[int]) -> set[str]:
    """The paths of ``rows`` whose id list holds one of ``ids`` (see state.naming: 16k rows, ~40-55
    ms for 1-4 ids, against ~60-110 ms for a regex search per row and ~90-130 ms for decoding them)."""
    paths = list(rows)
    return {paths[i] for i in naming([r.deps for r in rows.values()], ids)}


#: Front matter keys whose edit leaves the page model's structure alone (which pages exist, their
#: URLs, lists and order), so the previous model can take the page's new fields in place.
_FM_TEXT_ONLY = frozenset({"title", "linktitle", "description", "summary"})
#: the page fields such an edit can change (every other derived field must come out equal)
_PATCHED = ("title", "link_title", "description", "params")


def _patchable(m: _Model, rel: str, new: Source) -> Page | None:
    """For a file whose front matter changed only in :data:`_FM_TEXT_ONLY` keys, its page with the
    new fields (not yet in the model; ``new.fields`` set), if putting them into the previous model
    gives the model a rebuild would: one published regular page, the same fields but titles and
    description, no menu entry (named after the title) and no page sharing its weight and date (the
    link title would decide their order). Else None: rebuild the model."""
    old = m.sources[rel]
    keys = old.fm.keys() | new.fm.keys()
    if any(k not in _FM_TEXT_ONLY for k in keys if old.fm.get(k) != new.fm.get(k)):
        return None
    pages = m.pages_of.get(rel, ())
    if len(pages) != 1 or pages[0].kind != "page" or pages[0].menus_fm is not None:
        return None
    page = pages[0]
    tmp = Page(m.site, "page", page.id, page.path, new)
    try:
        derive_fields(tmp, new, m.site.config, m.key[0])
    except BuildError:
        return None  # reported by the rebuild
    for f in _CACHED_FIELDS:
        if f not in _PATCHED and getattr(tmp, f) != getattr(page, f):
            return None
    if tmp.link_title != page.link_title:
        # Lists mix regular pages with sections (a branch's .pages); a section's date is its newest
        # page's, so the page's own ancestors tie with it harmlessly (never in one list with it).
        k = page.sort_key()[:3]
        ancestors = set()
        a = page.parent
        while a is not None:
            ancestors.add(id(a))
            a = a.parent
        for q in m.site.pages:
            if q.kind in ("page", "section") and q is not page and id(q) not in ancestors and q.sort_key()[:3] == k:
                return None
    return tmp


#: Page fields computed from the page's own file and the config alone (get_terms too: a term page
#: exists for every term the page has).
_LOCAL = {
    "title",
    "link_title",
    "date",
    "lastmod",
    "publish_date",
    "expiry_date",
    "draft",
    "weight",
    "slug",
    "description",
    "type",
    "layout",
    "section",
    "file",
    "aliases",
    "params",
    "permalink",
    "rel_permalink",
    "kind",
    "id",
    "is_home",
    "is_page",
    "is_section",
    "is_node",
}
#: Page fields computed from its rendered markdown (local unless its shortcodes read other things).
_MARKDOWN = {"content", "summary", "truncated", "toc", "table_of_contents", "word_count", "reading_time", "plain"}
_NEIGHBOURS = {"prev", "next", "prev_in_section", "next_in_section"}
_LISTS = {"pages", "regular_pages", "regular_pages_recursive", "sections"}
OTHER, LOCAL, MARKDOWN, NEIGHBOUR, LIST = 0, 1, 2, 3, 4


def _classify(k: Key) -> tuple[str, int]:
    """(root, class) of a key, which decides when a later build must re-check it."""
    if k[0] == "p" and k[1].startswith("page:") and len(k) >= 3:
        s = k[2]
        if len(k) == 3 and s in _LOCAL:
            return k[1], LOCAL
        if len(k) == 3 and s in _MARKDOWN:
            return k[1], MARKDOWN
        if len(k) == 3 and s in _NEIGHBOURS:
            return k[1], NEIGHBOUR
        if type(s) is tuple and s[0] == "get_terms":
            return k[1], LOCAL
    if k[0] == "p" and len(k) >= 4 and (k[2] in _LISTS or (type(k[2]) is tuple and k[2][0] == "pager")):
        return k[1], LIST
    return "", OTHER


class _ContentRows:
    """``State.content_entry`` that switches to loading every row at once when a build asks for
    many (a bulk edit renders ~10k pages: one query per page cost ~0.25 s more than one for all).
    Below the threshold (E9 renders 1,000 notes) single rows beat reading the whole ~40 MB table."""

    MANY = 2000

    def __init__(self, st: State) -> None:
        self.st = st
        self.asked = 0
        self.rows: dict[str, tuple[bytes, bytes, bytes, bytes]] | None = None

    def __call__(self, pid: str) -> tuple[bytes, bytes, bytes, bytes] | None:
        if self.rows is None:
            self.asked += 1
            if self.asked <= self.MANY:
                return self.st.content_entry(pid)
            self.rows = self.st.content_entries()
        return self.rows.get(pid)


class _LazyIds(dict):  # type: ignore[type-arg]
    """Key text -> id, looked up in the state one key at a time (cheap when few outputs changed)."""

    def __init__(self, st: State) -> None:
        super().__init__()
        self.st = st

    def get(self, text: str, default: Any = None) -> Any:
        if text in self:
            return self[text]
        i = self.st.key_id(text)
        if i is not None:
            self[text] = i
        return i if i is not None else default


def _flags(row: Any) -> set[str]:
    """A stored output row's flags (``paginate``, ...) as a set."""
    return set(row.flags.split(",")) if row.flags else set()


class _Kept:
    __slots__ = ("flags", "row")

    def __init__(self, row: Any) -> None:
        self.row = row
        self.flags = _flags(row)


@dataclass(slots=True)
class _New:
    hash: bytes
    producer: str
    deps: dict[Key, bytes]
    flags: set[str]
    ids: set[int]  # ids of stored keys read through cached fragments
    slots: Slots | None = None
    #: spliced, its slots reading the keys they read before: the row keeps its ids (see _splice)
    same: bool = False


class _KeyTable:
    """The keys one process read, in a split render, that the state did not have when it began:
    (JSON text, digest, root, class), each once. An output's keys are codes: below ``base`` the
    state's id of a key it had, from ``base`` on ``base`` + this table's index. ``resolve[code]``
    is the key's id: filled in for table entries by the commit as outputs reading them come up
    (None: not yet)."""

    __slots__ = ("base", "keys", "read", "resolve")

    def __init__(self, keys: list[tuple[str, bytes, str, int]], base: int, read: set[int]) -> None:
        self.keys = keys
        self.base = base
        self.resolve: list[int | None] = [*range(base), *[None] * len(keys)]
        #: the ids under ``base`` that the outputs of this table's process read
        self.read = read


@dataclass(slots=True)
class _Remote:
    """An output rendered in a split render: its row's id lists as its process worked them out
    (``pre``, see _row_ids), the keys new to the state among them as codes of ``table``."""

    hash: bytes
    producer: str
    table: _KeyTable
    flags: set[str]
    #: as _New's, with the keys read only in slots as codes
    slots: Any = None
    same: bool = False
    #: the row's id lists as far as the rendering process knew the ids (see _row_ids), or None
    pre: Any = None


def _row_ids(idx: list[int], ids: Any, sl: Any, base: int, read: set[int]) -> tuple[Any, ...]:
    """An output's row id lists, worked out by the process that rendered it (both at once, not the
    committing one alone after the render), as far as it knows the ids: codes under ``base`` are
    the state's ids, the others are keys new to the state, whose ids the commit hands out in
    order, all above every old id. So each sorted list is the old ids' JSON, open at the end,
    followed by the new ones. Returns (deps JSON head, new codes in read order, slots' JSON head
    or None, their new codes, the slots' places as JSON); adds the old ids read to ``read``."""
    got = set(idx)
    got.update(ids)
    old = sorted([c for c in got if c < base])
    read.update(old)
    new = [c for c in idx if c >= base]
    if sl is None:
        return orjson.dumps(old)[:-1], new, None, [], b""
    where, only, only_ids, own_ids = sl
    in_slots = _in_slots(set(idx), set(only), only_ids, own_ids)
    s_old = sorted([c for c in in_slots if c < base])
    s_new = [c for c in in_slots if c >= base]
    return orjson.dumps(old)[:-1], new, orjson.dumps(s_old)[:-1], s_new, orjson.dumps(where)


def _in_slots(read: set[int], only: set[int], only_ids: Any, own_ids: Any) -> set[int]:
    """The ids an output read only inside its slots: those of the keys ``only`` (read in slots
    and by no own read) and ``only_ids`` (read through slots' fragments), less any the output
    read itself (``read``: its keys' ids, whichever slots read too; ``own_ids``: through its own
    fragments). The commit and both render processes use it (on ids and on key codes)."""
    own = (read - only).union(own_ids)
    return (only | set(only_ids)) - own


def _close_ids(head: bytes, new_ids: list[int]) -> bytes:
    """A JSON id list from _row_ids' open head and the new ids (all above the head's)."""
    if not new_ids:
        return head + b"]"
    tail = ",".join(map(str, sorted(new_ids))).encode()
    return head + (b"," if len(head) > 1 else b"") + tail + b"]"


def _fragment_rows(
    frags: Fragments | None,
    id_memo: dict[Key, int],
    key_ids: dict[str, int],
    tables: list[tuple[dict[Key, int], _KeyTable]],
) -> dict[str, Row]:
    """The fragments this build rendered, with their keys as ids. A fragment with a key that has no
    id (read only inside rendered markdown, so no output recorded it) is not kept. ``tables``: the
    key codes of this process's split renders, with their tables."""
    rows: dict[str, Row] = {}
    if frags is None:
        return rows
    for fid, (text, deps, ids) in frags.new.items():
        got = set(ids)
        for k in deps:
            i = id_memo.get(k)
            if i is None:
                for codes, tab in tables:
                    c = codes.get(k)
                    if c is not None:
                        i = tab.resolve[c]
                        break
                if i is None:
                    i = key_ids.get(orjson.dumps(k).decode())
                    if i is None:
                        break
            got.add(i)
        else:
            rows[fid] = fragment_row(fid, text, sorted(got))
    for fid, (text, texts, ids) in frags.remote.items():
        got = set(ids)
        for kt in texts:
            i = key_ids.get(kt)
            if i is None:
                break
            got.add(i)
        else:
            rows[fid] = fragment_row(fid, text, sorted(got))
    return rows


#: from this many outputs to splice in one batch, their files' readahead is queued first
_READAHEAD_MIN = 32
