"""Every command × every format with hostile text in titles, names and paper notes (issue 14 §4).

The spec below carries, in its title, name and reported figures' texts, what breaks a naive writer:
``|`` (a Markdown cell separator), ``,`` and ``"`` (CSV), a backslash, line breaks, rich markup
(``[bold]``), a dollar pair (matplotlib's mathtext), an escape sequence (ESC) and a lone surrogate
(which UTF-8 cannot encode). Each format must keep its structure — a Markdown row as many cells
as its header, a CSV row as many fields, JSON valid and equal to the text it was given — and print
the text as written: markup never interpreted, controls and surrogates escaped where printed.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_runner import CliRunner

from archcost import engine, report, spec
from archcost.cli import app
from archcost.report import catalog, compare, paper, scale, writers
from archcost.report.columns import Style

TITLE = 'Net | a, "q" [bold]x[/bold] \\ back\nline $x^2$ \x1b[31m red'
"""A title with every kind of hostile text."""
TITLE_PRINTED = 'Net | a, "q" [bold]x[/bold] \\ back\nline $x^2$ \\x1b[31m red'
"""The title as the terminal, CSV and Markdown print it: the surrogate and the ESC as escapes."""
NAME = 'ho|st,i"le [b]'

SPEC = """\
archcost: 1
name: "ho|st,i\\"le [b]"
title: "Net | a, \\"q\\" [bold]x[/bold] \\\\ back\\nline $x^2$ \\e[31m red"
input: [3, 8, 8]
params: {wide: true, width: 1.0}
scaling: {width: width}
paper:
  title: "T | x"
  reported:
    - figure: params
      value: "112"
      where: "Table | 1, \\"q\\" [bold]x[/bold]\\nnext \\e[2J"
      note: "n|o\\\\te, [red]r[/red]"
    - figure: top1_error
      value: "25%"
      where: "w|x"
      protocol: "p|r\\nq [red]z[/red] \\e[2J"
layers:
  - conv: {out: $(ceil(4 * width)), kernel: 3}
  - relu
"""

runner = CliRunner()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "hostile.yaml"
    path.write_text(SPEC, encoding="utf-8")
    loaded = spec.load(str(path))
    assert loaded.title == TITLE and loaded.name == NAME  # the YAML says what the test means
    return path


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    assert ("Traceback" not in result.output and result.exception is None) or code
    result.stdout.encode("utf-8")  # what reaches a UTF-8 stdout: a lone surrogate would raise here
    assert "\x1b" not in result.stdout  # no terminal control from spec text
    return result.stdout


def loads_big(text: str) -> Any:
    """json.loads without Python's 4,300-digit limit on integers (archcost writes every digit)."""
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        return json.loads(text)
    finally:
        sys.set_int_max_str_digits(limit)


def markdown_cells(line: str) -> list[str]:
    """A Markdown table row's cells, honouring backslash escapes (``\\|`` is text, ``\\\\|`` a separator)."""
    assert line.startswith("|") and line.endswith("|"), line
    cells, current, escaped = [], "", False
    for char in line[1:-1]:
        if escaped:
            current += "\\" + char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "|":
            cells.append(current.strip())
            current = ""
        else:
            current += char
    return [*cells, current.strip()]


def unescape_markdown(cell: str) -> str:
    out, i = "", 0
    cell = cell.replace("<br>", "\n")
    while i < len(cell):
        if cell[i] == "\\" and i + 1 < len(cell):
            out += cell[i + 1]
            i += 2
        else:
            out += cell[i]
            i += 1
    return out


def assert_markdown_table(text: str) -> list[list[str]]:
    """Every row of every table in `text` has its header's number of cells; the rows' cells."""
    rows: list[list[str]] = []
    width = None
    for line in text.splitlines():
        if not line.startswith("|"):
            width = None
            continue
        cells = markdown_cells(line)
        if width is None:
            width = len(cells)
        assert len(cells) == width, line
        rows.append(cells)
    assert rows, text
    return rows


# ---------------------------------------------------------------------------- show


def test_show_table(hostile: Path) -> None:
    out = run("show", str(hostile))
    first, second = TITLE_PRINTED.split("\n")
    assert first in out and second.split(" $")[0] in out  # rich markup shown as written, not applied
    assert "(wide=true)" in out


def test_show_json(hostile: Path) -> None:
    data = json.loads(run("show", str(hostile), "--format", "json"))
    assert data["title"] == TITLE and data["name"] == NAME  # JSON keeps the exact text (\u001b escaped)
    assert data["label"] == TITLE + " (wide=true)" and data["variant"] == {"wide": True}


def test_show_csv(hostile: Path) -> None:
    rows = list(csv.reader(io.StringIO(run("show", str(hostile), "--format", "csv"))))
    assert all(len(row) == len(rows[0]) for row in rows)
    assert [r[0] for r in rows[1:]] == ["0", "1", "total"]


def test_show_markdown(hostile: Path) -> None:
    out = run("show", str(hostile), "--format", "markdown")
    heading = out.splitlines()[0]
    assert "<br>" in heading and "\\|" in heading and "\\\\x1b" in heading  # one line, escaped
    rows = assert_markdown_table(out)
    assert len(rows) == 2 + 2 + 1  # header, rule, two layers, total


# ---------------------------------------------------------------------------- compare


def test_compare_table(hostile: Path) -> None:
    out = run("compare", str(hostile), "lenet5")
    assert "[bold]x[/bold]" in out and "\\x1b" in out and "LeNet-5" in out


def test_compare_json(hostile: Path) -> None:
    data = json.loads(run("compare", str(hostile), "lenet5", "--format", "json"))
    assert data[0]["label"] == TITLE + " (wide=true)" and data[0]["name"] == NAME  # the variant named
    assert data[0]["top1_protocol"] == "p|r\nq [red]z[/red] \x1b[2J"


def test_compare_csv(hostile: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(run("compare", str(hostile), "lenet5", "--format", "csv"))))
    assert [r["label"] for r in rows] == [
        TITLE_PRINTED + " (wide=true)",
        "LeNet-5",
    ]  # quoted: commas, quotes, the line break
    assert rows[0]["params"] == "112" and rows[1]["params"] == "61706"


def test_compare_markdown_keeps_its_cells(hostile: Path) -> None:
    """The bug of issue 14 §4: a title with `|` gave its row an extra cell."""
    rows = assert_markdown_table(run("compare", str(hostile), "lenet5", "--format", "markdown"))
    header, _rule, mine, lenet = rows
    assert len(mine) == len(header) == len(compare.COLUMNS)
    assert unescape_markdown(mine[0]) == TITLE_PRINTED + " (wide=true)"
    assert lenet[0] == "LeNet-5"


# ---------------------------------------------------------------------------- check


def test_check_table(hostile: Path) -> None:
    out = run("check", str(hostile))
    assert "[bold]x[/bold]" in out and "[red]z[/red]" in out and "\\x1b[2J" in out


def test_check_json(hostile: Path) -> None:
    data = json.loads(run("check", str(hostile), "--format", "json"))
    assert data[0]["where"] == 'Table | 1, "q" [bold]x[/bold]\nnext \x1b[2J'
    assert data[0]["verdict"] == "pass" and data[0]["computed"] == 3 * 3 * 3 * 4 + 4 == 112


def test_check_markdown(hostile: Path) -> None:
    rows = assert_markdown_table(run("check", str(hostile), "--format", "markdown"))
    assert len(rows) == 4 and all(len(r) == len(paper.COLUMNS) for r in rows)
    assert unescape_markdown(rows[2][5]).startswith('Table | 1, "q" [bold]x[/bold]\nnext \\x1b[2J')


# ---------------------------------------------------------------------------- scale


def test_scale_table(hostile: Path) -> None:
    out = run("scale", str(hostile), "--phi", "0..2")
    assert "[bold]x[/bold]" in out and "\\x1b" in out


def test_scale_json(hostile: Path) -> None:
    data = json.loads(run("scale", str(hostile), "--phi", "0..2", "--format", "json"))
    assert [d["phi"] for d in data] == [0, 1, 2]
    assert data[0]["settings"] == {"width": 1.0}


@pytest.mark.parametrize("fmt", ["csv", "markdown"])
def test_scale_text_formats(hostile: Path, fmt: str) -> None:
    """scale's CSV and Markdown writers, which the CLI may offer."""
    loaded = spec.load(str(hostile))
    steps = engine.compound_scaling(loaded, [0, 1], 1.2, 1.1, 1.15)
    rows = [report.ScaleRow(s, engine.analyze(loaded, overrides=s.settings)) for s in steps]
    text = report.scale_text(rows, fmt, 1.2, 1.1, 1.15)
    if fmt == "csv":
        parsed = list(csv.reader(io.StringIO(text)))
        assert parsed[0] == [c.key for c in scale.columns(scale.Rule(1.2, 1.1, 1.15))]
        assert [int(r[0]) for r in parsed[1:]] == [0, 1]
    else:
        assert len(assert_markdown_table(text)) == 4


# ---------------------------------------------------------------------------- list and gallery (bundled text only)


SURROGATE_TITLE = TITLE + " \ud800"
"""Specs with a lone surrogate are refused when loaded; a report made through the API still prints it escaped."""


def hostile_entry() -> catalog.CatalogEntry:
    return catalog.CatalogEntry(NAME, SURROGATE_TITLE, "fam|ily,\n", 2024, 10**5000 + 1, 0, (3, 8, 8))


@pytest.mark.parametrize("fmt", ["json", "csv", "markdown"])
def test_list_formats(fmt: str) -> None:
    entries = [hostile_entry()]
    text = report.catalog_text(entries, fmt)
    text.encode("utf-8")
    if fmt == "json":
        (item,) = loads_big(text)
        assert item["title"] == SURROGATE_TITLE and item["params"] == 10**5000 + 1 and item["top1_error"] is None
    elif fmt == "csv":
        (row,) = csv.DictReader(io.StringIO(text))
        assert row["title"] == TITLE_PRINTED + " \\ud800" and row["params"] == "1" + "0" * 4999 + "1"
    else:
        header, _rule, row = assert_markdown_table(text)
        assert len(row) == len(header) and unescape_markdown(row[1]) == TITLE_PRINTED + " \\ud800"


def test_list_table() -> None:
    from rich.console import Console

    out = io.StringIO()
    Console(file=out, width=120).print(report.catalog_table([hostile_entry()]))
    assert "[bold]x[/bold]" in out.getvalue() and "\\ud800" in out.getvalue() and "1e5000" in out.getvalue()


def test_gallery_overview_keeps_its_cells() -> None:
    analysis = engine.analyze(spec.load("lenet5"))
    from dataclasses import replace

    entry = report.GalleryEntry("x", {"year": 2024}, replace(analysis, title=SURROGATE_TITLE), [])
    text = report.gallery([entry])
    text.encode("utf-8")
    overview = [line for line in text.splitlines() if line.startswith("| [")]
    assert len(markdown_cells(overview[0])) == 7
    assert "## Net \\| a" in text and "<br>line" in text


# ---------------------------------------------------------------------------- verify's text (torch not needed)


def test_verify_text_escapes_markup() -> None:
    from archcost.report import verify

    assert verify.escape("[bold]x\ud800") == "\\[bold]x\\ud800"


# ---------------------------------------------------------------------------- the writers themselves


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("a|b", "a\\|b"),
        ("a\\b", "a\\\\b"),
        ("a\\|b", "a\\\\\\|b"),
        ("l1\nl2\r\nl3\rl4", "l1<br>l2<br>l3<br>l4"),
        ("x\u2028y\u2029z\x85", "x<br>y<br>z\\\\x85"),
        ("[bold]*_`", "[bold]*_`"),
        ("\ud800", "\\\\ud800"),
    ],
)
def test_markdown_escape(text: str, escaped: str) -> None:
    assert writers.markdown_escape(text) == escaped
    assert len(markdown_cells(f"| {writers.markdown_escape(text)} | b |")) == 2


@pytest.mark.parametrize("style", list(Style))
def test_every_column_of_every_command_has_a_cell(style: Style, hostile: Path) -> None:
    """Each declared column gives text in every style (no format forgets a column)."""
    loaded = spec.load(str(hostile))
    analysis = engine.analyze(loaded)
    first = report.CompareRow(analysis.title, analysis)
    compared: list[Any] = compare._compared([first])
    for column in compare.COLUMNS:
        assert isinstance(column.text(compared[0], style), str)
    for column in report.show.layer_columns(analysis):
        assert isinstance(column.text(report.rows(analysis)[0], style), str)
