"""SkewNormal(alpha, mu, sigma): the skew-normal distribution with shape ``alpha``, location ``mu`` and
scale ``sigma``.

log p(x | alpha, mu, sigma) = log(2 / pi) / 2 - log sigma - z^2 / 2 + log Phi(alpha z),   z = (x - mu) / sigma
"""
import math

import numpy as np
from numba import njit

from nbvi.distributions.distribution import Distribution, require, resolve_sigma
from nbvi.distributions.family import ScalarFamily
from nbvi.distributions.normal_tail import log_ndtr_and_mills

COMPILED_SOURCES_DIGEST = "0868908fa0c45f77"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache

HALF_LOG_2_OVER_PI = 0.5 * math.log(2.0 / math.pi)


@njit(cache=True)
def skewnormal_logp_grad(x, alpha, mu, sigma):
    """log SkewNormal(x | alpha, mu, sigma) and its partial derivatives with respect to x, alpha, mu and
    sigma."""
    if not (sigma > 0.0 and alpha > -np.inf and alpha < np.inf):
        return -np.inf, 0.0, 0.0, 0.0, 0.0
    z = (x - mu) / sigma
    log_cdf, mills, _ = log_ndtr_and_mills(alpha * z)  # log Phi(alpha z), phi(alpha z) / Phi(alpha z)
    logp = HALF_LOG_2_OVER_PI - math.log(sigma) - 0.5 * z * z + log_cdf
    d_z = alpha * mills - z  # d logp / dz
    d_x = d_z / sigma  # d/dx = (alpha m - z) / sigma,  m = phi(alpha z) / Phi(alpha z)
    d_alpha = z * mills  # d/dalpha = z m
    d_mu = -d_z / sigma  # d/dmu = (z - alpha m) / sigma
    d_sigma = -(1.0 + d_z * z) / sigma  # d/dsigma = (z^2 - alpha m z - 1) / sigma
    return logp, d_x, d_alpha, d_mu, d_sigma


SKEWNORMAL = ScalarFamily("skewnormal", skewnormal_logp_grad, params=("alpha", "mu", "sigma"))


class SkewNormal(Distribution):
    """Skew-normal distribution with shape ``alpha``, location ``mu`` and scale ``sigma``, in PyMC's
    argument order: ``SkewNormal(alpha=1, mu=0, sigma=1)``; alpha = 0 is the Normal(mu, sigma).

    Parameters
    ----------
    alpha : float, array or node
    mu : float, array or node
    sigma : float, array or node, > 0
        Also ``sd`` (old name), or ``tau``, the precision 1 / sigma^2; default 1.
    """

    params = ("alpha", "mu", "sigma")
    support = "real"
    family = SKEWNORMAL

    def __init__(self, alpha=1.0, mu=0.0, sigma=None, tau=None, sd=None):
        self.set_params(alpha=alpha, mu=mu, sigma=resolve_sigma(sigma, sd, tau, default=1.0, family=self.describe()))

    def check(self, alpha, mu, sigma):
        require(sigma > 0, f"sigma must be > 0, got {sigma}")

    def moment(self, alpha, mu, sigma):
        return mu + sigma * np.sqrt(2.0 / np.pi) * alpha / np.sqrt(1.0 + alpha**2)  # the mean

    def sample(self, rng, size, alpha, mu, sigma):
        # |u0| delta + sqrt(1 - delta^2) u1, delta = alpha / sqrt(1 + alpha^2), u0 and u1 standard normal
        delta = alpha / np.sqrt(1.0 + np.asarray(alpha, dtype=np.float64) ** 2)
        u0, u1 = rng.standard_normal(size), rng.standard_normal(size)
        return mu + sigma * (delta * np.abs(u0) + np.sqrt(1.0 - delta**2) * u1)
