"""The memory model: bytes of weights, activations at their inference peak, what autograd saves
for backward, gradients and optimizer state, and the largest batch that fits a budget.

Reads an :class:`~archcost.engine.Analysis`; the per-kind rules (view, in place, saved tensors)
are properties of the layer catalog's entries. Conventions: docs/conventions.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Final

from archcost import layers
from archcost.engine import INPUT, Analysis
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
    """Whether autograd tracks each tensor (see :func:`_walk`)."""
    return _walk(analysis, 1).grad


def _last_uses(analysis: Analysis) -> dict[str, int]:
    """The index of each tensor's last consumer (the network's output: one past the last layer, it is kept)."""
    last_use: dict[str, int] = {INPUT: -1}
    for i, layer in enumerate(analysis.layers):
        for name in layer.inputs:
            last_use[name] = i
        last_use[layer.name] = i
    last_use[analysis.layers[-1].name] = len(analysis.layers)
    return last_use


@dataclass(frozen=True)
class _Walk:
    """Everything the memory model reads off the layers, made in one pass (:func:`_walk`)."""

    storage: dict[str, str]
    """Which storage each tensor lives in at inference (a storage is named by the tensor that made it)."""
    storage_last: dict[str, int]
    """Each inference storage's last consumer (index)."""
    train_storage: dict[str, str]
    """:attr:`storage` in training."""
    train_storage_last: dict[str, int]
    """:attr:`storage_last` in training."""
    peak: Peak
    saved_per_sample: int
    """Elements × bytes per sample autograd keeps for backward (shared storages once)."""
    saved_fixed: int
    """Bytes autograd keeps whatever the batch (batch statistics)."""
    saved_by_layer: dict[str, int]
    """Per-sample bytes each layer adds to the saved set (a shared storage counts at its first saver)."""
    transient: int
    """Elements per sample of the largest gradient pair alive in backward."""
    grad: dict[str, bool]
    """Whether autograd tracks each tensor: a layer with parameters, or one reading a tracked tensor
    (the network's input is not tracked, so layers before the first weighted one save nothing)."""


def _walk(analysis: Analysis, dtype_bytes: int) -> _Walk:
    """Storages at inference and in training, the inference peak, what autograd saves, the backward
    transient: one pass over the layers (after :func:`_last_uses`), for every memory figure.

    Storages. A view (flatten, identity, slice; dropout at inference or with p = 0, which returns
    its input) shares its input's storage. An in-place kind writes into its first input's storage
    when nothing later reads that input; in training, also only if no earlier layer saved that
    storage for its backward pass (torch raises at backward when a saved tensor was overwritten): a
    dropout after a ReLU, which saved its output, makes a new tensor.

    Peak. Each storage lives until its last consumer; a view that grows its storage grows it. A
    storage's last consumer only moves later while something still reads it, so when the current
    layer is a storage's last consumer so far, it is its last consumer: storages are dropped as the
    walk goes (``ends``: the storages whose last consumer each layer was when it was noted).

    Saved. What a layer autograd tracks (it has parameters or reads a tracked tensor; the input is
    not tracked) keeps by its kind's rule; ``original0`` is input 0's storage, or a copy when the
    layer overwrote that input in place (torch clones an input that an in-place operator overwrites
    but its backward needs).
    """
    last_use = _last_uses(analysis)
    kinds, prod = layers.KINDS, math.prod
    input_size = prod(analysis.input)
    sizes = {INPUT: input_size}
    storage, storage_last = {INPUT: INPUT}, {INPUT: last_use[INPUT]}
    train_storage, train_last = {INPUT: INPUT}, {INPUT: last_use[INPUT]}
    ends: dict[int, list[str]] = {max(last_use[INPUT], 0): [INPUT]}
    alive = {INPUT: input_size}
    total = input_size
    peak = Peak(total, INPUT, ((INPUT, total),))
    grad = {INPUT: False}
    saved_homes: set[str] = set()
    per_sample = fixed = transient = 0
    by_layer: dict[str, int] = {}
    for i, layer in enumerate(analysis.layers):
        name, inputs, args, size = layer.name, layer.inputs, layer.args, layer.activations
        kind = kinds[layer.kind]
        used = last_use[name]
        sizes[name] = size
        # inference: where the output lives, and the live set after it is made
        first = storage[inputs[0]]
        if kind.view(args, False) or (kind.inplace and storage_last[first] == i):
            storage[name] = first
            if used > storage_last[first]:
                storage_last[first] = used
                ends.setdefault(used, []).append(first)
            if size > alive.get(first, 0):  # a view that grows
                total += size - alive.get(first, 0)
                alive[first] = size
        else:
            storage[name] = name
            storage_last[name] = used
            ends.setdefault(used, []).append(name)
            total += size
            alive[name] = size
        if total > peak.elements:
            peak = Peak(total, name, tuple(alive.items()))
        for home in ends.pop(i, ()):
            if storage_last[home] <= i:
                total -= alive.pop(home, 0)
        # training: where the output lives, and what autograd keeps for backward
        first = train_storage[inputs[0]]
        if kind.view(args, True) or (kind.inplace and train_last[first] == i and first not in saved_homes):
            train_storage[name] = first
            train_last[first] = max(train_last[first], used)
        else:
            train_storage[name] = name
            train_last[name] = used
        tracked = grad[name] = layer.params > 0 or (
            grad[inputs[0]] if len(inputs) == 1 else any(grad[n] for n in inputs)
        )
        share = 0
        if tracked:
            in_place = train_storage[name] == first
            for saved in kind.saved(layer.input_shapes, layer.output_shape, args):
                tensor = saved.tensor
                if tensor == "output":
                    home = train_storage[name]
                elif tensor == "extra" or (tensor == "original0" and in_place):
                    elements = saved.elements if tensor == "extra" else prod(layer.input_shapes[0])
                    nbytes = elements * (saved.bytes_per_element or dtype_bytes)
                    if saved.per_sample:
                        per_sample += nbytes
                        share += nbytes
                    else:
                        fixed += nbytes
                    continue
                else:
                    home = train_storage[inputs[int(tensor.removeprefix("input").removeprefix("original"))]]
                if home not in saved_homes:
                    saved_homes.add(home)
                    nbytes = sizes[home] * dtype_bytes
                    per_sample += nbytes
                    share += nbytes
        by_layer[name] = share
        shapes = layer.input_shapes
        pair = size + (prod(shapes[0]) if len(shapes) == 1 else sum(map(prod, shapes)))
        transient = max(transient, pair)
    return _Walk(storage, storage_last, train_storage, train_last, peak, per_sample, fixed, by_layer, transient, grad)


def _storages(analysis: Analysis, *, training: bool) -> tuple[dict[str, str], dict[str, int]]:
    """Which storage each tensor lives in, and each storage's last consumer (index); see :func:`_walk`."""
    walk = _walk(analysis, 1)
    return (walk.train_storage, walk.train_storage_last) if training else (walk.storage, walk.storage_last)


def peak_inference(analysis: Analysis) -> Peak:
    """The largest set of live activations at inference, per sample, walking the layers in order."""
    return _walk(analysis, 1).peak


def saved_for_backward(analysis: Analysis, dtype_bytes: int) -> tuple[int, int, dict[str, int]]:
    """Bytes per sample and bytes independent of the batch that autograd keeps, and each layer's share.

    Activations saved by several layers (a conv's input that a ReLU saved as its output) count once.
    A layer autograd does not track (before the first weighted layer) saves nothing.
    """
    walk = _walk(analysis, dtype_bytes)
    return walk.saved_per_sample, walk.saved_fixed, walk.saved_by_layer


def backward_transient(analysis: Analysis) -> int:
    """Elements per sample of the largest gradient pair alive in backward: a layer's output and input grads."""
    return _walk(analysis, 1).transient


def memory(analysis: Analysis, optimizer: str = "adam") -> Memory:
    """Every memory figure at the analysis' batch and dtype; `optimizer` sets the training state."""
    from archcost.units import DTYPE_BYTES

    size, batch, totals = DTYPE_BYTES[analysis.dtype], analysis.batch, analysis.totals
    with gc_paused():  # (everything made here but the result is dropped at the end)
        walk = _walk(analysis, size)
    peak, per_sample, fixed, by_layer = walk.peak, walk.saved_per_sample, walk.saved_fixed, walk.saved_by_layer
    params = totals.params * size
    gradients = params
    states = OPTIMIZER_STATES[optimizer] * params
    saved = per_sample * batch + fixed
    transient = walk.transient * batch * size
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
