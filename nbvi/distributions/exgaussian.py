"""ExGaussian(mu, sigma, nu): a Normal(mu, sigma) plus an independent exponential with mean ``nu``.

log p(x | mu, sigma, nu) = -log nu - z r + r^2 / 2 + log Phi(z - r),   z = (x - mu) / sigma,  r = sigma / nu

Where Phi(z - r) is small (z < r), erfc(t) = erfcx(t) exp(-t^2) with t = (r - z) / sqrt(2) cancels the
exponent: log p = -log nu - z^2 / 2 + log(erfcx(t) / 2), finite however small nu is (as nu -> 0 it tends to
the Normal(mu, sigma) log-density).
"""
import math

import numpy as np
from numba import njit

from nbvi.distributions.distribution import Distribution, require
from nbvi.distributions.family import ScalarFamily
from nbvi.distributions.normal_tail import SQRT_2, erfcx_and_gap, log_ndtr_and_mills

COMPILED_SOURCES_DIGEST = "0868908fa0c45f77"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache


@njit(cache=True)
def exgaussian_logp_grad(x, mu, sigma, nu):
    """log ExGaussian(x | mu, sigma, nu) and its partial derivatives with respect to x, mu, sigma and nu."""
    if not (sigma > 0.0 and nu > 0.0):
        return -np.inf, 0.0, 0.0, 0.0, 0.0
    z = (x - mu) / sigma
    r = sigma / nu
    u = z - r
    if u < 0.0:  # Phi(u) = erfcx(t) exp(-t^2) / 2, t = -u / sqrt(2), and -z r + r^2 / 2 - t^2 = -z^2 / 2
        scaled, gap = erfcx_and_gap(-u / SQRT_2)
        logp = -math.log(nu) - 0.5 * z * z + math.log(0.5 * scaled)
        g = SQRT_2 * gap  # m(u) + u, with m(u) = phi(u) / Phi(u) = d log Phi(u) / du
    else:
        log_cdf, _, g = log_ndtr_and_mills(u)
        logp = -math.log(nu) + r * (0.5 * r - z) + log_cdf
    d_z = g - z  # d logp / dz = m(u) - r
    d_r = -g  # d logp / dr = r - z - m(u)
    d_x = d_z / sigma  # dz/dx = 1 / sigma
    d_mu = -d_z / sigma  # dz/dmu = -1 / sigma
    d_sigma = -d_z * z / sigma + d_r / nu  # dz/dsigma = -z / sigma, dr/dsigma = 1 / nu
    d_nu = -(1.0 + d_r * r) / nu  # d(-log nu)/dnu = -1 / nu, dr/dnu = -r / nu
    return logp, d_x, d_mu, d_sigma, d_nu


EXGAUSSIAN = ScalarFamily("exgaussian", exgaussian_logp_grad, params=("mu", "sigma", "nu"))


class ExGaussian(Distribution):
    """Exponentially modified Gaussian: Normal(mu, sigma) plus an exponential with mean ``nu``.

    Parameters
    ----------
    mu : float, array or node
    sigma : float, array or node, > 0
    nu : float, array or node, > 0
        The mean of the exponential component.
    """

    params = ("mu", "sigma", "nu")
    support = "real"
    family = EXGAUSSIAN

    def __init__(self, mu=0.0, sigma=None, nu=None):
        self.set_params(mu=mu, sigma=sigma, nu=nu)

    def check(self, mu, sigma, nu):
        require(sigma > 0, f"sigma must be > 0, got {sigma}")
        require(nu > 0, f"nu must be > 0, got {nu}")

    def moment(self, mu, sigma, nu):
        return mu + nu  # the mean

    def sample(self, rng, size, mu, sigma, nu):
        return rng.normal(mu, sigma, size=size) + rng.exponential(nu, size=size)
