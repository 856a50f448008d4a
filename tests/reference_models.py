"""Reference modules for the specs reproduced from torchvision and timm: build one, count it.

The counts are the reference implementation's own, never archcost's: parameters and buffers are
``numel()`` sums over the module, MACs are half of ``torch.utils.flop_counter.FlopCounterMode``'s
count for one forward pass of one sample in eval mode, and the output shape is the forward pass's;
the same per module that holds parameters (a conv, a linear layer, a batch norm), by module path.
The forward pass runs on torch's meta device: tensors with shapes and no data, so a 13-GMAC network
is counted in a second. FlopCounterMode's formulas read only shapes, so the count is the same as on
real data (the test suite compares the two on one network).

torchvision 0.28's compiled operators do not load with this CPU torch (``torchvision::nms`` is
missing), and importing ``torchvision`` registers fake kernels for them in
``torchvision._meta_registrations``: a stub module in its place lets the models import (they never
call those operators). timm imports torchvision, so it needs the same stub. Without either package
the callers are skipped (``pytest.importorskip``), never failed.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from torch import nn

_STUB = "torchvision._meta_registrations"


@dataclass(frozen=True)
class Reference:
    """One reference module's figures for one sample (batch 1)."""

    params: int
    """Trainable parameters: ``sum(p.numel() for p in module.parameters())``."""
    buffers: int
    """Floating-point buffers (batch norm's running mean and variance); the integer
    ``num_batches_tracked`` counters are left out, as archcost leaves them out."""
    macs: int
    """Half of FlopCounterMode's total for one forward pass."""
    output: tuple[int, ...]
    """The output's shape without the batch dimension."""
    layer_params: Mapping[str, int]
    """Parameters of each module that holds some itself (not its children's), by module path."""
    layer_macs: Mapping[str, int]
    """Half of FlopCounterMode's count of each module with parameters that it counts, by module path."""


def _import(package: str) -> types.ModuleType:
    """`package` (torchvision or timm), with the stub in place; skips the test when it is absent."""
    pytest.importorskip("torch")
    if _STUB not in sys.modules and importlib.util.find_spec("torchvision") is not None:
        sys.modules[_STUB] = types.ModuleType(_STUB)
    return pytest.importorskip(package)


def build(source: str, **kwargs: Any) -> nn.Module:
    """The module `source` names, untrained, in eval mode: ``torchvision:NAME`` (a model builder such as
    ``mnasnet1_0``, or a model class such as ``MNASNet``, which `kwargs` configure) or ``timm:NAME``."""
    package, _, name = source.partition(":")
    if package == "torchvision":
        maker = getattr(_import("torchvision").models, name)
        module: nn.Module = maker(**kwargs) if isinstance(maker, type) else maker(weights=None, **kwargs)
    elif package == "timm":
        module = _import("timm").create_model(name, pretrained=False, **kwargs)
    else:
        raise ValueError(f"unknown source {source!r}: torchvision:NAME or timm:NAME")
    return module.eval()


def measure(module: nn.Module, input_shape: tuple[int, ...], *, device: str = "meta") -> Reference:
    """`module`'s params, buffers, MACs (FlopCounterMode / 2) and output shape on one sample, and the
    same per module with parameters; the forward pass runs on `device` (the module is moved there)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    params = sum(p.numel() for p in module.parameters())
    buffers = sum(b.numel() for b in module.buffers() if b.is_floating_point())
    own = {name: sum(p.numel() for p in m.parameters(recurse=False)) for name, m in module.named_modules()}
    layer_params = {name: n for name, n in own.items() if n}
    module = module.to(device)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        out = module(torch.zeros(1, *input_shape, device=device))
    flops = counter.get_total_flops()
    root = type(module).__name__ + "."
    by_module = {
        key.removeprefix(root): sum(counts.values())
        for key, counts in counter.get_flop_counts().items()
        if key.startswith(root)
    }
    assert flops % 2 == 0 and all(v % 2 == 0 for v in by_module.values()), flops
    return Reference(
        params=params,
        buffers=buffers,
        macs=flops // 2,
        output=tuple(out.shape[1:]),
        layer_params=MappingProxyType(layer_params),
        layer_macs=MappingProxyType({name: by_module[name] // 2 for name in layer_params if by_module.get(name)}),
    )


def reference(source: str, input_shape: tuple[int, ...], **kwargs: Any) -> Reference:
    """:func:`measure` of :func:`build`: the figures of the module `source` names."""
    return measure(build(source, **kwargs), input_shape)
