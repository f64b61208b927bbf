"""DynamoDB's expression language: condition, filter, update, projection and key-condition expressions.

Each ``compile_*`` function parses once (the parse is cached on the expression text and its attribute
names; values are bound afterwards, so one cached parse serves every request that differs only in its
values) and returns an object whose ``evaluate``/``apply`` runs as plain closures on Python-form items.
A condition's closures are cached with its parse too: they take the values as an argument.
Every compiled object exposes ``names_used`` and ``values_used`` for :func:`check_unused`.

All errors are :class:`~ripple.errors.ExpressionError` (a ValidationError) or ValidationError with
DynamoDB's message texts (``Invalid UpdateExpression: Syntax error; token: ...``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

from ripple.errors import ExpressionError, ValidationError

from ..values import normalize, type_of
from ._condition import MISSING, Binder
from ._parser import And, Between, Call, Compare, Not, Or, Paren, Parser, Path, Value, check_overlaps
from ._update import UpdatePlan

__all__ = [
    "Condition",
    "KeyCondition",
    "Projection",
    "Update",
    "check_unused",
    "compile_condition",
    "compile_key_condition",
    "compile_projection",
    "compile_update",
]

_NAME_KEY = re.compile(r"#[A-Za-z0-9_]+")
_VALUE_KEY = re.compile(r":[A-Za-z0-9_]+")


def _freeze_names(names: dict[str, str] | None) -> tuple:
    if not names:
        return ()
    if not isinstance(names, dict):
        raise ValidationError(f"ExpressionAttributeNames must be a map, not {type(names).__name__}")
    for k, v in names.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise ValidationError(f"ExpressionAttributeNames contains invalid value: {k!r:.40}: {v!r:.40}")
        if not v:
            raise ValidationError(f"ExpressionAttributeNames contains invalid value: Empty attribute name for key {k}")
    return tuple(sorted(names.items()))


def _bind_values(values: dict[str, Any] | None, used: set[str]) -> dict[str, Any]:
    """Normalize the values the expression uses; an undefined one is reported by the Binder."""
    if not used:
        return {}
    if values is not None and not isinstance(values, dict):
        raise ValidationError(f"ExpressionAttributeValues must be a map, not {type(values).__name__}")
    out = {}
    for k in sorted(used):
        if values and k in values:
            try:
                out[k] = normalize(values[k])
            except ValidationError as e:
                raise ValidationError(f"ExpressionAttributeValues contains invalid value: {e} for key {k}") from None
    return out


def _undefined(kind: str, name: str) -> ExpressionError:
    return ExpressionError(
        f"Invalid {kind}: An expression attribute value used in expression is not defined; attribute value: {name}"
    )


# --- conditions and filters -------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _parse_condition(kind: str, expr: str, names: tuple) -> tuple[object, frozenset, frozenset, frozenset]:
    p = Parser(expr, kind, dict(names))
    tree = p.condition()
    p.expect_end()
    return tree, frozenset(p.names_used), frozenset(p.values_used), _top_level_attributes(tree)


class Condition:
    """A compiled ConditionExpression or FilterExpression."""

    __slots__ = ("_fn", "_values", "attributes", "expression", "kind", "names_used", "values_used")

    def __init__(
        self,
        expression: str,
        kind: str,
        fn: Any,
        names_used: frozenset | set,
        values_used: frozenset | set,
        attributes: frozenset = frozenset(),
        values: dict[str, Any] | None = None,
    ) -> None:
        self.expression, self.kind, self._fn = expression, kind, fn
        self._values = values if values is not None else {}
        #: the ``#names`` and ``:values`` the expression uses (shared with the cached parse: read only)
        self.names_used, self.values_used = names_used, values_used
        #: the top-level attributes the condition reads: evaluating it needs only these of an item
        self.attributes = attributes

    def evaluate(self, item: dict | None) -> bool:
        """Whether ``item`` (None: no such item) satisfies the condition. Never raises for item data."""
        return bool(self._fn(item if item is not None else {}, self._values))

    def __repr__(self) -> str:
        return f"<{self.kind} {self.expression!r}>"


def compile_condition(
    expr: str,
    names: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    *,
    kind: str = "ConditionExpression",
) -> Condition:
    """Compile a condition (or, with ``kind="FilterExpression"``, a filter).

    Raises ExpressionError (messages prefixed ``Invalid <kind>:``) for syntax errors, reserved words used
    as bare names, undefined ``#names``/``:values``, unknown functions, wrong operand counts or types,
    redundant parentheses, and ValidationError for attribute values that are not valid DynamoDB values.
    """
    frozen = _freeze_names(names)
    tree, names_used, values_used, attributes = _parse_condition(kind, expr, frozen)
    bound = _bind_values(values, values_used)
    for v in values_used:
        if v not in bound:
            raise _undefined(kind, v)
    key = (kind, expr, frozen)
    compiled = _closures.get(key)
    if compiled is None:
        binder = Binder(kind, bound)
        fn = binder.condition(tree)  # raises what this request's values break, as checks below would
        if len(_closures) >= 1024:
            _closures.clear()
        _closures[key] = fn, tuple(binder.checks)
    else:
        fn, checks = compiled
        for check in checks:  # what DynamoDB checks of the values at parse time, in the same order
            check(bound)
    return Condition(expr, kind, fn, names_used, values_used, attributes, bound)


#: A condition's closures and value checks by (kind, expression, names): built once, they take the
#: values at evaluation (cleared when full: a plain dict lookup costs less than an LRU's bookkeeping).
_closures: dict[tuple, tuple[Any, tuple]] = {}


def _top_level_attributes(tree: object) -> frozenset[str]:
    """The first step of every attribute path in a parsed expression."""
    out: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Path):
            if node.steps and isinstance(node.steps[0], str):
                out.add(node.steps[0])
        elif isinstance(node, tuple | list):
            stack.extend(node)
        elif hasattr(node, "__dataclass_fields__"):
            stack.extend(getattr(node, f) for f in node.__dataclass_fields__)
    return frozenset(out)


# --- updates ----------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _parse_update(expr: str, names: tuple) -> tuple[list, frozenset, frozenset]:
    p = Parser(expr, "UpdateExpression", dict(names))
    actions = p.update()
    check_overlaps("UpdateExpression", [a.path for a in actions])
    return actions, frozenset(p.names_used), frozenset(p.values_used)


class Update:
    """A compiled UpdateExpression; ``paths`` are the top-level attribute names it touches."""

    __slots__ = ("_plan", "expression", "names_used", "paths", "values_used")

    def __init__(self, expression: str, plan: UpdatePlan, paths: set, names_used: set, values_used: set) -> None:
        self.expression, self._plan, self.paths = expression, plan, paths
        self.names_used, self.values_used = set(names_used), set(values_used)

    def apply(self, item: dict) -> dict:
        """Return the updated copy of ``item`` (``{}`` or the bare key for a new item); ``item`` is unchanged.

        Raises ValidationError for what DynamoDB refuses at run time: a path whose parent does not exist
        or has the wrong type, reading an absent attribute, operands of the wrong type, numbers out of
        range.
        """
        return self._plan.apply(item)

    def check_keys(self, key_names: Iterable[str]) -> None:
        """Raise ValidationError, as DynamoDB does, if the update touches a key attribute."""
        for name in key_names:
            if name in self.paths:
                raise ValidationError(
                    f"One or more parameter values were invalid: Cannot update attribute {name}. "
                    "This attribute is part of the key"
                )

    def __repr__(self) -> str:
        return f"<UpdateExpression {self.expression!r}>"


def compile_update(expr: str, names: dict[str, str] | None = None, values: dict[str, Any] | None = None) -> Update:
    """Compile an update expression (SET, REMOVE, ADD, DELETE clauses, each at most once).

    Raises ExpressionError/ValidationError for syntax errors, repeated clauses, overlapping or conflicting
    paths, undefined names or values, and literal operands of the wrong type.
    """
    actions, names_used, values_used = _parse_update(expr, _freeze_names(names))
    bound = _bind_values(values, values_used)

    def value_of(node: Value) -> Any:
        try:
            return bound[node.name]
        except KeyError:
            raise _undefined("UpdateExpression", node.name) from None

    for v in sorted(values_used):
        value_of(Value(v))
    plan = UpdatePlan(actions, value_of)
    paths = {a.path.steps[0] for a in actions}
    return Update(expr, plan, paths, names_used, values_used)


# --- projections ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _parse_projection(expr: str, names: tuple) -> tuple[list, frozenset]:
    p = Parser(expr, "ProjectionExpression", dict(names))
    paths = p.projection()
    check_overlaps("ProjectionExpression", paths)
    return paths, frozenset(p.names_used)


class Projection:
    """A compiled ProjectionExpression."""

    __slots__ = ("_tree", "expression", "names_used", "paths", "values_used")

    def __init__(self, expression: str, paths: list[Path], names_used: set) -> None:
        self.expression, self.names_used, self.values_used = expression, set(names_used), set()
        self.paths = [p.steps for p in paths]
        # A trie of the requested paths; None marks "the whole value here".
        tree: dict = {}
        for steps in self.paths:
            node = tree
            for s in steps[:-1]:
                node = node.setdefault(s, {})
            node[steps[-1]] = None
        self._tree = tree

    @property
    def attributes(self) -> frozenset[str]:
        """The top-level attributes the projection keeps (anything else need not be decoded)."""
        return frozenset(s[0] for s in self.paths if s and isinstance(s[0], str))

    def apply(self, item: dict) -> dict:
        """The projected copy of ``item``: only the requested paths, nested structure kept, and list
        elements picked by index closed up into a shorter list, as DynamoDB returns them."""
        out = _project(item, self._tree)
        return {} if out is MISSING else out

    def __repr__(self) -> str:
        return f"<ProjectionExpression {self.expression!r}>"


def _project(value: Any, tree: dict | None) -> Any:
    if tree is None:
        return value
    t = type(value)
    if t is dict:
        out = {}
        for k, sub in tree.items():
            if type(k) is str and k in value:
                v = _project(value[k], sub)
                if v is not MISSING:
                    out[k] = v
        return out if out else MISSING
    if t is list:
        picked = []
        for i in sorted(k for k in tree if type(k) is int):
            if i < len(value):
                v = _project(value[i], tree[i])
                if v is not MISSING:
                    picked.append(v)
        return picked if picked else MISSING
    return MISSING


def compile_projection(expr: str, names: dict[str, str] | None = None) -> Projection:
    """Compile a projection expression (comma-separated document paths).

    Raises ExpressionError for syntax errors, reserved words, undefined names, overlapping paths.
    """
    paths, names_used = _parse_projection(expr, _freeze_names(names))
    return Projection(expr, paths, names_used)


# --- key conditions ---------------------------------------------------------------------------------

_FLIP = {"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


class KeyCondition:
    """A compiled KeyConditionExpression: the hash-key value and an optional range-key condition.

    ``range_op`` is None, ``"="``, ``"<"``, ``"<="``, ``">"``, ``">="``, ``"BETWEEN"`` or
    ``"begins_with"``; ``range_values`` holds its one (two for BETWEEN) normalized values.
    """

    __slots__ = (
        "_condition",
        "expression",
        "hash_key",
        "hash_value",
        "names_used",
        "range_key",
        "range_op",
        "range_values",
        "values_used",
    )

    def __init__(self, expression: str, condition: Condition, **fields: Any) -> None:
        self.expression, self._condition = expression, condition
        self.names_used, self.values_used = condition.names_used, condition.values_used
        for k, v in fields.items():
            setattr(self, k, v)

    def evaluate(self, item: dict | None) -> bool:
        """Whether ``item`` matches (for checking; the store uses the key values to seek)."""
        return self._condition.evaluate(item)

    def __repr__(self) -> str:
        return f"<KeyConditionExpression {self.expression!r}>"


def compile_key_condition(
    expr: str,
    names: dict[str, str] | None,
    values: dict[str, Any] | None,
    hash_key: str,
    range_key: str | None,
    *,
    key_types: dict[str, str] | None = None,
) -> KeyCondition:
    """Compile a Query's key condition: ``hash = :v`` optionally AND one range-key condition (``=``,
    ``<``, ``<=``, ``>``, ``>=``, ``BETWEEN``, ``begins_with``).

    ``key_types`` (attribute name -> "S"/"N"/"B"), when given, lets values be checked against the schema.
    Raises ExpressionError for OR/NOT, other operators or functions, non-key or nested attributes, a
    missing hash-key equality, two conditions on one key, more than two conditions, begins_with on a
    number, and values whose type differs from the key's.
    """
    kind = "KeyConditionExpression"
    cond = compile_condition(expr, names, values, kind=kind)
    tree, *_ = _parse_condition(kind, expr, _freeze_names(names))
    bound = _bind_values(values, cond.values_used)
    parts: list = []
    _flatten(tree, parts)
    if len(parts) > 2:
        raise ExpressionError(f"Invalid {kind}: Conditions can be of length 1 or 2 only; conditions: {len(parts)}")
    found: dict[str, tuple[str, tuple]] = {}
    for part in parts:
        name, op, vals = _key_part(part, bound)
        if name not in (hash_key, range_key):
            expected = range_key or hash_key
            raise ValidationError(
                f"Query condition missed key schema element: {expected}; {name} is not a key attribute"
            )
        if name in found:
            raise ValidationError(f"KeyConditionExpressions must only contain one condition per key; key: {name}")
        if name == hash_key and op != "=":
            raise ValidationError(f"Query key condition not supported; operator {op} on hash key {name}")
        want = (key_types or {}).get(name)
        if op == "begins_with" and (want == "N" or type_of(vals[0]) == "N"):
            raise ExpressionError(
                f"Invalid {kind}: Incorrect operand type for operator or function; operator or function: "
                "begins_with, operand type: N"
            )
        for v in vals:
            t = type_of(v)
            if t not in ("S", "N", "B") or (want and t != want):
                raise ValidationError(
                    "One or more parameter values were invalid: Condition parameter type does not match "
                    f"schema type; key: {name}, expected: {want or 'S, N or B'}, actual: {t}"
                )
        found[name] = (op, vals)
    if hash_key not in found:
        raise ValidationError(f"Query condition missed key schema element: {hash_key}")
    range_op, range_values = found.get(range_key, (None, ())) if range_key else (None, ())
    return KeyCondition(
        expr,
        cond,
        hash_key=hash_key,
        range_key=range_key,
        hash_value=found[hash_key][1][0],
        range_op=range_op,
        range_values=range_values,
    )


def _flatten(node: object, out: list) -> None:
    if isinstance(node, Paren):
        _flatten(node.inner, out)
    elif isinstance(node, And):
        for x in node.items:
            _flatten(x, out)
    elif isinstance(node, (Or, Not)):
        op = "OR" if isinstance(node, Or) else "NOT"
        raise ExpressionError(f"Invalid operator used in KeyConditionExpression: {op}")
    else:
        out.append(node)


def _key_part(node: object, bound: dict) -> tuple[str, str, tuple]:
    """(attribute, operator, values) of one key condition."""
    if isinstance(node, Compare) and node.op in _FLIP:
        left, right, op = node.left, node.right, node.op
        if isinstance(left, Value) and isinstance(right, Path):
            left, right, op = right, left, _FLIP[op]
        if isinstance(left, Path) and isinstance(right, Value):
            return _key_name(left), op, (bound[right.name],)
    elif isinstance(node, Between):
        if isinstance(node.operand, Path) and isinstance(node.low, Value) and isinstance(node.high, Value):
            return _key_name(node.operand), "BETWEEN", (bound[node.low.name], bound[node.high.name])
    elif isinstance(node, Call) and node.name == "begins_with":
        path, prefix = node.args
        if isinstance(path, Path) and isinstance(prefix, Value):
            return _key_name(path), "begins_with", (bound[prefix.name],)
    op = node.op if isinstance(node, Compare) else node.name if isinstance(node, Call) else type(node).__name__.upper()
    raise ExpressionError(f"Invalid operator used in KeyConditionExpression: {op}")


def _key_name(path: Path) -> str:
    if len(path.steps) != 1:
        raise ExpressionError(
            f"KeyConditionExpressions cannot have conditions on nested attributes; path: {path.show()}"
        )
    return str(path.steps[0])


# --- unused names and values ------------------------------------------------------------------------


def check_unused(names: dict[str, str] | None, values: dict[str, Any] | None, *compiled: Any) -> None:
    """Refuse request-level ExpressionAttributeNames/Values that are empty maps, have malformed keys, or
    hold entries none of the ``compiled`` expressions use, with DynamoDB's messages."""
    for label, given, key_re, attr in (
        ("ExpressionAttributeNames", names, _NAME_KEY, "names_used"),
        ("ExpressionAttributeValues", values, _VALUE_KEY, "values_used"),
    ):
        if given is None:
            continue
        if not given:
            raise ValidationError(f"{label} must not be empty")
        if len(compiled) == 1 and compiled[0] is not None and given.keys() <= getattr(compiled[0], attr):
            # One expression using every key given (the usual request): each key is one the parser
            # took from the expression text, so it is well formed and none is unused.
            continue
        for k in given:
            if not isinstance(k, str) or not key_re.fullmatch(k):
                raise ValidationError(f'{label} contains invalid key: Syntax error; key: "{k}"')
        used: set[str] = set()
        for c in compiled:
            if c is not None:
                used |= getattr(c, attr)
        unused = sorted(set(given) - used)
        if unused:
            keys = ", ".join(unused)
            raise ValidationError(f"Value provided in {label} unused in expressions: keys: {{{keys}}}")
