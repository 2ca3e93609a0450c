"""Tests of InverseGamma: logp against scipy.stats, hand-written gradients against central differences, the rows
kernel against the elementwise kernel, support, validation, initial point and sampling.

Each check is described in distributions/family_checks.py.
"""
import numpy as np
import pytest
import scipy.stats as stats
from distributions.family_checks import (
    Family,
    cases,
    check_invalid_parameters,
    check_logp_and_grad,
    check_moment,
    check_out_of_support,
    check_random,
    check_rows_index,
    check_rows_kernel,
)
from hypothesis import given

from nbvi.distributions.inversegamma import InverseGamma

FAMILY = Family(
    cls=InverseGamma,
    ranges={"alpha": (0.5, 5.0), "beta": (0.2, 3.0)},
    values=(0.1, 5.0),
    scipy=lambda alpha, beta: stats.invgamma(alpha, scale=beta),
    sample_params={"alpha": np.array([5.0, 7.0]), "beta": np.array([1.0, 3.0])},
    outside=(0.0, -1.0),
    invalid=[({"alpha": -1.0, "beta": 1.0}, "alpha must be > 0"), ({"alpha": 1.0, "beta": 0.0}, "beta must be > 0")],
    bad_param=("beta", -1.0),
    transform="log",
)


@given(cases(FAMILY))
def test_logp_matches_scipy_and_gradients_match_differences(case):
    check_logp_and_grad(FAMILY, case)


@pytest.mark.parametrize("layout", ["columns", "mixed"])
@pytest.mark.parametrize("draws", [1, 2])
def test_rows_kernel_matches_elementwise_kernel(draws, layout):
    check_rows_kernel(FAMILY, draws, layout)


def test_rows_kernel_reads_an_index_of_rows_in_place():
    check_rows_index(FAMILY)


def test_out_of_support_gives_minus_inf_not_nan():
    check_out_of_support(FAMILY)


def test_invalid_constant_parameters_raise():
    check_invalid_parameters(FAMILY)


def test_moment_is_in_support_and_default_transform():
    check_moment(FAMILY)


def test_random_shape_and_moments():
    check_random(FAMILY)


def test_moment_is_the_mode_without_a_mean():
    # mean beta / (alpha - 1) for alpha > 1, else the mode beta / (alpha + 1)
    np.testing.assert_allclose(InverseGamma.dist(np.array([0.5, 3.0]), 2.0).initial_value(), [2.0 / 1.5, 1.0])


def test_mu_sigma_parametrisation_has_that_mean_and_sd():
    import nbvi

    a, b = 2.0 + 2.0**2 / 0.5**2, 2.0 * (2.0 + 2.0**2 / 0.5**2 - 1.0)
    with nbvi.Model() as model:
        mu = nbvi.HalfNormal("mu", 3.0)
        nbvi.InverseGamma("y", mu=mu, sigma=0.5, observed=[1.5, 2.5])
    expected = stats.invgamma(a, scale=b).logpdf([1.5, 2.5]).sum() + stats.halfnorm(scale=3.0).logpdf(2.0)
    np.testing.assert_allclose(model.logp({"mu": 2.0}), expected, rtol=1e-12)
    np.testing.assert_allclose(stats.invgamma(a, scale=b).mean(), 2.0)
    np.testing.assert_allclose(stats.invgamma(a, scale=b).std(), 0.5)
    with pytest.raises(ValueError, match="either alpha and beta, or mu and sigma"):
        nbvi.InverseGamma.dist(alpha=2.0, mu=1.0)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        nbvi.InverseGamma.dist(mu=1.0, sigma=0.0)
