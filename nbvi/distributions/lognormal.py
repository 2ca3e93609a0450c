"""LogNormal(mu, sigma): x = exp(y) with y ~ Normal(mu, sigma), on x > 0.

log p(x | mu, sigma) = -(log x - mu)^2 / (2 sigma^2) - log sigma - log(2 pi) / 2 - log x   for x > 0
"""
import math

import numpy as np
from numba import njit, prange

from nbvi.distributions.distribution import Distribution, require, resolve_sigma
from nbvi.distributions.family import ScalarFamily
from nbvi.distributions.layout import at, row_blocks, spot

HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@njit(cache=True)
def lognormal_logp_grad(x, mu, sigma):
    """log LogNormal(x | mu, sigma) and its partial derivatives with respect to x, mu and sigma."""
    if not (sigma > 0.0 and x > 0.0):
        return -np.inf, 0.0, 0.0, 0.0
    log_x = math.log(x)
    z = (log_x - mu) / sigma
    logp = -0.5 * z * z - math.log(sigma) - HALF_LOG_2PI - log_x
    d_x = -(z / sigma + 1.0) / x  # d/dx = -((log x - mu) / sigma^2 + 1) / x
    d_mu = z / sigma  # d/dmu = (log x - mu) / sigma^2
    d_sigma = (z * z - 1.0) / sigma  # d/dsigma = (log x - mu)^2 / sigma^3 - 1 / sigma
    return logp, d_x, d_mu, d_sigma


LOGNORMAL = ScalarFamily("lognormal", lognormal_logp_grad, params=("mu", "sigma"))


@njit(cache=True, parallel={"numpy": False})  # threads for the prange loop only: compiles ~2x faster
def lognormal_rows_kernel(data, rows, mu, sigma):
    """Fused kernel for the R observed rows data[rows[0]], ..., data[rows[R - 1]] of data (N, C), read in
    place (rows (R,) may repeat, as in a minibatch), with parameters (D_i, C_i) shared by all rows.

    With x_ij = data[rows[i], j], one parallel pass over blocks of the R rows collects, per column,
    S1_j = sum_i y_ij and S2_j = sum_i y_ij^2 of the shifted logs y_ij = log x_ij - K_j with K_j = log x_0j
    (the first row of the term; the shift keeps the sums of squares below free of cancellation) and the
    number of values <= 0 (each block in its own slot); :func:`lognormal_from_sums` does the rest in O(D C).
    """
    n_rows, n_cols = rows.shape[0], data.shape[1]
    shift = np.zeros(n_cols)
    for j in range(n_cols):
        if data[rows[0], j] > 0.0:
            shift[j] = math.log(data[rows[0], j])
    n_blocks = min(n_rows, 64)
    bounds = row_blocks(n_rows, n_blocks)
    sums = np.zeros((n_blocks, 3, n_cols))  # [sum y, sum y^2, count of x <= 0]
    for b in prange(n_blocks):
        for i in range(bounds[b], bounds[b + 1]):
            r = rows[i]
            for j in range(n_cols):
                x = data[r, j]
                if x > 0.0:
                    y = math.log(x) - shift[j]
                    sums[b, 0, j] += y
                    sums[b, 1, j] += y * y
                else:
                    sums[b, 2, j] += 1.0
    return lognormal_from_sums(sums, shift, n_rows, mu, sigma)


@njit(cache=True)
def lognormal_from_sums(sums, shift, n_rows, mu, sigma):
    """logp (D,) and the gradients for mu and sigma from the block sums of :func:`lognormal_rows_kernel`.

    With c_j = mu_j - K_j, Q_j = sum_i (log x_ij - mu_j)^2 = S2_j - 2 c_j S1_j + R c_j^2 and
    sum_i log x_ij = S1_j + R K_j:

        logp       = sum_j [-Q_j / (2 sigma_j^2) - R log sigma_j - S1_j - R K_j] - R C log(2 pi) / 2
        d/dmu_j    = (S1_j - R c_j) / sigma_j^2
        d/dsigma_j = Q_j / sigma_j^3 - R / sigma_j
    """
    outside = sums[:, 2].sum() > 0.0
    draws = max(mu.shape[0], sigma.shape[0])
    logp = np.zeros(draws)
    g_mu = np.zeros((draws, mu.shape[1]))
    g_sigma = np.zeros((draws, sigma.shape[1]))
    for d in range(draws):
        for j in range(sums.shape[2]):
            s = at(sigma, d, j)
            if outside or not s > 0.0:
                logp[d] = -np.inf
                g_mu[d, :] = 0.0
                g_sigma[d, :] = 0.0
                break
            s1, s2 = sums[:, 0, j].sum(), sums[:, 1, j].sum()
            c = at(mu, d, j) - shift[j]
            q = (s2 - 2.0 * c * s1 + n_rows * c * c) / s / s  # Q_j / sigma_j^2
            logp[d] += -0.5 * q - n_rows * (math.log(s) + HALF_LOG_2PI + shift[j]) - s1
            g_mu[d, spot(mu, j)] += (s1 - n_rows * c) / s / s
            g_sigma[d, spot(sigma, j)] += (q - n_rows) / s
    return logp, g_mu, g_sigma


class LogNormal(Distribution):
    """Log-normal distribution: log x ~ Normal(mu, sigma); ``sd`` and precision ``tau`` as in Normal.

    Parameters
    ----------
    mu : float, array or node
    sigma : float, array or node, > 0
    """

    params = ("mu", "sigma")
    support = "positive"
    family = LOGNORMAL
    rows_kernel = staticmethod(lognormal_rows_kernel)

    def __init__(self, mu=0.0, sigma=None, sd=None, tau=None):
        self.set_params(mu=mu, sigma=resolve_sigma(sigma, sd, tau, default=1.0, family=self.describe()))

    def check(self, mu, sigma):
        require(sigma > 0, f"sigma must be > 0, got {sigma}")

    def in_support(self, value):
        return value > 0.0

    def moment(self, mu, sigma):
        return np.exp(mu + 0.5 * sigma**2)  # the mean, as PyMC

    def sample(self, rng, size, mu, sigma):
        return rng.lognormal(mu, sigma, size=size)

    def default_transform(self):
        from nbvi import transforms

        return transforms.log
