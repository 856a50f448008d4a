"""Terminal rendering: rows and their columns as a rich table.

Every cell, title and caption goes in as a :class:`rich.text.Text`, so spec text is shown as written
and never read as rich markup (``[bold]`` stays ``[bold]``); lone surrogates print escaped. rich costs
~20 ms to import, so it is imported here only when a table is built.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from archcost.report.columns import Column, Style
from archcost.report.writers import printable

if TYPE_CHECKING:
    from rich.table import Table
    from rich.text import Text


def text(value: str, style: str = "") -> Text:
    """Plain text for rich: no markup read, lone surrogates escaped."""
    from rich.text import Text

    return Text(printable(value), style=style)


def table(
    columns: Sequence[Column[Any]],
    rows: Iterable[Any],
    *,
    title: str,
    footer: Any = None,
    exact: bool = False,
    caption: str | None = None,
    styles: dict[str, Any] | None = None,
    **options: Any,
) -> Table:
    """A rich table of `rows`, one column per :class:`Column`; `footer` (a row) in bold at the bottom.

    `styles` maps a column key to a function of the row giving that cell's rich style (``"dim"``).
    """
    from rich.table import Table

    style = Style.EXACT if exact else Style.HUMAN
    result = Table(
        title=text(title),
        caption=None if caption is None else text(caption),
        show_footer=footer is not None,
        header_style="bold",
        footer_style="bold",
        **options,
    )
    for column in columns:
        result.add_column(
            text(column.header),
            footer=text(_footer(column, footer, style)) if footer is not None else "",
            justify=column.align,
        )
    styles = styles or {}
    for row in rows:
        result.add_row(*(text(c.text(row, style), styles[c.key](row) if c.key in styles else "") for c in columns))
    return result


def _footer(column: Column[Any], footer: Any, style: Style) -> str:
    """A footer cell: a total of zero reads 0, not blank."""
    value = column.value(footer)
    return column.cell(value, style) if value == 0 else column.text(footer, style)


def add_rows(result: Table, rows: Iterable[Sequence[str | Text]]) -> None:
    """Rows of ready-made cells (str cells shown as written)."""
    for cells in rows:
        result.add_row(*(text(c) if isinstance(c, str) else c for c in cells))
