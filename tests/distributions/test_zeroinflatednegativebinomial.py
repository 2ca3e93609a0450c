"""ZeroInflatedNegativeBinomial: log-probability against the mixture of a point mass at 0 and scipy's
negative binomial, in both parametrisations, the gradients against central differences, edge cases,
validation, moment and sampling."""
import numpy as np
import pytest
from distributions.discrete_checks import (
    Discrete,
    assert_minus_inf,
    cases,
    check_logp_and_grad,
    check_random,
    evaluate,
)
from hypothesis import given
from scipy import stats

from nbvi.distributions.zeroinflatednegativebinomial import ZeroInflatedNegativeBinomial
from nbvi.graph import Constant


def logpmf(y, psi, mu, alpha):
    """log((1 - psi) [y = 0] + psi NegativeBinomial(y | mu, alpha))."""
    count = np.log(psi) + stats.nbinom.logpmf(y, alpha, alpha / (mu + alpha))
    return np.where(y == 0, np.logaddexp(np.log1p(-psi), count), count)


FAMILY = Discrete(ZeroInflatedNegativeBinomial, {"psi": (0.05, 0.95), "mu": (0.2, 8.0), "alpha": (0.3, 10.0)},
                  logpmf, lambda rng, size, _: rng.negative_binomial(2.0, 0.4, size=size) * (rng.random(size=size) < 0.6))


@given(case=cases(FAMILY))
def test_logp_matches_scipy_and_gradient_matches_finite_differences(case):
    check_logp_and_grad(FAMILY, case)


def test_n_p_form():
    y = np.array([0.0, 2.0, 7.0])
    dist = ZeroInflatedNegativeBinomial.dist(0.7, n=3.0, p=0.4)  # mu = 4.5, alpha = 3
    np.testing.assert_allclose(dist.logp(Constant(y)).eval(), logpmf(y, 0.7, 4.5, 3.0).sum(), rtol=1e-12)


def test_edge_cases():
    y = np.array([0.0, 2.0, 5.0])
    logp, (_, g_mu, g_alpha) = evaluate(FAMILY, y, psi=1.0, mu=2.5, alpha=1.5)  # psi = 1: the negative binomial
    np.testing.assert_allclose(logp, stats.nbinom.logpmf(y, 1.5, 1.5 / 4.0).sum(), rtol=1e-12)
    logp, (g_psi, g_mu, g_alpha) = evaluate(FAMILY, [0.0], psi=0.0, mu=2.5, alpha=1.5)  # psi = 0: all zeros
    assert logp[0] == 0.0 and g_mu[0] == 0.0 and g_alpha[0] == 0.0
    np.testing.assert_allclose(g_psi, np.expm1(stats.nbinom.logpmf(0, 1.5, 1.5 / 4.0)), rtol=1e-12)
    logp, (g_psi, g_mu, g_alpha) = evaluate(FAMILY, [0.0], psi=0.5, mu=1e6, alpha=200.0)  # c(0) underflows
    np.testing.assert_allclose(logp, np.log(0.5), rtol=1e-15)
    assert g_psi[0] == -2.0 and g_mu[0] == 0.0 and g_alpha[0] == 0.0


def test_out_of_support_and_invalid_parameters():
    for y, psi, mu, alpha in ((-1.0, 0.5, 2.0, 1.0), (1.5, 0.5, 2.0, 1.0), (np.nan, 0.5, 2.0, 1.0), (3.0, 0.0, 2.0, 1.0),
                              (0.0, 1.2, 2.0, 1.0), (0.0, 0.5, 0.0, 1.0), (0.0, 0.5, 2.0, -1.0), (0.0, np.nan, 2.0, 1.0),
                              (0.0, 0.5, np.nan, 1.0), (0.0, 0.5, 2.0, np.nan)):
        assert_minus_inf(*evaluate(FAMILY, [y], psi=psi, mu=mu, alpha=alpha))


def test_validation():
    with pytest.raises(ValueError, match=r"psi must be in \[0, 1\]"):
        ZeroInflatedNegativeBinomial.dist(-0.5, 2.0, 1.0)
    with pytest.raises(ValueError, match="mu must be > 0"):
        ZeroInflatedNegativeBinomial.dist(0.5, 0.0, 1.0)
    with pytest.raises(ValueError, match="alpha must be > 0"):
        ZeroInflatedNegativeBinomial.dist(0.5, 2.0, [1.0, -1.0])
    with pytest.raises(ValueError, match="p must be in"):
        ZeroInflatedNegativeBinomial.dist(0.5, n=2.0, p=0.0)
    with pytest.raises(ValueError, match="either mu and alpha, or n and p"):
        ZeroInflatedNegativeBinomial.dist(0.5, mu=2.0)
    with pytest.raises(ValueError, match="non-negative integers"):
        ZeroInflatedNegativeBinomial.dist(0.5, 2.0, 1.0).check_observed(np.array([0, 0.5]))


def test_moment_and_random():
    psi, mu, alpha = np.array([0.3, 0.9]), np.array([0.8, 5.0]), np.array([0.5, 3.0])
    dist = ZeroInflatedNegativeBinomial.dist(psi, mu, alpha)
    np.testing.assert_array_equal(dist.initial_value(), [0, 4])
    check_random(dist, lambda y, c: logpmf(y, psi[c], mu[c], alpha[c]), np.arange(400.0))
