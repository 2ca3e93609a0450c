"""Tests of Gumbel: logp against scipy.stats.gumbel_r, hand-written gradients against central differences,
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

from nbvi.distributions.gumbel import Gumbel, gumbel_logp_grad

FAMILY = Family(
    cls=Gumbel,
    # (z = (x - mu) / beta >= -8: below, exp(-z) makes log p so large that central differences of it lose the
    # digits the gradient check needs; the far tail has its own test below)
    ranges={"mu": (-2.0, 2.0), "beta": (0.5, 3.0)},
    values=(-2.0, 8.0),
    scipy=lambda mu, beta: stats.gumbel_r(loc=mu, scale=beta),
    sample_params={"mu": np.array([0.0, -1.0]), "beta": np.array([1.0, 2.0])},
    invalid=[({"mu": 0.0, "beta": -1.0}, "beta must be > 0")],
    bad_param=("beta", 0.0),
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


def test_where_exp_overflows_the_density_is_zero():
    # z = -800: exp(-z) overflows; the log-density (about -exp(800)) is -inf, with zero partials, not NaN
    assert gumbel_logp_grad(-800.0, 0.0, 1.0) == (-np.inf, 0.0, 0.0, 0.0)
    logp, *grads = gumbel_logp_grad(-700.0, 0.0, 1.0)
    np.testing.assert_allclose(logp, stats.gumbel_r.logpdf(-700.0), rtol=1e-14)
    assert np.all(np.isfinite(grads))
