"""Number and shape formatting: the one place that turns figures into text."""

from __future__ import annotations

from collections.abc import Sequence

_PREFIXES = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))
DTYPE_BYTES: dict[str, int] = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}


def exact(n: int) -> str:
    """An integer with thousands separators: ``34,944``."""
    return f"{n:,}"


def human(n: float) -> str:
    """Three significant digits with a decimal prefix: ``35K``, ``120M``, ``3.86G``."""
    if abs(n) < 1000:
        return f"{n:.3g}" if isinstance(n, float) else str(n)
    for i, (scale, prefix) in enumerate(_PREFIXES):
        if abs(n) >= scale:
            text = f"{n / scale:.3g}"
            if "e" not in text:
                return f"{text}{prefix}"
            if i == 0:  # beyond 999T: no larger prefix
                return f"{n / scale:.0f}{prefix}"
            bigger, bigger_prefix = _PREFIXES[i - 1]  # rounds up to 1000: say 1 of the next prefix
            return f"{n / bigger:.3g}{bigger_prefix}"
    raise AssertionError("unreachable")  # pragma: no cover


def human_bytes(n: int) -> str:
    """Bytes in binary units, three significant digits: ``528 MiB``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            if unit == "B":
                return f"{n} B"
            return f"{value:.3g} {unit}" if value < 1000 else f"{value:.0f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def shape(dims: Sequence[int]) -> str:
    """A shape as ``96×55×55`` (the order given, batch excluded)."""
    return "×".join(str(d) for d in dims)


def ratio(value: float, base: float) -> str:
    """``×0.09`` or ``×8.3``: value relative to base, two significant digits."""
    if base == 0:
        return "—"
    return f"×{value / base:.2g}"


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
