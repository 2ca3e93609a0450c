"""Tests of Cauchy: logp against scipy.stats, hand-written gradients against central differences, the rows
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

from nbvi.distributions.cauchy import Cauchy

FAMILY = Family(
    cls=Cauchy,
    ranges={"alpha": (-2.0, 2.0), "beta": (0.3, 3.0)},
    values=(-6.0, 6.0),
    scipy=lambda alpha, beta: stats.cauchy(loc=alpha, scale=beta),
    sample_params={"alpha": np.array([0.0, 2.0]), "beta": np.array([1.0, 0.5])},
    invalid=[({"alpha": 0.0, "beta": -1.0}, "beta must be > 0")],
    bad_param=("beta", -1.0),
    transform=None,
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
