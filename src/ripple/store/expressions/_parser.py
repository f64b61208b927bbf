"""Tokenizer, syntax tree and recursive-descent parser for DynamoDB's expression grammar.

Parsing depends only on the expression text and its attribute names (``#n``), never on the attribute
values (``:v``), so a parse can be cached and its values bound later (see ``__init__``).

Grammar (keywords case-insensitive, function names case-sensitive as in DynamoDB)::

    condition  := and ("OR" and)*
    and        := not ("AND" not)*
    not        := "NOT" not | "(" condition ")" | function | operand comparison
    comparison := ("=" | "<>" | "<" | "<=" | ">" | ">=") operand
                | "BETWEEN" operand "AND" operand | "IN" "(" operand ("," operand)* ")"
    operand    := path | ":value" | function
    path       := element ("." element | "[" digits "]")*       element := name | "#name"
    update     := (("SET" set ("," set)*) | ("REMOVE" path ("," path)*)
                 | ("ADD" path value ("," ...)*) | ("DELETE" path value ("," ...)*))+
    set        := path "=" operand (("+" | "-") operand)?
    projection := path ("," path)*
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from ripple.errors import ExpressionError

from ._reserved import RESERVED_WORDS

MAX_EXPRESSION_BYTES = 4096
MAX_PATH_DEPTH = 32
MAX_IN_OPERANDS = 100
#: Parentheses and NOTs nested deeper than this are refused rather than risking Python's recursion limit.
MAX_NESTING = 100

# --- syntax tree ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Path:
    steps: tuple[str | int, ...]

    def show(self) -> str:
        """DynamoDB's rendering of a path in messages: ``[a, b, [0]]``."""
        return "[" + ", ".join(f"[{s}]" if isinstance(s, int) else s for s in self.steps) + "]"


@dataclass(frozen=True, slots=True)
class Value:
    name: str


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple


@dataclass(frozen=True, slots=True)
class Arith:
    op: str
    left: object
    right: object


@dataclass(frozen=True, slots=True)
class Compare:
    op: str
    left: object
    right: object


@dataclass(frozen=True, slots=True)
class Between:
    operand: object
    low: object
    high: object


@dataclass(frozen=True, slots=True)
class In:
    operand: object
    options: tuple


@dataclass(frozen=True, slots=True)
class And:
    items: tuple  # two or more: chains are kept flat so long ones cannot exhaust the stack


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple


@dataclass(frozen=True, slots=True)
class Not:
    operand: object


@dataclass(frozen=True, slots=True)
class Paren:
    inner: object


@dataclass(frozen=True, slots=True)
class Action:
    clause: str  # SET, REMOVE, ADD, DELETE
    path: Path
    operand: object = None


Operand = Path | Value | Call | Arith

CONDITION_FUNCTIONS = {
    "attribute_exists": 1,
    "attribute_not_exists": 1,
    "attribute_type": 2,
    "begins_with": 2,
    "contains": 2,
}
OPERAND_FUNCTIONS = {"size": 1}
UPDATE_FUNCTIONS = {"if_not_exists": 2, "list_append": 2}
ALL_FUNCTIONS = {**CONDITION_FUNCTIONS, **OPERAND_FUNCTIONS, **UPDATE_FUNCTIONS}
COMPARATORS = frozenset({"=", "<>", "<", "<=", ">", ">="})
CLAUSES = ("SET", "REMOVE", "ADD", "DELETE")

# --- tokenizer --------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"(?P<ws>\s+)|(?P<name>#[A-Za-z0-9_]+)|(?P<value>:[A-Za-z0-9_]+)|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<int>[0-9]+)|(?P<op><>|<=|>=|[=<>(),.\[\]+-])"
)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # name, value, ident, int, op, eof
    text: str
    start: int
    end: int


def tokenize(text: str, kind: str) -> list[Token]:
    """Split ``text`` into tokens; an unexpected character is a syntax error naming it."""
    out: list[Token] = []
    pos, n = 0, len(text)
    match = _TOKEN_RE.match
    while pos < n:
        m = match(text, pos)
        if m is None:
            bad = Token("op", text[pos], pos, pos + 1)
            out.append(bad)
            raise _syntax(kind, text, out, len(out) - 1)
        if m.lastgroup != "ws":
            out.append(Token(m.lastgroup or "op", m.group(), pos, m.end()))
        pos = m.end()
    out.append(Token("eof", "<EOF>", n, n))
    return out


def _syntax(kind: str, text: str, tokens: list[Token], i: int) -> ExpressionError:
    tok = tokens[i]
    # DynamoDB quotes the source around the bad token: from the previous token to the next one.
    start = tokens[i - 1].start if i > 0 else tok.start
    end = tokens[i + 1].end if i + 1 < len(tokens) and tokens[i + 1].kind != "eof" else tok.end
    near = text[start:end]
    return ExpressionError(f'Invalid {kind}: Syntax error; token: "{tok.text}", near: "{near}"')


# --- parser -----------------------------------------------------------------------------------------


class Parser:
    """One parse of one expression. ``names_used``/``values_used`` collect the ``#n``/``:v`` seen."""

    def __init__(self, text: str, kind: str, names: dict[str, str]) -> None:
        if not isinstance(text, str):
            raise ExpressionError(f"Invalid {kind}: The expression must be a string, not {type(text).__name__}")
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_EXPRESSION_BYTES:
            raise ExpressionError(
                f"Invalid {kind}: Expression size has exceeded the maximum allowed size; expression size: {size}"
            )
        if not text.strip():
            raise ExpressionError(f"Invalid {kind}: The expression can not be empty;")
        self.text = text
        self.kind = kind
        self.names = names
        self.tokens = tokenize(text, kind)
        self.i = 0
        self.names_used: set[str] = set()
        self.values_used: set[str] = set()

    # -- helpers

    def error(self, message: str) -> ExpressionError:
        return ExpressionError(f"Invalid {self.kind}: {message}")

    def syntax_error(self) -> ExpressionError:
        return _syntax(self.kind, self.text, self.tokens, self.i)

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != "eof":
            self.i += 1
        return tok

    def at_op(self, text: str) -> bool:
        tok = self.tokens[self.i]
        return tok.kind == "op" and tok.text == text

    def at_keyword(self, word: str) -> bool:
        tok = self.tokens[self.i]
        return tok.kind == "ident" and tok.text.upper() == word

    def expect_op(self, text: str) -> None:
        if not self.at_op(text):
            raise self.syntax_error()
        self.i += 1

    def expect_end(self) -> None:
        if self.peek().kind != "eof":
            raise self.syntax_error()

    # -- paths and operands

    def path(self) -> Path:
        steps: list[str | int] = [self.element()]
        while True:
            if self.at_op("."):
                self.i += 1
                steps.append(self.element())
            elif self.at_op("["):
                self.i += 1
                tok = self.peek()
                if tok.kind != "int":
                    raise self.syntax_error()
                self.i += 1
                self.expect_op("]")
                steps.append(int(tok.text))
            else:
                break
        if len(steps) > MAX_PATH_DEPTH:
            raise self.error(f"The document path has too many nesting levels; nesting levels: {len(steps)}")
        return Path(tuple(steps))

    def element(self) -> str:
        tok = self.peek()
        if tok.kind == "ident":
            if tok.text.upper() in RESERVED_WORDS:
                raise self.error(f"Attribute name is a reserved keyword; reserved keyword: {tok.text}")
            self.i += 1
            return tok.text
        if tok.kind == "name":
            resolved = self.names.get(tok.text)
            if resolved is None:
                raise self.error(
                    f"An expression attribute name used in the document path is not defined; attribute name: {tok.text}"
                )
            self.names_used.add(tok.text)
            self.i += 1
            return resolved
        raise self.syntax_error()

    def operand(self) -> Operand:
        tok = self.peek()
        if tok.kind == "value":
            self.i += 1
            self.values_used.add(tok.text)
            return Value(tok.text)
        if tok.kind == "ident" and self.peek(1).kind == "op" and self.peek(1).text == "(":
            return self.call()
        if tok.kind in ("ident", "name"):
            return self.path()
        raise self.syntax_error()

    def call(self) -> Call:
        name = self.advance().text
        if name not in ALL_FUNCTIONS:
            raise self.error(f"Invalid function name; function: {name}")
        self.expect_op("(")
        args = [self.operand()]
        while self.at_op(","):
            self.i += 1
            args.append(self.operand())
        self.expect_op(")")
        if len(args) != ALL_FUNCTIONS[name]:
            raise self.error(
                "Incorrect number of operands for operator or function; "
                f"operator or function: {name}, number of operands: {len(args)}"
            )
        self.check_call(name, args)
        return Call(name, tuple(args))

    def check_call(self, name: str, args: list) -> None:
        update = self.kind == "UpdateExpression"
        if (name in UPDATE_FUNCTIONS) != update:
            raise self.not_allowed(name)
        needs_path = ("attribute_exists", "attribute_not_exists", "size", "if_not_exists", "attribute_type")
        if name in needs_path and not isinstance(args[0], Path):
            raise self.error(f"Operator or function requires a document path; operator or function: {name}")
        if name == "attribute_type" and not isinstance(args[1], Value):
            raise self.error(
                "Incorrect operand type for operator or function; operator or function: attribute_type, "
                "operand type: path"
            )
        for arg in args:
            if isinstance(arg, Call) and not (name == "list_append" and arg.name == "if_not_exists"):
                raise self.not_allowed(arg.name)

    def not_allowed(self, name: str) -> ExpressionError:
        return self.error(f"The function is not allowed to be used this way in an expression; function: {name}")

    # -- conditions

    def condition(self, depth: int = 0) -> object:
        items = [self.conjunction(depth)]
        while self.at_keyword("OR"):
            self.i += 1
            items.append(self.conjunction(depth))
        return items[0] if len(items) == 1 else Or(tuple(items))

    def conjunction(self, depth: int) -> object:
        items = [self.negation(depth)]
        while self.at_keyword("AND"):
            self.i += 1
            items.append(self.negation(depth))
        return items[0] if len(items) == 1 else And(tuple(items))

    def negation(self, depth: int) -> object:
        if depth > MAX_NESTING:
            raise self.error(f"The expression is nested too deeply; maximum nesting levels: {MAX_NESTING}")
        if self.at_keyword("NOT"):
            self.i += 1
            return Not(self.negation(depth + 1))
        if self.at_op("("):
            self.i += 1
            inner = self.condition(depth + 1)
            self.expect_op(")")
            if isinstance(inner, Paren):
                raise self.error("The expression has redundant parentheses;")
            return Paren(inner)
        return self.predicate()

    def predicate(self) -> object:
        left = self.operand()
        tok = self.peek()
        if tok.kind == "op" and tok.text in COMPARATORS:
            self.i += 1
            right = self.operand()
            self.operand_use(tok.text, left, right)
            return Compare(tok.text, left, right)
        if self.at_keyword("BETWEEN"):
            self.i += 1
            low = self.operand()
            if not self.at_keyword("AND"):
                raise self.syntax_error()
            self.i += 1
            high = self.operand()
            self.operand_use("BETWEEN", left, low, high)
            return Between(left, low, high)
        if self.at_keyword("IN"):
            self.i += 1
            self.expect_op("(")
            options = [self.operand()]
            while self.at_op(","):
                self.i += 1
                options.append(self.operand())
            self.expect_op(")")
            if len(options) > MAX_IN_OPERANDS:
                raise self.error(
                    "The expression contains too many operands for the IN operator; "
                    f"maximum: {MAX_IN_OPERANDS}, operands: {len(options)}"
                )
            self.operand_use("IN", left, *options)
            return In(left, tuple(options))
        if isinstance(left, Call) and left.name in CONDITION_FUNCTIONS:
            return left
        if isinstance(left, Call):
            raise self.not_allowed(left.name)
        raise self.syntax_error()

    def operand_use(self, op: str, first: object, *rest: object) -> None:
        for x in (first, *rest):
            if isinstance(x, Call) and x.name != "size":
                raise self.not_allowed(x.name)
        if first in rest:
            shown = first.show() if isinstance(first, Path) else getattr(first, "name", "?")
            raise self.error(
                "The first operand must be distinct from the remaining operands for this operator or "
                f"function; operator: {op}, first operand: {shown}"
            )

    # -- update expressions

    def update(self) -> list[Action]:
        actions: list[Action] = []
        seen: set[str] = set()
        while self.peek().kind != "eof":
            tok = self.peek()
            clause = tok.text.upper() if tok.kind == "ident" else ""
            if clause not in CLAUSES:
                raise self.syntax_error()
            if clause in seen:
                raise self.error(f'The "{clause}" section can only be used once in an update expression;')
            seen.add(clause)
            self.i += 1
            while True:
                actions.append(self.action(clause))
                if not self.at_op(","):
                    break
                self.i += 1
        return actions

    def action(self, clause: str) -> Action:
        path = self.path()
        if clause == "REMOVE":
            return Action(clause, path)
        if clause == "SET":
            self.expect_op("=")
            value = self.set_operand()
            tok = self.peek()
            if tok.kind == "op" and tok.text in "+-":
                self.i += 1
                value = Arith(tok.text, value, self.set_operand())
            return Action(clause, path, value)
        tok = self.peek()
        if tok.kind != "value":
            raise self.syntax_error()
        self.i += 1
        self.values_used.add(tok.text)
        return Action(clause, path, Value(tok.text))

    def set_operand(self) -> Operand:
        operand = self.operand()
        if isinstance(operand, Call) and operand.name not in UPDATE_FUNCTIONS:
            raise self.not_allowed(operand.name)
        return operand

    # -- projections

    def projection(self) -> list[Path]:
        paths = [self.path()]
        while self.at_op(","):
            self.i += 1
            paths.append(self.path())
        self.expect_end()
        return paths


def check_overlaps(kind: str, paths: list[Path]) -> None:
    """DynamoDB refuses two paths of one expression where one contains the other, or where one indexes a
    list and the other a map at the same place."""
    # Sorted (list indexes before map keys at each level), a path sits next to the paths it contains, and
    # the last index-path under a prefix sits next to the first key-path: neighbours are enough to check.
    order = sorted(range(len(paths)), key=lambda i: tuple((0, s) if type(s) is int else (1, s) for s in paths[i].steps))
    for i, j in itertools.pairwise(order):
        a, b = (paths[i], paths[j]) if i < j else (paths[j], paths[i])
        for x, y in zip(a.steps, b.steps, strict=False):
            if x == y and type(x) is type(y):
                continue
            if isinstance(x, int) != isinstance(y, int):
                raise ExpressionError(
                    f"Invalid {kind}: Two document paths conflict with each other; must remove or "
                    f"rewrite one of these paths; path one: {a.show()}, path two: {b.show()}"
                )
            break
        else:
            raise ExpressionError(
                f"Invalid {kind}: Two document paths overlap with each other; must remove or rewrite one "
                f"of these paths; path one: {a.show()}, path two: {b.show()}"
            )
