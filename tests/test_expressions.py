"""DynamoDB's expression language: conditions, filters, updates, projections, key conditions."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from ripple.errors import ExpressionError, ValidationError
from ripple.store.expressions import (
    check_unused,
    compile_condition,
    compile_key_condition,
    compile_projection,
    compile_update,
)


def cond(expr, item, names=None, **values):
    """Evaluate ``expr`` on ``item`` with ``:name`` values given as keyword arguments."""
    vals = {f":{k}": v for k, v in values.items()} or None
    return compile_condition(expr, names, vals).evaluate(item)


def update(expr, item, names=None, **values):
    vals = {f":{k}": v for k, v in values.items()} or None
    return compile_update(expr, names, vals).apply(item)


ITEM = {
    "id": "u1",
    "n": D(5),
    "s": "hello",
    "b": b"\x01\x02",
    "ss": {"a", "b"},
    "ns": {D(1), D(2)},
    "l": ["x", D(1), {"k": "v"}],
    "m": {"a": {"b": D(7)}, "t": True},
    "t": True,
    "z": None,
}

# --- comparisons ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "value", "expected"),
    [
        ("n = :v", 5, True),
        ("n = :v", D("5.0"), True),
        ("n = :v", "5", False),  # different types are unequal, not an error
        ("n <> :v", "5", True),
        ("n <> :v", 5, False),
        ("n < :v", 6, True),
        ("n < :v", 5, False),
        ("n <= :v", 5, True),
        ("n > :v", 4, True),
        ("n >= :v", 6, False),
        ("n < :v", "6", False),
        ("s < :v", "help", True),  # strings by code point / UTF-8 bytes
        ("b > :v", b"\x01", True),
        ("t = :v", True, True),
        ("t = :v", 1, False),  # BOOL is not N
        ("z = :v", None, True),
        ("ss = :v", {"b", "a"}, True),
        ("ns = :v", {D("1.0"), D(2)}, True),
        ("l = :v", ["x", 1, {"k": "v"}], True),
        ("l = :v", ["x", True, {"k": "v"}], False),
        ("m = :v", {"t": True, "a": {"b": 7}}, True),
        ("m.a.b = :v", 7, True),
        ("l[2].k = :v", "v", True),
        ("l[9] = :v", "v", False),
    ],
)
def test_comparisons(expr, value, expected):
    assert cond(expr, ITEM, v=value) is expected


def test_missing_attribute_comparisons():
    assert cond("nope = :v", ITEM, v=1) is False
    assert cond("nope <> :v", ITEM, v=1) is True
    assert cond("nope < :v", ITEM, v=1) is False
    assert cond("nope = nah", ITEM) is False
    assert cond("n = :v", None, v=5) is False  # no item at all


def test_path_to_path_comparison():
    item = {"a": D(1), "b": D(2)}
    assert cond("a < b", item) is True
    assert cond("a = b", item) is False


def test_between_and_in():
    assert cond("n BETWEEN :a AND :b", ITEM, a=1, b=5) is True
    assert cond("n BETWEEN :a AND :b", ITEM, a=6, b=9) is False
    assert cond("s BETWEEN :a AND :b", ITEM, a="h", b="i") is True
    assert cond("n between :a and :b", ITEM, a=1, b=9) is True  # keywords are case-insensitive
    assert cond("n IN (:a, :b)", ITEM, a=1, b=5) is True
    assert cond("n IN (:a, :b)", ITEM, a=1, b="5") is False
    assert cond("nope IN (:a)", ITEM, a=1) is False


def test_in_allows_100_operands_not_101():
    vals = {f":v{i}": i for i in range(101)}
    hundred = ", ".join(list(vals)[:100])
    assert compile_condition(f"n IN ({hundred})", None, vals).evaluate(ITEM) is True
    with pytest.raises(ExpressionError, match="too many operands for the IN operator"):
        compile_condition(f"n IN ({', '.join(vals)})", None, vals)


def test_between_bounds_checked_at_compile():
    with pytest.raises(ExpressionError, match=r"upper bound to be greater.*\{N:5\}.*\{N:1\}"):
        cond("n BETWEEN :a AND :b", ITEM, a=5, b=1)
    with pytest.raises(ExpressionError, match="same data type for lower and upper bounds"):
        cond("n BETWEEN :a AND :b", ITEM, a=5, b="x")


@pytest.mark.parametrize("value", [{"a"}, [1], {"k": 1}, True, None])
def test_ordering_on_non_scalar_literal_refused(value):
    with pytest.raises(
        ExpressionError, match="Incorrect operand type for operator or function; operator or function: <"
    ):
        cond("n < :v", ITEM, v=value)


def test_a_compiled_condition_reused_with_other_values_evaluates_and_checks_them():
    # The closures are cached per expression and names and take the values at evaluation: each
    # compile must still evaluate with its own values and refuse its own bad values, in the order
    # a first compile would (the first failing check in the expression wins).
    for v in range(5):
        assert cond("n = :v", ITEM, v=v) is (v == 5)
    first, second = compile_condition("n < :v", None, {":v": 9}), compile_condition("n < :v", None, {":v": 1})
    assert (first.evaluate(ITEM), second.evaluate(ITEM)) == (True, False)  # both live at once
    for good, bad, message in [
        ({"a": 1, "b": 9}, {"a": 9, "b": 1}, "upper bound to be greater"),
        ({"a": 1, "b": 9}, {"a": 1, "b": "x"}, "same data type"),
    ]:
        assert cond("n BETWEEN :a AND :b", ITEM, **good) is True
        with pytest.raises(ExpressionError, match=message):
            cond("n BETWEEN :a AND :b", ITEM, **bad)
    assert cond("attribute_type(s, :t)", ITEM, t="S") is True
    assert cond("attribute_type(s, :t)", ITEM, t="N") is False
    with pytest.raises(ExpressionError, match="type name found; type: STRING"):
        cond("attribute_type(s, :t)", ITEM, t="STRING")
    assert cond("begins_with(s, :p) AND n < :m", ITEM, p="he", m=6) is True
    with pytest.raises(ExpressionError, match="operator or function: begins_with, operand type: N"):
        cond("begins_with(s, :p) AND n < :m", ITEM, p=1, m=[1])  # both bad: begins_with comes first
    with pytest.raises(ExpressionError, match="operator or function: <, operand type: L"):
        cond("begins_with(s, :p) AND n < :m", ITEM, p="he", m=[1])
    assert cond("begins_with(s, :p) AND n < :m", ITEM, p="x", m=6) is False


# --- logic and precedence ---------------------------------------------------------------------------


def test_precedence_not_over_and_over_or():
    t, f = "n = :five", "n = :six"
    vals = {"five": 5, "six": 6}
    assert cond(f"{f} AND {f} OR {t}", ITEM, **vals) is True  # (f AND f) OR t
    assert cond(f"{f} AND ({f} OR {t})", ITEM, **vals) is False
    assert cond(f"NOT {f} AND {t}", ITEM, **vals) is True  # (NOT f) AND t
    assert cond(f"NOT ({t} AND {f})", ITEM, **vals) is True
    assert cond(f"NOT NOT {t}", ITEM, **vals) is True
    assert cond(f"{t} OR {f} AND {f}", ITEM, **vals) is True


def test_redundant_parentheses_refused():
    with pytest.raises(ExpressionError, match="redundant parentheses"):
        cond("((n = :v))", ITEM, v=1)
    assert cond("(n = :v)", ITEM, v=5) is True


# --- functions --------------------------------------------------------------------------------------


def test_attribute_exists_and_not_exists():
    assert cond("attribute_exists(m.a.b)", ITEM) is True
    assert cond("attribute_exists(m.a.c)", ITEM) is False
    assert cond("attribute_not_exists(id)", None) is True
    assert cond("attribute_not_exists(id)", ITEM) is False
    assert cond("attribute_exists(l[2])", ITEM) is True
    assert cond("attribute_exists(l[3])", ITEM) is False


@pytest.mark.parametrize(
    ("path", "t"),
    [
        ("s", "S"),
        ("n", "N"),
        ("b", "B"),
        ("ss", "SS"),
        ("ns", "NS"),
        ("l", "L"),
        ("m", "M"),
        ("t", "BOOL"),
        ("z", "NULL"),
    ],
)
def test_attribute_type(path, t):
    assert cond(f"attribute_type({path}, :t)", ITEM, t=t) is True
    assert cond(f"attribute_type({path}, :t)", ITEM, t="BS") is False


def test_attribute_type_refuses_unknown_type_name():
    with pytest.raises(ExpressionError, match="Invalid attribute type name found; type: STRING"):
        cond("attribute_type(s, :t)", ITEM, t="STRING")


def test_begins_with():
    assert cond("begins_with(s, :p)", ITEM, p="hel") is True
    assert cond("begins_with(s, :p)", ITEM, p="el") is False
    assert cond("begins_with(b, :p)", ITEM, p=b"\x01") is True
    assert cond("begins_with(n, :p)", ITEM, p="5") is False
    with pytest.raises(ExpressionError, match="operator or function: begins_with, operand type: N"):
        cond("begins_with(s, :p)", ITEM, p=5)


def test_contains():
    assert cond("contains(s, :x)", ITEM, x="ell") is True
    assert cond("contains(ss, :x)", ITEM, x="a") is True
    assert cond("contains(ss, :x)", ITEM, x="c") is False
    assert cond("contains(ns, :x)", ITEM, x=2) is True
    assert cond("contains(ns, :x)", ITEM, x="2") is False
    assert cond("contains(l, :x)", ITEM, x={"k": "v"}) is True
    assert cond("contains(l, :x)", ITEM, x=1) is True
    assert cond("contains(b, :x)", ITEM, x=b"\x02") is True
    assert cond("contains(n, :x)", ITEM, x=5) is False


def test_size():
    assert cond("size(s) = :v", ITEM, v=5) is True
    assert cond("size(ss) = :v", ITEM, v=2) is True
    assert cond("size(l) > :v", ITEM, v=2) is True
    assert cond("size(m) = :v", ITEM, v=2) is True
    assert cond("size(b) = :v", ITEM, v=2) is True
    assert cond("size(n) = :v", ITEM, v=1) is False  # numbers have no size
    assert cond("size(nope) < :v", ITEM, v=1) is False
    assert cond("size(s) BETWEEN :a AND :b", ITEM, a=1, b=9) is True


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("foo(a)", "Invalid function name; function: foo"),
        ("ATTRIBUTE_EXISTS(a)", "Invalid function name; function: ATTRIBUTE_EXISTS"),
        (
            "begins_with(a)",
            "Incorrect number of operands for operator or function; "
            "operator or function: begins_with, number of operands: 1",
        ),
        (
            "attribute_exists(:v)",
            "Operator or function requires a document path; operator or function: attribute_exists",
        ),
        ("size(a)", "not allowed to be used this way in an expression; function: size"),
        ("attribute_exists(a) = :v", "not allowed to be used this way in an expression; function: attribute_exists"),
        ("if_not_exists(a, :v) = :v", "not allowed to be used this way in an expression; function: if_not_exists"),
        ("size(size(a)) = :v", "requires a document path; operator or function: size"),
    ],
)
def test_function_misuse(expr, message):
    with pytest.raises(ExpressionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        compile_condition(expr, None, {":v": 1})


# --- names, values, reserved words -----------------------------------------------------------------


def test_expression_attribute_names():
    names = {"#s": "status", "#d": "a.b"}
    item = {"status": "on", "a.b": D(1), "a": {"b": D(2)}}
    assert compile_condition("#s = :v", names, {":v": "on"}).evaluate(item) is True
    assert compile_condition("#d = :v", names, {":v": 1}).evaluate(item) is True  # one name with a dot
    assert compile_condition("a.b = :v", None, {":v": 2}).evaluate(item) is True


@pytest.mark.parametrize(
    "word",
    [
        "status",
        "name",
        "date",
        "year",
        "data",
        "size",
        "count",
        "key",
        "value",
        "timestamp",
        "user",
        "comment",
        "order",
        "Status",
    ],
)
def test_reserved_words_refused_as_bare_names(word):
    with pytest.raises(ExpressionError, match=f"Attribute name is a reserved keyword; reserved keyword: {word}"):
        compile_condition(f"{word} = :v", None, {":v": 1})


def test_reserved_word_deep_in_path_refused():
    with pytest.raises(ExpressionError, match="reserved keyword: name"):
        compile_projection("a.b.name")


def test_undefined_name_and_value():
    with pytest.raises(
        ExpressionError,
        match="An expression attribute name used in the document path is not defined; attribute name: #n",
    ):
        compile_condition("#n = :v", {"#m": "x"}, {":v": 1})
    with pytest.raises(
        ExpressionError, match="An expression attribute value used in expression is not defined; attribute value: :w"
    ):
        compile_condition("a = :w", None, {":v": 1})
    with pytest.raises(ExpressionError, match="attribute value: :w"):
        compile_update("SET a = :w", None, None)


def test_invalid_attribute_values_named():
    with pytest.raises(
        ValidationError, match=r"ExpressionAttributeValues contains invalid value.*38 significant digits.*for key :v"
    ):
        compile_condition("a = :v", None, {":v": D("1" * 39)})
    with pytest.raises(ValidationError, match=r"set may not be empty.*for key :v"):
        compile_condition("a = :v", None, {":v": set()})


def test_check_unused():
    c = compile_condition("#a = :x", {"#a": "a"}, {":x": 1})
    check_unused({"#a": "a"}, {":x": 1}, c)
    with pytest.raises(
        ValidationError, match=r"Value provided in ExpressionAttributeValues unused in expressions: keys: \{:x, :y\}"
    ):
        check_unused(None, {":x": 1, ":y": 2}, compile_condition("a = b"))
    with pytest.raises(
        ValidationError, match=r"Value provided in ExpressionAttributeNames unused in expressions: keys: \{#b\}"
    ):
        check_unused({"#a": "a", "#b": "b"}, {":x": 1}, c)
    with pytest.raises(ValidationError, match="ExpressionAttributeValues must not be empty"):
        check_unused(None, {}, c)
    with pytest.raises(ValidationError, match='ExpressionAttributeNames contains invalid key: Syntax error; key: "a"'):
        check_unused({"a": "a"}, None, c)


def test_check_unused_counts_every_expression():
    names, values = {"#k": "k", "#p": "p"}, {":k": "a", ":f": 1}
    key = compile_key_condition("#k = :k", names, values, "k", None)
    flt = compile_condition("x = :f", names, values, kind="FilterExpression")
    proj = compile_projection("#p", names)
    check_unused(names, values, key, flt, proj, None)


# --- syntax errors and hostile input ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "token", "near"),
    [
        ("a = ", "<EOF>", "= "),
        ("a == :v", "=", "== :v"),
        ("a = :v AND", "<EOF>", "AND"),
        ("a $ :v", "$", "a $"),
        ("a = :v :w", ":w", ":v :w"),
        ("a[x] = :v", "x", "[x]"),
        ("(a = :v", "<EOF>", ":v"),
        ("a BETWEEN :v", "<EOF>", ":v"),
    ],
)
def test_syntax_errors_name_token_and_context(expr, token, near):
    with pytest.raises(ExpressionError) as e:
        compile_condition(expr, None, {":v": 1, ":w": 2})
    assert str(e.value) == f'Invalid ConditionExpression: Syntax error; token: "{token}", near: "{near}"'


def test_kind_names_the_parameter():
    with pytest.raises(ExpressionError, match=r"^Invalid FilterExpression: Syntax error"):
        compile_condition("a =", kind="FilterExpression")


def test_empty_and_oversized_expressions():
    with pytest.raises(ExpressionError, match="The expression can not be empty"):
        compile_condition("   ")
    big = " OR ".join(f"a = :v{i}" for i in range(600))
    with pytest.raises(
        ExpressionError, match="Expression size has exceeded the maximum allowed size; expression size: "
    ):
        compile_condition(big, None, {f":v{i}": i for i in range(600)})
    with pytest.raises(ExpressionError, match="must be a string"):
        compile_condition(None)  # type: ignore[arg-type]


def test_document_path_depth_limit():
    deep = "a" + ".b" * 31
    compile_projection(deep)
    with pytest.raises(ExpressionError, match="too many nesting levels; nesting levels: 33"):
        compile_projection(deep + ".c")


def test_same_operand_twice_refused():
    with pytest.raises(ExpressionError, match=r"first operand must be distinct.*operator: =, first operand: \[a\]"):
        compile_condition("a = a")


def test_deep_nesting_is_refused_not_a_crash():
    expr = "NOT " * 100 + "a = :v"
    assert compile_condition(expr, None, {":v": 1}).evaluate({"a": D(1)}) is True
    with pytest.raises(ExpressionError, match="nested too deeply; maximum nesting levels: 100"):
        compile_condition("NOT " + expr, None, {":v": 1})
    with pytest.raises(ExpressionError, match="nested too deeply"):
        compile_condition("(a = :v OR " * 300 + "a = :v" + ")" * 300, None, {":v": 1})


def test_long_and_chain_within_size_limit():
    expr = " AND ".join(f"a{i} = :v" for i in range(250))
    c = compile_condition(expr, None, {":v": 1})
    assert c.evaluate({f"a{i}": D(1) for i in range(250)}) is True
    assert c.evaluate({f"a{i}": D(1) for i in range(249)}) is False


def test_many_update_actions_checked_for_overlap_quickly():
    expr = "SET " + ", ".join(f"a{i} = :v" for i in range(300))
    assert len(compile_update(expr, None, {":v": 1}).paths) == 300
    with pytest.raises(ExpressionError, match=r"overlap.*path one: \[a7\], path two: \[a7, x\]"):
        compile_update(expr + ", a7.x = :v", None, {":v": 1})


def test_names_must_be_strings():
    with pytest.raises(ValidationError, match="ExpressionAttributeNames contains invalid value"):
        compile_condition("#a = :v", {"#a": 1}, {":v": 1})  # type: ignore[dict-item]


# --- updates ----------------------------------------------------------------------------------------


def test_set_and_returns_new_item():
    item = {"id": "k", "m": {"x": D(1)}}
    out = update("SET a = :v, m.y = :w", item, v="new", w=[1])
    assert out == {"id": "k", "a": "new", "m": {"x": D(1), "y": [D(1)]}}
    assert item == {"id": "k", "m": {"x": D(1)}}  # the input is untouched


def test_set_arithmetic_reads_the_old_item():
    out = update("SET a = b, b = a, c = c + :one, d = :ten - c", {"a": D(1), "b": D(2), "c": D(3)}, one=1, ten=10)
    assert out == {"a": D(2), "b": D(1), "c": D(4), "d": D(7)}


def test_set_arithmetic_errors():
    with pytest.raises(ValidationError, match="An operand in the update expression has an incorrect data type"):
        update("SET a = a + :one", {"a": "x"}, one=1)
    with pytest.raises(ValidationError, match="incorrect data type"):
        update("SET a = a + :s", {"a": D(1)}, s="x")
    with pytest.raises(
        ValidationError, match="The provided expression refers to an attribute that does not exist in the item; path: c"
    ):
        update("SET a = c + :one", {}, one=1)
    with pytest.raises(ValidationError, match="more than 38 significant digits"):
        update("SET a = a + :tiny", {"a": D("1" * 38)}, tiny=D("0.1"))


def test_if_not_exists_and_list_append():
    item = {"l": [D(1)]}
    assert update("SET c = if_not_exists(c, :z) + :one", item, z=0, one=1)["c"] == D(1)
    assert update("SET l = if_not_exists(l, :z)", item, z=[])["l"] == [D(1)]
    assert update("SET l = list_append(l, :x)", item, x=[2])["l"] == [D(1), D(2)]
    assert update("SET l = list_append(:x, l)", item, x=[0])["l"] == [D(0), D(1)]
    assert update("SET n = list_append(if_not_exists(n, :e), :x)", item, e=[], x=[5])["n"] == [D(5)]
    with pytest.raises(ValidationError, match="incorrect data type"):
        update("SET l = list_append(l, :x)", item, x="s")


def test_set_list_index_past_end_appends():
    assert update("SET l[10] = :v", {"l": [D(0)]}, v="x") == {"l": [D(0), "x"]}
    assert update("SET l[0] = :v", {"l": [D(0)]}, v="x") == {"l": ["x"]}


def test_set_into_missing_parent_refused():
    with pytest.raises(
        ValidationError, match="The document path provided in the update expression is invalid for update"
    ):
        update("SET a.b = :v", {}, v=1)
    with pytest.raises(ValidationError, match="invalid for update"):
        update("SET a[0] = :v", {"a": "str"}, v=1)
    with pytest.raises(ValidationError, match="invalid for update"):
        update("SET a.b = :v", {"a": [1]}, v=1)


def test_set_cannot_nest_deeper_than_32_levels():
    item: dict = {"a": {}}
    deep: object = "leaf"
    for _ in range(31):
        deep = [deep]
    assert update("SET a.b = :v", item, v=deep)["a"]["b"] == deep  # 1 + 31 levels
    with pytest.raises(ValidationError, match=r"Nesting Levels have exceeded supported limits; path: a\.b"):
        update("SET a.b = :v", item, v=[deep])


def test_remove():
    item = {"a": D(1), "l": ["a", "b", "c", "d"], "m": {"x": D(1), "y": D(2)}}
    assert update("REMOVE a, m.x", item) == {"l": ["a", "b", "c", "d"], "m": {"y": D(2)}}
    # list indexes are the original ones; the list closes up afterwards
    assert update("REMOVE l[1], l[2]", item)["l"] == ["a", "d"]
    assert update("REMOVE l[9], nope, nah.deeper", item) == item


def test_add():
    assert update("ADD n :v", {"n": D(1)}, v=2) == {"n": D(3)}
    assert update("ADD n :v", {}, v=2) == {"n": D(2)}
    assert update("ADD s :v", {"s": {"a"}}, v={"b"}) == {"s": {"a", "b"}}
    assert update("ADD s :v", {}, v={"b"}) == {"s": {"b"}}
    with pytest.raises(ValidationError, match="incorrect data type"):
        update("ADD s :v", {"s": {"a"}}, v={D(1)})
    with pytest.raises(ValidationError, match="operator: ADD, operand type: STRING, typeSet: ALLOWED_FOR_ADD_OPERAND"):
        update("ADD s :v", {}, v="x")


def test_delete():
    assert update("DELETE s :v", {"s": {"a", "b"}}, v={"a"}) == {"s": {"b"}}
    assert update("DELETE s :v", {"s": {"a"}}, v={"a"}) == {}  # an emptied set disappears
    assert update("DELETE s :v", {}, v={"a"}) == {}
    with pytest.raises(ValidationError, match="incorrect data type"):
        update("DELETE s :v", {"s": "a"}, v={"a"})
    with pytest.raises(
        ValidationError, match="operator: DELETE, operand type: NUMBER, typeSet: ALLOWED_FOR_DELETE_OPERAND"
    ):
        update("DELETE s :v", {}, v=1)


def test_all_clauses_together_and_paths():
    u = compile_update("SET a = :a REMOVE b ADD c :c DELETE d :d", None, {":a": 1, ":c": 1, ":d": {"x"}})
    assert u.paths == {"a", "b", "c", "d"}
    assert u.values_used == {":a", ":c", ":d"}
    assert u.apply({"b": 1, "c": D(1), "d": {"x", "y"}}) == {"a": D(1), "c": D(2), "d": {"y"}}
    assert compile_update("set a = :a", None, {":a": 1}).paths == {"a"}  # clause words any case


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("SET a = :v SET b = :v", 'The "SET" section can only be used once in an update expression'),
        (
            "SET a = :v, a = :v",
            r"Two document paths overlap with each other; must remove or rewrite one of these paths; "
            r"path one: \[a\], path two: \[a\]",
        ),
        ("SET a.b = :v REMOVE a", r"overlap.*path one: \[a, b\], path two: \[a\]"),
        ("SET a[0] = :v REMOVE a.b", r"Two document paths conflict with each other.*\[a, \[0\]\].*\[a, b\]"),
        ("SET a = :v + :v + :v", 'Syntax error; token: "\\+"'),
        ("SET a :v", 'Syntax error; token: ":v"'),
        ("UPSERT a = :v", 'Syntax error; token: "UPSERT"'),
        ("REMOVE a b", 'Syntax error; token: "b"'),
        ("ADD a b", 'Syntax error; token: "b"'),
        ("SET a = size(b)", "not allowed to be used this way in an expression; function: size"),
        ("SET a = begins_with(b, :v)", "function: begins_with"),
        ("SET status = :v", "reserved keyword: status"),
    ],
)
def test_update_errors(expr, message):
    with pytest.raises(ExpressionError, match=message):
        compile_update(expr, None, {":v": 1})


def test_key_attributes_cannot_be_updated():
    u = compile_update("SET pk = :v, x = :v", None, {":v": 1})
    u.check_keys(["id"])
    with pytest.raises(ValidationError, match=r"Cannot update attribute pk\. This attribute is part of the key"):
        u.check_keys(["pk", "sk"])


def test_update_error_prefix():
    with pytest.raises(ExpressionError, match=r"^Invalid UpdateExpression: Syntax error"):
        compile_update("SET", None, None)


# --- projections -------------------------------------------------------------------------------------


def test_projection_keeps_structure_and_compacts_lists():
    item = {"a": {"b": D(1), "c": D(2)}, "l": ["p", "q", "r", "s"], "x": D(0), "deep": [{"k": 1, "j": 2}]}
    p = compile_projection("a.b, l[3], l[1], #x, deep[0].k, absent, a.zz", {"#x": "x"})
    assert p.apply(item) == {"a": {"b": D(1)}, "l": ["q", "s"], "x": D(0), "deep": [{"k": 1}]}
    assert p.names_used == {"#x"}


def test_projection_of_nothing_is_empty():
    assert compile_projection("a.b").apply({"a": "not a map"}) == {}


def test_projection_overlap_refused():
    with pytest.raises(ExpressionError, match=r"^Invalid ProjectionExpression: Two document paths overlap"):
        compile_projection("a, a.b")


# --- key conditions ----------------------------------------------------------------------------------


def kc(expr, values, names=None, **kw):
    return compile_key_condition(expr, names, values, "pk", "sk", **kw)


@pytest.mark.parametrize(
    ("expr", "op", "vals"),
    [
        ("pk = :p", None, ()),
        ("pk = :p AND sk = :a", "=", ("a",)),
        ("pk = :p AND sk < :a", "<", ("a",)),
        ("pk = :p AND sk <= :a", "<=", ("a",)),
        ("sk > :a AND pk = :p", ">", ("a",)),
        ("pk = :p AND sk >= :a", ">=", ("a",)),
        ("pk = :p AND :a < sk", ">", ("a",)),
        ("pk = :p AND sk BETWEEN :a AND :b", "BETWEEN", ("a", "b")),
        ("pk = :p AND begins_with(sk, :a)", "begins_with", ("a",)),
        ("(pk = :p) AND (sk = :a)", "=", ("a",)),
    ],
)
def test_key_conditions(expr, op, vals):
    k = kc(
        expr,
        {":p": "P", ":a": "a", ":b": "b"} if ":b" in expr else {":p": "P", ":a": "a"} if ":a" in expr else {":p": "P"},
    )
    assert (k.hash_value, k.range_op, k.range_values) == ("P", op, vals)


def test_key_condition_values_are_normalized():
    k = kc("pk = :p AND sk BETWEEN :a AND :b", {":p": 1, ":a": 2, ":b": 3})
    assert k.hash_value == D(1) and type(k.hash_value) is D
    assert k.evaluate({"pk": D(1), "sk": D(2)}) is True


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("sk = :a", "Query condition missed key schema element: pk"),
        ("pk = :p AND foo = :a", "Query condition missed key schema element: sk; foo is not a key attribute"),
        ("pk = :p OR sk = :a", "Invalid operator used in KeyConditionExpression: OR"),
        ("NOT pk = :p", "Invalid operator used in KeyConditionExpression: NOT"),
        ("pk = :p AND sk = :a AND sk = :b", "Conditions can be of length 1 or 2 only"),
        ("pk = :p AND pk = :a", "only contain one condition per key"),
        ("pk < :p", "Query key condition not supported"),
        ("pk = :p AND sk <> :a", "Invalid operator used in KeyConditionExpression: <>"),
        ("pk = :p AND sk IN (:a, :b)", "Invalid operator used in KeyConditionExpression: IN"),
        ("pk = :p AND attribute_exists(sk)", "Invalid operator used in KeyConditionExpression: attribute_exists"),
        ("pk.x = :p", "nested attributes"),
        ("pk = :p AND begins_with(sk, :n)", "begins_with, operand type: N"),
    ],
)
def test_key_condition_errors(expr, message):
    with pytest.raises(ValidationError, match=message):
        kc(expr, {":p": "P", ":a": "a", ":b": "b", ":n": 1})


def test_key_condition_checks_schema_types():
    with pytest.raises(ValidationError, match="Condition parameter type does not match schema type; key: pk"):
        kc("pk = :p", {":p": 1}, key_types={"pk": "S", "sk": "N"})
    with pytest.raises(ValidationError, match="begins_with, operand type: N"):
        kc("pk = :p AND begins_with(sk, :a)", {":p": "x", ":a": "1"}, key_types={"pk": "S", "sk": "N"})


def test_key_condition_without_range_key():
    k = compile_key_condition("#h = :h", {"#h": "id"}, {":h": "x"}, "id", None)
    assert (k.hash_value, k.range_op, k.names_used) == ("x", None, {"#h"})
    with pytest.raises(ValidationError, match="missed key schema element: id"):
        compile_key_condition("id = :h AND sk = :h2", None, {":h": "x", ":h2": "y"}, "id", None)


# --- caching ---------------------------------------------------------------------------------------


def test_cached_parse_binds_fresh_values():
    c1 = compile_condition("a = :v", None, {":v": 1})
    c2 = compile_condition("a = :v", None, {":v": 2})
    assert c1.evaluate({"a": D(1)}) and not c2.evaluate({"a": D(1)})
    # a name mapping is part of the cache key
    assert compile_condition("#a = :v", {"#a": "x"}, {":v": 1}).evaluate({"x": D(1)})
    assert not compile_condition("#a = :v", {"#a": "y"}, {":v": 1}).evaluate({"x": D(1)})
