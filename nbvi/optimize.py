"""The maximum a posteriori point: ``find_MAP`` (PyMC's ``pm.find_MAP``), and the scipy loop it shares with the
Laplace approximation (:mod:`nbvi.variational.laplace`).

The objective. A transformed variable lives in unconstrained coordinates u, x = T^{-1}(u), and
``model.logp_dlogp`` is the density of u: log p(x(u)) + log|det dx/du|. PyMC's find_MAP optimises over u too,
but leaves the log-Jacobians out (``model.compile_logp(jacobian=False)``), so that its answer is the mode of
p(x), the density of the variables as written (a HalfNormal scale's mode, not the mode of its logarithm's
density). ``find_MAP`` does the same by subtracting the transforms' log-Jacobians and their gradients:

    f(u) = log p(u) - sum_v log|det J_v(u_v)|,     grad f(u) = grad log p(u) - sum_v d log|det J_v| / du_v.

Optimising over u keeps every iterate inside the support. The Laplace approximation keeps the Jacobians:
its Gaussian is a density on u (docs/laplace.md).
"""
import math
import sys
import warnings
from typing import NamedTuple

import numpy as np

from nbvi import arguments, mpi
from nbvi.interrupts import deferred_interrupt
from nbvi.model import modelcontext, pymc_name
from nbvi.progress import ProgressBar

__all__ = ["Maximum", "find_MAP", "maximise"]

METHODS = ("L-BFGS-B", "BFGS", "CG")  # scipy's gradient methods that take only the value and the gradient
FTOL = 1e-13  # L-BFGS-B stops when -f changes by less than FTOL * max(|f|, 1) in an iteration
GTOL = 1e-9  # ... or when the largest gradient entry is below GTOL (every method)
STATIONARY = 1e-6  # a run that ends (round-off in the line search) with max |grad f| <= STATIONARY * max(|f|, 1)
# has converged too: the gradient is at the level of the round-off of f's terms


class Maximum(NamedTuple):
    """What :func:`maximise` returns.

    Attributes
    ----------
    x : ndarray, shape (ndim,)
        The point reached: the best one evaluated, or the iterate at which a callback or Ctrl-C stopped.
    logp : float
        f(x).
    grad : ndarray, shape (ndim,)
        grad f(x).
    losses : ndarray, shape (iterations,)
        -f after each iteration.
    converged : bool
        The optimiser met its tolerance, or ended at a point whose gradient is at round-off level.
    stopped : bool
        A callback or Ctrl-C ended it.
    evaluations : int
        Calls of the objective.
    result : scipy.optimize.OptimizeResult
        scipy's own result (its ``x`` may differ from ``x``); ``success`` False and ``status`` -1 when the
        evaluation limit ended the run.
    """

    x: np.ndarray
    logp: float
    grad: np.ndarray
    losses: np.ndarray
    converged: bool
    stopped: bool
    evaluations: int
    result: object


class _Exhausted(Exception):
    """The objective was asked for more evaluations than allowed."""


def maximise(logp_dlogp, x0, method="L-BFGS-B", max_iterations=None, max_evaluations=None, on_iteration=None,
             progressbar=False, label="", history_size=20):
    """Maximise a log-density f with scipy's ``minimize`` on -f, from ``x0``.

    Parameters
    ----------
    logp_dlogp : callable
        theta (D, ndim) -> (f (D,), grad f (D, ndim)); called with D = 1. Where f or its gradient is not
        finite, -f is +inf for the optimiser (its line search then steps back).
    x0 : ndarray, shape (ndim,)
        The start; f must be finite there.
    method : {"L-BFGS-B", "BFGS", "CG"}
    max_iterations : int, optional
        At most this many iterations (0: evaluate at ``x0`` only).
    max_evaluations : int, optional
        At most this many calls of ``logp_dlogp`` (PyMC's ``maxeval``); the best point evaluated is kept.
    on_iteration : callable ``(x, losses) -> bool``, optional
        Called after every iteration with its iterate and the losses so far; True stops the run there.
    progressbar : bool
    label : str
        The progress bar's label.
    history_size : int
        L-BFGS-B's number of stored correction pairs (scipy's ``maxcor``).

    Returns
    -------
    Maximum
    """
    from scipy.optimize import OptimizeResult, minimize  # (scipy.optimize is not needed to import nbvi)

    best = {"x": np.array(x0, dtype=np.float64), "logp": -math.inf, "grad": None}
    evaluations = [0]

    def negative(x):
        if max_evaluations is not None and evaluations[0] >= max_evaluations:
            raise _Exhausted
        evaluations[0] += 1
        logp, grad = logp_dlogp(np.ascontiguousarray(x)[None])
        value, g = float(logp[0]), grad[0]
        if not (math.isfinite(value) and np.all(np.isfinite(g))):
            return math.inf, np.zeros_like(x)
        if value > best["logp"]:
            best.update(x=np.array(x, dtype=np.float64), logp=value, grad=np.array(g, dtype=np.float64))
        return -value, -g

    total = max_evaluations if max_iterations is None else max_iterations
    bar = ProgressBar(total or 0, enabled=progressbar, label=label)
    losses, stopped, exhausted = [], [False], False
    with deferred_interrupt() as interrupted:
        def after_iteration(intermediate_result):
            losses.append(float(intermediate_result.fun))
            bar.update(evaluations[0] if max_iterations is None else len(losses), losses[-1])
            stopped[0] = bool(on_iteration is not None and on_iteration(intermediate_result.x, losses)) \
                or interrupted()
            if stopped[0]:
                raise StopIteration

        iterations = sys.maxsize if max_iterations is None else int(max_iterations)
        options = {"maxiter": max(iterations, 1), "gtol": GTOL}
        if method == "L-BFGS-B":
            options.update(maxcor=history_size, ftol=FTOL, maxfun=sys.maxsize)
        result = None
        try:
            if iterations == 0:
                negative(best["x"])
                result = OptimizeResult(x=best["x"], success=False, status=1, message="no iterations asked for")
            else:
                result = minimize(negative, best["x"].copy(), jac=True, method=method, callback=after_iteration,
                                  options=options)
        except _Exhausted:
            exhausted = True
            result = OptimizeResult(x=best["x"], success=False, status=-1,
                                    message=f"the limit of {max_evaluations} evaluations of the log-density")
        except BaseException:
            bar.close(interrupted=True)
            raise
    x = np.array(result.x, dtype=np.float64) if stopped[0] else best["x"]
    if stopped[0] or best["grad"] is None:
        logp, grad = logp_dlogp(x[None])
        logp, grad = float(logp[0]), np.array(grad[0])
    else:
        logp, grad = best["logp"], best["grad"]
    stationary = math.isfinite(logp) and float(np.max(np.abs(grad))) <= STATIONARY * max(abs(logp), 1.0)
    converged = not (exhausted or stopped[0]) and (bool(result.success) or stationary)
    bar.close(interrupted=stopped[0], converged=converged)
    result.nfev = evaluations[0]
    return Maximum(x, logp, grad, np.asarray(losses, dtype=np.float64), converged, stopped[0], evaluations[0],
                   result)


def check_start(model, x0, caller):
    """SamplingError (a ValueError) naming the variables at fault when the log-density or its gradient is not
    finite at ``x0`` (ndim,), the start of ``caller``."""
    logp, grad = model.logp_dlogp(x0[None])
    if np.isfinite(logp[0]) and np.all(np.isfinite(grad)):
        return
    from nbvi.sampling.sample import SamplingError, _show, support_report

    report = support_report(model, x0) if hasattr(model, "free_RVs") else ""
    raise SamplingError(f"{caller} cannot start: the log-density or its gradient is not finite at the starting "
                        f"point {_show(x0)} (log-density {float(logp[0])}). {report}".rstrip())


def refuse_minibatches(model, caller, why="and its maximum is not the posterior's",
                       remedy="build the model on the full Data"):
    """ValueError naming the Minibatches a model reads (and the observed variables that read them): its
    log-density is then a one-batch estimate, ``why`` that will not do for ``caller``; ``remedy`` says what to
    do instead."""
    find = getattr(model, "minibatches", None)
    batches = find() if find is not None else []
    if not batches:
        return
    names = [mb.name for mb in batches]
    observed = [rv.name for rv in getattr(model, "observed_RVs", []) if any(rv.observed is mb for mb in batches)]
    reading = f" (read by the observed variables {observed})" if observed else ""
    raise ValueError(f"{caller}: the model reads the Minibatch {names}{reading}, so its log-density is a one-batch "
                     f"estimate {why}; {remedy}")


def jacobian_free(model):
    """``logp_dlogp`` of ``model`` without the log-Jacobians of its transforms: theta (D, ndim) -> (f, grad f),
    the density of the constrained values as a function of the unconstrained ones (see the module's text).
    A model that follows only the contract of ARCHITECTURE.md declares no transforms: its own density."""
    layout = getattr(model, "variable_layout", None)
    transformed = [(rv.transform, where, shape) for rv, where, shape in (layout() if layout else [])
                   if rv.transform is not None]
    if not transformed:
        return model.logp_dlogp

    def logp_dlogp(theta):
        logp, grad = model.logp_dlogp(theta)
        logp, grad = logp.copy(), grad.copy()
        draws = theta.shape[0]
        for transform, where, shape in transformed:
            u = np.ascontiguousarray(theta[:, where]).reshape((draws,) + shape)
            logp -= transform.log_jac_det(u)
            grad[:, where] -= transform.log_jac_det_grad(u).reshape(draws, -1)
        return logp, grad

    return logp_dlogp


def find_MAP(start=None, model=None, method="L-BFGS-B", maxeval=5000, return_raw=False, progressbar=True,
             include_transformed=True):
    """The maximum a posteriori point of a model (PyMC's ``pm.find_MAP``).

    Maximises log p(x), the joint log-density of the free variables as written (the transforms' log-Jacobians
    left out, as PyMC), over the unconstrained coordinates, with scipy's quasi-Newton ``method`` on the
    model's compiled density and its analytic gradient. See docs/laplace.md.

    Parameters
    ----------
    start : dict or ndarray, optional
        {name: constrained value} of some free variables (the others start at the model's initial point),
        or a flat unconstrained point (ndim,).
    model : Model, optional
        Default: the innermost ``with`` block's.
    method : {"L-BFGS-B", "BFGS", "CG"}
        scipy's method (any letter case).
    maxeval : int >= 1
        At most this many evaluations of the log-density (PyMC's default, 5000); the best point evaluated
        is returned, with a UserWarning.
    return_raw : bool
        Also return scipy's OptimizeResult.
    progressbar : bool
    include_transformed : bool
        Also report each transformed variable's unconstrained value, under PyMC's name
        ``<name>_<transform>__`` (``sigma_log__``), as PyMC does by default.

    Returns
    -------
    point : dict
        {name: value} of every free variable and deterministic, each of the variable's shape (a 0-d array
        for a scalar), plus the unconstrained values with ``include_transformed``.
    result : scipy.optimize.OptimizeResult
        Only with ``return_raw``.

    Raises
    ------
    SamplingError
        The log-density or its gradient is not finite at the start (the message names the variables).
    """
    from nbvi.variational.inference import _start_flat

    model = modelcontext(model)
    mpi.refuse_distributed("nbvi.find_MAP", "it does not sum the log-density over ranks: each rank would find "
                           "its own shard's mode; run it in one process")
    allowed = {name.lower(): name for name in METHODS}
    if not isinstance(method, str) or method.lower() not in allowed:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    method = allowed[method.lower()]
    maxeval = arguments.integer(maxeval, "maxeval", minimum=1)
    return_raw = arguments.flag(return_raw, "return_raw")
    progressbar = arguments.flag(progressbar, "progressbar")
    include_transformed = arguments.flag(include_transformed, "include_transformed")
    refuse_minibatches(model, "find_MAP")
    x0 = _start_flat(model, start)
    check_start(model, x0, "find_MAP")
    found = maximise(jacobian_free(model), x0, method=method, max_evaluations=maxeval, progressbar=progressbar,
                     label="find_MAP")
    if not found.converged and not found.stopped:
        warnings.warn(f"find_MAP did not converge ({found.result.message}); the point returned is the best one "
                      f"evaluated, where the largest gradient entry is {float(np.max(np.abs(found.grad))):.3g}. "
                      f"Raise maxeval or give a better start", UserWarning, stacklevel=2)
    point = {name: value[0, ...] for name, value in model.unravel(found.x[None]).items()}
    if include_transformed:
        for rv, where, shape in getattr(model, "variable_layout", list)():
            if rv.transform is not None:
                point[pymc_name(rv)] = found.x[where].reshape(shape).copy()
    return (point, found.result) if return_raw else point
