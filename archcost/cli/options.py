"""Option values: the parsers that turn command-line text into values, and the typed options the commands share.

Owns the rules for option text (docs/cli.md, "Option values"): numbers are written with ASCII digits only
(``²``, ``①``, ``₂`` and ``٣`` are not numbers), booleans are ``true`` or ``false`` (any case) and nothing
else, an empty value is an error, never ignored. A bad value raises SpecError (or typer's BadParameter inside
the parser), which the CLI prints as one line with exit 2.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from archcost.errors import Location, SpecError

if TYPE_CHECKING:
    from archcost import spec

Format = Literal["table", "json", "csv", "markdown"]
DType = Literal["fp32", "fp16", "bf16", "int8"]
Optimizer = Literal["sgd", "momentum", "adam", "adamw"]
SPEC_SUFFIXES = (".yaml", ".yml")
MAX_DIGITS = 18
"""Longest whole number an option takes (a batch, a depth, a layer limit): 10¹⁸ is more than enough."""
_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)


# ---------------------------------------------------------------------------- one value


def positive_int(text: str | int) -> int:
    """A whole number ≥ 1 in ASCII digits (``12``), at most 18 digits (a default arrives as an int)."""
    if isinstance(text, int):
        return text
    value = text.strip()
    if not (value.isascii() and value.isdigit() and len(value) <= MAX_DIGITS and int(value) >= 1):
        raise typer.BadParameter(f"expected a whole number ≥ 1, got {text!r}")
    return int(value)


def base(text: str | float) -> float:
    """A finite number ≥ 1 in ASCII (``1.2``): a compound-scaling base (a default arrives as a float)."""
    if isinstance(text, float):
        return text
    value = text.strip()
    number = float(value) if _FLOAT.fullmatch(value) else math.nan
    if not 1.0 <= number < math.inf:
        raise typer.BadParameter(f"expected a number ≥ 1, got {text!r}")
    return number


def scalar(text: str, option: str = "--set") -> bool | int | float | str:
    """One parameter value as a spec would read it: ``true``/``false``, an ASCII whole number, an ASCII
    decimal number (``0.5``, ``1e-5``), or else text. Empty, or a number beyond a float, is an error."""
    value = text.strip()
    if not value:
        raise SpecError("the value is empty", Location(option))
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    if _INT.fullmatch(value):
        if len(value) > 1000:
            raise SpecError(f"a whole number of {len(value)} digits is too long", Location(option))
        return int(value)
    if _FLOAT.fullmatch(value):
        number = float(value)
        if not math.isfinite(number):
            raise SpecError(f"{text!r} is beyond the range of a number", Location(option))
        return number
    return value


def parse_sets(values: Sequence[str] | None) -> dict[str, Any]:
    """`KEY=VALUE` options into a mapping; each value read by :func:`scalar`."""
    out: dict[str, Any] = {}
    for item in values or []:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier() or not key.isascii():
            raise SpecError(f"--set {item!r}: expected KEY=VALUE, e.g. --set groups=1", Location("--set"))
        out[key] = scalar(text, f"--set {key}")
    return out


def check_sets(loaded: spec.Spec, settings: dict[str, Any]) -> None:
    """A setting for a parameter whose default is true/false must be true or false (`--set v15=maybe`
    is an error, not a truthy text)."""
    for key, value in settings.items():
        raw = loaded.params.get(key)
        if raw is not None and isinstance(raw.value, bool) and not isinstance(value, bool):
            raise SpecError(f"{key}={value}: {key} takes true or false", Location("--set"))


def parse_input(text: str | None) -> tuple[int, ...] | None:
    """`3x224x224` (or `3,224,224`) into a shape; ASCII digits only."""
    if text is None:
        return None
    parts = [p for p in re.split(r"[x×,\s]+", text.strip()) if p]
    if len(parts) not in (1, 3) or not all(
        p.isascii() and p.isdigit() and len(p) <= MAX_DIGITS and int(p) > 0 for p in parts
    ):
        raise SpecError(f"--input {text!r}: expected C×H×W such as 3x224x224", Location("--input"))
    return tuple(int(p) for p in parts)


def parse_sweep(text: str) -> tuple[str, list[Any]]:
    """`alpha=1.0,0.75,0.5` or `phi=0..7` (inclusive) into a key and its values."""
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key.isidentifier() or not values.strip():
        raise SpecError(f"--sweep {text!r}: expected KEY=V1,V2,... or KEY=A..B", Location("--sweep"))
    span = re.fullmatch(r"\s*(-?[0-9]+)\s*\.\.\s*(-?[0-9]+)\s*", values, flags=re.ASCII)
    if span:
        if max(len(span[1]), len(span[2])) >= 20:
            raise SpecError(f"--sweep {text!r}: the range must go up, by at most 1000 steps", Location("--sweep"))
        low, high = int(span[1]), int(span[2])
        if high < low or high - low > 1000:
            raise SpecError(f"--sweep {text!r}: the range must go up, by at most 1000 steps", Location("--sweep"))
        return key, list(range(low, high + 1))
    return key, [parse_sets([f"{key}={v}"])[key] for v in values.split(",")]


def split_ref(ref: str) -> tuple[str, dict[str, Any]]:
    """`alexnet:groups=1,k=2` into the spec reference and its own settings."""
    name, sep, rest = ref.partition(":")
    if not sep or "=" not in rest:
        return ref, {}
    return name, parse_sets(rest.split(","))


def parse_budget(text: str) -> int:
    """`--memory 3GB` into bytes (ASCII digits; empty is an error)."""
    if not text.strip() or not text.isascii():
        raise SpecError(f"{text!r} is not a size such as 3GB, 3GiB, 512MB or 3e9", Location("--memory"))
    from archcost import units

    try:
        value = units.parse_bytes(text)
    except ValueError as exc:
        raise SpecError(f"--memory: {exc}", Location("--memory")) from None
    except OverflowError:
        raise SpecError(f"--memory {text!r}: too large", Location("--memory")) from None
    if value <= 0:
        raise SpecError("--memory must be more than 0 bytes", Location("--memory"))
    return value


def is_chart(arg: str) -> bool:
    """An argument that names a file to draw into rather than a spec: it has a suffix other than .yaml/.yml."""
    suffix = Path(arg).suffix.lower()
    return bool(suffix) and suffix not in SPEC_SUFFIXES and not arg.endswith(".")


def plot_values(args: list[str]) -> list[str]:
    """`--plot` takes an optional value, which click cannot say: a `--plot` with nothing after it, or with
    an option after it, becomes `--plot=` (the default file name)."""
    out = list(args)
    for i, arg in enumerate(out):
        if arg == "--":
            break
        if arg == "--plot" and (i + 1 == len(out) or (out[i + 1].startswith("-") and out[i + 1] != "-")):
            out[i] = "--plot="
    return out


# ---------------------------------------------------------------------------- shared options

SPEC_HELP = "a bundled spec name (see `archcost list`) or a path to a YAML spec"

SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", metavar="KEY=VALUE", help="override a model parameter (repeatable): --set groups=1"),
]
InputOption = Annotated[
    str | None, typer.Option("--input", "-i", metavar="CxHxW", help="input shape, e.g. 3x224x224 (replaces the spec's)")
]
BatchOption = Annotated[
    int, typer.Option("--batch", "-b", parser=positive_int, metavar="N", help="batch size for memory figures")
]
DTypeOption = Annotated[DType, typer.Option("--dtype", help="element type for memory figures")]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="output format")]
