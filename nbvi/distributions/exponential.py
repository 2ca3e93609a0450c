"""Exponential(lam): waiting times with rate ``lam``, on x >= 0.

log p(x | lam) = log lam - lam x   for x >= 0
"""
import math

import numpy as np
from numba import njit, prange

from nbvi.distributions.distribution import Distribution, require
from nbvi.distributions.family import ScalarFamily
from nbvi.distributions.layout import at, row_blocks, spot
from nbvi.graph.node import Node


@njit(cache=True)
def exponential_logp_grad(x, lam):
    """log Exponential(x | lam) and its partial derivatives with respect to x and lam."""
    if not (lam > 0.0 and x >= 0.0):
        return -np.inf, 0.0, 0.0
    logp = math.log(lam) - lam * x
    d_x = -lam  # d/dx = -lam
    d_lam = 1.0 / lam - x  # d/dlam = 1 / lam - x
    return logp, d_x, d_lam


EXPONENTIAL = ScalarFamily("exponential", exponential_logp_grad, params=("lam",))


@njit(cache=True, parallel={"numpy": False})  # threads for the prange loop only: compiles ~2x faster
def exponential_rows_kernel(data, rows, lam):
    """Fused kernel for the R observed rows data[rows[0]], ..., data[rows[R - 1]] of data (N, C), read in
    place (rows (R,) may repeat, as in a minibatch), with lam (D, C_lam) shared by all rows.

    One parallel pass over blocks of the R rows collects, per column, S_j = sum_i x_ij and the number of
    negative values (each block in its own slot); :func:`exponential_from_sums` does the rest in O(D C).
    """
    n_rows, n_cols = rows.shape[0], data.shape[1]
    n_blocks = min(n_rows, 64)
    bounds = row_blocks(n_rows, n_blocks)
    sums = np.zeros((n_blocks, 2, n_cols))  # [sum x, count of x < 0]
    for b in prange(n_blocks):
        for i in range(bounds[b], bounds[b + 1]):
            r = rows[i]
            for j in range(n_cols):
                x = data[r, j]
                sums[b, 0, j] += x
                if not x >= 0.0:
                    sums[b, 1, j] += 1.0
    return exponential_from_sums(sums, n_rows, lam)


@njit(cache=True)
def exponential_from_sums(sums, n_rows, lam):
    """logp (D,) and d logp/d lam (D, C_lam) from the block sums of :func:`exponential_rows_kernel`:

        logp     = sum_j [R log lam_j - lam_j S_j]
        d/dlam_j = R / lam_j - S_j
    """
    outside = sums[:, 1].sum() > 0.0
    logp = np.zeros(lam.shape[0])
    g_lam = np.zeros(lam.shape)
    for d in range(lam.shape[0]):
        for j in range(sums.shape[2]):
            rate = at(lam, d, j)
            if outside or not rate > 0.0:
                logp[d] = -np.inf
                g_lam[d, :] = 0.0
                break
            x_sum = sums[:, 0, j].sum()
            logp[d] += n_rows * math.log(rate) - rate * x_sum
            g_lam[d, spot(lam, j)] += n_rows / rate - x_sum
    return logp, g_lam


class Exponential(Distribution):
    """Exponential distribution with rate ``lam`` (mean 1 / lam), or PyMC's ``scale`` = 1 / lam.

    Parameters
    ----------
    lam : float, array or node, > 0
    scale : float, array or node, > 0
        Instead of ``lam``: the mean, lam = 1 / scale.
    """

    params = ("lam",)
    support = "positive"
    family = EXPONENTIAL
    rows_kernel = staticmethod(exponential_rows_kernel)

    def __init__(self, lam=None, scale=None):
        if (lam is None) == (scale is None):
            raise ValueError(f"{self.describe()}: give exactly one of lam and scale")
        if scale is not None:
            if isinstance(scale, Node):
                lam = 1.0 / scale
            else:
                scale = np.asarray(scale, dtype=np.float64)
                require(scale > 0, f"{self.describe()}: scale must be > 0, got {scale}")
                lam = 1.0 / scale
        self.set_params(lam=lam)

    def check(self, lam):
        require(lam > 0, f"lam must be > 0, got {lam}")

    def in_support(self, value):
        return value >= 0.0

    def moment(self, lam):
        return 1.0 / lam

    def sample(self, rng, size, lam):
        return rng.exponential(1.0 / lam, size=size)

    def default_transform(self):
        from nbvi import transforms

        return transforms.log
