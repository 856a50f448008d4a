"""Reports: analyses and checks as a rich table, JSON, CSV or Markdown — one module per job.

* :mod:`.columns`: a table's columns declared once (key, header, alignment, formatter) for every format;
* :mod:`.writers`: one CSV writer, one Markdown writer (escapes every cell), one JSON writer (always valid);
* :mod:`.terminal`: columns and rows as a terminal table in rich's look, drawn in one pass (rich imported
  only when one is drawn);
* one module per command: :mod:`.show`, :mod:`.catalog` (``list``), :mod:`.compare`, :mod:`.scale`,
  :mod:`.paper` (``check``), :mod:`.gallery` and :mod:`.verify` (imported by ``verify`` alone: it reads
  torchcheck's result types).

Importing this package imports neither rich nor torch. The names below are those the CLI uses.
"""

from __future__ import annotations

from archcost.report.catalog import CatalogEntry, by_family, catalog_dicts, catalog_table, catalog_text
from archcost.report.compare import CompareRow, compare_dicts, compare_notes, compare_table, compare_text
from archcost.report.gallery import GalleryEntry, gallery
from archcost.report.paper import check_dicts, check_json, check_markdown, check_table
from archcost.report.scale import ScaleRow, scale_dicts, scale_table, scale_text
from archcost.report.show import (
    FORMATS,
    Row,
    explain,
    label,
    memory,
    render_text,
    rows,
    summary,
    table,
    to_csv,
    to_dict,
    to_json,
    to_markdown,
    variant,
)
from archcost.report.terminal import draw

__all__ = [
    "FORMATS",
    "CatalogEntry",
    "CompareRow",
    "GalleryEntry",
    "Row",
    "ScaleRow",
    "by_family",
    "catalog_dicts",
    "catalog_table",
    "catalog_text",
    "check_dicts",
    "check_json",
    "check_markdown",
    "check_table",
    "compare_dicts",
    "compare_notes",
    "compare_table",
    "compare_text",
    "draw",
    "explain",
    "gallery",
    "label",
    "memory",
    "render_text",
    "rows",
    "scale_dicts",
    "scale_table",
    "scale_text",
    "summary",
    "table",
    "to_csv",
    "to_dict",
    "to_json",
    "to_markdown",
    "variant",
]
