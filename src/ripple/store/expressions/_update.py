"""Apply a parsed update expression to an item, DynamoDB's way.

Order of work, as DynamoDB does it: every SET right-hand side is evaluated against the item *before*
the update; then SETs are assigned in order, REMOVEs applied (list elements addressed by their original
indexes, the list closing up afterwards), then ADD and DELETE.

The input item is never modified. The new item is built by copying only the containers on the updated
paths; untouched nested values are shared with the input (values are treated as immutable).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Context, Decimal
from typing import Any

from ripple.errors import ValidationError

from ..values import MAX_NESTING, normalize_number, type_of
from ._condition import MISSING, get_path
from ._parser import Action, Arith, Call, Path, Value

_INVALID_PATH = "The document path provided in the update expression is invalid for update"
_NO_ATTRIBUTE = "The provided expression refers to an attribute that does not exist in the item"
_BAD_TYPE = "One or more parameter values were invalid: An operand in the update expression has an incorrect data type"
# Exact arithmetic: 38-digit operands with exponents 256 apart need ~300 digits; the result is then
# checked against DynamoDB's 38-digit limit like any stored number.
_EXACT = Context(prec=400)
_TOMBSTONE: Any = object()
_ADD_NAMES = {
    "S": "STRING",
    "N": "NUMBER",
    "B": "BINARY",
    "BOOL": "BOOLEAN",
    "NULL": "NULL",
    "L": "LIST",
    "M": "MAP",
}
_SETS = (set, frozenset)
_CONTAINERS = (dict, list)

Fn = Callable[[dict], Any]


def _depth(v: Any) -> int:
    """How many list/map levels ``v`` has (a scalar has 0)."""
    t = type(v)
    if t is dict:
        return 1 + max((_depth(x) for x in v.values()), default=0)
    if t is list:
        return 1 + max((_depth(x) for x in v), default=0)
    return 0


def _shown(path: Path) -> str:
    return "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in path.steps).lstrip(".")


class UpdatePlan:
    """The bound form of an update expression: ``apply(item) -> new item``."""

    def __init__(self, actions: list[Action], value_of: Callable[[Value], Any]) -> None:
        self.sets: list[tuple[tuple, Fn]] = []
        self.removes: list[tuple] = []
        self.adds: list[tuple[tuple, Any, str]] = []
        self.deletes: list[tuple[tuple, Any, str]] = []
        self._value_of = value_of
        for a in actions:
            if a.clause == "SET":
                self.sets.append((a.path.steps, self._rhs(a.operand, a.path)))
            elif a.clause == "REMOVE":
                self.removes.append(a.path.steps)
            else:
                v = value_of(a.operand)
                t = type_of(v)
                allowed = ("N", "SS", "NS", "BS") if a.clause == "ADD" else ("SS", "NS", "BS")
                if t not in allowed:
                    raise ValidationError(
                        "Invalid UpdateExpression: Incorrect operand type for operator or function; "
                        f"operator: {a.clause}, operand type: {_ADD_NAMES.get(t, t)}, "
                        f"typeSet: ALLOWED_FOR_{a.clause}_OPERAND"
                    )
                (self.adds if a.clause == "ADD" else self.deletes).append((a.path.steps, v, t))

    def _rhs(self, node: object, target: Path) -> Fn:
        if isinstance(node, Value):
            const = self._value_of(node)
            return lambda item: const
        if isinstance(node, Path):
            steps, shown = node.steps, _shown(node)

            def read(item: dict) -> Any:
                v = get_path(item, steps)
                if v is MISSING:
                    raise ValidationError(f"{_NO_ATTRIBUTE}; path: {shown}")
                return v

            return read
        if isinstance(node, Arith):
            left, right = self._rhs(node.left, target), self._rhs(node.right, target)
            for side in (node.left, node.right):
                if isinstance(side, Value) and type(self._value_of(side)) is not Decimal:
                    raise ValidationError(f"{_BAD_TYPE}; operator: {node.op}, path: {_shown(target)}")
            op, shown = node.op, _shown(target)

            def arith(item: dict) -> Any:
                a, b = left(item), right(item)
                if type(a) is not Decimal or type(b) is not Decimal:
                    raise ValidationError(f"{_BAD_TYPE}; operator: {op}, path: {shown}")
                r = _EXACT.add(a, b) if op == "+" else _EXACT.subtract(a, b)
                return normalize_number(r, shown)

            return arith
        assert isinstance(node, Call)
        if node.name == "if_not_exists":
            steps = node.args[0].steps
            fallback = self._rhs(node.args[1], target)

            def if_not_exists(item: dict) -> Any:
                v = get_path(item, steps)
                return fallback(item) if v is MISSING else v

            return if_not_exists
        # list_append
        for side in node.args:
            if isinstance(side, Value) and type(self._value_of(side)) is not list:
                raise ValidationError(f"{_BAD_TYPE}; operator: list_append, path: {_shown(target)}")
        first, second = (self._rhs(x, target) for x in node.args)
        shown = _shown(target)

        def list_append(item: dict) -> Any:
            a, b = first(item), second(item)
            if type(a) is not list or type(b) is not list:
                raise ValidationError(f"{_BAD_TYPE}; operator: list_append, path: {shown}")
            return a + b

        return list_append

    # -- applying

    def apply(self, item: dict) -> dict:
        computed = [(steps, fn(item)) for steps, fn in self.sets]
        work = _Work(item)
        for steps, v in computed:
            if type(v) in _CONTAINERS and len(steps) - 1 + _depth(v) > MAX_NESTING:
                raise ValidationError(f"Nesting Levels have exceeded supported limits; path: {_shown(Path(steps))}")
            work.assign(steps, v)
        for steps in self.removes:
            work.remove(steps)
        for steps, v, t in self.adds:
            cur = get_path(work.root, steps)
            if cur is MISSING:
                work.assign(steps, v)
            elif t == "N" and type(cur) is Decimal:
                work.assign(steps, normalize_number(_EXACT.add(cur, v), _shown(Path(steps))))
            elif type(cur) in _SETS and type_of(cur) == t:
                work.assign(steps, cur | v)
            else:
                raise ValidationError(f"{_BAD_TYPE}; operator: ADD, path: {_shown(Path(steps))}")
        for steps, v, t in self.deletes:
            cur = get_path(work.root, steps)
            if cur is MISSING:
                continue
            if type(cur) not in _SETS or type_of(cur) != t:
                raise ValidationError(f"{_BAD_TYPE}; operator: DELETE, path: {_shown(Path(steps))}")
            rest = cur - v
            if rest:
                work.assign(steps, rest)
            else:
                work.remove(steps)
        work.sweep()
        return work.root


class _Work:
    """The item being built: copy-on-write along updated paths."""

    def __init__(self, item: dict) -> None:
        self.root = dict(item)
        # Containers created by this update may be changed in place; the rest belong to the caller.
        self.fresh: dict[int, Any] = {id(self.root): self.root}
        self.holed: list[list] = []

    def _own(self, container: Any, step: Any, shown: str) -> Any:
        child = container[step]
        if id(child) in self.fresh:
            return child
        if type(child) is dict:
            child = dict(child)
        elif type(child) is list:
            child = list(child)
        else:
            raise ValidationError(f"{_INVALID_PATH}; path: {shown}")
        container[step] = child
        self.fresh[id(child)] = child
        return child

    def _parent(self, steps: tuple, create: bool) -> Any:
        """The (owned) container holding the last step; MISSING if absent and not ``create``."""
        node = self.root
        for i, s in enumerate(steps[:-1]):
            shown = _shown(Path(steps[: i + 1]))
            if type(s) is str:
                if type(node) is not dict:
                    raise ValidationError(f"{_INVALID_PATH}; path: {shown}")
                if s not in node:
                    if create:
                        raise ValidationError(f"{_INVALID_PATH}; path: {shown}")
                    return MISSING
            else:
                if type(node) is not list:
                    raise ValidationError(f"{_INVALID_PATH}; path: {shown}")
                if s >= len(node):
                    if create:
                        raise ValidationError(f"{_INVALID_PATH}; path: {shown}")
                    return MISSING
            node = self._own(node, s, shown)
        return node

    def assign(self, steps: tuple, value: Any) -> None:
        parent = self._parent(steps, create=True)
        last = steps[-1]
        if type(last) is str:
            if type(parent) is not dict:
                raise ValidationError(f"{_INVALID_PATH}; path: {_shown(Path(steps))}")
            parent[last] = value
        else:
            if type(parent) is not list:
                raise ValidationError(f"{_INVALID_PATH}; path: {_shown(Path(steps))}")
            # DynamoDB appends when the index is past the end.
            if last < len(parent):
                parent[last] = value
            else:
                parent.append(value)

    def remove(self, steps: tuple) -> None:
        parent = self._parent(steps, create=False)
        if parent is MISSING:
            return
        last = steps[-1]
        if type(last) is str:
            if type(parent) is not dict:
                raise ValidationError(f"{_INVALID_PATH}; path: {_shown(Path(steps))}")
            parent.pop(last, None)
        else:
            if type(parent) is not list:
                raise ValidationError(f"{_INVALID_PATH}; path: {_shown(Path(steps))}")
            if last < len(parent):
                # Leave a hole so later removals in the same list still use the original indexes.
                parent[last] = _TOMBSTONE
                self.holed.append(parent)

    def sweep(self) -> None:
        for lst in self.holed:
            lst[:] = [x for x in lst if x is not _TOMBSTONE]
