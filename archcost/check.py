"""The paper check: each figure a spec reports from its paper, against the computed one.

A reported value is kept as the paper prints it (``138M``, ``3.8e9``, ``569M mult-adds``,
``4.2×10^9``, ``10.07% top-5``). Its tolerance follows from the precision printed — half a
unit of the last digit, so ``138M`` means ±0.5M — unless the spec gives another. A figure
outside its tolerance fails unless the spec explains it with a written ``deviation``.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Final

from archcost.engine import Analysis
from archcost.errors import Location, SpecError
from archcost.spec import ACCURACY_FIGURES, COMPUTED_FIGURES, Reported, Spec
from archcost.units import digits

_MULTIPLIERS: Final = {
    "": 1,
    "k": 10**3,
    "K": 10**3,
    "thousand": 10**3,
    "M": 10**6,
    "million": 10**6,
    "G": 10**9,
    "B": 10**9,
    "Bn": 10**9,
    "bn": 10**9,
    "billion": 10**9,
    "T": 10**12,
    "trillion": 10**12,
    "%": 1,
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
    """A reported value as an exact number, with the tolerance its printed precision implies.

    Exact (a :class:`~fractions.Fraction`), so that ``1e400`` or a 400-digit integer compares with a
    computed figure without overflowing a float; :attr:`value` and :attr:`tolerance` are the floats.
    """

    exact: Fraction
    exact_tolerance: Fraction
    qualifier: str = ""
    percent: bool = False
    rest: str = ""

    @property
    def value(self) -> float:
        """The value as a float (±inf beyond a float's range)."""
        return to_float(self.exact)

    @property
    def tolerance(self) -> float:
        return to_float(self.exact_tolerance)

    def accepts(self, computed: int, tolerance: Fraction | None = None) -> bool:
        """True when `computed` agrees with this value (or satisfies its bound)."""
        if self.qualifier == "below":
            return computed < self.exact
        if self.qualifier == "above":
            return computed > self.exact
        return abs(computed - self.exact) <= (self.exact_tolerance if tolerance is None else tolerance)


def to_float(value: Fraction | int) -> float:
    """`value` as the nearest float, ±inf beyond a float's range (never OverflowError)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def plain_number(value: Fraction) -> int | float | None:
    """An exact value for a report: an int when whole (every digit kept), else a float; None if not finite."""
    if value.denominator == 1:
        return value.numerator
    result = to_float(value)
    return result if math.isfinite(result) else None


def parse_value(text: str | float) -> Parsed:
    """Parse a figure as printed: ``138M``, ``1.5 billion``, ``3.8e9``, ``4.2×10^9``, ``10.07%``."""
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a figure")
    if isinstance(text, float) and not math.isfinite(text):
        raise ValueError(f"{text!r} is not a figure")
    if isinstance(text, int | float):
        text = repr(text) if isinstance(text, float) else digits(text)
    match = _VALUE_RE.match(text)
    if match is None or (match["rest"] and not match["rest"][0].isspace() and match["rest"][0] not in "(,;"):
        raise ValueError(f"cannot read a number in {text!r} (expected e.g. 138M, 3.8e9, 1.5 billion, 10.07%)")
    whole = re.sub(r"[,\u2009\u202f ]", "", match["int"])
    frac = match["frac"] or ""
    power = match["exp"] or (match["pow"] or "").translate(_SUPERSCRIPTS) or "0"
    if len(whole) + len(frac) > _MAX_DIGITS or abs(int(power[-_MAX_DIGITS - 1 :])) > _MAX_EXPONENT:
        raise ValueError(
            f"{_shorten(text)} is beyond any figure archcost computes "
            f"(at most {_MAX_DIGITS} digits and a power of ten up to {_MAX_EXPONENT})"
        )
    scale = Fraction(_MULTIPLIERS[match["mult"] or ""]) * Fraction(10) ** int(power)
    exact = Fraction(int(whole + frac), 10 ** len(frac)) * scale
    return Parsed(
        exact=exact,
        exact_tolerance=Fraction(1, 2) / 10 ** len(frac) * scale,
        qualifier=_QUALIFIERS.get(match["qual"] or "", ""),
        percent=match["mult"] == "%",
        rest=match["rest"].strip(),
    )


_MAX_DIGITS: Final = 1000
"""The longest reported value read, in digits: ample for any paper, bounded for a hostile spec."""
_MAX_EXPONENT: Final = 10_000
"""The largest power of ten read (``1e400`` is read; ``1e99999999`` would take memory to hold)."""


def _shorten(text: str) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:37] + "...")


IMAGENET: Final = "ImageNet"


class Verdict(enum.StrEnum):
    """What the check found for one reported figure (a string: JSON and comparisons read it as one)."""

    PASS = "pass"
    """The computed figure is within the reported value's tolerance (or satisfies its bound)."""
    EXPLAINED = "explained"
    """Outside the tolerance, and the spec explains why in a written ``deviation``."""
    FAIL = "fail"
    """Outside the tolerance, unexplained: the check fails (exit 1)."""
    REPORTED = "reported"
    """A figure archcost cannot compute (an error rate): shown with its protocol, never failed."""
    MISSING = "missing"
    """The spec reports no figures from its paper: the check fails."""

    @property
    def failed(self) -> bool:
        return self in (Verdict.FAIL, Verdict.MISSING)


@dataclass(frozen=True, kw_only=True)
class CheckRow:
    """The verdict on one reported figure, against the figure computed at the entry's settings and input."""

    spec: str
    """The spec's name."""
    figure: str
    """What is reported: ``params``, ``macs``, ``flops``, ``activations``, ``top1_error``, ``top5_error``."""
    reported: str
    """The value as the paper prints it (``138M``, ``3.8×10^9``)."""
    verdict: Verdict
    explanation: str
    """The spec's deviation or note, or what to do about a failure."""
    layer: str = ""
    """The layer or group the figure is for; empty for the whole network."""
    setting: str = ""
    """The settings and input the figure was reported at (``groups=1, input 3×224×224``); empty for defaults."""
    computed: int | None = None
    """The computed figure; None for a figure archcost does not compute."""
    difference: int | float | None = None
    """computed − reported, exact when the reported value is whole; None when not computed."""
    tolerance: int | float | None = None
    """How far the computed figure may be from the reported value: half a unit of its last printed digit."""
    where: str = ""
    """Where the paper prints it (table, section)."""
    source: str = "primary"
    """``primary`` (the paper itself) or ``secondary`` (another paper or a course quoting it)."""
    dataset: str = IMAGENET

    @property
    def failed(self) -> bool:
        return self.verdict.failed


def computed_figure(analysis: Analysis, figure: str, layer: str = "", loc: Location | None = None) -> int:
    """A computed figure for the whole network or for one layer or group (a name prefix)."""
    assert figure in COMPUTED_FIGURES, figure
    if not layer:
        return int(getattr(analysis.totals, figure))
    rows = [r for r in analysis.layers if r.name == layer or r.name.startswith(layer + ".")]
    if not rows:
        raise SpecError(f"reported figure for layer {layer!r}: no such layer or group in {analysis.name}", loc)
    return sum(int(getattr(r, figure)) for r in rows)


Analyzer = Callable[[Mapping[str, Any], tuple[int, ...] | None], Analysis]


def check_spec(spec: Spec, analyze: Analyzer) -> list[CheckRow]:
    """Check every reported figure of `spec`; `analyze(settings, input)` gives the analyses."""
    reported: Sequence[Reported] = spec.meta.get("reported", ())
    if not reported:
        return [
            CheckRow(
                spec=spec.name,
                figure="",
                reported="",
                verdict=Verdict.MISSING,
                explanation="the spec reports no figures from its paper",
                source="",
            )
        ]
    cache: dict[tuple[Any, ...], Analysis] = {}
    rows = []
    for entry in reported:
        key = (tuple(sorted((entry.settings or {}).items())), entry.input)
        if key not in cache:
            cache[key] = analyze(entry.settings or {}, entry.input)
        rows.append(_check_one(spec.name, entry, cache[key]))
    return rows


def _parse(text: str, entry: Reported) -> Parsed:
    try:
        return parse_value(text)
    except ValueError as exc:
        raise SpecError(str(exc), entry.loc) from None


def _error_rate(entry: Reported) -> Parsed:
    """A reported error rate, which must be a percentage from 0 to 100."""
    parsed = _parse(entry.value, entry)
    if not 0 <= parsed.exact <= 100:
        raise SpecError(
            f"{entry.figure}: an error rate is a percentage from 0 to 100, got {_shorten(str(entry.value))}",
            entry.loc,
        )
    return parsed


def _check_one(name: str, entry: Reported, analysis: Analysis) -> CheckRow:
    setting = ", ".join(f"{k}={v}" for k, v in (entry.settings or {}).items())
    if entry.input:
        setting = ", ".join(filter(None, [setting, "input " + "×".join(map(str, entry.input))]))
    common: dict[str, Any] = {
        "spec": name,
        "figure": entry.figure,
        "layer": entry.layer,
        "reported": str(entry.value),
        "where": entry.where,
        "source": entry.source,
        "setting": setting,
    }
    if entry.figure in ACCURACY_FIGURES:
        _error_rate(entry)
        dataset = "" if entry.dataset == IMAGENET else f"{entry.dataset}: "
        note = f"{dataset}{entry.protocol}" + (f"; {entry.note}" if entry.note else "")
        return CheckRow(**common, verdict=Verdict.REPORTED, explanation=note, dataset=entry.dataset)
    parsed = _parse(entry.value, entry)
    computed = computed_figure(analysis, entry.figure, entry.layer, entry.loc)
    tolerance = _parse(entry.tolerance, entry).exact if entry.tolerance else parsed.exact_tolerance
    ok = parsed.accepts(computed, tolerance)
    verdict = Verdict.PASS if ok else (Verdict.EXPLAINED if entry.deviation else Verdict.FAIL)
    explanation = entry.deviation if entry.deviation else entry.note
    if not ok and not entry.deviation:
        explanation = f"outside ±{_short(tolerance)}; add a deviation: explaining why, or fix the spec"
    return CheckRow(
        **common,
        computed=computed,
        difference=plain_number(computed - parsed.exact),
        tolerance=plain_number(tolerance),
        verdict=verdict,
        explanation=explanation,
    )


def _short(value: Fraction) -> str:
    """A tolerance in a sentence: ``0.5M``, ``0.05``; rounded to three significant digits."""
    from archcost.units import human

    return human(int(value)) if value >= 1000 else f"{to_float(value):g}"


@dataclass(frozen=True)
class Accuracy:
    """A reported error rate in percent and how it was measured."""

    error: float
    protocol: str
    where: str


def accuracy(spec: Spec, settings: Mapping[str, Any] | None = None) -> dict[str, Accuracy]:
    """The spec's reported ImageNet top-1/top-5 error for exactly these settings (first entry of each)."""
    wanted = dict(settings or {})
    out: dict[str, Accuracy] = {}
    for entry in spec.meta.get("reported", ()):
        usable = entry.figure in ACCURACY_FIGURES and entry.dataset == IMAGENET and entry.figure not in out
        if usable and dict(entry.settings or {}) == wanted:
            out[entry.figure] = Accuracy(_error_rate(entry).value, entry.protocol, entry.where)
    return out
