"""HalfCauchy(beta): the absolute value of a Cauchy(0, beta), on x >= 0.

log p(x | beta) = log 2 - log pi - log beta - log(1 + z^2),   z = x / beta,   for x >= 0
"""
import math

import numpy as np
from numba import njit, prange

from nbvi.distributions.distribution import Distribution, require
from nbvi.distributions.family import ScalarFamily
from nbvi.distributions.layout import at, row_blocks, spot

LOG_2_OVER_PI = math.log(2.0 / math.pi)


@njit(cache=True)
def halfcauchy_logp_grad(x, beta):
    """log HalfCauchy(x | beta) and its partial derivatives with respect to x and beta."""
    if not (beta > 0.0 and x >= 0.0):
        return -np.inf, 0.0, 0.0
    z = x / beta
    r = 1.0 / (1.0 + z * z)
    logp = LOG_2_OVER_PI - math.log(beta) - math.log1p(z * z)
    d_x = -2.0 * z * r / beta  # d/dx = -2 z / (beta (1 + z^2))
    d_beta = (1.0 - 2.0 * r) / beta  # d/dbeta = (z^2 - 1) / (beta (1 + z^2))
    return logp, d_x, d_beta


HALFCAUCHY = ScalarFamily("halfcauchy", halfcauchy_logp_grad, params=("beta",))


@njit(cache=True, parallel={"numpy": False})  # threads for the prange loop only: compiles ~2x faster
def halfcauchy_rows_kernel(data, rows, beta):
    """Fused kernel for the R observed rows data[rows[0]], ..., data[rows[R - 1]] of data (N, C), read in
    place (rows (R,) may repeat, as in a minibatch), with beta (D, C_beta) shared by all rows.

    One parallel pass over blocks of the R rows collects, per draw and column, L = sum_i log(1 + z_i^2) and
    B = sum_i r_i, with z = x / beta and r = 1 / (1 + z^2), and counts negative values (each block in its
    own slot); :func:`halfcauchy_from_sums` does the rest.
    """
    n_rows, n_cols = rows.shape[0], data.shape[1]
    draws = beta.shape[0]
    n_blocks = min(n_rows, 64)
    bounds = row_blocks(n_rows, n_blocks)
    sums = np.zeros((n_blocks, 3, draws, n_cols))  # [L, B, count of x < 0]
    for b in prange(n_blocks):
        for d in range(draws):
            for i in range(bounds[b], bounds[b + 1]):
                r = rows[i]
                for j in range(n_cols):
                    scale = at(beta, d, j)
                    if not data[r, j] >= 0.0:
                        sums[b, 2, d, j] += 1.0
                    elif scale > 0.0:
                        z = data[r, j] / scale
                        sums[b, 0, d, j] += math.log1p(z * z)
                        sums[b, 1, d, j] += 1.0 / (1.0 + z * z)
    return halfcauchy_from_sums(sums, n_rows, beta)


@njit(cache=True)
def halfcauchy_from_sums(sums, n_rows, beta):
    """logp (D,) and d logp/d beta (D, C_beta) from the block sums of :func:`halfcauchy_rows_kernel`:

        logp      = sum_j [R (log(2 / pi) - log beta_j) - L_j]
        d/dbeta_j = (R - 2 B_j) / beta_j
    """
    outside = sums[:, 2].sum() > 0.0
    draws, n_cols = sums.shape[2], sums.shape[3]
    logp = np.zeros(draws)
    g_beta = np.zeros((draws, beta.shape[1]))
    for d in range(draws):
        for j in range(n_cols):
            scale = at(beta, d, j)
            if outside or not scale > 0.0:
                logp[d] = -np.inf
                g_beta[d, :] = 0.0
                break
            log_sum, r_sum = sums[:, 0, d, j].sum(), sums[:, 1, d, j].sum()
            logp[d] += n_rows * (LOG_2_OVER_PI - math.log(scale)) - log_sum
            g_beta[d, spot(beta, j)] += (n_rows - 2.0 * r_sum) / scale
    return logp, g_beta


class HalfCauchy(Distribution):
    """Half-Cauchy distribution on x >= 0 with scale ``beta``.

    Parameters
    ----------
    beta : float, array or node, > 0
    """

    params = ("beta",)
    support = "positive"
    family = HALFCAUCHY
    rows_kernel = staticmethod(halfcauchy_rows_kernel)

    def __init__(self, beta=None):
        self.set_params(beta=beta)

    def check(self, beta):
        require(beta > 0, f"beta must be > 0, got {beta}")

    def in_support(self, value):
        return value >= 0.0

    def moment(self, beta):
        return beta  # the median (there is no mean)

    def sample(self, rng, size, beta):
        return np.abs(beta * rng.standard_cauchy(size=size))

    def default_transform(self):
        from nbvi import transforms

        return transforms.log
