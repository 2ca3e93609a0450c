"""Gumbel(mu, beta): the (right-skewed) Gumbel distribution of maxima, location ``mu`` and scale ``beta``.

log p(x | mu, beta) = -log beta - z - exp(-z),   z = (x - mu) / beta
"""
import math

import numpy as np
from numba import njit

from nbvi.distributions.distribution import Distribution, require
from nbvi.distributions.family import ScalarFamily

EULER_GAMMA = 0.5772156649015329


@njit(cache=True)
def gumbel_logp_grad(x, mu, beta):
    """log Gumbel(x | mu, beta) and its partial derivatives with respect to x, mu and beta."""
    if not (beta > 0.0):
        return -np.inf, 0.0, 0.0, 0.0
    z = (x - mu) / beta
    e = math.exp(-z)
    if not (e < np.inf):  # z < -709: the density is below exp(-1e307), 0 in floating point
        return -np.inf, 0.0, 0.0, 0.0
    logp = -math.log(beta) - z - e
    d_x = (e - 1.0) / beta  # d/dx = (exp(-z) - 1) / beta
    d_mu = (1.0 - e) / beta  # d/dmu = (1 - exp(-z)) / beta
    d_beta = (z * (1.0 - e) - 1.0) / beta  # d/dbeta = (z (1 - exp(-z)) - 1) / beta
    return logp, d_x, d_mu, d_beta


GUMBEL = ScalarFamily("gumbel", gumbel_logp_grad, params=("mu", "beta"))


class Gumbel(Distribution):
    """Gumbel distribution with location ``mu`` and scale ``beta``.

    Parameters
    ----------
    mu : float, array or node
    beta : float, array or node, > 0
    """

    params = ("mu", "beta")
    support = "real"
    family = GUMBEL

    def __init__(self, mu=None, beta=None):
        self.set_params(mu=mu, beta=beta)

    def check(self, mu, beta):
        require(beta > 0, f"beta must be > 0, got {beta}")

    def moment(self, mu, beta):
        return mu + EULER_GAMMA * beta  # the mean

    def sample(self, rng, size, mu, beta):
        return rng.gumbel(mu, beta, size=size)
