"""nbvi: variational inference for Bayesian models in NumPy + Numba, with every gradient written by hand.

Write models the PyMC way::

    import nbvi
    with nbvi.Model() as model:
        x = nbvi.Normal("x", 0.0, 1.0)

Importing nbvi compiles nothing: numba kernels compile (or load from the cache) on first use.
"""
from nbvi.numba_cache import NoCacheWarning, ensure_cache_location

ensure_cache_location()  # before any module defines a cached kernel

from nbvi import callbacks, config, math, mpi, testing  # (nbvi.mpi imports mpi4py only under an MPI launcher)
from nbvi.compiled.explain import explain
from nbvi.config import floatX_array as floatX
from nbvi.data import ConstantData, Data, Minibatch, MutableData
from nbvi.distributions import *  # noqa: F401,F403 - every family under nbvi.<Name>
from nbvi.distributions import __all__ as _families
from nbvi.functions import draw, logp
from nbvi.graph import Constant, Node
from nbvi.graph.clone import clone
from nbvi.inference_data import compute_log_likelihood
from nbvi.model import Deterministic, Model, NotCompiledWarning, RandomVariable, modelcontext, set_data
from nbvi.model_graph import model_to_graphviz
from nbvi.model_graph_drawing import draw_model_graph
from nbvi.optimize import find_MAP
from nbvi.potential import Potential
from nbvi.predictive import sample_posterior_predictive, sample_prior_predictive
from nbvi.sampling.diagnostics import effective_sample_size, rhat, summary
from nbvi.sampling.sample import SamplingError, sample
from nbvi.trace import Trace
from nbvi.variational import *  # noqa: F401,F403 - ADVI, fit, the optimizers ...
from nbvi.variational import __all__ as _variational
from nbvi.variational.psis import PSISResult, PSISWarning, psis_diagnostic

__version__ = "0.1.0"

__all__ = ["Constant", "ConstantData", "Data", "Deterministic", "Minibatch", "Model", "MutableData", "NoCacheWarning", "Node", "NotCompiledWarning", "PSISResult", "PSISWarning", "Potential", "RandomVariable", "SamplingError", "Trace", "callbacks", "clone",
           "compute_log_likelihood", "config", "draw", "draw_model_graph", "effective_sample_size", "explain", "find_MAP", "floatX", "logp", "math", "model_to_graphviz", "mpi", "modelcontext", "psis_diagnostic", "rhat", "sample", "sample_posterior_predictive", "sample_prior_predictive", "set_data", "summary", "testing", *_families, *_variational]


def __getattr__(name):
    """``nbvi.plots`` on first access: it imports matplotlib (an optional extra), which ``import nbvi`` must not."""
    if name == "plots":
        import importlib

        return importlib.import_module("nbvi.plots")
    raise AttributeError(f"module 'nbvi' has no attribute '{name}'")
