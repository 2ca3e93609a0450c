"""The normal distribution's lower tail in log space, for the families whose density has a normal CDF
factor (SkewNormal, ExGaussian): the scaled complementary error function erfcx, log Phi and the inverse
Mills ratio phi / Phi, all finite and accurate far into the tail, where Phi itself underflows.
"""
import math

from numba import njit

INV_SQRT_PI = 1.0 / math.sqrt(math.pi)
SQRT_2 = math.sqrt(2.0)
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@njit(cache=True)
def erfcx_and_gap(x):
    """For x >= 0, the scaled complementary error function erfcx(x) = exp(x^2) erfc(x) (about 1e-15
    relative error) and the gap c = 1 / (sqrt(pi) erfcx(x)) - x (about 1 / (2x) for large x).

    Below 3, erfcx is exp(x^2) erfc(x) as it stands. From 3 on, it is the continued fraction
    erfcx(x) = 1 / (sqrt(pi) (x + c)), c = (1/2) / (x + 1 / (x + (3/2) / (x + 2 / (x + ...)))), 40 terms deep,
    evaluated from the bottom up: erfc underflows near x = 27, while erfcx(x) ~ 1 / (x sqrt(pi)) stays
    representable, and c comes without the cancellation of 1 / (sqrt(pi) erfcx(x)) - x.
    """
    if x < 3.0:
        scaled = math.exp(x * x) * math.erfc(x)
        return scaled, INV_SQRT_PI / scaled - x
    t = x
    for k in range(40, 1, -1):
        t = x + 0.5 * k / t
    gap = 0.5 / t
    return INV_SQRT_PI / (x + gap), gap


@njit(cache=True)
def erfcx(x):
    """The scaled complementary error function exp(x^2) erfc(x), for x >= 0 (see :func:`erfcx_and_gap`)."""
    return erfcx_and_gap(x)[0]


@njit(cache=True)
def log_ndtr_and_mills(u):
    """log Phi(u), the inverse Mills ratio m(u) = phi(u) / Phi(u) = d log Phi(u) / du, and m(u) + u, for the
    standard normal density phi and CDF Phi.

    For u < 0, with t = -u / sqrt(2): Phi(u) = erfc(t) / 2 = erfcx(t) exp(-t^2) / 2, so
    log Phi(u) = log(erfcx(t) / 2) - t^2, m(u) = sqrt(2 / pi) / erfcx(t) and m(u) + u = sqrt(2) c(t) with the
    gap c of :func:`erfcx_and_gap` (m(u) ~ -u as u -> -inf: m(u) + u would cancel). For u >= 0,
    Phi(u) = 1 - erfc(u / sqrt(2)) / 2 >= 1/2 and log Phi(u) = log1p(-erfc(u / sqrt(2)) / 2).
    """
    if u < 0.0:
        t = -u / SQRT_2
        scaled, gap = erfcx_and_gap(t)
        return math.log(0.5 * scaled) - t * t, SQRT_2_OVER_PI / scaled, SQRT_2 * gap
    upper = 0.5 * math.erfc(u / SQRT_2)  # 1 - Phi(u)
    mills = math.exp(-0.5 * u * u - HALF_LOG_2PI) / (1.0 - upper)
    return math.log1p(-upper), mills, mills + u
