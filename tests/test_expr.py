"""The safe expression evaluator: what it computes, and everything it must refuse."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archcost.expr import MAX_MAGNITUDE, ExprError, evaluate, make_divisible, names_in

SCOPE = {"cin": 64, "hin": 56, "win": 56, "width": 1.5, "v15": True, "groups": 1, "name": "b"}


def ev(text: str, **scope: Any) -> Any:
    return evaluate(text, {**SCOPE, **scope})


# ---------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$cin", 64),
        ("$(cin)", 64),
        ("$( cin )", 64),
        ("$(42)", 42),
        ("$(2.5)", 2.5),
        ("$('x')", "x"),
        ("$(True)", True),
        ("$(False)", False),
        ("$(cin + 1)", 65),
        ("$(cin - 100)", -36),
        ("$(cin * 2)", 128),
        ("$(-cin)", -64),
        ("$(+cin)", 64),
        ("$(7 // 2)", 3),
        ("$(-7 // 2)", -4),  # floor, as in Python
        ("$(7 / 2)", 3.5),
        ("$(8 / 2)", 4.0),
        ("$(7 % 3)", 1),
        ("$(2 ** 10)", 1024),
        ("$(2 ** -1)", 0.5),
        ("$(2 ** 64)", 18446744073709551616),
        ("$(1 + 2 * 3)", 7),
        ("$((1 + 2) * 3)", 9),
        ("$(cin * width)", 96.0),
        ("$(int(cin * 0.75))", 48),
        ("$(hin // 2 + win // 4)", 28 + 14),
        ("$('a' + name)", "ab"),
    ],
)
def test_arithmetic(text: str, expected: Any) -> None:
    got = ev(text)
    assert got == expected
    assert type(got) is type(expected)


def test_floor_division_stays_an_integer() -> None:
    assert isinstance(ev("$(cin // 3)"), int)
    assert isinstance(ev("$(cin / 4)"), float)  # true division is a float even when exact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$(cin > 32)", True),
        ("$(cin >= 64)", True),
        ("$(cin < 64)", False),
        ("$(cin <= 63)", False),
        ("$(cin == 64)", True),
        ("$(cin != 64)", False),
        ("$(1 < 2 < 3)", True),
        ("$(1 < 3 < 2)", False),  # chained: both must hold
        ("$(3 > 2 > 2)", False),
        ("$(name == 'b')", True),
        ("$(groups > 1 and cin > 0)", False),
        ("$(groups > 1 or cin > 0)", True),
        ("$(not v15)", False),
        ("$(not groups > 1)", True),
        ("$(v15 and not False)", True),
        ("$(True and True and False)", False),
        ("$(False or False or True)", True),
    ],
)
def test_comparisons_and_logic(text: str, expected: bool) -> None:
    assert ev(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$(1 if v15 else 2)", 1),
        ("$(1 if not v15 else 2)", 2),
        ("$(cin * 2 if groups == 1 else cin)", 128),
        ("$('a' if cin > 100 else 'b' if cin > 50 else 'c')", "b"),
        ("$(cin // groups if groups else 0)", 64),
    ],
)
def test_if_else(text: str, expected: Any) -> None:
    assert ev(text) == expected


def test_if_else_evaluates_only_the_branch_taken() -> None:
    assert ev("$(8 // d if d else 0)", d=0) == 0
    assert ev("$(unknown if False else 1)") == 1


def test_and_or_short_circuit() -> None:
    # the right operand is not evaluated once the left decides, as in Python
    assert ev("$(d > 0 and 8 // d == 2)", d=0) is False
    assert ev("$(d == 0 or 8 // d == 2)", d=0) is True
    assert ev("$(False and undefined_name)") is False
    assert ev("$(True or undefined_name)") is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [("$(0 or 5)", 5), ("$(2 and 3)", 3), ("$(0 and 3)", 0), ("$(1 or 2 or 3)", 1), ("$('' or name)", "b")],
)
def test_and_or_return_the_deciding_operand(text: str, expected: Any) -> None:
    assert ev(text) == expected


# ---------------------------------------------------------------------------- functions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$(min(3, 1, 2))", 1),
        ("$(max(cin, 100))", 100),
        ("$(abs(-5))", 5),
        ("$(abs(-2.5))", 2.5),
        ("$(ceil(2.1))", 3),
        ("$(ceil(-2.1))", -2),
        ("$(floor(2.9))", 2),
        ("$(floor(-2.1))", -3),
        ("$(int(2.9))", 2),
        ("$(int(-2.9))", -2),  # toward zero, as Python's int()
        ("$(int(True))", 1),
        # round: half to even, as Python
        ("$(round(0.5))", 0),
        ("$(round(1.5))", 2),
        ("$(round(2.5))", 2),
        ("$(round(3.5))", 4),
        ("$(round(-2.5))", -2),
        ("$(round(2.6))", 3),
        ("$(round(1.25, 1))", 1.2),
        ("$(round(cin * width))", 96),
    ],
)
def test_functions(text: str, expected: Any) -> None:
    got = ev(text)
    assert got == expected
    assert type(got) is type(expected)


@pytest.mark.parametrize(
    ("value", "divisor", "expected"),
    [
        # nearest multiple of 8: ⌊(24 + 4) / 8⌋·8 = 24, and 24 ≥ 0.9·24
        (32 * 0.75, 8, 24),
        # 5.6: ⌊(5.6 + 4) / 8⌋·8 = 8 ≥ max(8, ...) and ≥ 0.9·5.6
        (16 * 0.35, 8, 8),
        # 10: ⌊(10 + 4) / 8⌋·8 = 8, but 8 < 0.9·10 = 9, so bump up one step to 16
        (10, 8, 16),
        # 90 with 64: ⌊(90 + 32) / 64⌋·64 = 64 < 81 → 128
        (90, 64, 128),
        # 19: ⌊23 / 8⌋·8 = 16 < 17.1 → 24
        (19, 8, 24),
        # 20: ⌊24 / 8⌋·8 = 24 (half rounds up) ≥ 18
        (20, 8, 24),
        # 36: ⌊40 / 8⌋·8 = 40
        (36, 8, 40),
        # 1: ⌊5 / 8⌋·8 = 0 → never below the divisor: 8
        (1, 8, 8),
        # 64 · 1.4 = 89.6: ⌊(89.6 + 4) / 8⌋·8 = 88 ≥ 80.64
        (64 * 1.4, 8, 88),
    ],
)
def test_make_divisible(value: float, divisor: int, expected: int) -> None:
    assert make_divisible(value, divisor) == expected
    assert evaluate(f"$(make_divisible({value!r}, {divisor}))", {}) == expected


def test_make_divisible_default_divisor_and_min_value() -> None:
    assert ev("$(make_divisible(32 * 0.75))") == 24
    assert ev("$(make_divisible(16 * 0.35, 8))") == 8
    # min_value replaces the divisor as the floor: 3 → ⌊7 / 8⌋·8 = 0 → max(16, 0) = 16
    assert make_divisible(3, 8, 16) == 16
    with pytest.raises(ExprError, match="divisor must be positive"):
        ev("$(make_divisible(10, 0))")


# ---------------------------------------------------------------------------- refused


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("$(depth + 1)", "unknown name 'depth'"),
        ("$depth", "unknown name 'depth'"),
        ("$(len('abc'))", "unknown function 'len'"),
        ("$(pow(2, 3))", "unknown function 'pow'"),
        ("$(eval('1'))", "unknown function 'eval'"),
        ("$(__import__('os'))", "unknown function '__import__'"),
        ("$(__import__('os').system('echo hi'))", "not allowed"),
        ("$(__builtins__)", "unknown name '__builtins__'"),
        ("$(cin.real)", "not allowed"),
        ("$(name.upper())", "not allowed"),
        ("$((1).__class__)", "not allowed"),
        ("$(''.__class__.__mro__)", "not allowed"),
        ("$('abc'[0])", "not allowed"),
        ("$(name[0])", "not allowed"),
        ("$((lambda: 1)())", "not allowed"),
        ("$(lambda x: x)", "not allowed"),
        ("$([x for x in 'ab'])", "not allowed"),
        ("$({x for x in 'ab'})", "not allowed"),
        ("$(max(x for x in (1, 2)))", "not allowed"),
        ("$([1, 2])", "not allowed"),
        ("$((1, 2))", "not allowed"),
        ("$({1: 2})", "not allowed"),
        ("$(f'{cin}')", "not allowed"),
        ("$(max(cin, default=1))", "not allowed"),
        ("$(max(*[1, 2]))", "not allowed"),
        ("$((x := 1))", "not allowed"),
        ("$(1 in (1, 2))", "not allowed"),
        ("$(cin is 64)", "not allowed"),
        ("$(~cin)", "not allowed"),
        ("$(cin << 2)", "not allowed"),
        ("$(cin & 1)", "not allowed"),
        ("$(None)", "unsupported constant"),
        ("$(b'x')", "unsupported constant"),
        ("$(1j)", "unsupported constant"),
        ("$(...)", "unsupported constant"),
        ("$(cin +)", "cannot parse"),
        ("$(import os)", "cannot parse"),
        ("$()", "cannot parse"),
        ("cin", "neither $name nor $(expression)"),
        ("$(cin", "neither $name nor $(expression)"),
        ("$cin + 1", "neither $name nor $(expression)"),
        ("$a.b", "neither $name nor $(expression)"),
        ("$(min())", "min()"),
        ("$(int('3'))", "takes a number"),
        ("$(-name)", "cannot negate"),
        ("$(name < 1)", "cannot compare"),
        ("$(name - 1)", "cannot apply Sub"),
        ("$(abs)", "unknown name 'abs'"),
    ],
)
def test_refused(text: str, message: str) -> None:
    with pytest.raises(ExprError, match=re.escape(message)):
        ev(text)


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ExprError, match=r"known here: a, b"):
        evaluate("$(c)", {"b": 1, "a": 2})
    with pytest.raises(ExprError, match=r"known here: none"):
        evaluate("$(c)", {})


@pytest.mark.parametrize(
    "text",
    [
        "$(2 ** 65)",
        "$(2 ** 100000000)",
        "$(10 ** 10 ** 10)",
        "$(9 ** 9 ** 9)",
        "$(2.0 ** 1000)",
        "$((-2) ** -65)",
    ],
)
def test_huge_exponent_refused(text: str) -> None:
    with pytest.raises(ExprError, match="exponent too large"):
        ev(text)


@pytest.mark.parametrize(
    "text",
    ["$(10 ** 31)", "$(10 ** 30 + 1)", "$(-(10 ** 30) - 1)", "$(1e300 * 1e10)", "$(2.0 ** 64 * 10 ** 20)"],
)
def test_results_beyond_the_magnitude_limit_refused(text: str) -> None:
    with pytest.raises(ExprError, match=r"too large|not a finite number"):
        ev(text)


def test_magnitude_limit_is_inclusive() -> None:
    assert ev("$(10 ** 30)") == MAX_MAGNITUDE


@pytest.mark.parametrize("text", ["$(1 / 0)", "$(1 // 0)", "$(1 % 0)", "$(cin / (groups - 1))", "$(0 ** -1)"])
def test_division_by_zero(text: str) -> None:
    with pytest.raises(ExprError, match="division by zero"):
        ev(text)


def test_names_in() -> None:
    assert names_in("$(max(cin, width) * k)") == {"cin", "width", "k"}
    assert names_in("$planes") == {"planes"}
    assert names_in("$(3)") == set()


# ---------------------------------------------------------------------------- property

OPS: dict[str, Callable[[int, int], int]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "//": operator.floordiv,
}

Tree = int | tuple[str, "Tree", "Tree"]

trees = st.recursive(
    st.integers(-20, 20),
    lambda children: st.tuples(st.sampled_from(sorted(OPS)), children, children),
    max_leaves=8,
)


def render(tree: Tree) -> str:
    if isinstance(tree, int):
        return f"({tree})" if tree < 0 else str(tree)
    op, left, right = tree
    return f"({render(left)} {op} {render(right)})"


def python_value(tree: Tree) -> int:
    """The tree's value by Python's own integer operators (ZeroDivisionError on // 0)."""
    if isinstance(tree, int):
        return tree
    op, left, right = tree
    return OPS[op](python_value(left), python_value(right))


@given(trees)
def test_integer_trees_match_python(tree: Tree) -> None:
    text = f"$({render(tree)})"
    try:
        expected = python_value(tree)
    except ZeroDivisionError:
        with pytest.raises(ExprError, match="division by zero"):
            evaluate(text, {})
        return
    got = evaluate(text, {})
    assert got == expected
    assert type(got) is int


@given(st.integers(-50, 50), st.integers(-50, 50), st.booleans())
def test_named_values_and_conditionals_match_python(a: int, b: int, flag: bool) -> None:
    scope = {"a": a, "b": b, "flag": flag}
    assert evaluate("$(a * 3 - b if flag else b // 7 + a)", scope) == (a * 3 - b if flag else b // 7 + a)
    assert evaluate("$(a < b <= 10)", scope) is (a < b <= 10)
    assert evaluate("$(max(a, b) - min(a, b))", scope) == abs(a - b)
