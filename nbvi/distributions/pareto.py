"""Pareto(alpha, m): shape ``alpha`` and scale (lower bound) ``m``, on x >= m.

log p(x | alpha, m) = log alpha + alpha log m - (alpha + 1) log x   for x >= m
"""
import math

import numpy as np
from numba import njit

from nbvi.distributions.distribution import Distribution, require
from nbvi.distributions.family import ScalarFamily
from nbvi.graph.node import Constant


@njit(cache=True)
def pareto_logp_grad(x, alpha, m):
    """log Pareto(x | alpha, m) and its partial derivatives with respect to x, alpha and m."""
    if not (alpha > 0.0 and m > 0.0 and x >= m):
        return -np.inf, 0.0, 0.0, 0.0
    log_x, log_m = math.log(x), math.log(m)
    logp = math.log(alpha) + alpha * log_m - (alpha + 1.0) * log_x
    d_x = -(alpha + 1.0) / x  # d/dx = -(alpha + 1) / x
    d_alpha = 1.0 / alpha + log_m - log_x  # d/dalpha = 1 / alpha + log m - log x
    d_m = alpha / m  # d/dm = alpha / m (for x >= m)
    return logp, d_x, d_alpha, d_m


PARETO = ScalarFamily("pareto", pareto_logp_grad, params=("alpha", "m"))


class Pareto(Distribution):
    """Pareto distribution with shape ``alpha`` and scale ``m``, the lower end of its support.

    Parameters
    ----------
    alpha : float, array or node, > 0
    m : float, array or node, > 0
        A latent Pareto's ``m`` must be a constant (its ``LowerBound`` transform is fixed when the model
        is built); an observed Pareto's ``m`` may be a node.
    """

    params = ("alpha", "m")
    support = "[m, inf)"
    family = PARETO

    def __init__(self, alpha=None, m=None):
        self.set_params(alpha=alpha, m=m)

    def check(self, alpha, m):
        require(alpha > 0, f"alpha must be > 0, got {alpha}")
        require(m > 0, f"m must be > 0, got {m}")

    def in_support(self, value):
        m = self.param_nodes["m"]
        if not isinstance(m, Constant):  # m from the graph: the log-density says -inf where x < m
            return None
        return value >= m.data

    def moment(self, alpha, m):
        return m * 2.0 ** (1.0 / alpha)  # the median

    def sample(self, rng, size, alpha, m):
        return m * (1.0 + rng.pareto(alpha, size=size))  # numpy's pareto is the Lomax: Pareto(alpha, 1) - 1

    def default_transform(self):
        from nbvi import transforms

        m = self.param_nodes["m"]
        if not isinstance(m, Constant):
            raise TypeError(
                f"{self.describe()}: the scale m of a latent Pareto must be a constant (a number or an array), "
                f"because its LowerBound transform is fixed when the model is built; got m={m!r}. Write it as "
                f"m * x with x = Pareto(alpha, 1) instead"
            )
        return transforms.LowerBound(m.data)
