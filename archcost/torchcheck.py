"""The torch build and the fvcore cross-check behind ``archcost verify``.

This is the only module that imports torch or fvcore, and it does so inside functions:
``import archcost.torchcheck`` works without them, and :func:`require` says how to install
the extra. Two steps:

* :func:`build` turns an :class:`~archcost.engine.Analysis` into an ``nn.Module`` whose module
  paths are exactly the analysis' layer names (``layer1.0.conv1``, ``mix.concat``), one torch
  module per leaf layer (one builder per kind in :data:`TORCH_BUILDERS`);
* :func:`verify` runs it once on a real tensor (eval mode, no grad) and compares, layer by
  layer, the output shape (forward hooks), the parameters (fvcore ``parameter_count``), the
  MACs and fvcore's "flop" count (``FlopCountAnalysis.by_module()`` against the analytic
  figure in fvcore's convention, :attr:`archcost.layers.Kind.fvcore`) and fvcore's
  activations (``ActivationCountAnalysis``: conv and linear outputs only). Counts at a batch
  are exact integers, so every comparison is an equality;
* :func:`measure_saved` runs the training build once and measures, with
  ``torch.autograd.graph.saved_tensors_hooks``, the bytes autograd keeps for backward (one
  count per storage, weights apart); :func:`verify_memory` compares them with the analytic
  saved-for-backward figure (``archcost verify --memory``), and on CUDA reads
  ``torch.cuda.max_memory_allocated`` against the analytic peaks.

The fvcore comparison builds every layer out of place (fvcore's operator names in the
catalog's rules are the out-of-place ones; its counts are the same either way); the memory
measurement builds the layers the analysis runs in place in place (:func:`inplace_layers`).
"""

from __future__ import annotations

import functools
import importlib
import math
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from rich.markup import escape
from rich.table import Table

from archcost import engine, layers, units
from archcost.engine import INPUT, VIEWS, Analysis, LayerResult
from archcost.errors import Location, SpecError
from archcost.layers import Args, Shape

if TYPE_CHECKING:
    import torch
    from torch import nn

INSTALL_HINT: Final = "pip install 'archcost[torch]'"
"""How to install what this module needs."""

MAC_OPS: Final = frozenset({"conv", "linear", "addmm", "matmul", "mm", "bmm", "einsum"})
"""fvcore operator names (as in ``by_operator()``) that count multiply-accumulates."""

ACTIVATION_KINDS: Final = frozenset({"conv", "linear"})
"""Kinds whose outputs fvcore's ``ActivationCountAnalysis`` counts (its handles: conv, linear, matmul)."""


class MissingExtraError(SpecError):
    """torch or fvcore is not installed: the message says how to install them."""


def require() -> None:
    """Import torch and fvcore, or raise MissingExtraError with the install command."""
    missing = []
    for package, module in (("torch", "torch"), ("fvcore", "fvcore.nn")):
        try:
            with warnings.catch_warnings():  # fvcore.nn scripts functions at import; torch deprecates that
                warnings.simplefilter("ignore", DeprecationWarning)
                importlib.import_module(module)
        except ImportError:
            missing.append(package)
    if missing:
        raise MissingExtraError(
            f"needs {' and '.join(missing)}, not installed here; install the extra with: {INSTALL_HINT}",
            Location("archcost verify"),
        )


# ---------------------------------------------------------------------------- torch modules
# Classes that subclass nn.Module can only be defined once torch is imported, so they are made
# on first use (and cached).


@functools.cache
def _op_class() -> type[nn.Module]:
    from torch import nn

    class Op(nn.Module):
        """A parameter-free module applying `fn` to its inputs (merges, channel shuffle)."""

        def __init__(self, kind: str, fn: Callable[..., torch.Tensor], note: str = "") -> None:
            super().__init__()
            self.kind, self.fn, self.note = kind, fn, note

        def forward(self, *xs: torch.Tensor) -> torch.Tensor:
            return self.fn(*xs)

        def extra_repr(self) -> str:
            return f"{self.kind}{f', {self.note}' if self.note else ''}"

    return Op


@functools.cache
def _padded_conv_class() -> Callable[..., nn.Conv2d]:
    import torch.nn.functional as F  # noqa: N812
    from torch import nn

    class PaddedConv2d(nn.Conv2d):
        """A conv for 'same' with an odd total padding: `pads` (left, right, top, bottom) first, then
        the convolution's own symmetric padding.

        torch's own ``padding='same'`` traces as ``aten::_convolution_mode``, which fvcore does
        not count; this does what that operator does (Convolution.cpp): pad a copy by the odd
        row and column only (bottom, right), then run an ordinary convolution with the rest
        of the padding, so it computes, and saves for backward, the same tensors.
        """

        def __init__(self, *args: Any, pads: tuple[int, int, int, int], **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.pads = pads

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return super().forward(F.pad(x, self.pads))

        def extra_repr(self) -> str:
            return (
                f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"dilation={self.dilation}, groups={self.groups}, bias={self.bias is not None}, "
                f"padding={self.padding}, first pads (left, right, top, bottom)={self.pads}"
            )

    return PaddedConv2d


Step = tuple["nn.Module", str, tuple[str, ...], tuple[str, ...]]
"""A layer to run: its module, its name, the producers it reads, the tensors freed after it."""


class LayerFailedError(Exception):
    """torch raised while building or running one layer."""

    def __init__(self, layer: str, error: BaseException) -> None:
        detail = " ".join(str(error).split())  # torch's messages carry runs of spaces and newlines
        super().__init__(f"{layer!r}: {type(error).__name__}: {detail}")
        self.layer = layer


@functools.cache
def _network_class() -> type[nn.Module]:
    from torch import nn

    class Network(nn.Module):
        """The built spec: runs its leaf modules in the analysis' order, keeping only live tensors."""

        def __init__(self, title: str, steps: list[Step], output: str) -> None:
            super().__init__()
            # underscored so that no layer name (a submodule) can collide with them
            self._archcost_title = title
            self._archcost_steps = steps  # a plain list: the modules are registered by path, not here
            self._archcost_output = output

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            tensors: dict[str, torch.Tensor] = {INPUT: x}
            for module, name, inputs, free in self._archcost_steps:
                try:
                    tensors[name] = module(*(tensors[i] for i in inputs))
                except Exception as exc:
                    raise LayerFailedError(name, exc) from exc
                for producer in free:
                    del tensors[producer]
            return tensors[self._archcost_output]

        def extra_repr(self) -> str:
            return self._archcost_title

    return Network


# ---------------------------------------------------------------------------- builders


def _args(layer: LayerResult) -> Args:
    return Args(layer.args)


def _conv(layer: LayerResult) -> nn.Module:
    from torch import nn

    a = _args(layer)
    k, s, d = a.pair("kernel"), a.pair("stride"), a.pair("dilation")
    common: dict[str, Any] = {
        "in_channels": layer.input_shapes[0][0],
        "out_channels": a.integer("out"),
        "kernel_size": k,
        "stride": s,
        "dilation": d,
        "groups": a.integer("groups"),
        "bias": a.flag("bias"),
    }
    padding = a["padding"]
    if padding == "valid":
        return nn.Conv2d(padding=(0, 0), **common)
    if padding == "same":
        totals = (d[0] * (k[0] - 1), d[1] * (k[1] - 1))
        if totals[0] % 2 == 0 and totals[1] % 2 == 0:
            return nn.Conv2d(padding=(totals[0] // 2, totals[1] // 2), **common)
        top, left = totals[0] // 2, totals[1] // 2
        pads = (0, totals[1] - 2 * left, 0, totals[0] - 2 * top)
        return _padded_conv_class()(padding=(top, left), pads=pads, **common)
    return nn.Conv2d(padding=a.pair("padding"), **common)


def _linear(layer: LayerResult) -> nn.Module:
    from torch import nn

    a = _args(layer)
    return nn.Linear(layer.input_shapes[0][0], a.integer("out"), bias=a.flag("bias"))


def _window(a: Args) -> dict[str, Any]:
    return {
        "kernel_size": a.pair("kernel"),
        "stride": a.pair("kernel") if a["stride"] is None else a.pair("stride"),
        "padding": a.pair("padding"),
        "ceil_mode": a.flag("ceil_mode"),
    }


def _maxpool(layer: LayerResult) -> nn.Module:
    from torch import nn

    a = _args(layer)
    return nn.MaxPool2d(dilation=a.pair("dilation"), **_window(a))


def _avgpool(layer: LayerResult) -> nn.Module:
    from torch import nn

    return nn.AvgPool2d(count_include_pad=True, **_window(_args(layer)))


def _adaptive_avgpool(layer: LayerResult) -> nn.Module:
    from torch import nn

    return nn.AdaptiveAvgPool2d(_args(layer).pair("output"))


def _global_avgpool(layer: LayerResult) -> nn.Module:
    from torch import nn

    return nn.AdaptiveAvgPool2d((1, 1))


def _batchnorm(layer: LayerResult) -> nn.Module:
    from torch import nn

    a = _args(layer)
    shape = layer.input_shapes[0]
    cls = nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d
    return cls(shape[0], eps=a.number("eps"), momentum=a.number("momentum"), affine=a.flag("affine"))


def _lrn(layer: LayerResult) -> nn.Module:
    from torch import nn

    a = _args(layer)
    return nn.LocalResponseNorm(a.integer("size"), alpha=a.number("alpha"), beta=a.number("beta"), k=a.number("k"))


def _nn(name: str, *args: Any, **kwargs: Any) -> Callable[[LayerResult], nn.Module]:
    """A builder making ``torch.nn.<name>(*args, **kwargs)``."""

    def build(layer: LayerResult) -> nn.Module:
        from torch import nn

        module: nn.Module = getattr(nn, name)(*args, **kwargs)
        return module

    return build


def _leaky_relu(layer: LayerResult) -> nn.Module:
    from torch import nn

    return nn.LeakyReLU(_args(layer).number("slope"))


def _dropout(layer: LayerResult) -> nn.Module:
    from torch import nn

    return nn.Dropout(_args(layer).number("p"))


def _zeropad(layer: LayerResult) -> nn.Module:
    from torch import nn

    left, right, top, bottom = _args(layer).ints("padding")
    return nn.ZeroPad2d((left, right, top, bottom))


def _slice(layer: LayerResult) -> nn.Module:
    a = _args(layer)
    start, stop = a.integer("start"), a.integer("stop")
    return _op_class()("slice", lambda x: x[:, start:stop], f"{start}:{stop}")


def _shuffle(layer: LayerResult) -> nn.Module:
    groups = _args(layer).integer("groups")

    def shuffle(x: torch.Tensor) -> torch.Tensor:  # as torchvision's ShuffleNetV2
        b, c, h, w = x.shape
        return x.view(b, groups, c // groups, h, w).transpose(1, 2).contiguous().view(b, c, h, w)

    return _op_class()("shuffle", shuffle, f"groups={groups}")


def _concat(layer: LayerResult) -> nn.Module:
    import torch

    def concat(*xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=1)

    return _op_class()("concat", concat)


def _add(layer: LayerResult) -> nn.Module:
    def add(*xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out

    return _op_class()("add", add)


def _add_in_place(layer: LayerResult) -> nn.Module:
    def add_(*xs: torch.Tensor) -> torch.Tensor:  # `out += identity`, as torchvision's ResNet
        out = xs[0]
        for x in xs[1:]:
            out += x
        return out

    return _op_class()("add", add_, "in place")


def _multiply(layer: LayerResult) -> nn.Module:
    def multiply(*xs: torch.Tensor) -> torch.Tensor:  # a C×1×1 gate broadcasts over H×W
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out

    return _op_class()("multiply", multiply)


TORCH_BUILDERS: Final[dict[str, Callable[[LayerResult], nn.Module]]] = {
    "conv": _conv,
    "linear": _linear,
    "maxpool": _maxpool,
    "avgpool": _avgpool,
    "adaptive_avgpool": _adaptive_avgpool,
    "global_avgpool": _global_avgpool,
    "batchnorm": _batchnorm,
    "lrn": _lrn,
    "relu": _nn("ReLU"),
    "relu6": _nn("ReLU6"),
    "leaky_relu": _leaky_relu,
    "sigmoid": _nn("Sigmoid"),
    "tanh": _nn("Tanh"),
    "hardsigmoid": _nn("Hardsigmoid"),
    "hardswish": _nn("Hardswish"),
    "silu": _nn("SiLU"),
    "gelu": _nn("GELU"),
    "softmax": _nn("Softmax", dim=1),
    "dropout": _dropout,
    "flatten": _nn("Flatten"),
    "identity": _nn("Identity"),
    "zeropad": _zeropad,
    "shuffle": _shuffle,
    "slice": _slice,
    "concat": _concat,
    "add": _add,
    "multiply": _multiply,
}
"""One torch builder per layer kind: the module that computes what the kind describes."""


def _in_place(module: nn.Module, layer: LayerResult) -> nn.Module:
    """`module` computing in its input's memory: ``inplace=True`` (ReLU, SiLU, Dropout, …) or ``+=``."""
    if layer.kind == "add":
        return _add_in_place(layer)
    if layer.kind in VIEWS:  # a view of the input, or the input itself
        return module
    if not hasattr(module, "inplace"):
        raise SpecError(f"no in-place torch module for the layer kind {layer.kind!r}", _at(layer))
    setattr(module, "inplace", True)  # noqa: B010 (nn.Module types its attributes as tensors and modules)
    return module


def inplace_layers(analysis: Analysis, *, training: bool) -> frozenset[str]:
    """The layers the analysis runs in place (their output lives in their first input's storage),
    at inference or in training (see ``archcost.engine._storages``); :func:`build` builds them so."""
    storage, _ = engine._storages(analysis, training=training)
    return frozenset(r.name for r in analysis.layers if storage[r.name] == storage[r.inputs[0]])


def _attach(root: nn.Module, path: str, module: nn.Module, layer: LayerResult) -> None:
    """Register `module` at the dotted `path` under `root`, making plain containers on the way."""
    from torch import nn

    *parents, leaf = path.split(".")
    here = root
    for part in parents:
        child = here._modules.get(part)
        if child is None:
            child = nn.Module()
            _add_module(here, part, child, layer)
        elif type(child) is not nn.Module:
            raise SpecError(f"{path!r} sits under the layer {part!r}, which is not a container", _at(layer))
        here = child
    if leaf in here._modules:
        raise SpecError(f"two layers are built at {path!r}", _at(layer))
    _add_module(here, leaf, module, layer)


def _add_module(parent: nn.Module, name: str, module: nn.Module, layer: LayerResult) -> None:
    try:
        parent.add_module(name, module)
    except KeyError:
        raise SpecError(
            f"the name {name!r} in {layer.name!r} is an attribute of torch's nn.Module and cannot name a "
            "torch submodule; rename the layer to verify it",
            _at(layer),
        ) from None


def _at(layer: LayerResult) -> Location:
    return Location(layer.loc.file, layer.loc.line, layer.loc.column, layer.name)


def build(analysis: Analysis, *, inplace: frozenset[str] = frozenset()) -> nn.Module:
    """An ``nn.Module`` computing `analysis`, each leaf registered at its layer name.

    The layers named in `inplace` (see :func:`inplace_layers`) overwrite their first input
    (``nn.ReLU(inplace=True)``, ``out += identity``); the others make new tensors (flatten and
    identity are views either way).

    Raises LayerFailedError if torch rejects a layer's arguments, SpecError if a layer name
    cannot be a torch module path (e.g. ``eval``), MissingExtraError without torch.
    """
    require()
    last_use: dict[str, int] = {}
    for i, layer in enumerate(analysis.layers):
        for producer in layer.inputs:
            last_use[producer] = i
    output = analysis.layers[-1].name
    frees: dict[int, list[str]] = {}
    for producer, i in last_use.items():
        if producer != output:
            frees.setdefault(i, []).append(producer)

    steps: list[Step] = []
    network = _network_class()(analysis.title or analysis.name, steps, output)
    for i, layer in enumerate(analysis.layers):
        builder = TORCH_BUILDERS.get(layer.kind)
        if builder is None:
            raise SpecError(f"no torch builder for the layer kind {layer.kind!r}", _at(layer))
        try:
            module = builder(layer)
            if layer.name in inplace:
                module = _in_place(module, layer)
        except (ValueError, TypeError, RuntimeError) as exc:
            raise LayerFailedError(layer.name, exc) from exc
        _attach(network, layer.name, module, layer)
        # a layer nobody reads (not the output) is freed at once
        free = tuple(frees.get(i, ())) + ((layer.name,) if layer.name not in last_use and layer.name != output else ())
        steps.append((module, layer.name, layer.inputs, free))
    return network


# ---------------------------------------------------------------------------- verify

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
    return layers.KINDS[layer.kind].fvcore(layer.input_shapes, layer.output_shape, Args(layer.args))


def fvcore_activations(layer: LayerResult) -> int:
    """The layer's output elements if fvcore counts them (conv and linear), else 0."""
    return math.prod(layer.output_shape) if layer.kind in ACTIVATION_KINDS else 0


def resolve_device(device: str) -> torch.device:
    """`device` as a torch device; SpecError if it is not cpu or cuda, or no CUDA device is here."""
    require()
    import torch

    try:
        dev = torch.device(device)
    except RuntimeError:
        raise SpecError(f"--device {device}: expected cpu or cuda", Location("--device")) from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise SpecError(f"--device {device}: no CUDA device is available here", Location("--device"))
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise SpecError(
                f"--device {device}: there are only {torch.cuda.device_count()} CUDA devices", Location("--device")
            )
    elif dev.type != "cpu":
        raise SpecError(f"--device {device}: expected cpu or cuda", Location("--device"))
    return dev


def _materialize(analysis: Analysis, dev: torch.device, *, inplace: frozenset[str] = frozenset()) -> nn.Module:
    """The build in eval mode on `dev`, with zero weights and unit running variances.

    Values change neither shapes nor counts, and skipping torch's random initialization
    (built on the meta device, then allocated) saves most of the build time of large nets:
    about 1 s of VGG-16's 138M parameters.
    """
    import torch

    with torch.device("meta"):
        model = build(analysis, inplace=inplace)
    model = model.to_empty(device=dev)
    with torch.no_grad():
        for param in model.parameters():
            param.zero_()
        for name, buffer in model.named_buffers():
            buffer.fill_(1 if name.endswith("running_var") else 0)
    return model.eval()


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
        model = _materialize(analysis, dev)
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


# ---------------------------------------------------------------------------- memory

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
    model = _materialize(analysis, dev, inplace=inplace_layers(analysis, training=training))
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
    _, _, shares = engine.saved_for_backward(analysis, size)
    grad = engine._requires_grad(analysis)
    out = {}
    for layer in analysis.layers:
        rule = layers.KINDS[layer.kind].saved(layer.input_shapes, layer.output_shape, Args(layer.args))
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
    memory = engine.memory(analysis, optimizer)
    measured = measure_saved(analysis, batch=analysis.batch, device=device, threads=threads)
    analytic_layers = analytic_saved_by_layer(analysis)
    differing = tuple(
        (layer.name, analytic_layers[layer.name], measured.by_layer.get(layer.name, 0))
        for layer in analysis.layers
        if measured.failure is None and analytic_layers[layer.name] != measured.by_layer.get(layer.name, 0)
    )
    cuda, note = None, "no CUDA peak: run with --device cuda on a machine with a GPU"
    if measured.failure is None and resolve_device(device).type == "cuda":
        cuda = _cuda_peaks(analysis, device, optimizer, memory)
        note = "torch.cuda.max_memory_allocated, in excess of what was allocated before each run"
    peak_measured = measure_peak_inference(analysis, device, threads) if peak and measured.failure is None else None
    return MemoryCheck(
        name=analysis.name,
        device=measured.device,
        batch=analysis.batch,
        dtype=analysis.dtype,
        analytic=memory.saved_activation_bytes,
        measured=None if measured.failure else measured.bytes,
        layers=differing,
        in_place=tuple(sorted(measured.in_place ^ inplace_layers(analysis, training=True)))
        if measured.failure is None
        else (),
        cuda=cuda,
        cuda_note=note,
        failure=measured.failure,
        seconds=time.perf_counter() - start,
        peak_analytic=memory.peak_inference_bytes,
        peak=peak_measured,
    )


def _cuda_peaks(analysis: Analysis, device: str, optimizer: str, memory: engine.Memory) -> CudaPeaks:
    """Inference: the forward pass's peak above the weights (the input included, as in the
    analysis). Training: weights, gradients, optimizer state and the step's activations, from
    an empty device: one forward, backward and optimizer step."""
    import torch

    dev = resolve_device(device)
    dtype = _torch_dtype(analysis.dtype)

    def make(training: bool) -> nn.Module:
        model = _materialize(analysis, dev, inplace=inplace_layers(analysis, training=training))
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
    return CudaPeaks(memory.peak_inference_bytes, inference, memory.training_bytes, training)


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
    network = _network_class()
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


# ---------------------------------------------------------------------------- presentation

_HEADINGS: Final = {
    "shape": "Output",
    "params": "Params",
    "macs": "MACs",
    "flops": "fvcore flops",
    "activations": "fvcore acts",
}


def _value(v: Any) -> str:
    if v is None:
        return "—"
    return units.shape(v) if isinstance(v, tuple) else units.exact(v)


def _cell(check: Check[Any]) -> str:
    if check.ok:
        return escape(_value(check.analytic))
    return f"[bold red]{escape(_value(check.analytic))} ≠ {escape(_value(check.measured))}[/]"


def table(result: VerifyResult, *, all_rows: bool = False) -> Table:
    """The layers that differ (every layer with `all_rows`) and the totals, each figure as
    ``analytic`` when it agrees and ``analytic ≠ measured`` when it does not."""
    shown = result.layers if all_rows else result.mismatches
    which = "every layer" if all_rows else f"{len(shown)} layer(s) that differ"
    out = Table(
        title=f"{escape(result.name)}: {which} (a figure that differs reads analytic ≠ torch/fvcore)",
        title_justify="left",
    )
    out.add_column("Layer", overflow="fold")
    out.add_column("Kind")
    for figure in FIGURES:
        out.add_column(_HEADINGS[figure], justify="right")
    for row in shown:
        out.add_row(escape(row.name), row.kind, *(_cell(c) for c in row.figures().values()))
    if result.totals is not None:
        totals = result.totals.figures()
        out.add_section()
        out.add_row("[bold]total[/]", "", "", *(_cell(totals[f]) for f in FIGURES[1:]))
    return out


def unsupported_line(result: VerifyResult) -> str:
    """fvcore's unsupported operators: shown, not hidden (fvcore counts them as 0; so does the convention)."""
    if not result.unsupported_ops:
        return "fvcore met no operator it does not count"
    ops = ", ".join(f"{op} ×{n}" for op, n in result.unsupported_ops.items())
    return f"fvcore does not count (0 in its convention): {escape(ops)}"


def verdict(result: VerifyResult) -> str:
    """One line: agreement with the totals, or what differs."""
    where = f"({result.seconds:.1f} s, {result.device}, batch {result.batch})"
    name = escape(result.name)
    if result.failure is not None:
        return f"[bold red]✗ {name}[/]: {escape(result.failure)} {where}"
    assert result.totals is not None
    if result.ok:
        t = result.totals
        figures = " · ".join(
            f"{label} {units.exact(check.analytic)}"
            for label, check in (
                ("params", t.params),
                ("MACs", t.macs),
                ("fvcore flops", t.flops),
                ("fvcore acts", t.activations),
            )
        )
        return f"[green]✓ {name}[/]: {len(result.layers)} layers agree with torch + fvcore: {figures} {where}"
    bad = result.mismatches
    differing = sorted({f for row in bad for f in row.differs}, key=FIGURES.index)
    parts = [f"{len(bad)} of {len(result.layers)} layers differ" + (f" in {', '.join(differing)}" if bad else "")]
    if result.totals.differs:
        parts.append(f"totals differ in {', '.join(result.totals.differs)}")
    return f"[bold red]✗ {name}[/]: {'; '.join(parts)} {where}"


def memory_verdict(check: MemoryCheck) -> str:
    """One line: the saved-for-backward bytes both ways, their difference, and the CUDA peaks or why none."""
    where = f"({check.seconds:.1f} s, {check.device}, batch {check.batch}, {check.dtype})"
    name = escape(check.name)
    if check.failure is not None or check.measured is None:
        return f"[bold red]✗ {name}[/] memory: {escape(check.failure or 'not measured')} {where}"
    diff, rel = check.difference or 0, check.relative or 0.0
    saved = (
        f"saved for backward {units.human_bytes(check.analytic)} ({units.exact(check.analytic)} B), "
        f"torch {units.exact(check.measured)} B: "
        + ("equal" if diff == 0 else f"{diff:+,} B ({rel:+.3%}, tolerance ±{MEMORY_TOLERANCE:.0%})")
    )
    notes = []
    if check.layers:
        first, analytic, measured = check.layers[0]
        notes.append(f"{len(check.layers)} layer(s) differ, first {escape(first)}: {analytic:,} ≠ {measured:,} B")
    if check.in_place:
        notes.append(f"in place in only one of analysis and build: {escape(', '.join(check.in_place[:5]))}")
    if check.peak is not None:
        p = check.peak
        notes.append(
            f"inference peak {units.human_bytes(check.peak_analytic)}, torch: {escape(p.failure)}"
            if p.failure is not None
            else f"inference peak {units.human_bytes(check.peak_analytic)} ({units.exact(check.peak_analytic)} B), "
            f"torch's live storages {units.exact(p.held)} B: "
            + ("equal" if check.peak_ok else f"{p.held - check.peak_analytic:+,} B")
            + f" ({units.exact(p.allocated)} B with the caller's input)"
        )
    if check.cuda is not None:
        c = check.cuda
        notes.append(
            f"CUDA peaks (max_memory_allocated): inference {units.human_bytes(c.inference_measured)} vs analytic "
            f"{units.human_bytes(c.inference_analytic)}, training step {units.human_bytes(c.training_measured)} "
            f"vs analytic {units.human_bytes(c.training_analytic)}"
        )
    else:
        notes.append(escape(check.cuda_note))
    mark = f"[green]✓ {name}[/]" if check.ok and check.peak_ok is not False else f"[bold red]✗ {name}[/]"
    return f"{mark} memory: {saved}; {'; '.join(notes)} {where}"
