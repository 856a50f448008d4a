"""``archcost scale``: compound scaling (EfficientNet §3.3) step by step, as a rich table or JSON.

The rule's prediction α·β²·γ² ^ Δφ grows past a float for large multipliers; it is computed in
logarithms and has no value (``—``, null) where it would not be finite, so no step overflows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

from archcost import units
from archcost.engine import Analysis, ScaleStep
from archcost.report import columns as col
from archcost.report import terminal, writers
from archcost.report.columns import Column, Style
from archcost.report.terminal import TerminalTable


class ScaleRow(NamedTuple):
    """One φ of `archcost scale`: the multipliers and the network they give."""

    step: ScaleStep
    analysis: Analysis


class Rule(NamedTuple):
    """The compound-scaling constants and the MACs factor per step of φ they predict, α·β²·γ²."""

    alpha: float
    beta: float
    gamma: float

    @property
    def log_factor(self) -> float:
        """ln(α·β²·γ²), finite for any finite positive constants."""
        return math.log(self.alpha) + 2 * math.log(self.beta) + 2 * math.log(self.gamma)

    @property
    def factor(self) -> float | None:
        return _exp(self.log_factor)

    def prediction(self, steps: int) -> float | None:
        """(α·β²·γ²)^steps, or None when it is not a finite float."""
        return _exp(self.log_factor * steps)


def _exp(log_value: float) -> float | None:
    try:
        result = math.exp(log_value)
    except OverflowError:
        return None
    return result if math.isfinite(result) else None


class _Step(NamedTuple):
    """A row with what its figures are relative to: the first φ's MACs and the rule."""

    row: ScaleRow
    base_macs: int
    first_phi: int
    rule: Rule

    @property
    def steps(self) -> int:
        return self.row.step.phi - self.first_phi


def _fixed(digits: int) -> col.Cell:
    def cell(value: float, style: Style) -> str:
        if not math.isfinite(value):
            return "" if style is Style.CSV else col.NO_VALUE
        if style in (Style.HUMAN, Style.EXACT):
            return f"{value:.{digits}f}" if abs(value) < 1e6 else f"{value:.3g}"
        return repr(value)

    return cell


def _general(value: float, style: Style) -> str:
    return units.general(value)


def _factor_text(factor: float | None, decimals: int) -> str:
    """The rule's factor α·β²·γ²: ``1.920`` as usual, ``1.6e+308`` when large, or why there is none."""
    if factor is None:
        return "beyond a float"
    return f"{factor:.{decimals}f}" if factor < 1e6 else f"{factor:.2g}"


def _factor_header(rule: Rule) -> str:
    factor = rule.factor
    return f"{_factor_text(factor, 2)}^Δφ" if factor is not None else "rule^Δφ"


def columns(rule: Rule) -> tuple[Column[_Step], ...]:
    """scale's columns in every format; the rule's column is headed with its factor (``1.92^Δφ``)."""
    return (
        Column("phi", "φ", lambda s: s.row.step.phi, col.plain_count_cell, "right"),
        Column("depth_multiplier", "depth ×", lambda s: s.row.step.depth, _fixed(3), "right"),
        Column("width_multiplier", "width ×", lambda s: s.row.step.width, _fixed(3), "right"),
        Column("resolution", "resolution", lambda s: list(s.row.analysis.input[1:]), col.shape_cell, "right"),
        col.count("params", "params", lambda s: s.row.analysis.totals.params),
        col.count("macs", "MACs", lambda s: s.row.analysis.totals.macs),
        Column(
            "macs_ratio",
            "MACs / φ₀",
            lambda s: units.quotient(s.row.analysis.totals.macs, s.base_macs),
            _fixed(2),
            "right",
        ),
        Column("rule_prediction", _factor_header(rule), lambda s: s.rule.prediction(s.steps), _fixed(2), "right"),
        Column("two_to_the_phi", "2^Δφ", lambda s: 2**s.steps if s.steps >= 0 else 2.0**s.steps, _general, "right"),
    )


_JSON_EXTRAS: tuple[Column[_Step], ...] = (
    Column("input", "input", lambda s: list(s.row.analysis.input), col.shape_cell),
    Column("settings", "settings", lambda s: dict(s.row.step.settings), col.text_cell),
)


def _steps(scale_rows: Sequence[ScaleRow], rule: Rule) -> list[_Step]:
    base = scale_rows[0].analysis.totals.macs
    first_phi = scale_rows[0].step.phi
    return [_Step(row, base, first_phi, rule) for row in scale_rows]


def scale_table(scale_rows: Sequence[ScaleRow], alpha: float, beta: float, gamma: float) -> TerminalTable:
    """φ, multipliers, MACs, params and the MACs ratio beside the rule's prediction."""
    rule = Rule(alpha, beta, gamma)
    constants = f"α={units.general(alpha)} β={units.general(beta)} γ={units.general(gamma)}"
    product = _factor_text(rule.factor, 3)
    return terminal.table(
        columns(rule),
        _steps(scale_rows, rule),
        title=f"{scale_rows[0].analysis.title}: compound scaling, {constants} (α·β²·γ² = {product})",
    )


def scale_dicts(scale_rows: Sequence[ScaleRow], alpha: float, beta: float, gamma: float) -> list[dict[str, Any]]:
    """Each φ as a JSON object: every column's exact value, with the input and the settings it gives."""
    rule = Rule(alpha, beta, gamma)
    return writers.json_rows((*columns(rule), *_JSON_EXTRAS), _steps(scale_rows, rule))


def scale_text(scale_rows: Sequence[ScaleRow], fmt: str, alpha: float, beta: float, gamma: float) -> str:
    """scale as json, csv or markdown, with exact integers."""
    rule = Rule(alpha, beta, gamma)
    steps = _steps(scale_rows, rule)
    if fmt == "json":
        return writers.dumps(scale_dicts(scale_rows, alpha, beta, gamma)) + "\n"
    if fmt == "csv":
        return writers.csv_text(columns(rule), steps)
    return "\n".join(writers.markdown_table(columns(rule), steps)) + "\n"
