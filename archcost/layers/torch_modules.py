"""torch modules the kinds' builders need beyond ``torch.nn``: a parameter-free function module and a
conv that pads like torch's ``padding='same'`` in operators fvcore counts.

Imports torch: only the kinds' torch builders import this module, inside their function bodies, so
the catalog itself loads without torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn


class Op(nn.Module):
    """A parameter-free module applying `fn` to its inputs (merges, channel shuffle, slices)."""

    def __init__(self, kind: str, fn: Callable[..., torch.Tensor], note: str = "") -> None:
        super().__init__()
        self.kind, self.fn, self.note = kind, fn, note

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return self.fn(*xs)

    def extra_repr(self) -> str:
        return f"{self.kind}{f', {self.note}' if self.note else ''}"


class PaddedConv2d(nn.Conv2d):
    """A conv for 'same' with an odd total padding: `pads` (left, right, top, bottom) first, then
    the convolution's own symmetric padding.

    torch's own ``padding='same'`` traces as ``aten::_convolution_mode``, which fvcore does not
    count; this does what that operator does (Convolution.cpp): pad a copy by the odd row and
    column only (bottom, right), then run an ordinary convolution with the rest of the padding,
    so it computes, and saves for backward, the same tensors.
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
