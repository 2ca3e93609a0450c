"""Tests of Uniform: logp against scipy.stats, hand-written gradients against central differences, the rows
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
    program_for,
)
from hypothesis import given

from nbvi.distributions.uniform import Uniform
from nbvi.graph import Placeholder

FAMILY = Family(
    cls=Uniform,
    ranges={"lower": (-3.0, -1.0), "upper": (1.0, 3.0)},
    values=(-0.99, 0.99),
    scipy=lambda lower, upper: stats.uniform(loc=lower, scale=upper - lower),
    sample_params={"lower": np.array([-1.0, 0.0]), "upper": np.array([2.0, 0.5])},
    outside=(-3.5, 3.5),
    invalid=[({"lower": 1.0, "upper": 1.0}, "lower must be < upper"),
             ({"lower": np.array([0.0, 2.0]), "upper": 1.0}, "lower must be < upper")],
    bad_param=("lower", 5.0),
    transform="interval",
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


def test_bounds_are_closed():
    logp, _ = program_for(FAMILY, (2,), [(), ()]).value_and_grad([np.array([[-1.0, 2.0]]), np.array([-1.0]),
                                                                   np.array([2.0])])
    np.testing.assert_allclose(logp, [-2 * np.log(3.0)])


def test_interval_transform_uses_the_constant_bounds():
    transform = Uniform.dist(np.array([-1.0, 0.0]), 2.0).default_transform()
    np.testing.assert_array_equal(transform.lower, [-1.0, 0.0])
    np.testing.assert_array_equal(transform.upper, 2.0)


def test_latent_uniform_with_node_bounds_is_a_clear_error():
    with pytest.raises(TypeError, match="bounds of a latent Uniform must be constants"):
        Uniform.dist(Placeholder((), name="a"), 1.0).default_transform()
