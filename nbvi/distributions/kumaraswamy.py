"""Kumaraswamy(a, b): a Beta-like distribution on 0 < x < 1 with a closed-form CDF, 1 - (1 - x^a)^b.

log p(x | a, b) = log a + log b + (a - 1) log x + (b - 1) log(1 - x^a)   for 0 < x < 1
"""
import math

import numpy as np
from numba import njit

from nbvi.distributions.distribution import Distribution, require
from nbvi.distributions.family import ScalarFamily


@njit(cache=True)
def kumaraswamy_logp_grad(x, a, b):
    """log Kumaraswamy(x | a, b) and its partial derivatives with respect to x, a and b."""
    if not (a > 0.0 and b > 0.0 and 0.0 < x < 1.0):
        return -np.inf, 0.0, 0.0, 0.0
    log_x = math.log(x)
    y = math.exp(a * log_x)  # x^a
    one_minus_y = -math.expm1(a * log_x)  # 1 - x^a, accurate also where x^a is near 1
    log_1my = math.log(one_minus_y)
    logp = math.log(a) + math.log(b) + (a - 1.0) * log_x + (b - 1.0) * log_1my
    q = (b - 1.0) * y / one_minus_y  # (b - 1) x^a / (1 - x^a)
    d_x = (a - 1.0 - a * q) / x  # d/dx = (a - 1) / x - (b - 1) a x^(a-1) / (1 - x^a)
    d_a = 1.0 / a + log_x * (1.0 - q)  # d/da = 1 / a + log x - (b - 1) x^a log x / (1 - x^a)
    d_b = 1.0 / b + log_1my  # d/db = 1 / b + log(1 - x^a)
    return logp, d_x, d_a, d_b


KUMARASWAMY = ScalarFamily("kumaraswamy", kumaraswamy_logp_grad, params=("a", "b"))


class Kumaraswamy(Distribution):
    """Kumaraswamy distribution on (0, 1) with shapes ``a`` and ``b``.

    Parameters
    ----------
    a, b : float, array or node, > 0
    """

    params = ("a", "b")
    support = "(0, 1)"
    family = KUMARASWAMY

    def __init__(self, a=None, b=None):
        self.set_params(a=a, b=b)

    def check(self, a, b):
        require(a > 0, f"a must be > 0, got {a}")
        require(b > 0, f"b must be > 0, got {b}")

    def in_support(self, value):
        return (value > 0.0) & (value < 1.0)

    def moment(self, a, b):
        return (-np.expm1(-np.log(2.0) / b)) ** (1.0 / a)  # the median, (1 - 2^(-1/b))^(1/a)

    def sample(self, rng, size, a, b):
        # the inverse CDF at 1 - v, v uniform on (0, 1]: (1 - v^(1/b))^(1/a)
        v = 1.0 - rng.random(size)
        return (-np.expm1(np.log(v) / b)) ** (1.0 / a)

    def default_transform(self):
        from nbvi import transforms

        return transforms.logodds
