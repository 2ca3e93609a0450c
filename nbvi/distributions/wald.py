"""Wald(mu, lam): the inverse Gaussian with mean ``mu`` and shape ``lam``, on x > 0.

log p(x | mu, lam) = log(lam) / 2 - log(2 pi) / 2 - 3 log(x) / 2 - lam (x - mu)^2 / (2 mu^2 x)   for x > 0
"""
import math

import numpy as np
from numba import njit

from nbvi.distributions.distribution import Distribution, require
from nbvi.distributions.family import ScalarFamily
from nbvi.graph.node import Node

HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@njit(cache=True)
def wald_logp_grad(x, mu, lam):
    """log Wald(x | mu, lam) and its partial derivatives with respect to x, mu and lam."""
    if not (mu > 0.0 and lam > 0.0 and x > 0.0):
        return -np.inf, 0.0, 0.0, 0.0
    d = x - mu
    q = d * d / (mu * mu * x)  # (x - mu)^2 / (mu^2 x)
    logp = 0.5 * math.log(lam) - HALF_LOG_2PI - 1.5 * math.log(x) - 0.5 * lam * q
    d_x = -1.5 / x - 0.5 * lam * (1.0 / (mu * mu) - 1.0 / (x * x))  # d/dx = -3/(2x) - lam (1/mu^2 - 1/x^2) / 2
    d_mu = lam * d / (mu * mu * mu)  # d/dmu = lam (x - mu) / mu^3
    d_lam = 0.5 / lam - 0.5 * q  # d/dlam = 1 / (2 lam) - (x - mu)^2 / (2 mu^2 x)
    return logp, d_x, d_mu, d_lam


WALD = ScalarFamily("wald", wald_logp_grad, params=("mu", "lam"))


class Wald(Distribution):
    """Wald (inverse Gaussian) distribution with mean ``mu`` and shape ``lam``.

    PyMC's parameterisations: ``mu`` alone (then lam = 1), ``mu`` and ``lam``, ``mu`` and ``phi``
    (lam = mu phi) or ``lam`` and ``phi`` (mu = lam / phi). PyMC's shift ``alpha`` is not supported.

    Parameters
    ----------
    mu : float, array or node, > 0
    lam : float, array or node, > 0
    phi : float, array or node, > 0
        The shape-to-mean ratio lam / mu.
    """

    params = ("mu", "lam")
    support = "positive"
    family = WALD

    def __init__(self, mu=None, lam=None, phi=None):
        if phi is not None:  # lam = mu phi or mu = lam / phi: numbers as arrays, for the arithmetic
            mu, lam, phi = [v if v is None or isinstance(v, Node) else np.asarray(v, dtype=np.float64)
                            for v in (mu, lam, phi)]
            if not isinstance(phi, Node):
                require(phi > 0, f"{self.describe()}: phi must be > 0, got {phi}")
        if mu is not None and lam is None and phi is None:
            lam = 1.0
        elif mu is not None and lam is None and phi is not None:
            lam = mu * phi
        elif mu is None and lam is not None and phi is not None:
            mu = lam / phi
        elif not (mu is not None and lam is not None and phi is None):
            raise ValueError(f"{self.describe()}: give mu alone, mu and lam, mu and phi, or lam and phi")
        self.set_params(mu=mu, lam=lam)

    def check(self, mu, lam):
        require(mu > 0, f"mu must be > 0, got {mu}")
        require(lam > 0, f"lam must be > 0, got {lam}")

    def in_support(self, value):
        return value > 0.0

    def moment(self, mu, lam):
        return mu  # the mean

    def sample(self, rng, size, mu, lam):
        return rng.wald(mu, lam, size=size)

    def default_transform(self):
        from nbvi import transforms

        return transforms.log
