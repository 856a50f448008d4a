"""What each torch operation is in archcost's terms: a traced graph (:mod:`.trace`) into a graph of
catalog layers (:class:`Op`), each with its kind, its arguments, the layers it reads and the shape torch
gave it.

Owns the table from torch modules, functions and tensor methods to catalog kinds (:data:`MODULES`,
:data:`FUNCTIONS`, :data:`METHODS`) and the rules for reshapes (a chain of views, transposes and
permutes is replayed on a small index tensor and recognised as a whole: a channel shuffle, tokens
from a map and back, or nothing at all). An operation it cannot map raises :class:`UnmappedError`,
one line naming the operation and the module path where it occurs; it never guesses.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import torch
import torch.nn.functional as F  # noqa: N812
from torch import fx, nn

from archcost import layers
from archcost.errors import Location, SpecError
from archcost.importer.trace import Traced, qualified, scope_of

INPUT: Final = "input"
"""The id of the network's input in :attr:`Op.inputs` (the engine's name for it too)."""


class UnmappedError(SpecError):
    """An operation archcost has no kind for, or uses in a way no kind computes."""


@dataclass
class Op:
    """One layer of the imported network."""

    id: str
    path: str
    """The layer's name as a dotted path: the module path for a module, its scope and the operation's name
    for a function (``layer1.0.add``)."""
    kind: str
    args: dict[str, Any]
    inputs: tuple[str, ...]
    shape: tuple[int, ...]
    """The output shape torch gave it, one sample, in archcost's layout."""
    what: str
    """The torch operation, for messages: ``nn.Conv2d``, ``torch.cat``."""
    module: str = ""
    """The module path when the layer is one module's call (for per-module figures)."""


@dataclass(frozen=True)
class Data:
    """A tensor computed from the input: the layer that made it and how its axes are laid out."""

    op: str
    layout: str
    """``map`` (C, H, W), ``vec`` (N,), ``tok`` (N, D) or ``nhwc`` (H, W, C): tokens on a grid."""
    shape: tuple[int, ...]
    """Its shape in torch, with the batch of one."""


@dataclass(frozen=True)
class Pending:
    """A reshape in progress: the tensor it started from and the torch calls since, replayed when it ends."""

    source: Data
    steps: tuple[tuple[str, tuple[Any, ...]], ...]


@dataclass(frozen=True)
class Pieces:
    """The result of ``chunk``/``split`` along channels: each piece's channel range."""

    source: Data
    ranges: tuple[tuple[int, int], ...]


@dataclass
class Graph:
    """The imported network: its layers in execution order and the one it ends with."""

    ops: list[Op] = field(default_factory=list)
    output: str = INPUT
    input_shape: tuple[int, ...] = ()
    unused: dict[str, int] = field(default_factory=dict)
    """Modules with parameters the forward pass never reaches (an auxiliary head), with their parameters."""


def _name(target: Any) -> str:
    if isinstance(target, str):
        return target
    module = getattr(target, "__module__", "") or ""
    name = getattr(target, "__name__", str(target))
    if module.startswith("torch.nn.functional"):
        return f"F.{name}"
    if module in ("_operator", "operator"):
        return {"add": "+", "iadd": "+=", "mul": "*", "imul": "*=", "truediv": "/", "getitem": "[]"}.get(name, name)
    return f"torch.{name}" if "torch" in module or module == "" else f"{module}.{name}"


def _sample_shape(value: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in value.shape[1:])


def _layout_of(shape: tuple[int, ...]) -> str:
    return {1: "vec", 2: "tok", 3: "map"}.get(len(shape), "")


def _archcost_shape(shape: tuple[int, ...], layout: str) -> tuple[int, ...]:
    if layout == "nhwc":
        return (shape[0] * shape[1], shape[2])
    return shape


class _Mapper:
    def __init__(self, traced: Traced) -> None:
        self.traced = traced
        self.values: dict[fx.Node, Any] = {}
        self.graph = Graph()
        self.paths: dict[str, int] = {}
        self.ids = 0

    # ------------------------------------------------------------------ helpers

    def fail(self, node: fx.Node, message: str) -> UnmappedError:
        where = node.target if node.op == "call_module" else scope_of(node)
        place = f" at '{where}'" if where else " at the top level"
        return UnmappedError(f"cannot import {message}{place}", Location(self.traced.source))

    def unmapped(self, node: fx.Node, what: str, why: str = "") -> UnmappedError:
        return self.fail(node, f"{what}{f' ({why})' if why else ''}: archcost has no layer kind for it")

    def path_for(self, node: fx.Node, short: str) -> str:
        base = str(node.target) if node.op == "call_module" else ".".join(p for p in (scope_of(node), short) if p)
        return self.unique(base)

    def unique(self, base: str) -> str:
        count = self.paths.get(base, 0)
        self.paths[base] = count + 1
        return base if count == 0 else f"{base}_{count}"

    def emit(
        self,
        node: fx.Node,
        kind: str,
        args: dict[str, Any],
        inputs: tuple[Data, ...],
        *,
        short: str,
        layout: str | None = None,
        shape: tuple[int, ...] | None = None,
        path: str | None = None,
    ) -> Data:
        if layers.lookup(kind) is None:
            raise self.unmapped(node, _what(node, self.traced), f"needs the layer kind '{kind}'")
        value = self.traced.values[node]
        if isinstance(value, tuple):  # nn.MultiheadAttention: (output, weights)
            value = value[0]
        torch_shape = _sample_shape(value) if shape is None else shape
        layout = layout or _layout_of(torch_shape)
        self.ids += 1
        op = Op(
            id=f"n{self.ids}",
            path=self.path_for(node, short) if path is None else self.unique(path),
            kind=kind,
            args=args,
            inputs=tuple(d.op for d in inputs),
            shape=_archcost_shape(torch_shape, layout),
            what=_what(node, self.traced),
            module=(str(node.target) if path is None else path) if node.op == "call_module" else "",
        )
        self.graph.ops.append(op)
        return Data(op.id, layout, tuple(int(d) for d in value.shape) if shape is None else (1, *shape))

    def data_args(self, node: fx.Node) -> list[Any]:
        """The node's arguments that are computed from the input (data, pending reshapes, pieces)."""
        found: list[Any] = []

        def visit(a: Any) -> Any:
            v = self.values.get(a)
            if isinstance(v, Data | Pending | Pieces):
                found.append(v)
            return a

        fx.node.map_arg((node.args, node.kwargs), visit)
        return found

    def one(self, node: fx.Node) -> Data:
        found = self.data_args(node)
        if len(found) != 1 or not isinstance(found[0], Data):
            if any(isinstance(f, Pending) for f in found):
                raise self.fail(node, f"{_what(node, self.traced)} on a tensor reshaped to {self.shape_text(node)}")
            raise self.unmapped(node, _what(node, self.traced), "on several computed tensors")
        first = node.args[0] if node.args else None
        if not (isinstance(first, fx.Node) and self.values.get(first) is found[0]):
            raise self.unmapped(node, _what(node, self.traced), "with the computed tensor not first")
        data = found[0]
        assert isinstance(data, Data)
        return data

    def shape_text(self, node: fx.Node) -> str:
        value = self.traced.values.get(node)
        return "×".join(str(d) for d in value.shape[1:]) if isinstance(value, torch.Tensor) else "?"

    # ------------------------------------------------------------------ the walk

    def run(self) -> Graph:
        for node in self.traced.graph.nodes:
            if node.op == "placeholder" and self.graph.input_shape:
                if isinstance(self.traced.values[node], torch.Tensor):
                    raise self.fail(node, "a module with several inputs")
                self.values[node] = None  # an optional argument left at its default (a mask: None)
            elif node.op == "placeholder":
                shape = _sample_shape(self.traced.values[node])
                self.graph.input_shape = shape
                self.values[node] = Data(INPUT, _layout_of(shape), (1, *shape))
            elif node.op == "output":
                result = node.args[0]
                value = self.values.get(result) if isinstance(result, fx.Node) else None
                if not isinstance(value, Data):
                    raise self.fail(node, "an output that is not one tensor computed from the input")
                self.graph.output = value.op
            elif node.op == "get_attr" or not self.data_args(node) or not _is_tensor(self.traced.values[node]):
                self.values[node] = None  # a constant: a parameter, a size, a number
            else:
                self.values[node] = self.map(node)
        return self.graph

    def map(self, node: fx.Node) -> Any:
        if node.op == "call_module":
            module = self.traced.modules[str(node.target)]
            whole = WHOLE_MODULES.get(qualified(type(module)))
            if whole is not None:
                return whole(self, node, module)
            for cls in type(module).__mro__:
                handler = MODULES.get(cls)
                if handler is not None:
                    return handler(self, node, module)
            raise self.unmapped(node, f"the module {type(module).__module__}.{type(module).__name__}")
        if node.op == "call_function":
            fn = FUNCTIONS.get(node.target) or NAMED_FUNCTIONS.get(_qualified(node.target))
            if fn is None:
                raise self.unmapped(node, _what(node, self.traced))
            return fn(self, node)
        if node.op == "call_method":
            first = node.args[0] if node.args and isinstance(node.args[0], fx.Node) else None
            source = self.values.get(first) if first is not None else None
            if isinstance(source, Pending) and node.target not in _RESHAPES and first is not None:
                raise self.fail(node, f"{_what(node, self.traced)} on a tensor reshaped to {self.shape_text(first)}")
            if isinstance(source, Pending) or (isinstance(source, Data) and node.target in _RESHAPES):
                return self.reshape(node, source)
            method = METHODS.get(str(node.target))
            if method is None:
                raise self.unmapped(node, _what(node, self.traced))
            return method(self, node)
        raise self.unmapped(node, _what(node, self.traced))

    # ------------------------------------------------------------------ reshapes

    def reshape(self, node: fx.Node, source: Data | Pending) -> Any:
        """A view, reshape, flatten, permute, transpose or contiguous: pending until it is a layout again."""
        start = source if isinstance(source, Data) else source.source
        steps = (source.steps if isinstance(source, Pending) else ()) + (
            (
                node.target if isinstance(node.target, str) else node.target.__name__,
                tuple(self.concrete(a) for a in node.args[1:]),
            ),
        )
        for key, value in node.kwargs.items():
            steps = (*steps[:-1], (steps[-1][0], (*steps[-1][1], (key, self.concrete(value)))))
        return self.settle(node, start, steps)

    def concrete(self, a: Any) -> Any:
        if isinstance(a, fx.Node):
            v = self.traced.values[a]
            return int(v) if isinstance(v, int | torch.SymInt) else tuple(v) if isinstance(v, torch.Size) else v
        if isinstance(a, list | tuple):
            return type(a)(self.concrete(x) for x in a)
        return a

    def settle(self, node: fx.Node, start: Data, steps: tuple[tuple[str, tuple[Any, ...]], ...]) -> Any:
        source_shape = start.shape
        torch_out = tuple(int(d) for d in self.traced.values[node].shape)
        order = _replay(source_shape, steps, torch_out)
        n = math.prod(source_shape)
        identity = torch.arange(n).reshape(torch_out).equal(order) if math.prod(torch_out) == n else False
        out_sample = torch_out[1:]
        if start.layout == "map":
            c, h, w = source_shape[1:]
            if identity and out_sample == (c * h * w,):
                return self.emit(node, "flatten", {}, (start,), short="flatten", layout="vec")
            if identity and out_sample == (c, h, w):
                return start
            if out_sample == (c, h, w) and identity is False:
                for g in range(2, c + 1):
                    if c % g == 0 and _shuffled(source_shape, g).equal(order):
                        return self.emit(node, "shuffle", {"groups": g}, (start,), short="shuffle", layout="map")
            if out_sample in ((h * w, c), (h, w, c)):
                tokens = torch.arange(n).reshape(source_shape).flatten(2).transpose(1, 2).reshape(torch_out)
                if tokens.equal(order):
                    layout = "tok" if len(out_sample) == 2 else "nhwc"
                    return self.emit(node, "to_tokens", {}, (start,), short="to_tokens", layout=layout)
        if start.layout in ("tok", "nhwc") and len(out_sample) == 3:
            c = out_sample[0]
            h, w = out_sample[1:]
            grid = torch.arange(n).reshape(1, h, w, c).permute(0, 3, 1, 2).reshape(torch_out)
            if grid.equal(order):
                return self.emit(node, "to_map", {"h": h}, (start,), short="to_map", layout="map")
        if identity and torch_out == source_shape:
            return start
        if start.layout == "nhwc" and identity and len(out_sample) == 2:
            return Data(start.op, "tok", torch_out)
        if start.layout == "tok" and identity and len(out_sample) == 3:
            return Data(start.op, "nhwc", torch_out)
        return Pending(start, steps)


def _is_tensor(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return any(isinstance(v, torch.Tensor) for v in value)
    return isinstance(value, torch.Tensor)


def _replay(source_shape: tuple[int, ...], steps: tuple[tuple[str, tuple[Any, ...]], ...], out: tuple[int, ...]) -> Any:
    """Where each element of the result comes from: the reshape steps run on an index tensor."""
    t = torch.arange(math.prod(source_shape)).reshape(source_shape)
    for method, args in steps:
        positional = [a for a in args if not (isinstance(a, tuple) and len(a) == 2 and isinstance(a[0], str))]
        keywords = {a[0]: a[1] for a in args if isinstance(a, tuple) and len(a) == 2 and isinstance(a[0], str)}
        if method in ("view", "reshape") and len(positional) == 1 and isinstance(positional[0], tuple | list):
            positional = list(positional[0])
        t = getattr(t, method)(*positional, **keywords)
    return t.reshape(out) if tuple(t.shape) != out else t


def _shuffled(shape: tuple[int, ...], groups: int) -> Any:
    b, c, h, w = shape
    t = torch.arange(b * c * h * w).reshape(shape)
    return t.view(b, groups, c // groups, h, w).transpose(1, 2).reshape(b, c, h, w)


def _what(node: fx.Node, traced: Traced) -> str:
    if node.op == "call_module":
        module = traced.modules[str(node.target)]
        cls = type(module)
        prefix = "nn" if cls.__module__.startswith("torch.nn") else cls.__module__
        return f"{prefix}.{cls.__name__}"
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    return _name(node.target)


# ---------------------------------------------------------------------------- modules


def _pair(v: Any) -> Any:
    if isinstance(v, tuple | list):
        return list(v) if len(set(v)) > 1 else v[0]
    return v


def _conv_args(m: Any, weight_shape: tuple[int, ...], bias: bool) -> dict[str, Any]:
    args: dict[str, Any] = {"out": int(weight_shape[0]), "kernel": _pair(tuple(weight_shape[2:]))}
    stride, padding, dilation, groups = m["stride"], m["padding"], m["dilation"], m["groups"]
    if _pair(stride) != 1:
        args["stride"] = _pair(stride)
    if padding not in (0, (0, 0), "valid"):
        args["padding"] = padding if isinstance(padding, str) else _pair(padding)
    if _pair(dilation) != 1:
        args["dilation"] = _pair(dilation)
    if groups != 1:
        args["groups"] = int(groups)
    if not bias:
        args["bias"] = False
    return args


def _conv(mapper: _Mapper, node: fx.Node, m: nn.Conv2d) -> Data:
    if type(m) is not nn.Conv2d and type(m).forward is not nn.Conv2d.forward:
        raise mapper.unmapped(node, _what(node, mapper.traced), "a Conv2d with its own forward")
    if m.padding_mode != "zeros":
        raise mapper.unmapped(node, "nn.Conv2d", f"padding_mode={m.padding_mode!r}")
    x = mapper.one(node)
    conf = {"stride": m.stride, "padding": m.padding, "dilation": m.dilation, "groups": m.groups}
    return mapper.emit(node, "conv", _conv_args(conf, tuple(m.weight.shape), m.bias is not None), (x,), short="conv")


def _conv_transpose(mapper: _Mapper, node: fx.Node, m: nn.ConvTranspose2d) -> Data:
    if m.padding_mode != "zeros":
        raise mapper.unmapped(node, "nn.ConvTranspose2d", f"padding_mode={m.padding_mode!r}")
    x = mapper.one(node)
    if len(node.args) > 1 or node.kwargs:
        raise mapper.unmapped(node, "nn.ConvTranspose2d", "with an output_size")
    args: dict[str, Any] = {"out": m.out_channels, "kernel": _pair(m.kernel_size)}
    for key, value, default in (
        ("stride", m.stride, 1),
        ("padding", m.padding, 0),
        ("output_padding", m.output_padding, 0),
        ("dilation", m.dilation, 1),
    ):
        if _pair(value) != default:
            args[key] = _pair(value)
    if m.groups != 1:
        args["groups"] = m.groups
    if m.bias is None:
        args["bias"] = False
    return mapper.emit(node, "conv_transpose", args, (x,), short="conv_transpose")


def _linear(mapper: _Mapper, node: fx.Node, m: nn.Linear) -> Data:
    x = mapper.one(node)
    args: dict[str, Any] = {"out": m.out_features}
    if m.bias is None:
        args["bias"] = False
    return mapper.emit(node, "linear", args, (x,), short="linear", layout=x.layout if x.layout != "map" else None)


def _batchnorm(mapper: _Mapper, node: fx.Node, m: nn.modules.batchnorm._BatchNorm) -> Data:
    x = mapper.one(node)
    if not m.track_running_stats:
        raise mapper.unmapped(node, _what(node, mapper.traced), "without running statistics")
    args: dict[str, Any] = {}
    if m.eps != 1e-5:
        args["eps"] = m.eps
    if m.momentum is not None and m.momentum != 0.1:
        args["momentum"] = m.momentum
    if not m.affine:
        args["affine"] = False
    return mapper.emit(node, "batchnorm", args, (x,), short="bn")


def _layernorm(mapper: _Mapper, node: fx.Node, m: nn.LayerNorm) -> Data:
    x = mapper.one(node)
    shape = mapper.traced.values[node].shape
    if len(m.normalized_shape) != 1 or m.normalized_shape[0] != shape[-1] or x.layout not in ("tok", "nhwc", "vec"):
        raise mapper.unmapped(node, "nn.LayerNorm", f"over {tuple(m.normalized_shape)} of a {x.layout}")
    args: dict[str, Any] = {}
    if m.eps != 1e-5:
        args["eps"] = m.eps
    if not m.elementwise_affine:
        args["affine"] = False
    elif m.bias is None:
        raise mapper.unmapped(node, "nn.LayerNorm", "without a bias")
    return mapper.emit(node, "layernorm", args, (x,), short="ln", layout=x.layout)


def _groupnorm(mapper: _Mapper, node: fx.Node, m: nn.GroupNorm) -> Data:
    x = mapper.one(node)
    args: dict[str, Any] = {"groups": m.num_groups}
    if m.eps != 1e-5:
        args["eps"] = m.eps
    if not m.affine:
        args["affine"] = False
    return mapper.emit(node, "groupnorm", args, (x,), short="gn")


def _simple(kind: str, **fixed: Any) -> Callable[[_Mapper, fx.Node, Any], Data]:
    def handler(mapper: _Mapper, node: fx.Node, m: Any) -> Data:
        x = mapper.one(node)
        return mapper.emit(node, kind, dict(fixed), (x,), short=kind, layout=x.layout)

    return handler


def _leaky(mapper: _Mapper, node: fx.Node, m: nn.LeakyReLU) -> Data:
    x = mapper.one(node)
    args = {} if m.negative_slope == 0.01 else {"slope": m.negative_slope}
    return mapper.emit(node, "leaky_relu", args, (x,), short="leaky_relu", layout=x.layout)


def _hardtanh(mapper: _Mapper, node: fx.Node, m: nn.Hardtanh) -> Data:
    if (m.min_val, m.max_val) != (0.0, 6.0):
        raise mapper.unmapped(node, "nn.Hardtanh", f"min {m.min_val}, max {m.max_val}")
    return _simple("relu6")(mapper, node, m)


def _gelu(mapper: _Mapper, node: fx.Node, m: nn.GELU) -> Data:
    if m.approximate != "none":
        raise mapper.unmapped(node, "nn.GELU", f"approximate={m.approximate!r}")
    return _simple("gelu")(mapper, node, m)


def _softmax(mapper: _Mapper, node: fx.Node, m: nn.Softmax) -> Data:
    return _softmax_on(mapper, node, m.dim)


def _softmax_on(mapper: _Mapper, node: fx.Node, dim: Any) -> Data:
    x = mapper.one(node)
    rank = len(mapper.traced.values[node].shape)
    axis = dim % rank if isinstance(dim, int) else None
    if axis == 1:
        return mapper.emit(node, "softmax", {}, (x,), short="softmax", layout=x.layout)
    if x.layout == "tok" and axis == 2 and layers.lookup("softmax") and layers.lookup("softmax").arg("axis"):  # type: ignore[union-attr]
        return mapper.emit(node, "softmax", {"axis": 1}, (x,), short="softmax", layout="tok")
    raise mapper.unmapped(node, "softmax", f"over dim {dim} of a {x.layout}")


def _passthrough(mapper: _Mapper, node: fx.Node, m: Any) -> Data:
    return mapper.one(node)


def _dropout(mapper: _Mapper, node: fx.Node, m: nn.Dropout) -> Data:
    x = mapper.one(node)
    args = {} if m.p == 0.5 else {"p": m.p}
    return mapper.emit(node, "dropout", args, (x,), short="dropout", layout=x.layout)


def _flatten_module(mapper: _Mapper, node: fx.Node, m: nn.Flatten) -> Data:
    x = mapper.one(node)
    return _flatten_data(mapper, node, x, m.start_dim, m.end_dim)


def _flatten_data(mapper: _Mapper, node: fx.Node, x: Data, start: int, end: int) -> Data:
    rank = len(mapper.traced.values[node].shape)
    if x.layout == "vec":
        return x
    if x.layout == "map" and start == 1 and end in (-1, 3) and rank == 2:
        return mapper.emit(node, "flatten", {}, (x,), short="flatten", layout="vec")
    if x.layout == "map" and start == 2 and end in (-1, 3) and rank == 3:
        raise mapper.unmapped(node, "flatten", "of H×W into a C×HW matrix: transpose it to tokens")
    raise mapper.unmapped(node, "flatten", f"dims {start}..{end} of a {x.layout}")


def _pool_args(kernel: Any, stride: Any, padding: Any, ceil_mode: bool, dilation: Any = 1) -> dict[str, Any]:
    args: dict[str, Any] = {"kernel": _pair(kernel)}
    if stride is not None and _pair(stride) != _pair(kernel) and stride != []:
        args["stride"] = _pair(stride)
    if _pair(padding) != 0:
        args["padding"] = _pair(padding)
    if _pair(dilation) != 1:
        args["dilation"] = _pair(dilation)
    if ceil_mode:
        args["ceil_mode"] = True
    return args


def _maxpool(mapper: _Mapper, node: fx.Node, m: nn.MaxPool2d) -> Data:
    x = mapper.one(node)
    if m.return_indices:
        raise mapper.unmapped(node, "nn.MaxPool2d", "return_indices")
    args = _pool_args(m.kernel_size, m.stride, m.padding, m.ceil_mode, m.dilation)
    return mapper.emit(node, "maxpool", args, (x,), short="maxpool")


def _avgpool(mapper: _Mapper, node: fx.Node, m: nn.AvgPool2d) -> Data:
    x = mapper.one(node)
    if not m.count_include_pad and _pair(m.padding) != 0:
        raise mapper.unmapped(node, "nn.AvgPool2d", "count_include_pad=False with padding")
    if m.divisor_override is not None:
        raise mapper.unmapped(node, "nn.AvgPool2d", "divisor_override")
    return mapper.emit(
        node, "avgpool", _pool_args(m.kernel_size, m.stride, m.padding, m.ceil_mode), (x,), short="avgpool"
    )


def _adaptive(mapper: _Mapper, node: fx.Node, output: Any) -> Data:
    x = mapper.one(node)
    h, w = _sample_shape(mapper.traced.values[node])[1:]
    if (h, w) == (1, 1):
        return mapper.emit(node, "global_avgpool", {}, (x,), short="avgpool")
    return mapper.emit(node, "adaptive_avgpool", {"output": _pair((h, w))}, (x,), short="avgpool")


def _lrn(mapper: _Mapper, node: fx.Node, m: nn.LocalResponseNorm) -> Data:
    x = mapper.one(node)
    return mapper.emit(node, "lrn", {"size": m.size, "alpha": m.alpha, "beta": m.beta, "k": m.k}, (x,), short="lrn")


def _zeropad(mapper: _Mapper, node: fx.Node, m: nn.ZeroPad2d) -> Data:
    x = mapper.one(node)
    return mapper.emit(node, "zeropad", {"padding": list(m.padding)}, (x,), short="pad")


def _upsample_args(mapper: _Mapper, node: fx.Node, mode: str, align_corners: Any) -> dict[str, Any]:
    if mode not in ("nearest", "bilinear"):
        raise mapper.unmapped(node, "upsampling", f"mode {mode!r}")
    h, w = _sample_shape(mapper.traced.values[node])[1:]
    args: dict[str, Any] = {"size": _pair((h, w))}
    if mode != "nearest":
        args["mode"] = mode
    if align_corners:
        args["align_corners"] = True
    return args


def _upsample(mapper: _Mapper, node: fx.Node, m: nn.Upsample) -> Data:
    x = mapper.one(node)
    return mapper.emit(node, "upsample", _upsample_args(mapper, node, m.mode, m.align_corners), (x,), short="upsample")


def _attention(mapper: _Mapper, node: fx.Node, m: nn.MultiheadAttention) -> Data:
    found = mapper.data_args(node)
    query = node.args[0] if node.args else node.kwargs.get("query")
    same = all(a is query for a in list(node.args[:3]) + [node.kwargs.get(k, query) for k in ("key", "value")])
    if not same or len(found) != 3 or not m.batch_first or not m._qkv_same_embed_dim:
        raise mapper.unmapped(
            node, "nn.MultiheadAttention", "other than self-attention, batch first, one embedding size"
        )
    if node.kwargs.get("attn_mask") is not None or node.kwargs.get("key_padding_mask") is not None:
        raise mapper.unmapped(node, "nn.MultiheadAttention", "with a mask")
    x = found[0]
    args: dict[str, Any] = {"heads": m.num_heads}
    if m.in_proj_bias is None:
        args["qkv_bias"] = False
    if m.out_proj.bias is None:
        args["proj_bias"] = False
    if m.bias_k is not None or m.add_zero_attn:
        raise mapper.unmapped(node, "nn.MultiheadAttention", "with bias_k or add_zero_attn")
    return mapper.emit(node, "attention", args, (x,), short="attention", layout="tok")


MODULES: Final[dict[type, Callable[[_Mapper, fx.Node, Any], Any]]] = {
    nn.Conv2d: _conv,
    nn.ConvTranspose2d: _conv_transpose,
    nn.Linear: _linear,
    nn.BatchNorm2d: _batchnorm,
    nn.BatchNorm1d: _batchnorm,
    nn.LayerNorm: _layernorm,
    nn.GroupNorm: _groupnorm,
    nn.ReLU: _simple("relu"),
    nn.ReLU6: _simple("relu6"),
    nn.Hardtanh: _hardtanh,
    nn.LeakyReLU: _leaky,
    nn.Sigmoid: _simple("sigmoid"),
    nn.Tanh: _simple("tanh"),
    nn.Hardsigmoid: _simple("hardsigmoid"),
    nn.Hardswish: _simple("hardswish"),
    nn.SiLU: _simple("silu"),
    nn.GELU: _gelu,
    nn.Softmax: _softmax,
    nn.Dropout: _dropout,
    nn.Dropout2d: _passthrough,
    nn.Identity: _passthrough,
    nn.Flatten: _flatten_module,
    nn.MaxPool2d: _maxpool,
    nn.AvgPool2d: _avgpool,
    nn.AdaptiveAvgPool2d: lambda mapper, node, m: _adaptive(mapper, node, m.output_size),
    nn.LocalResponseNorm: _lrn,
    nn.ZeroPad2d: _zeropad,
    nn.Upsample: _upsample,
    nn.MultiheadAttention: _attention,
}
"""torch modules that are one layer each, by class (a subclass maps as its nearest listed base)."""


# ---------------------------------------------------------------------------- functions and methods


def _arg(node: fx.Node, index: int, key: str, default: Any = None) -> Any:
    if len(node.args) > index:
        return node.args[index]
    return node.kwargs.get(key, default)


def _fn(kind: str) -> Callable[[_Mapper, fx.Node], Data]:
    def handler(mapper: _Mapper, node: fx.Node) -> Data:
        x = mapper.one(node)
        return mapper.emit(node, kind, {}, (x,), short=kind, layout=x.layout)

    return handler


def _fn_gelu(mapper: _Mapper, node: fx.Node) -> Data:
    if _arg(node, 1, "approximate", "none") != "none":
        raise mapper.unmapped(node, "F.gelu", "approximate tanh")
    return _fn("gelu")(mapper, node)


def _fn_hardtanh(mapper: _Mapper, node: fx.Node) -> Data:
    if (_arg(node, 1, "min_val", -1.0), _arg(node, 2, "max_val", 1.0)) != (0.0, 6.0):
        raise mapper.unmapped(node, "F.hardtanh", "other than min 0, max 6")
    return _fn("relu6")(mapper, node)


def _fn_leaky(mapper: _Mapper, node: fx.Node) -> Data:
    x = mapper.one(node)
    slope = _arg(node, 1, "negative_slope", 0.01)
    return mapper.emit(
        node, "leaky_relu", {} if slope == 0.01 else {"slope": slope}, (x,), short="leaky_relu", layout=x.layout
    )


def _fn_softmax(mapper: _Mapper, node: fx.Node) -> Data:
    return _softmax_on(mapper, node, _arg(node, 1, "dim"))


def _fn_alias(mapper: _Mapper, node: fx.Node) -> Data:
    return mapper.one(node)


def _fn_maxpool(mapper: _Mapper, node: fx.Node) -> Data:
    x = mapper.one(node)
    if _arg(node, 6, "return_indices", False):
        raise mapper.unmapped(node, "F.max_pool2d", "return_indices")
    kernel = _arg(node, 1, "kernel_size")
    args = _pool_args(
        kernel,
        _arg(node, 2, "stride") or kernel,
        _arg(node, 3, "padding", 0),
        bool(_arg(node, 5, "ceil_mode", False)),
        _arg(node, 4, "dilation", 1),
    )
    return mapper.emit(node, "maxpool", args, (x,), short="max_pool2d")


def _fn_avgpool(mapper: _Mapper, node: fx.Node) -> Data:
    x = mapper.one(node)
    kernel = _arg(node, 1, "kernel_size")
    padding = _arg(node, 3, "padding", 0)
    if not _arg(node, 5, "count_include_pad", True) and _pair(padding) != 0:
        raise mapper.unmapped(node, "F.avg_pool2d", "count_include_pad=False with padding")
    if _arg(node, 6, "divisor_override") is not None:
        raise mapper.unmapped(node, "F.avg_pool2d", "divisor_override")
    args = _pool_args(kernel, _arg(node, 2, "stride") or kernel, padding, bool(_arg(node, 4, "ceil_mode", False)))
    return mapper.emit(node, "avgpool", args, (x,), short="avg_pool2d")


def _fn_adaptive(mapper: _Mapper, node: fx.Node) -> Data:
    return _adaptive(mapper, node, _arg(node, 1, "output_size"))


def _fn_flatten(mapper: _Mapper, node: fx.Node) -> Data:
    x = mapper.one(node)
    return _flatten_data(mapper, node, x, int(_arg(node, 1, "start_dim", 0)), int(_arg(node, 2, "end_dim", -1)))


def _fn_mean(mapper: _Mapper, node: fx.Node) -> Data:
    x = mapper.one(node)
    dims = _arg(node, 1, "dim")
    dims = tuple(dims) if isinstance(dims, list | tuple) else (dims,)
    keep = bool(_arg(node, 2, "keepdim", False))
    rank = len(mapper.traced.values[node.args[0]].shape)  # type: ignore[index]
    axes = tuple(sorted(int(d) % rank for d in dims))
    if x.layout == "map" and axes == (2, 3):
        pooled = mapper.emit(
            node,
            "global_avgpool",
            {},
            (x,),
            short="mean",
            shape=(x.shape[1], 1, 1),
        )
        if keep:
            return pooled
        return mapper.emit(node, "flatten", {}, (pooled,), short="flatten", layout="vec")
    raise mapper.unmapped(node, "mean", f"over dims {dims} of a {x.layout}")


def _merge(kind: str) -> Callable[[_Mapper, fx.Node], Data]:
    def handler(mapper: _Mapper, node: fx.Node) -> Data:
        found = mapper.data_args(node)
        if any(not isinstance(f, Data) for f in found):
            raise mapper.fail(node, f"{_what(node, mapper.traced)} of a reshaped tensor")
        others = [a for a in list(node.args) + list(node.kwargs.values()) if not isinstance(a, fx.Node)]
        if node.kwargs.get("alpha", 1) != 1 or len(node.args) > 2:
            raise mapper.unmapped(node, _what(node, mapper.traced), "with alpha")
        if len(found) == 1:
            constant = [a for a in node.args if isinstance(a, fx.Node) and mapper.values.get(a) is None]
            return _with_constant(mapper, node, kind, found[0], constant, others)
        layouts = {f.layout for f in found}
        return mapper.emit(node, kind, {}, tuple(found), short="add" if kind == "add" else "mul", layout=layouts.pop())

    return handler


def _with_constant(
    mapper: _Mapper, node: fx.Node, kind: str, x: Data, constant: list[fx.Node], others: list[Any]
) -> Data:
    """`x + p` or `x * p` with p a parameter: a position embedding or a layer scale; `x * 0.17`: a scale."""
    if kind == "multiply" and not constant and len(others) == 1 and _number(others[0]):
        return mapper.emit(node, "scale", {"factor": float(others[0])}, (x,), short="scale", layout=x.layout)
    tensors = [c for c in constant if isinstance(mapper.traced.values[c], torch.Tensor)]
    if len(tensors) == 1 and len(constant) == 1:  # a parameter, or a view of one (timm: gamma.reshape(1, -1, 1, 1))
        p = mapper.traced.values[tensors[0]]
        out = _sample_shape(mapper.traced.values[node])
        shape = tuple(int(d) for d in p.shape)
        while len(shape) > 1 and shape[0] == 1 and len(shape) > len(out):
            shape = shape[1:]
        if kind == "add" and x.layout == "tok" and shape == out:
            return mapper.emit(node, "pos_embedding", {}, (x,), short="pos_embedding", layout="tok")
        channels = out[0] if x.layout == "map" else out[-1]
        per_channel = (channels, 1, 1) if x.layout == "map" else (channels,)
        if kind == "multiply" and shape in (per_channel, (channels,) if x.layout != "map" else per_channel):
            return mapper.emit(node, "layer_scale", {}, (x,), short="layer_scale", layout=x.layout)
    other = repr(others[0]) if others and not constant else "a constant"
    raise mapper.unmapped(node, f"{_what(node, mapper.traced)} of a computed tensor and {other}")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _fn_divide(mapper: _Mapper, node: fx.Node) -> Data:
    """`x / n` with n a number: a scale by 1/n (the mean of n summed tensors)."""
    x = mapper.one(node)
    divisor = node.args[1] if len(node.args) > 1 else None
    if not isinstance(divisor, int | float) or isinstance(divisor, bool) or divisor == 0 or node.kwargs:
        raise mapper.unmapped(node, f"{_what(node, mapper.traced)} of a computed tensor and {divisor!r}")
    return mapper.emit(node, "scale", {"factor": 1 / divisor}, (x,), short="scale", layout=x.layout)


def _fn_cat(mapper: _Mapper, node: fx.Node) -> Data:
    tensors = _arg(node, 0, "tensors")
    dim = _arg(node, 1, "dim", 0)
    values = [mapper.values.get(t) if isinstance(t, fx.Node) else None for t in tensors]
    rank = len(mapper.traced.values[node].shape)
    if all(isinstance(v, Data) for v in values):
        data = tuple(v for v in values if isinstance(v, Data))
        if len(data) == 1:
            return data[0]
        if dim % rank == 1 and all(d.layout == "map" for d in data):
            return mapper.emit(node, "concat", {}, data, short="cat", layout="map")
    if (
        len(tensors) == 2
        and values[0] is None
        and isinstance(values[1], Data)
        and values[1].layout == "tok"
        and dim % rank == 1
    ):
        return mapper.emit(node, "class_token", {}, (values[1],), short="class_token", layout="tok")
    raise mapper.unmapped(
        node, "torch.cat", f"along dim {dim} of {', '.join(getattr(v, 'layout', 'a constant') for v in values)}"
    )


def _fn_pieces(mapper: _Mapper, node: fx.Node) -> Pieces:
    x = mapper.one(node)
    size = _arg(node, 1, "chunks" if node.target in (torch.chunk, "chunk") else "split_size_or_sections")
    dim = _arg(node, 2, "dim", 0)
    if x.layout != "map" or dim not in (1, -3):
        raise mapper.unmapped(node, _what(node, mapper.traced), f"along dim {dim} of a {x.layout}")
    sizes = [int(t.shape[1]) for t in mapper.traced.values[node]]
    starts = [sum(sizes[:i]) for i in range(len(sizes))]
    del size
    return Pieces(x, tuple((s, s + n) for s, n in zip(starts, sizes, strict=True)))


def _fn_getitem(mapper: _Mapper, node: fx.Node) -> Data:
    source, index = node.args[0], node.args[1]
    value = mapper.values.get(source)  # type: ignore[arg-type]
    if (
        isinstance(value, Data)
        and index == 0
        and isinstance(source, fx.Node)
        and source.op == "call_module"
        and isinstance(mapper.traced.modules[str(source.target)], nn.MultiheadAttention)
    ):
        return value  # (output, weights)[0]
    if isinstance(value, Pieces) and isinstance(index, int):
        start, stop = value.ranges[index]
        return _slice(mapper, node, value.source, start, stop)
    if isinstance(value, Data) and isinstance(index, tuple):
        parts = list(index)
        rank = len(mapper.traced.values[source].shape)  # type: ignore[index]
        if value.layout == "map" and len(parts) == 2 and parts[0] == slice(None) and isinstance(parts[1], slice):
            c = mapper.traced.values[source].shape[1]  # type: ignore[index]
            start, stop, step = parts[1].indices(int(c))
            if step == 1:
                return _slice(mapper, node, value, start, stop)
        if value.layout == "map" and len(parts) == 4 and parts[:2] == [slice(None), slice(None)]:
            _, _, h, w = value.shape
            rows, cols = parts[2].indices(h), parts[3].indices(w)
            oh, ow = rows[1] - rows[0], cols[1] - cols[0]
            if rows[2] == cols[2] == 1 and (rows[0], cols[0]) == ((h - oh) // 2, (w - ow) // 2):
                if (oh, ow) == (h, w):
                    return value
                return mapper.emit(node, "crop", {"size": _pair((oh, ow))}, (value,), short="crop", layout="map")
        if (
            value.layout == "tok"
            and len(parts) == 2
            and parts[0] == slice(None)
            and isinstance(parts[1], int)
            and rank == 3
        ):
            return mapper.emit(
                node,
                "select_token",
                {} if parts[1] == 0 else {"index": parts[1]},
                (value,),
                short="select_token",
                layout="vec",
            )
    raise mapper.unmapped(node, "indexing", f"[{index}] of a {getattr(value, 'layout', 'value')}")


def _slice(mapper: _Mapper, node: fx.Node, source: Data, start: int, stop: int) -> Data:
    c = source.shape[1]
    if (start, stop) == (0, c):
        return source
    return mapper.emit(node, "slice", {"start": start, "stop": stop}, (source,), short="slice", layout="map")


def _fn_pad(mapper: _Mapper, node: fx.Node) -> Data:
    """F.pad with zeros: width and height (`padding`), and channels (`channels`, where the kind has it)."""
    x = mapper.one(node)
    pad = list(_arg(node, 1, "pad"))
    mode, value = _arg(node, 2, "mode", "constant"), _arg(node, 3, "value", 0.0)
    if x.layout != "map" or mode != "constant" or value not in (0, 0.0, None) or len(pad) not in (2, 4, 6):
        raise mapper.unmapped(node, "F.pad", f"{mode} {pad} of a {x.layout}")
    if min(pad) < 0:
        raise mapper.unmapped(node, "F.pad", f"cropping by {pad}")
    pad += [0] * (6 - len(pad))
    args: dict[str, Any] = {}
    if any(pad[:4]):
        args["padding"] = pad[:4]
    if any(pad[4:]):
        kind = layers.lookup("zeropad")
        if kind is None or kind.arg("channels") is None:
            raise mapper.unmapped(node, "F.pad", "of channels")
        args["channels"] = pad[4:]
    if not args:
        return x
    return mapper.emit(node, "zeropad", args, (x,), short="pad")


def _fn_conv(mapper: _Mapper, node: fx.Node) -> Data:
    x = mapper.one(node)
    weight, bias = _arg(node, 1, "weight"), _arg(node, 2, "bias")
    if not isinstance(weight, fx.Node) or weight.op != "get_attr":
        raise mapper.unmapped(node, "F.conv2d", "with a computed weight")
    conf = {
        "stride": _arg(node, 3, "stride", 1),
        "padding": _arg(node, 4, "padding", 0),
        "dilation": _arg(node, 5, "dilation", 1),
        "groups": _arg(node, 6, "groups", 1),
    }
    shape = tuple(mapper.traced.values[weight].shape)
    return mapper.emit(node, "conv", _conv_args(conf, shape, bias is not None), (x,), short="conv")


def _fn_linear(mapper: _Mapper, node: fx.Node) -> Data:
    x = mapper.one(node)
    weight, bias = _arg(node, 1, "weight"), _arg(node, 2, "bias")
    if not isinstance(weight, fx.Node) or weight.op != "get_attr":
        raise mapper.unmapped(node, "F.linear", "with a computed weight")
    args: dict[str, Any] = {"out": int(mapper.traced.values[weight].shape[0])}
    if bias is None:
        args["bias"] = False
    return mapper.emit(node, "linear", args, (x,), short="linear", layout=x.layout if x.layout != "map" else None)


def _fn_layer_norm(mapper: _Mapper, node: fx.Node) -> Data:
    x = mapper.one(node)
    shape = tuple(_arg(node, 1, "normalized_shape"))
    weight, bias, eps = _arg(node, 2, "weight"), _arg(node, 3, "bias"), _arg(node, 4, "eps", 1e-5)
    last = mapper.traced.values[node].shape[-1]
    if shape != (last,) or x.layout not in ("tok", "nhwc", "vec") or (weight is None) != (bias is None):
        raise mapper.unmapped(node, "F.layer_norm", f"over {shape} of a {x.layout}")
    args: dict[str, Any] = {} if eps == 1e-5 else {"eps": eps}
    if weight is None:
        args["affine"] = False
    return mapper.emit(node, "layernorm", args, (x,), short="layer_norm", layout=x.layout)


def _fn_batch_norm(mapper: _Mapper, node: fx.Node) -> Data:
    """F.batch_norm at inference with running statistics (timm's BatchNormAct2d)."""
    x = mapper.one(node)
    mean, var = _arg(node, 1, "running_mean"), _arg(node, 2, "running_var")
    weight, bias = _arg(node, 3, "weight"), _arg(node, 4, "bias")
    training, eps = _arg(node, 5, "training", False), _arg(node, 7, "eps", 1e-5)
    if training or mean is None or var is None or (weight is None) != (bias is None):
        raise mapper.unmapped(node, "F.batch_norm", "without running statistics or in training mode")
    args: dict[str, Any] = {} if eps == 1e-5 else {"eps": eps}
    if weight is None:
        args["affine"] = False
    return mapper.emit(node, "batchnorm", args, (x,), short="batch_norm", layout=x.layout)


def _fn_interpolate(mapper: _Mapper, node: fx.Node) -> Data:
    x = mapper.one(node)
    mode = _arg(node, 3, "mode", "nearest")
    args = _upsample_args(mapper, node, mode, _arg(node, 4, "align_corners"))
    return mapper.emit(node, "upsample", args, (x,), short="interpolate")


def _fn_reshape(mapper: _Mapper, node: fx.Node) -> Any:
    found = mapper.data_args(node)
    if len(found) == 1 and isinstance(found[0], Pending):
        return mapper.reshape(node, found[0])
    return mapper.reshape(node, mapper.one(node))


FUNCTIONS: Final[dict[Any, Callable[[_Mapper, fx.Node], Any]]] = {
    F.relu: _fn("relu"),
    torch.relu: _fn("relu"),
    F.relu_: _fn("relu"),
    torch.relu_: _fn("relu"),
    F.relu6: _fn("relu6"),
    F.hardtanh: _fn_hardtanh,
    F.leaky_relu: _fn_leaky,
    torch.sigmoid: _fn("sigmoid"),
    F.sigmoid: _fn("sigmoid"),
    torch.tanh: _fn("tanh"),
    F.tanh: _fn("tanh"),
    F.silu: _fn("silu"),
    F.gelu: _fn_gelu,
    F.hardswish: _fn("hardswish"),
    F.hardsigmoid: _fn("hardsigmoid"),
    F.softmax: _fn_softmax,
    torch.softmax: _fn_softmax,
    F.dropout: _fn_alias,
    F.dropout2d: _fn_alias,
    F.max_pool2d: _fn_maxpool,
    F.avg_pool2d: _fn_avgpool,
    F.adaptive_avg_pool2d: _fn_adaptive,
    torch.flatten: _fn_flatten,
    torch.mean: _fn_mean,
    operator.add: _merge("add"),
    operator.iadd: _merge("add"),
    torch.add: _merge("add"),
    operator.mul: _merge("multiply"),
    operator.imul: _merge("multiply"),
    torch.mul: _merge("multiply"),
    torch.cat: _fn_cat,
    operator.truediv: _fn_divide,
    torch.div: _fn_divide,
    torch.concat: _fn_cat,
    torch.chunk: _fn_pieces,
    torch.split: _fn_pieces,
    operator.getitem: _fn_getitem,
    F.pad: _fn_pad,
    F.conv2d: _fn_conv,
    F.linear: _fn_linear,
    F.interpolate: _fn_interpolate,
    F.layer_norm: _fn_layer_norm,
    F.batch_norm: _fn_batch_norm,
    torch.reshape: _fn_reshape,
    torch.permute: _fn_reshape,
    torch.transpose: _fn_reshape,
}
"""torch functions (and Python operators on tensors) that are one layer each, or none (dropout)."""


def _fn_stochastic_depth(mapper: _Mapper, node: fx.Node) -> Data:
    if _arg(node, 3, "training", True):
        raise mapper.unmapped(node, "stochastic_depth", "in training mode")
    return mapper.one(node)


def _qualified(target: Any) -> str:
    return f"{getattr(target, '__module__', '')}.{getattr(target, '__name__', '')}"


NAMED_FUNCTIONS: Final[dict[str, Callable[[_Mapper, fx.Node], Any]]] = {
    "torchvision.ops.stochastic_depth.stochastic_depth": _fn_stochastic_depth,
}
"""Functions of packages archcost does not import (torchvision's), by module and name."""

_RESHAPES: Final = frozenset(
    {"view", "reshape", "permute", "transpose", "contiguous", "flatten", "squeeze", "unsqueeze"}
)
"""Tensor methods that only move values: replayed by :meth:`_Mapper.reshape`."""

METHODS: Final[dict[str, Callable[[_Mapper, fx.Node], Any]]] = {
    "relu": _fn("relu"),
    "relu_": _fn("relu"),
    "sigmoid": _fn("sigmoid"),
    "tanh": _fn("tanh"),
    "softmax": _fn_softmax,
    "mean": _fn_mean,
    "add": _merge("add"),
    "add_": _merge("add"),
    "mul": _merge("multiply"),
    "mul_": _merge("multiply"),
    "div": _fn_divide,
    "chunk": _fn_pieces,
    "split": _fn_pieces,
    "clone": _fn_alias,
    "detach": _fn_alias,
}
"""Tensor methods that are one layer each (``x.mean((2, 3))``), besides the reshapes."""


# ---------------------------------------------------------------------------- modules mapped whole


def _grid(x: Data) -> tuple[int, int]:
    """The H×W grid of tokens laid out (batch, H, W, C)."""
    return (x.shape[1], x.shape[2])


def _whole_attention(mapper: _Mapper, node: fx.Node, m: Any) -> Data:
    x = mapper.one(node)
    args: dict[str, Any] = {"heads": m.heads}
    if m.in_proj_bias is None:
        args["qkv_bias"] = False
    if m.out_proj_bias is None:
        args["proj_bias"] = False
    return mapper.emit(node, "attention", args, (x,), short="attention", layout="tok")


def _whole_window(mapper: _Mapper, node: fx.Node, m: Any) -> Data:
    x = mapper.one(node)
    args: dict[str, Any] = {"heads": m.heads, "window": m.window, "h": m.grid[0]}
    if max(m.shift):
        args["shift"] = max(m.shift)
    if m.qkv_bias is None:
        args["qkv_bias"] = False
    if m.proj_bias is None:
        args["proj_bias"] = False
    return mapper.emit(node, "window_attention", args, (x,), short="window_attention", layout="tok")


def _whole_merge(mapper: _Mapper, node: fx.Node, m: Any) -> Data:
    x = mapper.one(node)
    return mapper.emit(node, "patch_merge", {"h": m.grid[0]}, (x,), short="patch_merge", layout="tok")


def _none(mapper: _Mapper, value: Any) -> bool:
    """`value` is None or False, or a node that was when traced (an optional argument left at its default)."""
    if isinstance(value, fx.Node):
        value = mapper.traced.values.get(value)
    return value is None or value is False


def _timm_attention(mapper: _Mapper, node: fx.Node, m: Any) -> Data:
    """timm's vision-transformer Attention: packed qkv linear, optional q/k norms, output projection."""
    x = mapper.one(node)
    if x.layout != "tok" or not isinstance(m.q_norm, nn.Identity) or not isinstance(m.k_norm, nn.Identity):
        raise mapper.unmapped(node, "timm Attention", "with q/k normalisation")
    if any(not _none(mapper, v) for v in [*node.args[1:], *node.kwargs.values()]):
        raise mapper.unmapped(node, "timm Attention", "with a mask")
    if getattr(m, "norm", None) is not None and not isinstance(m.norm, nn.Identity):
        raise mapper.unmapped(node, "timm Attention", "with a norm after attention")
    args: dict[str, Any] = {"heads": m.num_heads}
    if m.qkv.bias is None:
        args["qkv_bias"] = False
    if m.proj.bias is None:
        args["proj_bias"] = False
    return mapper.emit(node, "attention", args, (x,), short="attn", layout="tok")


def _tv_window(mapper: _Mapper, node: fx.Node, m: Any) -> Data:
    """torchvision's ShiftedWindowAttention on (batch, H, W, C) tokens."""
    x = mapper.one(node)
    if x.layout != "nhwc" or len(set(m.window_size)) != 1 or len(set(m.shift_size)) != 1:
        raise mapper.unmapped(node, "ShiftedWindowAttention", "on other than a square window of a (H, W, C) grid")
    args: dict[str, Any] = {"heads": m.num_heads, "window": m.window_size[0], "h": _grid(x)[0]}
    if m.shift_size[0]:
        args["shift"] = m.shift_size[0]
    if m.qkv.bias is None:
        args["qkv_bias"] = False
    if m.proj.bias is None:
        args["proj_bias"] = False
    return mapper.emit(node, "window_attention", args, (x,), short="attn", layout="nhwc")


def _tv_patch_merging(mapper: _Mapper, node: fx.Node, m: Any) -> Data:
    """torchvision's PatchMerging: 2×2 tokens concatenated, its LayerNorm, its linear reduction."""
    x = mapper.one(node)
    if x.layout != "nhwc" or not isinstance(m.norm, nn.LayerNorm):
        raise mapper.unmapped(node, "PatchMerging", "on other than a (H, W, C) grid with a LayerNorm")
    h, w = _grid(x)
    c = x.shape[3]
    path = str(node.target)
    grid = (-(-h // 2), -(-w // 2))
    merged = mapper.emit(
        node, "patch_merge", {"h": h}, (x,), short="merge", layout="nhwc", shape=(*grid, 4 * c), path=f"{path}.merge"
    )
    args: dict[str, Any] = {} if m.norm.eps == 1e-5 else {"eps": m.norm.eps}
    normed = mapper.emit(
        node, "layernorm", args, (merged,), short="norm", layout="nhwc", shape=(*grid, 4 * c), path=f"{path}.norm"
    )
    reduce: dict[str, Any] = {"out": m.reduction.out_features}
    if m.reduction.bias is None:
        reduce["bias"] = False
    return mapper.emit(node, "linear", reduce, (normed,), short="reduction", layout="nhwc", path=f"{path}.reduction")


def _encoder_layer(
    mapper: _Mapper, node: fx.Node, m: nn.TransformerEncoderLayer, x: Data | None = None, path: str | None = None
) -> Data:
    """nn.TransformerEncoderLayer as its parts: self-attention, two residual adds, two LayerNorms and the MLP."""
    x = mapper.one(node) if x is None else x
    path = str(node.target) if path is None else path
    if len(node.args) > 1 or any(v is not None for k, v in node.kwargs.items() if k != "is_causal"):
        raise mapper.unmapped(node, "nn.TransformerEncoderLayer", "with a mask")
    attn, act = m.self_attn, m.activation
    if x.layout != "tok" or not attn.batch_first or attn.bias_k is not None or not attn._qkv_same_embed_dim:
        raise mapper.unmapped(node, "nn.TransformerEncoderLayer", "other than batch first on tokens")
    if act is F.relu or isinstance(act, nn.ReLU):
        act_kind = "relu"
    elif (act is F.gelu) or (isinstance(act, nn.GELU) and act.approximate == "none"):
        act_kind = "gelu"
    else:
        raise mapper.unmapped(node, "nn.TransformerEncoderLayer", f"with the activation {act}")
    shape = x.shape[1:]

    def part(
        kind: str, args: dict[str, Any], inputs: tuple[Data, ...], name: str, out: tuple[int, ...] = shape
    ) -> Data:
        return mapper.emit(node, kind, args, inputs, short=name, layout="tok", shape=out, path=f"{path}.{name}")

    def norm(y: Data, name: str, ln: nn.LayerNorm) -> Data:
        return part("layernorm", {} if ln.eps == 1e-5 else {"eps": ln.eps}, (y,), name)

    def attention(y: Data) -> Data:
        args: dict[str, Any] = {"heads": attn.num_heads}
        if attn.in_proj_bias is None:
            args["qkv_bias"] = False
        if attn.out_proj.bias is None:
            args["proj_bias"] = False
        return part("attention", args, (y,), "self_attn")

    def feed_forward(y: Data) -> Data:
        hidden = (shape[0], m.linear1.out_features)
        y = part(
            "linear",
            {"out": m.linear1.out_features, **({} if m.linear1.bias is not None else {"bias": False})},
            (y,),
            "linear1",
            hidden,
        )
        y = part(act_kind, {}, (y,), "activation", hidden)
        return part(
            "linear",
            {"out": m.linear2.out_features, **({} if m.linear2.bias is not None else {"bias": False})},
            (y,),
            "linear2",
        )

    if m.norm_first:
        x = part("add", {}, (x, attention(norm(x, "norm1", m.norm1))), "add")
        return part("add", {}, (x, feed_forward(norm(x, "norm2", m.norm2))), "add_1")
    x = norm(part("add", {}, (x, attention(x)), "add"), "norm1", m.norm1)
    return norm(part("add", {}, (x, feed_forward(x)), "add_1"), "norm2", m.norm2)


def _encoder(mapper: _Mapper, node: fx.Node, m: nn.TransformerEncoder) -> Data:
    """nn.TransformerEncoder: its layers one after the other, then its norm."""
    x = mapper.one(node)
    if len(node.args) > 1 or any(v is not None for k, v in node.kwargs.items() if k != "is_causal"):
        raise mapper.unmapped(node, "nn.TransformerEncoder", "with a mask")
    for i, layer in enumerate(m.layers):
        x = _encoder_layer(mapper, node, layer, x, f"{node.target}.layers.{i}")
    if m.norm is not None:
        x = mapper.emit(
            node,
            "layernorm",
            {} if m.norm.eps == 1e-5 else {"eps": m.norm.eps},
            (x,),
            short="norm",
            layout="tok",
            shape=x.shape[1:],
            path=f"{node.target}.norm",
        )
    return x


MODULES[nn.TransformerEncoderLayer] = _encoder_layer
MODULES[nn.TransformerEncoder] = _encoder


WHOLE_MODULES: Final[dict[str, Callable[[_Mapper, fx.Node, Any], Any]]] = {
    "archcost.layers.torch_tokens.SelfAttention": _whole_attention,
    "archcost.layers.torch_tokens.WindowAttention": _whole_window,
    "archcost.layers.torch_tokens.PatchMerging": _whole_merge,
    "torchvision.models.swin_transformer.ShiftedWindowAttention": _tv_window,
    "torchvision.models.swin_transformer.PatchMerging": _tv_patch_merging,
    "timm.models.vision_transformer.Attention": _timm_attention,
    "timm.layers.attention.Attention": _timm_attention,
}
"""Modules mapped as a whole, by class (see :data:`archcost.importer.trace.WHOLE`)."""


def map_graph(traced: Traced) -> Graph:
    """The traced module as archcost layers; UnmappedError (one line) at the first operation it cannot map."""
    mapper = _Mapper(traced)
    graph = mapper.run()
    _name_single_ops(graph, traced)
    used = {name for name, p in traced.modules[""].named_parameters()}
    del used
    return graph


def _name_single_ops(graph: Graph, traced: Traced) -> None:
    """A function called alone in a module with no submodules (a wrapper such as ``Op``) takes the module's path."""
    by_scope: dict[str, list[Op]] = {}
    for op in graph.ops:
        if not op.module:
            scope = op.path.rpartition(".")[0]
            by_scope.setdefault(scope, []).append(op)
    for scope, ops in by_scope.items():
        module = traced.modules.get(scope)
        if scope and len(ops) == 1 and module is not None and not any(True for _ in module.children()):
            ops[0].path = scope
