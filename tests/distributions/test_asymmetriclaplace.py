"""Tests of AsymmetricLaplace: logp against scipy.stats.laplace_asymmetric (kappa, loc = mu, scale = 1 / b),
hand-written gradients against central differences, the kink, validation, initial point and sampling (the
checks of distributions/family_checks.py)."""
import numpy as np
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

from nbvi.distributions.asymmetriclaplace import AsymmetricLaplace, asymmetriclaplace_logp_grad

FAMILY = Family(
    cls=AsymmetricLaplace,
    ranges={"b": (0.3, 3.0), "kappa": (0.3, 3.0), "mu": (-2.0, 2.0)},
    values=(-6.0, 6.0),
    scipy=lambda b, kappa, mu: stats.laplace_asymmetric(kappa, loc=mu, scale=1.0 / b),
    sample_params={"b": np.array([1.0, 2.0]), "kappa": np.array([0.5, 2.0]), "mu": np.array([0.0, -1.0])},
    invalid=[({"b": -1.0, "kappa": 1.0}, "b must be > 0"), ({"b": 1.0, "kappa": 0.0}, "kappa must be > 0")],
    bad_param=("kappa", 0.0),
    transform=None,
    valid=lambda x, params: bool(np.all(np.abs(x - params[2]) > 1e-3)),  # away from the kink at x == mu
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


def test_kink_gives_a_subgradient():
    # at x = mu the one-sided slopes in x are -b kappa and b / kappa; 0 lies between them
    logp, d_x, d_b, d_kappa, d_mu = asymmetriclaplace_logp_grad(0.5, 2.0, 3.0, 0.5)
    np.testing.assert_allclose(logp, stats.laplace_asymmetric(3.0, loc=0.5, scale=0.5).logpdf(0.5), rtol=1e-14)
    assert d_x == 0.0 and d_mu == 0.0
    np.testing.assert_allclose([d_b, d_kappa], [0.5, -(3.0 - 1.0 / 3.0) / 10.0], rtol=1e-14)


def test_kappa_one_is_the_laplace():
    x = np.linspace(-3.0, 3.0, 7) + 0.1
    logp = [asymmetriclaplace_logp_grad(v, 2.0, 1.0, 0.3)[0] for v in x]
    np.testing.assert_allclose(logp, stats.laplace(0.3, 0.5).logpdf(x), rtol=1e-14)
