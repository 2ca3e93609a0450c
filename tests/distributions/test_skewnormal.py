"""Tests of SkewNormal: logp against scipy.stats.skewnorm, hand-written gradients against central differences,
the far tail of log Phi, the tau alias and PyMC's argument order, validation, initial point and sampling (the
checks of distributions/family_checks.py)."""
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

from nbvi.distributions.skewnormal import SkewNormal, skewnormal_logp_grad

FAMILY = Family(
    cls=SkewNormal,
    ranges={"alpha": (-6.0, 6.0), "mu": (-2.0, 2.0), "sigma": (0.3, 3.0)},
    values=(-6.0, 6.0),
    scipy=lambda alpha, mu, sigma: stats.skewnorm(alpha, loc=mu, scale=sigma),
    sample_params={"alpha": np.array([3.0, -1.0]), "mu": np.array([0.0, -1.0]), "sigma": np.array([1.0, 2.0])},
    invalid=[({"sigma": -1.0}, "sigma must be > 0"), ({"tau": -1.0}, "tau must be > 0"),
             ({"sigma": 1.0, "tau": 1.0}, "only one of")],
    bad_param=("sigma", 0.0),
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


def test_far_tail_is_finite_and_exact():
    # alpha z = -200: Phi underflows (about exp(-20000)); log Phi comes from erfcx
    point = np.array([-2.0, 100.0, 0.0, 1.0])
    logp, *grad = skewnormal_logp_grad(*point)
    expected = 0.5 * np.log(2 / np.pi) - 2.0 + special.log_ndtr(-200.0)
    np.testing.assert_allclose(logp, expected, rtol=1e-13)
    np.testing.assert_allclose(grad, numeric_grad(lambda p: skewnormal_logp_grad(*p)[0], point), rtol=1e-6)


def test_pymc_argument_order_and_tau_alias():
    dist = SkewNormal.dist(2.0, 1.0, tau=4.0)  # SkewNormal(alpha, mu, sigma | tau), as in PyMC
    values = {k: float(v) for k, v in dist.param_values().items()}
    assert values == {"alpha": 2.0, "mu": 1.0, "sigma": 0.5}
    assert {k: float(v) for k, v in SkewNormal.dist().param_values().items()} == {"alpha": 1.0, "mu": 0.0, "sigma": 1.0}
