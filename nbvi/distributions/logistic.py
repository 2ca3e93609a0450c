"""Logistic(mu, s): location ``mu`` and scale ``s``, on the real line.

log p(x | mu, s) = -z - log s - 2 log(1 + exp(-z)) = -log s - |z| - 2 log(1 + exp(-|z|)),   z = (x - mu) / s
"""
import math

import numpy as np
from numba import njit

from nbvi.distributions.distribution import Distribution, require
from nbvi.distributions.family import ScalarFamily


@njit(cache=True)
def logistic_logp_grad(x, mu, s):
    """log Logistic(x | mu, s) and its partial derivatives with respect to x, mu and s."""
    if not (s > 0.0):
        return -np.inf, 0.0, 0.0, 0.0
    z = (x - mu) / s
    a = abs(z)
    logp = -math.log(s) - a - 2.0 * math.log1p(math.exp(-a))  # the density is even in z
    h = math.tanh(0.5 * z)  # 1 - 2 / (1 + exp(z)): d/dz of -(z + 2 log(1 + exp(-z))) is -tanh(z / 2)
    d_x = -h / s  # d/dx = -tanh(z / 2) / s
    d_mu = h / s  # d/dmu = tanh(z / 2) / s
    d_s = (z * h - 1.0) / s  # d/ds = (z tanh(z / 2) - 1) / s
    return logp, d_x, d_mu, d_s


LOGISTIC = ScalarFamily("logistic", logistic_logp_grad, params=("mu", "s"))


class Logistic(Distribution):
    """Logistic distribution with location ``mu`` and scale ``s``.

    Parameters
    ----------
    mu : float, array or node
    s : float, array or node, > 0
    """

    params = ("mu", "s")
    support = "real"
    family = LOGISTIC

    def __init__(self, mu=0.0, s=1.0):
        self.set_params(mu=mu, s=s)

    def check(self, mu, s):
        require(s > 0, f"s must be > 0, got {s}")

    def moment(self, mu, s):
        return mu

    def sample(self, rng, size, mu, s):
        return rng.logistic(mu, s, size=size)
