"""``nbvi.callbacks``: the callbacks of a fit, as ``pm.callbacks`` in PyMC3."""
from nbvi.variational.callbacks import CheckParametersConvergence, Tracker, absolute, relative

__all__ = ["CheckParametersConvergence", "Tracker", "absolute", "relative"]
