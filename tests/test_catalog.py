"""Every layer kind through its own worked examples: the figures derived by hand in its catalog entry
against its rule, the engine, the JSON Schema, the torch build profiled with fvcore, and autograd.

A new kind gets all of these by having examples in its entry; nothing here names a kind.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from archcost import layers, memory, spec
from archcost.errors import SpecError
from archcost.layers import ARG_TYPES, CATALOG, KINDS, Example, Kind, ShapeError, coerce
from tests.catalog_specs import CONTEXTS, example_id, example_spec, examples, in_context, output_shape
from tests.conftest import AnalyzeYaml

VALID = [pytest.param(k, e, id=example_id(k, i)) for k, i, e in examples()]
REFUSED = [pytest.param(k, e, id=example_id(k, i)) for k, i, e in examples(errors=True)]


# ---------------------------------------------------------------------------- the entries


@pytest.mark.parametrize("kind", CATALOG, ids=lambda k: k.name)
def test_entry_is_complete(kind: Kind) -> None:
    assert kind.summary and kind.flops_rule and kind.fvcore_rule and kind.saved_rule and kind.note
    assert kind.torch is not None, f"{kind.name}: give the entry a torch builder"
    assert any(not e.error for e in kind.examples), f"{kind.name}: give the entry a worked example"
    assert len({a.name for a in kind.args}) == len(kind.args)
    for arg in kind.args:
        assert arg.type in ARG_TYPES
        if not arg.required:
            coerce(arg, arg.default)  # every default is a valid value of its type


def test_kinds_and_aliases_are_unique() -> None:
    assert len(KINDS) == len(CATALOG)
    assert not set(layers.ALIASES) & set(KINDS)
    for alias, name in layers.ALIASES.items():
        assert layers.lookup(alias) is KINDS[name]
    assert layers.lookup("nope") is None


@pytest.mark.parametrize("kind", CATALOG, ids=lambda k: k.name)
def test_every_argument_appears_in_an_example(kind: Kind) -> None:
    """Each argument is varied by some example, so each one's effect is checked by hand somewhere."""
    given = {name for e in kind.examples for name in e.args}
    untouched = {a.name for a in kind.args} - given
    assert not untouched, f"{kind.name}: no example gives {sorted(untouched)}"


# ---------------------------------------------------------------------------- the rule


@pytest.mark.parametrize(("kind", "example"), VALID)
def test_example_figures(kind: Kind, example: Example) -> None:
    cost = kind.infer(example.inputs, kind.args_of(example.args))
    assert cost.output == example.output
    figures = (cost.params, cost.buffers, cost.macs, cost.flops)
    assert figures == (example.params, example.buffers, example.macs, example.flops)
    assert example.explain in cost.explain
    assert cost.explain, f"{kind.name}: every layer explains its arithmetic"


@pytest.mark.parametrize(("kind", "example"), REFUSED)
def test_example_refused(kind: Kind, example: Example) -> None:
    with pytest.raises(ShapeError, match=example.error):
        kind.infer(example.inputs, kind.args_of(example.args))


@pytest.mark.parametrize(("kind", "example"), VALID)
def test_example_follows_the_written_rules(kind: Kind, example: Example) -> None:
    """A rule written as 0 is 0; FLOPs count 2 per MAC at least; fvcore's count is what the rule says."""
    args = kind.args_of(example.args)
    if kind.macs_rule == "0":
        assert example.macs == 0
    if kind.params_rule == "0":
        assert example.params == 0
    if kind.buffers_rule == "0":
        assert example.buffers == 0
    if kind.flops_rule == "0":
        assert example.flops == 0
    assert example.flops >= 2 * example.macs
    assert kind.fvcore(example.inputs, example.output, args) == example.fvcore


# ---------------------------------------------------------------------------- through a spec


def _example_spec(kind: Kind, example: Example) -> Any:
    built = example_spec(kind, example)
    if built is None:
        pytest.skip(f"no generic spec reaches the inputs {example.inputs}")
    return built


@pytest.mark.parametrize(("kind", "example"), VALID)
def test_example_through_the_engine(kind: Kind, example: Example, analyze_yaml: AnalyzeYaml) -> None:
    built = _example_spec(kind, example)
    analysis = analyze_yaml(built.spec())
    (layer,) = [r for r in analysis.layers if r.name == built.layer]
    assert layer.kind == kind.name
    assert layer.output_shape == example.output
    assert (layer.params, layer.buffers, layer.macs, layer.flops) == (
        example.params,
        example.buffers,
        example.macs,
        example.flops,
    )
    assert layer.activations == math.prod(example.output)
    assert example.explain in layer.explain


@pytest.mark.parametrize(("kind", "example"), REFUSED)
def test_refused_example_through_the_engine_is_one_placed_error(
    kind: Kind, example: Example, analyze_yaml: AnalyzeYaml
) -> None:
    built = _example_spec(kind, example)
    with pytest.raises(SpecError, match=example.error) as caught:
        analyze_yaml(built.spec())
    assert caught.value.location.file == "test.yaml" and caught.value.location.line > 0
    assert caught.value.location.layer == built.layer


@pytest.mark.parametrize(("kind", "example"), VALID)
def test_example_is_valid_for_the_json_schema(kind: Kind, example: Example) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    built = _example_spec(kind, example)
    document = spec.parse_yaml(built.spec(), "example.yaml")
    jsonschema.Draft202012Validator(spec.json_schema()).validate(document)


# ---------------------------------------------------------------------------- torch and fvcore


@pytest.mark.parametrize(("kind", "example"), VALID)
def test_example_verifies_with_torch_and_fvcore(kind: Kind, example: Example, analyze_yaml: AnalyzeYaml) -> None:
    """The torch module the entry builds has the example's shape, params and MACs, and fvcore
    counts what the example says fvcore counts (each derived by hand from fvcore's source)."""
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from archcost import torchcheck

    built = _example_spec(kind, example)
    result = torchcheck.verify(analyze_yaml(built.spec()))
    assert result.ok, (result.failure, [(r.name, r.differs) for r in result.mismatches])
    (row,) = [r for r in result.layers if r.name == built.layer]
    assert row.shape.measured == example.output
    assert row.params.measured == example.params
    assert row.macs.measured == example.macs
    assert row.flops.measured == example.fvcore


# ---------------------------------------------------------------------------- autograd


def _context_cases() -> list[Any]:
    cases = []
    for kind, i, example in examples():
        built = example_spec(kind, example)
        if built is None:
            continue
        for context in CONTEXTS:
            if in_context(built, context) is not None:
                cases.append(pytest.param(kind, example, context, id=f"{example_id(kind, i)}-{context}"))
    return cases


CONTEXT_CASES = _context_cases()


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "example", "context"), CONTEXT_CASES)
def test_example_saves_what_torch_saves(kind: Kind, example: Example, context: str, analyze_yaml: AnalyzeYaml) -> None:
    """The saved-for-backward bytes of the example in each context, to the byte, layer by layer, and
    the layers run in place, against torch's autograd (saved_tensors_hooks)."""
    pytest.importorskip("torch")
    from archcost import torchcheck

    built = example_spec(kind, example)
    assert built is not None
    text = in_context(built, context)
    assert text is not None
    analysis = analyze_yaml(text, batch=2)
    measured = torchcheck.measure_saved(analysis, batch=2, threads=1)
    assert measured.failure is None, measured.failure
    analytic = torchcheck.analytic_saved_by_layer(analysis)
    assert measured.bytes == memory.memory(analysis).saved_activation_bytes == sum(analytic.values())
    assert {k: v for k, v in measured.by_layer.items() if v} == {k: v for k, v in analytic.items() if v}
    assert measured.in_place == torchcheck.inplace_layers(analysis, training=True)


@pytest.mark.parametrize(("kind", "example", "context"), CONTEXT_CASES)
def test_example_inference_storages(kind: Kind, example: Example, context: str, analyze_yaml: AnalyzeYaml) -> None:
    """At inference the build overwrites, or views, exactly the inputs the analysis' peak reuses."""
    pytest.importorskip("torch")
    from archcost import torchcheck

    built = example_spec(kind, example)
    assert built is not None
    text = in_context(built, context)
    assert text is not None
    analysis = analyze_yaml(text)
    assert torchcheck.observed_in_place(analysis, training=False) == torchcheck.inplace_layers(analysis, training=False)


IN_PLACE = [k for k in CATALOG if k.inplace and not k.merge]


@pytest.mark.parametrize("kind", IN_PLACE, ids=lambda k: k.name)
@pytest.mark.parametrize(("context", "expected"), [("chain", True), ("after_relu", False), ("kept", False)])
def test_contexts_cover_both_sides_of_in_place(
    kind: Kind, context: str, expected: bool, analyze_yaml: AnalyzeYaml
) -> None:
    """The contexts exercise both outcomes of every in-place kind's training condition."""
    from archcost import torchcheck

    example = next(
        e
        for e in kind.examples
        if not e.error and len(output_shape(kind, e)) == 3 and not kind.view(kind.args_of(e.args), True)
    )
    built = example_spec(kind, example)
    assert built is not None
    text = in_context(built, context)
    assert text is not None
    analysis = analyze_yaml(text)
    (layer,) = [r.name for r in analysis.layers if r.kind == kind.name and r.name != "r0"]
    assert (layer in torchcheck.inplace_layers(analysis, training=True)) is expected
