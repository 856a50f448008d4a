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

    SpecError if fx cannot trace it (Python control flow on tensor values) or torch fails on the input.
    """
    model.eval()
    tracer = _Tracer()
    try:
        graph = tracer.trace(model)
    except Exception as exc:
        detail = " ".join(str(exc).split())[:300]
        raise SpecError(f"torch.fx cannot trace the module: {type(exc).__name__}: {detail}", Location(source)) from None
    gm = fx.GraphModule(tracer.root, graph)
    interpreter = _Shapes(gm, source)
    with torch.no_grad():
        interpreter.run(torch.empty(1, *input_shape, device="meta"))
    return Traced(graph, interpreter.values, dict(model.named_modules()), source)
