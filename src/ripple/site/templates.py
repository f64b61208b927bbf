"""Jinja2 layouts: Hugo's lookup order, partials memoized per build, filters, and template reads
recorded as dependencies (hits and misses alike, so adding a more specific layout re-renders)."""

from __future__ import annotations

import html
import os
import re
import traceback
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import jinja2
import jinja2.bccache
import orjson
from jinja2 import nodes
from jinja2.compiler import CodeGenerator
from markupsafe import Markup, escape

from ripple.site import loops
from ripple.site.errors import BuildError
from ripple.site.fragments import RUN_ITEMS, Fragments, Runs, fragment_id
from ripple.site.layouts import DEFAULTS_DIR, INTERNAL, internal_templates
from ripple.site.loops import LOOP, parent_of
from ripple.site.tracking import MISSING_DIGEST, ROOTED, TRACKER, Key, Tracked, TrackedList, TrackedMap, wrap

__all__ = ["DEFAULTS_DIR", "INTERNAL", "Templates", "internal_templates"]


class _Loader(jinja2.BaseLoader):
    def __init__(self, files: dict[str, Path], display: dict[str, str]) -> None:
        self.files = files
        self.display = display

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        if template.startswith(VALUE):  # a value slot's template, see Templates.value_slot
            source = "{% autoescape true %}{{ " + template[len(VALUE) :] + " }}{% endautoescape %}"
            return source, template, lambda: True
        if template.startswith(LOOP):  # a loop body's template: its layout's source (loops.py)
            return self.get_source(environment, parent_of(template)[1])
        path = self.files.get(template)
        if path is None:
            raise jinja2.TemplateNotFound(template)
        try:
            source = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise BuildError(f"cannot read template: {e}", file=self.display[template]) from None
        return source, self.display[template], lambda: True


class _MemoryBytecodeCache(jinja2.BytecodeCache):
    """Compiled templates kept for the life of the process, keyed by name and source checksum, so
    repeated builds (tests, a long-running watcher) skip Jinja's parse and compile; with ``folder``
    also on disk (in the state folder), so a new process skips them too."""

    store: ClassVar[dict[str, bytes]] = {}

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        k = _CODE + bucket.key + bucket.checksum
        data = self.store.get(k)
        if data is None and self.folder is not None:
            try:
                data = (self.folder / f"{k}.bc").read_bytes()
            except OSError:
                return
        if data is not None:
            bucket.bytecode_from_string(data)
            if bucket.code is not None:
                self.store[k] = data

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        k = _CODE + bucket.key + bucket.checksum
        data = self.store[k] = bucket.bytecode_to_string()
        if self.folder is not None:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                tmp = self.folder / f"{k}.{os.getpid()}.tmp"
                tmp.write_bytes(data)
                os.replace(tmp, self.folder / f"{k}.bc")
            except OSError:
                pass  # only a cache: the next process compiles again


#: what _CodeGenerator writes, in the bytecode cache's keys: code compiled by another generator
#: (an older ripple's) is compiled again, never run
_CODE = "m6-"


class _CodeGenerator(CodeGenerator):
    """Jinja's code, except that an autoescaped ``{{ x }}`` calls ``environment.markup(x)`` instead of
    ``escape(x)``: the same text, but a value that is Markup already (rendered markdown, a partial,
    kilobytes each, ~15% of the values a page prints) is passed on instead of copied into a new one;
    and ``{{ partial(...) }}``, ``{{ partial_each(...) }}`` or ``{{ site.<path> }}`` printed straight
    into the template's output becomes a slot (see Templates.slot and Templates.value_slot)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: the output expressions compiled as slots, by id: the code that closes each
        self._slot_closing: dict[int, str] = {}

    def _output_child_pre(self, node: Any, frame: Any, finalize: Any) -> None:
        if frame.eval_ctx.volatile or not frame.eval_ctx.autoescape:
            super()._output_child_pre(node, frame, finalize)
            return
        direct = finalize.src is None and frame.buffer is None  # printed straight into the output
        if direct and _slot_call(node):
            # ``{{ partial(...) }}``: a slot, see Templates.slot. The tuple evaluates pre_slot()
            # before the call, and nothing else can run in between but the call's plain arguments.
            self.write("environment.slot((environment.pre_slot(), ")
            self._slot_closing[id(node)] = ")[1])"  # decided here: visiting can fold the arguments
            return
        src = _site_value(node) if direct and not (self.name or "").startswith(VALUE) else None
        if src is not None:
            # ``{{ site.title }}``: a slot when ``site`` is the site there (not a name the template
            # bound), see Templates.value_slot; else, or when its text is empty (falsy), the
            # expression is evaluated in place.
            root = node
            while not isinstance(root, nodes.Name):
                root = root.node
            self.write(f"environment.slot((environment.pre_slot(), environment.value_slot({VALUE + src!r}, ")
            self.visit(root, frame)
            self.write(") or (")
            self._slot_closing[id(node)] = "))[1])"
            return
        self.write("environment.markup(")
        if finalize.src is not None:
            self.write(finalize.src)

    def _output_child_post(self, node: Any, frame: Any, finalize: Any) -> None:
        closing = self._slot_closing.pop(id(node), None)
        if closing is not None:
            self.write(closing)
            return
        super()._output_child_post(node, frame, finalize)


def _slot_call(node: Any) -> bool:
    """Whether an output expression is a call of ``partial`` or ``partial_each`` with plain
    arguments (constants, names and their attributes or items): nothing in it can call a partial
    but the call itself."""
    return (
        isinstance(node, nodes.Call)
        and isinstance(node.node, nodes.Name)
        and node.node.name in ("partial", "partial_each")
        and node.dyn_args is None
        and node.dyn_kwargs is None
        and all(_plain_expr(a) for a in node.args)
        and all(_plain_expr(k.value) for k in node.kwargs)
    )


#: names of value slots' templates start with this (see Templates.value_slot): no layout's name
#: does (they are paths relative to layouts/), so no lookup can reach one
VALUE = "/="
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _site_value(node: Any) -> str | None:
    """The Jinja source of an output expression that is an attribute path from ``site``
    (``site.title``, ``site.params["x"]``), or None."""
    parts: list[str] = []
    while isinstance(node, (nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Getattr):
            parts.append("." + node.attr)
        elif isinstance(node.arg, nodes.Const) and type(node.arg.value) is str and _PLAIN_KEY.fullmatch(node.arg.value):
            parts.append(f'["{node.arg.value}"]')
        else:
            return None
        node = node.node
    if not parts or not isinstance(node, nodes.Name) or node.name != "site":
        return None
    return "site" + "".join(reversed(parts))


def _plain_expr(node: Any) -> bool:
    while isinstance(node, (nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Getitem) and not isinstance(node.arg, nodes.Const):
            return False
        node = node.node
    return isinstance(node, (nodes.Const, nodes.Name))


class TrackingEnvironment(jinja2.Environment):
    """Records every template load (``extends``/``include``/``import`` too) and lets mapping keys win
    over method names (``data.items`` is the data key ``items``)."""

    digests: dict[str, bytes]
    code_generator_class = _CodeGenerator

    @staticmethod
    def markup(value: Any) -> Markup:
        """``escape(value)``, with a Markup value returned as it is rather than copied."""
        return value if type(value) is Markup else escape(value)

    def _load_template(self, name: str, globals: Any) -> jinja2.Template:
        rec = _layout_of(name)
        TRACKER.record_digest(("tpl", rec), self.digests.get(rec, MISSING_DIGEST))
        return super()._load_template(name, globals)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        """Jinja's parse, with loops whose bodies read only their item compiled as partials (see
        loops.py); a loop body's template name parses to that body."""
        allowed = set(self.globals)
        if name is not None and name.startswith(LOOP):
            parse = super()._parse
            return loops.body(lambda: parse(source, parent_of(name)[1], filename), name, allowed, self)
        tree = super()._parse(source, name, filename)
        if name is None or name.startswith((VALUE, INTERNAL)):
            # ripple's own layouts are written to fit: the sitemap's entries (two fields each) cost
            # less inline than as 16k stored fragments.
            return tree
        return loops.rewrite(tree, name, allowed, self)

    def getattr(self, obj: Any, attribute: str) -> Any:
        cls = obj.__class__
        if cls is Tracked:
            try:
                return obj.__getattr__(attribute)
            except AttributeError:
                return self.undefined(obj=obj, name=attribute)
        if cls is TrackedMap:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


class Templates:
    """The layouts of one build: lookup, rendering with error reporting, partials."""

    def __init__(
        self,
        layouts: dict[str, Path],
        digests: dict[str, bytes],
        site_proxy: Any,
        config: Any,
        bytecode_folder: Path | None = None,
    ) -> None:
        files = dict(internal_templates())
        display = {n: f"ripple/site/_defaults/{n[len(INTERNAL) :]}" for n in files}
        for name, path in layouts.items():
            files[name] = path
            display[name] = f"layouts/{name}"
        self.files = files
        self.display_names = set(display.values())
        env = TrackingEnvironment(
            loader=_Loader(files, display),
            autoescape=jinja2.select_autoescape(["html", "xml", "htm"]),
            auto_reload=False,
            cache_size=-1,
            keep_trailing_newline=True,
            extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"],
            bytecode_cache=_MemoryBytecodeCache(bytecode_folder),
        )
        env.digests = digests
        self.env = env
        self.site = site_proxy
        self.config = config
        #: (template, argument) -> (output, keys read, ids of stored keys read via fragments,
        #: fragment id)
        self.partial_memo: dict[tuple[Any, ...], tuple[Markup, dict[Key, bytes], Any, str | None]] = {}
        #: the recording depth at which the next partial call is a slot (-1: none), and that
        #: call's (text, fragment id, keys, ids, places) for slot(): ``places`` is None for one
        #: partial, else (character offset, length, fragment id) of each item of a partial_each
        self.slot_pending = -1
        self.slot_last: SlotCall | None = None
        env.slot = self.slot  # type: ignore[attr-defined]
        env.pre_slot = self.pre_slot  # type: ignore[attr-defined]
        env.value_slot = self.value_slot  # type: ignore[attr-defined]
        env.loop_each = self.partial_each  # type: ignore[attr-defined]  # a loop body's items (loops.py)
        #: partials kept from earlier builds (set by the build when it has a state to keep them in)
        self.fragments: Fragments | None = None
        #: runs of list items kept assembled in a warm process (set by the build with fragments)
        self.runs: Runs | None = None
        env.globals.update(site=site_proxy, partial=self.partial, partial_each=self.partial_each, now=None)
        env.filters.update(FILTERS)
        env.filters["abs_url"] = self._abs_url
        env.filters["rel_url"] = self._rel_url

    # -- lookup ------------------------------------------------------------------------------------------

    def exists(self, name: str) -> bool:
        if name.startswith(VALUE):
            return True  # made from its name: nothing to record
        name = _layout_of(name)  # a loop body is read as its layout
        d = self.env.digests.get(name, MISSING_DIGEST)
        TRACKER.record_digest(("tpl", name), d)
        return name in self.files

    def lookup(self, candidates: list[str]) -> str | None:
        """The first existing template; every candidate tried is recorded, misses included."""
        for name in candidates:
            if self.exists(name):
                return name
        return None

    # -- rendering ---------------------------------------------------------------------------------------

    def render(self, name: str, ctx: dict[str, Any]) -> str:
        """Render a template. Raises :class:`BuildError` with the template file and line on failure."""
        try:
            return self.env.get_template(name).render(ctx)
        except Exception as e:
            raise self._error(e, name) from None

    def _error(self, e: Exception, name: str) -> BuildError:
        """The BuildError, with the template file and line, for an exception raised rendering ``name``."""
        if isinstance(e, BuildError):
            return e
        if isinstance(e, jinja2.TemplateSyntaxError):
            return BuildError(f"template syntax error: {e.message}", file=e.filename or name, line=e.lineno)
        file, line = self._where(e, name)
        if isinstance(e, jinja2.TemplateNotFound):  # a partial, include or extends naming no layout
            return BuildError(f"template not found: {e.name}", file=file, line=line)
        msg = e.message if isinstance(e, jinja2.TemplateError) and e.message else f"{type(e).__name__}: {e}"
        return BuildError(f"template error: {msg}", file=file, line=line)

    def _where(self, e: BaseException, name: str) -> tuple[str, int | None]:
        for fr in reversed(traceback.extract_tb(e.__traceback__)):
            if fr.filename in self.display_names:
                return fr.filename, fr.lineno
        return f"layouts/{name}", None

    def partial(self, name: str, context: Any = None) -> Markup:
        """``partial("sidebar.html", page)``: render ``layouts/partials/<name>`` once per build per
        argument and replay its recorded reads into every caller (Hugo's partialCached, made safe)."""
        tname = _partial_template(name)
        pending, self.slot_pending = self.slot_pending, -1
        out, deps, ids, fid = self.partial_parts(tname, context)
        if (
            pending == len(TRACKER.stack)
            and fid is not None
            and TRACKER.stack[-1].slots is not None
            and _slot_arg(context)
        ):
            # A slot (see slot()): its reads stay apart until the render shows where it went.
            self.slot_last = (out, fid, deps, ids, None)
        else:
            TRACKER.merge(deps, ids)
        return out

    def partial_parts(self, tname: str, context: Any) -> tuple[Markup, dict[Key, bytes], Any, str | None]:
        """A partial's text, the keys it read, the stored key ids it read through fragments, and
        its fragment id (None: its argument has no stable name), without recording any of them in
        the caller. Raises what rendering a template raises."""
        ck = _ctx_key(context)
        memo_key = (tname, ck) if ck is not None else None
        takes_ids = TRACKER.takes_ids()
        if memo_key is not None:
            hit = self.partial_memo.get(memo_key)
            if hit is not None and (takes_ids or not hit[2]):
                return hit[0], hit[1], hit[2], hit[3]
        frags = self.fragments
        fid = fragment_id(tname, ck) if memo_key is not None else None
        if fid is not None and frags is not None and takes_ids:
            stored = frags.get(fid)
            if stored is not None:
                out = Markup(stored[0])
                self.partial_memo[memo_key] = (out, {}, stored[1], fid)  # type: ignore[index]
                return out, {}, stored[1], fid
        TRACKER.push()
        try:
            if not self.exists(tname):
                raise jinja2.TemplateNotFound(tname)
            ctx = {"ctx": context}
            if isinstance(context, Tracked):
                ctx["page"] = context
            out = Markup(self.env.get_template(tname).render(ctx))
        finally:
            rec = TRACKER.pop()
        ids = rec.ids or ()
        if memo_key is not None:
            self.partial_memo[memo_key] = (out, rec.deps, ids, fid)
        if fid is not None and frags is not None:
            frags.add(fid, str(out), rec.deps, set(ids))
        return out, rec.deps, ids, fid

    # -- slots -------------------------------------------------------------------------------------------
    #
    # A partial printed by ``{{ partial(...) }}`` straight into an output (not inside a macro, a
    # ``set`` block, a filter block or any other capture) is a slot: its text lands in the output's
    # bytes unchanged and nothing else in the output depends on it, so a later build whose only
    # changed keys were read inside slots can put the new partial texts into the old output's bytes
    # instead of rendering the whole output again (build.py, splicing). Two guards make "straight
    # into" exact: the compiler marks only direct calls with plain arguments (nothing binds the
    # value), and slot() wraps the text in a fresh _SlotText that render_output() must find among
    # the output's own top-level events (a block or include printed in place yields its events
    # through; any capture joins them into a new string, losing the type). A slot that is not found
    # there counts as read by the output itself.

    def pre_slot(self) -> None:
        self.slot_pending = len(TRACKER.stack)
        self.slot_last = None

    def slot(self, value: Any) -> Any:
        last, self.slot_last = self.slot_last, None
        self.slot_pending = -1
        if last is None:
            return self.env.markup(value)
        out, fid, deps, ids, places = last
        if value is not out:
            TRACKER.merge(deps, ids)
            return self.env.markup(value)
        text = _SlotText(out)
        TRACKER.stack[-1].slots.append((text, fid, deps, ids, places))  # type: ignore[union-attr]
        return text

    def value_slot(self, tname: str, root: Any) -> Markup | None:
        """``{{ site.<path> }}`` printed straight into an output, as a slot: the text of the template
        ``{{ site.<path> }}`` named ``tname`` (``/=site.title``), rendered like a partial once per
        build and kept as a fragment, so a later build can splice a new title into old outputs.
        None when ``root`` (what ``site`` names there) is not the site or no output's recording is
        open: the expression is then evaluated in place, as Jinja would. An error is reported at the
        output template's line (the value's template is not a layout file)."""
        stack = TRACKER.stack
        if root is not self.site or not stack or stack[-1].slots is None:
            return None
        out, deps, ids, fid = self.partial_parts(tname, None)
        self.slot_last = (out, fid, deps, ids, None)  # type: ignore[assignment]
        return out

    def render_output(self, name: str, ctx: dict[str, Any]) -> tuple[str, list[tuple[int, int, Any]]]:
        """Render an output's template under the open recording (which must have ``slots``): the
        text, and (start, end, slot) in characters for every slot printed straight into it. The
        reads of slots not found there are merged into the recording. Raises as :meth:`render`."""
        rec = TRACKER.stack[-1]
        try:
            tpl = self.env.get_template(name)
            try:
                events = list(tpl.root_render_func(tpl.new_context(ctx)))
            except Exception:
                self.env.handle_exception()  # as Template.render: tracebacks name template lines
        except Exception as e:
            raise self._error(e, name) from None
        text = "".join(events)
        found: list[tuple[int, int, Any]] = []
        slots = rec.slots
        if slots:
            at, pos = 0, 0
            for s in slots:
                i = _index_of(events, s[0], at)
                if i < 0:
                    TRACKER.merge(s[2], s[3])  # captured: the output's own read
                    continue
                pos += sum(map(len, events[at:i]))
                found.append((pos, pos + len(s[0]), s))
                at = i
        return text, found

    def partial_each(self, name: str, items: Any, sep: str = "") -> Markup:
        """``partial_each("item.xml", pages, sep)``: ``sep`` then ``partial(name, p)`` for every ``p``
        of ``items``, joined. The same text and the same recorded reads as
        ``{% for p in items %}{{ sep }}{{ partial(name, p) }}{% endfor %}``, in one call: a feed of
        9,000 items spends about a third of its time in the template loop and the call machinery
        around each memoized partial. ``sep`` is escaped unless it is markup (a literal such as
        ``"\\n\\t"`` comes out as it is). Printed straight into an output, each item with a
        fragment id is a slot (see :meth:`_each_slot`). Raises what :meth:`partial` raises."""
        pending, self.slot_pending = self.slot_pending, -1
        sep_s = str(escape(sep))
        partial = self.partial
        if type(items) is not TrackedList:
            # str.join, not ``+``: a str plus Markup would escape the (already escaped) separator.
            return Markup("".join([s for x in items for s in (sep_s, partial(name, x))]))
        seq = items._seq
        # What iterating the list in a template records (TrackedList.__iter__).
        TRACKER.record((*items._key, ("iter",)), seq)
        tname = _partial_template(name)
        if pending == len(TRACKER.stack) and TRACKER.stack[-1].slots is not None:
            return self._each_slot(tname, sep_s, seq)
        # A memoized partial (already rendered, or taken from a fragment, this build) is replayed
        # here without a call: partial() itself pushes and pops a recording, so whether the open
        # recordings take ids cannot change between items.
        memo = self.partial_memo
        takes_ids = TRACKER.takes_ids()
        merge = TRACKER.merge
        rooted = ROOTED
        parts: list[str] = []
        add = parts.append

        def items(chunk: Any) -> None:
            for p in chunk:
                key = rooted[type(p)](p)
                hit = memo.get((tname, ("t", key)))
                add(sep_s)
                if hit is not None and (takes_ids or not hit[2]):
                    merge(hit[1], hit[2])
                    add(hit[0])
                else:
                    add(partial(name, Tracked(key, p)))

        runs, frags = self.runs, self.fragments
        if runs is None or frags is None or not takes_ids or len(seq) < RUN_ITEMS:
            items(seq)
            return Markup("".join(parts))
        for start in range(0, len(seq), RUN_ITEMS):
            chunk = seq[start : start + RUN_ITEMS]
            rk = (tname, sep_s, tuple(rooted[type(p)](p) for p in chunk))
            run = runs.get(rk, frags.changed)
            if run is not None:
                add(run[0])
                merge({}, run[1])
                continue
            # Its own recording, to tell a run made only of stored fragments (ids alone: kept for
            # the next build) from one that rendered an item (keys, whose ids the commit assigns).
            first = len(parts)
            rec = TRACKER.push()
            try:
                items(chunk)
            finally:
                TRACKER.pop()
            if not rec.deps and rec.ids is not None:
                runs.put(rk, "".join(parts[first:]), frozenset(rec.ids))
            merge(rec.deps, rec.ids or ())
        return Markup("".join(parts))

    def _each_slot(self, tname: str, sep_s: str, seq: list[Any]) -> Markup:
        """partial_each printed straight into an output: the same text, but every item with a
        fragment id is a slot of its own (slot() files them all under this call), its reads kept
        apart from the output's. A later build in which only some items' reads changed splices
        those items into the old file and keeps the others' bytes (build.py, ``_splice``): a
        feed of 9,000 items is then a few items rendered, not 9,000 replayed. The list itself
        (which items, in which order) is the output's own read. Raises what :meth:`partial` raises."""
        memo = self.partial_memo
        takes_ids = TRACKER.takes_ids()
        rooted = ROOTED
        parts: list[str] = []
        places: list[tuple[int, int, str]] = []
        deps: dict[Key, bytes] = {}
        ids: set[int] = set()
        pos = 0
        runs, frags = self.runs, self.fragments
        chunked = runs is not None and frags is not None and takes_ids and len(seq) >= RUN_ITEMS
        step = RUN_ITEMS if chunked else max(len(seq), 1)
        for start in range(0, len(seq), step):
            chunk = seq[start : start + step]
            rk: tuple[Any, ...] = ()
            if chunked:
                rk = (tname, sep_s, tuple(rooted[type(p)](p) for p in chunk), "slots")
                run = runs.get(rk, frags.changed)  # type: ignore[union-attr]
                if run is not None:
                    text, rids, rplaces = run
                    parts.append(text)
                    ids.update(rids)
                    places.extend([(pos + off, n, fid) for off, n, fid in rplaces])
                    pos += len(text)
                    continue
            first, pos0, stored = len(parts), pos, True
            chunk_ids: set[int] = set()
            for p in chunk:
                key = rooted[type(p)](p)
                hit = memo.get((tname, ("t", key)))
                if hit is not None and (takes_ids or not hit[2]):
                    out, pdeps, pids, fid = hit
                else:
                    out, pdeps, pids, fid = self.partial_parts(tname, Tracked(key, p))
                parts.append(sep_s)
                parts.append(out)
                pos += len(sep_s)
                if fid is None:
                    TRACKER.merge(pdeps, pids)  # no stable name: the output's own read
                    stored = False
                else:
                    places.append((pos, len(out), fid))
                    deps.update(pdeps)
                    if pids:
                        chunk_ids.update(pids)
                    stored = stored and not pdeps
                pos += len(out)
            ids |= chunk_ids
            if chunked and stored:
                # Only items taken from stored fragments (ids alone), as partial_each's runs.
                rel = [(off - pos0, n, fid) for off, n, fid in places[len(places) - len(chunk) :]]
                runs.put(rk, "".join(parts[first:]), frozenset(chunk_ids), rel)  # type: ignore[union-attr]
        text = Markup("".join(parts))
        self.slot_last = (text, None, deps, ids, places)  # type: ignore[assignment]
        return text

    def _abs_url(self, path: str) -> str:
        root = wrap(("site", "base_url"), self.config.base_url)
        return root.rstrip("/") + "/" + str(path).lstrip("/")

    def _rel_url(self, path: str) -> str:
        base = wrap(("site", "base_url"), self.config.base_url)  # recorded: the path comes from it
        return _path_of(base) + "/" + str(path).lstrip("/")


def _path_of(base_url: str) -> str:
    url = base_url
    if "://" in url:
        url = "/" + url.split("://", 1)[1].partition("/")[2]
    return "/" + url.strip("/") if url.strip("/") else ""


#: a slot call's (text, fragment id, keys read, ids read, places), see Templates.slot_last
SlotCall = tuple[Markup, "str | None", dict[Key, bytes], Any, "list[tuple[int, int, str]] | None"]


class _SlotText(Markup):
    """A slot's text as one output event (see Templates.slot); compared by identity."""

    __slots__ = ()


def _index_of(events: list[str], obj: str, start: int) -> int:
    # list.index compares by identity first, then by value: an equal earlier string is skipped.
    while True:
        try:
            i = events.index(obj, start)
        except ValueError:
            return -1
        if events[i] is obj:
            return i
        start = i + 1


def _layout_of(name: str) -> str:
    """The layout a template name reads: a loop body's (loops.py) is its layout's; a name that is
    not a loop body's, itself."""
    if name.startswith(LOOP):
        try:
            return parent_of(name)[1]
        except jinja2.TemplateNotFound:
            pass
    return name


def _partial_template(name: str) -> str:
    """The template a partial's name stands for: ``sidebar`` is ``partials/sidebar.html``; ripple's
    own (``_internal/...``) and loop bodies' (loops.py) are named in full."""
    if name.startswith(LOOP):
        return name
    if not name.endswith((".html", ".xml", ".txt", ".json")):
        name += ".html"
    return name if name.startswith(INTERNAL) else "partials/" + name


def _slot_arg(v: Any) -> bool:
    """Whether a later build can name a partial's argument again from its fragment id (see
    OutputRenderer.slot_context): a plain value, the site, or a page."""
    if v is None or type(v) in (str, int, float, bool):
        return True
    if type(v) is Tracked:
        k = v._key
        return k == ("site",) or (len(k) == 2 and k[0] == "p")
    return False


def _ctx_key(v: Any) -> Any:
    if v is None or isinstance(v, (str, int, float, bool)):
        return ("v", v)
    if isinstance(v, Tracked):
        return ("t", v._key)
    return None  # unhashable argument: render without memo


# --- filters ---------------------------------------------------------------------------------------------


#: (datetime, UTC offset, zone name, format) -> text: a 10k-post site formats the same dates ~100k
#: times (lists, feeds, sidebars), at ~2 µs a strftime. Equal datetimes (the same instant) with the
#: same offset have the same fields; the name is for %Z (tzinfo objects compare by offset alone).
_FORMATTED: dict[tuple[datetime, Any, Any, str], str] = {}


def _strftime(v: datetime, fmt: str) -> str:
    k = (v, v.utcoffset(), v.tzname(), fmt)
    s = _FORMATTED.get(k)
    if s is None:
        if len(_FORMATTED) >= 200_000:  # a long-lived builder: bounded
            _FORMATTED.clear()
        s = _FORMATTED[k] = v.strftime(fmt)
    return s


def _date(v: Any, fmt: str = "%Y-%m-%d") -> str:
    if v is None or v == "":
        return ""
    if isinstance(v, datetime):
        return _strftime(v, fmt)
    return str(v)


def _rfc822(v: Any) -> str:
    return _strftime(v, "%a, %d %b %Y %H:%M:%S %z") if isinstance(v, datetime) else ""


def _iso(v: Any) -> str:
    return v.isoformat() if isinstance(v, datetime) else ""


def _xml_escape(v: Any) -> Markup:
    return Markup(html.escape(str(v), quote=True))


def _plainify(v: Any) -> str:
    import re

    return re.sub(r"<[^>]*>", "", str(v))


def _jsonify(v: Any) -> Markup:
    return Markup(orjson.dumps(v, option=orjson.OPT_SORT_KEYS, default=str).decode())


def _count(v: Any) -> int:
    return len(v)


FILTERS: dict[str, Callable[..., Any]] = {
    "date_format": _date,
    "rfc822": _rfc822,
    "iso": _iso,
    "xml_escape": _xml_escape,
    "plainify": _plainify,
    "jsonify": _jsonify,
    "count": _count,
}
