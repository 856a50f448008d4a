"""The paper check: each figure a spec reports from its paper, against the computed one.

A reported value is kept as the paper prints it (``138M``, ``3.8e9``, ``569M mult-adds``,
``4.2×10^9``, ``10.07% top-5``). Its tolerance follows from the precision printed — half a
unit of the last digit, so ``138M`` means ±0.5M — unless the spec gives another. A figure
outside its tolerance fails unless the spec explains it with a written ``deviation``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from archcost.engine import Analysis
from archcost.errors import SpecError
from archcost.spec import ACCURACY_FIGURES, COMPUTED_FIGURES, Reported, Spec
from archcost.spec.figures import Parsed, parse_value

__all__ = ["Accuracy", "CheckRow", "Parsed", "Verdict", "accuracy", "check_spec", "computed_figure", "parse_value"]

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
    computed: int | float | None = None
    """The computed figure (``train_saving``: a percentage); None for a figure archcost does not compute."""
    difference: float | None = None
    """computed − reported; None when not computed (or beyond a float)."""
    tolerance: float | None = None
    """How far the computed figure may be from the reported value: half a unit of its last printed digit."""
    where: str = ""
    """Where the paper prints it (table, section)."""
    source: str = "primary"
    """``primary`` (the paper itself) or ``secondary`` (another paper or a course quoting it)."""
    dataset: str = IMAGENET

    @property
    def failed(self) -> bool:
        return self.verdict.failed


TRAINING_FIGURES: Final = ("expected_train_macs", "train_step_macs", "train_saving")
"""The computed figures of a training step (archcost.training): whole network only."""


def computed_figure(analysis: Analysis, figure: str, layer: str = "") -> int | float:
    """A computed figure for the whole network or for one layer or group (a name prefix); the
    training figures (whole network only) from :mod:`archcost.training`, ``train_saving`` a percentage."""
    assert figure in COMPUTED_FIGURES, figure
    if figure in TRAINING_FIGURES:
        if layer:
            raise SpecError(f"reported figure {figure}: it is for the whole network, not for layer {layer!r}")
        return _training_figure(analysis, figure)
    if not layer:
        return int(getattr(analysis.totals, figure))
    rows = [r for r in analysis.layers if r.name == layer or r.name.startswith(layer + ".")]
    if not rows:
        raise SpecError(f"reported figure for layer {layer!r}: no such layer or group in {analysis.name}")
    return sum(int(getattr(r, figure)) for r in rows)


def _training_figure(analysis: Analysis, figure: str) -> int | float:
    from archcost import training

    t = training.training(analysis)
    if figure == "train_saving":
        every = sum(s.step for s in t.layers)
        return 100 * (1 - t.train_step_macs / every) if every else 0.0
    return int(getattr(t, figure))


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
        try:
            if key not in cache:
                cache[key] = analyze(entry.settings or {}, entry.input)
            rows.append(_check_one(spec.name, entry, cache[key]))
        except SpecError as exc:  # placed at the reported entry when it has no line of its own
            raise exc.at(entry.loc) from None
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
        dataset = "" if entry.dataset == IMAGENET else f"{entry.dataset}: "
        note = f"{dataset}{entry.protocol}" + (f"; {entry.note}" if entry.note else "")
        return CheckRow(**common, verdict=Verdict.REPORTED, explanation=note, dataset=entry.dataset)
    computed = computed_figure(analysis, entry.figure, entry.layer)
    tolerance = _parse(entry.tolerance, entry).value if entry.tolerance else parsed.tolerance
    ok = parsed.accepts(computed, tolerance)
    verdict = Verdict.PASS if ok else (Verdict.EXPLAINED if entry.deviation else Verdict.FAIL)
    explanation = entry.deviation if entry.deviation else entry.note
    if not ok and not entry.deviation:
        explanation = f"outside ±{_short(tolerance)}; add a deviation: explaining why, or fix the spec"
    return CheckRow(
        **common,
        computed=computed,
        difference=_difference(computed, parsed.value),
        tolerance=tolerance,
        verdict=verdict,
        explanation=explanation,
    )


def _difference(computed: int | float, reported: float) -> float | None:
    """computed − reported as a float; None when the computed figure is beyond a float."""
    try:
        return computed - reported
    except OverflowError:
        return None


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
