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
  are exact integers, so every comparison is an equality.
"""

from __future__ import annotations

import functools
import importlib
import math
import time
import warnings
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar

from rich.markup import escape
from rich.table import Table

from archcost import layers, units
from archcost.engine import INPUT, Analysis, LayerResult
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
        """A conv with padding (left, right, top, bottom), for 'same' with an odd total padding.

        torch's own ``padding='same'`` traces as ``aten::_convolution_mode``, which fvcore does
        not count; this pads like torch does (the extra row and column at the bottom and right)
        and then runs an ordinary convolution.
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
                f"pads (left, right, top, bottom)={self.pads}"
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
        pads = (left, totals[1] - left, top, totals[0] - top)
        return _padded_conv_class()(padding=(0, 0), pads=pads, **common)
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


def build(analysis: Analysis) -> nn.Module:
    """An ``nn.Module`` computing `analysis`, each leaf registered at its layer name.

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


@dataclass(frozen=True)
class LayerCheck:
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

    @property
    def differs(self) -> tuple[str, ...]:
        """The figures that do not match."""
        return tuple(name for name, check in self.figures().items() if not check.ok)

    @property
    def ok(self) -> bool:
        return not self.differs


@dataclass(frozen=True)
class TotalsCheck:
    """Whole-network sums compared: params, MACs (vs fvcore's conv+linear part), fvcore flops, activations."""

    params: Check[int]
    macs: Check[int]
    flops: Check[int]
    activations: Check[int]

    def figures(self) -> dict[str, Check[int]]:
        return {"params": self.params, "macs": self.macs, "flops": self.flops, "activations": self.activations}

    @property
    def differs(self) -> tuple[str, ...]:
        return tuple(name for name, check in self.figures().items() if not check.ok)

    @property
    def ok(self) -> bool:
        return not self.differs


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


def _materialize(analysis: Analysis, dev: torch.device) -> nn.Module:
    """The build in eval mode on `dev`, with zero weights and unit running variances.

    Values change neither shapes nor counts, and skipping torch's random initialization
    (built on the meta device, then allocated) saves most of the build time of large nets:
    about 1 s of VGG-16's 138M parameters.
    """
    import torch

    with torch.device("meta"):
        model = build(analysis)
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
