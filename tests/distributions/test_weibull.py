"""Tests of Weibull: logp against scipy.stats.weibull_min, hand-written gradients against central
differences, support, validation, initial point and sampling (the checks of distributions/family_checks.py)."""
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

from nbvi.distributions.weibull import Weibull, weibull_logp_grad

FAMILY = Family(
    cls=Weibull,
    ranges={"alpha": (0.5, 4.0), "beta": (0.5, 3.0)},
    values=(0.2, 4.0),
    scipy=lambda alpha, beta: stats.weibull_min(alpha, scale=beta),
    sample_params={"alpha": np.array([1.5, 3.0]), "beta": np.array([1.0, 2.0])},
    outside=(0.0, -1.0),
    invalid=[({"alpha": -1.0, "beta": 1.0}, "alpha must be > 0"), ({"alpha": 1.0, "beta": 0.0}, "beta must be > 0")],
    bad_param=("beta", 0.0),
    transform="log",
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


def test_far_tail_is_finite():
    # (x / beta)^alpha = 1e40: the log-density is -1e40, with finite partials
    logp, *grads = weibull_logp_grad(1e10, 4.0, 1.0)
    np.testing.assert_allclose(logp, stats.weibull_min(4.0).logpdf(1e10), rtol=1e-12)
    assert np.all(np.isfinite(grads))
