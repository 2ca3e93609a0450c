"""InverseGamma(alpha, beta): the law of 1 / y for y ~ Gamma(alpha, rate beta), on x > 0.

log p(x | alpha, beta) = alpha log beta - log Gamma(alpha) - (alpha + 1) log x - beta / x   for x > 0
"""
import math

import numpy as np
from numba import njit, prange

from nbvi.distributions.distribution import Distribution, positive_mean_and_sd, require
from nbvi.distributions.family import ScalarFamily
from nbvi.distributions.layout import at, row_blocks, spot
from nbvi.distributions.special import digamma


@njit(cache=True)
def inversegamma_logp_grad(x, alpha, beta):
    """log InverseGamma(x | alpha, beta) and its partial derivatives with respect to x, alpha and beta."""
    if not (alpha > 0.0 and beta > 0.0 and x > 0.0):
        return -np.inf, 0.0, 0.0, 0.0
    log_x = math.log(x)
    inv_x = 1.0 / x
    logp = alpha * math.log(beta) - math.lgamma(alpha) - (alpha + 1.0) * log_x - beta * inv_x
    d_x = (beta * inv_x - alpha - 1.0) * inv_x  # d/dx = -(alpha + 1) / x + beta / x^2
    d_alpha = math.log(beta) - digamma(alpha) - log_x  # d/dalpha = log beta - psi(alpha) - log x
    d_beta = alpha / beta - inv_x  # d/dbeta = alpha / beta - 1 / x
    return logp, d_x, d_alpha, d_beta


INVERSEGAMMA = ScalarFamily("inversegamma", inversegamma_logp_grad, params=("alpha", "beta"))


@njit(cache=True, parallel={"numpy": False})  # threads for the prange loop only: compiles ~2x faster
def inversegamma_rows_kernel(data, rows, alpha, beta):
    """Fused kernel for the R observed rows data[rows[0]], ..., data[rows[R - 1]] of data (N, C), read in
    place (rows (R,) may repeat, as in a minibatch), with parameters (D_i, C_i) shared by all rows.

    One parallel pass over blocks of the R rows collects, per column, L_j = sum_i log x_ij,
    V_j = sum_i 1 / x_ij (x_ij = data[rows[i], j]) and the number of values <= 0 (each block in its own
    slot); :func:`inversegamma_from_sums` does the rest in O(D C).
    """
    n_rows, n_cols = rows.shape[0], data.shape[1]
    n_blocks = min(n_rows, 64)
    bounds = row_blocks(n_rows, n_blocks)
    sums = np.zeros((n_blocks, 3, n_cols))  # [sum log x, sum 1 / x, count of x <= 0]
    for b in prange(n_blocks):
        for i in range(bounds[b], bounds[b + 1]):
            r = rows[i]
            for j in range(n_cols):
                x = data[r, j]
                if x > 0.0:
                    sums[b, 0, j] += math.log(x)
                    sums[b, 1, j] += 1.0 / x
                else:
                    sums[b, 2, j] += 1.0
    return inversegamma_from_sums(sums, n_rows, alpha, beta)


@njit(cache=True)
def inversegamma_from_sums(sums, n_rows, alpha, beta):
    """logp (D,) and the gradients for alpha and beta from the block sums of :func:`inversegamma_rows_kernel`:

        logp       = sum_j [R (alpha_j log beta_j - log Gamma(alpha_j)) - (alpha_j + 1) L_j - beta_j V_j]
        d/dalpha_j = R (log beta_j - psi(alpha_j)) - L_j
        d/dbeta_j  = R alpha_j / beta_j - V_j
    """
    outside = sums[:, 2].sum() > 0.0
    draws = max(alpha.shape[0], beta.shape[0])
    logp = np.zeros(draws)
    g_alpha = np.zeros((draws, alpha.shape[1]))
    g_beta = np.zeros((draws, beta.shape[1]))
    for d in range(draws):
        for j in range(sums.shape[2]):
            a, scale = at(alpha, d, j), at(beta, d, j)
            if outside or not (a > 0.0 and scale > 0.0):
                logp[d] = -np.inf
                g_alpha[d, :] = 0.0
                g_beta[d, :] = 0.0
                break
            log_sum, inv_sum = sums[:, 0, j].sum(), sums[:, 1, j].sum()
            log_scale = math.log(scale)
            logp[d] += n_rows * (a * log_scale - math.lgamma(a)) - (a + 1.0) * log_sum - scale * inv_sum
            g_alpha[d, spot(alpha, j)] += n_rows * (log_scale - digamma(a)) - log_sum
            g_beta[d, spot(beta, j)] += n_rows * a / scale - inv_sum
    return logp, g_alpha, g_beta


class InverseGamma(Distribution):
    """Inverse-gamma distribution with shape ``alpha`` and scale ``beta``, or PyMC's mean ``mu`` and standard
    deviation ``sigma``.

    Parameters
    ----------
    alpha, beta : float, array or node, > 0
    mu, sigma : float, array or node, > 0
        Instead of alpha and beta: alpha = 2 + mu^2 / sigma^2, beta = mu (alpha - 1) (so that the mean
        beta / (alpha - 1) is mu and the variance beta^2 / ((alpha - 1)^2 (alpha - 2)) is sigma^2).
    """

    params = ("alpha", "beta")
    support = "positive"
    family = INVERSEGAMMA
    rows_kernel = staticmethod(inversegamma_rows_kernel)

    def __init__(self, alpha=None, beta=None, mu=None, sigma=None):
        if alpha is not None and beta is not None and mu is None and sigma is None:
            self.set_params(alpha=alpha, beta=beta)
        elif alpha is None and beta is None and mu is not None and sigma is not None:
            mu, sigma = positive_mean_and_sd(mu, sigma, self.describe())
            alpha = 2.0 + mu * mu / (sigma * sigma)
            self.set_params(alpha=alpha, beta=mu * (alpha - 1.0))
        else:
            raise ValueError(f"{self.describe()}: give either alpha and beta, or mu and sigma")

    def check(self, alpha, beta):
        require(alpha > 0, f"alpha must be > 0, got {alpha}")
        require(beta > 0, f"beta must be > 0, got {beta}")

    def in_support(self, value):
        return value > 0.0

    def moment(self, alpha, beta):
        # the mean beta / (alpha - 1) where it exists (alpha > 1), else the mode beta / (alpha + 1), as PyMC
        has_mean = alpha > 1.0
        return np.where(has_mean, beta / np.where(has_mean, alpha - 1.0, 1.0), beta / (alpha + 1.0))

    def sample(self, rng, size, alpha, beta):
        return beta / rng.gamma(alpha, 1.0, size=size)

    def default_transform(self):
        from nbvi import transforms

        return transforms.log
