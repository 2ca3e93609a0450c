"""Beta(alpha, beta): a probability, on 0 < x < 1 (or with mean ``mu`` and std ``sigma``).

log p(x | alpha, beta) = (alpha - 1) log x + (beta - 1) log(1 - x) - log B(alpha, beta)   for 0 < x < 1
"""
import math

import numpy as np
from numba import njit, prange

from nbvi.distributions.distribution import Distribution, require, resolve_sigma
from nbvi.distributions.family import ScalarFamily
from nbvi.distributions.layout import at, row_blocks, spot
from nbvi.distributions.special import digamma, lbeta
from nbvi.graph.node import Node, as_node


@njit(cache=True)
def beta_logp_grad(x, alpha, beta):
    """log Beta(x | alpha, beta) and its partial derivatives with respect to x, alpha and beta."""
    if not (alpha > 0.0 and beta > 0.0 and 0.0 < x < 1.0):
        return -np.inf, 0.0, 0.0, 0.0
    log_x = math.log(x)
    log_1mx = math.log1p(-x)
    logp = (alpha - 1.0) * log_x + (beta - 1.0) * log_1mx - lbeta(alpha, beta)
    psi_sum = digamma(alpha + beta)
    d_x = (alpha - 1.0) / x - (beta - 1.0) / (1.0 - x)  # d/dx = (alpha - 1) / x - (beta - 1) / (1 - x)
    d_alpha = log_x - digamma(alpha) + psi_sum  # d/dalpha = log x - psi(alpha) + psi(alpha + beta)
    d_beta = log_1mx - digamma(beta) + psi_sum  # d/dbeta = log(1 - x) - psi(beta) + psi(alpha + beta)
    return logp, d_x, d_alpha, d_beta


BETA = ScalarFamily("beta", beta_logp_grad, params=("alpha", "beta"))


@njit(cache=True, parallel={"numpy": False})  # threads for the prange loop only: compiles ~2x faster
def beta_rows_kernel(data, rows, alpha, beta):
    """Fused kernel for the R observed rows data[rows[0]], ..., data[rows[R - 1]] of data (N, C), read in
    place (rows (R,) may repeat, as in a minibatch), with parameters (D_i, C_i) shared by all rows.

    One parallel pass over blocks of the R rows collects, per column, L_j = sum_i log x_ij,
    M_j = sum_i log(1 - x_ij) and the number of values outside (0, 1) (each block in its own slot);
    :func:`beta_from_sums` does the rest in O(D C).
    """
    n_rows, n_cols = rows.shape[0], data.shape[1]
    n_blocks = min(n_rows, 64)
    bounds = row_blocks(n_rows, n_blocks)
    sums = np.zeros((n_blocks, 3, n_cols))  # [sum log x, sum log(1 - x), count outside (0, 1)]
    for b in prange(n_blocks):
        for i in range(bounds[b], bounds[b + 1]):
            r = rows[i]
            for j in range(n_cols):
                x = data[r, j]
                if 0.0 < x < 1.0:
                    sums[b, 0, j] += math.log(x)
                    sums[b, 1, j] += math.log1p(-x)
                else:
                    sums[b, 2, j] += 1.0
    return beta_from_sums(sums, n_rows, alpha, beta)


@njit(cache=True)
def beta_from_sums(sums, n_rows, alpha, beta):
    """logp (D,) and the gradients for alpha and beta from the block sums of :func:`beta_rows_kernel`,
    with P_j = psi(alpha_j + beta_j):

        logp       = sum_j [(alpha_j - 1) L_j + (beta_j - 1) M_j - R log B(alpha_j, beta_j)]
        d/dalpha_j = L_j - R (psi(alpha_j) - P_j)
        d/dbeta_j  = M_j - R (psi(beta_j) - P_j)
    """
    outside = sums[:, 2].sum() > 0.0
    draws = max(alpha.shape[0], beta.shape[0])
    logp = np.zeros(draws)
    g_alpha = np.zeros((draws, alpha.shape[1]))
    g_beta = np.zeros((draws, beta.shape[1]))
    for d in range(draws):
        for j in range(sums.shape[2]):
            a, c = at(alpha, d, j), at(beta, d, j)
            if outside or not (a > 0.0 and c > 0.0):
                logp[d] = -np.inf
                g_alpha[d, :] = 0.0
                g_beta[d, :] = 0.0
                break
            log_sum, log1m_sum = sums[:, 0, j].sum(), sums[:, 1, j].sum()
            psi_sum = digamma(a + c)
            logp[d] += (a - 1.0) * log_sum + (c - 1.0) * log1m_sum - n_rows * lbeta(a, c)
            g_alpha[d, spot(alpha, j)] += log_sum - n_rows * (digamma(a) - psi_sum)
            g_beta[d, spot(beta, j)] += log1m_sum - n_rows * (digamma(c) - psi_sum)
    return logp, g_alpha, g_beta


class Beta(Distribution):
    """Beta distribution with shapes ``alpha`` and ``beta``, or with mean ``mu`` and std ``sigma``.

    Parameters
    ----------
    alpha, beta : float, array or node, > 0
    mu : float, array or node, 0 < mu < 1
    sigma : float, array or node, 0 < sigma < sqrt(mu (1 - mu))
        The alternative parameterisation: kappa = mu (1 - mu) / sigma^2 - 1, alpha = mu kappa,
        beta = (1 - mu) kappa (``sd`` is an alias of ``sigma``).
    """

    params = ("alpha", "beta")
    support = "(0, 1)"
    family = BETA
    rows_kernel = staticmethod(beta_rows_kernel)

    def __init__(self, alpha=None, beta=None, mu=None, sigma=None, sd=None):
        sigma = resolve_sigma(sigma, sd, family=self.describe())
        if alpha is not None and beta is not None and mu is None and sigma is None:
            self.set_params(alpha=alpha, beta=beta)
        elif alpha is None and beta is None and mu is not None and sigma is not None:
            if isinstance(mu, Node) or isinstance(sigma, Node):
                mu, sigma = as_node(mu), as_node(sigma)
            else:
                mu, sigma = np.asarray(mu, dtype=np.float64), np.asarray(sigma, dtype=np.float64)
                require((mu > 0) & (mu < 1), f"{self.describe()}: mu must be in (0, 1), got {mu}")
                require((sigma > 0) & (sigma**2 < mu * (1 - mu)),
                        f"{self.describe()}: sigma must be > 0 and < sqrt(mu (1 - mu)), got {sigma}")
            kappa = mu * (1 - mu) / sigma**2 - 1
            self.set_params(alpha=mu * kappa, beta=(1 - mu) * kappa)
        else:
            raise ValueError(f"{self.describe()}: give either alpha and beta, or mu and sigma")

    def check(self, alpha, beta):
        require(alpha > 0, f"alpha must be > 0, got {alpha}")
        require(beta > 0, f"beta must be > 0, got {beta}")

    def in_support(self, value):
        return (value > 0.0) & (value < 1.0)

    def moment(self, alpha, beta):
        return alpha / (alpha + beta)

    def sample(self, rng, size, alpha, beta):
        return rng.beta(alpha, beta, size=size)

    def default_transform(self):
        from nbvi import transforms

        return transforms.logodds
