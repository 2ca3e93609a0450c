"""Tests of Logistic: logp against scipy.stats.logistic, hand-written gradients against central differences,
validation, initial point and sampling (the checks of distributions/family_checks.py)."""
import numpy as np
import scipy.stats as stats
from distributions.family_checks import (
    Family,
    cases,
    check_invalid_parameters,
    check_logp_and_grad,
    check_moment,
    check_random,
)
from distributions.scalar_checks import check_minus_inf
from hypothesis import given

from nbvi.distributions.logistic import Logistic, logistic_logp_grad

FAMILY = Family(
    cls=Logistic,
    ranges={"mu": (-2.0, 2.0), "s": (0.3, 3.0)},
    values=(-8.0, 8.0),
    scipy=lambda mu, s: stats.logistic(loc=mu, scale=s),
    sample_params={"mu": np.array([0.0, -1.0]), "s": np.array([1.0, 2.0])},
    invalid=[({"mu": 0.0, "s": -1.0}, "s must be > 0")],
    bad_param=("s", 0.0),
    transform=None,
)


@given(cases(FAMILY))
def test_logp_matches_scipy_and_gradients_match_differences(case):
    check_logp_and_grad(FAMILY, case)


def test_out_of_support_gives_minus_inf_not_nan():
    check_minus_inf(FAMILY)


def test_invalid_constant_parameters_raise():
    check_invalid_parameters(FAMILY)


def test_moment_is_in_support_and_default_transform():
    check_moment(FAMILY)


def test_random_shape_and_moments():
    check_random(FAMILY)


def test_far_tails_are_finite_and_exact():
    # exp(-z) would overflow at z = -1000; the even form -|z| - 2 log1p(exp(-|z|)) does not
    for x in (-1000.0, 1000.0):
        logp, d_x, d_mu, d_s = logistic_logp_grad(x, 0.0, 1.0)
        np.testing.assert_allclose(logp, -1000.0, rtol=1e-15)
        np.testing.assert_allclose(d_x, -np.sign(x), rtol=1e-15)
        np.testing.assert_allclose(d_s, 999.0, rtol=1e-15)
