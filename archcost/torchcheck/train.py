"""The training-step cross-check behind ``archcost verify --train``: the torch build run forward and
backward under ``torch.utils.flop_counter.FlopCounterMode``, each layer's count against twice its
training-step MACs (:mod:`archcost.training`; FlopCounterMode counts 2 flops per multiply-accumulate).

Two counts: the whole build run forward and backward once (its total), and each layer's module run
alone with its inputs taking a gradient where one flows (FlopCounterMode's attribution of backward
work to modules is not per layer, so each layer is measured on its own). The build runs every layer
(stochastic depth drops none in one measured step), so the comparison is with each layer's full step,
before weighting by survival. Layers whose kind FlopCounterMode does not
count as the catalog does (:attr:`archcost.layers.Kind.flop_counter_backward`: torch 2.13 counts a grouped
convolution's weight gradient `groups` times over) are skipped and named; hand arithmetic is the
reference there. The build runs in eval mode (batch norm on its running statistics: the same MACs at any
batch), the image without a gradient, the loss the output's sum.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from archcost import layers, training
from archcost.engine import Analysis, LayerResult
from archcost.torchcheck.build import LayerFailedError, materialize
from archcost.torchcheck.support import require, resolve_device

GROUPED_CONV: Final = (
    "FlopCounterMode (torch 2.13) counts a grouped convolution's weight gradient `groups` times over; "
    "hand arithmetic is the reference"
)
"""Why a layer is skipped (the only case in the catalog today)."""


@dataclass(frozen=True)
class TrainLayerCheck:
    """One layer's training step, counted alone: twice its MACs (forward + backward) against
    FlopCounterMode's flops for the layer's module run forward and backward on its own."""

    name: str
    kind: str
    expected: int
    counted: int

    @property
    def ok(self) -> bool:
        return self.expected == self.counted


@dataclass(frozen=True)
class TrainCheck:
    """The training-step cross-check of one analysis at a batch (flops for the whole batch).

    `whole` is FlopCounterMode's total for the whole build run forward and backward; `expected` the
    analysis' figure for it: twice the step MACs of the compared layers plus what FlopCounterMode
    counts for the skipped ones run alone (so that the whole build is checked too).
    """

    name: str
    batch: int
    layers: tuple[TrainLayerCheck, ...]
    skipped: tuple[tuple[str, str, int], ...]
    """(layer, reason, FlopCounterMode's flops for it alone) for the layers not compared."""
    whole: int
    seconds: float = 0.0
    failure: str | None = None

    @property
    def expected(self) -> int:
        return sum(c.expected for c in self.layers) + sum(flops for _, _, flops in self.skipped)

    @property
    def mismatches(self) -> tuple[TrainLayerCheck, ...]:
        return tuple(c for c in self.layers if not c.ok)

    @property
    def ok(self) -> bool:
        return self.failure is None and not self.mismatches and self.whole == self.expected

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "batch": self.batch,
            "failure": self.failure,
            "expected_flops": self.expected,
            "counted_flops": self.whole,
            "skipped": [{"name": n, "reason": r, "counted_flops": f} for n, r, f in self.skipped],
            "mismatches": [{"name": c.name, "expected": c.expected, "counted": c.counted} for c in self.mismatches],
        }


def _counted(run: Callable[[], Any]) -> int:
    """FlopCounterMode's total while `run` runs."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        run()
    return int(counter.get_total_flops())


def _layer_flops(layer: LayerResult, needs: tuple[bool, ...], dev: Any, batch: int) -> int:
    """FlopCounterMode's flops for `layer`'s module alone, forward then backward, its inputs taking a
    gradient where `needs` says one flows."""
    import torch

    kind = layers.KINDS[layer.kind]
    assert kind.torch is not None, layer.kind
    module = kind.torch(layer.input_shapes, layer.output_shape, layer.args, False).to(dev).eval()
    generator = torch.Generator(dev).manual_seed(0)
    inputs = [
        torch.randn(batch, *shape, device=dev, generator=generator).requires_grad_(need)
        for shape, need in zip(layer.input_shapes, needs, strict=True)
    ]

    def run() -> None:
        out = module(*inputs)
        if out.requires_grad:
            out.sum().backward()

    return _counted(run)


def verify_train(analysis: Analysis, device: str = "cpu", batch: int = 1) -> TrainCheck:
    """Run the build forward and backward under FlopCounterMode, and each layer alone (see the module doc)."""
    require()
    import torch

    dev = resolve_device(device)
    start = time.perf_counter()
    steps = training.steps(analysis)
    needs = training.needs_gradient(analysis)
    try:
        model = materialize(analysis, dev).eval()
        x = torch.randn(batch, *analysis.input, device=dev, generator=torch.Generator(dev).manual_seed(0))

        def forward_backward() -> None:
            out = model(x)
            if out.requires_grad:  # a network without parameters has no backward
                out.sum().backward()

        whole = _counted(forward_backward)
    except LayerFailedError as exc:
        return TrainCheck(analysis.name, batch, (), (), 0, time.perf_counter() - start, f"torch fails at layer {exc}")
    checks, skipped = [], []
    for layer, step in zip(analysis.layers, steps, strict=True):
        counted = _layer_flops(layer, tuple(needs[i] for i in layer.inputs), dev, batch)
        if not layers.KINDS[layer.kind].flop_counter_backward(layer.args):
            skipped.append((layer.name, GROUPED_CONV, counted))
            continue
        checks.append(TrainLayerCheck(layer.name, layer.kind, 2 * step.step * batch, counted))
    return TrainCheck(analysis.name, batch, tuple(checks), tuple(skipped), whole, time.perf_counter() - start)
