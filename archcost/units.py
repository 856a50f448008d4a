"""Number and shape formatting: the one place that turns figures into text.

Integers print exactly at any size: Python refuses ``str()`` of an int beyond 4,300 digits
(``sys.int_info.str_digits_check_threshold``), so :func:`digits` converts big ones in blocks.
Rounded figures (:func:`human`) switch to ``1.23e45`` past 999T, computed from the integer, so no
figure overflows a float. docs/conventions.md ("How figures are printed") states these rules.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

_PREFIXES: Final = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))
DTYPE_BYTES: dict[str, int] = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}
_BLOCK: Final = 4000
"""Digits per block when an integer is too long for ``str()`` (below its 4,300-digit limit)."""
_BLOCK_LIMIT: Final = 10**_BLOCK
_SCIENTIFIC: Final = 10**15
"""From 1000T up, :func:`human` writes ``1.23e15``: no decimal prefix is larger than T."""


def digits(n: int) -> str:
    """An integer's decimal digits, exactly, at any size: ``-1234``."""
    try:
        return str(n)
    except ValueError:  # beyond the int→str limit: convert 4,000 digits at a time
        pass
    sign, rest = ("-", -n) if n < 0 else ("", n)
    blocks: list[str] = []
    while rest >= _BLOCK_LIMIT:
        rest, block = divmod(rest, _BLOCK_LIMIT)
        blocks.append(str(block).zfill(_BLOCK))
    return sign + str(rest) + "".join(reversed(blocks))


def exact(n: int) -> str:
    """An integer with thousands separators: ``34,944`` (every digit, at any size)."""
    if -_BLOCK_LIMIT < n < _BLOCK_LIMIT:
        return f"{n:,}"
    text = digits(n)
    sign, text = ("-", text[1:]) if text.startswith("-") else ("", text)
    head = len(text) % 3 or 3
    return sign + ",".join([text[:head], *(text[i : i + 3] for i in range(head, len(text), 3))])


def scientific(n: int) -> str:
    """Three significant digits and a power of ten, rounded half up from the exact integer: ``1.23e45``."""
    text = digits(abs(n))
    exponent = len(text) - 1
    mantissa = int(text[:3].ljust(3, "0")) + (len(text) > 3 and text[3] >= "5")
    if mantissa == 1000:
        mantissa, exponent = 100, exponent + 1
    figures = f"{mantissa // 100}.{mantissa % 100:02d}".rstrip("0").rstrip(".")
    return f"{'-' if n < 0 else ''}{figures}e{exponent}"


def human(n: float) -> str:
    """Three significant digits with a decimal prefix: ``35K``, ``120M``, ``3.86G``; ``1.23e15`` past 999T."""
    if isinstance(n, float) and not math.isfinite(n):
        return "—"
    if abs(n) < 1000:
        return f"{n:.3g}" if isinstance(n, float) else digits(n)
    if abs(n) >= _SCIENTIFIC:
        return scientific(n if isinstance(n, int) else round(n))
    for i, (scale, prefix) in enumerate(_PREFIXES):
        if abs(n) >= scale:
            text = f"{n / scale:.3g}"
            if "e" not in text:
                return f"{text}{prefix}"
            if i == 0:  # rounds up to 1000T
                return scientific(round(n))
            bigger, bigger_prefix = _PREFIXES[i - 1]  # rounds up to 1000: say 1 of the next prefix
            return f"{n / bigger:.3g}{bigger_prefix}"
    raise AssertionError("unreachable")  # pragma: no cover


def human_bytes(n: int) -> str:
    """Bytes in binary units, three significant digits: ``528 MiB``; ``1.23e18 TiB`` at any size."""
    if n < 1024:
        return f"{digits(n)} B"
    for power, unit in ((1, "KiB"), (2, "MiB"), (3, "GiB"), (4, "TiB")):
        if n < 1024 ** (power + 1) or unit == "TiB":
            scaled = n // 1024 ** (power - 1)  # exact up to the unit below, then one float division
            value = scaled / 1024 if scaled < 2**1000 else math.inf
            if not math.isfinite(value) or value >= 10**15:
                return f"{scientific(n // 1024**power)} {unit}"
            return f"{value:.3g} {unit}" if value < 1000 else f"{value:.0f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def shape(dims: Sequence[int]) -> str:
    """A shape as ``96×55×55`` (the order given, batch excluded)."""
    return "×".join(map(digits, dims))


def receptive_field(rf: Sequence[int | str]) -> str:
    """A receptive field: ``211`` when square, ``211×195`` (height × width) otherwise."""
    height, width = (digits(v) if isinstance(v, int) else v for v in rf)
    return height if height == width else f"{height}×{width}"


def general(value: float) -> str:
    """A float as ``%g`` writes it (``22.85``, ``1e+300``), or ``—`` when it is not finite."""
    return f"{value:g}" if math.isfinite(value) else "—"


def quotient(value: int, base: int) -> float | None:
    """`value` / `base` as a float, None against a zero base; ±inf never comes out (an overflow is None)."""
    if base == 0:
        return None
    try:
        result = value / base
    except OverflowError:
        return None
    return result if math.isfinite(result) else None


def ratio(value: int, base: int) -> str:
    """``×0.09`` or ``×8.3``: value relative to base, two significant digits; ``—`` against zero."""
    result = quotient(value, base)
    return "—" if result is None else f"×{result:.2g}"


_BYTE_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


def parse_bytes(text: str) -> int:
    """``3GB`` (10⁹), ``3GiB`` (2³⁰), ``512MB``, ``3e9`` into bytes; ValueError if unreadable."""
    import re

    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)\s*", text)
    if match is None or match[2].lower() not in _BYTE_UNITS:
        raise ValueError(f"{text!r} is not a size such as 3GB, 3GiB, 512MB or 3e9")
    return int(float(match[1]) * _BYTE_UNITS[match[2].lower()])
