"""Cauchy(alpha, beta): location ``alpha``, scale ``beta`` (PyMC's names).

log p(x | alpha, beta) = -log pi - log beta - log(1 + z^2),   z = (x - alpha) / beta
"""
import math

import numpy as np
from numba import njit, prange

from nbvi.distributions.distribution import Distribution, require
from nbvi.distributions.family import ScalarFamily
from nbvi.distributions.layout import at, row_blocks, spot

LOG_PI = math.log(math.pi)


@njit(cache=True)
def cauchy_logp_grad(x, alpha, beta):
    """log Cauchy(x | alpha, beta) and its partial derivatives with respect to x, alpha and beta."""
    if not beta > 0.0:
        return -np.inf, 0.0, 0.0, 0.0
    z = (x - alpha) / beta
    r = 1.0 / (1.0 + z * z)
    logp = -LOG_PI - math.log(beta) - math.log1p(z * z)
    d_x = -2.0 * z * r / beta  # d/dx = -2 z / (beta (1 + z^2))
    d_alpha = 2.0 * z * r / beta  # d/dalpha = 2 z / (beta (1 + z^2))
    d_beta = (1.0 - 2.0 * r) / beta  # d/dbeta = (z^2 - 1) / (beta (1 + z^2))
    return logp, d_x, d_alpha, d_beta


CAUCHY = ScalarFamily("cauchy", cauchy_logp_grad, params=("alpha", "beta"))


@njit(cache=True, parallel={"numpy": False})  # threads for the prange loop only: compiles ~2x faster
def cauchy_rows_kernel(data, rows, alpha, beta):
    """Fused kernel for the R observed rows data[rows[0]], ..., data[rows[R - 1]] of data (N, C), read in
    place (rows (R,) may repeat, as in a minibatch), with parameters (D_i, C_i) shared by all rows.

    One parallel pass over blocks of the R rows collects, per draw and column, L = sum_i log(1 + z_i^2),
    A = sum_i z_i r_i and B = sum_i r_i, with z = (x - alpha) / beta and r = 1 / (1 + z^2) (each block in
    its own slot); :func:`cauchy_from_sums` does the rest.
    """
    n_rows, n_cols = rows.shape[0], data.shape[1]
    draws = max(alpha.shape[0], beta.shape[0])
    n_blocks = min(n_rows, 64)
    bounds = row_blocks(n_rows, n_blocks)
    sums = np.zeros((n_blocks, 3, draws, n_cols))  # [L, A, B]
    for b in prange(n_blocks):
        for d in range(draws):
            for i in range(bounds[b], bounds[b + 1]):
                row = rows[i]  # (r is taken: r = 1 / (1 + z^2))
                for j in range(n_cols):
                    scale = at(beta, d, j)
                    if scale > 0.0:
                        z = (data[row, j] - at(alpha, d, j)) / scale
                        r = 1.0 / (1.0 + z * z)
                        sums[b, 0, d, j] += math.log1p(z * z)
                        sums[b, 1, d, j] += z * r
                        sums[b, 2, d, j] += r
    return cauchy_from_sums(sums, n_rows, alpha, beta)


@njit(cache=True)
def cauchy_from_sums(sums, n_rows, alpha, beta):
    """logp (D,) and the gradients for alpha and beta from the block sums of :func:`cauchy_rows_kernel`:

        logp       = sum_j [-R (log pi + log beta_j) - L_j]
        d/dalpha_j = 2 A_j / beta_j
        d/dbeta_j  = (R - 2 B_j) / beta_j
    """
    draws, n_cols = sums.shape[2], sums.shape[3]
    logp = np.zeros(draws)
    g_alpha = np.zeros((draws, alpha.shape[1]))
    g_beta = np.zeros((draws, beta.shape[1]))
    for d in range(draws):
        for j in range(n_cols):
            scale = at(beta, d, j)
            if not scale > 0.0:
                logp[d] = -np.inf
                g_alpha[d, :] = 0.0
                g_beta[d, :] = 0.0
                break
            log_sum, zr_sum, r_sum = sums[:, 0, d, j].sum(), sums[:, 1, d, j].sum(), sums[:, 2, d, j].sum()
            logp[d] += -n_rows * (LOG_PI + math.log(scale)) - log_sum
            g_alpha[d, spot(alpha, j)] += 2.0 * zr_sum / scale
            g_beta[d, spot(beta, j)] += (n_rows - 2.0 * r_sum) / scale
    return logp, g_alpha, g_beta


class Cauchy(Distribution):
    """Cauchy distribution with location ``alpha`` and scale ``beta``.

    Parameters
    ----------
    alpha : float, array or node
    beta : float, array or node, > 0
    """

    params = ("alpha", "beta")
    support = "real"
    family = CAUCHY
    rows_kernel = staticmethod(cauchy_rows_kernel)

    def __init__(self, alpha=None, beta=None):
        self.set_params(alpha=alpha, beta=beta)

    def check(self, alpha, beta):
        require(beta > 0, f"beta must be > 0, got {beta}")

    def moment(self, alpha, beta):
        return alpha  # the median (there is no mean)

    def sample(self, rng, size, alpha, beta):
        return alpha + beta * rng.standard_cauchy(size=size)
