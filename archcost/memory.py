"""The memory model: bytes of weights, activations at their inference peak, what autograd saves
for backward, gradients and optimizer state, and the largest batch that fits a budget.

Reads an :class:`~archcost.engine.Analysis`; the per-kind rules (view, in place, saved tensors)
are properties of the layer catalog's entries. Conventions: docs/conventions.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Final

from archcost import layers
from archcost.engine import INPUT, Analysis, LayerResult
from archcost.spec import gc_paused

OPTIMIZER_STATES: Final = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}
"""Tensors of the parameters' size each optimizer keeps (momentum buffer; Adam's two moments)."""


@dataclass(frozen=True)
class Peak:
    """The peak of live activation memory at inference, per sample, and where it happens."""

    elements: int
    layer: str
    alive: tuple[tuple[str, int], ...]
    """Tensors alive at the peak: (the layer that produced it, elements per sample)."""


@dataclass(frozen=True)
class Memory:
    """Memory figures in bytes at one batch, dtype and optimizer (see docs/conventions.md)."""

    batch: int
    dtype: str
    optimizer: str
    param_bytes: int
    buffer_bytes: int
    activation_bytes: int
    peak_inference_bytes: int
    peak_layer: str
    peak_alive: tuple[tuple[str, int], ...]
    gradient_bytes: int
    optimizer_bytes: int
    saved_activation_bytes: int
    backward_transient_bytes: int
    training_bytes: int
    saved_by_layer: Mapping[str, int]
    """Bytes each layer adds to the saved-for-backward set (a shared tensor counts at its first saver)."""

    @property
    def inference_bytes(self) -> int:
        """Weights, buffers and the activation peak: what inference needs at this batch."""
        return self.param_bytes + self.buffer_bytes + self.peak_inference_bytes


def _requires_grad(analysis: Analysis) -> dict[str, bool]:
    """Whether autograd tracks each tensor: a layer with parameters, or one reading a tracked tensor.

    The network's input is not tracked, so layers before the first weighted one save nothing.
    """
    grad = {INPUT: False}
    for layer in analysis.layers:
        grad[layer.name] = layer.params > 0 or any(grad[name] for name in layer.inputs)
    return grad


def _saved_tensors(layer: LayerResult, storage: Mapping[str, str]) -> list[tuple[layers.Saved, str | None]]:
    """What `layer` saves for backward, each with the storage it lives in (None: a tensor of its own).

    ``original0`` is input 0's storage, or, if the layer overwrote that input in place, a copy
    (torch clones an input that an in-place operator overwrites but its backward needs).
    """
    in_place = storage[layer.name] == storage[layer.inputs[0]]
    out: list[tuple[layers.Saved, str | None]] = []
    for saved in layers.KINDS[layer.kind].saved(layer.input_shapes, layer.output_shape, layer.args):
        if saved.tensor == "extra":
            out.append((saved, None))
        elif saved.tensor == "output":
            out.append((saved, storage[layer.name]))
        elif saved.tensor == "original0" and in_place:
            copy = replace(saved, tensor="extra", elements=layers.prod(layer.input_shapes[0]))
            out.append((copy, None))
        else:
            index = int(saved.tensor.removeprefix("input").removeprefix("original"))
            out.append((saved, storage[layer.inputs[index]]))
    return out


def _storages(analysis: Analysis, *, training: bool) -> tuple[dict[str, str], dict[str, int]]:
    """Which storage each tensor lives in, and each storage's last consumer (index), in one pass each.

    A view (flatten, identity, slice; dropout at inference or with p = 0, which returns its input)
    shares its input's storage. An in-place
    kind writes into its first input's storage when nothing later reads that input; in
    training, also only if no earlier layer saved that storage for its backward pass (torch
    raises at backward when a saved tensor was overwritten): a dropout after a ReLU, which
    saved its output, makes a new tensor.
    """
    storage, storage_last, _ = _walk_storages(analysis, training=training)
    return storage, storage_last


_Saves = dict[str, list[tuple[layers.Saved, str | None]]]
"""What each layer autograd tracks saves for backward, with the storage of each (:func:`_saved_tensors`)."""


def _last_uses(analysis: Analysis) -> dict[str, int]:
    """The index of each tensor's last consumer (the network's output: one past the last layer, it is kept)."""
    last_use: dict[str, int] = {INPUT: -1}
    for i, layer in enumerate(analysis.layers):
        for name in layer.inputs:
            last_use[name] = i
        last_use[layer.name] = i
    last_use[analysis.layers[-1].name] = len(analysis.layers)
    return last_use


def _walk_storages(
    analysis: Analysis, *, training: bool, last_use: dict[str, int] | None = None
) -> tuple[dict[str, str], dict[str, int], _Saves]:
    """:func:`_storages`, and in training what each tracked layer saves (the pass works it out anyway).

    `last_use` is :func:`_last_uses`, when the caller has it already."""
    last_use = _last_uses(analysis) if last_use is None else last_use
    storage = {INPUT: INPUT}
    storage_last = {INPUT: last_use[INPUT]}
    grad = _requires_grad(analysis) if training else {}
    saves: _Saves = {}
    saved_homes: set[str] = set()
    kinds = layers.KINDS
    for i, layer in enumerate(analysis.layers):
        name = layer.name
        first = storage[layer.inputs[0]]
        kind = kinds[layer.kind]
        if kind.view(layer.args, training) or (kind.inplace and storage_last[first] == i and first not in saved_homes):
            storage[name] = first
            storage_last[first] = max(storage_last[first], last_use[name])
        else:
            storage[name] = name
            storage_last[name] = last_use[name]
        if training and grad[name]:
            saves[name] = saved = _saved_tensors(layer, storage)
            saved_homes.update(home for _, home in saved if home is not None)
    return storage, storage_last, saves


def peak_inference(analysis: Analysis, *, last_use: dict[str, int] | None = None) -> Peak:
    """Walk the layers in order, keeping each tensor until its last consumer; the largest live set.

    `last_use` is :func:`_last_uses`, when the caller has it already."""
    storage, storage_last, _ = _walk_storages(analysis, training=False, last_use=last_use)
    ends: dict[int, list[str]] = {}  # the storages whose last consumer each layer is
    for home, last in storage_last.items():
        ends.setdefault(max(last, 0), []).append(home)
    total = layers.prod(analysis.input)
    alive: dict[str, int] = {INPUT: total}
    best = Peak(total, INPUT, ((INPUT, total),))
    for i, layer in enumerate(analysis.layers):
        home = storage[layer.name]
        size = layer.activations
        if home == layer.name or size > alive[home]:  # a new tensor, or a view that grows
            total += size - alive.get(home, 0)
            alive[home] = size
        if total > best.elements:
            best = Peak(total, layer.name, tuple(alive.items()))
        for name in ends.get(i, ()):
            total -= alive.pop(name, 0)
    return best


def saved_for_backward(
    analysis: Analysis, dtype_bytes: int, *, last_use: dict[str, int] | None = None
) -> tuple[int, int, dict[str, int]]:
    """Bytes per sample and bytes independent of the batch that autograd keeps, and each layer's share.

    Activations saved by several layers (a conv's input that a ReLU saved as its output) count once.
    A layer autograd does not track (before the first weighted layer) saves nothing.
    """
    with gc_paused():  # what each layer saves lives until the sum is made: collections took 1/6 at 100k layers
        return _saved_for_backward(analysis, dtype_bytes, last_use)


def _saved_for_backward(
    analysis: Analysis, dtype_bytes: int, last_use: dict[str, int] | None
) -> tuple[int, int, dict[str, int]]:
    _, _, saves = _walk_storages(analysis, training=True, last_use=last_use)
    sizes = {INPUT: layers.prod(analysis.input), **{r.name: r.activations for r in analysis.layers}}
    seen: set[str] = set()
    per_sample = fixed = 0
    by_layer: dict[str, int] = {}
    for layer in analysis.layers:
        share = 0
        for saved, home in saves.get(layer.name, ()):
            if home is None:
                size = saved.elements * (saved.bytes_per_element or dtype_bytes)
                if saved.per_sample:
                    per_sample += size
                    share += size
                else:
                    fixed += size
            elif home not in seen:
                seen.add(home)
                size = sizes[home] * dtype_bytes
                per_sample += size
                share += size
        by_layer[layer.name] = share
    return per_sample, fixed, by_layer


def backward_transient(analysis: Analysis) -> int:
    """Elements per sample of the largest gradient pair alive in backward: a layer's output and input grads."""
    return max(r.activations + sum(layers.prod(s) for s in r.input_shapes) for r in analysis.layers)


def memory(analysis: Analysis, optimizer: str = "adam") -> Memory:
    """Every memory figure at the analysis' batch and dtype; `optimizer` sets the training state."""
    from archcost.units import DTYPE_BYTES

    size, batch, totals = DTYPE_BYTES[analysis.dtype], analysis.batch, analysis.totals
    with gc_paused():  # (everything made here but the result is dropped at the end)
        last_use = _last_uses(analysis)
        peak = peak_inference(analysis, last_use=last_use)
        per_sample, fixed, by_layer = saved_for_backward(analysis, size, last_use=last_use)
    params = totals.params * size
    gradients = params
    states = OPTIMIZER_STATES[optimizer] * params
    saved = per_sample * batch + fixed
    transient = backward_transient(analysis) * batch * size
    buffers = totals.buffers * size
    return Memory(
        batch=batch,
        dtype=analysis.dtype,
        optimizer=optimizer,
        param_bytes=params,
        buffer_bytes=buffers,
        activation_bytes=totals.activations * batch * size,
        peak_inference_bytes=peak.elements * batch * size,
        peak_layer=peak.layer,
        peak_alive=peak.alive,
        gradient_bytes=gradients,
        optimizer_bytes=states,
        saved_activation_bytes=saved,
        backward_transient_bytes=transient,
        training_bytes=params + gradients + states + buffers + saved + transient,
        saved_by_layer={k: v * batch for k, v in by_layer.items()},
    )


@dataclass(frozen=True)
class Fit:
    """The largest batch that fits in a memory budget, for inference and for training."""

    budget: int
    inference_batch: int
    training_batch: int


def fit(analysis: Analysis, budget: int, optimizer: str = "adam") -> Fit:
    """Largest batches whose inference and training memory stay within `budget` bytes.

    Both grow linearly with the batch: a fixed part (weights, gradients, optimizer state, buffers,
    batch statistics) plus a per-sample part, so the answer is one division each.
    """
    one = memory(replace(analysis, batch=1), optimizer)
    two = memory(replace(analysis, batch=2), optimizer)
    out = []
    for at_one, at_two in ((one.inference_bytes, two.inference_bytes), (one.training_bytes, two.training_bytes)):
        per_sample = at_two - at_one
        fixed = at_one - per_sample
        out.append(max(0, (budget - fixed) // per_sample) if per_sample > 0 else 0)
    return Fit(budget, out[0], out[1])
