"""torch and fvcore behind ``archcost verify``: the only package that imports them, inside functions.

``import archcost.torchcheck`` works without torch; :func:`require` says how to install the extra.

* :mod:`.build`: an analysis as an ``nn.Module``, one module per leaf layer at its name;
* :mod:`.verify`: that module profiled with fvcore, every layer's figures against the analysis;
* :mod:`.measure`: memory measured on the build (saved for backward, the inference peak);
* :mod:`.train`: the training step counted by FlopCounterMode (forward + backward) against the analysis;
* :mod:`.support`: install check, devices.

Its results are rendered by :mod:`archcost.report.verify`; nothing here imports report.
"""

from __future__ import annotations

from archcost.torchcheck.build import LayerFailedError, build, inplace_layers, materialize
from archcost.torchcheck.measure import (
    MEMORY_TOLERANCE,
    CudaPeaks,
    MemoryCheck,
    PeakMeasurement,
    SavedMeasurement,
    analytic_saved_by_layer,
    measure_peak_inference,
    measure_saved,
    observed_in_place,
    verify_memory,
)
from archcost.torchcheck.support import INSTALL_HINT, MissingExtraError, require, resolve_device
from archcost.torchcheck.train import TrainCheck, TrainLayerCheck, verify_train
from archcost.torchcheck.verify import (
    FIGURES,
    Check,
    LayerCheck,
    TotalsCheck,
    VerifyResult,
    fvcore_activations,
    fvcore_flops,
    verify,
)

__all__ = [
    "FIGURES",
    "INSTALL_HINT",
    "MEMORY_TOLERANCE",
    "Check",
    "CudaPeaks",
    "LayerCheck",
    "LayerFailedError",
    "MemoryCheck",
    "MissingExtraError",
    "PeakMeasurement",
    "SavedMeasurement",
    "TotalsCheck",
    "TrainCheck",
    "TrainLayerCheck",
    "VerifyResult",
    "analytic_saved_by_layer",
    "build",
    "fvcore_activations",
    "fvcore_flops",
    "inplace_layers",
    "materialize",
    "measure_peak_inference",
    "measure_saved",
    "observed_in_place",
    "require",
    "resolve_device",
    "verify",
    "verify_memory",
    "verify_train",
]
