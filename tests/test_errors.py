"""Bad input: every malformed spec is one SpecError with the right line, message and layer path.

Each case is a small YAML text; the expected line is the line of that text where the problem is
(counted from the text, 1-based). Errors found while loading have no layer path yet; errors found
while the engine expands the network name the layer (`layer1.0.conv1`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from archcost import engine, spec
from archcost.errors import Location, SpecError

AnalyzeYaml = Callable[..., Any]  # the conftest fixture

HEAD = "archcost: 1\nname: t\ninput: [3, 32, 32]\n"
"""Three lines: the first line of what follows is line 4."""

BLOCK_A = "blocks:\n  a:\n    params: {w: ~}\n    layers:\n      - conv: {out: $w, kernel: 1}\n"
"""Lines 4–8: a block `a` with one required parameter; what follows starts on line 9."""


def load_and_analyze(text: str, **kwargs: Any) -> engine.Analysis:
    return engine.analyze(spec.load_text(text, "bad.yaml"), **kwargs)


CASES = [
    # ---- YAML itself
    pytest.param(HEAD + "layers:\n\t- relu\n", 5, "invalid YAML", None, id="tab"),
    pytest.param(HEAD + "layers: [relu\ntitle: x\n", 5, "invalid YAML: expected ',' or ']'", None, id="open-bracket"),
    pytest.param(HEAD + "layers: [relu\n", 5, "invalid YAML", None, id="open-bracket-at-end"),
    pytest.param(
        HEAD + "layers:\n  - conv: {out: 4, kernel: 3\n  - relu\n", 7, "expected ',' or '}'", None, id="open-brace"
    ),
    pytest.param("", 1, "the spec is empty", None, id="empty"),
    pytest.param("# only a comment\n\n", 1, "the spec is empty", None, id="comment-only"),
    pytest.param("- relu\n- conv\n", 1, "a spec is a mapping", None, id="list-not-mapping"),
    pytest.param("just text\n", 1, "a spec is a mapping", None, id="scalar-not-mapping"),
    pytest.param(HEAD + "layers: [relu]\n---\nname: u\n", 5, "another document", None, id="two-documents"),
    pytest.param(
        HEAD + "layers:\n  - conv:\n      out: 8\n      kernel: 3\n      out: 9\n",
        8,
        "duplicate key 'out' (first given on line 6)",
        None,
        id="duplicate-yaml-key",
    ),
    pytest.param(
        HEAD + "name: u\nlayers: [relu]\n", 4, "duplicate key 'name' (first given on line 2)", None, id="dup-top"
    ),
    pytest.param(HEAD + "x: &a {out: 1}\ny: {<<: *a}\nlayers: [relu]\n", 5, "merge keys (<<)", None, id="merge-key"),
    pytest.param(HEAD + "title: 2001-12-14\nlayers: [relu]\n", 4, "'2001-12-14'", None, id="date"),
    pytest.param(HEAD + "1: x\nlayers: [relu]\n", 4, "a key must be a name", None, id="int-key"),
    # ---- top level
    pytest.param("archcost: 1\ninput: [3, 8, 8]\nlayers: [relu]\n", 1, "needs 'name'", None, id="missing-name"),
    pytest.param("archcost: 1\nname: t\nlayers: [relu]\n", 1, "needs 'input'", None, id="missing-input"),
    pytest.param("archcost: 1\nname: t\ninput: [3, 8, 8]\n", 1, "needs 'layers'", None, id="missing-layers"),
    pytest.param("name: t\ninput: [3, 8, 8]\nlayers: [relu]\n", 1, "needs 'archcost'", None, id="missing-version"),
    pytest.param(
        "name: t\narchcost: 2\ninput: [3, 8, 8]\nlayers: [relu]\n", 2, "not a known format version", None, id="v2"
    ),
    pytest.param(
        "name: t\narchcost: '1'\ninput: [3, 8, 8]\nlayers: [relu]\n", 2, "not a known format version", None, id="v-str"
    ),
    pytest.param(
        HEAD + "layer: [relu]\nlayers: [relu]\n",
        4,
        "unknown key 'layer' in the spec (did you mean 'layers'?)",
        None,
        id="unknown-top-key",
    ),
    pytest.param("archcost: 1\nname: [t]\ninput: [3, 8, 8]\nlayers: [relu]\n", 2, "name must be text", None, id="name"),
    pytest.param(
        "archcost: 1\nname: t\ninput: [3, 8, 8, 8]\nlayers: [relu]\n", 3, "input must be [C, H, W]", None, id="in4"
    ),
    pytest.param(
        "archcost: 1\nname: t\ninput: [3, 0, 8]\nlayers: [relu]\n", 3, "whole numbers ≥ 1, got 0", None, id="input-0"
    ),
    pytest.param(
        "archcost: 1\nname: t\ninput:\n  - 3\n  - 8.5\n  - 8\nlayers: [relu]\n", 5, "got 8.5", None, id="input-float"
    ),
    pytest.param(HEAD + "layers: []\n", 4, "layers is empty", None, id="no-layers"),
    pytest.param(HEAD + "year: '1998'\nlayers: [relu]\n", 4, "year must be a whole number", None, id="year-str"),
    pytest.param(HEAD + "paper: {titel: x}\nlayers: [relu]\n", 4, "did you mean 'title'", None, id="paper-key"),
    pytest.param(HEAD + "params: {cin: 3}\nlayers: [relu]\n", 4, "'cin' is reserved", None, id="reserved-param"),
    # ---- layer kinds and arguments
    pytest.param(
        HEAD + "layers:\n  - conv: {out: 8, kernel: 3}\n  - rellu\n",
        6,
        "unknown layer kind 'rellu' (did you mean 'relu'?)",
        None,
        id="unknown-kind",
    ),
    pytest.param(
        HEAD + "layers:\n  - relu\n  - maxpol: {kernel: 3}\n",
        6,
        "unknown layer kind 'maxpol' (did you mean 'maxpool'?)",
        None,
        id="unknown-kind-mapping",
    ),
    pytest.param(
        HEAD + "layers:\n  - conv: {out: 8, kernel: 3, strde: 2}\n",
        5,
        "unknown key 'strde' in 'conv' (did you mean 'stride'?)",
        None,
        id="unknown-argument",
    ),
    pytest.param(
        HEAD + "layers:\n  - conv: {name: c, out: 8}\n", 5, "'conv' needs 'kernel'", None, id="missing-argument"
    ),
    pytest.param(HEAD + "layers:\n  - relu\n  - linear\n", 6, "'linear' needs 'out'", None, id="missing-bare"),
    pytest.param(
        HEAD + "layers:\n  - conv: {name: c1, out: eight, kernel: 3}\n",
        5,
        "out must be a whole number ≥ 1, got 'eight'",
        "c1",
        id="string-for-out",
    ),
    pytest.param(
        HEAD + "layers:\n  - conv: {name: c1, out: 64.5, kernel: 3}\n",
        5,
        "out must be a whole number ≥ 1, got 64.5",
        "c1",
        id="float-for-out",
    ),
    pytest.param(
        HEAD + "layers:\n  - conv:\n      name: c1\n      out: 8\n      kernel: 160.0\n",
        8,
        "kernel must be a whole number ≥ 1 or a pair [h, w], got 160.0",
        "c1",
        id="float-for-kernel",
    ),
    pytest.param(
        HEAD + "layers:\n  - conv: {name: c1, out: 8, kernel: 3, stride: true}\n",
        5,
        "stride must be a whole number ≥ 1 or a pair [h, w], got True",
        "c1",
        id="bool-for-stride",
    ),
    pytest.param(HEAD + "layers:\n  - conv: {name: c1, out: 8, kernel: -3}\n", 5, "got -3", "c1", id="negative-kernel"),
    pytest.param(
        HEAD + "layers:\n  - conv: {name: c1, out: 8, kernel: [3, 3, 3]}\n", 5, "got [3, 3, 3]", "c1", id="triple"
    ),
    pytest.param(
        HEAD + "layers:\n  - conv: {name: c1, out: 8, kernel: 3, padding: full}\n",
        5,
        "'same' or 'valid', got 'full'",
        "c1",
        id="padding-word",
    ),
    pytest.param(
        HEAD + "layers:\n  - dropout: {name: d, p: 1.5}\n", 5, "p must be a number in [0, 1], got 1.5", "d", id="prob"
    ),
    pytest.param(
        HEAD + "layers:\n  - batchnorm: {name: bn, eps: '1e-5'}\n", 5, "eps must be a number", "bn", id="quoted-eps"
    ),
    pytest.param(HEAD + "layers:\n  - add\n", 5, "'add' merges several inputs", None, id="merge-as-layer"),
    pytest.param(
        HEAD + "layers:\n  - relu: {name: a.b}\n", 5, "name 'a.b' must be letters, digits and _", None, id="dotted"
    ),
    pytest.param(
        HEAD + "layers:\n  - conv: {out: 8, kernel: 3}\n    stride: 2\n",
        5,
        "several keys (conv, stride)",
        None,
        id="indent",
    ),
    pytest.param(
        HEAD + "layers:\n  - conv:\n    out: 8\n    kernel: 3\n", 5, "several keys", None, id="under-indented-args"
    ),
    pytest.param(HEAD + "layers:\n  - conv: [8, 3]\n", 5, "must be a mapping", None, id="args-as-list"),
    # ---- shapes
    pytest.param(
        HEAD + "layers:\n  - residual:\n      name: r\n      shortcut: identity\n"
        "      layers:\n        - conv: {out: 8, kernel: 3, padding: 1}\n",
        5,
        "shortcut: identity needs the body to keep the shape, but it turns 3×32×32 into 8×32×32",
        "r",
        id="residual-identity-channels",
    ),
    pytest.param(
        HEAD + "layers:\n  - residual:\n      name: r\n"
        "      layers:\n        - conv: {out: 3, kernel: 3, stride: 2, padding: 1}\n",
        5,
        "turns 3×32×32 into 3×16×16: give a projection",
        "r",
        id="residual-needs-projection",
    ),
    pytest.param(
        HEAD + "layers:\n  - residual: {name: r, shortcut: sometimes, layers: [relu]}\n",
        5,
        "shortcut must be one of auto, identity, projection, optional",
        None,
        id="shortcut-word",
    ),
    pytest.param(
        HEAD + "layers:\n  - parallel:\n      name: p\n      merge: concat\n      branches:\n"
        "        - [conv: {out: 4, kernel: 3}]\n        - []\n",
        5,
        "concat needs feature maps of the same H×W; got 4×30×30, 3×32×32",
        "p.concat",
        id="concat-spatial",
    ),
    pytest.param(
        HEAD + "layers:\n  - parallel:\n      name: p\n      merge: add\n      branches:\n"
        "        - [conv: {out: 4, kernel: 1}]\n        - []\n",
        5,
        "add needs inputs of the same shape",
        "p.add",
        id="parallel-add-channels",
    ),
    pytest.param(
        HEAD + "layers:\n  - parallel: {name: p, merge: concat, branches: [[relu]]}\n",
        5,
        "at least two branches",
        None,
        id="one-branch",
    ),
    pytest.param(
        HEAD + "layers:\n  - parallel: {name: p, merge: stack, branches: [[], []]}\n",
        5,
        "merge must be one of concat, add, multiply",
        None,
        id="merge-word",
    ),
    pytest.param(
        HEAD + "layers:\n  - relu\n  - conv: {name: c, out: 4, kernel: 33}\n",
        6,
        "the kernel (33) is larger than the padded input (32 + 0 on H)",
        "c",
        id="kernel-larger-than-input",
    ),
    pytest.param(
        HEAD + "layers:\n  - maxpool: {name: m, kernel: 2, stride: 2, repeat: 6}\n",
        5,
        "larger than the padded input (1 + 0 on H)",
        "m.5",
        id="pooled-to-nothing",
    ),
    pytest.param(
        HEAD + "layers:\n  - conv: {name: c, out: 4, kernel: 3}\n  - linear: {name: fc, out: 10}\n",
        6,
        "linear needs a flat vector or tokens N×D, got 4×30×30: add a flatten",
        "fc",
        id="linear-without-flatten",
    ),
    pytest.param(
        HEAD + "layers:\n  - sequential:\n      name: features\n      layers:\n        - relu\n"
        "        - conv: {name: c, out: 4, kernel: 3, groups: 2}\n",
        9,
        "input channels 3 are not divisible by groups=2",
        "features.c",
        id="groups-not-dividing",
    ),
    pytest.param(
        HEAD + "layers:\n  - maxpool: {name: m, kernel: 3, padding: 2}\n",
        5,
        "pool padding 2 is more than half the kernel 3",
        "m",
        id="pool-padding",
    ),
    pytest.param(
        HEAD + "layers:\n  - conv: {name: c, out: 4, kernel: 3, stride: 2, padding: same}\n",
        5,
        "padding 'same' needs stride 1",
        "c",
        id="same-with-stride",
    ),
    pytest.param(
        "archcost: 1\nname: t\ninput: [8, 4, 4]\nlayers:\n  - parallel:\n      name: se\n      merge: multiply\n"
        "      branches:\n        - [global_avgpool, conv: {out: 4, kernel: 1}]\n        - []\n",
        5,
        "C×1×1 gate with the same C; got 4×1×1, 8×4×4",
        "se.multiply",
        id="gate-channels",
    ),
    # ---- blocks
    pytest.param(
        HEAD + "blocks:\n  fire:\n    params: {s: ~}\n    layers: [relu]\nlayers:\n  - fier: {s: 16}\n",
        9,
        "unknown layer kind 'fier' (did you mean 'fire'?)",
        None,
        id="undefined-block",
    ),
    pytest.param(
        HEAD + "blocks:\n  a:\n    layers:\n      - relu\n      - a\nlayers:\n  - a\n",
        8,
        "block 'a' uses itself (a → a)",
        None,
        id="block-uses-itself",
    ),
    pytest.param(
        HEAD + "blocks:\n  a:\n    layers:\n      - b\n  b:\n    layers:\n      - relu\n"
        "      - sequential: {layers: [a]}\nlayers:\n  - a\n",
        11,
        "block 'a' uses itself (a → b → a)",
        None,
        id="mutual-recursion",
    ),
    pytest.param(
        HEAD + BLOCK_A + "layers:\n  - a: {w: 4, x: 3}\n",
        10,
        "unknown key 'x' in the call of block 'a'",
        None,
        id="block-unknown-parameter",
    ),
    pytest.param(HEAD + BLOCK_A + "layers:\n  - a: {ww: 4}\n", 10, "did you mean 'w'", None, id="block-parameter-typo"),
    pytest.param(
        HEAD + BLOCK_A + "layers:\n  - relu\n  - a: {name: blk}\n",
        11,
        "block 'a' needs the argument 'w'",
        "blk",
        id="block-missing-parameter",
    ),
    pytest.param(
        HEAD + BLOCK_A + "layers:\n  - a: {args: [4, 5]}\n",
        10,
        "block 'a' takes 1 arguments (w), got 2",
        None,
        id="too-many-positional",
    ),
    pytest.param(
        HEAD + BLOCK_A + "layers:\n  - a: {args: [4], w: 5}\n",
        10,
        "'w' is given both in args and by name",
        None,
        id="positional-and-named",
    ),
    pytest.param(
        HEAD + "blocks:\n  relu:\n    layers: [relu]\nlayers: [relu]\n",
        5,
        "block 'relu' has the name of a built-in kind",
        None,
        id="block-named-like-kind",
    ),
    pytest.param(
        HEAD + "blocks:\n  b:\n    params: {repeat: 1}\n    layers: [relu]\nlayers: [b]\n",
        6,
        "'repeat' is reserved",
        None,
        id="reserved-block-param",
    ),
    pytest.param(
        HEAD + "blocks:\n  b:\n    params: {c: ~}\n    layers:\n"
        "      - conv: {name: conv1, out: $c, kernel: 3, groups: 2}\n"
        "layers:\n  - b: {name: layer1, c: 4, repeat: 2}\n",
        8,
        "not divisible by groups=2",
        "layer1.0.conv1",
        id="error-inside-a-repeated-block",
    ),
    # ---- names, repeat, when, expressions
    pytest.param(
        HEAD + "layers:\n  - relu: {name: a}\n  - relu: {name: a}\n",
        6,
        "two layers are named 'a' here",
        "a",
        id="duplicate-layer-names",
    ),
    pytest.param(
        HEAD + "layers:\n  - sequential:\n      name: s\n      layers:\n        - relu\n        - relu: {name: '0'}\n",
        9,
        "two layers are named '0' here",
        "s.0",
        id="duplicate-with-index-name",
    ),
    pytest.param(
        HEAD + "layers:\n  - conv: {name: c, out: \"$(__import__('os').getpid())\", kernel: 3}\n",
        5,
        "is not allowed in an expression",
        "c",
        id="import-in-expression",
    ),
    pytest.param(
        HEAD + "params: {w: \"$(__import__('os'))\"}\nlayers: [relu]\n",
        4,
        "unknown function '__import__'",
        None,
        id="import-in-parameter",
    ),
    pytest.param(
        HEAD + "layers:\n  - conv: {name: c, out: $width, kernel: 1}\n",
        5,
        "unknown name 'width' (known here: cin, hin, win)",
        "c",
        id="unknown-name",
    ),
    pytest.param(HEAD + 'layers:\n  - conv: {out: "$(cin +)", kernel: 1}\n', 5, "bad expression", None, id="syntax"),
    pytest.param(
        HEAD + 'layers:\n  - conv: {name: c, out: "$(cin / 2)", kernel: 1}\n',
        5,
        "out must be a whole number ≥ 1, got 1.5",
        "c",
        id="true-division-into-int",
    ),
    pytest.param(
        HEAD + 'params: {w: "$(10 ** 100)"}\nlayers: [relu]\n', 4, "exponent too large", None, id="huge-exponent"
    ),
    pytest.param(HEAD + 'layers:\n  - relu: {names: "r{n}"}\n', 5, "names only applies with repeat", None, id="names"),
    pytest.param(
        HEAD + "layers:\n  - relu: {repeat: 2, names: r}\n",
        5,
        "names must be a name pattern",
        None,
        id="names-no-field",
    ),
    pytest.param(HEAD + "layers:\n  - relu: {first: {}}\n", 5, "first only applies with repeat", None, id="first"),
    pytest.param(HEAD + "layers:\n  - relu: {when: 1}\n", 5, "when must be true or false, got 1", None, id="when-int"),
    pytest.param(
        HEAD + "params: {g: 2}\nlayers:\n  - relu\n  - relu: {when: $g}\n",
        7,
        "when must be true or false, got 2",
        None,
        id="when-expression-not-bool",
    ),
    pytest.param(
        HEAD + "layers:\n  - relu: {name: r, repeat: 0}\n",
        5,
        "repeat must be a whole number ≥ 1, got 0",
        "r",
        id="repeat-zero",
    ),
    pytest.param(HEAD + "layers:\n  - relu: {name: r, repeat: 2.0}\n", 5, "got 2.0", "r", id="repeat-float"),
    pytest.param(
        HEAD + "layers:\n  - relu: {name: r, repeat: 1000000000}\n", 5, "more than the limit", "r", id="repeat-huge"
    ),
    pytest.param(
        HEAD + "layers:\n  - conv: {out: 4, kernel: 1, repeat: 2, first: {strid: 2}}\n",
        5,
        "unknown key 'strid' in first of 'conv'",
        None,
        id="first-unknown-key",
    ),
]


@pytest.mark.parametrize(("text", "line", "fragment", "layer"), CASES)
def test_bad_spec(text: str, line: int, fragment: str, layer: str | None) -> None:
    with pytest.raises(SpecError) as info:
        load_and_analyze(text)
    err = info.value
    assert fragment in err.message
    assert err.location.file == "bad.yaml"
    assert err.location.line == line, str(err)
    if layer is not None:
        assert err.location.layer == layer
    # the one-line form the CLI prints: file:line[:column]: message (layer path)
    assert str(err).startswith(f"bad.yaml:{line}")
    assert (f"(layer {layer})" in str(err)) == bool(layer)


def test_enough_cases() -> None:
    assert len(CASES) >= 25
    assert len({p.id for p in CASES}) == len(CASES)


# ---------------------------------------------------------------------------- beyond the table


def test_unknown_set_key() -> None:
    text = HEAD + "params: {width: 64, deep: false}\nlayers:\n  - conv: {out: $width, kernel: 1}\n"
    assert load_and_analyze(text, overrides={"width": 8}).layers[0].output_shape == (8, 32, 32)
    with pytest.raises(
        SpecError, match=r"--set nope: the spec has no parameter 'nope' \(its parameters: width, deep\)"
    ):
        load_and_analyze(text, overrides={"nope": 1})


def test_set_without_parameters() -> None:
    with pytest.raises(SpecError, match=r"its parameters: none"):
        load_and_analyze(HEAD + "layers: [relu]\n", overrides={"width": 1})


def test_scientific_notation_is_a_float(analyze_yaml: AnalyzeYaml) -> None:
    # YAML 1.1 (PyYAML) reads a plain 1e-5 as a string; the loader reads it as the number
    text = HEAD + "layers:\n  - batchnorm: {name: bn, eps: 1e-5, momentum: 1E-1}\n  - lrn: {size: 5, alpha: -2.5e+3}\n"
    bn, lrn = analyze_yaml(text).layers
    assert bn.args["eps"] == 1e-5
    assert isinstance(bn.args["eps"], float)
    assert bn.args["momentum"] == 0.1
    assert lrn.args["alpha"] == -2500.0
    assert spec.parse_yaml("x: 1e-5", "f")["x"] == 1e-5
    assert spec.parse_yaml("x: '1e-5'", "f")["x"] == "1e-5"  # quoted stays text


def test_location_text() -> None:
    assert str(Location("a.yaml", 3, 7)) == "a.yaml:3:7"
    assert str(Location("a.yaml", 3)) == "a.yaml:3"
    assert str(Location()) == "<spec>"
    err = SpecError("bad", Location("a.yaml", 3, 0, "layer1.0"))
    assert str(err) == "a.yaml:3: bad (layer layer1.0)"
    assert err.at(Location("b.yaml", 9, 1, "x")) is err  # keeps its own place
    placed = SpecError("bad").at(Location("b.yaml", 9, 1, "x"))
    assert (placed.location.line, placed.location.layer) == (9, "x")


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such spec file"):
        spec.load(str(tmp_path / "nope.yaml"))
    with pytest.raises(SpecError, match=r"unknown spec 'lenet55'.*did you mean 'lenet5'"):
        spec.load("lenet55")


def test_load_file_reports_the_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(HEAD + "layers:\n  - rellu\n", encoding="utf-8")
    with pytest.raises(SpecError) as info:
        spec.load(str(path))
    assert str(info.value).startswith(f"{path}:5")


# ---------------------------------------------------------------------------- unsafe YAML

UNSAFE = "!!python/object/apply:os.system"


def _unsafe_cases(marker: Path) -> list[tuple[str, str, int]]:
    command = f'["touch {marker}"]'
    return [
        ("out", HEAD + f"layers:\n  - conv: {{out: {UNSAFE} {command}, kernel: 3}}\n", 5),
        ("notes", HEAD + f"notes: {UNSAFE} {command}\nlayers: [relu]\n", 4),
        ("input", f"archcost: 1\nname: t\ninput: {UNSAFE} [3, 32, 32]\nlayers: [relu]\n", 3),
        ("paper", HEAD + "paper: !!python/object/new:os.system {title: x}\nlayers: [relu]\n", 4),
        ("title", HEAD + f'title: {UNSAFE} "touch {marker}"\nlayers: [relu]\n', 4),
        ("name", "archcost: 1\nname: !!python/name:os.system\ninput: [3, 8, 8]\nlayers: [relu]\n", 2),
        ("top", f"{UNSAFE} {command}\n", 1),
    ]


@pytest.mark.parametrize("where", ["out", "notes", "input", "paper", "title", "name", "top"])
def test_unsafe_tag_never_executed(where: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = {w: t for w, t, _ in _unsafe_cases(marker)}[where]
    with contextlib.suppress(Exception):  # only the side effect matters here
        load_and_analyze(text)
    assert not marker.exists()


@pytest.mark.parametrize("where", ["out", "notes", "input", "paper", "title", "name", "top"])
def test_unsafe_tag_rejected_at_its_line(where: str, tmp_path: Path) -> None:
    (text, line) = {w: (t, n) for w, t, n in _unsafe_cases(tmp_path / "pwned")}[where]
    with pytest.raises(SpecError) as info:
        load_and_analyze(text)
    assert info.value.location.line == line
    if where != "top":  # a tagged top-level value is refused as "not a mapping"
        assert "python/" in info.value.message


@pytest.mark.parametrize(
    ("value", "line"),
    [
        ("!!int abc", 4),
        ("!!float abc", 4),
        ("!!bool maybe", 4),
        ("!custom text", 4),
        ("!!binary aGVsbG8=", 4),
        ("!!str 1998", 4),
    ],
)
def test_other_tags_are_spec_errors(value: str, line: int) -> None:
    with pytest.raises(SpecError) as info:
        load_and_analyze(HEAD + f"year: {value}\nlayers: [relu]\n")
    assert info.value.location.line == line


# ---------------------------------------------------------------------------- through the CLI

CLI_CASES = [
    "tab",
    "empty",
    "missing-name",
    "unknown-kind",
    "float-for-kernel",
    "duplicate-yaml-key",
    "residual-needs-projection",
    "block-uses-itself",
    "error-inside-a-repeated-block",
    "import-in-expression",
]


@pytest.mark.parametrize("case_id", CLI_CASES)
def test_cli_bad_spec(case_id: str, tmp_path: Path) -> None:
    from cli_runner import CliRunner

    from archcost.cli import app

    (case,) = [c for c in CASES if c.id == case_id]
    text, line, fragment, layer = case.values
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["show", str(path)])
    output = result.output
    assert result.exit_code == 2, output
    assert f"{path}:{line}" in output
    assert fragment in output
    if layer:
        assert f"(layer {layer})" in output
    assert "Traceback" not in output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


def test_cli_unknown_set_key(tmp_path: Path) -> None:
    from cli_runner import CliRunner

    from archcost.cli import app

    path = tmp_path / "ok.yaml"
    path.write_text(HEAD + "params: {width: 4}\nlayers:\n  - conv: {out: $width, kernel: 1}\n", encoding="utf-8")
    assert CliRunner().invoke(app, ["show", str(path), "--set", "width=8"]).exit_code == 0
    result = CliRunner().invoke(app, ["show", str(path), "--set", "nope=1"])
    assert result.exit_code == 2
    assert "--set nope" in result.output
    assert "Traceback" not in result.output


def test_cli_unsafe_tag_is_bad_input(tmp_path: Path) -> None:
    from cli_runner import CliRunner

    from archcost.cli import app

    marker = tmp_path / "pwned"
    path = tmp_path / "bad.yaml"
    path.write_text(HEAD + f'title: {UNSAFE} "touch {marker}"\nlayers: [relu]\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["show", str(path)])
    assert not marker.exists()
    assert result.exit_code == 2
    assert f"{path}:4" in result.output


def test_plain_tags_still_load(analyze_yaml: AnalyzeYaml) -> None:
    text = HEAD + "year: !!int 1998\ntitle: !!str 1998\nlayers: !!seq [relu]\n"
    analysis = analyze_yaml(text)
    assert analysis.meta["year"] == 1998
    assert analysis.meta["title"] == "1998"
