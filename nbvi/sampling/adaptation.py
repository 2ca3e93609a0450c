"""Warm-up adaptation of NUTS after Stan: dual-averaging step size and windowed diagonal or dense metric.

Step size. Hoffman & Gelman (2014), "The No-U-Turn Sampler", JMLR 15, Sec. 3.2.1 and Alg. 5/6, which
applies Nesterov's dual averaging to x = log(eps) so that the mean acceptance statistic a_t reaches the
target delta. After t transitions, with Stan's constants gamma = 0.05, t0 = 10, kappa = 0.75 and
mu = log(10 eps0):

    s_bar_t = (1 - 1/(t + t0)) s_bar_{t-1} + (delta - a_t) / (t + t0)
    x_t     = mu - sqrt(t) / gamma * s_bar_t                       (the step size used next: exp(x_t))
    x_bar_t = t^-kappa x_t + (1 - t^-kappa) x_bar_{t-1}            (the step size kept after warm-up)

Metric. Stan's ``windowed_adaptation`` / ``var_adaptation``: after an initial buffer (75 draws) the
variance of the draws is estimated over windows of 25, 50, 100, ... draws (the last one stretched to end
``term_buffer`` = 50 draws before the end of warm-up). At the end of each window the inverse metric
becomes the regularised variance of that window's n draws,

    M^-1 = n / (n + 5) var + 1e-3 * 5 / (n + 5),

or, for a dense metric (Stan's ``covar_adaptation``), the regularised sample covariance

    M^-1 = n / (n + 5) Sigma + 1e-3 * 5 / (n + 5) I,

which the sampler uses through its Cholesky factor L (M^-1 = L L^T, ``dense_metric``). After the first window only (as nutpie; Stan does it after every window), the step size is searched
anew and its dual averaging restarted: docs/nuts.md says why. With fewer than 150 warm-up draws
the buffers are 15% / 75% / 10% of them; with fewer than 20 the metric is not adapted.
"""
import math
from typing import NamedTuple

import numpy as np

from nbvi.sampling.nuts import draw_momentum, kinetic_energy, leapfrog

__all__ = ["DualAverageState", "adaptation_windows", "dense_metric", "dual_average_final", "dual_average_init",
           "dual_average_update", "find_reasonable_step_size", "regularized_covariance", "regularized_variance"]


class DualAverageState(NamedTuple):
    """State of the dual averaging of log(step size)."""

    counter: int  # t
    s_bar: float  # running mean of (delta - a_t)
    x_bar: float  # averaged log step size
    mu: float  # shrinkage point, log(10 eps0)


def dual_average_init(step_size):
    """Start (or restart) the averaging around mu = log(10 * step_size)."""
    return DualAverageState(0, 0.0, 0.0, math.log(10.0 * step_size))


def dual_average_update(state, accept_stat, target_accept, gamma=0.05, t0=10.0, kappa=0.75):
    """One step of Hoffman & Gelman's Alg. 5 (Stan's ``learn_stepsize``); returns (state, next step size)."""
    t = state.counter + 1
    a = min(accept_stat, 1.0)
    eta = 1.0 / (t + t0)
    s_bar = (1.0 - eta) * state.s_bar + eta * (target_accept - a)
    x = state.mu - s_bar * math.sqrt(t) / gamma
    x_eta = t ** -kappa
    x_bar = (1.0 - x_eta) * state.x_bar + x_eta * x
    return DualAverageState(t, s_bar, x_bar, state.mu), math.exp(x)


def dual_average_final(state):
    """The step size kept for sampling: exp(x_bar)."""
    return math.exp(state.x_bar)


def adaptation_windows(tune, init_buffer=75, term_buffer=50, base_window=25):
    """Stan's metric adaptation windows: a list of (start, stop) warm-up indices, stop exclusive.

    Examples
    --------
    >>> adaptation_windows(1000)
    [(75, 100), (100, 150), (150, 250), (250, 450), (450, 950)]
    """
    if tune < 20:
        return []
    if init_buffer + base_window + term_buffer > tune:
        init_buffer, term_buffer = int(0.15 * tune), int(0.1 * tune)
        base_window = tune - (init_buffer + term_buffer)
    last = tune - term_buffer - 1  # index of the last draw of the last window
    windows, start, size, end = [], init_buffer, base_window, init_buffer + base_window - 1
    while True:
        windows.append((start, end + 1))
        if end >= last:
            return windows
        start, size = end + 1, 2 * size
        end = end + size
        if end + 2 * size >= tune - term_buffer:  # the window after would not fit: stretch this one
            end = last


def regularized_variance(draws):
    """Stan's regularised variance of n draws (n, ndim): n/(n+5) var + 1e-3 * 5/(n+5)."""
    n = draws.shape[0]
    var = np.var(draws, axis=0, ddof=1) if n > 1 else np.ones(draws.shape[1])
    return (n / (n + 5.0)) * var + 1e-3 * (5.0 / (n + 5.0))


def regularized_covariance(draws):
    """Stan's regularised covariance of n draws (n, ndim): n/(n+5) Sigma + 1e-3 * 5/(n+5) I, Sigma with ddof=1;
    (ndim, ndim)."""
    n, ndim = draws.shape
    cov = np.cov(draws, rowvar=False, ddof=1).reshape(ndim, ndim) if n > 1 else np.eye(ndim)
    return (n / (n + 5.0)) * cov + (1e-3 * (5.0 / (n + 5.0))) * np.eye(ndim)


def dense_metric(draws):
    """The dense metric of a window's draws (n, ndim): the lower Cholesky factor L (ndim, ndim) of
    M^-1 = :func:`regularized_covariance`, or None when that is not finite."""
    cov = regularized_covariance(draws)
    if not np.all(np.isfinite(cov)):
        return None
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:  # positive definite in exact arithmetic; not when Sigma dwarfs the ridge
        return None


def find_reasonable_step_size(logp_dlogp, state, step_size, inv_mass, rng):
    """Stan's ``init_stepsize``: double or halve eps until one leapfrog step crosses acceptance 0.8.

    The first step fixes the direction: double while exp(H0 - H) > 0.8, else halve while it is < 0.8
    (Hoffman & Gelman, Alg. 4, with Stan's threshold and a fresh momentum for each trial). ``inv_mass``: the
    diagonal (ndim,) of M^-1 or the Cholesky factor (ndim, ndim) of a dense one.
    """
    if step_size == 0 or step_size > 1e7 or math.isnan(step_size):
        return step_size
    direction = 0
    while True:
        p = draw_momentum(rng.standard_normal(state.q.shape[0]), inv_mass)
        h0 = -state.logp + kinetic_energy(p, inv_mass)
        # a trial step far too large overflows (H = inf or NaN): that only says "halve", not a warning
        with np.errstate(over="ignore", invalid="ignore"):
            _, p1, logp1, _ = leapfrog(logp_dlogp, state.q, p, state.grad, step_size, inv_mass)
            h = -logp1 + kinetic_energy(p1, inv_mass)
        delta = h0 - h if not math.isnan(h) else -math.inf
        if direction == 0:  # the first trial only picks the direction; Stan then retries the same eps
            direction = 1 if delta > math.log(0.8) else -1
            continue
        if (direction == 1 and not delta > math.log(0.8)) or (direction == -1 and not delta < math.log(0.8)):
            return step_size
        step_size = 2.0 * step_size if direction == 1 else 0.5 * step_size
        if step_size > 1e7:
            raise ValueError("the posterior looks improper: the step size grew past 1e7. Check the model")
        if step_size == 0:
            raise ValueError("no acceptably small step size: is the log-density continuous?")
