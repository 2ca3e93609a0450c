"""HalfStudentT(nu, sigma): the absolute value of a StudentT(nu, 0, sigma), on x >= 0.

log p(x | nu, sigma) = log 2 + log Gamma((nu + 1) / 2) - log Gamma(nu / 2) - log(nu pi) / 2 - log sigma
                       - (nu + 1) / 2 log(1 + z^2 / nu),   z = x / sigma,   for x >= 0
"""
import math

import numpy as np
from numba import njit

from nbvi.distributions.distribution import Distribution, require, resolve_sigma
from nbvi.distributions.family import ScalarFamily
from nbvi.distributions.studentt import studentt_norm
from nbvi.graph.node import Node

COMPILED_SOURCES_DIGEST = "0868908fa0c45f77"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache

LOG_2 = math.log(2.0)


@njit(cache=True)
def halfstudentt_logp_grad(x, nu, sigma):
    """log HalfStudentT(x | nu, sigma) and its partial derivatives with respect to x, nu and sigma."""
    if not (nu > 0.0 and sigma > 0.0 and x >= 0.0):
        return -np.inf, 0.0, 0.0, 0.0
    z = x / sigma
    t = z * z / nu
    w = (nu + 1.0) / (nu + z * z)
    norm, d_norm = studentt_norm(nu, sigma)
    logp = LOG_2 + norm - 0.5 * (nu + 1.0) * math.log1p(t)
    d_x = -w * z / sigma  # d/dx = -(nu + 1) z / (sigma (nu + z^2))
    d_nu = d_norm + 0.5 * (w * t - math.log1p(t))  # d/dnu = d norm/dnu - log(1 + t)/2 + (nu+1) t / (2 (nu + z^2))
    d_sigma = (w * z * z - 1.0) / sigma  # d/dsigma = ((nu + 1) z^2 / (nu + z^2) - 1) / sigma
    return logp, d_x, d_nu, d_sigma


HALFSTUDENTT = ScalarFamily("halfstudentt", halfstudentt_logp_grad, params=("nu", "sigma"))


class HalfStudentT(Distribution):
    """Half Student's t distribution on x >= 0 with ``nu`` degrees of freedom and scale ``sigma``.

    Parameters
    ----------
    nu : float, array or node, > 0
        Default 1 (a HalfCauchy), as in PyMC.
    sigma : float, array or node, > 0
        Also ``sd`` (old name), or ``lam``, the precision 1 / sigma^2; default 1.
    """

    params = ("nu", "sigma")
    support = "positive"
    family = HALFSTUDENTT

    def __init__(self, nu=1.0, sigma=None, lam=None, sd=None):
        if lam is not None:
            if sigma is not None or sd is not None:
                raise ValueError(f"{self.describe()}: give only one of sigma, sd and lam")
            if not isinstance(lam, Node):
                lam = np.asarray(lam, dtype=np.float64)
                require(lam > 0, f"{self.describe()}: lam must be > 0, got {lam}")
            sigma = lam**-0.5
        self.set_params(nu=nu, sigma=resolve_sigma(sigma, sd, default=1.0, family=self.describe()))

    def check(self, nu, sigma):
        require(nu > 0, f"nu must be > 0, got {nu}")
        require(sigma > 0, f"sigma must be > 0, got {sigma}")

    def in_support(self, value):
        return value >= 0.0

    def moment(self, nu, sigma):
        return sigma

    def sample(self, rng, size, nu, sigma):
        return np.abs(sigma * rng.standard_t(nu, size=size))

    def default_transform(self):
        from nbvi import transforms

        return transforms.log
