"""Turn a parsed condition plus bound attribute values into a closure ``item -> bool``.

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

Fn = Callable[[dict], Any]


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
    """Compiles one parsed condition against one set of (normalized) attribute values."""

    def __init__(self, kind: str, values: dict[str, Any]) -> None:
        self.kind = kind
        self.values = values

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
            const = self.value(node)
            return lambda item: const
        if isinstance(node, Path):
            steps = node.steps
            if len(steps) == 1:
                key = steps[0]
                return lambda item: item.get(key, MISSING)
            return lambda item: get_path(item, steps)
        assert isinstance(node, Call) and node.name == "size"
        inner = self.operand(node.args[0])
        return lambda item: _size(inner(item))

    def ordered_operand(self, op: str, node: object) -> Fn:
        """An operand of ``<``, ``BETWEEN`` ...: a literal must be S, N or B (DynamoDB checks at parse)."""
        if isinstance(node, Value):
            v = self.value(node)
            if type(v) not in _ORDERED:
                raise self.bad_operand(op, v)
        return self.operand(node)

    # -- conditions

    def condition(self, node: object) -> Fn:
        if isinstance(node, Paren):
            return self.condition(node.inner)
        if isinstance(node, And):
            fns = [self.condition(x) for x in node.items]
            if len(fns) == 2:
                left, right = fns
                return lambda item: left(item) and right(item)
            return lambda item: all(f(item) for f in fns)
        if isinstance(node, Or):
            fns = [self.condition(x) for x in node.items]
            if len(fns) == 2:
                left, right = fns
                return lambda item: left(item) or right(item)
            return lambda item: any(f(item) for f in fns)
        if isinstance(node, Not):
            inner = self.condition(node.operand)
            return lambda item: not inner(item)
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, Between):
            return self.between(node)
        if isinstance(node, In):
            operand = self.operand(node.operand)
            options = [self.operand(o) for o in node.options]

            def is_in(item: dict) -> bool:
                v = operand(item)
                return v is not MISSING and any(equal(v, o(item)) for o in options)

            return is_in
        assert isinstance(node, Call)
        return self.function(node)

    def compare(self, node: Compare) -> Fn:
        op = node.op
        if op in ("=", "<>"):
            left, right = self.operand(node.left), self.operand(node.right)
            if op == "=":

                def same(item: dict) -> bool:
                    a = left(item)
                    return a is not MISSING and equal(a, right(item))

                return same

            def differ(item: dict) -> bool:
                a, b = left(item), right(item)
                return a is MISSING or b is MISSING or not equal(a, b)

            return differ
        left, right = self.ordered_operand(op, node.left), self.ordered_operand(op, node.right)
        if op == "<":
            return lambda item: less(left(item), right(item))
        if op == ">":
            return lambda item: less(right(item), left(item))
        if op == "<=":
            return lambda item: _le(left(item), right(item))
        return lambda item: _le(right(item), left(item))

    def between(self, node: Between) -> Fn:
        operand = self.ordered_operand("BETWEEN", node.operand)
        low = self.ordered_operand("BETWEEN", node.low)
        high = self.ordered_operand("BETWEEN", node.high)
        if isinstance(node.low, Value) and isinstance(node.high, Value):
            lo, hi = self.value(node.low), self.value(node.high)
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
        return lambda item: _le(low(item), v := operand(item)) and _le(v, high(item))

    def function(self, node: Call) -> Fn:
        name, args = node.name, node.args
        if name == "attribute_exists":
            path = self.operand(args[0])
            return lambda item: path(item) is not MISSING
        if name == "attribute_not_exists":
            path = self.operand(args[0])
            return lambda item: path(item) is MISSING
        if name == "attribute_type":
            path = self.operand(args[0])
            wanted = self.value(args[1])
            if wanted not in VALID_TYPES:
                shown = wanted if type(wanted) is str else type_of(wanted)
                raise self.error(
                    f"Invalid attribute type name found; type: {shown}, valid types: {{B,NULL,SS,BOOL,L,BS,N,NS,S,M}}"
                )

            def has_type(item: dict) -> bool:
                v = path(item)
                return v is not MISSING and type_of(v) == wanted

            return has_type
        if name == "begins_with":
            for arg in args:
                if isinstance(arg, Value) and type(self.value(arg)) not in (str, bytes):
                    raise self.bad_operand(name, self.value(arg))
            whole, prefix = self.operand(args[0]), self.operand(args[1])

            def begins(item: dict) -> bool:
                a, b = whole(item), prefix(item)
                ta = type(a)
                return ta is type(b) and (ta is str or ta is bytes) and a.startswith(b)

            return begins
        assert name == "contains"
        whole, part = self.operand(args[0]), self.operand(args[1])
        return lambda item: contains(whole(item), part(item))


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
