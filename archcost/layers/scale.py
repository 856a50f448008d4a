"""The `scale` kind: every element multiplied by a constant, with no parameters (Inception-ResNet
scales each residual branch by 0.1–0.3 before the add)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from archcost.layers.base import REQUIRED, Arg, Args, ArgType, Cost, Example, Kind, Shape, prod
from archcost.units import exact

if TYPE_CHECKING:
    import torch
    from torch import nn

_NOTE = (
    "**`scale`** multiplies every element by a constant (`x · factor`, Inception-ResNet's residual scaling): "
    "1 FLOP per element, and no MACs, since a multiply by a constant is element-wise work, not a weighted "
    "layer's multiply-accumulate. torch's FlopCounterMode counts 0 for it (it counts matrix products, "
    "convolutions and attention only), as it does for every element-wise operation; so does fvcore."
)


def _scale(ins: tuple[Shape, ...], args: Args) -> Cost:
    elems = prod(ins[0])
    factor = args.number("factor")
    return Cost(
        output=ins[0],
        flops=elems,
        explainer=lambda: f"FLOPs = 1·{exact(elems)} (scale: a multiply by {factor:g})",
    )


def _scale_torch(ins: tuple[Shape, ...], out: Shape, args: Args, inplace: bool) -> nn.Module:
    from archcost.layers.torch_modules import Op

    factor = args.number("factor")

    def scale(x: torch.Tensor) -> torch.Tensor:  # `out * self.scale`, as timm's Block35/Block17/Block8
        return x * factor

    return Op("scale", scale, f"factor={factor:g}")


SCALE = Kind(
    "scale",
    "every element times a constant (Inception-ResNet's residual scaling)",
    (Arg("factor", ArgType.FLOAT, REQUIRED, "the constant"),),
    _scale,
    flops_rule="1 per element (a multiply)",
    note=_NOTE,
    saved_rule="nothing (the gradient is the output's gradient times the constant)",
    fvcore_rule="0: aten::mul is not among fvcore's counted operators (listed by unsupported_ops())",
    torch=_scale_torch,
    examples=(
        Example(
            ((320, 35, 35),),
            {"factor": 0.17},
            output=(320, 35, 35),
            flops=320 * 35 * 35,
            explain="FLOPs = 1·392,000 (scale: a multiply by 0.17)",
            note="Inception-ResNet-v2's Block35 branch: 320·35·35 = 392,000 multiplies",
        ),
        Example(((1088, 17, 17),), {"factor": 0.1}, output=(1088, 17, 17), flops=1088 * 17 * 17),
        Example(((10,),), {"factor": -2}, output=(10,), flops=10, explain="FLOPs = 1·10", note="a vector"),
    ),
)

KINDS = (SCALE,)
