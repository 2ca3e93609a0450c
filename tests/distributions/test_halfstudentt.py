"""Tests of HalfStudentT: logp against twice scipy.stats.t on x >= 0, hand-written gradients against central
differences, support, validation, the lam alias, initial point and sampling (the checks of
distributions/family_checks.py)."""
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
from distributions.scalar_checks import Reference, check_minus_inf
from hypothesis import given
from scipy.special import gammaln

from nbvi.distributions.halfstudentt import HalfStudentT


def half_t(nu, sigma):
    """|T| sigma for T ~ t(nu): density 2 t_nu(x / sigma) / sigma on x >= 0, E|T|^k = nu^(k/2)
    Gamma((k + 1) / 2) Gamma((nu - k) / 2) / (sqrt(pi) Gamma(nu / 2)) for k < nu."""
    def raw_moment(k):
        if not k < nu:
            return np.inf
        return sigma**k * np.exp(0.5 * k * np.log(nu) + gammaln(0.5 * (k + 1)) + gammaln(0.5 * (nu - k))
                                 - 0.5 * np.log(np.pi) - gammaln(0.5 * nu))

    return Reference(
        logpdf=lambda x: np.where(x >= 0, np.log(2.0) + stats.t.logpdf(x, nu, scale=sigma), -np.inf),
        cdf=lambda x: np.maximum(2.0 * stats.t.cdf(x, nu, scale=sigma) - 1.0, 0.0),
        raw_moment=raw_moment,
    )


FAMILY = Family(
    cls=HalfStudentT,
    ranges={"nu": (0.5, 30.0), "sigma": (0.3, 3.0)},
    values=(0.05, 6.0),
    scipy=half_t,
    sample_params={"nu": np.array([6.0, 10.0]), "sigma": np.array([1.0, 2.0])},
    outside=(-0.5,),
    invalid=[({"nu": -1.0}, "nu must be > 0"), ({"nu": 3.0, "sigma": 0.0}, "sigma must be > 0"),
             ({"nu": 3.0, "lam": -1.0}, "lam must be > 0"), ({"nu": 3.0, "sigma": 1.0, "lam": 1.0}, "only one of")],
    bad_param=("nu", -1.0),
    transform="log",
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


def test_reference_moments_match_the_half_t_integrals():
    from scipy.integrate import quad

    ref = half_t(7.0, 1.5)
    for k in (1, 2, 3, 4):
        integral = quad(lambda x, k=k: x**k * np.exp(ref.logpdf(x)), 0.0, np.inf)[0]
        np.testing.assert_allclose(ref.raw_moment(k), integral, rtol=1e-7)


def test_lam_alias_and_pymc_defaults():
    np.testing.assert_allclose(HalfStudentT.dist(3.0, lam=4.0).param_nodes["sigma"].eval(), 0.5)
    dist = HalfStudentT.dist()  # PyMC's defaults: nu = 1, sigma = 1
    assert dist.param_nodes["nu"].eval() == 1.0 and dist.param_nodes["sigma"].eval() == 1.0
