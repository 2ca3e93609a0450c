"""Special functions for numba kernels (scipy.special cannot be called inside ``njit`` code).

``math.lgamma`` covers the log-gamma function; this module adds the digamma function
psi(x) = d/dx log Gamma(x), which the gradients of Gamma, InverseGamma, Beta and StudentT need, and
the log of the Beta function.
"""
import math

from numba import njit

# Bernoulli-number coefficients of the asymptotic series
# psi(x) ~ log x - 1/(2x) - sum_k B_2k / (2k x^2k), k = 1..7 (terms up to x^-14)
_SERIES = (1.0 / 12.0, -1.0 / 120.0, 1.0 / 252.0, -1.0 / 240.0, 1.0 / 132.0, -691.0 / 32760.0, 1.0 / 12.0)


@njit(cache=True)
def digamma(x):
    """psi(x), accurate to about 1e-13 (relative, or absolute near its root x = 1.4616...).

    Negative x use the reflection psi(x) = psi(1 - x) - pi / tan(pi x); the poles x = 0, -1, -2, ...
    give NaN. For x > 0: the recurrence psi(x) = psi(x + 1) - 1/x moves x to >= 6, where the asymptotic
    series truncated after the x^-14 term has error below 2e-13 (the next term is 3617 / (8160 x^16)).
    """
    if x <= 0.0:
        if x == math.floor(x):
            return math.nan
        return digamma(1.0 - x) - math.pi / math.tan(math.pi * x)
    result = 0.0
    while x < 6.0:
        result -= 1.0 / x
        x += 1.0
    inv2 = 1.0 / (x * x)
    series = 0.0
    for k in range(len(_SERIES) - 1, -1, -1):  # Horner's rule in 1 / x^2
        series = (series + _SERIES[k]) * inv2
    return result + math.log(x) - 0.5 / x - series


@njit(cache=True)
def lbeta(a, b):
    """log B(a, b) = log Gamma(a) + log Gamma(b) - log Gamma(a + b), for a, b > 0."""
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
