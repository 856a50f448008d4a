"""Memory measured on the torch build: what autograd saves for backward, the inference peak of live
storages, and (on CUDA) the allocator's peaks, against the analytic memory model.

:func:`measure_saved` runs the training build once and measures, with
``torch.autograd.graph.saved_tensors_hooks``, the bytes autograd keeps for backward (one count per
storage, weights apart); :func:`verify_memory` compares them with the analytic saved-for-backward
figure (``archcost verify --memory``), and on CUDA reads ``torch.cuda.max_memory_allocated`` against
the analytic peaks; :func:`measure_peak_inference` samples the live activation storages of an eval
forward pass. The build runs in place exactly the layers the analysis runs in place
(:func:`~archcost.torchcheck.build.inplace_layers`).
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from archcost import layers, memory, units
from archcost.engine import INPUT, Analysis
from archcost.errors import Location, SpecError
from archcost.torchcheck.build import LayerFailedError, build, inplace_layers, materialize, network_class
from archcost.torchcheck.support import require, resolve_device

if TYPE_CHECKING:
    import torch
    from torch import nn

TORCH_DTYPES: Final = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}
"""The analysis dtypes torch can train in, by torch's name (int8 has no training step)."""

MEMORY_TOLERANCE: Final = 0.01
"""How far (relative to the measurement) the analytic saved-for-backward bytes may be from torch's."""


@dataclass(frozen=True)
class SavedMeasurement:
    """The activations torch's autograd keeps for backward after one training-mode forward pass.

    Every tensor a ``saved_tensors_hooks`` pack hook sees, counted once per storage (a tensor
    saved by two operators, or a view, counts once), without parameters and buffers.
    """

    name: str
    device: str
    batch: int
    dtype: str
    bytes: int
    by_layer: Mapping[str, int]
    """Bytes of the storages each layer saved first (the layer whose forward was running)."""
    tensors: int
    """Distinct storages saved."""
    in_place: frozenset[str] = frozenset()
    """Layers whose output the build put in its first input's storage (in place or a view)."""
    failure: str | None = None
    seconds: float = 0.0


def _torch_dtype(dtype: str) -> torch.dtype:
    import torch

    if dtype not in TORCH_DTYPES:
        raise SpecError(
            f"--dtype {dtype}: torch cannot train in it; use one of {', '.join(TORCH_DTYPES)}", Location("--dtype")
        )
    result: torch.dtype = getattr(torch, TORCH_DTYPES[dtype])
    return result


def _storage_key(tensor: torch.Tensor) -> int:
    """Identifies the storage `tensor` lives in (a view shares its base's)."""
    storage = tensor.untyped_storage()
    key: int = storage.data_ptr() or storage._cdata  # meta tensors have no data: the storage object
    return key


def _watch_in_place(model: nn.Module, analysis: Analysis, shared: set[str]) -> list[Any]:
    """Forward hooks adding to `shared` each layer whose output lives in its first input's storage."""
    modules = dict(model.named_modules())

    def hook(name: str) -> Callable[[nn.Module, Any, torch.Tensor], None]:
        def record(module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
            if _storage_key(output) == _storage_key(inputs[0]):
                shared.add(name)

        return record

    return [modules[layer.name].register_forward_hook(hook(layer.name)) for layer in analysis.layers]


def _in_dtype(model: nn.Module, dtype: torch.dtype) -> nn.Module:
    """`model` in `dtype`, batch norm layers apart: they keep fp32 parameters and statistics, as in
    mixed-precision training (torch then saves the batch statistics in fp32 and the
    normalized output in `dtype`)."""
    from torch import nn

    model = model.to(dtype)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.float()
    return model


def observed_in_place(analysis: Analysis, *, training: bool, batch: int = 1) -> frozenset[str]:
    """The layers whose output the torch build puts in its first input's storage, seen in one
    forward pass on torch's meta device (no data, no arithmetic): in training mode with autograd,
    or in eval mode without. Equal to :func:`inplace_layers` when the build does what the
    analysis assumes."""
    require()
    import torch

    with torch.device("meta"):
        model = build(analysis, inplace=inplace_layers(analysis, training=training)).train(training)
        x = torch.empty(batch, *analysis.input)
    shared: set[str] = set()
    handles = _watch_in_place(model, analysis, shared)
    try:
        with torch.set_grad_enabled(training):
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return frozenset(shared)


def _prepared(analysis: Analysis, dev: Any, dtype: Any, *, training: bool) -> tuple[nn.Module, set[Any]]:
    """The build with the analysis' in-place layers, in `dtype` and mode, and the storages of its weights."""
    model = materialize(analysis, dev, inplace=inplace_layers(analysis, training=training))
    model = _in_dtype(model, dtype).train(training)
    return model, {_storage_key(t) for t in (*model.parameters(), *model.buffers())}


def measure_saved(
    analysis: Analysis, batch: int = 2, device: str = "cpu", threads: int | None = None
) -> SavedMeasurement:
    """Run one forward pass of the training build and measure what autograd saves for backward.

    The build is in training mode (batch norm saves the batch's statistics, dropout draws
    masks), in the analysis' dtype, with the analysis' in-place layers in place
    (:func:`inplace_layers` with ``training=True``); the parameters require gradients, the
    input does not. A pack hook records the storage of every saved tensor; the parameters'
    and buffers' storages are left out (they are weights, not activations). Nothing is run
    backward. `threads` sets torch's intra-op threads (None: torch's default).
    """
    require()
    import torch

    dev = resolve_device(device)
    dtype = _torch_dtype(analysis.dtype)
    if batch < 1:
        raise SpecError(f"--batch {batch}: must be at least 1", Location("--batch"))
    start = time.perf_counter()
    by_layer: dict[str, int] = {}
    shared: set[str] = set()
    seen: set[int] = set()

    def result(failure: str | None = None) -> SavedMeasurement:
        return SavedMeasurement(
            name=analysis.name,
            device=str(dev),
            batch=batch,
            dtype=analysis.dtype,
            bytes=sum(by_layer.values()),
            by_layer=by_layer,
            tensors=len(seen),
            in_place=frozenset(shared),
            failure=failure,
            seconds=time.perf_counter() - start,
        )

    try:
        model, weights = _prepared(analysis, dev, dtype, training=True)
    except LayerFailedError as exc:
        return result(f"torch rejects layer {exc}")
    modules = dict(model.named_modules())
    running = [INPUT]

    def enter(name: str) -> Callable[[nn.Module, Any], None]:
        def note(module: nn.Module, args: Any) -> None:
            running[0] = name

        return note

    handles = [modules[layer.name].register_forward_pre_hook(enter(layer.name)) for layer in analysis.layers]
    handles += _watch_in_place(model, analysis, shared)

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        key, size = _storage_key(tensor), tensor.untyped_storage().nbytes()
        if size and key not in weights and key not in seen:
            seen.add(key)
            by_layer[running[0]] = by_layer.get(running[0], 0) + size
        return tensor.detach()  # the graph keeps the storage (no address reused) but no reference cycle

    x = torch.randn(batch, *analysis.input, generator=torch.Generator(dev).manual_seed(0), device=dev).to(dtype)
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            out = model(x)
        del out  # frees the graph and what it saved
    except LayerFailedError as exc:
        by_layer.clear()
        return result(f"torch fails at layer {exc}")
    finally:
        torch.set_num_threads(previous_threads)
        for handle in handles:
            handle.remove()
    return result()


@dataclass(frozen=True)
class CudaPeaks:
    """``torch.cuda.max_memory_allocated`` against the analytic peaks (bytes; allocator blocks
    and cuDNN workspaces are in the measurement, not in the analysis)."""

    inference_analytic: int
    inference_measured: int
    training_analytic: int
    training_measured: int


@dataclass(frozen=True)
class MemoryCheck:
    """The analytic saved-for-backward bytes against torch's (`measure_saved`), and on CUDA the peaks."""

    name: str
    device: str
    batch: int
    dtype: str
    analytic: int
    measured: int | None
    layers: tuple[tuple[str, int, int], ...]
    """(layer, analytic, measured) saved bytes for every layer where they differ."""
    in_place: tuple[str, ...] = ()
    """Layers the build ran in place where the analysis does not, or the reverse (none expected)."""
    cuda: CudaPeaks | None = None
    cuda_note: str = ""
    """What was measured on CUDA, or why not."""
    failure: str | None = None
    seconds: float = 0.0
    peak_analytic: int = 0
    """The analytic inference peak (``Memory.peak_inference_bytes``)."""
    peak: PeakMeasurement | None = None
    """The measured live activation storages of an eval forward pass (None: not measured)."""

    @property
    def peak_ok(self) -> bool | None:
        """The analytic inference peak equals the storages the build's executor holds at its peak."""
        if self.peak is None or self.peak.failure is not None:
            return None
        return self.peak.held == self.peak_analytic

    @property
    def difference(self) -> int | None:
        """Measured minus analytic bytes."""
        return None if self.measured is None else self.measured - self.analytic

    @property
    def relative(self) -> float | None:
        """The difference as a fraction of the measurement."""
        if self.measured is None:
            return None
        return (self.measured - self.analytic) / self.measured if self.measured else float(self.analytic != 0)

    @property
    def ok(self) -> bool:
        """No failure and the analytic figure within 1% of torch's."""
        return self.failure is None and self.relative is not None and abs(self.relative) <= MEMORY_TOLERANCE

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "name": self.name,
            "device": self.device,
            "batch": self.batch,
            "dtype": self.dtype,
            "ok": self.ok,
            "failure": self.failure,
            "seconds": round(self.seconds, 3),
            "saved_activation_bytes": {
                "analytic": self.analytic,
                "measured": self.measured,
                "difference": self.difference,
                "relative": self.relative,
            },
            "layers": [{"name": n, "analytic": a, "measured": m} for n, a, m in self.layers],
            "in_place_differs": list(self.in_place),
            "cuda": None if self.cuda is None else dict(vars(self.cuda)),
            "cuda_note": self.cuda_note,
            "peak_inference_bytes": None
            if self.peak is None
            else {
                "analytic": self.peak_analytic,
                "measured_held": self.peak.held,
                "measured_allocated": self.peak.allocated,
                "measured_transient": self.peak.transient,
                "input_bytes": self.peak.input_bytes,
                "ok": self.peak_ok,
                "failure": self.peak.failure,
            },
        }


def analytic_saved_by_layer(analysis: Analysis) -> dict[str, int]:
    """Saved-for-backward bytes per layer at the analysis' batch, batch statistics included
    (``Memory.saved_by_layer`` leaves out the per-batch-constant part)."""
    size = units.DTYPE_BYTES[analysis.dtype]
    _, _, shares = memory.saved_for_backward(analysis, size)
    grad = memory._requires_grad(analysis)
    out = {}
    for layer in analysis.layers:
        rule = layers.KINDS[layer.kind].saved(layer.input_shapes, layer.output_shape, layer.args)
        fixed = sum(
            s.elements * (s.bytes_per_element or size) for s in rule if s.tensor == "extra" and not s.per_sample
        )
        out[layer.name] = shares[layer.name] * analysis.batch + (fixed if grad[layer.name] else 0)
    return out


def verify_memory(
    analysis: Analysis, device: str = "cpu", optimizer: str = "adam", threads: int | None = None, peak: bool = True
) -> MemoryCheck:
    """Compare the analytic saved-for-backward bytes with torch's at the analysis' batch and dtype.

    With `peak`, also measure the inference peak of live activation storages
    (:func:`measure_peak_inference`) against the analytic one (:attr:`MemoryCheck.peak_ok`;
    :attr:`MemoryCheck.ok` is the saved-for-backward comparison alone).

    On CUDA (`device` cuda) also measure ``torch.cuda.max_memory_allocated`` for an inference
    forward pass and for one training step with `optimizer`, against the analytic peaks; on
    CPU there is no allocator peak to read and :attr:`MemoryCheck.cuda_note` says so.
    """
    start = time.perf_counter()
    analytic = memory.memory(analysis, optimizer)
    measured = measure_saved(analysis, batch=analysis.batch, device=device, threads=threads)
    analytic_layers = analytic_saved_by_layer(analysis)
    differing = tuple(
        (layer.name, analytic_layers[layer.name], measured.by_layer.get(layer.name, 0))
        for layer in analysis.layers
        if measured.failure is None and analytic_layers[layer.name] != measured.by_layer.get(layer.name, 0)
    )
    cuda, note = None, "no CUDA peak: run with --device cuda on a machine with a GPU"
    if measured.failure is None and resolve_device(device).type == "cuda":
        cuda = _cuda_peaks(analysis, device, optimizer, analytic)
        note = "torch.cuda.max_memory_allocated, in excess of what was allocated before each run"
    peak_measured = measure_peak_inference(analysis, device, threads) if peak and measured.failure is None else None
    return MemoryCheck(
        name=analysis.name,
        device=measured.device,
        batch=analysis.batch,
        dtype=analysis.dtype,
        analytic=analytic.saved_activation_bytes,
        measured=None if measured.failure else measured.bytes,
        layers=differing,
        in_place=tuple(sorted(measured.in_place ^ inplace_layers(analysis, training=True)))
        if measured.failure is None
        else (),
        cuda=cuda,
        cuda_note=note,
        failure=measured.failure,
        seconds=time.perf_counter() - start,
        peak_analytic=analytic.peak_inference_bytes,
        peak=peak_measured,
    )


def _cuda_peaks(analysis: Analysis, device: str, optimizer: str, analytic: memory.Memory) -> CudaPeaks:
    """Inference: the forward pass's peak above the weights (the input included, as in the
    analysis). Training: weights, gradients, optimizer state and the step's activations, from
    an empty device: one forward, backward and optimizer step."""
    import torch

    dev = resolve_device(device)
    dtype = _torch_dtype(analysis.dtype)

    def make(training: bool) -> nn.Module:
        model = materialize(analysis, dev, inplace=inplace_layers(analysis, training=training))
        return _in_dtype(model, dtype).train(training)

    def data() -> torch.Tensor:
        return torch.randn(analysis.batch, *analysis.input, device=dev, dtype=dtype)

    torch.cuda.synchronize(dev)
    torch.cuda.empty_cache()
    model = make(False)
    base = torch.cuda.memory_allocated(dev)
    torch.cuda.reset_peak_memory_stats(dev)
    with torch.no_grad():
        model(data())
    torch.cuda.synchronize(dev)
    inference = torch.cuda.max_memory_allocated(dev) - base
    del model
    torch.cuda.empty_cache()

    base = torch.cuda.memory_allocated(dev)
    torch.cuda.reset_peak_memory_stats(dev)
    model = make(True)
    params = list(model.parameters())
    states = {"sgd": torch.optim.SGD(params, lr=0.1), "momentum": torch.optim.SGD(params, lr=0.1, momentum=0.9)}
    opt = states.get(optimizer) or (torch.optim.AdamW if optimizer == "adamw" else torch.optim.Adam)(params)
    model(data()).float().sum().backward()
    opt.step()
    torch.cuda.synchronize(dev)
    training = torch.cuda.max_memory_allocated(dev) - base
    del model, opt, params
    torch.cuda.empty_cache()
    return CudaPeaks(analytic.peak_inference_bytes, inference, analytic.training_bytes, training)


# ---------------------------------------------------------------------------- peak inference, measured


@dataclass(frozen=True)
class PeakMeasurement:
    """The live activation storages of one eval forward pass (no grad) of the torch build, in bytes.

    Sampled after each layer's module has run (its forward hook: its output made, the inputs
    whose last reader it is not yet released), and before the first layer (the input alone).
    Storages are counted once each (a view or an in-place result shares its input's); the
    parameters and buffers are left out. Two views of what is alive:

    * ``held``: the storages of the tensors the build's executor holds (its dict of tensors by
      producer, read from its frame) plus the output just made: what the analysis models;
    * ``allocated``: every storage an ATen operator returned during the pass (tracked by a
      ``TorchDispatchMode``, each with a ``StorageWeakRef``) that is still alive, plus the input,
      which the caller's reference keeps alive for the whole pass. When nothing but the
      executor's tensors and the input is alive, it equals ``held_with_input``; it exceeds the
      analytic peak by at most the input's bytes (the analysis frees the input after its last
      reader, as the executor does; the caller of any ``nn.Module`` still holds it).

    ``transient`` is the same as ``allocated`` sampled after every ATen operator instead of
    after every layer: it adds the temporaries made inside a layer (``F.pad``'s copy in a
    'same' conv, a composite LRN's intermediates). Allocations inside a kernel (conv
    workspaces, im2col buffers) are not tensors an operator returns and are in none of them.
    """

    name: str
    batch: int
    dtype: str
    held: int
    held_layer: str
    held_with_input: int
    """``held`` with the input counted at every sample (the caller's reference keeps it)."""
    allocated: int
    allocated_layer: str
    transient: int
    transient_layer: str
    input_bytes: int
    failure: str | None = None
    seconds: float = 0.0


@functools.cache
def _live_storages_mode() -> type[Any]:
    from torch.multiprocessing.reductions import StorageWeakRef
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    class LiveStorages(TorchDispatchMode):  # type: ignore[no-untyped-call]
        """Records the storage of every tensor an ATen operator returns; `live()` sums those still alive."""

        def __init__(self, ignore: set[int], on_op: Callable[[str], None]) -> None:
            super().__init__()  # type: ignore[no-untyped-call]
            self.ignore, self.on_op = ignore, on_op
            self.storages: dict[int, tuple[Any, int]] = {}

        def track(self, tensor: torch.Tensor) -> None:
            storage = tensor.untyped_storage()
            key, size = _storage_key(tensor), storage.nbytes()
            if size and key not in self.ignore:
                known = self.storages.get(key)
                if known is None or known[0].expired():  # a new storage (perhaps at a freed one's address)
                    self.storages[key] = (StorageWeakRef(storage), size)  # type: ignore[no-untyped-call]

        def live(self) -> int:
            for key in [k for k, (ref, _) in self.storages.items() if ref.expired()]:
                del self.storages[key]
            return sum(size for _, size in self.storages.values())

        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            import torch

            out = func(*args, **(kwargs or {}))
            for value in tree_flatten(out)[0]:
                if isinstance(value, torch.Tensor):
                    self.track(value)
            self.on_op(str(func))
            return out

    return LiveStorages


def measure_peak_inference(analysis: Analysis, device: str = "cpu", threads: int | None = None) -> PeakMeasurement:
    """Run one eval forward pass of the build under ``torch.no_grad()`` at the analysis' batch and
    dtype, with the analysis' inference in-place layers in place, and measure the peak of live
    activation storages three ways (see :class:`PeakMeasurement`)."""
    require()
    import torch

    dev = resolve_device(device)
    dtype = _torch_dtype(analysis.dtype)
    start = time.perf_counter()
    network = network_class()
    peaks = dict.fromkeys(("held", "held_with_input", "allocated", "transient"), (0, INPUT))
    where = [INPUT]

    def note(kind: str, size: int) -> None:
        if size > peaks[kind][0]:
            peaks[kind] = (size, where[0])

    x = torch.randn(analysis.batch, *analysis.input, generator=torch.Generator(dev).manual_seed(0), device=dev)
    x = x.to(dtype)
    input_bytes = x.untyped_storage().nbytes()

    def result(failure: str | None = None) -> PeakMeasurement:
        return PeakMeasurement(
            name=analysis.name,
            batch=analysis.batch,
            dtype=analysis.dtype,
            held=peaks["held"][0],
            held_layer=peaks["held"][1],
            held_with_input=peaks["held_with_input"][0],
            allocated=peaks["allocated"][0],
            allocated_layer=peaks["allocated"][1],
            transient=peaks["transient"][0],
            transient_layer=peaks["transient"][1],
            input_bytes=input_bytes,
            failure=failure,
            seconds=time.perf_counter() - start,
        )

    try:
        model, weights = _prepared(analysis, dev, dtype, training=False)
    except LayerFailedError as exc:
        return result(f"torch rejects layer {exc}")
    input_key = _storage_key(x)
    mode: Any = None
    mode = _live_storages_mode()(weights, lambda op: note("transient", mode.live()))
    mode.track(x)
    for kind in peaks:
        note(kind, input_bytes)
    modules = dict(model.named_modules())

    def enter(name: str) -> Callable[[nn.Module, Any], None]:
        def record(module: nn.Module, args: Any) -> None:
            where[0] = name

        return record

    def leave(name: str) -> Callable[[nn.Module, Any, torch.Tensor], None]:
        def record(module: nn.Module, args: Any, output: torch.Tensor) -> None:
            frame = sys._getframe(1)
            while frame.f_code is not network.forward.__code__:  # the executor's frame holds its tensors
                frame = frame.f_back  # type: ignore[assignment]
            held = [*frame.f_locals["tensors"].values(), output]
            storages = {_storage_key(t): t.untyped_storage().nbytes() for t in held}
            held_bytes = sum(size for key, size in storages.items() if key not in weights)
            note("held", held_bytes)
            note("held_with_input", held_bytes + (0 if input_key in storages else input_bytes))
            note("allocated", mode.live())

        return record

    handles = [modules[layer.name].register_forward_pre_hook(enter(layer.name)) for layer in analysis.layers]
    handles += [modules[layer.name].register_forward_hook(leave(layer.name)) for layer in analysis.layers]
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        with torch.no_grad(), mode:
            out = model(x)
        del out
    except LayerFailedError as exc:
        return result(f"torch fails at layer {exc}")
    finally:
        torch.set_num_threads(previous_threads)
        for handle in handles:
            handle.remove()
    return result()
