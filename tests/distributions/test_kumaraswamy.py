"""Tests of Kumaraswamy (not in scipy.stats): the density integrates to 1 and matches its closed form
a b x^(a-1) (1 - x^a)^(b-1); logp against that closed form, hand-written gradients against central
differences, validation, initial point and sampling against the CDF 1 - (1 - x^a)^b and the moments
E[X^k] = b B(1 + k/a, b) (the checks of distributions/family_checks.py)."""
import numpy as np
from distributions.family_checks import (
    Family,
    cases,
    check_invalid_parameters,
    check_logp_and_grad,
    check_moment,
    check_random,
)
from distributions.scalar_checks import Reference, check_minus_inf
from hypothesis import given
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.special import betaln

from nbvi.distributions.kumaraswamy import Kumaraswamy, kumaraswamy_logp_grad


def kumaraswamy(a, b):
    return Reference(
        logpdf=lambda x: np.log(a) + np.log(b) + (a - 1) * np.log(x) + (b - 1) * np.log1p(-x**a),
        cdf=lambda x: 1.0 - (1.0 - np.clip(x, 0.0, 1.0) ** a) ** b,
        raw_moment=lambda k: b * np.exp(betaln(1.0 + k / a, b)),
    )


FAMILY = Family(
    cls=Kumaraswamy,
    ranges={"a": (0.3, 5.0), "b": (0.3, 5.0)},
    values=(0.02, 0.98),
    scipy=kumaraswamy,
    sample_params={"a": np.array([2.0, 0.7]), "b": np.array([3.0, 1.5])},
    outside=(0.0, 1.0, -0.5, 1.5),
    invalid=[({"a": -1.0, "b": 1.0}, "a must be > 0"), ({"a": 1.0, "b": 0.0}, "b must be > 0")],
    bad_param=("a", 0.0),
    transform="logodds",
)


@given(cases(FAMILY))
def test_logp_matches_the_closed_form_and_gradients_match_differences(case):
    check_logp_and_grad(FAMILY, case)


@given(st.floats(0.3, 5.0), st.floats(0.3, 5.0))
def test_density_integrates_to_one_and_matches_the_closed_form(a, b):
    def density(x):
        return np.exp(kumaraswamy_logp_grad(x, a, b)[0])

    total = quad(density, 0.0, 0.5)[0] + quad(density, 0.5, 1.0)[0]  # split at 0.5: singular ends for a or b < 1
    np.testing.assert_allclose(total, 1.0, rtol=1e-6)
    for x in (0.1, 0.5, 0.9):
        np.testing.assert_allclose(density(x), a * b * x ** (a - 1) * (1 - x**a) ** (b - 1), rtol=1e-12)
    np.testing.assert_allclose(quad(density, 0.0, 0.3)[0], kumaraswamy(a, b).cdf(0.3), rtol=1e-6)


def test_out_of_support_gives_minus_inf_not_nan():
    check_minus_inf(FAMILY)


def test_invalid_constant_parameters_raise():
    check_invalid_parameters(FAMILY)


def test_moment_is_in_support_and_default_transform():
    check_moment(FAMILY)
    a, b = FAMILY.sample_params["a"], FAMILY.sample_params["b"]
    np.testing.assert_allclose(kumaraswamy(a, b).cdf(Kumaraswamy.dist(a, b).initial_value()), 0.5)  # the median


def test_random_shape_and_moments():
    check_random(FAMILY)


def test_near_one_log1m_x_to_the_a_is_accurate():
    # x^2 = 1 - 1e-12: log(1 - x^2) from expm1 keeps its digits (1 - x**2 would keep four); the reference
    # takes 1 - x^2 as (1 - x)(1 + x), where 1 - x is exact
    x = np.exp(np.log1p(-1e-12) / 2.0)
    logp = kumaraswamy_logp_grad(x, 2.0, 3.0)[0]
    np.testing.assert_allclose(logp, np.log(6.0) + np.log(x) + 2.0 * np.log((1.0 - x) * (1.0 + x)), rtol=1e-12)
