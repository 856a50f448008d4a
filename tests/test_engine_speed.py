"""What the speed work on the engine (issues 8 and 15) must keep: explanations rendered on demand are the
texts the kinds' rules give, compiled expressions behave as the tree walk did (values, errors,
short-circuits), and the memory figures are those of the straightforward walk.

No timings here: docs/performance.md has the figures and benchmarks/bench.py measures them.
"""

from __future__ import annotations

import math

import pytest

from archcost import engine, expr, layers, memory, spec
from archcost.engine import INPUT, Analysis
from archcost.expr import ExprError

ALEXNET_CONV1 = (
    "out = (227 - 11)/4 + 1 = 55 → 55×55×96; params = 11·11·3·96 + 96 = 34,944; MACs = 55·55·96 · 11·11·3 = 105,415,200"
)


def test_explanation_is_the_kinds_text_on_demand() -> None:
    analysis = engine.analyze(spec.load("alexnet"))
    conv1 = analysis.layers[0]
    assert conv1.explain == ALEXNET_CONV1
    assert conv1.explain == conv1.explain  # rendered again, the same
    for layer in analysis.layers:
        kind = layers.KINDS[layer.kind]
        assert layer.explain == kind.infer(layer.input_shapes, layers.Args(layer.args)).explain != ""


@pytest.mark.parametrize("name", ["efficientnet_b0", "densenet121", "googlenet", "shufflenet_v2_x1_0"])
def test_every_layer_explains_itself(name: str) -> None:
    for layer in engine.analyze(spec.load(name)).layers:
        assert isinstance(layer.explain, str) and layer.explain and "\n" not in layer.explain


@pytest.mark.parametrize("name", spec.bundled_names())
def test_every_layer_has_its_own_kinds_figures(name: str) -> None:
    """Layers with the same item, input shapes and arguments share one worked-out cost: each layer's
    figures are still the kind's rule on its own inputs and arguments."""
    for layer in engine.analyze(spec.load(name)).layers:
        cost = layers.KINDS[layer.kind].infer(layer.input_shapes, layers.Args(layer.args))
        assert (layer.output_shape, layer.params, layer.buffers, layer.macs, layer.flops) == (
            cost.output,
            cost.params,
            cost.buffers,
            cost.macs,
            cost.flops,
        ), layer.name


def test_copies_differ_by_their_arguments_shapes_and_types() -> None:
    """The shared cost is keyed by the item, the input shapes and each worked-out argument with its type."""
    text = (
        "archcost: 1\nname: copies\ninput: [4, 8, 8]\nlayers:\n"
        "  - conv: {name: widen, out: $(8 * (copy + 1)), kernel: 3, padding: 1, repeat: 3}\n"
        "  - conv: {name: same, out: 8, kernel: 1, repeat: 2}\n"
        "  - batchnorm: {name: bn, eps: $(1 if copy == 0 else 1.0), repeat: 2}\n"
    )
    a = engine.analyze(spec.load_text(text, "copies.yaml"))
    widen = [layer for layer in a.layers if layer.name.startswith("widen")]
    assert [layer.output_shape[0] for layer in widen] == [8, 16, 24]
    assert [layer.params for layer in widen] == [3 * 3 * 4 * 8 + 8, 3 * 3 * 8 * 16 + 16, 3 * 3 * 16 * 24 + 24]
    same = [layer for layer in a.layers if layer.name.startswith("same")]
    assert [layer.params for layer in same] == [24 * 8 + 8, 8 * 8 + 8]  # the same item on 24, then 8 channels
    bn = [layer.args["eps"] for layer in a.layers if layer.name.startswith("bn")]
    assert bn == [1, 1.0] and [type(v) for v in bn] == [int, float]


def test_cost_explain_is_a_string() -> None:
    conv = layers.KINDS["conv"]
    given: dict[str, layers.ArgValue] = {
        "out": 8,
        "kernel": (3, 3),
        "stride": (1, 1),
        "padding": (0, 0),
        "dilation": (1, 1),
        "groups": 1,
    }
    args = layers.Args({**given, "bias": True})
    cost = conv.infer(((3, 10, 10),), args)
    assert cost.explain.startswith("out = (10 - 3)/1 + 1 = 8 → 8×8×8")


def test_normal_default_is_the_coerced_default() -> None:
    for kind in layers.CATALOG:
        for arg in kind.args:
            if arg.required:
                with pytest.raises(ValueError, match=arg.name):
                    _ = arg.normal_default
            else:
                assert arg.normal_default == layers.coerce(arg, arg.default)


# ---------------------------------------------------------------------------- compiled expressions


def test_a_text_is_compiled_once_and_evaluated_in_each_scope() -> None:
    text = "$(make_divisible(cin * width))"
    assert expr.evaluate(text, {"cin": 32, "width": 1.0}) == 32
    assert expr.evaluate(text, {"cin": 32, "width": 1.4}) == 48
    with pytest.raises(ExprError, match="unknown name 'width'"):
        expr.evaluate(text, {"cin": 32})
    assert expr.evaluate(text, {"cin": 16, "width": 2}) == 32


def test_errors_come_at_evaluation_in_the_walks_order() -> None:
    with pytest.raises(ExprError, match="unknown name 'a'"):
        expr.evaluate("$(a + 1 / 0)", {})
    with pytest.raises(ExprError, match="division by zero"):
        expr.evaluate("$(1 / 0 + a)", {})
    with pytest.raises(ExprError, match="unknown function 'f'"):
        expr.evaluate("$(f(a))", {})
    with pytest.raises(ExprError, match="'a @ b' is not allowed"):
        expr.evaluate("$(a @ b)", {})
    with pytest.raises(ExprError, match="too large"):
        expr.evaluate("$(x and 10 ** 31)", {"x": 1})
    assert expr.evaluate("$(x and 10 ** 31)", {"x": 0}) == 0  # never evaluated: no error


def test_an_untaken_branch_is_never_compiled() -> None:
    deep = "-" * 975 + "1"  # nests too deeply to walk or compile (and the whole is under 1,000 characters)
    assert expr.evaluate(f"$(1 if True else {deep})", {}) == 1
    assert expr.evaluate(f"$(0 and {deep})", {}) == 0
    with pytest.raises(ExprError, match="nests too deeply"):
        expr.evaluate(f"$(1 if False else {deep})", {})
    with pytest.raises(ExprError, match="nests too deeply"):  # a failed compilation is not kept as a success
        expr.evaluate(f"$(1 if False else {deep})", {})


# ---------------------------------------------------------------------------- memory model


def reference_peak(analysis: Analysis) -> tuple[int, str]:
    """The inference peak by the plain walk: sum the live set at every layer, drop what is done."""
    storage, storage_last = memory._storages(analysis, training=False)
    alive = {INPUT: math.prod(analysis.input)}
    best = (alive[INPUT], INPUT)
    for i, layer in enumerate(analysis.layers):
        home = storage[layer.name]
        if home == layer.name or layer.activations > alive[home]:
            alive[home] = layer.activations
        if sum(alive.values()) > best[0]:
            best = (sum(alive.values()), layer.name)
        alive = {n: size for n, size in alive.items() if storage_last[n] > i}
    return best


@pytest.mark.parametrize("name", ["alexnet", "densenet121", "efficientnet_b0", "inception_v3", "mobilenet_v2"])
def test_running_peak_equals_the_plain_walk(name: str) -> None:
    analysis = engine.analyze(spec.load(name))
    peak = memory.peak_inference(analysis)
    assert (peak.elements, peak.layer) == reference_peak(analysis)
    assert sum(size for _, size in peak.alive) == peak.elements
