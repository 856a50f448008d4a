"""Engine semantics: `when` everywhere, block scopes, reserved names, repeat naming, receptive fields."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from archcost.engine import Analysis, analyze
from archcost.errors import SpecError
from archcost.spec import load_text

HEAD = "archcost: 1\nname: t\ninput: [8, 16, 16]\n"


def run(body: str) -> Analysis:
    return analyze(load_text(HEAD + body, "t.yaml"))


def test_when_false_drops_a_single_item_branch() -> None:
    a = run("layers:\n  - parallel: {merge: concat, branches: [[relu], {conv: {out: 4, kernel: 1, when: false}}]}\n")
    assert [layer.name for layer in a.layers] == ["0.0.0", "0.concat"]
    assert a.output.output_shape == (8, 16, 16)  # only the relu branch: 8 channels


def test_when_false_drops_the_projection() -> None:
    body = (
        "layers:\n  - residual: {layers: [conv: {out: 4, kernel: 1}],"
        " projection: {conv: {out: 4, kernel: 1, when: false}}}\n"
    )
    with pytest.raises(SpecError, match="give a projection") as info:
        run(body)
    assert info.value.location.line == 5


def test_block_default_sees_only_its_own_scope() -> None:
    body = (
        "blocks:\n  inner:\n    params: {c: $x}\n    layers: [conv: {out: $c, kernel: 1}]\n"
        "  outer:\n    params: {x: 4}\n    layers: [inner]\nlayers: [outer]\n"
    )
    with pytest.raises(SpecError, match="unknown name 'x'"):
        run(body)


def test_block_default_uses_earlier_params_and_cin() -> None:
    body = "blocks:\n  b:\n    params: {a: 2, c: $(a * cin)}\n    layers: [conv: {out: $c, kernel: 1}]\nlayers: [b]\n"
    assert run(body).output.output_shape == (2 * 8, 16, 16)


@pytest.mark.parametrize("where", ["let: {cin: 3}", "params: {hin: 3}"])
def test_reserved_names_are_refused(where: str) -> None:
    body = f"blocks:\n  b:\n    {where}\n    layers: [relu]\nlayers: [b]\n"
    with pytest.raises(SpecError, match="reserved") as info:
        run(body)
    assert info.value.location.line == 6


@pytest.mark.parametrize(
    "item",
    [
        "parallel: {merge: add, repeat: 2, first: {merge: bogus}, branches: [[relu], [relu]]}",
        "residual: {repeat: 2, first: {shortcut: bogus}, layers: [relu]}",
    ],
)
def test_first_is_refused_on_containers(item: str) -> None:
    with pytest.raises(SpecError, match="first applies to layer kinds and block calls"):
        run(f"layers:\n  - {item}\n")


@pytest.mark.parametrize("pattern", ["a{n}{x}", "a.{n}", "a{0}", "{n"])
def test_bad_name_patterns(pattern: str) -> None:
    with pytest.raises(SpecError, match="names must be a name pattern"):
        run(f"layers:\n  - relu: {{repeat: 2, names: '{pattern}'}}\n")


def test_name_patterns() -> None:
    a = run("layers:\n  - relu: {name: block, repeat: 3, names: 'denselayer{n}'}\n")
    assert [layer.name for layer in a.layers] == ["block.denselayer1", "block.denselayer2", "block.denselayer3"]


def test_squeeze_excitation_gate_does_not_move_the_spatial_receptive_field() -> None:
    body = (
        "layers:\n  - parallel: {merge: multiply, branches: [[], [global_avgpool, sigmoid]]}\n"
        "  - conv: {out: 8, kernel: 3, padding: 1}\n"
    )
    a = run(body)
    gate, multiply, conv = a.layers[-3:]
    assert gate.rf == (16, 16)  # the pooled gate sees the whole 16×16 map
    assert multiply.rf == (1, 1) and multiply.jump == (1, 1)  # the spatial path is the identity branch
    assert conv.rf == (1 + (3 - 1) * 1, 3) and conv.jump == (1, 1)


def test_linear_after_global_pool_asks_for_flatten() -> None:
    with pytest.raises(SpecError, match="add a flatten first"):
        run("layers:\n  - global_avgpool\n  - linear: {out: 3}\n")


def test_set_reads_numbers_as_a_spec_would() -> None:
    from archcost.cli import parse_sets

    assert parse_sets(["eps=1e-5", "a=2", "b=0.5", "c=true", "d=text"]) == {
        "eps": 1e-5,
        "a": 2,
        "b": 0.5,
        "c": True,
        "d": "text",
    }


# ---------------------------------------------------------------------------- extends and scaling

PARENT = """\
archcost: 1
name: parent
title: Parent
year: 2020
paper: {title: The parent, year: 2020, url: https://example.org}
input: [3, $res, $res]
params: {width: 8, res: 16}
scaling: {width: width, resolution: res}
layers:
  - conv: {name: conv1, out: $width, kernel: 3, padding: 1}
"""


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_extends_overrides_params_and_metadata(tmp_path: Path) -> None:
    from archcost import spec

    write(tmp_path, "parent.yaml", PARENT)
    child = write(
        tmp_path,
        "child.yaml",
        "archcost: 1\nname: child\ntitle: Child\nextends: parent.yaml\nparams: {width: 16, res: 32}\n",
    )
    loaded = spec.load(child)
    a = analyze(loaded)
    # conv1: 3·3·3·16 + 16 params on a 32×32 map
    assert a.output.output_shape == (16, 32, 32) and a.totals.params == 3 * 3 * 3 * 16 + 16
    assert a.title == "Child" and loaded.meta["year"] == 2020 and "paper" not in loaded.meta
    assert loaded.meta["extends"] == "parent.yaml" and loaded.meta["scaling"]["width"] == "width"


@pytest.mark.parametrize(
    ("child", "fragment", "line"),
    [
        ("extends: parent.yaml\nlayers: [relu]\n", "takes its layers from it", 4),
        ("extends: parent.yaml\nparams: {depth: 2}\n", "has no parameter 'depth'", 4),
        ("extends: nowhere.yaml\n", "no such spec file", 3),
        ("extends: child.yaml\n", "round in a circle", 3),
        ("extends: parent.yaml\nscaling: {depth: depth}\n", "not a model parameter", 4),
        ("extends: parent.yaml\nscaling: {height: res}\n", "unknown key 'height'", 4),
    ],
)
def test_bad_extends(tmp_path: Path, child: str, fragment: str, line: int) -> None:
    from archcost import spec

    write(tmp_path, "parent.yaml", PARENT)
    path = write(tmp_path, "child.yaml", "archcost: 1\nname: child\n" + child)
    with pytest.raises(SpecError, match=fragment) as info:
        spec.load(path)
    assert info.value.location.line == line


SCALED = """\
archcost: 1
name: tiny_scaled
input: [3, $resolution, $resolution]
params: {width: 1.0, depth: 1.0, resolution: 32}
scaling: {width: width, depth: depth, resolution: resolution}
layers:
  - conv: {out: "$(make_divisible(16 * width, 8))", kernel: 3, padding: 1, repeat: "$(ceil(2 * depth))"}
"""


def test_compound_scaling_settings_and_figures() -> None:
    from archcost.engine import compound_scaling

    loaded = load_text(SCALED)
    steps = compound_scaling(loaded, [0, 1, 2], alpha=1.2, beta=1.1, gamma=1.15)
    assert [s.resolution for s in steps] == [32, round(32 * 1.15), round(32 * 1.15**2)] == [32, 37, 42]
    assert steps[2].depth == pytest.approx(1.44) and steps[2].width == pytest.approx(1.21)
    one = analyze(loaded, overrides=steps[1].settings)
    # φ=1: ceil(2·1.2) = 3 convs of make_divisible(17.6, 8) = 16 channels on 37×37
    assert [layer.output_shape for layer in one.layers] == [(16, 37, 37)] * 3
    assert one.totals.macs == 37 * 37 * 16 * (3 * 9 + 16 * 9 + 16 * 9)


def test_scale_needs_a_scaling_section() -> None:
    from archcost.engine import compound_scaling

    with pytest.raises(SpecError, match="does not declare how it scales"):
        compound_scaling(load_text(HEAD + "layers: [relu]\n"), [0, 1], 1.2, 1.1, 1.15)


def test_scale_command(tmp_path: Path) -> None:
    import json

    from cli_runner import CliRunner

    from archcost.cli import app

    path = write(tmp_path, "s.yaml", SCALED)
    result = CliRunner().invoke(app, ["scale", path, "--phi", "0..2", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["phi"] for r in rows] == [0, 1, 2]
    assert rows[1]["macs"] == 37 * 37 * 16 * (3 * 9 + 16 * 9 + 16 * 9)
    assert rows[1]["macs_ratio"] == rows[1]["macs"] / rows[0]["macs"]
    assert rows[2]["rule_prediction"] == pytest.approx((1.2 * 1.1**2 * 1.15**2) ** 2)
    table = CliRunner().invoke(app, ["scale", path, "--phi", "0..1"])
    assert table.exit_code == 0 and "α·β²·γ² = 1.920" in table.output
    bad = CliRunner().invoke(app, ["scale", path, "--phi", "0.5"])
    assert bad.exit_code == 2 and "--phi" in bad.output


def test_efficientnet_compound_scaling_roughly_doubles_macs_per_step() -> None:
    from archcost import spec
    from archcost.engine import compound_scaling

    loaded = spec.load("efficientnet_b0")
    steps = compound_scaling(loaded, list(range(8)), alpha=1.2, beta=1.1, gamma=1.15)
    macs = [analyze(loaded, overrides=s.settings).totals.macs for s in steps]
    ratios = [b / a for a, b in itertools.pairwise(macs)]
    # α·β²·γ² = 1.92 per step; channel rounding (multiples of 8) and ceil repeats make single steps jumpy
    # (φ 0→1 turns the one-block stages into two blocks), but every step costs more and the whole
    # range stays within 10% of the rule
    assert all(1.5 < r < 2.7 for r in ratios), ratios
    rule = (1.2 * 1.1**2 * 1.15**2) ** 7
    assert abs(macs[7] / macs[0] / rule - 1) < 0.10


def test_a_parallel_with_every_branch_off_is_an_error() -> None:
    body = "layers:\n  - parallel: {merge: add, branches: [{relu: {when: false}}, {relu: {when: false}}]}\n"
    with pytest.raises(SpecError, match="every branch") as info:
        run(body)
    assert info.value.location.line == 5
