"""Deterministic ADVI: the ELBO over a fixed set of draws, minimised by L-BFGS until it converges.

Giordano, Ingram & Broderick (2024), "Black Box Variational Inference with a Deterministic Objective: Faster,
More Accurate, and Even More Accurate Uncertainty Estimates" (DADVI), JMLR 25. Stochastic ADVI takes a new
draw eps ~ N(0, I) at every step, so its gradient is noisy and a constant step size never settles; DADVI
draws M points z_1 ... z_M once and minimises the sample-average loss

    L(m, s) = -(1/M) sum_j log p(m + s * z_j) - H[q]          (mean-field, s = sigma > 0)
    L(m, C) = -(1/M) sum_j log p(m + C z_j)   - H[q]          (full-rank, C lower triangular)

with H[q] = sum_i log s_i (or log |C_ii|) + ndim (1 + log 2 pi) / 2. L is a smooth deterministic function,
so a quasi-Newton method converges to its minimum in tens to hundreds of iterations, whatever the scale
of the model: a badly scaled regression (predictors near 66, an interaction) is what stalls stochastic
ADVI, and curvature information is what fixes it.

The draws. Each z_j comes with its mirror -z_j (antithetic pairs, so the draws average exactly 0), and the
draws are then rescaled to the second moments of N(0, I): whitened, so that z^T z / M is the identity, when
there are at least 2 ndim of them (always for full-rank, whose M is raised to 2 (ndim + 1)); else so that
each coordinate's mean square is 1. For a Gaussian posterior log p(theta) = -(theta - mu)^T P (theta - mu)
/ 2 + c, L depends on the draws only through those moments, so with whitened draws its minimum is the
exact optimum of the true ELBO (the posterior mean, and the variances 1 / P_ii or the covariance P^-1);
the mean is exact with any M. For other posteriors the error of the fixed draws is O(1/sqrt(M)) in the
parameters (the DADVI paper, Sec. 4).

Gradients (g_j = d log p / d theta at theta_j = m + s * z_j; mean-field, log s as the parameter):

    dL/dm = -(1/M) sum_j g_j,     dL/d log s_i = -(1/M) sum_j g_ji z_ji s_i - 1

full-rank (theta_j = m + C z_j, log C_ii on the diagonal):

    dL/dm = -(1/M) sum_j g_j,     dL/dC_ik = -(1/M) sum_j g_ji z_jk (i > k),
    dL/d log C_ii = -(1/M) sum_j g_ji z_ji C_ii - 1

A model with several local optima (a mixture's components) is fitted from ``starts`` points: the current
parameters, then as many jittered copies of them (Uniform(-2, 2) added to each mean, as NUTS's jittered
start but wider), and the one with the smallest L is kept. A full-rank fit starts from the mean-field fit
(its means and standard deviations, found from ``starts`` points as above) and runs once from there: the
mean-field fit is cheap and settles which optimum, and the full-rank one then needs far fewer of its
ndim (ndim + 1) / 2 iterations.

A low-rank fit (q = N(m, D^2 + U U^T), :mod:`~nbvi.variational.lowrank`, whose objective is
``LowRankObjective`` there) starts from the mean-field fit too, with U small and random (U = 0 is a saddle),
on whitened draws of ndim + rank columns [z1, z2]: again exact for a Gaussian posterior (docs/lowrank_advi.md).
"""
import math

import numpy as np

from nbvi.variational.approximations import HALF_LOG_2PI_E, FullRank, MeanField, softplus_inverse
from nbvi.variational.lowrank import LowRank, LowRankObjective, draw_width

__all__ = ["DeterministicObjective", "fixed_normal_draws", "minimise"]

MIN_DRAWS = 30  # the DADVI paper's default number of draws
START_JITTER = 2.0  # half-width of the uniform jitter of the means of the later starts
STATIONARY = 1e-2  # a converged fit's gradient in the units of q (DeterministicObjective.stationary)
RESTARTS = 3  # L-BFGS runs again from where it stopped, its memory cleared, when the gradient is not ~0 there


def fixed_normal_draws(n_draws, ndim, rng, whiten=False):
    """``n_draws`` draws (n_draws, ndim) with the moments of N(0, I): antithetic pairs (mean exactly 0),
    rescaled so that each coordinate's mean square is 1, or, with ``whiten`` (n_draws >= 2 ndim), so that
    z^T z / n_draws is the identity. ``n_draws`` is rounded up to an even number."""
    half = rng.standard_normal(((n_draws + 1) // 2, ndim))
    z = np.concatenate([half, -half])
    if whiten:
        values, vectors = np.linalg.eigh(z.T @ z / z.shape[0])  # z <- z (z^T z / M)^(-1/2)
        return z @ (vectors / np.sqrt(values)) @ vectors.T
    return z / np.sqrt(np.mean(z * z, axis=0))


class DeterministicObjective:
    """The sample-average loss L of a MeanField or FullRank approximation over fixed draws, in the
    parameters L-BFGS moves: x = [m, log s] (mean-field) or [m, the packed lower triangle of C with
    log C_ii on its diagonal] (full-rank).

    Parameters
    ----------
    approx : MeanField or FullRank
    logp_dlogp : callable, theta (D, ndim) -> (logp (D,), grad (D, ndim))
    draws : (M, ndim)
        The fixed draws z_j.
    """

    lowrank = False  # (nbvi.variational.lowrank.LowRankObjective: x[ndim:] holds log d, then U)

    def __init__(self, approx, logp_dlogp, draws):
        self.approx, self.logp_dlogp, self.draws = approx, logp_dlogp, draws
        self.infeasible = 1e10  # raised above every finite L evaluated (see loss_grad)
        self.ndim = approx.ndim
        self.fullrank = isinstance(approx, FullRank)
        if self.fullrank:
            self.rows, self.cols = approx.rows, approx.cols
            self.diagonal = self.rows == self.cols

    # -- between the approximation's parameters and x -------------------------------------------------------
    def x_from_approx(self):
        """x of the approximation's current parameters."""
        mu = self.approx.shared_params["mu"]
        if self.fullrank:
            packed = self.approx.L()[self.rows, self.cols]
            packed[self.diagonal] = np.log(packed[self.diagonal])  # log C_ii (C_ii > 0)
            return np.concatenate([mu, packed])
        return np.concatenate([mu, np.log(self.approx.std_array())])

    def write(self, x):
        """Set the approximation's parameters (in place) to those of x."""
        params = self.approx.shared_params
        params["mu"][:] = x[:self.ndim]
        if self.fullrank:
            packed = x[self.ndim:].copy()
            packed[self.diagonal] = softplus_inverse(np.exp(packed[self.diagonal]))  # L_ii = e^x = softplus(lambda)
            params["L_tril"][:] = packed
        else:
            sigma = np.exp(x[self.ndim:])
            params["rho"][:] = softplus_inverse(sigma)

    # -- the loss ---------------------------------------------------------------------------------------------
    def points(self, x):
        """theta_j = m + s * z_j or m + C z_j, (M, ndim)."""
        m = x[:self.ndim]
        if self.fullrank:
            return m + self.draws @ self.factor(x).T
        return m + np.exp(x[self.ndim:]) * self.draws

    def factor(self, x):
        """C (ndim, ndim) of a full-rank x."""
        packed = x[self.ndim:].copy()
        packed[self.diagonal] = np.exp(packed[self.diagonal])
        out = np.zeros((self.ndim, self.ndim))
        out[self.rows, self.cols] = packed
        return out

    def loss_grad(self, x):
        """(L(x), dL/dx). Where log p or its gradient is not finite at some draw (or the scale overflows), L is
        ``self.infeasible``, a value far above any L met so far, with a zero gradient: L-BFGS's line search
        then steps back (an infinite L would end its search as if converged)."""
        with np.errstate(over="ignore", invalid="ignore"):
            n_draws, z = self.draws.shape[0], self.draws
            log_scale = x[self.ndim:][self.diagonal] if self.fullrank else x[self.ndim:]
            scale = np.exp(log_scale)
            logp, g = self.logp_dlogp(np.ascontiguousarray(self.points(x)))
            loss = -float(np.mean(logp)) - float(np.sum(log_scale)) - self.ndim * HALF_LOG_2PI_E
            grad_mean = -g.sum(axis=0) / n_draws
            if self.fullrank:
                grad_factor = -(g.T @ z) / n_draws  # dL/dC_ik = -(1/M) sum_j g_ji z_jk
                packed = grad_factor[self.rows, self.cols]
                packed[self.diagonal] = packed[self.diagonal] * scale - 1.0
                grad = np.concatenate([grad_mean, packed])
            else:
                grad = np.concatenate([grad_mean, -(g * z).sum(axis=0) / n_draws * scale - 1.0])
        if not (math.isfinite(loss) and np.all(np.isfinite(grad))):
            return self.infeasible, np.zeros_like(x)
        self.infeasible = max(self.infeasible, 2.0 * abs(loss) + 1e10)
        return loss, grad


    def stationary(self, x, grad):
        """Whether ``grad`` (dL/dx at x) is zero in the units of q: each mean's entry times that coordinate's
        standard deviation under q, each log-scale entry as it is, each off-diagonal C_ik's entry times the
        standard deviation of coordinate i, at most STATIONARY. Near a Gaussian optimum the first is the
        distance of the mean from the optimum in standard deviations, the second the relative error of the
        scale."""
        if self.fullrank:
            factor = self.factor(x)
            sd = np.sqrt(np.einsum("ij,ij->i", factor, factor))
            in_units = np.where(self.diagonal, 1.0, sd[self.rows])
        else:
            sd = np.exp(x[self.ndim:])
            in_units = np.ones(self.ndim)
        return bool(np.all(np.abs(grad) * np.concatenate([sd, in_units]) <= STATIONARY))


def draws_for(approx, n_draws):
    """The number of fixed draws: at least ``n_draws`` (MIN_DRAWS when None), and 2 (width + 1) for a
    full-rank or low-rank approximation, whose covariance the draws must span (width: :func:`draw_width`).
    A low-rank q takes (1 + rank) times as many: its noise has ndim + rank coordinates, and the direction
    of its factor within them is free, so with few draws L-BFGS fits the draws rather than the posterior."""
    wanted = MIN_DRAWS if n_draws is None else int(n_draws)
    if isinstance(approx, LowRank):
        wanted *= 1 + approx.rank
    if isinstance(approx, (FullRank, LowRank)):
        wanted = max(wanted, 2 * (draw_width(approx) + 1))
    return wanted + wanted % 2


def minimise(approx, logp_dlogp, rng, max_iterations, n_draws=None, starts=1, tolerance=1e-12, on_iteration=None,
             draws=None, should_stop=None):
    """Fit ``approx`` (MeanField, FullRank or LowRank) by DADVI, moving its parameters in place.

    Parameters
    ----------
    approx : MeanField, FullRank or LowRank
    logp_dlogp : callable
        The model's log-density and gradient at (D, ndim) points.
    rng : numpy.random.Generator
        Draws the fixed points and the jitter of the starts.
    max_iterations : int
        At most this many L-BFGS iterations per start.
    n_draws : int, optional
        Fixed draws (see :func:`draws_for`).
    starts : int
        Optimisations from the current parameters and ``starts - 1`` jittered copies; the smallest L wins.
    tolerance : float
        Stop when L changes by less than ``tolerance * max(|L|, 1)`` in an iteration, or the projected
        gradient is below ``tolerance`` (scipy's ``ftol`` and ``gtol``).
    on_iteration : callable ``(loss) -> bool``, optional
        Called after every iteration of every start with the approximation's parameters set to that iterate,
        and once more with the kept start's loss when it was not the last one; returning True stops the fit
        there, with those parameters.
    draws : (M, ndim), optional
        The fixed draws of an earlier fit, to go on minimising the same L from the current parameters (one
        start; a full-rank fit then skips its mean-field start).
    should_stop : callable ``() -> bool``, optional
        Asked after every iteration, the full-rank fit's mean-field start included (Ctrl-C).

    Returns
    -------
    losses : (iterations,)
        The loss L after each iteration, all starts one after the other (the last one: the kept start's).
    converged : bool
        Whether the kept start ended before ``max_iterations`` at a stationary point
        (:meth:`DeterministicObjective.stationary`), and was not stopped.
    draws : (M, ndim)
        The fixed draws (to pass back to go on later).
    """
    if not isinstance(approx, (MeanField, FullRank, LowRank)):
        raise TypeError(f"deterministic ADVI fits MeanField, FullRank and LowRank approximations, not "
                        f"{type(approx).__name__}")
    if isinstance(approx, (FullRank, LowRank)) and draws is None:
        mean_field = MeanField(approx.model, start=approx.shared_params["mu"].copy())
        mean_field.shared_params["rho"][:] = softplus_inverse(approx.std_array())
        _, _, _, stopped = _minimise(mean_field, logp_dlogp, rng, max_iterations, n_draws, starts, tolerance, None,
                                     None, should_stop)
        if stopped:
            return np.empty(0), False, None
        approx.shared_params["mu"][:] = mean_field.shared_params["mu"]
        if isinstance(approx, LowRank):
            approx.start_from_mean_field(mean_field, rng)
        else:
            approx.set_L(np.diag(mean_field.std_array()))
        starts = 1
    losses, converged, draws, _ = _minimise(approx, logp_dlogp, rng, max_iterations, n_draws, starts, tolerance,
                                            on_iteration, draws, should_stop)
    return losses, converged, draws


def _minimise(approx, logp_dlogp, rng, max_iterations, n_draws, starts, tolerance, on_iteration, draws, should_stop):
    """:func:`minimise` without the full-rank fit's mean-field start; also returns whether it was stopped."""
    if draws is None:
        count = draws_for(approx, n_draws)
        width = draw_width(approx)
        draws = fixed_normal_draws(count, width, rng, whiten=count >= 2 * width)
    else:
        starts = 1
    objective = (LowRankObjective if isinstance(approx, LowRank) else DeterministicObjective)(approx, logp_dlogp, draws)
    x_start = _feasible_start(objective)
    candidates = [x_start] + [_jittered(x_start, approx.ndim, rng) for _ in range(starts - 1)]
    losses, best = [], None
    for x0 in candidates:
        for _restart in range(RESTARTS + 1):  # L-BFGS stalls in a narrow valley; afresh, it goes on
            result, stopped = _lbfgs(objective, x0, max_iterations, tolerance, losses, on_iteration, should_stop)
            if stopped:  # the parameters stay at the iterate the caller saw last
                return np.asarray(losses), False, draws, True
            converged = result.status != 1 and objective.stationary(result.x, result.jac)
            if converged or result.status == 1 or result.nit == 0:
                break
            x0 = result.x
        if best is None or result.fun < best[0].fun:
            best = (result, converged)
        last = result
    result, converged = best
    objective.write(result.x)
    if result is not last:  # the losses end with that of the kept parameters
        losses.append(float(result.fun))
        if on_iteration is not None:
            on_iteration(losses[-1])
    return np.asarray(losses), converged, draws, False


def _feasible_start(objective):
    """x of the approximation's parameters, its scales divided by 10 up to 10 times until log p is finite at
    every draw; FloatingPointError when it never is."""
    x = objective.x_from_approx()
    scale = np.arange(x.size) >= objective.ndim
    if objective.fullrank or objective.lowrank:
        scale[objective.ndim:] = objective.diagonal
    for _ in range(11):
        loss, _ = objective.loss_grad(x)
        if loss < objective.infeasible:
            return x
        x = np.where(scale, x - math.log(10.0), x)
    raise FloatingPointError("the log-density is not finite at the draws around the starting point, even with "
                             "its scale divided by 10^10: check the model's support and its initial point")


def _jittered(x, ndim, rng):
    out = x.copy()
    out[:ndim] += rng.uniform(-START_JITTER, START_JITTER, size=ndim)
    return out


def _lbfgs(objective, x0, max_iterations, tolerance, losses, on_iteration, should_stop):
    """One L-BFGS run from x0, appending the loss after each iteration to ``losses``; returns (scipy's
    result, whether on_iteration or should_stop stopped it)."""
    stopped = [False]

    def after_iteration(intermediate_result):
        losses.append(float(intermediate_result.fun))
        if on_iteration is not None:
            objective.write(intermediate_result.x)
            stopped[0] = bool(on_iteration(losses[-1]))
        if should_stop is not None and should_stop():
            if on_iteration is None:
                objective.write(intermediate_result.x)
            stopped[0] = True
        if stopped[0]:
            raise StopIteration

    from scipy.optimize import minimize  # (here: scipy.optimize takes a fifth of a second to import)

    result = minimize(objective.loss_grad, x0, jac=True, method="L-BFGS-B", callback=after_iteration,
                      options={"maxiter": max_iterations, "maxcor": 20, "ftol": tolerance, "gtol": tolerance})
    return result, stopped[0]
