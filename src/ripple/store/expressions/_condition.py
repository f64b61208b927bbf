"""Turn a parsed condition into a closure ``(item, values) -> bool``.

The closure reads the attribute values at evaluation, so one closure serves every request that
differs only in its values (a conditional put on ``version = :v`` compiles once, not per request).
The checks DynamoDB makes on the values at parse time (a literal of the wrong type for ``<``,
``BETWEEN``'s bounds, ``attribute_type``'s name, ``begins_with``'s operands) are kept, in traversal
order, as ``Binder.checks``: run against each request's values, they raise exactly what binding
those values would have raised.

Operand closures return the Python value or ``MISSING`` (the path does not exist, or ``size`` of a type
that has none); every comparison involving ``MISSING`` is false except ``<>``, which is true, as in
DynamoDB (``status <> :done`` holds for an item without ``status``).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ripple.errors import ExpressionError

from ..values import type_of
from ._parser import And, Between, Call, Compare, In, Not, Or, Paren, Path, Value

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()
VALID_TYPES = ("S", "N", "B", "SS", "NS", "BS", "BOOL", "NULL", "L", "M")
_ORDERED = (str, Decimal, bytes)
_SETS = (set, frozenset)

Fn = Callable[[dict, dict], Any]
Check = Callable[[dict], None]


def get_path(item: Any, steps: tuple) -> Any:
    """The value at ``steps`` in ``item``, or MISSING when any step is absent or of the wrong kind."""
    v = item
    for s in steps:
        if type(s) is str:
            if type(v) is not dict:
                return MISSING
            v = v.get(s, MISSING)
            if v is MISSING:
                return MISSING
        else:
            if type(v) is not list or s >= len(v):
                return MISSING
            v = v[s]
    return v


def equal(a: Any, b: Any) -> bool:
    """DynamoDB equality: same type and same value, deeply; numbers numerically, sets unordered."""
    ta, tb = type(a), type(b)
    if ta is not tb:
        if ta in _SETS and tb in _SETS:
            return a == b and type_of(a) == type_of(b)
        return False
    if ta is list:
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    if ta is dict:
        return a.keys() == b.keys() and all(equal(x, b[k]) for k, x in a.items())
    if ta in _SETS:
        return a == b and type_of(a) == type_of(b)
    return a == b


def less(a: Any, b: Any) -> bool:
    """``a < b`` for two S, two N or two B values; False for anything else (never an error)."""
    ta = type(a)
    return ta is type(b) and ta in _ORDERED and a < b


def _size(v: Any) -> Any:
    t = type(v)
    if t is str:
        return Decimal(len(v.encode("utf-8")))
    if t is bytes or t is list or t is dict or t in _SETS:
        return Decimal(len(v))
    return MISSING


def display(v: Any) -> str:
    """DynamoDB's rendering of a value in messages: ``AttributeValue: {N:5}``."""
    t = type_of(v)
    shown = format(v, "f") if t == "N" else v if t == "S" else "..."
    return f"AttributeValue: {{{t}:{shown}}}"


class Binder:
    """Compiles one parsed condition; ``values`` (normalized) are the first request's, which the
    checks run against as they are recorded."""

    def __init__(self, kind: str, values: dict[str, Any]) -> None:
        self.kind = kind
        self.values = values
        #: the value checks, in traversal order: each raises ExpressionError for bad values
        self.checks: list[Check] = []

    def check(self, fn: Check) -> None:
        """Record a check of the values and run it against this request's."""
        self.checks.append(fn)
        fn(self.values)

    def error(self, message: str) -> ExpressionError:
        return ExpressionError(f"Invalid {self.kind}: {message}")

    def value(self, node: Value) -> Any:
        try:
            return self.values[node.name]
        except KeyError:
            raise self.error(
                f"An expression attribute value used in expression is not defined; attribute value: {node.name}"
            ) from None

    def bad_operand(self, op: str, v: Any) -> ExpressionError:
        return self.error(
            f"Incorrect operand type for operator or function; operator or function: {op}, operand type: {type_of(v)}"
        )

    # -- operands

    def operand(self, node: object) -> Fn:
        if isinstance(node, Value):
            self.value(node)  # defined (compile_condition checks that first)
            name = node.name
            return lambda item, values: values[name]
        if isinstance(node, Path):
            steps = node.steps
            if len(steps) == 1:
                key = steps[0]
                return lambda item, values: item.get(key, MISSING)
            return lambda item, values: get_path(item, steps)
        assert isinstance(node, Call) and node.name == "size"
        inner = self.operand(node.args[0])
        return lambda item, values: _size(inner(item, values))

    def ordered_operand(self, op: str, node: object) -> Fn:
        """An operand of ``<``, ``BETWEEN`` ...: a literal must be S, N or B (DynamoDB checks at parse)."""
        if isinstance(node, Value):
            name = node.name

            def ordered(values: dict) -> None:
                v = values[name]
                if type(v) not in _ORDERED:
                    raise self.bad_operand(op, v)

            self.check(ordered)
        return self.operand(node)

    # -- conditions

    def condition(self, node: object) -> Fn:
        if isinstance(node, Paren):
            return self.condition(node.inner)
        if isinstance(node, And):
            fns = [self.condition(x) for x in node.items]
            if len(fns) == 2:
                left, right = fns
                return lambda item, values: left(item, values) and right(item, values)
            return lambda item, values: all(f(item, values) for f in fns)
        if isinstance(node, Or):
            fns = [self.condition(x) for x in node.items]
            if len(fns) == 2:
                left, right = fns
                return lambda item, values: left(item, values) or right(item, values)
            return lambda item, values: any(f(item, values) for f in fns)
        if isinstance(node, Not):
            inner = self.condition(node.operand)
            return lambda item, values: not inner(item, values)
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, Between):
            return self.between(node)
        if isinstance(node, In):
            operand = self.operand(node.operand)
            options = [self.operand(o) for o in node.options]

            def is_in(item: dict, values: dict) -> bool:
                v = operand(item, values)
                return v is not MISSING and any(equal(v, o(item, values)) for o in options)

            return is_in
        assert isinstance(node, Call)
        return self.function(node)

    def compare(self, node: Compare) -> Fn:
        op = node.op
        if op in ("=", "<>"):
            left, right = self.operand(node.left), self.operand(node.right)
            if op == "=":

                def same(item: dict, values: dict) -> bool:
                    a = left(item, values)
                    return a is not MISSING and equal(a, right(item, values))

                return same

            def differ(item: dict, values: dict) -> bool:
                a, b = left(item, values), right(item, values)
                return a is MISSING or b is MISSING or not equal(a, b)

            return differ
        left, right = self.ordered_operand(op, node.left), self.ordered_operand(op, node.right)
        if op == "<":
            return lambda item, values: less(left(item, values), right(item, values))
        if op == ">":
            return lambda item, values: less(right(item, values), left(item, values))
        if op == "<=":
            return lambda item, values: _le(left(item, values), right(item, values))
        return lambda item, values: _le(right(item, values), left(item, values))

    def between(self, node: Between) -> Fn:
        operand = self.ordered_operand("BETWEEN", node.operand)
        low = self.ordered_operand("BETWEEN", node.low)
        high = self.ordered_operand("BETWEEN", node.high)
        if isinstance(node.low, Value) and isinstance(node.high, Value):
            lo_name, hi_name = node.low.name, node.high.name

            def bounds(values: dict) -> None:
                lo, hi = values[lo_name], values[hi_name]
                if type(lo) is not type(hi):
                    raise self.error(
                        "The BETWEEN operator requires same data type for lower and upper bounds; "
                        f"lower bound operand: {display(lo)}, upper bound operand: {display(hi)}"
                    )
                if less(hi, lo):
                    raise self.error(
                        "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; "
                        f"lower bound operand: {display(lo)}, upper bound operand: {display(hi)}"
                    )

            self.check(bounds)
        return lambda item, values: _le(low(item, values), v := operand(item, values)) and _le(v, high(item, values))

    def function(self, node: Call) -> Fn:
        name, args = node.name, node.args
        if name == "attribute_exists":
            path = self.operand(args[0])
            return lambda item, values: path(item, values) is not MISSING
        if name == "attribute_not_exists":
            path = self.operand(args[0])
            return lambda item, values: path(item, values) is MISSING
        if name == "attribute_type":
            path = self.operand(args[0])
            self.value(args[1])
            type_name = args[1].name

            def valid_type(values: dict) -> None:
                wanted = values[type_name]
                if wanted not in VALID_TYPES:
                    shown = wanted if type(wanted) is str else type_of(wanted)
                    raise self.error(
                        f"Invalid attribute type name found; type: {shown}, "
                        "valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}"
                    )

            self.check(valid_type)

            def has_type(item: dict, values: dict) -> bool:
                v = path(item, values)
                return v is not MISSING and type_of(v) == values[type_name]

            return has_type
        if name == "begins_with":
            literals = [arg.name for arg in args if isinstance(arg, Value)]
            if literals:

                def textual(values: dict) -> None:
                    for literal in literals:
                        if type(values[literal]) not in (str, bytes):
                            raise self.bad_operand(name, values[literal])

                self.check(textual)
            whole, prefix = self.operand(args[0]), self.operand(args[1])

            def begins(item: dict, values: dict) -> bool:
                a, b = whole(item, values), prefix(item, values)
                ta = type(a)
                return ta is type(b) and (ta is str or ta is bytes) and a.startswith(b)

            return begins
        assert name == "contains"
        whole, part = self.operand(args[0]), self.operand(args[1])
        return lambda item, values: contains(whole(item, values), part(item, values))


def _le(a: Any, b: Any) -> bool:
    ta = type(a)
    return ta is type(b) and ta in _ORDERED and a <= b


def contains(whole: Any, part: Any) -> bool:
    """DynamoDB ``contains``: substring of S or B, member of a set of the same element type, or an element
    (deep equality) of a list."""
    t = type(whole)
    if t is str or t is bytes:
        return type(part) is t and part in whole
    if t in _SETS:
        if type(part) not in _ORDERED:
            return False
        for x in whole:
            return type(x) is type(part) and part in whole
        return False
    if t is list:
        return part is not MISSING and any(equal(x, part) for x in whole)
    return False
