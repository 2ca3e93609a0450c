"""Weibull(alpha, beta): shape ``alpha`` and scale ``beta``, on x > 0.

log p(x | alpha, beta) = log alpha - log beta + (alpha - 1) log(x / beta) - (x / beta)^alpha   for x > 0
"""
import math

import numpy as np
from numba import njit

from nbvi.distributions.distribution import Distribution, require
from nbvi.distributions.family import ScalarFamily


@njit(cache=True)
def weibull_logp_grad(x, alpha, beta):
    """log Weibull(x | alpha, beta) and its partial derivatives with respect to x, alpha and beta."""
    if not (alpha > 0.0 and beta > 0.0 and x > 0.0):
        return -np.inf, 0.0, 0.0, 0.0
    log_z = math.log(x) - math.log(beta)  # log(x / beta)
    t = math.exp(alpha * log_z)  # (x / beta)^alpha
    logp = math.log(alpha) - math.log(beta) + (alpha - 1.0) * log_z - t
    d_x = (alpha - 1.0 - alpha * t) / x  # d/dx = (alpha - 1 - alpha t) / x
    d_alpha = 1.0 / alpha + (1.0 - t) * log_z  # d/dalpha = 1 / alpha + (1 - t) log(x / beta)
    d_beta = alpha * (t - 1.0) / beta  # d/dbeta = alpha (t - 1) / beta
    return logp, d_x, d_alpha, d_beta


WEIBULL = ScalarFamily("weibull", weibull_logp_grad, params=("alpha", "beta"))


class Weibull(Distribution):
    """Weibull distribution with shape ``alpha`` and scale ``beta``.

    Parameters
    ----------
    alpha : float, array or node, > 0
    beta : float, array or node, > 0
    """

    params = ("alpha", "beta")
    support = "positive"
    family = WEIBULL

    def __init__(self, alpha=None, beta=None):
        self.set_params(alpha=alpha, beta=beta)

    def check(self, alpha, beta):
        require(alpha > 0, f"alpha must be > 0, got {alpha}")
        require(beta > 0, f"beta must be > 0, got {beta}")

    def in_support(self, value):
        return value > 0.0

    def moment(self, alpha, beta):
        from scipy.special import gamma  # (scipy is imported on first use: keeps `import nbvi` light)

        return beta * gamma(1.0 + 1.0 / alpha)  # the mean

    def sample(self, rng, size, alpha, beta):
        return beta * rng.weibull(alpha, size=size)

    def default_transform(self):
        from nbvi import transforms

        return transforms.log
