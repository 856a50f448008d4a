"""Tracing a torch module into a graph with shapes: ``torch.fx`` symbolic tracing, run on meta tensors.

Owns: :func:`trace`, which gives a :class:`Traced` (the fx graph, every node's value as a meta tensor —
its shape — and the module's submodules by path). Nothing here decides what an operation means
(:mod:`.mapping` does). Imports torch: only ``archcost import`` and ``verify --against`` load it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import torch
from torch import fx, nn
from torch.fx import _symbolic_trace

from archcost.errors import Location, SpecError


@dataclass(frozen=True)
class Traced:
    """A module's forward pass as an fx graph, with every node's value on meta tensors."""

    graph: fx.Graph
    values: dict[fx.Node, Any]
    """Each node's result: a meta tensor, a tuple of them, a size or another Python value."""
    modules: dict[str, nn.Module]
    source: str


def scope_of(node: fx.Node) -> str:
    """The module path a node was recorded in (the innermost module whose forward made it), or ''."""
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return ""
    path = list(stack.values())[-1][0]
    return str(path)


def qualified(cls: type) -> str:
    """A class's module and name: ``torchvision.models.swin_transformer.PatchMerging``."""
    return f"{cls.__module__}.{cls.__qualname__}"


WHOLE: Final = frozenset(
    {
        "archcost.layers.torch_tokens.SelfAttention",
        "archcost.layers.torch_tokens.WindowAttention",
        "archcost.layers.torch_tokens.PatchMerging",
        "torchvision.models.swin_transformer.ShiftedWindowAttention",
        "torchvision.models.swin_transformer.PatchMerging",
        "timm.models.vision_transformer.Attention",
        "timm.layers.attention.Attention",
    }
)
"""Modules outside ``torch.nn`` that are mapped as a whole (:mod:`.mapping` knows what they compute)
rather than traced into: attention written with explicit matmuls, Swin's window attention and patch merging."""


class _Tracer(fx.Tracer):
    """fx's tracer; a module torch itself provides (``torch.nn.*``) and those in :data:`WHOLE` are one call."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        if qualified(type(m)) in WHOLE:
            return True
        return super().is_leaf_module(m, module_qualified_name)


class _ConcreteTracer(_Tracer):
    """The same tracer, but every value is also computed on meta tensors while it traces, so that Python code
    branching on sizes (``if x.shape[-1] != 224:``, ``for a, b in zip(x.shape, ...)``) follows the branch this
    input takes. The trace then holds for this input size only, which is the size the import is for.
    Branching on tensor values (``if x.sum() > 0:``) stays impossible: on meta tensors they have none."""

    def __init__(self, input_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.input_shape = input_shape
        self.concrete: dict[fx.Node, Any] = {}
        self.placeholders = 0
        self.computing = False
        """True while a value is computed: the tracer's patches of module calls and attributes step aside."""

    def create_proxy(self, kind: str, target: Any, args: Any, kwargs: Any, *rest: Any, **more: Any) -> fx.Proxy:
        proxy = super().create_proxy(kind, target, args, kwargs, *rest, **more)
        self.computing = True
        try:
            self.concrete[proxy.node] = self._value(kind, target, args, kwargs)
        except Exception:
            pass  # unknown: a branch on it will say so
        finally:
            self.computing = False
        return proxy

    def getattr(self, attr: str, attr_val: Any, parameter_proxy_cache: dict[str, Any]) -> Any:
        if self.computing:
            return attr_val
        return super().getattr(attr, attr_val, parameter_proxy_cache)

    def call_module(self, m: nn.Module, forward: Any, args: Any, kwargs: Any) -> Any:
        if self.computing:
            return forward(*args, **kwargs)
        return super().call_module(m, forward, args, kwargs)

    def _value(self, kind: str, target: Any, args: Any, kwargs: Any) -> Any:
        def concrete(a: Any) -> Any:
            if isinstance(a, fx.Proxy):
                return self.concrete[a.node]
            if isinstance(a, fx.Node):
                return self.concrete[a]
            return a

        values = fx.node.map_aggregate(args, concrete)
        named = fx.node.map_aggregate(kwargs, concrete)
        if kind == "placeholder":
            self.placeholders += 1
            if self.placeholders == 1:
                return torch.empty(1, *self.input_shape, device="meta")
            return values[0] if values else None
        if kind == "get_attr":
            value: Any = self.root
            for part in str(target).split("."):
                value = getattr(value, part)
            return value
        if kind == "call_function":
            return target(*values, **named)
        if kind == "call_method":
            return getattr(values[0], target)(*values[1:], **named)
        if kind == "call_module":  # nn.Module.__call__ as it was before the tracer patched it
            return _symbolic_trace._orig_module_call(self.root.get_submodule(target), *values, **named)
        raise KeyError(kind)

    def to_bool(self, obj: fx.Proxy) -> bool:
        value = self.concrete.get(obj.node)
        if isinstance(value, bool | int) or (isinstance(value, torch.Tensor) and value.device.type != "meta"):
            return bool(value)
        return super().to_bool(obj)

    def iter(self, obj: fx.Proxy) -> Any:
        value = self.concrete.get(obj.node)
        if isinstance(value, tuple | list | torch.Size):
            return iter([obj[i] for i in range(len(value))])  # type: ignore[index]
        return super().iter(obj)


class _Shapes(fx.Interpreter):
    """Runs the graph on meta tensors and keeps every node's value."""

    def __init__(self, module: fx.GraphModule, source: str) -> None:
        super().__init__(module)
        self.values: dict[fx.Node, Any] = {}
        self.source = source

    def run_node(self, n: fx.Node) -> Any:
        try:
            result = super().run_node(n)
        except Exception as exc:
            detail = " ".join(str(exc).split())[:300]
            raise SpecError(
                f"torch fails at {n.op} {_target_name(n)} on meta tensors: {type(exc).__name__}: {detail}",
                Location(self.source, layer=scope_of(n) or n.name),
            ) from None
        self.values[n] = result
        return result


def _target_name(n: fx.Node) -> str:
    target = n.target
    if isinstance(target, str):
        return target
    return str(getattr(target, "__name__", target))


def trace(model: nn.Module, input_shape: tuple[int, ...], source: str) -> Traced:
    """`model` (on the meta device, in eval mode) traced with fx and run on a meta input of one sample.

    If plain symbolic tracing fails (Python control flow on sizes), it traces again computing every value
    on meta tensors as it goes (:class:`_ConcreteTracer`). SpecError if that fails too (control flow on
    tensor values) or torch fails on the input.
    """
    model.eval()
    tracer = _Tracer()
    try:
        graph = tracer.trace(model)
    except Exception:  # Python control flow: try again with the sizes of this input
        tracer = _ConcreteTracer(input_shape)
        try:
            with torch.no_grad():
                graph = tracer.trace(model)
        except Exception as exc:
            detail = " ".join(str(exc).split())[:300]
            raise SpecError(
                f"torch.fx cannot trace the module, even with this input's sizes (Python control flow on tensor "
                f"values?): {type(exc).__name__}: {detail}",
                Location(source),
            ) from None
    gm = fx.GraphModule(tracer.root, graph)
    interpreter = _Shapes(gm, source)
    with torch.no_grad():
        interpreter.run(torch.empty(1, *input_shape, device="meta"))
    return Traced(graph, interpreter.values, dict(model.named_modules()), source)
