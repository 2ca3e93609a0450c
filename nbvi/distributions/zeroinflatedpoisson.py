"""ZeroInflatedPoisson(psi, mu): counts with extra zeros, observed only.

    p(0) = (1 - psi) + psi exp(-mu),   p(y) = psi Poisson(y | mu) for y > 0

psi is the probability of the Poisson component (PyMC v5); see :mod:`nbvi.distributions.zeroinflated`.
"""
import numpy as np
from numba import njit

from nbvi.distributions.distribution import Distribution, require
from nbvi.distributions.family import ScalarFamily
from nbvi.distributions.negativebinomial import count_support
from nbvi.distributions.poisson import is_count, poisson_logp_grad
from nbvi.distributions.zeroinflated import zero_inflated

COMPILED_SOURCES_DIGEST = "0868908fa0c45f77"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache


@njit(cache=True)
def zeroinflatedpoisson_logp_grad(y, psi, mu):
    """log ZeroInflatedPoisson(y | psi, mu) and its partial derivatives with respect to psi and mu;
    -inf outside y in {0, 1, ...}, psi in [0, 1], mu >= 0."""
    if not (is_count(y) and psi >= 0.0 and psi <= 1.0 and mu >= 0.0):
        return -np.inf, 0.0, 0.0
    log_c, d_mu = poisson_logp_grad(y, mu)
    logp, d_psi, weight = zero_inflated(y, psi, log_c)
    return logp, d_psi, weight * d_mu  # d/dmu = w d/dmu log Poisson(y | mu)


ZEROINFLATEDPOISSON = ScalarFamily("zeroinflatedpoisson", zeroinflatedpoisson_logp_grad, params=("psi", "mu"),
                                   discrete=True)


class ZeroInflatedPoisson(Distribution):
    """Zero-inflated Poisson distribution: 0 with probability ``1 - psi``, else Poisson with mean ``mu``.

    Parameters
    ----------
    psi : float, array or node in [0, 1]
        The probability of the Poisson component.
    mu : float, array or node, >= 0
    """

    params = ("psi", "mu")
    support = "{0, 1, 2, ...}"
    discrete = True
    observed_only = True
    family = ZEROINFLATEDPOISSON

    def __init__(self, psi, mu):
        self.set_params(psi=psi, mu=mu)

    def check(self, psi, mu):
        require((psi >= 0) & (psi <= 1), f"psi must be in [0, 1], got {psi}")
        require(mu >= 0, f"mu must be >= 0, got {mu}")

    def in_support(self, value):
        return count_support(value)

    def support_rule(self):
        return "observed values must be non-negative integers (counts)"

    def moment(self, psi, mu):
        return np.floor(psi * mu).astype(np.int64)  # the floor of the mean

    def sample(self, rng, size, psi, mu):
        return rng.poisson(mu, size=size) * (rng.random(size=size) < psi)
