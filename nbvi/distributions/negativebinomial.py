"""NegativeBinomial(mu, alpha): overdispersed counts with mean ``mu`` and shape ``alpha``, observed only.

    log p(y | mu, alpha) = log Gamma(y + alpha) - log Gamma(alpha) - log y!
                           + alpha log(alpha / (mu + alpha)) + y log(mu / (mu + alpha))

The variance is mu + mu^2 / alpha (a Poisson as alpha -> inf). PyMC's (n, p) form, n successes with
success probability p, is the same family with alpha = n and mu = n (1 - p) / p.

For large alpha the log-Gamma terms are huge and nearly cancel, so the kernel uses the equivalent form

    log p = R(y, alpha) - log y! + y log mu - (y + alpha) log(1 + mu / alpha),
    R(y, alpha) = log Gamma(y + alpha) - log Gamma(alpha) - y log alpha      (-> 0 as alpha -> inf)

with R from Stirling's series, and beyond alpha = 1e10 (as PyMC) the Poisson limit y log mu - mu - log y!,
which differs from it by about ((y - mu)^2 - y) / (2 alpha).
"""
import math

import numpy as np
from numba import njit

from nbvi.distributions.distribution import Distribution, require
from nbvi.distributions.family import ScalarFamily
from nbvi.distributions.poisson import is_count
from nbvi.distributions.special import digamma
from nbvi.graph.node import Node, as_node

COMPILED_SOURCES_DIGEST = "0868908fa0c45f77"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache


POISSON_LIMIT = 1e10  # alpha beyond which the log-density is the Poisson's (PyMC's switch)
STIRLING_FROM = 100.0  # alpha from which R(y, alpha) comes from Stirling's series (4 terms: error < 1e-21)


@njit(cache=True)
def stirling_tail(x):
    """S(x) = log Gamma(x) - (x - 1/2) log x + x - log(2 pi) / 2 = 1/(12x) - 1/(360x^3) + 1/(1260x^5) - 1/(1680x^7)
    and its derivative -T(x) = -(1/(12x^2) - 1/(120x^4) + 1/(252x^6) - 1/(240x^8)), for x >= 100."""
    u = 1.0 / (x * x)
    s = (1.0 / 12.0 - u * (1.0 / 360.0 - u * (1.0 / 1260.0 - u / 1680.0))) / x
    t = u * (1.0 / 12.0 - u * (1.0 / 120.0 - u * (1.0 / 252.0 - u / 240.0)))
    return s, -t


@njit(cache=True)
def log_rising_excess(y, alpha):
    """R(y, alpha) = log Gamma(y + alpha) - log Gamma(alpha) - y log alpha and its derivative in alpha,
    R' = psi(y + alpha) - psi(alpha) - y / alpha, both without the cancellation of the log-Gamma terms.

    For alpha >= 100, with x = y + alpha and Stirling's log Gamma(x) = (x - 1/2) log x - x + log(2 pi)/2 + S(x):
        R  = (x - 1/2) log(1 + y / alpha) - y + S(x) - S(alpha)
        R' = log(1 + y / alpha) - y / alpha + y / (2 alpha x) + S'(x) - S'(alpha)
    """
    if alpha < STIRLING_FROM:
        return (math.lgamma(y + alpha) - math.lgamma(alpha) - y * math.log(alpha),
                digamma(y + alpha) - digamma(alpha) - y / alpha)
    x = y + alpha
    log_ratio = math.log1p(y / alpha)  # log(x / alpha)
    s_x, ds_x = stirling_tail(x)
    s_a, ds_a = stirling_tail(alpha)
    value = (x - 0.5) * log_ratio - y + (s_x - s_a)
    slope = (log_ratio - y / alpha) + y / (2.0 * alpha * x) + (ds_x - ds_a)
    return value, slope


@njit(cache=True)
def negativebinomial_logp_grad(y, mu, alpha):
    """log NegativeBinomial(y | mu, alpha) and its partial derivatives with respect to mu and alpha;
    -inf outside y in {0, 1, ...}, mu > 0, alpha > 0. The Poisson's beyond alpha = 1e10."""
    if not (is_count(y) and mu > 0.0 and alpha > 0.0):
        return -np.inf, 0.0, 0.0
    if alpha > POISSON_LIMIT:
        # log Poisson(y | mu) = y log mu - mu - log y!;  d/dmu = y / mu - 1,  d/dalpha = 0
        return y * math.log(mu) - mu - math.lgamma(y + 1.0), y / mu - 1.0, 0.0
    t = mu / alpha
    log_ratio = math.log1p(t)  # log((mu + alpha) / alpha)
    rising, d_rising = log_rising_excess(y, alpha)
    logp = rising - math.lgamma(y + 1.0) + y * math.log(mu) - (y + alpha) * log_ratio
    excess = (y - mu) / (mu + alpha)  # (y + alpha) / (mu + alpha) = 1 + excess
    d_mu = y / mu - 1.0 - excess  # d/dmu = y / mu - (y + alpha) / (mu + alpha)
    # d/dalpha = R' - log(1 + t) + (y + alpha) mu / (alpha (mu + alpha)) = R' + (t - log(1 + t)) + t excess
    # (= psi(y + alpha) - psi(alpha) - log(1 + mu / alpha) + (mu - y) / (mu + alpha))
    d_alpha = d_rising + (t - log_ratio) + t * excess
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
