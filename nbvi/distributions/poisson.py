"""Poisson(mu): counts, observed only.

    log p(y | mu) = y log mu - mu - log y!
"""
import math

import numpy as np
from numba import njit, prange

from nbvi.distributions.distribution import Distribution, require
from nbvi.distributions.family import ScalarFamily
from nbvi.distributions.layout import at, row_blocks, spot


@njit(cache=True)
def is_count(y):
    """True when y is a non-negative integer."""
    return y >= 0.0 and y == math.floor(y) and y < np.inf


@njit(cache=True)
def poisson_logp_grad(y, mu):
    """log Poisson(y | mu) and its derivative with respect to mu; -inf outside y in {0, 1, ...}, mu >= 0."""
    if not (is_count(y) and mu >= 0.0):
        return -np.inf, 0.0
    if y == 0.0:
        return -mu, -1.0  # 0 log mu = 0, also at mu = 0
    if mu == 0.0:
        return -np.inf, 0.0
    logp = y * math.log(mu) - mu - math.lgamma(y + 1.0)
    return logp, y / mu - 1.0  # d/dmu = y / mu - 1


POISSON = ScalarFamily("poisson", poisson_logp_grad, params=("mu",), discrete=True)


@njit(cache=True, parallel=True)
def poisson_sums(data, rows):
    """Per column, over the R rows y_i = data[rows[i]] of count data (N, C) (rows (R,) may repeat, each
    occurrence counts): sum_i y_ij, sum_i log y_ij! and the number of non-counts."""
    n_rows, n_cols = rows.shape[0], data.shape[1]
    n_blocks = min(n_rows, 64)
    bounds = row_blocks(n_rows, n_blocks)
    total = np.zeros((n_blocks, n_cols))
    log_fact = np.zeros((n_blocks, n_cols))
    bad = np.zeros((n_blocks, n_cols))
    for b in prange(n_blocks):
        for i in range(bounds[b], bounds[b + 1]):
            r = rows[i]
            for j in range(n_cols):
                y = data[r, j]
                if is_count(y):
                    total[b, j] += y
                    log_fact[b, j] += math.lgamma(y + 1.0)
                else:
                    bad[b, j] += 1.0
    return total.sum(axis=0), log_fact.sum(axis=0), bad.sum(axis=0)


@njit(cache=True)
def poisson_rows_kernel(data, rows, mu):
    """Fused kernel for the R observed rows of counts data[rows[0]], ..., data[rows[R - 1]] of data (N, C),
    read in place (rows (R,) may repeat, as in a minibatch), with mu (D_i, C_i) shared by all rows.

    With S_j = sum_i y_ij and L_j = sum_i log y_ij!, the log-likelihood needs only the column sums:
        logp = sum_j S_j log mu_j - R mu_j - L_j,   d/dmu_j = S_j / mu_j - R
    """
    n_rows, n_cols = rows.shape[0], data.shape[1]
    total, log_fact, bad = poisson_sums(data, rows)
    draws = mu.shape[0]
    logp = np.zeros(draws)
    g_mu = np.zeros((draws, mu.shape[1]))
    for d in range(draws):
        for j in range(n_cols):
            m = at(mu, d, j)
            if bad[j] > 0 or not m >= 0.0 or (total[j] > 0 and m == 0.0):
                logp[d] = -np.inf
                continue
            logp[d] += (total[j] * math.log(m) if total[j] > 0 else 0.0) - n_rows * m - log_fact[j]
            g_mu[d, spot(mu, j)] += (total[j] / m if total[j] > 0 else 0.0) - n_rows
    return logp, g_mu


class Poisson(Distribution):
    """Poisson distribution of counts with mean ``mu``.

    Parameters
    ----------
    mu : float, array or node, >= 0
    """

    params = ("mu",)
    support = "{0, 1, 2, ...}"
    discrete = True
    observed_only = True
    family = POISSON
    rows_kernel = staticmethod(poisson_rows_kernel)

    def __init__(self, mu):
        self.set_params(mu=mu)

    def check(self, mu):
        require(mu >= 0, f"mu must be >= 0, got {mu}")

    def in_support(self, value):
        return (value >= 0) & (value == np.floor(value)) & np.isfinite(value)

    def support_rule(self):
        return "observed values must be non-negative integers (counts)"

    def moment(self, mu):
        return np.floor(mu).astype(np.int64)  # the mode

    def sample(self, rng, size, mu):
        return rng.poisson(mu, size=size)
