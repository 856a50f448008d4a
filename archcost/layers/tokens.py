"""The token-sequence kinds of transformers and modern convnets: maps ↔ tokens, the class token, the
position embedding, one token selected, layer norm, layer scale, drop path and multi-head
self-attention.

A token sequence is the shape ``(N, D)``: N tokens of D features each (channels last). A map
``(C, H, W)`` becomes ``(H·W, C)`` tokens with ``to_tokens`` and back with ``to_map``; per-token
work (``linear``, ``layernorm``, the activations) then runs on the last axis.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from archcost.layers.base import (
    Arg,
    Args,
    ArgType,
    Backward,
    Cost,
    Example,
    Kind,
    Saved,
    Shape,
    ShapeError,
    always,
    prod,
)
from archcost.layers.window import feature_map, hwc
from archcost.units import exact, shape

if TYPE_CHECKING:
    from torch import nn


def token_sequence(shape_in: Shape, kind: str) -> tuple[int, int]:
    """`shape_in` as (N, D); ShapeError naming `kind` if it is not a token sequence."""
    if len(shape_in) != 2:
        raise ShapeError(
            f"{kind} needs a token sequence N×D, got a {len(shape_in)}-d input {shape(shape_in)}"
            + (" (use to_tokens on a map)" if len(shape_in) == 3 else "")
        )
    return shape_in[0], shape_in[1]


def features(shape_in: Shape) -> int:
    """The axis per-position work runs over: a map's channels C, a token's features D, a vector's N."""
    return shape_in[-1] if len(shape_in) == 2 else shape_in[0]


_NOTE_MOVES = (
    "**Token conversions** do no arithmetic: `to_tokens` (C×H×W → H·W×C) and `to_map` (its inverse) copy "
    "the data into the other layout, `select_token` (one token) is a view; all cost 0. torch's permute is a "
    "strided view, but a linear reading one copies it before its matmul (and saves the copy), so archcost "
    "counts the copy at the conversion: the saved and peak bytes then do not depend on a tensor's strides. "
    "`class_token` copies the sequence one token longer (torch.cat) and adds D parameters, no FLOPs."
)

# ---------------------------------------------------------------------------- to_tokens, to_map


def _to_tokens(ins: tuple[Shape, ...], args: Args) -> Cost:
    c, h, w = feature_map(ins[0], "to_tokens")
    return Cost(output=(h * w, c), explainer=lambda: f"{hwc(c, h, w)} → {h}·{w} = {h * w} tokens of {c} (a copy)")


def _to_tokens_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from archcost.layers.torch_tokens import ToTokens

    return ToTokens()


TO_TOKENS = Kind(
    "to_tokens",
    "a C×H×W map as H·W tokens of C features (channels last): a copy, no arithmetic",
    (),
    _to_tokens,
    flops_rule="0",
    note=_NOTE_MOVES,
    fvcore_rule="0: fvcore ignores the flatten, transpose and contiguous (in its _IGNORED_OPS)",
    torch=_to_tokens_torch,
    examples=(
        Example(
            ((768, 14, 14),),
            output=(14 * 14, 768),
            explain="14×14×768 → 14·14 = 196 tokens of 768",
            note="ViT-B/16's patches",
        ),
        Example(((96, 7, 5),), output=(7 * 5, 96)),
        Example(((768,),), error="C×H×W"),
    ),
)


def _to_map(ins: tuple[Shape, ...], args: Args) -> Cost:
    n, d = token_sequence(ins[0], "to_map")
    given = args["h"]
    if given is None:
        h = math.isqrt(n)
        if h * h != n:
            raise ShapeError(f"{n} tokens are not a square grid: give h")
    else:
        assert isinstance(given, int)
        h = given
        if n % h:
            raise ShapeError(f"{n} tokens do not make rows of h={h}")
    w = n // h
    return Cost(output=(d, h, w), explainer=lambda: f"{n} tokens of {d} → {hwc(d, h, w)} ({n} = {h}·{w}; a copy)")


def _to_map_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from archcost.layers.torch_tokens import ToMap

    return ToMap(out[1], out[2])


TO_MAP = Kind(
    "to_map",
    "N = H·W tokens of D features as a D×H×W map (the inverse of to_tokens): a copy, no arithmetic",
    (Arg("h", ArgType.POSINT, None, "rows of the map; default √N (the grid must then be square)"),),
    _to_map,
    flops_rule="0",
    note=_NOTE_MOVES,
    fvcore_rule="0: fvcore ignores the transpose, reshape and contiguous (in its _IGNORED_OPS)",
    torch=_to_map_torch,
    examples=(
        Example(
            ((3136, 96),), output=(96, 56, 56), explain="3136 tokens of 96 → 56×56×96 (3136 = 56·56", note="square"
        ),
        Example(((12, 4),), {"h": 3}, output=(4, 3, 12 // 3), explain="(12 = 3·4"),
        Example(((197, 768),), error="not a square grid"),
        Example(((12, 4),), {"h": 5}, error="do not make rows of h=5"),
        Example(((8, 4, 4),), error="token sequence N×D"),
    ),
)

# ---------------------------------------------------------------------------- class token, select


def _class_token(ins: tuple[Shape, ...], args: Args) -> Cost:
    n, d = token_sequence(ins[0], "class_token")
    return Cost(
        output=(n + 1, d),
        params=d,
        explainer=lambda: f"{n} + 1 = {n + 1} tokens of {d}; params = {d} (the learned token), no arithmetic",
    )


def _class_token_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from archcost.layers.torch_tokens import ClassToken

    return ClassToken(ins[0][1])


CLASS_TOKEN = Kind(
    "class_token",
    "prepends a learned token to the sequence (ViT's [class] token)",
    (),
    _class_token,
    flops_rule="0",
    params_rule="D",
    note=_NOTE_MOVES,
    fvcore_rule="0: fvcore ignores aten::cat and aten::expand (in its _IGNORED_OPS)",
    torch=_class_token_torch,
    examples=(
        Example(((196, 768),), output=(196 + 1, 768), params=768, explain="196 + 1 = 197 tokens of 768; params = 768"),
        Example(((49, 64),), output=(50, 64), params=64),
        Example(((768, 14, 14),), error="use to_tokens"),
    ),
)


def _select_token(ins: tuple[Shape, ...], args: Args) -> Cost:
    n, d = token_sequence(ins[0], "select_token")
    index = args.integer("index")
    if index >= n:
        raise ShapeError(f"token {index} is outside the {n} tokens 0:{n}")
    return Cost(output=(d,), explainer=lambda: f"token {index} of {n}: a vector of {d} (a view)")


def _select_token_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from archcost.layers.torch_tokens import SelectToken

    return SelectToken(args.integer("index"))


SELECT_TOKEN = Kind(
    "select_token",
    "one token of the sequence as a vector (ViT's head reads the class token, x[:, 0])",
    (Arg("index", ArgType.INT, 0, "which token"),),
    _select_token,
    flops_rule="0",
    note=_NOTE_MOVES,
    view=always,
    fvcore_rule="0: fvcore ignores aten::select (in its _IGNORED_OPS)",
    torch=_select_token_torch,
    examples=(
        Example(((197, 768),), output=(768,), explain="token 0 of 197: a vector of 768", note="ViT's class token"),
        Example(((10, 4),), {"index": 9}, output=(4,)),
        Example(((10, 4),), {"index": 10}, error="outside the 10 tokens"),
    ),
)

# ---------------------------------------------------------------------------- position embedding


def _pos_embedding(ins: tuple[Shape, ...], args: Args) -> Cost:
    elems = prod(ins[0])
    return Cost(
        output=ins[0],
        params=elems,
        flops=elems,
        explainer=lambda: (
            f"params = {shape(ins[0])} = {exact(elems)} (one learned value per element); "
            f"FLOPs = {exact(elems)} additions"
        ),
    )


def _pos_embedding_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from archcost.layers.torch_tokens import PositionEmbedding

    return PositionEmbedding(ins[0])


POS_EMBEDDING = Kind(
    "pos_embedding",
    "adds a learned position embedding of the input's shape (ViT: N·D)",
    (),
    _pos_embedding,
    flops_rule="1 per element (an add)",
    params_rule="one per input element: N·D on tokens",
    note=(
        "**Learned tensors without MACs.** `pos_embedding` holds one parameter per element and adds it: N·D "
        "parameters and N·D FLOPs on tokens. `layer_scale` holds one factor per channel (C on a map, D on "
        "tokens) and multiplies: one FLOP per element. `class_token` holds D parameters and only copies. "
        "None of them is a weighted layer: MACs 0."
    ),
    fvcore_rule="0: aten::add is not among fvcore's counted operators (listed by unsupported_ops())",
    torch=_pos_embedding_torch,
    examples=(
        Example(
            ((197, 768),),
            output=(197, 768),
            params=197 * 768,
            flops=197 * 768,
            explain="params = 197×768 = 151,296",
            note="ViT-B/16's encoder.pos_embedding",
        ),
        Example(((8, 4, 4),), output=(8, 4, 4), params=8 * 4 * 4, flops=8 * 4 * 4, note="on a map"),
    ),
)

# ---------------------------------------------------------------------------- layer norm

_LAYERNORM_NOTE = (
    "**layernorm** normalizes each position over its features (a token's D, a map's C at each of its H·W "
    "positions: ConvNeXt's LayerNorm2d), with statistics computed per sample, so unlike batch norm it "
    "cannot be folded into a scale and shift at inference. Per element: an add for the mean, a subtract, "
    "a multiply and an add for the variance, a multiply by 1/√(σ² + ε): 5; the affine γ·x̂ + β adds 2: "
    "7 per element. The few operations per position (two divides by D, + ε, a square root) are not "
    "counted. fvcore counts 5 per element with affine, 4 without; FlopCounterMode counts nothing."
)


def _layernorm(ins: tuple[Shape, ...], args: Args) -> Cost:
    s = ins[0]
    d = features(s)
    affine = args.flag("affine")
    elems = prod(s)
    per = 7 if affine else 5
    params = 2 * d if affine else 0
    where = {1: "the vector", 2: "each token's features", 3: "the channels at each position"}[len(s)]

    def explain() -> str:
        return (
            f"over {where} ({d}); params = {f'2·{d} = {params} (γ, β)' if affine else '0'}; "
            f"FLOPs = {per}·{exact(elems)} (mean, centre, variance, normalize{', scale and shift' if affine else ''})"
        )

    return Cost(output=s, params=params, flops=per * elems, explainer=explain)


def _layernorm_saved(ins: tuple[Shape, ...], out: Shape, args: Args) -> tuple[Saved, ...]:
    rows = prod(ins[0]) // features(ins[0])
    return (
        Saved("input0"),
        Saved("extra", 2 * rows, what="each position's mean and 1/σ (the activations' dtype on CPU)"),
    )


def _layernorm_fvcore(ins: tuple[Shape, ...], out: Shape, args: Args) -> int:
    # norm_flop_counter: numel · (5 if affine else 4)
    return prod(ins[0]) * (5 if args.flag("affine") else 4)


def _layernorm_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from torch import nn

    from archcost.layers.torch_tokens import LayerNorm2d

    s = ins[0]
    cls = LayerNorm2d if len(s) == 3 else nn.LayerNorm
    return cls(features(s), eps=args.number("eps"), elementwise_affine=args.flag("affine"))


LAYERNORM = Kind(
    "layernorm",
    "layer normalization over each token's features, or over the channels of a map at each position",
    (Arg("eps", ArgType.FLOAT, 1e-5), Arg("affine", ArgType.BOOL, True, "learned γ and β")),
    _layernorm,
    flops_rule="7 per element with affine (5 for the statistics and normalization, 2 for γ and β), else 5",
    params_rule="2·D (γ, β) if affine, else 0",
    note=_LAYERNORM_NOTE,
    saved=_layernorm_saved,
    saved_rule="its input, and each position's mean and 1/σ: 2 values per token (per H·W position on a map)",
    fvcore=_layernorm_fvcore,
    fvcore_rule="5 per element if affine, else 4 (aten::layer_norm, a rough estimate in fvcore's words)",
    torch=_layernorm_torch,
    examples=(
        Example(
            ((197, 768),),
            {"eps": 1e-6},
            output=(197, 768),
            params=2 * 768,
            flops=7 * 197 * 768,
            fvcore=5 * 197 * 768,
            explain="over each token's features (768); params = 2·768 = 1536 (γ, β); FLOPs = 7·151,296",
            note="ViT's ln_1",
        ),
        Example(
            ((96, 56, 56),),
            {"eps": 1e-6},
            output=(96, 56, 56),
            params=2 * 96,
            flops=7 * 96 * 56 * 56,
            fvcore=5 * 96 * 56 * 56,
            explain="over the channels at each position (96)",
            note="ConvNeXt's LayerNorm2d before a downsampling conv",
        ),
        Example(
            ((10, 4),),
            {"affine": False},
            output=(10, 4),
            flops=5 * 10 * 4,
            fvcore=4 * 10 * 4,
            explain="params = 0; FLOPs = 5·40",
            note="without affine",
        ),
        Example(((768,),), output=(768,), params=2 * 768, flops=7 * 768, fvcore=5 * 768, note="on a vector"),
    ),
)

# ---------------------------------------------------------------------------- layer scale


def _layer_scale(ins: tuple[Shape, ...], args: Args) -> Cost:
    s = ins[0]
    c = features(s)
    elems = prod(s)
    return Cost(
        output=s,
        params=c,
        flops=elems,
        explainer=lambda: f"params = {c} (one factor per channel); FLOPs = {exact(elems)} multiplications",
    )


def _layer_scale_saved(ins: tuple[Shape, ...], out: Shape, args: Args) -> tuple[Saved, ...]:
    return (Saved("input0", what="the input, for the factors' gradient"),)


def _layer_scale_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from archcost.layers.torch_tokens import LayerScale

    return LayerScale(features(ins[0]), args.number("init"), on_map=len(ins[0]) == 3)


LAYER_SCALE = Kind(
    "layer_scale",
    "multiplies each channel by a learned factor (ConvNeXt's and CaiT's layer scale)",
    (Arg("init", ArgType.FLOAT, 1e-6, "the factors' initial value (changes no figure)"),),
    _layer_scale,
    flops_rule="1 per element (a multiply)",
    params_rule="C (a map's channels, a token's D)",
    note=POS_EMBEDDING.note,
    saved=_layer_scale_saved,
    saved_rule="its input (the factors' gradient needs it)",
    fvcore_rule="0: aten::mul is not among fvcore's counted operators (listed by unsupported_ops())",
    torch=_layer_scale_torch,
    examples=(
        Example(
            ((96, 56, 56),),
            {"init": 1e-6},
            output=(96, 56, 56),
            params=96,
            flops=96 * 56 * 56,
            explain="params = 96 (one factor per channel); FLOPs = 301,056 multiplications",
            note="ConvNeXt-T's first stage",
        ),
        Example(
            ((197, 768),), output=(197, 768), params=768, flops=197 * 768, note="on tokens: one factor per feature"
        ),
    ),
)

# ---------------------------------------------------------------------------- drop path


def _drop_path(ins: tuple[Shape, ...], args: Args) -> Cost:
    return Cost(output=ins[0], explainer=lambda: "no arithmetic at inference (drop path)")


def _drop_path_saved(ins: tuple[Shape, ...], out: Shape, args: Args) -> tuple[Saved, ...]:
    """The scaled keep decision, one value per sample ((batch, 1, …) in the activations' dtype); p = 0
    returns the input itself."""
    if args.number("p") == 0:
        return ()
    return (Saved("extra", 1, what="each sample's keep decision, 0 or 1/(1 − p)"),)


def _drop_path_view(args: Mapping[str, Any], training: bool) -> bool:
    return not training or args["p"] == 0


def _drop_path_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from archcost.layers.torch_tokens import StochasticDepth

    return StochasticDepth(args.number("p"))


DROP_PATH = Kind(
    "drop_path",
    "stochastic depth: drops a sample's residual branch in training; the identity at inference",
    (Arg("p", ArgType.PROB, 0.0, "probability of dropping the branch (training only)"),),
    _drop_path,
    flops_rule="0",
    note=(
        "**drop_path** (stochastic depth, torchvision's StochasticDepth in row mode) is the identity at "
        "inference: no FLOPs, no parameters. In training it multiplies each sample by 0 or 1/(1 − p); that "
        "multiply is not counted (the figures are inference figures)."
    ),
    aliases=("stochastic_depth",),
    view=_drop_path_view,
    saved=_drop_path_saved,
    saved_rule="one value per sample (its keep decision) when p > 0; nothing when p = 0",
    fvcore_rule="0: nothing is computed in eval mode",
    torch=_drop_path_torch,
    examples=(
        Example(
            ((96, 56, 56),),
            {"p": 0.1},
            output=(96, 56, 56),
            explain="no arithmetic",
            note="ConvNeXt's stochastic_depth",
        ),
        Example(((197, 768),), {"p": 0.0}, output=(197, 768), note="p = 0: a view even in training"),
    ),
)

# ---------------------------------------------------------------------------- attention

_ATTENTION_NOTE = (
    "**attention** (multi-head self-attention on N tokens of D features, h heads of D/h): the projections "
    "to Q, K, V (3·N·D² MACs) and the output projection (N·D²) are linear layers; Q·Kᵀ is h matmuls of "
    "(N × D/h)·(D/h × N), N²·D MACs, and A·V likewise N²·D. MACs = 4·N·D² + 2·N²·D: the two matmuls "
    "between activations count as MACs like a weighted layer's (torchvision's GFLOPS and FlopCounterMode "
    "count them; fvcore does too when they are written as matmuls). FLOPs = 2·MACs + the biases (3·N·D and "
    "N·D) + h·N² for the 1/√(D/h) scale of the scores + 5·h·N² for the softmax. The torch build writes the "
    "matmuls out: fvcore and, on CPU, FlopCounterMode do not count `scaled_dot_product_attention`."
)


def _attention(ins: tuple[Shape, ...], args: Args) -> Cost:
    n, d = token_sequence(ins[0], "attention")
    heads = args.integer("heads")
    if d % heads:
        raise ShapeError(f"features {d} are not divisible by heads={heads}")
    qkv_bias, proj_bias = args.flag("qkv_bias"), args.flag("proj_bias")
    projections = 4 * n * d * d
    matmuls = 2 * n * n * d
    macs = projections + matmuls
    biases = (3 * n * d if qkv_bias else 0) + (n * d if proj_bias else 0)
    scores = heads * n * n
    params = 4 * d * d + (3 * d if qkv_bias else 0) + (d if proj_bias else 0)
    flops = 2 * macs + biases + scores + 5 * scores

    def explain() -> str:
        bias_text = (f" + 3·{d}" if qkv_bias else "") + (f" + {d}" if proj_bias else "")
        return (
            f"{n} tokens, {heads} heads of {d}/{heads} = {d // heads}; params = 4·{d}²{bias_text} = {exact(params)}; "
            f"MACs = 4·{n}·{d}² (Q, K, V, out projections) + 2·{n}²·{d} (Q·Kᵀ and A·V) = "
            f"{exact(projections)} + {exact(matmuls)} = {exact(macs)}; "
            f"FLOPs = 2·MACs + {exact(biases)} (biases) + 6·{heads}·{n}² (scale, softmax) = {exact(flops)}"
        )

    return Cost(output=(n, d), params=params, macs=macs, flops=flops, kernel=None, explainer=explain)


def _attention_saved(ins: tuple[Shape, ...], out: Shape, args: Args) -> tuple[Saved, ...]:
    n, d = ins[0]
    return (
        Saved("input0", what="the input (the Q, K, V projection's)"),
        Saved("extra", 3 * n * d, what="Q, K and V, one contiguous 3·N·D copy (read by both matmuls)"),
        Saved(
            "extra", args.integer("heads") * n * n, what="the softmax output, heads·N² (read by its backward and A·V)"
        ),
        Saved("extra", n * d, what="the heads merged back to N·D (the output projection's input)"),
    )


def _attention_fvcore(ins: tuple[Shape, ...], out: Shape, args: Args) -> int:
    # aten::linear twice (N·D·3D and N·D·D) and aten::matmul twice (h·N·(D/h)·N each): the MACs
    n, d = ins[0]
    return 4 * n * d * d + 2 * n * n * d


def _attention_fvcore_activations(ins: tuple[Shape, ...], out: Shape, args: Args) -> int:
    # ActivationCountAnalysis counts the outputs of the linear and matmul operators:
    # Q, K, V (3·N·D), the scores (h·N²), A·V (N·D) and the output projection (N·D)
    n, d = ins[0]
    return 3 * n * d + args.integer("heads") * n * n + 2 * n * d


def attention_backward(qkv: int, out_proj: int, matmuls: int, needs_input: bool) -> Backward:
    """The backward MACs of an attention layer with Q, K, V projections of `qkv` MACs, an output projection of
    `out_proj` and `matmuls` (Q·Kᵀ and A·V): the weight gradients cost the projections again; the input
    gradients cost the output projection again, both matmuls twice over (each of their two operands takes a
    gradient: dA = dC·Bᵀ, dB = Aᵀ·dC) and the Q, K, V projection again unless no gradient flows into the input."""
    return Backward(weights=qkv + out_proj, inputs=(qkv if needs_input else 0) + out_proj + 2 * matmuls)


def _attention_backward(ins: tuple[Shape, ...], out: Shape, args: Args, macs: int, needs: tuple[bool, ...]) -> Backward:
    n, d = ins[0]
    return attention_backward(3 * n * d * d, n * d * d, 2 * n * n * d, needs[0])


_ATTENTION_BACKWARD = (
    "weights: the projections again; input: the output projection again, Q·Kᵀ and A·V twice over (both operands), "
    "the Q, K, V projection again unless no gradient flows into the input"
)


def _attention_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from archcost.layers.torch_tokens import SelfAttention

    return SelfAttention(
        ins[0][1], args.integer("heads"), qkv_bias=args.flag("qkv_bias"), proj_bias=args.flag("proj_bias")
    )


ATTENTION = Kind(
    "attention",
    "multi-head self-attention: Q, K, V projections, softmax(Q·Kᵀ/√d)·V per head, output projection",
    (
        Arg("heads", ArgType.POSINT, doc="attention heads; must divide D"),
        Arg("qkv_bias", ArgType.BOOL, True, "bias on the Q, K, V projections"),
        Arg("proj_bias", ArgType.BOOL, True, "bias on the output projection"),
    ),
    _attention,
    flops_rule="2·MACs + 3·N·D (qkv bias) + N·D (output bias) + h·N² (scale) + 5·h·N² (softmax)",
    macs_rule="4·N·D² (projections) + 2·N²·D (Q·Kᵀ and A·V)",
    params_rule="4·D², + 3·D with qkv bias, + D with output bias",
    note=_ATTENTION_NOTE,
    weighted=True,
    saved=_attention_saved,
    saved_rule="its input, Q/K/V (3·N·D), the softmax output (h·N²) and the merged heads (N·D)",
    fvcore=_attention_fvcore,
    fvcore_rule=(
        "MACs: aten::linear for the projections and aten::matmul for Q·Kᵀ and A·V (written out in the build); "
        "the scale and softmax are not counted"
    ),
    fvcore_activations=_attention_fvcore_activations,
    backward=_attention_backward,
    backward_rule=_ATTENTION_BACKWARD,
    torch=_attention_torch,
    examples=(
        Example(
            ((197, 768),),
            {"heads": 12},
            output=(197, 768),
            params=4 * 768 * 768 + 3 * 768 + 768,
            macs=4 * 197 * 768 * 768 + 2 * 197 * 197 * 768,
            flops=2 * (4 * 197 * 768 * 768 + 2 * 197 * 197 * 768) + 4 * 197 * 768 + 6 * 12 * 197 * 197,
            fvcore=4 * 197 * 768 * 768 + 2 * 197 * 197 * 768,
            explain="params = 4·768² + 3·768 + 768 = 2,362,368; MACs = 4·197·768² (Q, K, V, out projections) "
            "+ 2·197²·768 (Q·Kᵀ and A·V) = 464,781,312 + 59,610,624 = 524,391,936",
            note="one ViT-B/16 encoder layer's self_attention",
        ),
        Example(
            ((10, 8),),
            {"heads": 2, "qkv_bias": False, "proj_bias": False},
            output=(10, 8),
            params=4 * 8 * 8,
            macs=4 * 10 * 64 + 2 * 100 * 8,
            flops=2 * (2560 + 1600) + 6 * 2 * 100,
            fvcore=2560 + 1600,
            explain="= 2,560 + 1,600 = 4,160",
        ),
        Example(
            ((5, 6),),
            {"heads": 1, "proj_bias": False},
            output=(5, 6),
            params=4 * 36 + 3 * 6,
            macs=4 * 5 * 36 + 2 * 25 * 6,
            flops=2 * (720 + 300) + 3 * 5 * 6 + 6 * 25,
            fvcore=720 + 300,
            note="one head, bias on Q, K, V only",
        ),
        Example(((10, 10),), {"heads": 3}, error="features 10 are not divisible by heads=3"),
        Example(((768, 14, 14),), {"heads": 12}, error="use to_tokens"),
    ),
)

# ---------------------------------------------------------------------------- Swin: windows, merging


def grid_of(n: int, given: object, kind: str) -> tuple[int, int]:
    """The H×W grid of n tokens: `given` rows, or a square; ShapeError naming `kind` if they do not fit."""
    if given is None:
        h = math.isqrt(n)
        if h * h != n:
            raise ShapeError(f"{kind}: {n} tokens are not a square grid: give h")
        return h, h
    assert isinstance(given, int)
    if n % given:
        raise ShapeError(f"{kind}: {n} tokens do not make rows of h={given}")
    return given, n // given


class _Windows(NamedTuple):
    """A window attention's geometry: N tokens of C on an H×W grid, padded to Hp×Wp, window w, shift."""

    n: int
    c: int
    h: int
    w: int
    hp: int
    wp: int
    window: int
    shift: int


def _window_geometry(ins: tuple[Shape, ...], args: Args) -> _Windows:
    """The geometry of a window attention's input (ShapeError if the tokens do not fit the arguments)."""
    n, c = token_sequence(ins[0], "window_attention")
    h, w_ = grid_of(n, args["h"], "window_attention")
    window, shift = args.integer("window"), args.integer("shift")
    heads = args.integer("heads")
    if c % heads:
        raise ShapeError(f"features {c} are not divisible by heads={heads}")
    if shift >= window:
        raise ShapeError(f"shift {shift} must be smaller than the window {window}")
    hp, wp = -(-h // window) * window, -(-w_ // window) * window
    return _Windows(n, c, h, w_, hp, wp, window, shift)


def _window_attention(ins: tuple[Shape, ...], args: Args) -> Cost:
    n, c, h, w_, hp, wp, window, shift = _window_geometry(ins, args)
    heads = args.integer("heads")
    shifted = shift and (window < hp or window < wp)
    qkv_bias, proj_bias = args.flag("qkv_bias"), args.flag("proj_bias")
    padded = hp * wp
    windows = padded // (window * window)
    projections = 4 * padded * c * c
    matmuls = 2 * padded * window * window * c
    macs = projections + matmuls
    scores = heads * padded * window * window
    biases = (3 * padded * c if qkv_bias else 0) + (padded * c if proj_bias else 0)
    extra = scores * (2 + (1 if shifted else 0) + 5)  # scale, position bias, mask, softmax
    table = (2 * window - 1) ** 2 * heads
    params = 4 * c * c + (3 * c if qkv_bias else 0) + (c if proj_bias else 0) + table
    flops = 2 * macs + biases + extra

    def explain() -> str:
        pad = f" (padded to {hp}×{wp})" if (hp, wp) != (h, w_) else ""
        return (
            f"{h}×{w_} tokens{pad} in {windows} windows of {window}×{window}, {heads} heads"
            f"{f', shifted by {shift}' if shifted else ''}; params = 4·{c}²{' + 3·' + str(c) if qkv_bias else ''}"
            f"{' + ' + str(c) if proj_bias else ''} + (2·{window} − 1)²·{heads} = {exact(params)} "
            f"(bias table {exact(table)}); MACs = 4·{padded}·{c}² + 2·{padded}·{window}²·{c} = "
            f"{exact(projections)} + {exact(matmuls)} = {exact(macs)}"
        )

    return Cost(output=(n, c), params=params, macs=macs, flops=flops, kernel=(window, window), explainer=explain)


def _window_attention_saved(ins: tuple[Shape, ...], out: Shape, args: Args) -> tuple[Saved, ...]:
    _, c, h, w_, hp, wp, window, _ = _window_geometry(ins, args)
    padded = hp * wp
    moved = (hp, wp) != (h, w_) or hp > window or wp > window  # padded or cut into windows: a copy
    first = Saved("extra", padded * c, what="the tokens cut into windows (a copy)") if moved else Saved("input0")
    return (
        first,
        Saved("extra", 3 * padded * c, what="Q, K and V, one contiguous copy"),
        Saved("extra", args.integer("heads") * padded * window * window, what="the softmax output, heads·w² per token"),
        Saved("extra", padded * c, what="the heads merged back (the output projection's input)"),
    )


def _window_attention_fvcore(ins: tuple[Shape, ...], out: Shape, args: Args) -> int:
    # aten::linear twice and aten::matmul twice, on the padded grid: the MACs
    g = _window_geometry(ins, args)
    return 4 * g.hp * g.wp * g.c * g.c + 2 * g.hp * g.wp * g.window * g.window * g.c


def _window_attention_activations(ins: tuple[Shape, ...], out: Shape, args: Args) -> int:
    # outputs of the two linears and two matmuls: 3·Np·C, heads·Np·w², Np·C, Np·C
    g = _window_geometry(ins, args)
    return 5 * g.hp * g.wp * g.c + args.integer("heads") * g.hp * g.wp * g.window * g.window


def _window_attention_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from archcost.layers.torch_tokens import WindowAttention

    g = _window_geometry(ins, args)
    shifts = (g.shift if g.window < g.hp else 0, g.shift if g.window < g.wp else 0)
    return WindowAttention(
        g.c,
        args.integer("heads"),
        g.window,
        shifts,
        (g.h, g.w),
        qkv_bias=args.flag("qkv_bias"),
        proj_bias=args.flag("proj_bias"),
    )


def _window_attention_backward(
    ins: tuple[Shape, ...], out: Shape, args: Args, macs: int, needs: tuple[bool, ...]
) -> Backward:
    _, c, _, _, hp, wp, window, _ = _window_geometry(ins, args)
    padded = hp * wp
    return attention_backward(3 * padded * c * c, padded * c * c, 2 * padded * window * window * c, needs[0])


WINDOW_ATTENTION = Kind(
    "window_attention",
    "Swin's (shifted) window attention on the tokens of an H×W grid, with a relative-position-bias table",
    (
        Arg("heads", ArgType.POSINT, doc="attention heads; must divide C"),
        Arg("window", ArgType.POSINT, doc="window side w: attention within w×w tokens"),
        Arg("shift", ArgType.INT, 0, "cyclic shift of the grid before windowing (Swin's odd blocks: w // 2)"),
        Arg("h", ArgType.POSINT, None, "rows of the token grid; default √N"),
        Arg("qkv_bias", ArgType.BOOL, True, "bias on the Q, K, V projections"),
        Arg("proj_bias", ArgType.BOOL, True, "bias on the output projection"),
    ),
    _window_attention,
    flops_rule=(
        "2·MACs + biases (3·Np·C, Np·C) + per score (h·Np·w²): scale, position bias, mask if shifted, softmax 5"
    ),
    macs_rule="4·Np·C² (projections) + 2·Np·w²·C (Q·Kᵀ and A·V in each window); Np = the grid padded to whole windows",
    params_rule="4·C², + 3·C with qkv bias, + C with output bias, + (2w − 1)²·heads (the bias table)",
    note=(
        "**window_attention** (Swin) attends within w×w windows of the token grid instead of over all N tokens: "
        "the grid is padded to whole windows (Np = Hp·Wp tokens), so Q·Kᵀ and A·V cost 2·Np·w²·C MACs, linear "
        "in the tokens, and the projections 4·Np·C². Odd blocks roll the grid by `shift` first (no FLOPs) and "
        "add a mask to the scores; every block adds its learned relative-position bias, (2w − 1)² × heads "
        "parameters indexed by a constant table (w⁴ integers, a torch buffer that archcost does not count). "
        "As torchvision does, the shift is 0 along an axis the window covers."
    ),
    weighted=True,
    saved=_window_attention_saved,
    saved_rule=(
        "the tokens cut into windows (a copy; the input itself when one window covers the unpadded grid), Q/K/V "
        "(3·Np·C), the softmax output (heads·Np·w²) and the merged heads (Np·C)"
    ),
    fvcore=_window_attention_fvcore,
    fvcore_rule="MACs: aten::linear for the projections and aten::matmul for Q·Kᵀ and A·V; the rest is not counted",
    fvcore_activations=_window_attention_activations,
    backward=_window_attention_backward,
    backward_rule=_ATTENTION_BACKWARD,
    torch=_window_attention_torch,
    examples=(
        Example(
            ((56 * 56, 96),),
            {"heads": 3, "window": 7},
            output=(3136, 96),
            params=4 * 96 * 96 + 4 * 96 + 13 * 13 * 3,
            macs=4 * 3136 * 96 * 96 + 2 * 3136 * 49 * 96,
            flops=2 * (4 * 3136 * 96 * 96 + 2 * 3136 * 49 * 96) + 4 * 3136 * 96 + 7 * 3 * 3136 * 49,
            fvcore=4 * 3136 * 96 * 96 + 2 * 3136 * 49 * 96,
            explain="56×56 tokens in 64 windows of 7×7, 3 heads; params = 4·96² + 3·96 + 96 + (2·7 − 1)²·3 = 37,755",
            note="Swin-T's first block (features.1.0.attn)",
        ),
        Example(
            ((64, 8),),
            {"heads": 2, "window": 4, "shift": 2},
            output=(64, 8),
            params=4 * 64 + 4 * 8 + 49 * 2,
            macs=4 * 64 * 64 + 2 * 64 * 16 * 8,
            flops=2 * (4 * 64 * 64 + 2 * 64 * 16 * 8) + 4 * 64 * 8 + 8 * 2 * 64 * 16,
            fvcore=4 * 64 * 64 + 2 * 64 * 16 * 8,
            explain="8×8 tokens in 4 windows of 4×4, 2 heads, shifted by 2",
            note="shifted: a mask add per score",
        ),
        Example(
            ((30, 8),),
            {"heads": 1, "window": 4, "shift": 2, "h": 6, "qkv_bias": False, "proj_bias": False},
            output=(30, 8),
            params=4 * 64 + 49,
            macs=4 * 64 * 64 + 2 * 64 * 16 * 8,
            flops=2 * (4 * 64 * 64 + 2 * 64 * 16 * 8) + 8 * 64 * 16,
            fvcore=4 * 64 * 64 + 2 * 64 * 16 * 8,
            explain="6×5 tokens (padded to 8×8) in 4 windows",
            note="a 6×5 grid padded to whole windows: the padded tokens are computed too",
        ),
        Example(
            ((49, 16),),
            {"heads": 2, "window": 7, "shift": 3},
            output=(49, 16),
            params=4 * 256 + 4 * 16 + 169 * 2,
            macs=4 * 49 * 256 + 2 * 49 * 49 * 16,
            flops=2 * (4 * 49 * 256 + 2 * 49 * 49 * 16) + 4 * 49 * 16 + 7 * 2 * 49 * 49,
            fvcore=4 * 49 * 256 + 2 * 49 * 49 * 16,
            explain="7×7 tokens in 1 windows of 7×7, 2 heads; params",
            note="one window covers the grid: no shift, no mask (Swin's last stage)",
        ),
        Example(((30, 8),), {"heads": 1, "window": 4}, error="not a square grid"),
        Example(((64, 8),), {"heads": 3, "window": 4}, error="not divisible by heads=3"),
        Example(((64, 8),), {"heads": 2, "window": 4, "shift": 4}, error="smaller than the window"),
    ),
)


def _patch_merge(ins: tuple[Shape, ...], args: Args) -> Cost:
    n, c = token_sequence(ins[0], "patch_merge")
    h, w = grid_of(n, args["h"], "patch_merge")
    oh, ow = -(-h // 2), -(-w // 2)
    return Cost(
        output=(oh * ow, 4 * c),
        kernel=(2, 2),
        stride=(2, 2),
        explainer=lambda: (
            f"{h}×{w} tokens of {c} → {oh}×{ow} = {oh * ow} tokens of 4·{c} = {4 * c} (2×2 groups, a copy)"
        ),
    )


def _patch_merge_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from archcost.layers.torch_tokens import PatchMerging

    return PatchMerging(grid_of(ins[0][0], args["h"], "patch_merge"))


PATCH_MERGE = Kind(
    "patch_merge",
    "each 2×2 group of an H×W token grid as one token of 4C (Swin's patch merging before its norm and linear)",
    (Arg("h", ArgType.POSINT, None, "rows of the token grid; default √N"),),
    _patch_merge,
    flops_rule="0",
    note=_NOTE_MOVES,
    fvcore_rule="0: fvcore ignores the pad's slices and aten::cat; aten::pad is listed by unsupported_ops()",
    torch=_patch_merge_torch,
    examples=(
        Example(
            ((3136, 96),),
            output=(28 * 28, 384),
            explain="56×56 tokens of 96 → 28×28 = 784 tokens of 4·96 = 384",
            note="Swin-T's features.2",
        ),
        Example(((20, 8),), {"h": 5}, output=(3 * 2, 32), note="an odd side is padded: 5×4 → 3×2"),
        Example(((20, 8),), error="not a square grid"),
    ),
)

KINDS = (
    TO_TOKENS,
    TO_MAP,
    CLASS_TOKEN,
    POS_EMBEDDING,
    SELECT_TOKEN,
    LAYERNORM,
    LAYER_SCALE,
    DROP_PATH,
    ATTENTION,
    WINDOW_ATTENTION,
    PATCH_MERGE,
)
