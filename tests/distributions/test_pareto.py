"""Tests of Pareto: logp against scipy.stats.pareto (alpha, scale = m), hand-written gradients against central
differences, the support x >= m, validation, the LowerBound transform at m (which must be a constant for a
latent Pareto), initial point and sampling (the checks of distributions/family_checks.py)."""
import numpy as np
import pytest
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

import nbvi
from nbvi.distributions.pareto import Pareto, pareto_logp_grad

FAMILY = Family(
    cls=Pareto,
    ranges={"alpha": (0.3, 6.0), "m": (0.3, 2.0)},
    values=(2.1, 10.0),
    scipy=lambda alpha, m: stats.pareto(alpha, scale=m),
    sample_params={"alpha": np.array([5.0, 6.0]), "m": np.array([1.0, 2.0])},  # alpha > 4: finite kurtosis
    outside=(1.0, 0.0, -1.0),  # below m = 1.15, the midpoint of its range
    invalid=[({"alpha": -1.0, "m": 1.0}, "alpha must be > 0"), ({"alpha": 1.0, "m": 0.0}, "m must be > 0")],
    bad_param=("m", 0.0),
    transform="lowerbound",
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


def test_support_is_closed_at_m():
    np.testing.assert_allclose(pareto_logp_grad(2.0, 3.0, 2.0)[0], stats.pareto(3.0, scale=2.0).logpdf(2.0))
    assert pareto_logp_grad(np.nextafter(2.0, 0.0), 3.0, 2.0)[0] == -np.inf
    with pytest.raises(ValueError, match="outside the support"):
        Pareto.dist(3.0, 2.0).check_observed(np.array([2.5, 1.9]))


def test_lowerbound_transform_uses_the_constant_m():
    transform = Pareto.dist(3.0, np.array([1.0, 2.0])).default_transform()
    np.testing.assert_allclose(transform.backward(np.array([[0.0, np.log(0.5)]])), [[2.0, 2.5]])


def test_latent_pareto_with_a_node_m_is_a_clear_error():
    with nbvi.Model():
        m = nbvi.HalfNormal("m", 1.0)
        with pytest.raises(TypeError, match="m of a latent Pareto must be a constant"):
            nbvi.Pareto("x", 3.0, m)
        nbvi.Pareto("y", 3.0, m, observed=np.array([2.0, 3.0]))  # an observed one may have a node m
