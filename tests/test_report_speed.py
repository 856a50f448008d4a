"""The fast paths of report.py: no rich on import, and JSON one layer a line, by orjson or json's C encoder alike."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from archcost import engine, memory, report, spec, training
from archcost.engine import Analysis
from archcost.report import show, writers
from archcost.report.columns import Style


@cache
def _analysis(name: str) -> Analysis:
    return engine.analyze(spec.load(name))


def test_importing_the_library_imports_no_rich() -> None:
    script = "import sys, archcost.report, archcost.engine, archcost.spec; print('rich' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_tables_still_render() -> None:
    from rich.console import Console

    out = io.StringIO()
    Console(file=out, width=200).print(report.table(_analysis("lenet5")))
    assert "LeNet-5: input 1×32×32" in out.getvalue() and "61.7K" in out.getvalue()


@pytest.mark.parametrize("name", spec.bundled_names())
def test_json_text_holds_to_dict(name: str) -> None:
    a = _analysis(name)
    mem = memory.memory(a, "momentum")
    fit = memory.fit(a, 3 * 2**30)
    for depth, m, f in ((None, None, None), (None, mem, None), (2, mem, fit)):
        text = report.render_text(a, "json", depth, m, f)
        assert json.loads(text) == report.to_dict(a, depth, m, f)


def test_names_that_need_escaping() -> None:
    a = _analysis("lenet5")
    odd = ['a"b', "}, {", "\\", "tab\there", "line\nbreak", "é", "日本", "\u2028", "\ud800", "😀", "x\x00y"]
    renamed = {layer.name: odd[i % len(odd)] + str(i) for i, layer in enumerate(a.layers)}
    layers = tuple(
        replace(
            layer,
            name=renamed[layer.name],  # kinds come from the catalog: only names and titles are user text
            inputs=tuple(renamed.get(name, name) for name in layer.inputs),
        )
        for i, layer in enumerate(a.layers)
    )
    weird = replace(a, layers=layers, title='"quoted" \\ title', settings={"k": 'v"', "n": [1, {"x": None}]})
    assert json.loads(report.to_json(weird)) == report.to_dict(weird)


def test_json_layout_is_one_layer_a_line() -> None:
    a = _analysis("resnet50")
    text = report.render_text(a, "json", 1, memory.memory(a), None)
    lines = text.splitlines()
    assert lines[0] == "{" and lines[-1] == "}" and text.endswith("}\n")
    assert '  "totals": {' in lines and '  "layers": [' in lines and '  "groups": [' in lines
    entries = [json.loads(line.strip().rstrip(",")) for line in lines if line.startswith("    {")]
    assert [e["name"] for e in entries] == [layer.name for layer in a.layers] + [r.name for r in report.rows(a, 1)]


def _without_orjson(monkeypatch: pytest.MonkeyPatch) -> None:
    """The JSON writer as it runs where orjson refuses the data: json's C encoder, item by item."""
    monkeypatch.setattr(writers, "_items_at_once", lambda items, inner: None)


def _renamed(a: Analysis, odd: list[str]) -> Analysis:
    """`a` with its layers renamed after `odd` (kinds come from the catalog: only names are user text)."""
    renamed = {layer.name: odd[i % len(odd)] + str(i) for i, layer in enumerate(a.layers)}
    layers = tuple(
        replace(layer, name=renamed[layer.name], inputs=tuple(renamed.get(n, n) for n in layer.inputs))
        for layer in a.layers
    )
    return replace(a, layers=layers)


_ODD_NAMES = ['a"b', "}, {", "\\", "tab\there", "line\nbreak", "é", "日本", "\u2028", "😀", "x\x00y", "\x7f", "\x1f"]


@pytest.mark.parametrize("name", ["lenet5", "resnet50", "nasnet_a_mobile"])
def test_both_json_paths_write_the_same_text(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """orjson's text and json's C encoder's are the same, byte for byte (the data holds no float)."""
    for a in (_analysis(name), _renamed(_analysis(name), _ODD_NAMES)):
        mem = memory.memory(a)
        fast = report.render_text(a, "json", 2, mem, None)
        assert fast.isascii()
        with monkeypatch.context() as patched:
            _without_orjson(patched)
            assert report.render_text(a, "json", 2, mem, None) == fast


def test_what_orjson_refuses_the_c_encoder_writes() -> None:
    """An integer past 64 bits, a lone surrogate, a key that is not text: the same JSON through the other path."""
    for items in ([{"a": 2**64}], [{"a": 1}, {"b": "\ud800"}], [{1: "x"}], [{"n": -(2**63) - 1}]):
        assert writers._items_at_once(items, "\n") is None
        assert json.loads(writers.dumps({"items": items})) == json.loads(json.dumps({"items": items}))


def test_a_string_holding_the_line_marker_stays_a_string() -> None:
    """The marker is new in every process; an array item equal to it anyway makes the writer take the other path."""
    items = [{"x": ["a", writers._LINE, "b"]}, {"s": f',"{writers._LINE}",'}, {"t": [writers._LINE]}]
    assert writers._items_at_once(items, "\n") is None
    text = writers.dumps({"items": items})
    assert json.loads(text) == {"items": items}
    assert len(text.splitlines()) == 4 + len(items)  # {, "items": [, one line each, ], }


def test_floats_are_the_same_numbers_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    items = [{"f": v} for v in (0.1, 1e-05, 1e16, 2.5, -0.0, 1 / 3, 5e-324, 1.7976931348623157e308, math.nan)]
    fast = json.loads(writers.dumps({"items": items}))
    _without_orjson(monkeypatch)
    assert json.loads(writers.dumps({"items": items})) == fast
    assert fast["items"][-1] == {"f": None} and fast["items"][1] == {"f": 1e-05}


@pytest.mark.parametrize(
    "value",
    [
        {},
        [],
        {"a": []},
        {"a": {}},
        [{}],
        [[]],
        [[1, 2], [3]],
        [{"a": 1}, {"b": [1, {"c": 2}]}],
        {"x": {"y": {"z": [1, 2.5, None, True, "é"]}}},
        {1: "int key", None: "null key"},
        {"a": (1, 2), "b": [(1,), (2,)]},
        "text",
        3,
        [1, "two", None],
    ],
)
def test_dumps_is_json(value: Any) -> None:
    assert json.loads(writers.dumps(value)) == json.loads(json.dumps(value))


def test_csv_and_markdown_without_depth_are_the_rows() -> None:
    """Without --depth the writers read the layers themselves: the same text as from their rows."""
    a = _analysis("densenet121")
    columns = show.layer_columns(a)
    for style in Style:
        assert [[c.text(layer, style) for c in columns] for layer in a.layers] == [
            [c.text(row, style) for c in columns] for row in report.rows(a)
        ]


def _drawn(renderable: object, width: int = 250) -> str:
    from rich.console import Console

    out = io.StringIO()
    Console(file=out, width=width).print(renderable)
    return out.getvalue()


@pytest.mark.parametrize(
    "make",
    [
        lambda: report.table(_analysis("lenet5")),
        lambda: report.table(_analysis("resnet50"), 1, exact=True, mem=memory.memory(_analysis("resnet50"))),
        lambda: report.table(_analysis("densenet121"), 2),
        lambda: report.compare_table(
            [
                report.CompareRow("two\nlines [b] 日本", _analysis("lenet5")),
                report.CompareRow("AlexNet", _analysis("alexnet")),
            ]
        ),
    ],
    ids=["lenet5", "resnet50-depth1-exact-train", "densenet121-depth2", "compare-multiline-wide-chars"],
)
def test_the_table_drawn_in_one_pass_is_richs(make: Any) -> None:
    """The one-pass drawing (used when the columns fit) prints what rich's Table prints for the same cells,
    and :func:`report.draw` (no cropping pass) prints what rich's print does, whether the table fits or not."""
    table = make()
    assert table.widths() and sum(table.widths()) + 3 * len(table.widths()) + 1 <= 250  # the fast path
    assert _drawn(table) == _drawn(table.rich_table())
    for width in (250, 60, 1):
        out = io.StringIO()
        report.draw(Console(file=out, width=width), make())
        assert out.getvalue() == _drawn(make(), width)


@pytest.mark.parametrize("depth", [None, 1])
def test_a_columns_cells_at_once_are_its_cells_one_by_one(depth: int | None) -> None:
    a = _analysis("efficientnet_b0")
    mem, steps = memory.memory(a), training.training(a)
    columns = show.layer_columns(a, step=True)
    rows = report.rows(a, depth, mem.saved_by_layer, training.expected_steps(steps))
    for style in Style:
        for column in columns:
            assert column.cells(rows, style) == [column.text(row, style) for row in rows], (column.key, style)


def test_a_big_table_is_drawn_in_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """5,000 layers at 160 columns (what `show` prints to a pipe): never through rich's Table, which
    measured and wrapped every cell (38 s for 20,000 layers); every layer is a line."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    import synthetic

    analysis = engine.analyze(spec.load_text(synthetic.residual(5_000), "residual.yaml"))
    table = report.table(analysis)
    monkeypatch.setattr(type(table), "rich_table", lambda self: pytest.fail("drawn by rich's Table"))
    drawn = _drawn(table, width=160)
    assert len(drawn.splitlines()) == 5_000 + 7  # title, top, header, rule, rows, footer rule, total, bottom
