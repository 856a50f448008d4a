"""``archcost compare``: networks side by side, with ratios against the first, in every format.

A ratio against a first network of zero (no params, no MACs) has no value: ``—`` in the table and
Markdown, an empty CSV field, null in JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from archcost import units
from archcost.engine import Analysis
from archcost.report import columns as col
from archcost.report import terminal, writers
from archcost.report.columns import Column
from archcost.report.show import memory
from archcost.report.terminal import TerminalTable

if TYPE_CHECKING:
    from archcost.check import Accuracy


class CompareRow(NamedTuple):
    """One network (at one setting) in `archcost compare`."""

    label: str
    analysis: Analysis
    top1: Accuracy | None = None
    top5: Accuracy | None = None

    @property
    def activation_bytes(self) -> int:
        return memory(self.analysis)["activation_bytes"]


class _Compared(NamedTuple):
    """A row with the first row beside it, which its ratios are taken against."""

    row: CompareRow
    first: CompareRow


def _error(acc: Accuracy | None) -> float | None:
    return acc.error if acc else None


def _columns() -> tuple[Column[_Compared], ...]:
    def totals(c: _Compared) -> Any:
        return c.row.analysis.totals

    def first(c: _Compared) -> Any:
        return c.first.analysis.totals

    return (
        col.text("label", "network", lambda c: c.row.label),
        col.shape("input", "input (C×H×W)", lambda c: list(c.row.analysis.input)),
        col.count("params", "params", lambda c: totals(c).params),
        col.ratio("params_ratio", "×", lambda c: units.quotient(totals(c).params, first(c).params)),
        col.count("macs", "MACs", lambda c: totals(c).macs),
        col.ratio("macs_ratio", "×", lambda c: units.quotient(totals(c).macs, first(c).macs)),
        col.count("flops", "FLOPs", lambda c: totals(c).flops),
        col.size("activation_bytes", "activation memory", lambda c: c.row.activation_bytes),
        col.ratio(
            "activation_ratio",
            "×",
            lambda c: units.quotient(c.row.activation_bytes, c.first.activation_bytes),
        ),
        Column("weighted_depth", "depth", lambda c: c.row.analysis.weighted_depth, col.plain_count_cell, "right"),
        Column(
            "receptive_field",
            "RF",
            lambda c: list(c.row.analysis.last_feature_map.rf),
            col.field_cell,
            "right",
        ),
        Column("top1_error", "top-1 err", lambda c: _error(c.row.top1), col.percent_cell, "right"),
        Column("top5_error", "top-5 err", lambda c: _error(c.row.top5), col.percent_cell, "right"),
    )


COLUMNS = _columns()
"""compare's columns in every format: figures at each network's input, ratios against the first network."""

_JSON_EXTRAS: tuple[Column[_Compared], ...] = (
    col.text("name", "spec", lambda c: c.row.analysis.name),
    Column("settings", "settings", lambda c: dict(c.row.analysis.settings), col.text_cell),
    Column("batch", "batch", lambda c: c.row.analysis.batch, col.plain_count_cell, "right"),
    col.text("dtype", "dtype", lambda c: c.row.analysis.dtype),
    col.count("activations", "activations", lambda c: c.row.analysis.totals.activations),
    col.text("top1_protocol", "top-1 protocol", lambda c: c.row.top1.protocol if c.row.top1 else None),
    col.text("top5_protocol", "top-5 protocol", lambda c: c.row.top5.protocol if c.row.top5 else None),
)


def _compared(compare_rows: Sequence[CompareRow]) -> list[_Compared]:
    return [_Compared(row, compare_rows[0]) for row in compare_rows]


def compare_table(compare_rows: Sequence[CompareRow]) -> TerminalTable:
    """One row per network; ratios of params, MACs and memory against the first."""
    first = compare_rows[0]
    return terminal.table(
        COLUMNS,
        _compared(compare_rows),
        title=f"compared at batch {first.analysis.batch}, {first.analysis.dtype}; ratios against {first.label}",
    )


def compare_notes(compare_rows: Sequence[CompareRow]) -> list[str]:
    """What each column means, and the protocol behind each error rate."""
    lines = [
        "MACs: multiply-accumulates (bias excluded); FLOPs: 2 per MAC + element-wise ops; activation memory: all "
        "layer outputs; depth: weighted layers (those with MACs) on the longest path; RF: receptive field of the last "
        "feature map in pixels; errors: as reported by each paper (%)."
    ]
    for row in compare_rows:
        for name, acc in (("top-1", row.top1), ("top-5", row.top5)):
            if acc:
                lines.append(f"  {row.label} {name} {units.general(acc.error)}%: {acc.protocol} ({acc.where})")
    return [writers.printable(line) for line in lines]


def compare_dicts(compare_rows: Sequence[CompareRow]) -> list[dict[str, Any]]:
    """Each network as a JSON object: every column's exact value, with its spec, settings and protocols."""
    return writers.json_rows((*COLUMNS, *_JSON_EXTRAS), _compared(compare_rows))


def compare_text(compare_rows: Sequence[CompareRow], fmt: str) -> str:
    """compare as json, csv or markdown, with exact integers."""
    if fmt == "json":
        return writers.dumps(compare_dicts(compare_rows)) + "\n"
    if fmt == "csv":
        return writers.csv_text(COLUMNS, _compared(compare_rows))
    return "\n".join(writers.markdown_table(COLUMNS, _compared(compare_rows))) + "\n"
