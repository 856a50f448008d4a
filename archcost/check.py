"""The paper check: each figure a spec reports from its paper, against the computed one.

A reported value is kept as the paper prints it (``138M``, ``3.8e9``, ``569M mult-adds``,
``4.2×10^9``, ``10.07% top-5``). Its tolerance follows from the precision printed — half a
unit of the last digit, so ``138M`` means ±0.5M — unless the spec gives another. A figure
outside its tolerance fails unless the spec explains it with a written ``deviation``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from archcost.engine import Analysis
from archcost.errors import SpecError
from archcost.spec import ACCURACY_FIGURES, COMPUTED_FIGURES, Reported, Spec

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
        text = repr(text) if isinstance(text, float) else str(text)
    match = _VALUE_RE.match(text)
    if match is None or (match["rest"] and not match["rest"][0].isspace() and match["rest"][0] not in "(,;"):
        raise ValueError(f"cannot read a number in {text!r} (expected e.g. 138M, 3.8e9, 1.5 billion, 10.07%)")
    whole = re.sub(r"[,\u2009\u202f ]", "", match["int"])
    frac = match["frac"] or ""
    scale = _MULTIPLIERS[match["mult"] or ""]
    if match["exp"] is not None:
        scale *= 10.0 ** int(match["exp"])
    elif match["pow"] is not None:
        scale *= 10.0 ** int(match["pow"].translate(_SUPERSCRIPTS))
    value = float(f"{whole}.{frac}" if frac else whole) * scale
    tolerance = 0.5 * 10.0 ** (-len(frac)) * scale
    return Parsed(
        value=value,
        tolerance=tolerance,
        qualifier=_QUALIFIERS.get(match["qual"] or "", ""),
        percent=match["mult"] == "%",
        rest=match["rest"].strip(),
    )


IMAGENET: Final = "ImageNet"


@dataclass(frozen=True)
class CheckRow:
    """The verdict on one reported figure."""

    spec: str
    figure: str
    layer: str
    reported: str
    computed: int | None
    difference: float | None
    tolerance: float | None
    verdict: str  # pass | fail | explained | reported | missing
    explanation: str
    where: str
    source: str
    setting: str
    dataset: str = IMAGENET

    @property
    def failed(self) -> bool:
        return self.verdict in ("fail", "missing")


def computed_figure(analysis: Analysis, figure: str, layer: str = "") -> int:
    """A computed figure for the whole network or for one layer or group (a name prefix)."""
    assert figure in COMPUTED_FIGURES, figure
    if not layer:
        return int(getattr(analysis.totals, figure))
    rows = [r for r in analysis.layers if r.name == layer or r.name.startswith(layer + ".")]
    if not rows:
        raise SpecError(f"reported figure for layer {layer!r}: no such layer or group in {analysis.name}")
    return sum(int(getattr(r, figure)) for r in rows)


Analyzer = Callable[[Mapping[str, Any], tuple[int, ...] | None], Analysis]


def check_spec(spec: Spec, analyze: Analyzer) -> list[CheckRow]:
    """Check every reported figure of `spec`; `analyze(settings, input)` gives the analyses."""
    reported: Sequence[Reported] = spec.meta.get("reported", ())
    if not reported:
        return [
            CheckRow(
                spec.name,
                "",
                "",
                "",
                None,
                None,
                None,
                "missing",
                "the spec reports no figures from its paper",
                "",
                "",
                "",
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


def _check_one(name: str, entry: Reported, analysis: Analysis) -> CheckRow:
    parsed = _parse(entry.value, entry)
    setting = ", ".join(f"{k}={v}" for k, v in (entry.settings or {}).items())
    if entry.input:
        setting = ", ".join(filter(None, [setting, "input " + "×".join(map(str, entry.input))]))
    common = {
        "spec": name,
        "figure": entry.figure,
        "layer": entry.layer,
        "reported": str(entry.value),
        "where": entry.where,
        "source": entry.source,
        "setting": setting,
    }
    if entry.figure in ACCURACY_FIGURES:
        dataset = "" if entry.dataset == IMAGENET else f"{entry.dataset}: "
        note = f"{dataset}{entry.protocol}" + (f"; {entry.note}" if entry.note else "")
        return CheckRow(
            **common,
            computed=None,
            difference=None,
            tolerance=None,
            verdict="reported",
            explanation=note,
            dataset=entry.dataset,
        )
    computed = computed_figure(analysis, entry.figure, entry.layer)
    tolerance = _parse(entry.tolerance, entry).value if entry.tolerance else parsed.tolerance
    ok = parsed.accepts(computed, tolerance)
    verdict = "pass" if ok else ("explained" if entry.deviation else "fail")
    explanation = entry.deviation if entry.deviation else entry.note
    if not ok and not entry.deviation:
        explanation = f"outside ±{_short(tolerance)}; add a deviation: explaining why, or fix the spec"
    return CheckRow(
        **common,
        computed=computed,
        difference=computed - parsed.value,
        tolerance=tolerance,
        verdict=verdict,
        explanation=explanation,
    )


def _short(value: float) -> str:
    from archcost.units import human

    return human(int(value)) if value >= 1000 else f"{value:g}"


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
            out[entry.figure] = Accuracy(_parse(entry.value, entry).value, entry.protocol, entry.where)
    return out
