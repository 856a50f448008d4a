"""The torch build of an analysis: one module per leaf layer, registered at the layer's name.

:func:`build` turns an :class:`~archcost.engine.Analysis` into an ``nn.Module`` whose module paths
are exactly the analysis' layer names (``layer1.0.conv1``, ``mix.concat``), each made by its kind's
torch builder (:attr:`archcost.layers.Kind.torch`), run in the analysis' order by an executor that
keeps only the tensors still to be read. Imports torch only inside functions.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from archcost import layers, memory
from archcost.engine import INPUT, Analysis, LayerResult
from archcost.errors import Location, SpecError
from archcost.torchcheck.support import require

if TYPE_CHECKING:
    import torch
    from torch import nn


Step = tuple["nn.Module", str, tuple[str, ...], tuple[str, ...]]
"""A layer to run: its module, its name, the producers it reads, the tensors freed after it."""


class LayerFailedError(Exception):
    """torch raised while building or running one layer."""

    def __init__(self, layer: str, error: BaseException) -> None:
        detail = " ".join(str(error).split())  # torch's messages carry runs of spaces and newlines
        super().__init__(f"{layer!r}: {type(error).__name__}: {detail}")
        self.layer = layer


@functools.cache
def network_class() -> type[nn.Module]:
    from torch import nn

    class Network(nn.Module):
        """The built spec: runs its leaf modules in the analysis' order, keeping only live tensors."""

        def __init__(self, title: str, steps: list[Step], output: str) -> None:
            super().__init__()
            # underscored so that no layer name (a submodule) can collide with them
            self._archcost_title = title
            self._archcost_steps = steps  # a plain list: the modules are registered by path, not here
            self._archcost_output = output

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            tensors: dict[str, torch.Tensor] = {INPUT: x}
            for module, name, inputs, free in self._archcost_steps:
                try:
                    tensors[name] = module(*(tensors[i] for i in inputs))
                except Exception as exc:
                    raise LayerFailedError(name, exc) from exc
                for producer in free:
                    del tensors[producer]
            return tensors[self._archcost_output]

        def extra_repr(self) -> str:
            return self._archcost_title

    return Network


def inplace_layers(analysis: Analysis, *, training: bool) -> frozenset[str]:
    """The layers the analysis runs in place (their output lives in their first input's storage),
    at inference or in training (see ``archcost.memory._storages``); :func:`build` builds them so."""
    storage, _ = memory._storages(analysis, training=training)
    return frozenset(r.name for r in analysis.layers if storage[r.name] == storage[r.inputs[0]])


def _attach(root: nn.Module, path: str, module: nn.Module, layer: LayerResult) -> None:
    """Register `module` at the dotted `path` under `root`, making plain containers on the way."""
    from torch import nn

    *parents, leaf = path.split(".")
    here = root
    for part in parents:
        child = here._modules.get(part)
        if child is None:
            child = nn.Module()
            _add_module(here, part, child, layer)
        elif type(child) is not nn.Module:
            raise SpecError(f"{path!r} sits under the layer {part!r}, which is not a container", _layer_location(layer))
        here = child
    if leaf in here._modules:
        raise SpecError(f"two layers are built at {path!r}", _layer_location(layer))
    _add_module(here, leaf, module, layer)


def _add_module(parent: nn.Module, name: str, module: nn.Module, layer: LayerResult) -> None:
    try:
        parent.add_module(name, module)
    except KeyError:
        raise SpecError(
            f"the name {name!r} in {layer.name!r} is an attribute of torch's nn.Module and cannot name a "
            "torch submodule; rename the layer to verify it",
            _layer_location(layer),
        ) from None


def _layer_location(layer: LayerResult) -> Location:
    return Location(layer.loc.file, layer.loc.line, layer.loc.column, layer.name)


def build(analysis: Analysis, *, inplace: frozenset[str] = frozenset()) -> nn.Module:
    """An ``nn.Module`` computing `analysis`, each leaf registered at its layer name.

    The layers named in `inplace` (see :func:`inplace_layers`) overwrite their first input
    (``nn.ReLU(inplace=True)``, ``out += identity``); the others make new tensors (flatten and
    identity are views either way).

    Raises LayerFailedError if torch rejects a layer's arguments, SpecError if a layer name
    cannot be a torch module path (e.g. ``eval``), MissingExtraError without torch.
    """
    require()
    last_use: dict[str, int] = {}
    for i, layer in enumerate(analysis.layers):
        for producer in layer.inputs:
            last_use[producer] = i
    output = analysis.layers[-1].name
    frees: dict[int, list[str]] = {}
    for producer, i in last_use.items():
        if producer != output:
            frees.setdefault(i, []).append(producer)

    steps: list[Step] = []
    network = network_class()(analysis.title or analysis.name, steps, output)
    for i, layer in enumerate(analysis.layers):
        builder = layers.KINDS[layer.kind].torch
        if builder is None:
            raise SpecError(f"no torch builder for the layer kind {layer.kind!r}", _layer_location(layer))
        try:
            module = builder(layer.input_shapes, layer.output_shape, layer.args, layer.name in inplace)
        except (ValueError, TypeError, RuntimeError) as exc:
            raise LayerFailedError(layer.name, exc) from exc
        _attach(network, layer.name, module, layer)
        # a layer nobody reads (not the output) is freed at once
        free = tuple(frees.get(i, ())) + ((layer.name,) if layer.name not in last_use and layer.name != output else ())
        steps.append((module, layer.name, layer.inputs, free))
    return network


def materialize(analysis: Analysis, dev: torch.device, *, inplace: frozenset[str] = frozenset()) -> nn.Module:
    """The build in eval mode on `dev`, with zero weights and unit running variances.

    Values change neither shapes nor counts, and skipping torch's random initialization
    (built on the meta device, then allocated) saves most of the build time of large nets:
    about 1 s of VGG-16's 138M parameters.
    """
    import torch

    with torch.device("meta"):
        model = build(analysis, inplace=inplace)
    model = model.to_empty(device=dev)
    with torch.no_grad():
        for param in model.parameters():
            param.zero_()
        for name, buffer in model.named_buffers():
            buffer.fill_(1 if name.endswith("running_var") else 0)
    return model.eval()
