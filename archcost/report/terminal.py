"""Terminal rendering: rows and their columns as a table in rich's look, drawn in one linear pass.

:func:`table` returns a :class:`TerminalTable`, a rich renderable: ``console.print`` draws it.
When every column fits the console's width, it writes the rows itself, a line at a time — rich's
own table measures and wraps every cell, which took 38 s for 20,000 layers against 0.6 s for the
JSON (docs/performance.md). When the columns do not fit, it hands the same cells to a :class:`rich.table.Table`, which
folds them (linear in the rows, but slower). The two draw the same box, padding and alignment.

Spec text is shown as written: it never goes through rich markup (``[bold]`` stays ``[bold]``),
lone surrogates print escaped (``\\ud800``) and control characters as ``\\x1b``, so a title cannot
move the cursor or colour the terminal. rich costs ~20 ms to import: it is imported when drawn.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from archcost.report.columns import Align, Column, Style
from archcost.report.writers import printable

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.table import Table


def clean(value: str) -> str:
    """Text safe to print (:func:`~archcost.report.writers.printable`)."""
    return printable(value)


class Cell(NamedTuple):
    """One cell's text (already clean), its rich style and its width in terminal cells (its widest line).

    A tuple, made once per cell, cheaper than a dataclass; the width is measured once, when it is made.
    """

    text: str
    style: str = ""
    width: int = -1

    @classmethod
    def of(cls, text: str, style: str = "") -> Cell:
        return cls(text, style, _width(text))


@dataclass
class TerminalTable:
    """A table for the terminal: headers, rows of cells, an optional footer row, sections between groups."""

    title: str
    headers: list[str]
    justify: list[Align]
    rows: list[list[Cell]] = field(default_factory=list)
    footer: list[str] | None = None
    caption: str | None = None
    sections: set[int] = field(default_factory=set)
    _widths: tuple[list[int], int] | None = field(default=None, init=False, repr=False, compare=False)
    """Row indices before which a separating rule is drawn (a new family in ``archcost list``)."""

    def add_row(self, *cells: str | Cell) -> None:
        self.rows.append([c if isinstance(c, Cell) else Cell.of(clean(c)) for c in cells])
        self._widths = None

    def add_section(self) -> None:
        self.sections.add(len(self.rows))

    # ------------------------------------------------------------------ drawing

    def widths(self) -> list[int]:
        """Each column's width: its widest line of header, cells and footer, in terminal cells."""
        widths = [_width(h) for h in (*self.headers, *(self.footer or ()))]
        widths = [max(widths[i :: len(self.headers)]) for i in range(len(self.headers))]
        for i, column in enumerate(zip(*self.rows, strict=True)):  # each distinct cell measured once
            widths[i] = max(widths[i], *(cell.width for cell in set(column)))
        return widths

    def _measured(self) -> tuple[list[int], int]:
        """:meth:`widths` and the whole table's width, measured once (drawing and :meth:`fits` ask)."""
        if self._widths is None:
            widths = self.widths()
            self._widths = (widths, sum(widths) + 3 * len(widths) + 1)
        return self._widths

    def fits(self, options: ConsoleOptions) -> bool:
        """Whether the table is drawn line by line (its lines then fit `options`' width), not by rich's Table."""
        return not options.ascii_only and self._measured()[1] <= options.max_width

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if not self.fits(options):  # rich folds, or draws its ASCII box
            yield self.rich_table()
            return
        widths, total = self._measured()
        yield from self._draw(console, options, widths, total)

    def _draw(self, console: Console, options: ConsoleOptions, widths: list[int], total: int) -> Iterator[Any]:
        from rich.segment import Segment
        from rich.style import Style as RichStyle
        from rich.text import Text

        bold = RichStyle(bold=True)
        if self.title:
            title = Text(self.title, style="table.title", justify="center")
            yield from console.render(title, options.update(width=total))
        yield Segment(_rule("┏", "━", "┳", "┓", widths) + "\n")
        yield from _row_segments([Cell.of(h, "bold") for h in self.headers], widths, self.justify, "┃", bold)
        yield Segment(_rule("┡", "━", "╇", "┩", widths) + "\n")
        styles: dict[str, RichStyle] = {}
        fancy = {cell for cell in set().union(*self.rows) if cell.style or "\n" in cell.text}
        lines = _plain_lines(self.rows, widths, self.justify)
        for index, row in enumerate(self.rows):
            if index in self.sections and index:
                yield Segment(_rule("├", "─", "┼", "┤", widths) + "\n")
            if not fancy or fancy.isdisjoint(row):
                yield Segment(lines[index])
                continue
            for cell in row:
                if cell.style and cell.style not in styles:
                    styles[cell.style] = console.get_style(cell.style)
            yield from _row_segments(row, widths, self.justify, "│", None, styles)
        if self.footer is not None:
            yield Segment(_rule("├", "─", "┼", "┤", widths) + "\n")
            yield from _row_segments([Cell.of(f, "bold") for f in self.footer], widths, self.justify, "│", bold)
        yield Segment(_rule("└", "─", "┴", "┘", widths) + "\n")
        if self.caption:
            caption = Text(self.caption, style="table.caption", justify="center")
            yield from console.render(caption, options.update(width=total))

    def rich_table(self) -> Table:
        """The same cells as a :class:`rich.table.Table`, which shrinks and folds columns to fit."""
        from rich.table import Table
        from rich.text import Text

        result = Table(
            title=Text(self.title) if self.title else None,
            caption=Text(self.caption) if self.caption else None,
            show_footer=self.footer is not None,
            header_style="bold",
            footer_style="bold",
        )
        for i, header in enumerate(self.headers):
            result.add_column(
                Text(header),
                footer=Text(self.footer[i]) if self.footer is not None else "",
                justify=self.justify[i],
                overflow="fold",  # never hide a digit: a cell too long for its column goes on
            )
        for index, row in enumerate(self.rows):
            if index in self.sections and index:
                result.add_section()
            result.add_row(*(Text(cell.text, style=cell.style) for cell in row))
        return result


def _rule(left: str, line: str, cross: str, right: str, widths: Sequence[int]) -> str:
    return left + cross.join(line * (w + 2) for w in widths) + right


def _width(value: str) -> int:
    """The widest line of `value` in terminal cells (a CJK character takes two)."""
    if value.isascii() and "\n" not in value:
        return len(value)
    from rich.cells import cell_len

    return max(map(cell_len, value.split("\n")))


def _pad(value: str, width: int, justify: Align, measured: int | None = None) -> str:
    """`value` padded to `width` terminal cells on the side `justify` leaves (`measured`: its width, if known)."""
    gap = width - (_width(value) if measured is None else measured)
    return value + " " * gap if justify == "left" else " " * gap + value


def _plain_lines(rows: Sequence[Sequence[Cell]], widths: Sequence[int], justify: Sequence[Align]) -> list[str]:
    """Each row drawn as one-line cells without styles, a string each (a row with styles is drawn
    again by :func:`_row_segments`); a column's distinct cells are padded once."""
    columns: list[list[str]] = []
    for column, width, side in zip(zip(*rows, strict=True), widths, justify, strict=False):
        padded = {cell: _pad(cell.text, width, side, cell.width) for cell in set(column)}
        columns.append(list(map(padded.__getitem__, column)))
    return ["│ " + " │ ".join(cells) + " │\n" for cells in zip(*columns, strict=True)]


def _row_segments(
    row: Sequence[Cell],
    widths: Sequence[int],
    justify: Sequence[Align],
    bar: str,
    row_style: Any,
    styles: dict[str, Any] | None = None,
) -> Iterator[Any]:
    """One row, as many lines as its tallest cell, each cell in its style."""
    from rich.segment import Segment

    lines = [c.text.split("\n") for c in row]
    height = max(len(cell_lines) for cell_lines in lines)
    for k in range(height):
        yield Segment(bar)
        for cell, cell_lines, width, side in zip(row, lines, widths, justify, strict=True):
            content = " " + _pad(cell_lines[k] if k < len(cell_lines) else "", width, side) + " "
            style = row_style if row_style is not None else (styles or {}).get(cell.style)
            yield Segment(content, style)
            yield Segment(bar)
        yield Segment("\n")


def table(
    columns: Sequence[Column[Any]],
    rows: Iterable[Any],
    *,
    title: str,
    footer: Any = None,
    exact: bool = False,
    caption: str | None = None,
    styles: dict[str, Any] | None = None,
) -> TerminalTable:
    """A terminal table of `rows`, one column per :class:`Column`; `footer` (a row) in bold at the bottom.

    `styles` maps a column key to a function of the row giving that cell's rich style (``"dim"``).
    """
    style = Style.EXACT if exact else Style.HUMAN
    styles = styles or {}
    cell_styles = [styles.get(c.key) for c in columns]
    result = TerminalTable(
        title=clean(title),
        headers=[clean(c.header) for c in columns],
        justify=[c.align for c in columns],
        footer=None if footer is None else [clean(_footer(c, footer, style)) for c in columns],
        caption=None if caption is None else clean(caption),
    )
    rows = rows if isinstance(rows, Sequence) else list(rows)
    made: dict[str, Cell] = {}  # a text seen before is the same cell: cleaned and measured once
    columns_cells: list[list[Cell]] = []
    for column, how in zip(columns, cell_styles, strict=True):
        texts = column.cells(rows, style)
        for text in set(texts).difference(made):
            made[text] = Cell.of(clean(text))
        cells = list(map(made.__getitem__, texts))
        if how is not None:
            wanted = list(map(how, rows))
            cells = [c if c.style == w else c._replace(style=w) for c, w in zip(cells, wanted, strict=True)]
        columns_cells.append(cells)
    result.rows = [list(row) for row in zip(*columns_cells, strict=True)]
    return result


def _footer(column: Column[Any], footer: Any, style: Style) -> str:
    """A footer cell: a total of zero reads 0, not blank."""
    value = column.value(footer)
    return column.cell(value, style) if value == 0 else column.text(footer, style)


def draw(console: Console, table: Any) -> None:
    """Print `table` (a :class:`TerminalTable` or any renderable) on `console`. A table drawn line by line
    fits the console by construction, so rich's cropping pass over the output (a call per line) is skipped."""
    console.print(table, crop=not (isinstance(table, TerminalTable) and table.fits(console.options)))
