"""Flat() and HalfFlat(): improper uniform "densities" on the real line and on x > 0.

log p(x) = 0                       (Flat, every real x)
log p(x) = 0 for x > 0, else -inf  (HalfFlat)

They have no parameters, so their scalar functions take only the value, and no proper distribution to draw from.
"""
import numpy as np
from numba import njit

from nbvi.distributions.distribution import Distribution
from nbvi.distributions.family import ScalarFamily


@njit(cache=True)
def flat_logp_grad(x):
    """log Flat(x) = 0 and its derivative 0."""
    return 0.0, 0.0


FLAT = ScalarFamily("flat", flat_logp_grad, params=())


@njit(cache=True)
def halfflat_logp_grad(x):
    """log HalfFlat(x): 0 for x > 0, else -inf; the derivative is 0."""
    return (0.0 if x > 0.0 else -np.inf), 0.0


HALFFLAT = ScalarFamily("halfflat", halfflat_logp_grad, params=())


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
    family = FLAT

    def __init__(self):
        self.set_params()

    def moment(self):
        return 0.0


class HalfFlat(_Improper):
    """The improper uniform density on x > 0: log p(x) = 0 there, -inf elsewhere. Initial point 1."""

    support = "positive"
    family = HALFFLAT

    def __init__(self):
        self.set_params()

    def in_support(self, value):
        return value > 0.0

    def moment(self):
        return 1.0

    def default_transform(self):
        from nbvi import transforms

        return transforms.log
