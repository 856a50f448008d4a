"""A torch module's own figures, the reference an imported spec must equal: parameters (``sum(p.numel())``),
MACs (half of ``torch.utils.flop_counter.FlopCounterMode``'s count, plus the attention matmuls of a
``scaled_dot_product_attention`` kernel it does not count) and output shape, in total and per leaf module.

Owns :func:`measure`. Runs the module once on a meta tensor of one sample: no weights are allocated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from archcost.errors import Location, SpecError


@dataclass(frozen=True)
class LayerFigures:
    """One leaf module's figures for one sample."""

    path: str
    shape: tuple[int, ...] | None
    params: int
    macs: int


@dataclass(frozen=True)
class ModuleFigures:
    """A module's totals for one sample and its leaf modules in the order they ran."""

    params: int
    macs: int
    output: tuple[int, ...]
    layers: tuple[LayerFigures, ...] = field(default=())
    uncounted_attention_macs: int = 0
    """MACs of attention kernels FlopCounterMode does not count, added to :attr:`macs`."""


_ATTENTION_KERNELS = ("_scaled_dot_product_flash_attention_for_cpu",)


class _Attention(TorchDispatchMode):  # type: ignore[no-untyped-call]
    """Counts the two matmuls (Q·Kᵀ and A·V) of attention kernels that FlopCounterMode misses."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.macs = 0

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        if func._overloadpacket.__name__ in _ATTENTION_KERNELS:
            q, k, v = args[0], args[1], args[2]
            *batch, length, e = q.shape
            source = k.shape[-2]
            self.macs += math.prod(batch) * length * source * (e + v.shape[-1])
        return func(*args, **(kwargs or {}))


def _shape(value: Any) -> tuple[int, ...] | None:
    if isinstance(value, torch.Tensor):
        return tuple(int(d) for d in value.shape[1:])
    return None


def measure(module: nn.Module, input_shape: tuple[int, ...], source: str = "") -> ModuleFigures:
    """`module`'s figures on one sample of `input_shape`, run on the meta device."""
    module = module.eval()
    leaves = {name: m for name, m in module.named_modules() if not any(True for _ in m.children())}
    shapes: dict[str, tuple[int, ...] | None] = {}
    order: list[str] = []

    def hook(name: str) -> Any:
        def record(m: nn.Module, inputs: Any, output: Any) -> None:
            if name not in shapes:  # a module called again (a shared ReLU): its first call
                order.append(name)
                shapes[name] = _shape(output)

        return record

    handles = [m.register_forward_hook(hook(name)) for name, m in leaves.items()]
    device = next((p.device for p in module.parameters()), torch.device("meta"))
    x = torch.empty(1, *input_shape, device=device)
    counter = FlopCounterMode(display=False)
    attention = _Attention()
    try:
        with torch.no_grad(), counter, attention:
            out = module(x)
    except Exception as exc:
        detail = " ".join(str(exc).split())[:300]
        raise SpecError(
            f"the module fails on a {'×'.join(map(str, input_shape))} input: {detail}", Location(source)
        ) from None
    finally:
        for handle in handles:
            handle.remove()
    output = _shape(out)
    if output is None:
        raise SpecError("the module's output is not one tensor", Location(source))
    counts = counter.get_flop_counts()
    per_module: dict[str, int] = {}
    for key, ops in counts.items():
        if key == "Global":
            continue
        _, _, path = key.partition(".")
        per_module[path] = sum(int(v) for v in ops.values()) // 2
    rows = tuple(
        LayerFigures(
            path=name,
            shape=shapes[name],
            params=sum(p.numel() for p in leaves[name].parameters(recurse=False)),
            macs=per_module.get(name, 0),
        )
        for name in order
    )
    return ModuleFigures(
        params=sum(p.numel() for p in module.parameters()),
        macs=counter.get_total_flops() // 2 + attention.macs,
        output=output,
        layers=rows,
        uncounted_attention_macs=attention.macs,
    )
