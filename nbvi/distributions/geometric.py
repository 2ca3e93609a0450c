"""Geometric(p): the number of trials up to and including the first success, observed only.

    log p(y | p) = log p + (y - 1) log(1 - p)   for y in {1, 2, ...}
"""
import math

import numpy as np
from numba import njit

from nbvi.distributions.distribution import Distribution, require
from nbvi.distributions.family import ScalarFamily
from nbvi.distributions.poisson import is_count

COMPILED_SOURCES_DIGEST = "0868908fa0c45f77"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache


@njit(cache=True)
def geometric_logp_grad(y, p):
    """log Geometric(y | p) and its derivative with respect to p; -inf outside y in {1, 2, ...}, p in (0, 1]."""
    if not (is_count(y) and y >= 1.0 and p > 0.0 and p <= 1.0):
        return -np.inf, 0.0
    if y == 1.0:  # (y - 1) log(1 - p) = 0, also at p = 1
        return math.log(p), 1.0 / p
    if p == 1.0:
        return -np.inf, 0.0
    logp = math.log(p) + (y - 1.0) * math.log1p(-p)
    return logp, 1.0 / p - (y - 1.0) / (1.0 - p)  # d/dp = 1 / p - (y - 1) / (1 - p)


GEOMETRIC = ScalarFamily("geometric", geometric_logp_grad, params=("p",), discrete=True)


class Geometric(Distribution):
    """Geometric distribution: the number of Bernoulli(``p``) trials up to and including the first success.

    Parameters
    ----------
    p : float, array or node in (0, 1]
    """

    params = ("p",)
    support = "{1, 2, 3, ...}"
    discrete = True
    observed_only = True
    family = GEOMETRIC

    def __init__(self, p):
        self.set_params(p=p)

    def check(self, p):
        require((p > 0) & (p <= 1), f"p must be in (0, 1], got {p}")

    def in_support(self, value):
        return (value >= 1) & (value == np.floor(value)) & np.isfinite(value)

    def support_rule(self):
        return "observed values must be positive integers (1, 2, ...)"

    def moment(self, p):
        return np.floor(1.0 / p).astype(np.int64)  # the floor of the mean, >= 1

    def sample(self, rng, size, p):
        return rng.geometric(p, size=size)
