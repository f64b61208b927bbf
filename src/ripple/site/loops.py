"""Loop bodies compiled as partials: ``{% for p in pages %}BODY{% endfor %}`` becomes
``partial_each("/for/<n>/<template>", pages)`` when BODY reads nothing but ``p`` and the
environment's globals.

Why: a list page renders the same item (a post's title, date and summary) that other list pages
render too -- the home page, its section, each of its terms -- and the next build renders them all
again when the list moves by one (a new post shifts every page of every list it is in). As a
partial, each item is rendered once per build and kept as a fragment for the next build, which
takes it from there unless a key it read changed. The text and the recorded reads are those of the
loop: the body's reads land in the item's recording instead of the page's, and the page records
the item's key ids through the fragment. The items are not slots (as ``{{ partial_each(...) }}``'s
are): a post page's three tags as slots made every splice of it slower (E4 2.3-2.7 -> 2.9-3.3 s at
10k posts), for lists that a new post reorders anyway.

Which loops: a plain target (``for p in``), no ``else``, no filter (``if``), not ``recursive``; a
body without ``loop``, assignments, blocks, macros, imports, ``do``, ``break``/``continue``, or
any name the template binds anywhere (a ``set``, an outer loop's target, a macro's parameter):
only the target, the targets of loops inside the body, and globals the template does not shadow.
A loop under ``{% autoescape %}`` is left alone (the partial takes its escaping from its name).
Anything else runs as Jinja compiles it, as do ripple's own layouts (TrackingEnvironment._parse).
Decision 0110.

The body's template is named after its loop's place: the ``n``-th such loop (document order) of
``template``; its source is the template's own, and its reads of the template are recorded as
reads of ``template`` (see :func:`parent_of`), so an edit of the layout invalidates its items.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from jinja2 import TemplateNotFound, nodes

#: names of loop bodies' templates start with this; no layout's name does (they are relative paths)
LOOP = "/for/"

# What a body may not hold: anything that binds a name, reaches the caller's context or controls the
# outer loop. ``do`` is out too: it may change a value that the next item would see.
_BANNED = (
    nodes.Block,
    nodes.Extends,
    nodes.Include,
    nodes.Import,
    nodes.FromImport,
    nodes.Macro,
    nodes.CallBlock,
    nodes.Assign,
    nodes.AssignBlock,
    nodes.With,
    nodes.Scope,
    nodes.OverlayScope,
    nodes.EvalContextModifier,
    nodes.ScopedEvalContextModifier,
    nodes.Continue,
    nodes.Break,
    nodes.ExprStmt,
    nodes.ContextReference,
    nodes.DerivedContextReference,
)
_SKIP = (nodes.EvalContextModifier, nodes.ScopedEvalContextModifier)


def loop_name(n: int, template: str) -> str:
    return f"{LOOP}{n}/{template}"


def parent_of(name: str) -> tuple[int, str]:
    """(n, template) of a loop body's template name. Raises TemplateNotFound for a name that
    starts like one but is not (a template can name one in ``partial`` or ``include``)."""
    n, _, template = name[len(LOOP) :].partition("/")
    if not name.startswith(LOOP) or not n.isdigit() or not template:
        raise TemplateNotFound(name)
    return int(n), template


def _names(node: nodes.Node, ctx: Iterable[str]) -> set[str]:
    """The names of ``node`` and its descendants with a ``ctx`` in ``ctx``."""
    want = set(ctx)
    found = [node] if isinstance(node, nodes.Name) else []
    return {n.name for n in (*found, *node.find_all(nodes.Name)) if n.ctx in want}


def _bound(tree: nodes.Template) -> set[str]:
    """Every name the template binds: assigned, a loop's target, a parameter, a macro or an import."""
    names = _names(tree, ("store", "param"))
    for m in tree.find_all((nodes.Macro, nodes.Import, nodes.FromImport)):
        if isinstance(m, nodes.Macro):
            names.add(m.name)
        elif isinstance(m, nodes.Import):
            names.add(m.target)
        else:
            names.update(n if isinstance(n, str) else n[1] for n in m.names)
    return names


def _eligible(f: nodes.For, shadowed: set[str], allowed: set[str]) -> bool:
    if not isinstance(f.target, nodes.Name) or f.else_ or f.test is not None or f.recursive:
        return False
    local = {f.target.name}
    for b in f.body:
        if isinstance(b, _BANNED) or any(True for _ in b.find_all(_BANNED)):
            return False
        for inner in (b, *b.find_all(nodes.For)):
            if isinstance(inner, nodes.For):
                local |= _names(inner.target, ("store",))
    for b in f.body:
        for name in _names(b, ("load",)):
            if name not in local and (name not in allowed or name in shadowed):
                return False
    return True


def _loops(tree: nodes.Template, allowed: set[str]) -> list[tuple[list[Any], int]]:
    """The eligible loops of a template, in document order, as (the list holding it, its index).
    Loops inside an eligible loop's body are not counted (they run inside its partial)."""
    shadowed = _bound(tree)
    found: list[tuple[list[Any], int]] = []

    def walk(node: nodes.Node) -> None:
        for field in node.fields:
            v = getattr(node, field, None)
            children = v if isinstance(v, list) else [v]
            for i, child in enumerate(children):
                if not isinstance(child, nodes.Node) or isinstance(child, _SKIP):
                    continue
                if isinstance(v, list) and isinstance(child, nodes.For) and _eligible(child, shadowed, allowed):
                    found.append((v, i))
                else:
                    walk(child)

    walk(tree)
    return found


def rewrite(tree: nodes.Template, name: str, allowed: set[str], env: Any) -> nodes.Template:
    """Replace each eligible loop of ``tree`` (the template ``name``) by a ``partial_each`` of its
    body's template, in place; returns ``tree``."""
    for n, (holder, i) in enumerate(_loops(tree, allowed)):
        f = holder[i]
        each = nodes.EnvironmentAttribute("loop_each")
        call = nodes.Call(each, [nodes.Const(loop_name(n, name)), f.iter], [], None, None)
        out = nodes.Output([call])
        out.set_lineno(f.lineno)
        out.set_environment(env)
        holder[i] = out
    return tree


def body(parse: Callable[[], nodes.Template], name: str, allowed: set[str], env: Any) -> nodes.Template:
    """The template of the loop body named ``name``: ``{% set <target> = ctx %}BODY`` (a partial's
    argument is ``ctx``), from ``parse()``, a fresh parse of its parent's source. Raises
    TemplateNotFound when the parent has no such loop."""
    n, _ = parent_of(name)
    loops = _loops(parse(), allowed)
    if n >= len(loops):
        raise TemplateNotFound(name)
    holder, i = loops[n]
    f = holder[i]
    bind = nodes.Assign(nodes.Name(f.target.name, "store"), nodes.Name("ctx", "load"))
    bind.set_lineno(f.lineno)
    tree = nodes.Template([bind, *f.body], lineno=f.lineno)
    tree.set_environment(env)
    return tree
