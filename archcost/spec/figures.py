"""Figures as papers print them (``138M``, ``3.8e9``, ``569M mult-adds``, ``4.2×10^9``, ``10.07%``):
:func:`parse_value` reads one into a number and the tolerance its printed precision implies.

Used when a spec is loaded (a reported value or tolerance that is no finite number is bad input)
and by the paper check (:mod:`archcost.check`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Final

_MULTIPLIERS: Final = {
    "": 1.0,
    "k": 1e3,
    "K": 1e3,
    "thousand": 1e3,
    "M": 1e6,
    "million": 1e6,
    "G": 1e9,
    "B": 1e9,
    "Bn": 1e9,
    "bn": 1e9,
    "billion": 1e9,
    "T": 1e12,
    "trillion": 1e12,
    "%": 1.0,
}
_SUPERSCRIPTS: Final = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
_QUALIFIERS: Final = {
    "~": "about",
    "≈": "about",
    "about": "about",
    "approx.": "about",
    "approximately": "about",
    "roughly": "about",
    "<": "below",
    "less than": "below",
    "under": "below",
    ">": "above",
    "more than": "above",
    "over": "above",
}
_VALUE_RE: Final = re.compile(
    r"""^\s*
    (?P<qual>~|≈|<|>|about|approx\.|approximately|roughly|less\ than|under|more\ than|over)?\s*
    (?P<int>\d{1,3}(?:[,\u2009\u202f ]\d{3})+|\d+)(?:\.(?P<frac>\d+))?
    (?:
        [eE](?P<exp>[-+]?\d+)
      | \s*[×x*·]\s*10\s*(?:\^|\*\*)?\s*(?P<pow>[-+]?\d+|[⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺]+)
    )?
    (?:\s*(?P<mult>%|thousand|million|billion|trillion|Bn|bn|[kKMGBT](?![A-Za-z])))?
    (?P<rest>.*)$""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Parsed:
    """A reported value as a number, with the tolerance its printed precision implies."""

    value: float
    tolerance: float
    qualifier: str = ""
    percent: bool = False
    rest: str = ""

    def accepts(self, computed: float, tolerance: float | None = None) -> bool:
        """True when `computed` agrees with this value (or satisfies its bound)."""
        if self.qualifier == "below":
            return computed < self.value
        if self.qualifier == "above":
            return computed > self.value
        return abs(computed - self.value) <= (self.tolerance if tolerance is None else tolerance) * (1 + 1e-12)


def parse_value(text: str | float) -> Parsed:
    """Parse a figure as printed: ``138M``, ``1.5 billion``, ``3.8e9``, ``4.2×10^9``, ``10.07%``."""
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a figure")
    if isinstance(text, int | float):
        if isinstance(text, float) and not math.isfinite(text):
            raise ValueError(f"{text!r} is not a finite number")
        text = repr(text) if isinstance(text, float) else str(text)
    match = _VALUE_RE.match(text)
    if match is None or (match["rest"] and not match["rest"][0].isspace() and match["rest"][0] not in "(,;"):
        raise ValueError(f"cannot read a number in {_short(text)} (expected e.g. 138M, 3.8e9, 1.5 billion, 10.07%)")
    whole = re.sub(r"[,\u2009\u202f ]", "", match["int"])
    frac = match["frac"] or ""
    try:
        scale = _MULTIPLIERS[match["mult"] or ""]
        if match["exp"] is not None:
            scale *= 10.0 ** int(match["exp"])
        elif match["pow"] is not None:
            scale *= 10.0 ** int(match["pow"].translate(_SUPERSCRIPTS))
        value = float(f"{whole}.{frac}" if frac else whole) * scale
        tolerance = 0.5 * 10.0 ** (-len(frac)) * scale
    except (OverflowError, ValueError):  # 10.0 ** 400; an exponent of more than 4,300 digits
        value = tolerance = math.inf
    if not (math.isfinite(value) and math.isfinite(tolerance)):
        raise ValueError(f"{_short(text)} is beyond a float's range (±1.8e308)")
    return Parsed(
        value=value,
        tolerance=tolerance,
        qualifier=_QUALIFIERS.get(match["qual"] or "", ""),
        percent=match["mult"] == "%",
        rest=match["rest"].strip(),
    )


def _short(text: str, limit: int = 60) -> str:
    """`text` quoted, cut in the middle if long (a message stays one readable line)."""
    return repr(text) if len(text) <= limit else repr(f"{text[: limit // 2]}…{text[-limit // 2 :]}")
