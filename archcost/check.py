"""The paper check: each figure a spec reports from its paper, against the computed one.

A reported value is kept as the paper prints it (``138M``, ``3.8e9``, ``569M mult-adds``,
``4.2×10^9``, ``10.07% top-5``). Its tolerance follows from the precision printed — half a
unit of the last digit, so ``138M`` means ±0.5M — unless the spec gives another. A figure
outside its tolerance fails unless the spec explains it with a written ``deviation``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from archcost.engine import Analysis
from archcost.errors import SpecError
from archcost.spec import ACCURACY_FIGURES, COMPUTED_FIGURES, Reported, Spec
from archcost.spec.figures import Parsed, parse_value

__all__ = ["Accuracy", "CheckRow", "Parsed", "accuracy", "check_spec", "computed_figure", "parse_value"]

IMAGENET: Final = "ImageNet"


@dataclass(frozen=True)
class CheckRow:
    """The verdict on one reported figure."""

    spec: str
    figure: str
    layer: str
    reported: str
    computed: int | float | None
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
