"""Tests of HalfNormal: logp against scipy.stats, hand-written gradients against central differences, the rows
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

from nbvi.distributions.halfnormal import HalfNormal

FAMILY = Family(
    cls=HalfNormal,
    ranges={"sigma": (0.3, 3.0)},
    values=(0.01, 5.0),
    scipy=lambda sigma: stats.halfnorm(scale=sigma),
    sample_params={"sigma": np.array([0.5, 2.0])},
    outside=(-0.1, -3.0),
    invalid=[({"sigma": -1.0}, "sigma must be > 0"), ({"sd": 0.0}, "sigma must be > 0"),
             ({"tau": -1.0}, "tau must be > 0"), ({"sigma": 1.0, "tau": 1.0}, "only one of")],
    bad_param=("sigma", -1.0),
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


def test_sd_and_tau_aliases():
    np.testing.assert_allclose(HalfNormal.dist(sd=2.0).param_nodes["sigma"].eval(), 2.0)
    np.testing.assert_allclose(HalfNormal.dist(tau=4.0).param_nodes["sigma"].eval(), 0.5)
    np.testing.assert_allclose(HalfNormal.dist().param_nodes["sigma"].eval(), 1.0)
