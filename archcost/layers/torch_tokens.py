"""torch modules for the token kinds (:mod:`archcost.layers.tokens`): self-attention written with
explicit matmuls, a class token, a position embedding, layer scale, stochastic depth, LayerNorm over
the channels of a map, and the conversions between maps and token sequences.

Imports torch: only the kinds' torch builders import this module, inside their function bodies, so
the catalog itself loads without torch. Parameter names follow torchvision's where it has them
(``in_proj_weight``, ``in_proj_bias``, ``class_token``, ``pos_embedding``, ``layer_scale``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn


class SelfAttention(nn.Module):
    """Multi-head self-attention on a (batch, N, D) token sequence, computed with explicit matmuls.

    torch's ``scaled_dot_product_attention`` is counted neither by fvcore nor, on CPU, by
    ``FlopCounterMode``; written out, the two matmuls Q·Kᵀ and A·V appear to both as ``aten::matmul``
    (bmm). The packed projection is ``in_proj_weight`` (3D × D) as in ``nn.MultiheadAttention``. The
    packed q, k, v are made contiguous once, so that what autograd saves does not depend on the
    batch: the input, that (3·N·D) copy, the softmax output (heads·N²) and the merged heads (N·D).
    The output projection is ``out_proj_weight`` and ``out_proj_bias`` (torchvision: ``out_proj.weight``).
    """

    def __init__(self, dim: int, heads: int, *, qkv_bias: bool, proj_bias: bool) -> None:
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.scale = self.head_dim**-0.5
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim)) if qkv_bias else None
        self.out_proj_weight = nn.Parameter(torch.empty(dim, dim))  # parameters, not an nn.Linear: the
        self.out_proj_bias = nn.Parameter(torch.zeros(dim)) if proj_bias else None  # layer stays one leaf
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.xavier_uniform_(self.out_proj_weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, n, dim = x.shape
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)
        qkv = qkv.view(batch, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4).contiguous()
        q, k, v = qkv.unbind(0)
        scores = torch.matmul(q, k.transpose(-2, -1)) * self.scale
        attention = scores.softmax(dim=-1)
        heads = torch.matmul(attention, v).transpose(1, 2).reshape(batch, n, dim)
        return F.linear(heads, self.out_proj_weight, self.out_proj_bias)

    def extra_repr(self) -> str:
        return f"dim={self.heads * self.head_dim}, heads={self.heads}, qkv_bias={self.in_proj_bias is not None}"


class ClassToken(nn.Module):
    """Prepends a learned token (``class_token``, 1 × 1 × D) to a (batch, N, D) sequence."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)


class PositionEmbedding(nn.Module):
    """Adds a learned tensor of the input's shape (``pos_embedding``), broadcast over the batch."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.pos_embedding = nn.Parameter(torch.empty(1, *shape).normal_(std=0.02))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pos_embedding


class LayerScale(nn.Module):
    """Multiplies each channel (a map's C, a token's D) by a learned factor, as ConvNeXt's layer_scale."""

    def __init__(self, channels: int, init: float, *, on_map: bool) -> None:
        super().__init__()
        shape = (channels, 1, 1) if on_map else (channels,)
        self.layer_scale = nn.Parameter(torch.full(shape, init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer_scale * x


class StochasticDepth(nn.Module):
    """torchvision's ``StochasticDepth(p, "row")``: in training, each sample's whole residual branch is
    dropped with probability p and the survivors scaled by 1/(1 − p); the identity at inference."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        noise = torch.empty((x.shape[0],) + (1,) * (x.dim() - 1), dtype=x.dtype, device=x.device)
        noise = noise.bernoulli_(survival)
        if survival > 0.0:
            noise.div_(survival)
        return x * noise

    def extra_repr(self) -> str:
        return f"p={self.p}, mode=row"


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of a (batch, C, H, W) map at every position, as torchvision's
    ConvNeXt writes it (permute to channels last, normalize, permute back), the result made
    contiguous so that a flatten after it is a view, as the analysis assumes."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2).contiguous()


class ToTokens(nn.Module):
    """A (batch, C, H, W) map as a (batch, H·W, C) token sequence, copied channels last.

    torchvision's ViT and ConvNeXt permute (a strided view); a linear reading such a view copies it
    before its matmul and saves the copy, so the copy is made here, once, where the analysis puts it.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2).transpose(1, 2).contiguous()


class ToMap(nn.Module):
    """A (batch, H·W, C) token sequence as a (batch, C, H, W) map, copied channels first (as :class:`ToTokens`)."""

    def __init__(self, height: int, width: int) -> None:
        super().__init__()
        self.height, self.width = height, width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(1, 2).reshape(x.shape[0], -1, self.height, self.width).contiguous()

    def extra_repr(self) -> str:
        return f"{self.height}×{self.width}"


class SelectToken(nn.Module):
    """One token of a (batch, N, D) sequence as a (batch, D) vector: ``x[:, index]``, a view."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, self.index]

    def extra_repr(self) -> str:
        return f"index={self.index}"


class WindowAttention(nn.Module):
    """Swin's (shifted) window attention on a (batch, H·W, C) token sequence, with explicit matmuls.

    As torchvision's ``shifted_window_attention``: the H×W grid is padded to a multiple of the window,
    rolled by −shift (a shift is 0 along an axis the window covers), cut into windows of w×w tokens,
    attended within each window with a learned relative-position bias (``relative_position_bias_table``,
    (2w − 1)² × heads, indexed by the non-trainable ``relative_position_index``) and, when shifted, a mask
    that keeps regions apart; then put back. The windowed tokens, the contiguous Q, K, V, the softmax
    output and the merged heads are what autograd saves.
    """

    relative_position_index: torch.Tensor
    mask: torch.Tensor

    def __init__(
        self,
        dim: int,
        heads: int,
        window: int,
        shift: tuple[int, int],
        grid: tuple[int, int],
        *,
        qkv_bias: bool,
        proj_bias: bool,
    ) -> None:
        super().__init__()
        self.heads, self.window, self.shift, self.grid = heads, window, shift, grid
        self.head_dim = dim // heads
        self.scale = self.head_dim**-0.5
        self.qkv_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.qkv_bias = nn.Parameter(torch.zeros(3 * dim)) if qkv_bias else None
        self.proj_weight = nn.Parameter(torch.empty(dim, dim))
        self.proj_bias = nn.Parameter(torch.zeros(dim)) if proj_bias else None
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        nn.init.xavier_uniform_(self.qkv_weight)
        nn.init.xavier_uniform_(self.proj_weight)
        coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
        relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window - 1)
        index = relative[:, :, 0] * (2 * window - 1) + relative[:, :, 1]
        self.register_buffer("relative_position_index", index.flatten(), persistent=False)
        padded = (-(-grid[0] // window) * window, -(-grid[1] // window) * window)
        self.register_buffer("mask", self._mask(padded), persistent=False)

    def _mask(self, padded: tuple[int, int]) -> torch.Tensor:
        """−100 between tokens of a shifted window that come from different regions (torchvision's)."""
        w, (sh, sw) = self.window, self.shift
        regions = torch.zeros(padded)
        count = 0
        for rows in ((0, padded[0] - w), (padded[0] - w, padded[0] - sh), (padded[0] - sh, padded[0])):
            for cols in ((0, padded[1] - w), (padded[1] - w, padded[1] - sw), (padded[1] - sw, padded[1])):
                regions[rows[0] : rows[1], cols[0] : cols[1]] = count
                count += 1
        windows = regions.view(padded[0] // w, w, padded[1] // w, w).permute(0, 2, 1, 3).reshape(-1, w * w)
        mask = windows[:, None, :] - windows[:, :, None]
        return mask.masked_fill(mask != 0, -100.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, dim = x.shape
        (height, width), w, (sh, sw) = self.grid, self.window, self.shift
        x = x.view(batch, height, width, dim)
        pad_h, pad_w = (-height) % w, (-width) % w
        if pad_h or pad_w:
            x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
        ph, pw = height + pad_h, width + pad_w
        if sh or sw:
            x = torch.roll(x, shifts=(-sh, -sw), dims=(1, 2))
        windows = (ph // w) * (pw // w)
        x = x.view(batch, ph // w, w, pw // w, w, dim).permute(0, 1, 3, 2, 4, 5).reshape(batch * windows, w * w, dim)
        qkv = F.linear(x, self.qkv_weight, self.qkv_bias)
        qkv = qkv.view(batch * windows, w * w, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4).contiguous()
        q, k, v = qkv.unbind(0)
        scores = torch.matmul(q, k.transpose(-2, -1)) * self.scale
        bias = self.relative_position_bias_table[self.relative_position_index]
        scores = scores + bias.view(w * w, w * w, self.heads).permute(2, 0, 1)
        if sh or sw:
            scores = scores.view(batch, windows, self.heads, w * w, w * w) + self.mask[None, :, None]
            scores = scores.view(batch * windows, self.heads, w * w, w * w)
        attention = scores.softmax(dim=-1)
        out = torch.matmul(attention, v).transpose(1, 2).reshape(batch * windows, w * w, dim)
        out = F.linear(out, self.proj_weight, self.proj_bias)
        out = out.view(batch, ph // w, pw // w, w, w, dim).permute(0, 1, 3, 2, 4, 5).reshape(batch, ph, pw, dim)
        if sh or sw:
            out = torch.roll(out, shifts=(sh, sw), dims=(1, 2))
        return out[:, :height, :width].reshape(batch, height * width, dim)

    def extra_repr(self) -> str:
        return f"heads={self.heads}, window={self.window}, shift={self.shift}, grid={self.grid}"


class PatchMerging(nn.Module):
    """Swin's patch merging without its norm and linear: each 2×2 group of tokens of an H×W grid
    concatenated into one token of 4C (the grid padded to even sides), as torchvision's
    ``_patch_merging_pad``."""

    def __init__(self, grid: tuple[int, int]) -> None:
        super().__init__()
        self.grid = grid

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, dim = x.shape
        height, width = self.grid
        x = F.pad(x.view(batch, height, width, dim), (0, 0, 0, width % 2, 0, height % 2))
        parts = [x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]]
        merged = torch.cat(parts, -1)
        return merged.reshape(batch, -1, 4 * dim)

    def extra_repr(self) -> str:
        return f"grid={self.grid}"
