"""Tests of Gamma: logp against scipy.stats, hand-written gradients against central differences, the rows
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

from nbvi.distributions.gamma import Gamma
from nbvi.graph import Placeholder, Program

FAMILY = Family(
    cls=Gamma,
    ranges={"alpha": (0.5, 5.0), "beta": (0.2, 3.0)},
    values=(0.05, 5.0),
    scipy=lambda alpha, beta: stats.gamma(alpha, scale=1.0 / beta),
    sample_params={"alpha": np.array([0.8, 5.0]), "beta": np.array([2.0, 0.5])},
    outside=(0.0, -1.0),
    invalid=[({"alpha": -1.0, "beta": 1.0}, "alpha must be > 0"), ({"alpha": 1.0, "beta": 0.0}, "beta must be > 0"),
             ({"mu": -1.0, "sigma": 1.0}, "mu must be > 0"), ({"mu": 1.0, "sd": -1.0}, "sigma must be > 0"),
             ({"alpha": 1.0, "mu": 1.0, "sigma": 1.0}, "either alpha and beta, or mu and sigma"),
             ({"alpha": 1.0}, "either alpha and beta, or mu and sigma")],
    bad_param=("alpha", -0.5),
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


def test_mu_sigma_parameterisation():
    dist = Gamma.dist(mu=2.0, sigma=0.5)  # alpha = mu^2 / sigma^2 = 16, beta = mu / sigma^2 = 8
    np.testing.assert_allclose(dist.param_nodes["alpha"].eval(), 16.0)
    np.testing.assert_allclose(dist.param_nodes["beta"].eval(), 8.0)


def test_mu_sigma_as_nodes_differentiates_through_the_conversion():
    x, mu, sigma = Placeholder((3,), name="x"), Placeholder((), name="mu"), Placeholder((), name="sigma")
    program = Program([Gamma.dist(mu=mu, sigma=sigma).logp(x)], [x, mu, sigma])
    point = [np.array([[0.5, 1.5, 3.0]]), np.array([1.7]), np.array([0.8])]
    logp, grads = program.value_and_grad(point)
    np.testing.assert_allclose(logp, stats.gamma(1.7**2 / 0.64, scale=0.64 / 1.7).logpdf(point[0]).sum())
    for k in range(3):
        def f(a, k=k):
            return program.run(point[:k] + [a] + point[k + 1:])[0].sum()
        assert_grad_close(f, grads[k], point[k])
