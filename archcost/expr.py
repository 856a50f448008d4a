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
    tree = _parsed(text)
    try:
        return _eval(tree, scope)
    except RecursionError:
        raise ExprError("the expression nests too deeply") from None


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
            raise ExprError(f"the result {value:.3g} is too large")
        return value
    raise ExprError(f"unsupported value {value!r}")


def _eval(node: ast.expr, scope: Mapping[str, Value]) -> Value:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool | int | float | str):
            return _check(node.value)
        raise ExprError(f"unsupported constant {node.value!r}")
    if isinstance(node, ast.Name):
        if node.id in scope:
            return scope[node.id]
        if node.id in ("True", "False"):
            return node.id == "True"
        known = ", ".join(sorted(scope)) or "none"
        raise ExprError(f"unknown name {node.id!r} (known here: {known})")
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left, scope), _eval(node.right, scope)
        if (isinstance(left, str) or isinstance(right, str)) and not isinstance(node.op, ast.Add):
            raise ExprError(
                f"cannot apply {type(node.op).__name__} to text: text only supports + (joining) and comparisons"
            )
        if isinstance(node.op, ast.Pow) and isinstance(right, int | float) and abs(right) > 64:
            raise ExprError("exponent too large (at most 64)")
        try:
            return _check(_BINARY[type(node.op)](left, right))
        except ZeroDivisionError:
            raise ExprError("division by zero") from None
        except OverflowError:
            raise ExprError("the result is too large") from None
        except TypeError:
            raise ExprError(f"cannot apply {type(node.op).__name__} to {left!r} and {right!r}") from None
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, scope)
        if isinstance(node.op, ast.Not):
            return not value
        if isinstance(value, str):
            raise ExprError(f"cannot negate the string {value!r}")
        if isinstance(node.op, ast.USub):
            return -value
        if isinstance(node.op, ast.UAdd):
            return +value
    if isinstance(node, ast.BoolOp):  # short-circuit, returning the deciding operand, as Python does
        value = _eval(node.values[0], scope)
        for operand in node.values[1:]:
            if bool(value) != isinstance(node.op, ast.And):
                break
            value = _eval(operand, scope)
        return value
    if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
        left = _eval(node.left, scope)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _eval(comparator, scope)
            try:
                if not _COMPARE[type(op)](left, right):
                    return False
            except TypeError:
                raise ExprError(f"cannot compare {left!r} and {right!r}") from None
            left = right
        return True
    if isinstance(node, ast.IfExp):
        return _eval(node.body if _eval(node.test, scope) else node.orelse, scope)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        func = FUNCTIONS.get(node.func.id)
        if func is None:
            raise ExprError(f"unknown function {node.func.id!r} (allowed: {', '.join(FUNCTIONS)})")
        args = [_eval(a, scope) for a in node.args]
        try:
            return _check(func(*args))
        except (TypeError, ValueError, OverflowError) as exc:
            raise ExprError(f"{node.func.id}(): {exc}") from None
    raise ExprError(f"{ast.unparse(node)!r} is not allowed in an expression")
