"""Checks for the scalar families that have no rows kernel (Weibull, Logistic, ExGaussian, ...), beside those
of distributions/family_checks.py, whose out-of-support check also runs the rows kernel:

* :func:`check_minus_inf`: values outside the support and invalid (or NaN) parameters give -inf and finite
  gradients, never NaN, through the elementwise kernel;
* :class:`Reference`: a stand-in for a scipy.stats frozen distribution, for families scipy lacks
  (HalfStudentT, Kumaraswamy): their log-density and CDF, and the mean, variance and excess kurtosis from
  the raw moments.
"""
import numpy as np
from distributions.family_checks import assert_minus_inf, program_for


def check_minus_inf(family):
    mid = [np.array([0.5 * (lo + hi)]) for lo, hi in family.ranges.values()]
    inside = 0.5 * (family.values[0] + family.values[1])
    program = program_for(family, (3,), [()] * len(mid))
    assert np.all(np.isfinite(program.value_and_grad([np.full((1, 3), inside)] + mid)[0]))
    for bad in family.outside:
        assert_minus_inf(*program.value_and_grad([np.array([[inside, bad, inside]])] + mid))
    k = list(family.ranges).index(family.bad_param[0])
    for bad in (family.bad_param[1], np.nan):
        params = mid[:k] + [np.array([bad])] + mid[k + 1:]
        assert_minus_inf(*program.value_and_grad([np.full((1, 3), inside)] + params))


class Reference:
    """A frozen distribution from ``logpdf(x)``, ``cdf(x)`` and ``raw_moment(k)`` = E[X^k] (k = 1..4, inf
    where it diverges), with scipy's ``stats(moments="mvk")``."""

    def __init__(self, logpdf, cdf, raw_moment):
        self.logpdf, self.cdf, self.raw_moment = logpdf, cdf, raw_moment

    def stats(self, moments="mvk"):
        m1, m2, m3, m4 = (self.raw_moment(k) for k in (1, 2, 3, 4))
        var = m2 - m1**2
        central4 = m4 - 4 * m1 * m3 + 6 * m1**2 * m2 - 3 * m1**4
        with np.errstate(invalid="ignore"):
            return m1, var, central4 / var**2 - 3.0
