"""The fvcore cross-check behind ``archcost verify``: the torch build run once, every layer's figures
compared with the analysis.

:func:`verify` runs the build once on a real tensor (eval mode, no grad) and compares, layer by
layer, the output shape (forward hooks), the parameters (fvcore ``parameter_count``), the MACs and
fvcore's "flop" count (``FlopCountAnalysis.by_module()`` against the analytic figure in fvcore's
convention, :attr:`archcost.layers.Kind.fvcore`) and fvcore's activations
(``ActivationCountAnalysis``: conv and linear outputs only). Counts at a batch are exact integers,
so every comparison is an equality. The build runs every layer out of place (fvcore's operator
names in the catalog's rules are the out-of-place ones; its counts are the same either way).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from archcost import layers
from archcost.engine import Analysis, LayerResult
from archcost.errors import Location, SpecError
from archcost.layers import Shape
from archcost.torchcheck.build import LayerFailedError, materialize
from archcost.torchcheck.support import require, resolve_device

if TYPE_CHECKING:
    import torch
    from torch import nn

MAC_OPS: Final = frozenset({"conv", "linear", "addmm", "matmul", "mm", "bmm", "einsum"})
"""fvcore operator names (as in ``by_operator()``) that count multiply-accumulates."""

T = TypeVar("T", int, Shape)


@dataclass(frozen=True)
class Check(Generic[T]):
    """One figure two ways: the analytic engine's and the torch build's (or fvcore's)."""

    analytic: T
    measured: T | None  # None: torch never produced it

    @property
    def ok(self) -> bool:
        return self.analytic == self.measured


FIGURES: Final = ("shape", "params", "macs", "flops", "activations")
"""The figures compared per layer, in display order (`flops` is in fvcore's convention)."""


class _Compared:
    """Figures compared side by side; `figures` names them, the rest follows."""

    def figures(self) -> dict[str, Check[Any]]:
        raise NotImplementedError

    @property
    def differs(self) -> tuple[str, ...]:
        """The figures that do not match."""
        return tuple(name for name, check in self.figures().items() if not check.ok)

    @property
    def ok(self) -> bool:
        return not self.differs


@dataclass(frozen=True)
class LayerCheck(_Compared):
    """One layer compared: output shape, params, MACs, fvcore flops and fvcore activations."""

    name: str
    kind: str
    shape: Check[Shape]
    params: Check[int]
    macs: Check[int]
    flops: Check[int]
    activations: Check[int]

    def figures(self) -> dict[str, Check[Any]]:
        return {f: getattr(self, f) for f in FIGURES}


@dataclass(frozen=True)
class TotalsCheck(_Compared):
    """Whole-network sums compared: params, MACs (vs fvcore's conv+linear part), fvcore flops, activations."""

    params: Check[int]
    macs: Check[int]
    flops: Check[int]
    activations: Check[int]

    def figures(self) -> dict[str, Check[Any]]:
        return {"params": self.params, "macs": self.macs, "flops": self.flops, "activations": self.activations}


@dataclass(frozen=True)
class VerifyResult:
    """What `verify` found for one analysis."""

    name: str
    device: str
    batch: int
    layers: tuple[LayerCheck, ...]
    totals: TotalsCheck | None
    unsupported_ops: Mapping[str, int] = field(default_factory=dict)
    """fvcore's operators that it neither counts nor ignores (counted as 0), with how often they ran."""
    failure: str | None = None
    """torch rejected the build or the forward pass: which layer and why."""
    seconds: float = 0.0

    @property
    def mismatches(self) -> tuple[LayerCheck, ...]:
        return tuple(row for row in self.layers if not row.ok)

    @property
    def ok(self) -> bool:
        return self.failure is None and self.totals is not None and self.totals.ok and not self.mismatches

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (shapes as lists)."""

        def check(c: Check[Any]) -> dict[str, Any]:
            def plain(v: Any) -> Any:
                return list(v) if isinstance(v, tuple) else v

            return {"analytic": plain(c.analytic), "measured": plain(c.measured), "ok": c.ok}

        return {
            "name": self.name,
            "device": self.device,
            "batch": self.batch,
            "ok": self.ok,
            "failure": self.failure,
            "seconds": round(self.seconds, 3),
            "mismatches": len(self.mismatches),
            "unsupported_ops": dict(self.unsupported_ops),
            "totals": None if self.totals is None else {k: check(v) for k, v in self.totals.figures().items()},
            "layers": [
                {"name": r.name, "kind": r.kind, "ok": r.ok, **{k: check(v) for k, v in r.figures().items()}}
                for r in self.layers
            ],
        }


def fvcore_flops(layer: LayerResult) -> int:
    """The layer's figure in fvcore's convention (one sample), from the catalog's rule."""
    return layers.KINDS[layer.kind].fvcore(layer.input_shapes, layer.output_shape, layer.args)


def fvcore_activations(layer: LayerResult) -> int:
    """What fvcore's activation count gives the layer (:attr:`Kind.fvcore_activations`): its output
    elements, its kind's own rule, or 0."""
    rule = layers.KINDS[layer.kind].fvcore_activations
    if callable(rule):
        return rule(layer.input_shapes, layer.output_shape, layer.args)
    return math.prod(layer.output_shape) if rule else 0


def verify(analysis: Analysis, device: str = "cpu", batch: int = 1, threads: int | None = 1) -> VerifyResult:
    """Build `analysis` in torch, run it once and compare every figure; see the module doc.

    Counts from fvcore cover the whole batch; the analytic per-sample figures are scaled by
    `batch` to match. SpecError for a bad device or a name torch cannot take; a torch failure
    while building or running is reported in :attr:`VerifyResult.failure`.

    `threads` sets torch's intra-op threads for the traces (None: torch's default). One is the
    default because batch-1 operators are small and several threads spin against any other
    busy process: ResNet-152 took 1.2–2.5 s with one thread and 13–16 s with two on a loaded
    2-core machine.
    """
    require()
    import torch
    from fvcore.nn import ActivationCountAnalysis, FlopCountAnalysis, parameter_count

    dev = resolve_device(device)
    if batch < 1:
        raise SpecError(f"--batch {batch}: must be at least 1", Location("--batch"))
    start = time.perf_counter()

    def failed(message: str) -> VerifyResult:
        return VerifyResult(
            analysis.name, str(dev), batch, (), None, failure=message, seconds=time.perf_counter() - start
        )

    try:
        model = materialize(analysis, dev)
    except LayerFailedError as exc:
        return failed(f"torch rejects layer {exc}")
    modules = dict(model.named_modules())
    shapes: dict[str, Shape] = {}

    def hook(name: str) -> Callable[[nn.Module, Any, torch.Tensor], None]:
        def record(module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
            dims = tuple(int(d) for d in output.shape)  # while tracing, sizes are 0-d tensors
            shapes[name] = dims[1:] if dims and dims[0] == batch else dims

        return record

    handles = [modules[layer.name].register_forward_hook(hook(layer.name)) for layer in analysis.layers]
    x = torch.randn(batch, *analysis.input, device=dev, generator=torch.Generator(dev).manual_seed(0))
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            flops = FlopCountAnalysis(model, x).unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            flops_by_module = flops.by_module()  # the trace runs here (and fills `shapes`)
            for handle in handles:
                handle.remove()
            flops_by_op = flops.by_module_and_operator()
            unsupported = flops.unsupported_ops()
            acts = ActivationCountAnalysis(model, x).unsupported_ops_warnings(False).uncalled_modules_warnings(False)
            acts_by_module = acts.by_module()
    except LayerFailedError as exc:
        return failed(f"torch fails at layer {exc}")
    finally:
        torch.set_num_threads(previous_threads)
    params = parameter_count(model)

    def mac_part(counter: Mapping[str, int]) -> int:
        return sum(int(v) for op, v in counter.items() if op in MAC_OPS)

    rows = []
    for layer in analysis.layers:
        name = layer.name
        rows.append(
            LayerCheck(
                name=name,
                kind=layer.kind,
                shape=Check(layer.output_shape, shapes.get(name)),
                params=Check(layer.params, int(params.get(name, 0))),
                macs=Check(layer.macs * batch, mac_part(flops_by_op.get(name, Counter()))),
                flops=Check(fvcore_flops(layer) * batch, int(flops_by_module.get(name, 0))),
                activations=Check(fvcore_activations(layer) * batch, int(acts_by_module.get(name, 0))),
            )
        )
    totals = TotalsCheck(
        params=Check(analysis.totals.params, int(params.get("", 0))),
        macs=Check(analysis.totals.macs * batch, mac_part(flops_by_op.get("", Counter()))),
        flops=Check(sum(fvcore_flops(r) for r in analysis.layers) * batch, int(flops.total())),
        activations=Check(sum(fvcore_activations(r) for r in analysis.layers) * batch, int(acts.total())),
    )
    return VerifyResult(
        name=analysis.name,
        device=str(dev),
        batch=batch,
        layers=tuple(rows),
        totals=totals,
        unsupported_ops=dict(sorted(unsupported.items())),
        seconds=time.perf_counter() - start,
    )
