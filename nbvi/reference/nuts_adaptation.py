"""Stan's warm-up for NUTS in plain NumPy: dual averaging of the step size and a windowed diagonal or dense metric.

Read with :mod:`nbvi.reference.nuts`, whose ``sample`` runs this schedule; nbvi's fast version is
nbvi/sampling/adaptation.py with the loop in nbvi/sampling/sample.py, and the two agree to the last bit.

Step size (Hoffman & Gelman 2014, Sec. 3.2.1, Alg. 5 and 6). Nesterov's dual averaging drives
x = log(step size) so that the mean acceptance statistic a_t of a transition reaches its target delta.
With Stan's constants gamma = 0.05, t0 = 10, kappa = 0.75 and the shrinkage point mu = log(10 eps0):

    s_bar_t = (1 - 1/(t + t0)) s_bar_{t-1} + (delta - a_t) / (t + t0)
    x_t     = mu - sqrt(t) / gamma * s_bar_t                  the step size of the next transition, exp(x_t)
    x_bar_t = t^-kappa x_t + (1 - t^-kappa) x_bar_{t-1}       the step size kept after warm-up, exp(x_bar)

Metric (Stan's ``windowed_adaptation`` and ``var_adaptation``). Warm-up has three phases: a first buffer
(75 transitions) where only the step size adapts, slow windows of 25, 50, 100, ... transitions, and a last
buffer (50) where only the step size adapts again. At the end of each slow window the inverse metric
becomes the variance of that window's n draws, shrunk toward 1e-3:

    M^-1 = n / (n + 5) var + 1e-3 * 5 / (n + 5)

or, for a dense metric (Stan's ``covar_adaptation``), their covariance Sigma, shrunk toward 1e-3 I:

    M^-1 = n / (n + 5) Sigma + 1e-3 * 5 / (n + 5) I
"""
import math
from typing import NamedTuple

import numpy as np

__all__ = ["DualAverage", "dual_average_init", "dual_average_update", "metric_windows", "regularized_covariance",
           "regularized_variance"]


class DualAverage(NamedTuple):
    """State of the dual averaging of log(step size) after t transitions."""

    t: int
    s_bar: float  # running mean of delta - a_t
    x_bar: float  # averaged log step size
    mu: float  # the point x is shrunk toward: log(10 eps0)


def dual_average_init(step_size):
    """Start the averaging around mu = log(10 step_size): early transitions try larger steps."""
    return DualAverage(0, 0.0, 0.0, math.log(10.0 * step_size))


def dual_average_update(state, accept_stat, target_accept, gamma=0.05, t0=10.0, kappa=0.75):
    """One step of Hoffman & Gelman's Alg. 5 (the equations above); returns (state, next step size)."""
    t = state.t + 1
    eta = 1.0 / (t + t0)
    s_bar = (1.0 - eta) * state.s_bar + eta * (target_accept - min(accept_stat, 1.0))
    x = state.mu - s_bar * math.sqrt(t) / gamma
    weight = t ** -kappa
    x_bar = (1.0 - weight) * state.x_bar + weight * x
    return DualAverage(t, s_bar, x_bar, state.mu), math.exp(x)


def metric_windows(tune, init_buffer=75, term_buffer=50, base_window=25):
    """The slow windows of a warm-up of ``tune`` transitions, as (start, stop) pairs, stop exclusive.

    Each window is twice as long as the one before; when the window after it would not fit before the
    last buffer, the window is stretched to the buffer. Short warm-ups (< 150) scale the buffers to 15% and
    10% of ``tune``; below 20 transitions the metric is not adapted. ``metric_windows(1000)`` is
    [(75, 100), (100, 150), (150, 250), (250, 450), (450, 950)].
    """
    if tune < 20:
        return []
    if init_buffer + base_window + term_buffer > tune:
        init_buffer, term_buffer = int(0.15 * tune), int(0.1 * tune)
        base_window = tune - init_buffer - term_buffer
    end_of_slow = tune - term_buffer
    start, size = init_buffer, base_window
    windows = [(start, start + size)]
    while windows[-1][1] < end_of_slow:
        start, size = windows[-1][1], 2 * size
        stop = start + size
        if stop + 2 * size > end_of_slow:  # the next window would not fit: this one takes its place
            stop = end_of_slow
        windows.append((start, stop))
    return windows


def regularized_variance(draws):
    """The inverse metric from a window's draws (n, ndim): n/(n+5) var + 1e-3 * 5/(n+5), var with ddof=1."""
    n = draws.shape[0]
    var = np.var(draws, axis=0, ddof=1) if n > 1 else np.ones(draws.shape[1])
    return (n / (n + 5.0)) * var + 1e-3 * (5.0 / (n + 5.0))


def regularized_covariance(draws):
    """The dense inverse metric from a window's draws (n, ndim): n/(n+5) Sigma + 1e-3 * 5/(n+5) I, Sigma the
    sample covariance (ddof=1); (ndim, ndim)."""
    n, ndim = draws.shape
    cov = np.cov(draws, rowvar=False, ddof=1).reshape(ndim, ndim) if n > 1 else np.eye(ndim)
    return (n / (n + 5.0)) * cov + (1e-3 * (5.0 / (n + 5.0))) * np.eye(ndim)
