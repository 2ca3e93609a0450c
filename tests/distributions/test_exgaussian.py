"""Tests of ExGaussian: logp against scipy.stats.exponnorm (K = nu / sigma, loc = mu, scale = sigma),
hand-written gradients against central differences, the far tails and the nu -> 0 limit, validation, initial
point and sampling (the checks of distributions/family_checks.py); and the normal-tail helpers it uses."""
import numpy as np
import scipy.special as special
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
from gradcheck import numeric_grad
from hypothesis import given
from hypothesis import strategies as st

from nbvi.distributions.exgaussian import ExGaussian, exgaussian_logp_grad
from nbvi.distributions.normal_tail import erfcx, log_ndtr_and_mills

FAMILY = Family(
    cls=ExGaussian,
    ranges={"mu": (-2.0, 2.0), "sigma": (0.3, 3.0), "nu": (0.2, 3.0)},
    values=(-6.0, 8.0),
    scipy=lambda mu, sigma, nu: stats.exponnorm(nu / sigma, loc=mu, scale=sigma),
    sample_params={"mu": np.array([0.0, -1.0]), "sigma": np.array([1.0, 0.5]), "nu": np.array([1.0, 2.0])},
    invalid=[({"mu": 0.0, "sigma": -1.0, "nu": 1.0}, "sigma must be > 0"),
             ({"mu": 0.0, "sigma": 1.0, "nu": 0.0}, "nu must be > 0")],
    bad_param=("nu", 0.0),
    transform=None,
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


def far(x, mu, sigma, nu):
    """logp and gradient at a point where Phi(z - sigma / nu) underflows, and central differences of logp."""
    point = np.array([x, mu, sigma, nu])
    logp, *grad = exgaussian_logp_grad(*point)
    return logp, np.array(grad), numeric_grad(lambda p: exgaussian_logp_grad(*p)[0], point)


def test_far_left_tail_and_small_nu_are_finite_and_exact():
    # x = -60: Phi(u) ~ exp(-1800) underflows; the erfcx form is exact (scipy's log_ndtr form agrees)
    logp, grad, numeric = far(-60.0, 0.0, 1.0, 1.0)
    np.testing.assert_allclose(logp, stats.exponnorm(1.0).logpdf(-60.0), rtol=1e-12)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6)
    # nu = 1e-8: r = 1e8, the ExGaussian is the Normal(mu, sigma) up to O(nu)
    logp, grad, _ = far(0.7, 0.2, 1.3, 1e-8)
    np.testing.assert_allclose(logp, stats.norm(0.2, 1.3).logpdf(0.7), rtol=1e-7)
    np.testing.assert_allclose(grad[:3], [-(0.5 / 1.3**2), 0.5 / 1.3**2, ((0.5 / 1.3) ** 2 - 1) / 1.3], rtol=1e-6)


@given(st.floats(0.0, 1e6))
def test_erfcx_matches_scipy(x):
    np.testing.assert_allclose(erfcx(x), special.erfcx(x), rtol=3e-15)


@given(st.floats(-1e4, 30.0))
def test_log_ndtr_and_mills_ratio_match_scipy(u):
    log_cdf, mills, mills_plus_u = log_ndtr_and_mills(u)
    # (for u >> 0 both sides round u / sqrt(2) before erfc, which amplifies its rounding by about u^2)
    np.testing.assert_allclose(log_cdf, special.log_ndtr(u), rtol=1e-12, atol=1e-300)
    if u > -30.0:  # scipy's log-space ratio is exact enough here
        np.testing.assert_allclose(mills, np.exp(stats.norm.logpdf(u) - special.log_ndtr(u)), rtol=1e-12)
        np.testing.assert_allclose(mills_plus_u, mills + u, rtol=1e-10, atol=1e-14)
    else:  # the asymptotic series of m(u) + u in y = -1/u (which mills + u cannot resolve): the first term
        # left out, 8162 y^11, is below 2e-11 of the sum for u <= -30
        y = -1.0 / u
        np.testing.assert_allclose(mills_plus_u, y - 2 * y**3 + 10 * y**5 - 74 * y**7 + 706 * y**9, rtol=1e-10)
        np.testing.assert_allclose(mills, -u, rtol=1e-3)
