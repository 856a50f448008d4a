"""A small, safe arithmetic evaluator for `$name` and `$(expression)` values in specs.

Expressions are parsed with :mod:`ast` and walked against a whitelist; nothing is ever
passed to ``eval``. Allowed: numbers, strings, booleans, names from the scope,
``+ - * / // % **``, comparisons, ``and or not``, ``a if c else b`` and the functions in
:data:`FUNCTIONS`.
"""

from __future__ import annotations

import ast
import functools
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

Value = int | float | str | bool

MAX_MAGNITUDE = 10**30
"""Numbers beyond this are rejected: no spec needs them and they make evaluation slow."""


MAX_TEXT = 1000
"""Longest text an expression may build."""

MAX_SOURCE = 1000
"""Longest expression, in characters (the bundled specs' longest is under 100)."""


class ExprError(ValueError):
    """An expression that cannot be evaluated; the message says why."""


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round to the nearest multiple of `divisor`, never below 90% of `value`.

    The rule of the MobileNet/EfficientNet reference code (torchvision ``_make_divisible``).
    """
    if divisor <= 0:
        raise ExprError("make_divisible: divisor must be positive")
    floor = divisor if min_value is None else min_value
    new = max(floor, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


def _round(value: float, ndigits: int | None = None) -> float | int:
    return round(value) if ndigits is None else round(value, ndigits)


def _int(value: float | str) -> int:
    if isinstance(value, str):
        raise ExprError(f"int() takes a number, not the string {value!r}")
    return int(value)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": min,
    "max": max,
    "abs": abs,
    "ceil": math.ceil,
    "floor": math.floor,
    "round": _round,
    "int": _int,
    "make_divisible": make_divisible,
}
"""Functions an expression may call. ``round`` rounds half to even, like Python."""

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


def is_expression(text: str) -> bool:
    """True for the two forms that are evaluated: ``$name`` and ``$(expression)``."""
    return text.startswith("$")


def source_of(text: str) -> str:
    """The expression inside ``$name`` or ``$(expression)``."""
    if text.startswith("$(") and text.endswith(")"):
        return text[2:-1]
    if text.startswith("$") and text[1:].isidentifier():
        return text[1:]
    raise ExprError(f"{text!r} is neither $name nor $(expression)")


def evaluate(text: str, scope: Mapping[str, Value]) -> Value:
    """Evaluate ``$name`` or ``$(expression)`` in `scope`."""
    try:
        return _compiled(text)(scope)
    except RecursionError:  # (a failed compilation is not kept: the next evaluation tries again)
        raise ExprError("the expression nests too deeply") from None


@functools.lru_cache(maxsize=4096)
def _compiled(text: str) -> Compiled:
    """`text` made into a function of the scope, once per text: a spec evaluates a few texts many times."""
    return _compile(_parsed(text))


@functools.lru_cache(maxsize=4096)
def _parsed(text: str) -> ast.expr:
    """The syntax tree of ``$name`` or ``$(expression)``, parsed once per text (a spec repeats a few)."""
    source = source_of(text)
    if len(source) > MAX_SOURCE:
        raise ExprError(f"the expression is longer than {MAX_SOURCE:,} characters")
    try:
        return ast.parse(source.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ExprError(f"cannot parse expression {source!r}: {exc.msg}") from None
    except (RecursionError, MemoryError):  # CPython's parser gives up on very deep nesting
        raise ExprError("the expression nests too deeply") from None


def parses(text: str) -> bool:
    """Whether ``$name`` or ``$(expression)`` parses (what :func:`evaluate` parses, once per text)."""
    try:
        _parsed(text)
    except ExprError:
        return False
    return True


def names_in(text: str) -> set[str]:
    """The scope names an expression reads (function names excluded); SyntaxError if it is not Python."""
    source = source_of(text)
    if len(source) > MAX_SOURCE:
        raise ExprError(f"the expression is longer than {MAX_SOURCE:,} characters")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except (RecursionError, MemoryError):
        raise ExprError("the expression nests too deeply") from None
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called}


def _check(value: Any) -> Value:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise ExprError(f"the text is longer than {MAX_TEXT} characters")
        return value
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ExprError("the result is not a finite number")
        if abs(value) > MAX_MAGNITUDE:
            raise ExprError(f"the result {shown(value)} is too large (beyond 10^30)")
        return value
    raise ExprError(f"unsupported value {value!r}")


def shown(value: Any) -> str:
    """A value for a message: a number beyond 10^30 by its size alone (a float cannot hold some
    integers, and Python prints no integer of more than 4,300 digits)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_MAGNITUDE:
        return f"{'-' if value < 0 else ''}10^{_digits(value) - 1}…"
    if isinstance(value, float) and abs(value) > MAX_MAGNITUDE:
        return f"{value:.3g}"
    return _short(repr(value))


def _digits(value: int) -> int:
    """Decimal digits of a nonzero integer, without printing it (bit length, corrected by one comparison)."""
    estimate = max(1, math.floor((abs(value).bit_length() - 1) * math.log10(2)) + 1)
    return estimate + int(abs(value) >= 10**estimate)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else f"{text[: limit // 2]}…{text[-limit // 2 :]}"


Compiled = Callable[[Mapping[str, Value]], Value]
"""An expression made into a function of the scope (:func:`_compile`)."""


def _compile(node: ast.expr) -> Compiled:
    """`node` as a function of the scope: a closure per node, doing what walking the tree did.

    Every check runs when the expression is evaluated, in the order the walk made them, so each
    value and each error is the one the walk gave. The branch an ``if`` or ``and``/``or`` does not
    take is compiled only when first taken (the walk never visited it, however deep it nests).
    """
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool | int | float | str):
            try:
                _check(value)
            except ExprError:
                return lambda scope: _check(value)  # raises when evaluated, as the walk did
            return lambda scope: value
        return _raises(f"unsupported constant {value!r}")
    if isinstance(node, ast.Name):
        return _name(node.id)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _binary(node.op, _compile(node.left), _compile(node.right))
    if isinstance(node, ast.UnaryOp):
        return _unary(node, _compile(node.operand))
    if isinstance(node, ast.BoolOp):  # short-circuit, returning the deciding operand, as Python does
        return _boolean(isinstance(node.op, ast.And), _compile(node.values[0]), [_lazy(v) for v in node.values[1:]])
    if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
        tests = [(_COMPARE[type(op)], _compile(c)) for op, c in zip(node.ops, node.comparators, strict=True)]
        return _compare(_compile(node.left), tests)
    if isinstance(node, ast.IfExp):
        test, body, orelse = _compile(node.test), _lazy(node.body), _lazy(node.orelse)
        return lambda scope: body(scope) if test(scope) else orelse(scope)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        function = FUNCTIONS.get(node.func.id)
        if function is None:
            return _raises(f"unknown function {node.func.id!r} (allowed: {', '.join(FUNCTIONS)})")
        return _call(node.func.id, function, [_compile(a) for a in node.args])
    return _not_allowed(node)


def _raises(message: str) -> Compiled:
    def fail(scope: Mapping[str, Value]) -> Value:
        raise ExprError(message)

    return fail


def _not_allowed(node: ast.expr) -> Compiled:
    def fail(scope: Mapping[str, Value]) -> Value:
        raise ExprError(f"{ast.unparse(node)!r} is not allowed in an expression")

    return fail


def _lazy(node: ast.expr) -> Compiled:
    """`node` compiled when first evaluated."""
    compiled: Compiled | None = None

    def run(scope: Mapping[str, Value]) -> Value:
        nonlocal compiled
        if compiled is None:
            compiled = _compile(node)
        return compiled(scope)

    return run


def _name(name: str) -> Compiled:
    def lookup(scope: Mapping[str, Value]) -> Value:
        if name in scope:
            return scope[name]
        if name in ("True", "False"):
            return name == "True"
        known = ", ".join(sorted(scope)) or "none"
        raise ExprError(f"unknown name {name!r} (known here: {known})")

    return lookup


def _binary(op: ast.operator, left: Compiled, right: Compiled) -> Compiled:
    apply, what, joins, power = _BINARY[type(op)], type(op).__name__, isinstance(op, ast.Add), isinstance(op, ast.Pow)

    def binary(scope: Mapping[str, Value]) -> Value:
        first, second = left(scope), right(scope)
        if (isinstance(first, str) or isinstance(second, str)) and not joins:
            raise ExprError(f"cannot apply {what} to text: text only supports + (joining) and comparisons")
        if power and isinstance(second, int | float) and abs(second) > 64:
            raise ExprError("exponent too large (at most 64)")
        try:
            return _check(apply(first, second))
        except ZeroDivisionError:
            raise ExprError("division by zero") from None
        except OverflowError:
            raise ExprError("the result is too large") from None
        except TypeError:
            raise ExprError(f"cannot apply {what} to {shown(first)} and {shown(second)}") from None

    return binary


def _unary(node: ast.UnaryOp, operand: Compiled) -> Compiled:
    op = node.op

    def unary(scope: Mapping[str, Value]) -> Value:
        value = operand(scope)
        if isinstance(op, ast.Not):
            return not value
        if isinstance(value, str):
            raise ExprError(f"cannot negate the string {value!r}")
        if isinstance(op, ast.USub):
            return -value
        if isinstance(op, ast.UAdd):
            return +value
        raise ExprError(f"{ast.unparse(node)!r} is not allowed in an expression")

    return unary


def _boolean(conjunction: bool, first: Compiled, rest: list[Compiled]) -> Compiled:
    def boolean(scope: Mapping[str, Value]) -> Value:
        value = first(scope)
        for operand in rest:
            if bool(value) != conjunction:
                break
            value = operand(scope)
        return value

    return boolean


def _compare(first: Compiled, tests: list[tuple[Callable[[Any, Any], bool], Compiled]]) -> Compiled:
    def compare(scope: Mapping[str, Value]) -> Value:
        left = first(scope)
        for test, comparator in tests:
            right = comparator(scope)
            try:
                if not test(left, right):
                    return False
            except TypeError:
                raise ExprError(f"cannot compare {left!r} and {right!r}") from None
            left = right
        return True

    return compare


def _call(name: str, function: Callable[..., Any], arguments: list[Compiled]) -> Compiled:
    def call(scope: Mapping[str, Value]) -> Value:
        args = [a(scope) for a in arguments]
        try:
            return _check(function(*args))
        except (TypeError, ValueError, OverflowError) as exc:
            raise ExprError(f"{name}(): {exc}") from None

    return call
