"""``archcost check``: each spec's reported figures against the computed ones, as a rich table,
JSON or Markdown (the gallery's "Computed vs reported" tables too)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from archcost import units
from archcost.report import columns as col
from archcost.report import terminal, writers
from archcost.report.columns import Column, Style
from archcost.report.terminal import TerminalTable

if TYPE_CHECKING:
    from archcost.check import CheckRow

VERDICT_STYLE: dict[str, str] = {
    "pass": "green",
    "explained": "yellow",
    "reported": "cyan",
    "fail": "bold red",
    "missing": "bold red",
}
"""The terminal colour of each :class:`~archcost.check.Verdict` (a StrEnum: its value is the key)."""


def _figure_text(row: CheckRow, style: Style) -> str:
    """The figure with its layer and setting: ``params [conv1] (groups=1)``; the layer as code in Markdown."""
    layer = (f" `{row.layer}`" if style is Style.MARKDOWN else f" [{row.layer}]") if row.layer else ""
    return row.figure + layer + (f" ({row.setting})" if row.setting else "")


def _computed_text(row: CheckRow, style: Style) -> str:
    if row.computed is None:
        return ""
    if isinstance(row.computed, float):  # a percentage (train_saving)
        return repr(row.computed) if style is Style.CSV else f"{row.computed:.2f}%"
    if style is Style.CSV:
        return units.digits(row.computed)
    return f"{units.human(row.computed)} ({units.exact(row.computed)})"


def _difference_text(row: CheckRow, style: Style) -> str:
    """``+57.9M (+1.5%)``: the computed figure minus the reported value, and that against the reported value."""
    difference = row.difference
    if difference is None or row.computed is None:
        return ""
    if isinstance(difference, float) and not math.isfinite(difference):
        return "" if style is Style.CSV else col.NO_VALUE
    if style is Style.CSV:
        return units.digits(difference) if isinstance(difference, int) else repr(difference)
    if isinstance(row.computed, float):  # a percentage (train_saving): the difference in points
        return f"{difference:+.2f} points"
    if isinstance(difference, int):  # exact: a whole reported value, perhaps past a float
        share = units.quotient(100 * difference, row.computed - difference)
    else:
        reported = row.computed - difference
        share = 100 * difference / reported if reported else None
    pct = f" ({share:+.1f}%)" if share is not None else ""
    sign = "+" if difference >= 0 else "−"
    return f"{sign}{units.human(abs(round(difference)))}{pct}"


def _detail_text(row: CheckRow, _style: Style) -> str:
    """Where the paper prints the figure (and its source if secondary), then the explanation."""
    where = ", ".join(filter(None, [row.where, row.source if row.source != "primary" else ""]))
    return f"{where}: {row.explanation}" if where and row.explanation else where or row.explanation


COLUMNS: tuple[Column[CheckRow], ...] = (
    Column("figure", "figure", lambda r: r.figure, col.text_cell, display=_figure_text),
    Column("reported", "reported", lambda r: r.reported, col.text_cell, "right"),
    Column("computed", "computed", lambda r: r.computed, col.count_cell, "right", display=_computed_text),
    Column("difference", "difference", lambda r: r.difference, col.text_cell, "right", display=_difference_text),
    col.text("verdict", "verdict"),
    Column("explanation", "where / explanation", lambda r: r.explanation, col.text_cell, display=_detail_text),
)
"""The check's columns: the figure (with its layer and setting), both values, their difference, the verdict."""

_JSON_KEYS = (
    "spec",
    "figure",
    "layer",
    "setting",
    "reported",
    "computed",
    "difference",
    "tolerance",
    "verdict",
    "explanation",
    "where",
    "source",
)


def check_table(spec_title: str, check_rows: Sequence[CheckRow]) -> TerminalTable:
    """A rich table of one spec's reported figures against the computed ones."""
    return terminal.table(
        COLUMNS,
        check_rows,
        title=f"{spec_title}: reported vs computed",
        styles={"verdict": lambda r: VERDICT_STYLE.get(r.verdict, "")},
    )


def check_dicts(check_rows: Sequence[CheckRow]) -> list[dict[str, Any]]:
    """Each verdict as a JSON object; a value that is not a finite float is null."""
    return [{key: getattr(r, key) for key in _JSON_KEYS} for r in check_rows]


def check_json(check_rows: Sequence[CheckRow]) -> str:
    """The check as JSON text, always valid JSON."""
    return writers.dumps(check_dicts(check_rows)) + "\n"


def check_markdown(check_rows: Sequence[CheckRow]) -> str:
    """The check as a Markdown table (used by the gallery too)."""
    return "\n".join(writers.markdown_table(COLUMNS, check_rows)) + "\n"
