"""Peak inference activation memory against torch (issue 7), on CPU without a CUDA allocator.

The independent source is torch itself: one eval forward pass of the build under
``torch.no_grad()`` (`archcost.torchcheck.measure_peak_inference`), sampled after every layer's
module has run. Two measurements of what is alive there, each counted once per storage, weights
apart:

* ``held``: the storages of the tensors the build's executor still holds (its dict of tensors by
  producer) plus the output just made. torch decides which storages a layer shares (in-place
  ReLU, ``out += identity``, views) and their bytes; the analysis must equal it to the byte.
* ``allocated``: every storage an ATen operator returned that is still alive (weak references:
  torch's reference counts decide), plus the input. The caller of an ``nn.Module`` holds the
  input for the whole pass, so this is ``held`` with the input counted at every sample — which
  also shows that nothing else (a leaked intermediate, a hidden copy) is alive.

``transient`` samples after every ATen operator; it adds what a layer allocates and drops
inside itself, which the analysis does not model (see test_transients_are_maxpool_and_lrn).
"""

from __future__ import annotations

import pytest

from archcost import engine, memory, spec
from tests.conftest import AnalyzeYaml, largest_accepted, shrunk_to_budget

torch = pytest.importorskip("torch")

from archcost import torchcheck  # noqa: E402
from archcost.report import verify as verify_report  # noqa: E402

BUDGET = 50_000_000
"""Analytic peak bytes above which a bundled spec is measured at a halved input (until under),
to keep the whole file near 30 s on two CPU cores: EfficientNet B5-B7 (60, 107, 138 MB at
batch 1, 5-10 s each at full size)."""

MACS_BUDGET = 6_000_000_000
"""Forward MACs per sample above which a bundled spec is measured at a halved input too (until under,
while the network still fits it), for the suite's time. The comparison is exact at any input size:
which storages are alive after each layer follows from the structure, their bytes from the shapes."""


def over_budget(analysis: engine.Analysis) -> bool:
    return memory.memory(analysis).peak_inference_bytes > BUDGET or analysis.totals.macs > MACS_BUDGET


FEWER_CELLS: dict[str, dict[str, object]] = {"nasnet_a_large": {"n": 2}}
"""Specs measured with fewer repeated cells: NASNet-A large's 1,233 layers took 50 to 60 s in each torch
test, spent per layer (not per pixel: half the input took as long); at n = 2 every kind of cell is still
there (the stems, a first, normal and reduction cell per stage), and nasnet_a_mobile runs in full."""


def bundled_analysis(name: str) -> engine.Analysis:
    """The spec at batch 1; at a smaller input while it is over a budget and the network fits one."""
    if name in FEWER_CELLS:
        return fewer_cells(name, 1)
    return shrunk_to_budget(name, 1, over_budget)[1]


def fewer_cells(name: str, batch: int) -> engine.Analysis:
    """A spec of FEWER_CELLS with its fewer cells, at a halved input while over the budgets."""
    loaded = spec.load(name)
    analysis = engine.analyze(loaded, batch=batch, overrides=FEWER_CELLS[name])
    while over_budget(analysis):
        c, h, w = analysis.input
        analysis = engine.analyze(loaded, batch=batch, input_override=(c, h // 2, w // 2), overrides=FEWER_CELLS[name])
    return analysis


def describe(mem: memory.Memory, measured: torchcheck.PeakMeasurement) -> str:
    return (
        f"analytic {mem.peak_inference_bytes:,} at {mem.peak_layer}; torch held {measured.held:,} at "
        f"{measured.held_layer}, allocated {measured.allocated:,} at {measured.allocated_layer}, "
        f"input {measured.input_bytes:,}; failure {measured.failure}"
    )


@pytest.mark.parametrize("name", spec.bundled_names())
def test_bundled_peak_matches_torch(name: str) -> None:
    analysis = bundled_analysis(name)
    mem = memory.memory(analysis)
    measured = torchcheck.measure_peak_inference(analysis)
    assert measured.failure is None, describe(mem, measured)
    # what the analysis models: exactly, at the same layer
    assert measured.held == mem.peak_inference_bytes, describe(mem, measured)
    assert measured.held_layer == mem.peak_layer, describe(mem, measured)
    # everything torch has alive is the executor's tensors and the caller's input
    assert measured.allocated == measured.held_with_input, describe(mem, measured)
    # so the analysis is short of torch's live storages by at most the input (freed after its
    # last reader in the analysis, held by the caller in torch), and by nothing when the input
    # is alive at the analytic peak and the peak stays there
    assert measured.held <= measured.allocated <= measured.held + measured.input_bytes
    if engine.INPUT in dict(mem.peak_alive):
        assert measured.allocated >= measured.held
    else:
        assert measured.allocated == measured.held + measured.input_bytes
    assert measured.transient >= measured.allocated


def test_the_budgets_shrink_only_what_they_must() -> None:
    for name in spec.bundled_names():
        full, measured = shrunk_to_budget(name, 1, over_budget)
        c, h, w = full.input
        fits_smaller = largest_accepted(spec.load(name), 1, c, h // 2, w // 2) is not None
        assert (measured.input != full.input) == (over_budget(full) and fits_smaller), name
        assert memory.memory(measured).peak_inference_bytes <= BUDGET, name


# ---------------------------------------------------------------------------- by hand

HAND = """
archcost: 1
name: hand
input: [2, 8, 8]
layers:
  - conv: {name: c1, out: 4, kernel: 3, padding: 1}
  - relu: {name: r1}
  - residual:
      name: res
      layers: [conv: {name: c2, out: 4, kernel: 3, padding: 1}, relu: {name: r2}]
  - conv: {name: c3, out: 8, kernel: 1}
  - flatten
  - linear: {name: fc, out: 3}
"""


def test_hand_graph_at_batch_3(analyze_yaml: AnalyzeYaml) -> None:
    """Per sample, in elements: input 128; c1 256 (input alive: 384); r1 in place; c2 256 with r1's
    storage alive (512); r2 in place; res.add `+=` into c2's storage (512: r1's storage is read
    until the add); c3 512 with the add's 256 alive (768, the peak); flatten a view; fc 3.
    At batch 3 in fp32: 768·3·4 = 9,216 B; torch's caller keeps the input too: +128·3·4 = 1,536 B."""
    analysis = analyze_yaml(HAND, batch=3)
    mem = memory.memory(analysis)
    assert mem.peak_inference_bytes == 9216
    assert mem.peak_layer == "c3"
    measured = torchcheck.measure_peak_inference(analysis)
    assert (measured.held, measured.held_layer) == (9216, "c3")
    assert measured.input_bytes == 1536
    assert measured.allocated == measured.held_with_input == 9216 + 1536


def test_hand_graph_in_fp16_halves(analyze_yaml: AnalyzeYaml) -> None:
    measured = torchcheck.measure_peak_inference(analyze_yaml(HAND, batch=3, dtype="fp16"))
    assert (measured.held, measured.allocated, measured.input_bytes) == (4608, 4608 + 768, 768)


def test_a_build_not_in_place_is_seen(analyze_yaml: AnalyzeYaml, monkeypatch: pytest.MonkeyPatch) -> None:
    """The measurement sees what torch does: built without in-place layers, r1, r2 and the add
    make new tensors. By hand, per sample: c1 256 + input 128 = 384; r1 256 with c1 = 512 (c1
    then freed); c2 256 with r1 = 512; r2 256 with r1 and c2 = 768 (c2 then freed); add 256
    with r1 and r2 = 768; c3 512 with add = 768. The same 768 elements, first reached at r2."""
    analysis = analyze_yaml(HAND, batch=3)
    materialize = torchcheck.materialize
    monkeypatch.setattr(torchcheck.measure, "materialize", lambda a, dev, inplace=frozenset(): materialize(a, dev))
    measured = torchcheck.measure_peak_inference(analysis)
    assert (measured.held, measured.held_layer) == (9216, "res.r2")


def test_transients_are_maxpool_and_lrn() -> None:
    """Sampled after every ATen operator, torch also holds what a layer drops before it returns:
    CPU max_pool2d runs max_pool2d_with_indices even without grad, so an int64 index per output
    element (8 B) lives next to the pooled output; VGG-11's first pool, 64×112×112 outputs:
    64·112·112·8 = 6,422,528 B above the per-layer peak."""
    analysis = engine.analyze(spec.load("vgg11"), batch=1)
    measured = torchcheck.measure_peak_inference(analysis)
    assert measured.transient_layer == "block1.pool"
    # at block1.pool: the input (held by the caller), conv/relu 64×224×224, pool 64×112×112, indices
    assert measured.transient == (3 * 224 * 224 + 64 * 224 * 224 + 64 * 112 * 112) * 4 + 64 * 112 * 112 * 8


def test_verify_memory_reports_the_peak(analyze_yaml: AnalyzeYaml) -> None:
    check = torchcheck.verify_memory(analyze_yaml(HAND, batch=3))
    assert check.peak is not None and check.peak_ok is True
    assert check.as_dict()["peak_inference_bytes"]["analytic"] == 9216
    line = verify_report.memory_verdict(check)
    assert "inference peak" in line and "torch's live storages 9,216 B: equal" in line
    assert torchcheck.verify_memory(analyze_yaml(HAND, batch=3), peak=False).peak_ok is None
