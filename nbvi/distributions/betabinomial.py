"""BetaBinomial(alpha, beta, n): successes in n trials whose success probability is Beta(alpha, beta),
observed only.

    log p(y | alpha, beta, n) = log C(n, y) + log B(y + alpha, n - y + beta) - log B(alpha, beta)   for y in {0..n}

n is a constant array of non-negative integers, as for Binomial: it has no gradient.
"""
import math

import numpy as np
from numba import njit

from nbvi.distributions.binomial import _trials, trials_value
from nbvi.distributions.distribution import Distribution, require
from nbvi.distributions.family import ScalarFamily
from nbvi.distributions.poisson import is_count
from nbvi.distributions.special import digamma, lbeta

COMPILED_SOURCES_DIGEST = "0868908fa0c45f77"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache


@njit(cache=True)
def betabinomial_logp_grad(y, alpha, beta, n):
    """log BetaBinomial(y | alpha, beta, n) and its partial derivatives with respect to alpha and beta;
    -inf outside y in {0..n}, alpha > 0, beta > 0."""
    if not (is_count(y) and is_count(n) and y <= n and alpha > 0.0 and beta > 0.0):
        return -np.inf, 0.0, 0.0
    log_choose = math.lgamma(n + 1.0) - math.lgamma(y + 1.0) - math.lgamma(n - y + 1.0)
    logp = log_choose + lbeta(y + alpha, n - y + beta) - lbeta(alpha, beta)
    common = digamma(alpha + beta) - digamma(n + alpha + beta)
    d_alpha = digamma(y + alpha) - digamma(alpha) + common  # psi(y+a) - psi(a) + psi(a+b) - psi(n+a+b)
    d_beta = digamma(n - y + beta) - digamma(beta) + common  # psi(n-y+b) - psi(b) + psi(a+b) - psi(n+a+b)
    return logp, d_alpha, d_beta


BETABINOMIAL = ScalarFamily("betabinomial", betabinomial_logp_grad, params=("alpha", "beta", "n"), discrete=True,
                            gradients=("alpha", "beta"))


class BetaBinomial(Distribution):
    """Beta-binomial distribution: successes in ``n`` trials with a success probability drawn from
    Beta(``alpha``, ``beta``).

    Parameters
    ----------
    alpha, beta : float, array or node, > 0
    n : int or array of non-negative integers (a constant)
    """

    params = ("alpha", "beta", "n")
    support = "{0, ..., n}"
    discrete = True
    observed_only = True
    family = BETABINOMIAL

    def __init__(self, alpha, beta, n):
        self.set_params(alpha=alpha, beta=beta, n=_trials(n, self.describe()))

    def check(self, alpha, beta, n):
        require(alpha > 0, f"alpha must be > 0, got {alpha}")
        require(beta > 0, f"beta must be > 0, got {beta}")

    def in_support(self, value):
        return (value >= 0) & (value <= trials_value(self.param_nodes["n"])) & (value == np.floor(value))

    def support_rule(self):
        return f"observed values must be integers in 0..n (n = {trials_value(self.param_nodes['n'])})"

    def moment(self, alpha, beta, n):
        return np.floor(n * alpha / (alpha + beta)).astype(np.int64)  # the floor of the mean

    def sample(self, rng, size, alpha, beta, n):
        return rng.binomial(n.astype(np.int64), rng.beta(alpha, beta, size=size), size=size)
