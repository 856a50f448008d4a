"""Columns: each report table's columns declared once — key, header, alignment and how a cell reads.

A :class:`Column` drives every format of a command: its ``key`` is the JSON key and the CSV header,
its ``header`` (which names the unit or convention) heads the terminal and Markdown tables, its
``value`` is the exact figure JSON holds, and its ``cell`` turns that figure into text in the
:class:`Style` a format asks for. The writers (:mod:`archcost.report.writers`,
:mod:`archcost.report.terminal`) know nothing about any command.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Final, Generic, Literal, TypeVar

from archcost import units

Row = TypeVar("Row")
Align = Literal["left", "right"]


class Style(enum.Enum):
    """How a cell's figure reads: rounded for a terminal, or exact for a document or a machine."""

    HUMAN = "human"
    """The terminal table: three significant digits with a prefix (``35K``), ``—`` for no value."""
    EXACT = "exact"
    """The terminal table with ``--exact``: every digit, thousands separated (``34,944``)."""
    MARKDOWN = "markdown"
    """A Markdown document: every digit, thousands separated, ``—`` for no value."""
    CSV = "csv"
    """A CSV field: every digit, no separators; no value is an empty field."""


NO_VALUE: Final = "—"
"""What a terminal or Markdown cell shows when there is no figure (a ratio against zero, an unreported error)."""

Cell = Callable[[Any, Style], str]
"""A formatter: a column's value (never None; the writers handle None) as text in a style."""


@dataclass(frozen=True, slots=True)
class Column(Generic[Row]):
    """One column of a report table, the same in every format."""

    key: str
    """The JSON key and the CSV header."""
    header: str
    """The heading of the terminal and Markdown tables: names the unit or convention."""
    value: Callable[[Row], Any]
    """The figure as JSON holds it: an exact int, a float, a string, a list, or None for no value."""
    cell: Cell
    """The value as text in a style."""
    align: Align = "left"
    blank_zero: bool = False
    """A zero reads as an empty cell in the terminal table (a relu has no params to show)."""
    display: Callable[[Row, Style], str] | None = None
    """A cell made of more than its value (a figure with its layer and setting); JSON keeps `value` alone."""

    def cells(self, rows: Sequence[Row], style: Style) -> list[str]:
        """:meth:`text` of every row: the values read in one pass, each distinct one formatted once
        (a table repeats its shapes and figures; the writers stay linear)."""
        if self.display is not None:
            display = self.display
            return [display(row, style) for row in rows]
        values = [tuple(v) if isinstance(v, list) else v for v in map(self.value, rows)]
        done = {v: self._formatted(list(v) if isinstance(v, tuple) else v, style) for v in set(values)}
        return list(map(done.__getitem__, values))

    def text(self, row: Row, style: Style) -> str:
        """This column's cell of `row` in `style`."""
        if self.display is not None:
            return self.display(row, style)
        return self._formatted(self.value(row), style)

    def _formatted(self, value: Any, style: Style) -> str:
        """A value's cell in `style`: no value, a blank for zero where the column hides it, or its text."""
        if value is None:
            return "" if style is Style.CSV else NO_VALUE
        if self.blank_zero and value == 0 and style in (Style.HUMAN, Style.EXACT):
            return ""
        return self.cell(value, style)


# ---------------------------------------------------------------------------- cells


def text_cell(value: Any, _style: Style) -> str:
    """Text as written (the writers escape what their format needs)."""
    return str(value)


def count_cell(value: int, style: Style) -> str:
    """A count: ``35K`` in the terminal, ``34,944`` exact and in Markdown, ``34944`` in CSV."""
    if style is Style.HUMAN:
        return units.human(value)
    if style is Style.CSV:
        return units.digits(value)
    return units.exact(value)


def plain_count_cell(value: int, style: Style) -> str:
    """A small count (a year, a depth) with no separators or prefix in any style."""
    return units.digits(value)


def bytes_cell(value: int, style: Style) -> str:
    """Bytes: ``528 MiB`` in the terminal, with ``--exact`` too (powers of 1024); exact bytes elsewhere."""
    if style in (Style.HUMAN, Style.EXACT):
        return units.human_bytes(value)
    return count_cell(value, style)


def shape_cell(value: Sequence[int], _style: Style) -> str:
    """A shape or a receptive field as ``96×55×55`` (batch excluded)."""
    return units.shape(value)


def field_cell(value: Sequence[int], style: Style) -> str:
    """A receptive field: one number when square (``211``), ``211×195`` otherwise; in the rounded
    terminal table, past 999T as ``1e4500`` (a field can legally outgrow any count)."""
    if style is Style.HUMAN and max(value) >= 10**15:
        return units.receptive_field([units.scientific(v) for v in value])
    return units.receptive_field(value)


def ratio_cell(value: float, style: Style) -> str:
    """A ratio: ``×0.09`` in the terminal, three significant digits elsewhere."""
    if not math.isfinite(value):
        return "" if style is Style.CSV else NO_VALUE
    if style is Style.CSV:
        return repr(value)
    return f"×{value:.2g}" if style in (Style.HUMAN, Style.EXACT) else f"{value:.3g}"


def percent_cell(value: float, style: Style) -> str:
    """A reported error rate: ``22.85%`` in the terminal and Markdown, ``22.85`` in CSV."""
    return units.general(value) if style is Style.CSV else f"{units.general(value)}%"


# ---------------------------------------------------------------------------- constructors


def text(key: str, header: str, get: Callable[[Row], Any] | None = None) -> Column[Row]:
    """A left-aligned column of text (names, kinds, titles)."""
    return Column(key, header, get or attrgetter(key), text_cell)


def count(key: str, header: str, get: Callable[[Row], Any] | None = None, *, blank_zero: bool = False) -> Column[Row]:
    """A right-aligned column of exact counts (params, MACs, FLOPs, elements)."""
    return Column(key, header, get or attrgetter(key), count_cell, "right", blank_zero)


def size(key: str, header: str, get: Callable[[Row], Any], *, blank_zero: bool = False) -> Column[Row]:
    """A right-aligned column of bytes."""
    return Column(key, header, get, bytes_cell, "right", blank_zero)


def shape(key: str, header: str, get: Callable[[Row], Any] | None = None) -> Column[Row]:
    """A column of shapes, written C×H×W; JSON holds the list."""
    read = get or attrgetter(key)
    return Column(key, header, lambda row: list(read(row)), shape_cell)


def ratio(key: str, header: str, get: Callable[[Row], Any]) -> Column[Row]:
    """A right-aligned column of ratios; JSON holds the float, or null against a zero."""
    return Column(key, header, get, ratio_cell, "right")
