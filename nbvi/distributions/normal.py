"""Normal(mu, sigma): the Gaussian, and the template every scalar family follows.

log p(x | mu, sigma) = -(x - mu)^2 / (2 sigma^2) - log sigma - log(2 pi) / 2
"""
import math

import numpy as np
from numba import njit, prange

from nbvi.distributions.distribution import Distribution, require, resolve_sigma
from nbvi.distributions.layout import at, row_blocks, spot

HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@njit(cache=True)
def normal_logp_grad(x, mu, sigma):
    """log N(x | mu, sigma) and its partial derivatives with respect to x, mu and sigma."""
    if sigma <= 0.0:
        return -np.inf, 0.0, 0.0, 0.0
    z = (x - mu) / sigma
    logp = -0.5 * z * z - math.log(sigma) - HALF_LOG_2PI
    d_x = -z / sigma  # d/dx = -(x - mu) / sigma^2
    d_mu = z / sigma  # d/dmu = (x - mu) / sigma^2
    d_sigma = (z * z - 1.0) / sigma  # d/dsigma = (x - mu)^2 / sigma^3 - 1 / sigma
    return logp, d_x, d_mu, d_sigma


@njit(cache=True)
def normal_kernel(x, mu, sigma):
    """Elementwise kernel: arguments (D_i, n_i), n_i in {1, n}; returns logp (D,) and summed gradients."""
    draws = max(x.shape[0], mu.shape[0], sigma.shape[0])
    n = max(x.shape[1], mu.shape[1], sigma.shape[1])
    logp = np.zeros(draws)
    g_x = np.zeros((draws, x.shape[1]))
    g_mu = np.zeros((draws, mu.shape[1]))
    g_sigma = np.zeros((draws, sigma.shape[1]))
    for d in range(draws):
        for j in range(n):
            lp, dx, dmu, dsigma = normal_logp_grad(at(x, d, j), at(mu, d, j), at(sigma, d, j))
            logp[d] += lp
            g_x[d, spot(x, j)] += dx
            g_mu[d, spot(mu, j)] += dmu
            g_sigma[d, spot(sigma, j)] += dsigma
    return logp, g_x, g_mu, g_sigma


@njit(cache=True, parallel=True)
def normal_rows_kernel(data, mu, sigma):
    """Fused kernel for observed data (R, C) with parameters (D_i, C_i) shared by all rows.

    The Normal log-density needs only two sums per column, S1_j = sum_i z_ij and S2_j = sum_i z_ij^2 with
    z_ij = (x_ij - mu_j) / sigma_j, so one parallel pass over blocks of rows collects them (each block in
    its own slot: no data-sized temporary) and everything else is O(C):

        logp    = -S2 / 2 - R log sigma_j - R C log(2 pi) / 2   (summed over j)
        d/dmu_j    = S1_j / sigma_j
        d/dsigma_j = (S2_j - R) / sigma_j

    Returns logp (D,), d logp/d mu (D, C_mu), d logp/d sigma (D, C_sigma).
    """
    n_rows, n_cols = data.shape
    draws = max(mu.shape[0], sigma.shape[0])
    center = np.empty((draws, n_cols))
    inv_sigma = np.empty((draws, n_cols))
    for d in range(draws):
        for j in range(n_cols):
            center[d, j] = at(mu, d, j)
            s = at(sigma, d, j)
            inv_sigma[d, j] = 1.0 / s if s > 0.0 else -1.0  # marks sigma <= 0: logp = -inf below
    n_blocks = min(n_rows, 64)
    bounds = row_blocks(n_rows, n_blocks)
    s1 = np.zeros((n_blocks, draws, n_cols))
    s2 = np.zeros((n_blocks, draws, n_cols))
    for b in prange(n_blocks):
        for d in range(draws):
            for i in range(bounds[b], bounds[b + 1]):
                for j in range(n_cols):
                    z = (data[i, j] - center[d, j]) * inv_sigma[d, j]
                    s1[b, d, j] += z
                    s2[b, d, j] += z * z
    sum1 = s1.sum(axis=0)
    sum2 = s2.sum(axis=0)
    logp = np.zeros(draws)
    g_mu = np.zeros((draws, mu.shape[1]))
    g_sigma = np.zeros((draws, sigma.shape[1]))
    for d in range(draws):
        for j in range(n_cols):
            if inv_sigma[d, j] <= 0.0:
                logp[d] = -np.inf
                continue
            logp[d] += -0.5 * sum2[d, j] + n_rows * (math.log(inv_sigma[d, j]) - HALF_LOG_2PI)
            g_mu[d, spot(mu, j)] += sum1[d, j] * inv_sigma[d, j]
            g_sigma[d, spot(sigma, j)] += (sum2[d, j] - n_rows) * inv_sigma[d, j]
    return logp, g_mu, g_sigma


class Normal(Distribution):
    """Normal distribution with mean ``mu`` and standard deviation ``sigma`` (alias ``sd``) or precision ``tau``.

    Parameters
    ----------
    mu : float, array or node
    sigma : float, array or node, > 0
    """

    params = ("mu", "sigma")
    support = "real"
    kernel = staticmethod(normal_kernel)
    rows_kernel = staticmethod(normal_rows_kernel)

    def __init__(self, mu=0.0, sigma=None, sd=None, tau=None):
        self.set_params(mu=mu, sigma=resolve_sigma(sigma, sd, tau, default=1.0))

    def check(self, mu, sigma):
        require(sigma > 0, f"sigma must be > 0, got {sigma}")

    def moment(self, mu, sigma):
        return mu

    def sample(self, rng, size, mu, sigma):
        return rng.normal(mu, sigma, size=size)
