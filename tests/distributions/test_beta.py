"""Tests of Beta: logp against scipy.stats, hand-written gradients against central differences, the rows
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
from gradcheck import assert_grad_close
from hypothesis import given

from nbvi.distributions.beta import Beta
from nbvi.graph import Placeholder, Program

FAMILY = Family(
    cls=Beta,
    ranges={"alpha": (0.5, 5.0), "beta": (0.5, 5.0)},
    values=(0.02, 0.98),
    scipy=lambda alpha, beta: stats.beta(alpha, beta),
    sample_params={"alpha": np.array([0.7, 3.0]), "beta": np.array([2.0, 0.9])},
    outside=(0.0, 1.0, -0.5, 1.5),
    invalid=[({"alpha": -1.0, "beta": 1.0}, "alpha must be > 0"), ({"alpha": 1.0, "beta": 0.0}, "beta must be > 0"),
             ({"mu": 1.2, "sigma": 0.1}, "mu must be in"), ({"mu": 0.5, "sigma": 0.6}, "sigma must be > 0 and <"),
             ({"beta": 1.0, "mu": 0.5, "sigma": 0.1}, "either alpha and beta, or mu and sigma")],
    bad_param=("alpha", 0.0),
    transform="logodds",
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


def test_mu_sigma_parameterisation():
    # kappa = mu (1 - mu) / sigma^2 - 1 = 0.24 / 0.01 - 1 = 23: alpha = 0.4 * 23, beta = 0.6 * 23
    dist = Beta.dist(mu=0.4, sigma=0.1)
    np.testing.assert_allclose(dist.param_nodes["alpha"].eval(), 9.2)
    np.testing.assert_allclose(dist.param_nodes["beta"].eval(), 13.8)


def test_mu_sigma_as_nodes_differentiates_through_the_conversion():
    x, mu = Placeholder((3,), name="x"), Placeholder((), name="mu")
    value = np.array([[0.2, 0.5, 0.7]])
    program = Program([Beta.dist(mu=mu, sigma=0.1).logp(x)], [x, mu])
    logp, (_, grad) = program.value_and_grad([value, np.array([0.4])])
    np.testing.assert_allclose(logp, stats.beta(9.2, 13.8).logpdf(value).sum())
    assert_grad_close(lambda a: program.run([value, a])[0].sum(), grad, np.array([0.4]))
