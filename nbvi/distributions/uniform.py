"""Uniform(lower, upper): the flat density on the closed interval [lower, upper].

log p(x | lower, upper) = -log(upper - lower)   for lower <= x <= upper
"""
import math

import numpy as np
from numba import njit, prange

from nbvi.distributions.distribution import Distribution, require
from nbvi.distributions.family import ScalarFamily
from nbvi.distributions.layout import at, row_blocks, spot
from nbvi.graph.node import Constant


@njit(cache=True)
def uniform_logp_grad(x, lower, upper):
    """log Uniform(x | lower, upper) and its partial derivatives with respect to x, lower and upper."""
    if not (lower <= x <= upper and lower < upper):
        return -np.inf, 0.0, 0.0, 0.0
    inv_width = 1.0 / (upper - lower)
    # d/dx = 0 inside the interval; d/dlower = 1 / (upper - lower); d/dupper = -1 / (upper - lower)
    return math.log(inv_width), 0.0, inv_width, -inv_width


UNIFORM = ScalarFamily("uniform", uniform_logp_grad, params=("lower", "upper"))


@njit(cache=True, parallel={"numpy": False})  # threads for the prange loop only: compiles ~2x faster
def uniform_rows_kernel(data, rows, lower, upper):
    """Fused kernel for the R observed rows data[rows[0]], ..., data[rows[R - 1]] of data (N, C), read in
    place (rows (R,) may repeat, as in a minibatch), with bounds (D_i, C_i) shared by all rows.

    One parallel pass over blocks of the R rows finds each column's minimum and maximum (each block in its
    own slot); :func:`uniform_from_extremes` does the rest in O(D C).
    """
    n_rows, n_cols = rows.shape[0], data.shape[1]
    n_blocks = min(n_rows, 64)
    bounds = row_blocks(n_rows, n_blocks)
    extremes = np.empty((n_blocks, 2, n_cols))  # [min, max]
    for b in prange(n_blocks):
        for j in range(n_cols):
            extremes[b, 0, j] = np.inf
            extremes[b, 1, j] = -np.inf
        for i in range(bounds[b], bounds[b + 1]):
            r = rows[i]
            for j in range(n_cols):
                extremes[b, 0, j] = min(extremes[b, 0, j], data[r, j])
                extremes[b, 1, j] = max(extremes[b, 1, j], data[r, j])
    return uniform_from_extremes(extremes, n_rows, lower, upper)


@njit(cache=True)
def uniform_from_extremes(extremes, n_rows, lower, upper):
    """logp (D,) and the gradients for lower and upper from the block extremes of :func:`uniform_rows_kernel`.

    With w_j = upper_j - lower_j: logp = -R sum_j log w_j when lower_j <= min_j and max_j <= upper_j (else
    -inf), d/dlower_j = R / w_j and d/dupper_j = -R / w_j.
    """
    n_cols = extremes.shape[2]
    draws = max(lower.shape[0], upper.shape[0])
    logp = np.zeros(draws)
    g_lower = np.zeros((draws, lower.shape[1]))
    g_upper = np.zeros((draws, upper.shape[1]))
    for d in range(draws):
        for j in range(n_cols):
            a, c = at(lower, d, j), at(upper, d, j)
            if not (a <= extremes[:, 0, j].min() and extremes[:, 1, j].max() <= c and a < c):
                logp[d] = -np.inf
                g_lower[d, :] = 0.0
                g_upper[d, :] = 0.0
                break
            logp[d] -= n_rows * math.log(c - a)
            g_lower[d, spot(lower, j)] += n_rows / (c - a)
            g_upper[d, spot(upper, j)] -= n_rows / (c - a)
    return logp, g_lower, g_upper


class Uniform(Distribution):
    """Continuous uniform distribution on [lower, upper].

    Parameters
    ----------
    lower, upper : float, array or node, lower < upper
        A latent Uniform's bounds must be constants (its transform is a fixed ``Interval``); an observed
        Uniform may have bounds that are nodes.
    """

    params = ("lower", "upper")
    support = "[lower, upper]"
    family = UNIFORM
    rows_kernel = staticmethod(uniform_rows_kernel)

    def __init__(self, lower=0.0, upper=1.0):
        self.set_params(lower=lower, upper=upper)

    def check(self, lower, upper):
        require(lower < upper, f"lower must be < upper, got lower={lower}, upper={upper}")

    def in_support(self, value):
        known = self.constant_values()
        if known is None:  # bounds from the graph: the log-density says -inf where they are not met
            return None
        return (value >= known["lower"]) & (value <= known["upper"])

    def moment(self, lower, upper):
        return 0.5 * (lower + upper)

    def sample(self, rng, size, lower, upper):
        return rng.uniform(lower, upper, size=size)

    def default_transform(self):
        from nbvi import transforms

        lower, upper = self.param_nodes["lower"], self.param_nodes["upper"]
        if not (isinstance(lower, Constant) and isinstance(upper, Constant)):
            raise TypeError(
                f"{self.describe()}: the bounds of a latent Uniform must be constants (numbers or arrays), "
                f"because its Interval transform is fixed when the model is built; got lower={lower!r}, "
                f"upper={upper!r}. Write it as lower + (upper - lower) * x with x = Uniform(0, 1) instead"
            )
        return transforms.Interval(lower.data, upper.data)
