"""What the torch modules share: the check that torch and fvcore are installed, devices and dtypes.

Imports torch only inside functions, so that ``import archcost.torchcheck`` works without it.
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING, Final

from archcost.errors import Location, SpecError

if TYPE_CHECKING:
    import torch

INSTALL_HINT: Final = "pip install 'archcost[torch]'"
"""How to install what this module needs."""


class MissingExtraError(SpecError):
    """torch or fvcore is not installed: the message says how to install them."""


def require() -> None:
    """Import torch and fvcore, or raise MissingExtraError with the install command."""
    missing = []
    for package, module in (("torch", "torch"), ("fvcore", "fvcore.nn")):
        try:
            with warnings.catch_warnings():  # fvcore.nn scripts functions at import; torch deprecates that
                warnings.simplefilter("ignore", DeprecationWarning)
                importlib.import_module(module)
        except ImportError:
            missing.append(package)
    if missing:
        raise MissingExtraError(
            f"needs {' and '.join(missing)}, not installed here; install the extra with: {INSTALL_HINT}",
            Location("archcost verify"),
        )


def resolve_device(device: str) -> torch.device:
    """`device` as a torch device; SpecError if it is not cpu or cuda, or no CUDA device is here."""
    require()
    import torch

    try:
        dev = torch.device(device)
    except RuntimeError:
        raise SpecError(f"--device {device}: expected cpu or cuda", Location("--device")) from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise SpecError(f"--device {device}: no CUDA device is available here", Location("--device"))
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise SpecError(
                f"--device {device}: there are only {torch.cuda.device_count()} CUDA devices", Location("--device")
            )
    elif dev.type != "cpu":
        raise SpecError(f"--device {device}: expected cpu or cuda", Location("--device"))
    return dev
