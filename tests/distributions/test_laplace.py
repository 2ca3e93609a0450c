"""Tests of Laplace: logp against scipy.stats, hand-written gradients against central differences, the rows
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

from nbvi.distributions.laplace import Laplace, laplace_logp_grad

FAMILY = Family(
    cls=Laplace,
    ranges={"mu": (-2.0, 2.0), "b": (0.3, 3.0)},
    values=(-6.0, 6.0),
    scipy=lambda mu, b: stats.laplace(loc=mu, scale=b),
    sample_params={"mu": np.array([0.0, -1.0]), "b": np.array([1.0, 0.5])},
    invalid=[({"mu": 0.0, "b": -1.0}, "b must be > 0")],
    bad_param=("b", 0.0),
    transform=None,
    valid=lambda x, params: bool(np.all(np.abs(x - params[0]) > 1e-3)),  # away from the kink at x == mu
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


def test_gradient_at_the_kink_is_zero():
    logp, d_x, d_mu, d_b = laplace_logp_grad(1.0, 1.0, 2.0)
    assert (d_x, d_mu) == (0.0, 0.0)
    np.testing.assert_allclose(logp, stats.laplace(1.0, 2.0).logpdf(1.0))
    np.testing.assert_allclose(d_b, -0.5)  # d/db = |x - mu| / b^2 - 1 / b
