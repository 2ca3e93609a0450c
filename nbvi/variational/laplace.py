"""The Laplace approximation: a Gaussian at the posterior's mode on the unconstrained space.

    theta* = argmax_theta log p(theta | y)            log-Jacobians of the transforms included
    H      = d^2 log p / d theta d theta^T at theta*   central differences of the analytic gradient
    q      = N(theta*, (-H)^{-1})

log p here is ``model.logp_dlogp``, the density of the unconstrained theta, so q is a density on the same
space as MeanField and FullRank (pymc-extras' ``fit_laplace`` and Stan's ``laplace`` do the same): draws map
back through the transforms, a positive variable stays positive, and ``psis_diagnostic`` compares q with p
on that space. (``find_MAP`` instead leaves the Jacobians out, as PyMC's; see :mod:`nbvi.optimize`.)

The Hessian. Column j is the change of the analytic gradient g along coordinate j,

    H[:, j] = (g(theta* + h_j e_j) - g(theta* - h_j e_j)) / (2 h_j),     h_j = eps^(1/3) max(1, |theta*_j|),

all 2 ndim points in ONE ``logp_dlogp`` call, then symmetrised, H <- (H + H^T) / 2. The error of an entry is
h_j^2 / 6 |d^3 g_i / d theta_j^3| (truncation; zero for a Gaussian posterior, whose g is linear) plus about
eps |g_i| / h_j (the round-off of g, whose terms are of size |g_i|), both about eps^(2/3) ~ 4e-11 relative
when the posterior's scale in theta is near 1; the step is too large for a posterior narrower than about
1e-3 in some unconstrained coordinate.

When -H is not positive definite the mode is not a strict maximum (a variable the density does not depend on,
an improper posterior, a saddle): the fit raises a ValueError naming the variables along whose directions
the curvature is not negative, rather than adding jitter, which would hide the problem behind an arbitrarily
wide Gaussian.
"""
import sys
import warnings

import numpy as np

from nbvi import arguments
from nbvi.model import modelcontext
from nbvi.optimize import check_start, maximise, refuse_minibatches
from nbvi.variational.approximations import FullRank
from nbvi.variational.inference import METHODS, Inference, seeded_approximation

__all__ = ["LaplaceApproximation", "LaplaceInference", "hessian"]

MAX_ITERATIONS = 10_000  # L-BFGS iterations of a fit without n
RELATIVE_STEP = np.finfo(np.float64).eps ** (1.0 / 3.0)  # ~6e-6, the step of the central differences


def hessian(logp_dlogp, theta):
    """Hessian of a log-density at one point by central differences of its analytic gradient.

    Parameters
    ----------
    logp_dlogp : callable
        theta (D, ndim) -> (logp (D,), grad (D, ndim)); called once, with D = 2 ndim.
    theta : ndarray, shape (ndim,)

    Returns
    -------
    ndarray, shape (ndim, ndim)
        H[i, j] = d^2 log p / d theta_i d theta_j, symmetric; NaN or inf where a gradient was not finite.
    """
    theta = np.asarray(theta, dtype=np.float64)
    ndim = theta.size
    step = RELATIVE_STEP * np.maximum(1.0, np.abs(theta))
    diagonal = np.arange(ndim)
    points = np.repeat(theta[None], 2 * ndim, axis=0)
    points[diagonal, diagonal] += step  # rows 0..ndim-1: theta + h_j e_j
    points[ndim + diagonal, diagonal] -= step  # rows ndim..2 ndim - 1: theta - h_j e_j
    width = points[diagonal, diagonal] - points[ndim + diagonal, diagonal]  # 2 h_j as represented
    _, grad = logp_dlogp(points)
    with np.errstate(invalid="ignore", over="ignore"):
        columns = (grad[:ndim] - grad[ndim:]) / width[:, None]  # row j: dg / d theta_j
    return 0.5 * (columns + columns.T)


class LaplaceApproximation(FullRank):
    """q = N(mu, (-H)^{-1}) over the flat unconstrained space, a FullRank whose L is the Cholesky factor of
    the covariance: ``mean``, ``std``, ``cov()``, ``sample``, ``sample_node``, ``logq``,
    ``entropy`` as FullRank.

    Before a fit, ``mu`` is the start and L the identity. ``hessian`` is H at ``mu`` after a fit (else None);
    ``hist`` holds the optimiser's loss, -log p(theta), after each L-BFGS iteration.
    """

    def __init__(self, model, start=None, random_seed=None):
        super().__init__(model, start=start, random_seed=random_seed)
        self.hessian = None

    def set_mode(self, mode, hessian):
        """Centre q at ``mode`` (ndim,) with covariance (-hessian)^{-1}; ``-hessian`` must be positive
        definite (np.linalg.LinAlgError otherwise, and nothing is changed)."""
        precision_factor = np.linalg.cholesky(-hessian)  # -H = C C^T
        inverse_factor = np.linalg.inv(precision_factor)
        cov = inverse_factor.T @ inverse_factor  # (-H)^{-1} = C^{-T} C^{-1}
        factor = np.linalg.cholesky(0.5 * (cov + cov.T))
        self.set_L(factor)
        self.shared_params["mu"][:] = mode
        self.hessian = hessian


class LaplaceInference(Inference):
    """The Laplace approximation as an Inference: ``fit`` finds the mode of log p(theta) (Jacobians included)
    by L-BFGS from the current mean, then sets q = N(mode, (-H)^{-1}) with H by central differences.

    Parameters
    ----------
    model : Model, optional
    random_seed : int, optional
        Seeds the approximation's generator (``approx.sample``); the fit itself draws nothing.
    start : dict or array, optional
        Where the optimiser starts (default: the model's initial point).
    """

    def __init__(self, model=None, random_seed=None, start=None):
        model = modelcontext(model)
        refuse_minibatches(model, "the Laplace approximation")
        super().__init__(*seeded_approximation(LaplaceApproximation, model, random_seed, start))

    def fit(self, n=None, callbacks=None, obj_optimizer=None, progressbar=True, total_grad_norm_constraint=None,
            **kwargs):
        """Find the mode from the current mean and set q there; returns the approximation.

        Parameters
        ----------
        n : int, optional
            At most this many L-BFGS iterations (MAX_ITERATIONS when None); a UserWarning when the optimiser
            has not converged by then (q is still set, at the last iterate).
        callbacks : list of callables ``(approx, losses, i)``
            Called after every iteration, with ``approx.mean`` at the iterate (L is that of the last fit);
            raising StopIteration ends the optimisation there, and q is set at that point. So does Ctrl-C.
        progressbar : bool
        obj_optimizer, total_grad_norm_constraint
            Options of the stochastic optimizer of ADVI and SVGD, refused here (ValueError).

        Raises
        ------
        SamplingError
            The log-density is not finite at the start.
        ValueError
            -H is not positive definite at the point reached (the message names the variables).
        """
        max_iterations = MAX_ITERATIONS if n is None else arguments.integer(n, "n")
        callbacks = arguments.functions(callbacks, "callbacks")
        progressbar = arguments.flag(progressbar, "progressbar")
        for name, value in (("obj_optimizer", obj_optimizer), ("total_grad_norm_constraint", total_grad_norm_constraint)):
            if value is not None:
                raise ValueError(f"{name} configures the stochastic optimizer of ADVI and SVGD; the Laplace "
                                 f"approximation finds the mode by L-BFGS and takes no {name}")
        self.set_options(**kwargs)
        self._last = (None, None, callbacks)
        return self._fit(max_iterations, callbacks, progressbar)

    def refine(self, n, progressbar=True):
        """At most ``n`` more L-BFGS iterations from the current mean, with the last fit's callbacks."""
        n = arguments.integer(n, "n")
        progressbar = arguments.flag(progressbar, "progressbar")
        if self._last is None:
            raise ValueError("refine() continues a previous fit(); call fit() first")
        return self._fit(n, self._last[2], progressbar)

    def _fit(self, max_iterations, callbacks, progressbar):
        approx, model = self.approx, self.model
        start = approx.shared_params["mu"].copy()
        check_start(model, start, "the Laplace approximation")
        offset = len(approx.hist)

        def on_iteration(theta, losses):
            approx.shared_params["mu"][:] = theta
            try:
                for callback in callbacks:
                    callback(approx, np.asarray(losses), offset + len(losses))
            except StopIteration as stop:
                if str(stop):
                    print(str(stop), file=sys.stderr)
                return True
            return False

        try:
            found = maximise(model.logp_dlogp, start, max_iterations=max_iterations, on_iteration=on_iteration,
                             progressbar=progressbar, label="Laplace")
        except BaseException:
            approx.shared_params["mu"][:] = start
            raise
        approx.hist = np.concatenate([approx.hist, found.losses])
        approx.shared_params["mu"][:] = found.x
        H = hessian(model.logp_dlogp, found.x)
        try:
            approx.set_mode(found.x, H)
        except np.linalg.LinAlgError:
            raise ValueError(_not_negative_definite(model, H, found.converged)) from None
        if not found.converged and not found.stopped:
            warnings.warn(f"the Laplace approximation's optimiser did not converge within {max_iterations} "
                          f"iteration{'s' if max_iterations != 1 else ''} "
                          f"({found.result.message}); q is set at the last iterate, which is not the mode. Call "
                          f"fit() again to go on from there", UserWarning, stacklevel=3)
        return approx


def _not_negative_definite(model, H, converged):
    """The message of a fit whose -H is not positive definite, naming the variables along whose directions the
    curvature is not negative (or not finite)."""
    where = "the mode" if converged else "the point reached (the optimiser had not converged)"
    if not np.all(np.isfinite(H)):
        coordinates = np.flatnonzero(~np.all(np.isfinite(H), axis=1))
        problem = "is not finite along"
    else:
        values, vectors = np.linalg.eigh(H)
        flat = values >= min(0.0, values.max())  # (the largest, when Cholesky failed at round-off level)
        share = np.sum(vectors[:, flat] ** 2, axis=1)  # how much of those directions lies on each coordinate
        coordinates = np.flatnonzero(share >= 0.5 * share.max())
        problem = f"is not negative (largest eigenvalue of H {values.max():.3g}) along the directions of"
    names = _names_of(model, coordinates)
    return (f"the Laplace approximation needs a negative definite Hessian of log p at {where}, but the curvature "
            f"{problem} {names}: the posterior is flat or not at a maximum there (a variable the density does not "
            f"depend on, an improper prior, a saddle). Give those variables a proper prior, or check the model")


def _names_of(model, coordinates):
    """The free variables (quoted, comma separated) that own the flat ``coordinates``; theta[i] for a model that
    follows only the contract of ARCHITECTURE.md."""
    layout = getattr(model, "variable_layout", None)
    if layout is None:
        return ", ".join(f"theta[{i}]" for i in coordinates)
    names = []
    for rv, where, _shape in layout():
        if any(where.start <= i < where.stop for i in coordinates):
            names.append(f"'{rv.name}'")
    return ", ".join(names)


METHODS["laplace"] = LaplaceInference  # nbvi.fit(method="laplace")
