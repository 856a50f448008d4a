"""ViT and ConvNeXt: the bundled specs against closed-form counts written out here from the papers'
layer lists, and against torchvision's modules themselves (parameters layer by layer, and MACs as half
of torch's FlopCounterMode count).

Networks: vit_b_16, vit_b_32, vit_l_16 (224×224), convnext_tiny, convnext_small, convnext_base, swin_t,
swin_s.

The closed forms never call archcost. The torchvision tests build each model on torch's meta device
(no memory, no arithmetic) and count it with ``torch.utils.flop_counter.FlopCounterMode``: on meta,
torchvision's attention runs scaled_dot_product_attention's math decomposition, whose two batched
matmuls FlopCounterMode counts (``aten.bmm``); on CPU it misses them, which is why the spec's MACs
also equal "half of FlopCounterMode on CPU plus 2·N²·D per layer" (checked below from the bmm part).
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest

from archcost import engine, spec
from archcost.engine import Analysis

VIT = {
    # name: (patch, layers, D, MLP, heads)
    "vit_b_16": (16, 12, 768, 3072, 12),
    "vit_b_32": (32, 12, 768, 3072, 12),
    "vit_l_16": (16, 24, 1024, 4096, 16),
}
CONVNEXT = {
    # name: (widths C, blocks B), §2 of Liu et al. 2022
    "convnext_tiny": ((96, 192, 384, 768), (3, 3, 9, 3)),
    "convnext_small": ((96, 192, 384, 768), (3, 3, 27, 3)),
    "convnext_base": ((128, 256, 512, 1024), (3, 3, 27, 3)),
}
SWIN = {
    # name: (C, depths, heads of stage 1, window), Table 7 of Liu et al. 2021
    "swin_t": (96, (2, 2, 6, 2), 3, 7),
    "swin_s": (96, (2, 2, 18, 2), 3, 7),
}
TORCHVISION = {
    # torchvision's weights metadata (num_params, _ops in GFLOPS = MACs), as printed in its docs
    "vit_b_16": (86_567_656, 17.564),
    "vit_b_32": (88_224_232, 4.409),
    "vit_l_16": (304_326_632, 61.555),
    "convnext_tiny": (28_589_128, 4.456),
    "convnext_small": (50_223_688, 8.684),
    "convnext_base": (88_591_464, 15.355),
    "swin_t": (28_288_354, 4.491),
    "swin_s": (49_606_258, 8.741),
}


def analyze(name: str) -> Analysis:
    return engine.analyze(spec.load(name))


def vit_counts(patch: int, layers: int, d: int, mlp: int, *, image: int = 224, classes: int = 1000) -> tuple[int, int]:
    """ViT (eq. 1–4) with torchvision's layers: patch conv with bias, class token, position embedding,
    pre-norm layers (LayerNorm, attention with biased in/out projections, LayerNorm, MLP with biases), final
    LayerNorm, linear head. MACs: the projections, Q·Kᵀ and A·V (T²·D each) and the MLP per layer."""
    side = image // patch
    n = side * side
    t = n + 1
    params = patch * patch * 3 * d + d  # conv_proj
    params += d + t * d  # class token, position embedding
    per_layer = 2 * d + (4 * d * d + 4 * d) + 2 * d + (d * mlp + mlp + mlp * d + d)
    params += layers * per_layer + 2 * d + d * classes + classes
    macs = n * patch * patch * 3 * d
    macs += layers * (4 * t * d * d + 2 * t * t * d + 2 * t * d * mlp)
    macs += d * classes
    return params, macs


def convnext_counts(widths: tuple[int, ...], blocks: tuple[int, ...], *, image: int = 224) -> tuple[int, int]:
    """ConvNeXt (§2, Fig. 4) with torchvision's layers: 4×4/4 stem conv + LayerNorm; blocks of a 7×7
    depthwise conv, LayerNorm, C→4C and 4C→C linears (biases), layer scale; LayerNorm + 2×2/2 conv between
    stages; LayerNorm and a linear head after global pooling."""
    side = image // 4
    c = widths[0]
    params = 4 * 4 * 3 * c + c + 2 * c
    macs = side * side * c * 4 * 4 * 3
    for stage, (width, count) in enumerate(zip(widths, blocks, strict=True)):
        if stage:
            params += 2 * c + 2 * 2 * c * width + width
            side //= 2
            macs += side * side * width * 2 * 2 * c
            c = width
        block_params = 7 * 7 * c + c + 2 * c + (c * 4 * c + 4 * c) + (4 * c * c + c) + c
        block_macs = side * side * (7 * 7 * c + c * 4 * c + 4 * c * c)
        params += count * block_params
        macs += count * block_macs
    params += 2 * c + c * 1000 + 1000
    macs += c * 1000
    return params, macs


def swin_counts(c: int, depths: tuple[int, ...], heads: int, window: int, *, image: int = 224) -> tuple[int, int]:
    """Swin (§3, Table 7) with torchvision's layers: 4×4/4 patch conv + LayerNorm; blocks of LayerNorm,
    window attention (Q, K, V and output projections with biases, a (2w − 1)² × heads bias table), LayerNorm,
    MLP 4×; patch merging (LayerNorm over 4C, linear 4C → 2C without bias) between stages; LayerNorm and a
    linear head. MACs per block on N tokens: 4·N·C² + 2·N·w²·C (Q·Kᵀ and A·V within windows) + 8·N·C²."""
    side = image // 4
    params = 4 * 4 * 3 * c + c + 2 * c
    macs = side * side * c * 4 * 4 * 3
    for stage, depth in enumerate(depths):
        if stage:
            params += 2 * 4 * c + 4 * c * 2 * c
            side //= 2
            macs += side * side * 4 * c * 2 * c
            c, heads = 2 * c, 2 * heads
        n = side * side
        params += depth * (4 * c + 4 * c * c + 4 * c + (2 * window - 1) ** 2 * heads + 8 * c * c + 5 * c)
        macs += depth * (4 * n * c * c + 2 * n * window * window * c + 8 * n * c * c)
    params += 2 * c + c * 1000 + 1000
    macs += c * 1000
    return params, macs


@pytest.mark.parametrize("name", SWIN)
def test_swin_closed_form(name: str) -> None:
    totals = analyze(name).totals
    assert (totals.params, totals.macs) == swin_counts(*SWIN[name])
    tv_params, tv_gflops = TORCHVISION[name]
    assert totals.params == tv_params
    assert round(totals.macs / 1e9, 3) == tv_gflops


@pytest.mark.parametrize("name", VIT)
def test_vit_closed_form(name: str) -> None:
    totals = analyze(name).totals
    assert (totals.params, totals.macs) == vit_counts(*VIT[name][:4])
    tv_params, tv_gflops = TORCHVISION[name]
    assert totals.params == tv_params
    assert round(totals.macs / 1e9, 3) == tv_gflops


@pytest.mark.parametrize("name", CONVNEXT)
def test_convnext_closed_form(name: str) -> None:
    totals = analyze(name).totals
    assert (totals.params, totals.macs) == convnext_counts(*CONVNEXT[name])
    tv_params, tv_gflops = TORCHVISION[name]
    assert totals.params == tv_params
    assert round(totals.macs / 1e9, 3) == tv_gflops


def test_vit_b_16_by_hand() -> None:
    """The issue's figures: 16,848,500,736 MACs of projections, patches and head (half of FlopCounterMode
    on CPU), plus 12 · 2 · 197² · 768 = 715,327,488 of attention matmuls: 17,563,828,224."""
    analysis = analyze("vit_b_16")
    layers = {r.name: r for r in analysis.layers}
    attention = layers["encoder.layers.encoder_layer_0.self_attention"]
    assert attention.output_shape == (197, 768)
    assert attention.macs == 4 * 197 * 768 * 768 + 2 * 197 * 197 * 768
    assert 12 * 2 * 197 * 197 * 768 == 715_327_488
    assert analysis.totals.macs == 16_848_500_736 + 715_327_488 == 17_563_828_224
    assert layers["class_token"].output_shape == (197, 768) and layers["class_token"].params == 768
    assert layers["encoder.pos_embedding"].params == 197 * 768
    assert layers["class_select"].output_shape == (768,)


def test_receptive_field_of_tokens() -> None:
    """Patches see 16×16 pixels, 16 apart; after the first attention every token sees the whole image."""
    layers = {r.name: r for r in analyze("vit_b_16").layers}
    assert (layers["patches"].rf, layers["patches"].jump) == ((16, 16), (16, 16))
    assert layers["encoder.layers.encoder_layer_0.ln_1"].rf == (16, 16)
    assert layers["encoder.layers.encoder_layer_0.self_attention"].rf == (224, 224)
    assert layers["heads.head"].rf == (224, 224)
    convnext = {r.name: r for r in analyze("convnext_tiny").layers}
    # stem 4 (jump 4); block.0's 7×7 depthwise conv: 4 + 6·4 = 28; the per-token layers keep it
    assert convnext["features.1.0.block.0"].rf == (28, 28)
    assert convnext["features.1.0.block.6"].rf == (28, 28)


# ---------------------------------------------------------------------------- against torchvision


@pytest.fixture(scope="module")
def torchvision_models() -> Iterator[Any]:
    """torchvision.models, imported with its compiled-ops registration stubbed (its ops do not match
    this CPU torch; the models do not use them); skipped without torchvision."""
    pytest.importorskip("torch")
    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
    yield pytest.importorskip("torchvision.models")


def _flop_counts(model: Any) -> dict[str, int]:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.randn(1, 3, 224, 224, device="meta")
    with FlopCounterMode(display=False) as counter:
        model(x)
    return {str(op): int(v) for op, v in counter.get_flop_counts()["Global"].items()}


@pytest.mark.slow
@pytest.mark.parametrize("name", [*VIT, *CONVNEXT, *SWIN])
def test_against_torchvision(name: str, torchvision_models: Any) -> None:
    """Params exactly torchvision's, layer by layer at torchvision's module paths; MACs exactly half of
    FlopCounterMode's count, its bmm part being attention's Q·Kᵀ and A·V."""
    import torch

    with torch.device("meta"):
        model = getattr(torchvision_models, name)().eval()
    analysis = analyze(name)
    tv_params = dict(model.named_parameters())
    assert analysis.totals.params == sum(p.numel() for p in tv_params.values())
    covered = 0
    for layer in analysis.layers:
        if not layer.params:
            continue
        mine = {k: p.numel() for k, p in tv_params.items() if k.startswith(layer.name + ".") or k == layer.name}
        assert sum(mine.values()) == layer.params, layer.name
        covered += layer.params
    assert covered == analysis.totals.params  # every torchvision parameter sits under one of our layers

    counts = _flop_counts(model)
    assert sum(counts.values()) == 2 * analysis.totals.macs
    attention = sum(r.macs for r in analysis.layers if r.kind == "attention")
    if name in VIT:
        _, layers, d, _, _ = VIT[name]
        tokens = (224 // VIT[name][0]) ** 2 + 1
        matmuls = layers * 2 * tokens * tokens * d
        assert counts.get("aten.bmm", 0) == 2 * matmuls
        assert attention == layers * 4 * tokens * d * d + matmuls
        # FlopCounterMode on CPU misses exactly these: its count there is conv + addmm
        assert (counts["aten.convolution"] + counts["aten.addmm"]) // 2 + matmuls == analysis.totals.macs
    elif name in SWIN:
        c, depths, _, window = SWIN[name]
        matmuls = sum(d * 2 * (56 >> i) ** 2 * window * window * (c << i) for i, d in enumerate(depths))
        windowed = sum(r.macs for r in analysis.layers if r.kind == "window_attention")
        assert counts["aten.bmm"] == 2 * matmuls  # torchvision's Swin writes its matmuls out
        assert windowed - matmuls == sum(d * 4 * (56 >> i) ** 2 * (c << i) ** 2 for i, d in enumerate(depths))
    else:
        assert attention == 0 and "aten.bmm" not in counts
