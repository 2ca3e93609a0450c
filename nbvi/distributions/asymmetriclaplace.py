"""AsymmetricLaplace(b, kappa, mu): a Laplace with different rates on either side of ``mu``, in PyMC's
parameterisation (``b`` a rate, ``kappa`` the asymmetry; kappa = 1 is the Laplace(mu, 1 / b)).

log p(x | b, kappa, mu) = log b - log(kappa + 1 / kappa) - b kappa (x - mu)   for x >= mu
                        = log b - log(kappa + 1 / kappa) + b (x - mu) / kappa   for x < mu
"""
import math

import numpy as np
from numba import njit

from nbvi.distributions.distribution import Distribution, require
from nbvi.distributions.family import ScalarFamily


@njit(cache=True)
def asymmetriclaplace_logp_grad(x, b, kappa, mu):
    """log AsymmetricLaplace(x | b, kappa, mu) and its partial derivatives with respect to x, b, kappa and
    mu; at the kink x = mu, d/dx = d/dmu = 0 (a subgradient: between -b kappa and b / kappa)."""
    if not (b > 0.0 and kappa > 0.0):
        return -np.inf, 0.0, 0.0, 0.0, 0.0
    r = x - mu
    inv_kappa = 1.0 / kappa
    # log(kappa + 1/kappa) = log(1 + kappa^2) - log kappa; its derivative is (kappa^2 - 1) / (kappa (kappa^2 + 1))
    log_norm = math.log1p(kappa * kappa) - math.log(kappa)
    d_norm = (kappa - inv_kappa) / (kappa * kappa + 1.0)
    if r > 0.0:  # right of mu: rate b kappa
        logp = math.log(b) - log_norm - b * kappa * r
        d_x = -b * kappa  # d/dx = -b kappa
        d_b = 1.0 / b - kappa * r  # d/db = 1 / b - kappa (x - mu)
        d_kappa = -d_norm - b * r  # d/dkappa = -(kappa^2 - 1) / (kappa (kappa^2 + 1)) - b (x - mu)
    elif r < 0.0:  # left of mu: rate b / kappa
        logp = math.log(b) - log_norm + b * r * inv_kappa
        d_x = b * inv_kappa  # d/dx = b / kappa
        d_b = 1.0 / b + r * inv_kappa  # d/db = 1 / b + (x - mu) / kappa
        d_kappa = -d_norm - b * r * inv_kappa * inv_kappa  # d/dkappa = -(...) - b (x - mu) / kappa^2
    elif r == 0.0:
        logp = math.log(b) - log_norm
        d_x = 0.0
        d_b = 1.0 / b
        d_kappa = -d_norm
    else:  # x or mu is NaN
        return -np.inf, 0.0, 0.0, 0.0, 0.0
    return logp, d_x, d_b, d_kappa, -d_x  # d/dmu = -d/dx


ASYMMETRICLAPLACE = ScalarFamily("asymmetriclaplace", asymmetriclaplace_logp_grad, params=("b", "kappa", "mu"))


class AsymmetricLaplace(Distribution):
    """Asymmetric Laplace distribution with rate ``b``, asymmetry ``kappa`` and location ``mu`` (PyMC's
    argument order).

    Parameters
    ----------
    b : float, array or node, > 0
    kappa : float, array or node, > 0
    mu : float, array or node
    """

    params = ("b", "kappa", "mu")
    support = "real"
    family = ASYMMETRICLAPLACE

    def __init__(self, b=None, kappa=None, mu=0.0):
        self.set_params(b=b, kappa=kappa, mu=mu)

    def check(self, b, kappa, mu):
        require(b > 0, f"b must be > 0, got {b}")
        require(kappa > 0, f"kappa must be > 0, got {kappa}")

    def moment(self, b, kappa, mu):
        return mu - (kappa - 1.0 / kappa) / b  # the mean

    def sample(self, rng, size, b, kappa, mu):
        # the difference of exponentials with rates b kappa (right of mu) and b / kappa (left of mu)
        return mu + (rng.standard_exponential(size) / kappa - rng.standard_exponential(size) * kappa) / b
