"""``nbvi.callbacks``: the callbacks of a fit, as ``pm.callbacks`` in PyMC3."""
from nbvi.variational.callbacks import (
    CheckLossConvergence,
    CheckParametersConvergence,
    Tracker,
    absolute,
    relative,
    relative_decrease,
)

__all__ = ["CheckLossConvergence", "CheckParametersConvergence", "Tracker", "absolute", "relative",
           "relative_decrease"]
