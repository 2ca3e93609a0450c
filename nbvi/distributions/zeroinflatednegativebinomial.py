"""ZeroInflatedNegativeBinomial(psi, mu, alpha): overdispersed counts with extra zeros, observed only.

    p(0) = (1 - psi) + psi (alpha / (mu + alpha))^alpha,   p(y) = psi NegativeBinomial(y | mu, alpha) for y > 0

psi is the probability of the negative binomial component (PyMC v5); see
:mod:`nbvi.distributions.zeroinflated`. As for NegativeBinomial, (n, p) may replace (mu, alpha).
"""
import numpy as np
from numba import njit

from nbvi.distributions.distribution import Distribution, require
from nbvi.distributions.family import ScalarFamily
from nbvi.distributions.negativebinomial import count_support, mu_alpha, negativebinomial_logp_grad
from nbvi.distributions.poisson import is_count
from nbvi.distributions.zeroinflated import zero_inflated

COMPILED_SOURCES_DIGEST = "0868908fa0c45f77"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache


@njit(cache=True)
def zeroinflatednegativebinomial_logp_grad(y, psi, mu, alpha):
    """log ZeroInflatedNegativeBinomial(y | psi, mu, alpha) and its partial derivatives with respect to psi,
    mu and alpha; -inf outside y in {0, 1, ...}, psi in [0, 1], mu > 0, alpha > 0."""
    if not (is_count(y) and psi >= 0.0 and psi <= 1.0 and mu > 0.0 and alpha > 0.0):
        return -np.inf, 0.0, 0.0, 0.0
    log_c, d_mu, d_alpha = negativebinomial_logp_grad(y, mu, alpha)
    logp, d_psi, weight = zero_inflated(y, psi, log_c)
    return logp, d_psi, weight * d_mu, weight * d_alpha  # the component's partials times w


ZEROINFLATEDNEGATIVEBINOMIAL = ScalarFamily("zeroinflatednegativebinomial", zeroinflatednegativebinomial_logp_grad,
                                            params=("psi", "mu", "alpha"), discrete=True)


class ZeroInflatedNegativeBinomial(Distribution):
    """Zero-inflated negative binomial distribution: 0 with probability ``1 - psi``, else negative binomial
    with mean ``mu`` and shape ``alpha`` (or ``n`` successes and success probability ``p``).

    Parameters
    ----------
    psi : float, array or node in [0, 1]
        The probability of the negative binomial component.
    mu, alpha : float, array or node, > 0
    p, n : float, array or node
        The alternative parametrisation, p in (0, 1) and n > 0: alpha = n, mu = n (1 - p) / p.
    """

    params = ("psi", "mu", "alpha")
    support = "{0, 1, 2, ...}"
    discrete = True
    observed_only = True
    family = ZEROINFLATEDNEGATIVEBINOMIAL

    def __init__(self, psi, mu=None, alpha=None, p=None, n=None):
        mu, alpha = mu_alpha(self.describe(), mu, alpha, p, n)
        self.set_params(psi=psi, mu=mu, alpha=alpha)

    def check(self, psi, mu, alpha):
        require((psi >= 0) & (psi <= 1), f"psi must be in [0, 1], got {psi}")
        require(mu > 0, f"mu must be > 0, got {mu}")
        require(alpha > 0, f"alpha must be > 0, got {alpha}")

    def in_support(self, value):
        return count_support(value)

    def support_rule(self):
        return "observed values must be non-negative integers (counts)"

    def moment(self, psi, mu, alpha):
        return np.floor(psi * mu).astype(np.int64)  # the floor of the mean

    def sample(self, rng, size, psi, mu, alpha):
        counts = rng.negative_binomial(alpha, alpha / (mu + alpha), size=size)
        return counts * (rng.random(size=size) < psi)
