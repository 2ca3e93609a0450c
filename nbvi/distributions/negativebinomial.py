"""NegativeBinomial(mu, alpha): overdispersed counts with mean ``mu`` and shape ``alpha``, observed only.

    log p(y | mu, alpha) = log Gamma(y + alpha) - log Gamma(alpha) - log y!
                           + alpha log(alpha / (mu + alpha)) + y log(mu / (mu + alpha))

The variance is mu + mu^2 / alpha (a Poisson as alpha -> inf). PyMC's (n, p) form, n successes with
success probability p, is the same family with alpha = n and mu = n (1 - p) / p.
"""
import math

import numpy as np
from numba import njit

from nbvi.distributions.distribution import Distribution, require
from nbvi.distributions.family import ScalarFamily
from nbvi.distributions.poisson import is_count
from nbvi.distributions.special import digamma
from nbvi.graph.node import Node, as_node

COMPILED_SOURCES_DIGEST = "14736a7ae9b0ff39"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache


@njit(cache=True)
def negativebinomial_logp_grad(y, mu, alpha):
    """log NegativeBinomial(y | mu, alpha) and its partial derivatives with respect to mu and alpha;
    -inf outside y in {0, 1, ...}, mu > 0, alpha > 0."""
    if not (is_count(y) and mu > 0.0 and alpha > 0.0):
        return -np.inf, 0.0, 0.0
    log_ratio = math.log1p(mu / alpha)  # log((mu + alpha) / alpha)
    logp = (math.lgamma(y + alpha) - math.lgamma(alpha) - math.lgamma(y + 1.0)
            - alpha * log_ratio + y * (math.log(mu) - math.log(mu + alpha)))
    d_mu = y / mu - (y + alpha) / (mu + alpha)  # d/dmu = y / mu - (y + alpha) / (mu + alpha)
    # d/dalpha = psi(y + alpha) - psi(alpha) - log(1 + mu / alpha) + (mu - y) / (mu + alpha)
    d_alpha = digamma(y + alpha) - digamma(alpha) - log_ratio + (mu - y) / (mu + alpha)
    return logp, d_mu, d_alpha


NEGATIVEBINOMIAL = ScalarFamily("negativebinomial", negativebinomial_logp_grad, params=("mu", "alpha"),
                                discrete=True)


def mu_alpha(family, mu, alpha, p, n):
    """``(mu, alpha)`` from either parametrisation: ``mu`` and ``alpha`` as given, or alpha = n and
    mu = n (1 - p) / p (a graph expression when ``n`` or ``p`` is a node). ``family`` names the variable."""
    if mu is not None and alpha is not None and p is None and n is None:
        return mu, alpha
    if mu is None and alpha is None and p is not None and n is not None:
        if isinstance(p, Node) or isinstance(n, Node):
            p, n = as_node(p), as_node(n)
        else:
            p, n = np.asarray(p, dtype=np.float64), np.asarray(n, dtype=np.float64)
            require((p > 0) & (p < 1), f"{family}: p must be in (0, 1), got {p}")
            require(n > 0, f"{family}: n must be > 0, got {n}")
        return n * (1.0 - p) / p, n
    raise ValueError(f"{family}: give either mu and alpha, or n and p")


def count_support(value):
    """Which elements of ``value`` are counts (non-negative integers)."""
    return (value >= 0) & (value == np.floor(value)) & np.isfinite(value)


class NegativeBinomial(Distribution):
    """Negative binomial distribution of counts with mean ``mu`` and shape (overdispersion) ``alpha``,
    or with ``n`` successes and success probability ``p``.

    Parameters
    ----------
    mu, alpha : float, array or node, > 0
        Variance mu + mu^2 / alpha.
    p, n : float, array or node
        The alternative parametrisation, p in (0, 1) and n > 0: alpha = n, mu = n (1 - p) / p.
    """

    params = ("mu", "alpha")
    support = "{0, 1, 2, ...}"
    discrete = True
    observed_only = True
    family = NEGATIVEBINOMIAL

    def __init__(self, mu=None, alpha=None, p=None, n=None):
        mu, alpha = mu_alpha(self.describe(), mu, alpha, p, n)
        self.set_params(mu=mu, alpha=alpha)

    def check(self, mu, alpha):
        require(mu > 0, f"mu must be > 0, got {mu}")
        require(alpha > 0, f"alpha must be > 0, got {alpha}")

    def in_support(self, value):
        return count_support(value)

    def support_rule(self):
        return "observed values must be non-negative integers (counts)"

    def moment(self, mu, alpha):
        return np.floor(mu).astype(np.int64)

    def sample(self, rng, size, mu, alpha):
        return rng.negative_binomial(alpha, alpha / (mu + alpha), size=size)
