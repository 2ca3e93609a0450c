"""Tests of Exponential: logp against scipy.stats, hand-written gradients against central differences, the rows
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

from nbvi.distributions.exponential import Exponential

FAMILY = Family(
    cls=Exponential,
    ranges={"lam": (0.2, 3.0)},
    values=(0.01, 5.0),
    scipy=lambda lam: stats.expon(scale=1.0 / lam),
    sample_params={"lam": np.array([0.5, 3.0])},
    outside=(-0.1, -2.0),
    invalid=[({"lam": -1.0}, "lam must be > 0"), ({"lam": np.array([1.0, 0.0])}, "lam must be > 0")],
    bad_param=("lam", 0.0),
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


def test_zero_is_in_the_support():
    logp, (g_x, g_lam) = program_for(FAMILY, (), [()]).value_and_grad([np.array([0.0]), np.array([2.0])])
    np.testing.assert_allclose(logp, [np.log(2.0)])
    np.testing.assert_allclose(g_lam, [0.5])  # d/dlam = 1 / lam - x


def test_scale_is_one_over_the_rate():
    import nbvi

    with nbvi.Model() as model:
        s = nbvi.HalfNormal("s", 2.0)
        nbvi.Exponential("y", scale=s, observed=[0.5, 2.0, 1.0])
        nbvi.Exponential("z", scale=3.0, observed=[1.0])
    expected = (stats.expon(scale=1.5).logpdf([0.5, 2.0, 1.0]).sum() + stats.expon(scale=3.0).logpdf(1.0)
                + stats.halfnorm(scale=2.0).logpdf(1.5))
    np.testing.assert_allclose(model.logp({"s": 1.5}), expected, rtol=1e-12)
    with pytest.raises(ValueError, match="exactly one of lam and scale"):
        Exponential.dist(lam=1.0, scale=2.0)
    with pytest.raises(ValueError, match="scale must be > 0"):
        Exponential.dist(scale=-1.0)
