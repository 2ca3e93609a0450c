"""Tests of LogNormal: logp against scipy.stats, hand-written gradients against central differences, the rows
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

from nbvi.distributions.lognormal import LogNormal

FAMILY = Family(
    cls=LogNormal,
    ranges={"mu": (-1.0, 1.0), "sigma": (0.3, 2.0)},
    values=(0.05, 5.0),
    scipy=lambda mu, sigma: stats.lognorm(sigma, scale=np.exp(mu)),
    sample_params={"mu": np.array([0.0, 1.0]), "sigma": np.array([0.3, 0.6])},
    outside=(0.0, -1.0),
    invalid=[({"sigma": -1.0}, "sigma must be > 0"), ({"mu": 0.0, "tau": 0.0}, "tau must be > 0")],
    bad_param=("sigma", 0.0),
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


def test_tau_alias():
    np.testing.assert_allclose(LogNormal.dist(1.0, tau=4.0).param_nodes["sigma"].eval(), 0.5)


def test_rows_kernel_is_accurate_when_the_spread_is_tiny():
    # values exp(10 + 1e-6 u): sums of (log x - mu)^2 without the shift would lose all their digits
    u = np.random.default_rng(5).normal(size=(2000, 9))
    data = np.exp(10.0 + 1e-6 * u)
    data.setflags(write=False)  # as a Constant holds it
    params = [np.array([[10.0]]), np.array([[1e-6]])]
    logp_rows, g_mu, g_sigma = LogNormal.rows_kernel(data, np.arange(2000), *params)
    logp, _, h_mu, h_sigma = LogNormal.family.kernel(data.reshape(1, -1).copy(), *params)
    np.testing.assert_allclose(logp_rows, logp, rtol=1e-9)
    np.testing.assert_allclose(g_mu, h_mu, rtol=1e-6)
    np.testing.assert_allclose(g_sigma, h_sigma, rtol=1e-6)
