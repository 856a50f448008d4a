"""The graph construct (docs/spec-language.md §5): `from:` on any item, merges over named inputs,
blocks with several `inputs`, relative references in repeats, and its errors.

Figures are derived by hand in each test; what follows from the graph (receptive field, liveness in
the memory model, the JSON `inputs`, the torch build) is checked on small graphs here and on the
bundled NASNet and FractalNet specs in tests/test_specs_nas.py and the spec-parametrized tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import CliRunner
from conftest import by_name

from archcost import memory
from archcost.cli import app
from archcost.errors import SpecError
from tests.conftest import AnalyzeYaml

HEAD = "archcost: 1\nname: g\ninput: [8, 16, 16]\n"

CELLS = (
    HEAD
    + """\
blocks:
  cell:
    inputs: [x, prev]
    layers:
      - conv: {name: a, out: 8, kernel: 1}           # on x: the call's main input
      - conv: {name: b, out: 8, kernel: 1, from: prev}
      - add: {name: sum, from: [a, b]}
      - concat: {name: cat, from: [sum, x]}
layers:
  - conv: {name: stem, out: 16, kernel: 3, padding: 1}
  - cell: {name: c0, from: [-1, -2]}
  - cell: {name: cells, from: [-1, -2], repeat: 3}
"""
)


def test_a_block_with_two_inputs_reads_the_two_previous_outputs(analyze_yaml: AnalyzeYaml) -> None:
    names = by_name(analyze_yaml(CELLS.replace("[8, 16, 16]", "[16, 16, 16]")))
    # c0: x = stem (-1), prev = the network input (-2)
    assert names["c0.a"].inputs == ("stem",)
    assert names["c0.b"].inputs == ("input",)
    assert names["c0.cat"].inputs == ("c0.sum", "stem")
    assert names["c0.cat"].output_shape == (8 + 16, 16, 16)
    # each copy of a repeat counts back over the copies before it, then over what preceded the repeat
    assert names["cells.0.a"].inputs == ("c0.cat",)
    assert names["cells.0.b"].inputs == ("stem",)
    assert names["cells.1.b"].inputs == ("c0.cat",)
    assert names["cells.2.a"].inputs == ("cells.1.cat",)
    assert names["cells.2.b"].inputs == ("cells.0.cat",)


def test_figures_of_a_merge_over_named_inputs(analyze_yaml: AnalyzeYaml) -> None:
    a = analyze_yaml(
        HEAD
        + """\
layers:
  - conv: {name: p, out: 4, kernel: 1}
  - conv: {name: q, out: 4, kernel: 3, padding: 1, from: -2}
  - conv: {name: r, out: 4, kernel: 5, padding: 2, from: -3}
  - mean: {name: join, from: [p, q, r]}
  - concat: {name: cat, from: [join, -5, q]}
"""
    )
    names = by_name(a)
    assert names["q"].inputs == ("input",) and names["r"].inputs == ("input",)
    join, cat = names["join"], names["cat"]
    assert join.output_shape == (4, 16, 16)
    assert join.flops == 3 * 4 * 16 * 16  # 2 adds and a divide per element
    assert cat.inputs == ("join", "input", "q") and cat.output_shape == (4 + 8 + 4, 16, 16)
    # params and MACs: 1×1, 3×3 and 5×5 convs from 8 to 4 channels, with bias
    assert a.totals.params == (1 + 9 + 25) * 8 * 4 + 3 * 4
    assert a.totals.macs == 16 * 16 * 4 * 8 * (1 + 9 + 25)
    # the join sees as far as its widest input (5×5), and the concat no further
    assert join.rf == (5, 5) and cat.rf == (5, 5)
    # the longest weighted path: one conv
    assert a.weighted_depth == 1


def test_a_node_stays_alive_until_its_last_reader(analyze_yaml: AnalyzeYaml) -> None:
    a = analyze_yaml(
        HEAD
        + """\
layers:
  - conv: {name: keep, out: 8, kernel: 1}
  - conv: {name: c1, out: 2, kernel: 1}
  - conv: {name: c2, out: 2, kernel: 1}
  - concat: {name: cat, from: [c2, keep]}
"""
    )
    peak = memory.peak_inference(a)
    # c1 reads keep, c2 reads c1, cat reads c2 and keep: keep lives until cat, past c1 and c2.
    # At cat, keep (8·256), c2 (2·256) and the concat (10·256) are alive: 20·256 = 5,120 elements,
    # more than at keep (input 8·256 + keep 8·256 = 4,096) or at c1 or c2 (at most 12·256)
    assert peak.layer == "cat"
    assert peak.elements == (8 + 2 + 10) * 256
    assert dict(peak.alive).keys() == {"keep", "c2", "cat"}


def test_json_lists_the_inputs(tmp_path: Path) -> None:
    path = tmp_path / "g.yaml"
    path.write_text(CELLS.replace("[8, 16, 16]", "[16, 16, 16]"))
    result = CliRunner().invoke(app, ["show", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)["layers"]}
    assert rows["cells.1.sum"]["inputs"] == ["cells.1.a", "cells.1.b"]


def test_a_block_input_name_is_visible_in_nested_containers(analyze_yaml: AnalyzeYaml) -> None:
    a = analyze_yaml(
        HEAD
        + """\
blocks:
  two:
    inputs: [x, y]
    layers:
      - sequential:
          name: inner
          layers: [conv: {out: 8, kernel: 1, from: y}]
      - add: {from: [inner, x]}
layers:
  - conv: {name: first, out: 8, kernel: 1}
  - two: {name: t, from: [first, -2]}
"""
    )
    names = by_name(a)
    assert names["t.inner.0"].inputs == ("input",)
    assert names["t.1"].inputs == ("t.inner.0", "first")


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("layers", "message", "line"),
    [
        ("  - conv: {out: 8, kernel: 1, from: nope}", "no earlier item is named 'nope'", 5),
        ("  - conv: {name: a, out: 8, kernel: 1, from: a}", "is this item or a later one", 5),
        ("  - conv: {out: 8, kernel: 1, from: later}\n  - conv: {name: later, out: 8, kernel: 1}", "later one", 5),
        ("  - conv: {out: 8, kernel: 1, from: -3}", "from: -3 reaches before the start of this list", 5),
        ("  - conv: {out: 8, kernel: 1, from: 0}", "-1 is the previous output", 5),
        ("  - conv: {out: 8, kernel: 1, from: [-1, -1]}", "'conv' takes one input; from names 2", 5),
        ("  - add: {from: [-1]}", "'add' merges several inputs: name them with `from: [a, b]`", 5),
        ("  - mean", "'mean' merges several inputs", 5),
        ("  - conv: {out: 4, kernel: 1}\n  - add: {from: [-1, -2]}", "add needs inputs of the same shape", 6),
        ("  - conv: {out: 8, kernel: 1, from: [a.b]}", "must be an earlier item's name", 5),
        ("  - sequential: {from: [-1, -1], layers: [relu]}", "a sequential takes one input", 5),
    ],
)
def test_graph_errors_are_one_line_at_their_place(
    analyze_yaml: AnalyzeYaml, layers: str, message: str, line: int
) -> None:
    with pytest.raises(SpecError) as caught:
        analyze_yaml(HEAD + "layers:\n" + layers + "\n")
    text = str(caught.value)
    assert message in text and "\n" not in text
    assert caught.value.location.line == line


def test_a_block_needs_all_its_inputs(analyze_yaml: AnalyzeYaml) -> None:
    with pytest.raises(SpecError, match=r"block 'cell' takes 2 inputs \(x, prev\)"):
        analyze_yaml(CELLS.replace("  - cell: {name: c0, from: [-1, -2]}", "  - cell: {name: c0}"))


def test_a_block_does_not_see_names_outside_it(analyze_yaml: AnalyzeYaml) -> None:
    text = (
        HEAD
        + """\
blocks:
  b:
    layers: [conv: {out: 8, kernel: 1, from: stem}]
layers:
  - conv: {name: stem, out: 8, kernel: 1}
  - b: {name: call}
"""
    )
    with pytest.raises(SpecError, match="no earlier item is named 'stem' here"):
        analyze_yaml(text)


def test_block_inputs_must_be_distinct_names(analyze_yaml: AnalyzeYaml) -> None:
    with pytest.raises(SpecError, match="each input needs its own name"):
        analyze_yaml(CELLS.replace("inputs: [x, prev]", "inputs: [x, x]"))
    with pytest.raises(SpecError, match="also a parameter"):
        analyze_yaml(CELLS.replace("inputs: [x, prev]", "inputs: [x, prev]\n    params: {prev: 1}"))


# ---------------------------------------------------------------------------- torch build


def test_the_torch_build_reads_arbitrary_earlier_outputs(analyze_yaml: AnalyzeYaml) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from archcost import torchcheck

    result = torchcheck.verify(analyze_yaml(CELLS.replace("[8, 16, 16]", "[16, 16, 16]")))
    assert result.ok, result.failure
    assert result.totals is not None and result.totals.macs.measured == result.totals.macs.analytic


def test_from_inside_parallel_branches_and_residuals(analyze_yaml: AnalyzeYaml) -> None:
    a = analyze_yaml(
        HEAD
        + """\
layers:
  - conv: {name: stem, out: 8, kernel: 1}
  - relu: {name: act}
  - parallel:
      name: mix
      merge: concat
      branches:
        - conv: {name: p, out: 4, kernel: 1}              # the parallel's input: act
        - conv: {name: q, out: 4, kernel: 1, from: stem}  # an item before the parallel
  - residual:
      name: res
      layers: [conv: {name: c, out: 8, kernel: 1}]
      post: [add: {name: again, from: [-1, stem]}]        # after the residual's add
"""
    )
    names = by_name(a)
    assert names["mix.p"].inputs == ("act",)
    assert names["mix.q"].inputs == ("stem",)
    assert names["res.add"].inputs == ("res.c", "mix.concat")
    assert names["res.again"].inputs == ("res.add", "stem")
