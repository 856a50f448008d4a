"""Where an imported module comes from: ``torchvision:NAME``, ``timm:NAME``, ``package.module:callable`` or
``path/to/file.py:callable``, built on the meta device (no weights allocated), with its default input.

Owns :func:`load`. torchvision's import on a CPU build of torch whose compiled torchvision operators do not
match fails with a RuntimeError from ``torchvision._meta_registrations``; only then is that one module
stubbed (the models never call those operators) and the import tried again — docs/import.md says so.
timm imports torchvision, so a timm SOURCE goes through the same import first.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from archcost.errors import Location, SpecError


@dataclass(frozen=True)
class Source:
    """A module to import, built on the meta device, in eval mode."""

    module: nn.Module
    input: tuple[int, ...] | None
    """The model's own default input (C, H, W), or None if it has none."""
    name: str
    """A spec name: the model's name (``resnet50``) or the callable's."""
    title: str
    reference: str
    """The SOURCE as given."""


def _refuse(source: str, message: str) -> SpecError:
    return SpecError(message, Location(source))


def import_torchvision() -> types.ModuleType:
    """torchvision, with ``torchvision._meta_registrations`` stubbed only if its real import fails on it."""
    try:
        import torchvision  # type: ignore[import-untyped]
    except RuntimeError as exc:
        if "torchvision::" not in str(exc) and "does not exist" not in str(exc):
            raise
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]
        sys.modules["torchvision._meta_registrations"] = types.ModuleType("torchvision._meta_registrations")
        import torchvision
    module: types.ModuleType = torchvision
    return module


class _MetaWeights(TorchFunctionMode):
    """Puts the tensors that weights are made of (``torch.empty``, ``zeros``, ``ones`` with no device) on the meta
    device and leaves the rest on the CPU, for a constructor that computes with tensors (RegNet's widths)."""

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = dict(kwargs or {})
        if func in (torch.empty, torch.zeros, torch.ones) and kwargs.get("device") is None:
            kwargs["device"] = "meta"
        return func(*args, **kwargs)


def _on_meta(source: str, make: Any) -> nn.Module:
    try:
        try:
            with torch.device("meta"):
                module = make()
        except NotImplementedError:  # the constructor reads a tensor's values: only the weights on meta
            with _MetaWeights():
                module = make()
            if isinstance(module, nn.Module):
                module = module.to("meta")
    except SpecError:
        raise
    except Exception as exc:
        detail = " ".join(str(exc).split())[:300]
        raise _refuse(source, f"building the module failed: {type(exc).__name__}: {detail}") from None
    if not isinstance(module, nn.Module):
        raise _refuse(source, f"the callable gave a {type(module).__name__}, not a torch nn.Module")
    return module.eval()


def _torchvision(source: str, name: str) -> Source:
    try:
        tv = import_torchvision()
    except ImportError:
        raise _refuse(source, "needs torchvision, not installed here (pip install torchvision)") from None
    models = tv.models
    if name not in models.list_models():
        raise _refuse(source, f"torchvision has no model {name!r} (torchvision.models.list_models() names them)")
    crop: tuple[int, ...] | None = None
    try:
        weights = models.get_model_weights(name).DEFAULT
        transforms = weights.transforms()
        size = getattr(transforms, "crop_size", None)
        if size:
            side = list(size)
            crop = (3, side[0], side[-1])
    except Exception:
        crop = None
    module = _on_meta(source, lambda: models.get_model(name))
    size = getattr(module, "image_size", None)  # ViT: the size it is built for (vit_h_14's default weights differ)
    if isinstance(size, int):
        crop = (3, size, size)
    return Source(module, crop, name, f"torchvision {name}", source)


def _timm(source: str, name: str) -> Source:
    with contextlib.suppress(ImportError):
        import_torchvision()  # timm imports torchvision: with the stub if it needs it
    try:
        import timm
    except ImportError:
        raise _refuse(source, "needs timm, not installed here (pip install timm)") from None
    if not timm.is_model(name):
        raise _refuse(source, f"timm has no model {name!r} (timm.list_models() names them)")
    module = _on_meta(source, lambda: timm.create_model(name, pretrained=False))
    cfg = getattr(module, "pretrained_cfg", None) or {}
    size = cfg.get("input_size")
    shape = tuple(int(d) for d in size) if size else None
    return Source(module, shape, name, f"timm {name}", source)


def _callable(source: str, where: str, attr: str) -> Source:
    if where.endswith(".py"):
        path = Path(where)
        if not path.is_file():
            raise _refuse(source, f"{where}: no such Python file")
        spec = importlib.util.spec_from_file_location(f"archcost_import_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise _refuse(source, f"{where}: cannot be loaded as a Python module")
        loaded = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(loaded)
        except Exception as exc:
            raise _refuse(source, f"{where}: running it failed: {type(exc).__name__}: {exc}") from None
    else:
        try:
            loaded = importlib.import_module(where)
        except ImportError as exc:
            raise _refuse(source, f"cannot import the Python module {where!r}: {exc}") from None
    make = getattr(loaded, attr, None)
    if make is None or not callable(make):
        raise _refuse(source, f"{where} has no callable {attr!r}")
    if inspect.isclass(make) and not issubclass(make, nn.Module):
        raise _refuse(source, f"{attr} is a class but not a torch nn.Module")
    module = _on_meta(source, make)
    return Source(module, None, attr.lower(), attr, source)


def load(source: str) -> Source:
    """The module SOURCE names, built on the meta device; SpecError (one line) if it cannot be."""
    kind, sep, rest = source.partition(":")
    if not sep or not rest or not kind:
        raise _refuse(
            source,
            "expected torchvision:NAME, timm:NAME, package.module:callable or path/to/file.py:callable",
        )
    if kind == "torchvision":
        return _torchvision(source, rest)
    if kind == "timm":
        return _timm(source, rest)
    where, _, attr = source.rpartition(":")
    return _callable(source, where, attr)
