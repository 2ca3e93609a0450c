"""StudentT(nu, mu, sigma): the location-scale Student t with ``nu`` degrees of freedom.

log p(x | nu, mu, sigma) = log Gamma((nu + 1) / 2) - log Gamma(nu / 2) - log(nu pi) / 2 - log sigma
                           - (nu + 1) / 2 log(1 + z^2 / nu),   z = (x - mu) / sigma
"""
import math

import numpy as np
from numba import njit, prange

from nbvi.distributions.distribution import Distribution, require, resolve_sigma
from nbvi.distributions.family import ScalarFamily
from nbvi.distributions.layout import at, row_blocks, spot
from nbvi.distributions.special import digamma
from nbvi.graph.node import Node

HALF_LOG_PI = 0.5 * math.log(math.pi)


@njit(cache=True)
def studentt_norm(nu, sigma):
    """The log normalising constant log Gamma((nu+1)/2) - log Gamma(nu/2) - log(nu pi)/2 - log sigma, and
    its derivative in nu: (psi((nu+1)/2) - psi(nu/2) - 1/nu) / 2."""
    norm = math.lgamma(0.5 * (nu + 1.0)) - math.lgamma(0.5 * nu) - 0.5 * math.log(nu) - HALF_LOG_PI - math.log(sigma)
    d_nu = 0.5 * (digamma(0.5 * (nu + 1.0)) - digamma(0.5 * nu) - 1.0 / nu)
    return norm, d_nu


@njit(cache=True)
def studentt_logp_grad(x, nu, mu, sigma):
    """log StudentT(x | nu, mu, sigma) and its partial derivatives with respect to x, nu, mu and sigma."""
    if not (nu > 0.0 and sigma > 0.0):
        return -np.inf, 0.0, 0.0, 0.0, 0.0
    z = (x - mu) / sigma
    t = z * z / nu
    w = (nu + 1.0) / (nu + z * z)
    norm, d_norm = studentt_norm(nu, sigma)
    logp = norm - 0.5 * (nu + 1.0) * math.log1p(t)
    d_x = -w * z / sigma  # d/dx = -(nu + 1) z / (sigma (nu + z^2))
    d_nu = d_norm + 0.5 * (w * t - math.log1p(t))  # d/dnu = d norm/dnu - log(1 + t)/2 + (nu+1) t / (2 (nu + z^2))
    d_mu = w * z / sigma  # d/dmu = (nu + 1) z / (sigma (nu + z^2))
    d_sigma = (w * z * z - 1.0) / sigma  # d/dsigma = ((nu + 1) z^2 / (nu + z^2) - 1) / sigma
    return logp, d_x, d_nu, d_mu, d_sigma


STUDENTT = ScalarFamily("studentt", studentt_logp_grad, params=("nu", "mu", "sigma"))


@njit(cache=True, parallel={"numpy": False})  # threads for the prange loop only: compiles ~2x faster
def studentt_rows_kernel(data, rows, nu, mu, sigma):
    """Fused kernel for the R observed rows data[rows[0]], ..., data[rows[R - 1]] of data (N, C), read in
    place (rows (R,) may repeat, as in a minibatch), with parameters (D_i, C_i) shared by all rows.

    One parallel pass over blocks of the R rows collects, per draw and column, L = sum_i log(1 + t_i),
    A = sum_i w_i z_i and B = sum_i w_i z_i^2, with z = (x - mu) / sigma, t = z^2 / nu and
    w = (nu + 1) / (nu + z^2) (each block in its own slot); :func:`studentt_from_sums` does the rest.
    """
    n_rows, n_cols = rows.shape[0], data.shape[1]
    draws = max(nu.shape[0], mu.shape[0], sigma.shape[0])
    n_blocks = min(n_rows, 64)
    bounds = row_blocks(n_rows, n_blocks)
    sums = np.zeros((n_blocks, 3, draws, n_cols))  # [L, A, B]
    for b in prange(n_blocks):
        for d in range(draws):
            for i in range(bounds[b], bounds[b + 1]):
                r = rows[i]
                for j in range(n_cols):
                    v, s = at(nu, d, j), at(sigma, d, j)
                    if v > 0.0 and s > 0.0:
                        z = (data[r, j] - at(mu, d, j)) / s
                        w = (v + 1.0) / (v + z * z)
                        sums[b, 0, d, j] += math.log1p(z * z / v)
                        sums[b, 1, d, j] += w * z
                        sums[b, 2, d, j] += w * z * z
    return studentt_from_sums(sums, n_rows, nu, mu, sigma)


@njit(cache=True)
def studentt_from_sums(sums, n_rows, nu, mu, sigma):
    """logp (D,) and the gradients for nu, mu and sigma from the block sums of :func:`studentt_rows_kernel`,
    with the normalising constant N(nu, sigma) of :func:`studentt_norm`:

        logp       = sum_j [R N - (nu_j + 1) L_j / 2]
        d/dnu_j    = R dN/dnu + (B_j / nu_j - L_j) / 2
        d/dmu_j    = A_j / sigma_j
        d/dsigma_j = (B_j - R) / sigma_j
    """
    draws, n_cols = sums.shape[2], sums.shape[3]
    logp = np.zeros(draws)
    g_nu = np.zeros((draws, nu.shape[1]))
    g_mu = np.zeros((draws, mu.shape[1]))
    g_sigma = np.zeros((draws, sigma.shape[1]))
    for d in range(draws):
        for j in range(n_cols):
            v, s = at(nu, d, j), at(sigma, d, j)
            if not (v > 0.0 and s > 0.0):
                logp[d] = -np.inf
                g_nu[d, :] = 0.0
                g_mu[d, :] = 0.0
                g_sigma[d, :] = 0.0
                break
            log_sum, wz_sum, wzz_sum = sums[:, 0, d, j].sum(), sums[:, 1, d, j].sum(), sums[:, 2, d, j].sum()
            norm, d_norm = studentt_norm(v, s)
            logp[d] += n_rows * norm - 0.5 * (v + 1.0) * log_sum
            g_nu[d, spot(nu, j)] += n_rows * d_norm + 0.5 * (wzz_sum / v - log_sum)
            g_mu[d, spot(mu, j)] += wz_sum / s
            g_sigma[d, spot(sigma, j)] += (wzz_sum - n_rows) / s
    return logp, g_nu, g_mu, g_sigma


class StudentT(Distribution):
    """Student's t distribution with ``nu`` degrees of freedom, location ``mu`` and scale ``sigma``.

    Parameters
    ----------
    nu : float, array or node, > 0
    mu : float, array or node
    sigma : float, array or node, > 0
        Also ``sd`` (old name), or ``lam``, the precision 1 / sigma^2.
    """

    params = ("nu", "mu", "sigma")
    support = "real"
    family = STUDENTT
    rows_kernel = staticmethod(studentt_rows_kernel)

    def __init__(self, nu=None, mu=0.0, sigma=None, sd=None, lam=None):
        if lam is not None:
            if sigma is not None or sd is not None:
                raise ValueError(f"{self.describe()}: give only one of sigma, sd and lam")
            if not isinstance(lam, Node):
                lam = np.asarray(lam, dtype=np.float64)
                require(lam > 0, f"{self.describe()}: lam must be > 0, got {lam}")
            sigma = lam**-0.5
        self.set_params(nu=nu, mu=mu, sigma=resolve_sigma(sigma, sd, default=1.0, family=self.describe()))

    def check(self, nu, mu, sigma):
        require(nu > 0, f"nu must be > 0, got {nu}")
        require(sigma > 0, f"sigma must be > 0, got {sigma}")

    def moment(self, nu, mu, sigma):
        return mu

    def sample(self, rng, size, nu, mu, sigma):
        return mu + sigma * rng.standard_t(nu, size=size)
