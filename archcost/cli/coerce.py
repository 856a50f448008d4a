"""Option coercion without pydantic: what this buys is ~110 ms of start-up on every command.

typer (0.29) converts every option and argument value through a pydantic ``TypeAdapter``, and importing
pydantic costs more than typer and yaml together. archcost's options are only of four shapes — text, a
choice (``Literal``), a flag, a value made by one of archcost's own parsers (options.py), or a list of
texts — so :func:`install` gives each parameter a direct conversion of the same result, with the error as a
click ``BadParameter`` (printed by the CLI as one line). An annotation of any other shape keeps typer's own
conversion; tests/test_cli.py checks that no archcost command imports pydantic.

It fills typer 0.29's lazily built ``_TyperParameter._runtime_param`` with a ``typer._coercion.RuntimeParam``:
private names, so pyproject.toml pins typer below 0.30 and the test above fails loudly if they move.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

import typer
from typer._click import Context
from typer._click import core as click_core
from typer._coercion import RuntimeParam
from typer.core import _TyperParameter


def _plain(annotation: Any) -> Any:
    """`X | None` → X; anything else unchanged."""
    if get_origin(annotation) in (Union, types.UnionType):
        rest = [a for a in get_args(annotation) if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation


def supported(annotation: Any, parser: Any) -> bool:
    """Whether :class:`DirectParam` converts values of this annotation exactly as typer would."""
    shape = _plain(annotation)
    if parser is not None or shape in (str, bool):
        return True
    if get_origin(shape) is Literal:
        return all(isinstance(choice, str) for choice in get_args(shape))
    if get_origin(shape) is list:
        return _plain(get_args(shape)[0]) is str
    return False


@dataclass(frozen=True)
class DirectParam(RuntimeParam):
    """Converts one parameter's text (or its default) the way typer's adapter would, without pydantic."""

    def _coerce_value(self, value: Any, param: _TyperParameter, ctx: Context) -> Any:
        shape = _plain(self.annotation)
        parser = self.parameter_info.parser
        if get_origin(shape) is list:
            return [self._one(item, str, None, param, ctx) for item in value]
        return self._one(value, shape, parser, param, ctx)

    @staticmethod
    def _one(value: Any, shape: Any, parser: Any, param: _TyperParameter, ctx: Context) -> Any:
        if parser is not None:
            try:
                return parser(value)
            except typer.BadParameter as exc:
                raise typer.BadParameter(exc.message, ctx=ctx, param=param) from None
            except (ValueError, TypeError) as exc:
                raise typer.BadParameter(str(exc), ctx=ctx, param=param) from None
        if shape is bool:
            return bool(value)
        if get_origin(shape) is Literal:
            choices = get_args(shape)
            if value not in choices:
                raise typer.BadParameter(
                    f"{value!r} is not one of {', '.join(map(repr, choices))}", ctx=ctx, param=param
                )
            return value
        return str(value)


def install(command: click_core.Command, help_names: list[str]) -> None:
    """Give every parameter of `command` and its subcommands (their `help_names` option too) whose
    annotation :func:`supported` covers a :class:`DirectParam` (typer builds its pydantic one lazily, on
    first use, so the pydantic one is never made)."""
    help_option = command.get_help_option(Context(command, help_option_names=help_names))
    for param in [*command.params, *([help_option] if help_option is not None else [])]:
        if isinstance(param, _TyperParameter):
            descriptor = param.type_descriptor
            if supported(descriptor.annotation, descriptor.parameter_info.parser):
                param._runtime_param = DirectParam(descriptor.parameter_info, descriptor.annotation)
    for sub in getattr(command, "commands", {}).values():
        install(sub, help_names)
