"""Flat() and HalfFlat(): improper uniform "densities" on the real line and on x > 0.

log p(x) = 0                       (Flat, every real x)
log p(x) = 0 for x > 0, else -inf  (HalfFlat)

They have no parameters, so their kernels take only the value, and no proper distribution to draw from.
"""
import numpy as np
from numba import njit

from nbvi.distributions.distribution import Distribution


@njit(cache=True)
def flat_kernel(x):
    """Elementwise kernel: x (D, n); logp (D,) is 0 and so is its gradient."""
    return np.zeros(x.shape[0]), np.zeros(x.shape)


@njit(cache=True)
def halfflat_kernel(x):
    """Elementwise kernel: x (D, n); logp (D,) is 0 when every x > 0, else -inf; the gradient is 0."""
    logp = np.zeros(x.shape[0])
    for d in range(x.shape[0]):
        for j in range(x.shape[1]):
            if not x[d, j] > 0.0:
                logp[d] = -np.inf
    return logp, np.zeros(x.shape)


class _Improper(Distribution):
    def sample(self, rng, size):
        raise ValueError(
            f"{self.describe()} is improper (it has no normalised density), so it cannot be sampled; "
            f"use a proper prior such as Normal or HalfNormal to draw values"
        )


class Flat(_Improper):
    """The improper uniform density on the real line: log p(x) = 0. Initial point 0."""

    support = "real"
    logp_is_zero = True
    kernel = staticmethod(flat_kernel)

    def __init__(self):
        self.set_params()

    def moment(self):
        return 0.0


class HalfFlat(_Improper):
    """The improper uniform density on x > 0: log p(x) = 0 there, -inf elsewhere. Initial point 1."""

    support = "positive"
    kernel = staticmethod(halfflat_kernel)

    def __init__(self):
        self.set_params()

    def in_support(self, value):
        return value > 0.0

    def moment(self):
        return 1.0

    def default_transform(self):
        from nbvi import transforms

        return transforms.log
