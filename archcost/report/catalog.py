"""``archcost list``: the bundled specs grouped by family, as a rich table, JSON, CSV or Markdown."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from archcost.report import columns as col
from archcost.report import terminal, writers
from archcost.report.columns import Column
from archcost.report.terminal import TerminalTable

if TYPE_CHECKING:
    from archcost.check import Accuracy


class CatalogEntry(NamedTuple):
    """One bundled spec in `archcost list`."""

    name: str
    title: str
    family: str
    year: int | None
    params: int
    macs: int
    input: tuple[int, ...]
    top1: Accuracy | None = None


COLUMNS: tuple[Column[CatalogEntry], ...] = (
    col.text("family", "family"),
    col.text("name", "name"),
    col.text("title", "network"),
    Column("year", "year", lambda e: e.year, col.plain_count_cell, "right"),
    col.shape("input", "input (C×H×W)", lambda e: list(e.input)),
    col.count("params", "params"),
    col.count("macs", "MACs"),
    Column("top1_error", "top-1 err", lambda e: e.top1.error if e.top1 else None, col.percent_cell, "right"),
)
"""The list's columns in every format; the table leaves a family's name out after its first row."""


def by_family(entries: Sequence[CatalogEntry]) -> list[CatalogEntry]:
    """Entries grouped by family (families in order of their first year), then by year and name."""
    first_year: dict[str, int] = {}
    for e in entries:
        first_year[e.family] = min(first_year.get(e.family, 9999), e.year or 9999)
    return sorted(entries, key=lambda e: (first_year[e.family], e.family, e.year or 9999, e.macs, e.name))


def catalog_table(entries: Sequence[CatalogEntry]) -> TerminalTable:
    """The bundled specs grouped by family: year, input, params, MACs and reported top-1 error."""
    ordered = by_family(entries)
    shown = [e if i == 0 or e.family != ordered[i - 1].family else e._replace(family="") for i, e in enumerate(ordered)]
    result = terminal.table(
        COLUMNS,
        shown,
        title="bundled specs",
        caption="MACs: multiply-accumulates at the spec's input; top-1 error: as reported (protocols: archcost check)",
    )
    result.sections = {i for i in range(1, len(ordered)) if ordered[i].family != ordered[i - 1].family}
    return result


def catalog_dicts(entries: Sequence[CatalogEntry]) -> list[dict[str, Any]]:
    return writers.json_rows(_JSON_COLUMNS, by_family(entries))


_JSON_COLUMNS = (COLUMNS[1], COLUMNS[2], COLUMNS[0], *COLUMNS[3:])
"""JSON, CSV and Markdown keep the order name, title, family, … (the table leads with the family)."""


def catalog_text(entries: Sequence[CatalogEntry], fmt: str) -> str:
    """The bundled-spec list as json, csv or markdown, with exact integers."""
    ordered = by_family(entries)
    if fmt == "json":
        return writers.dumps(writers.json_rows(_JSON_COLUMNS, ordered)) + "\n"
    if fmt == "csv":
        return writers.csv_text(_JSON_COLUMNS, ordered)
    return "\n".join(writers.markdown_table(_JSON_COLUMNS, ordered)) + "\n"
