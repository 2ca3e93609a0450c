"""ZeroInflatedPoisson: log-probability against the mixture of a point mass at 0 and scipy's Poisson, the
gradients against central differences, edge cases (psi = 0 or 1, mu = 0, a large mu), validation, moment and
sampling."""
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

from nbvi.distributions.zeroinflatedpoisson import ZeroInflatedPoisson


def logpmf(y, psi, mu):
    """log((1 - psi) [y = 0] + psi Poisson(y | mu))."""
    count = np.log(psi) + stats.poisson.logpmf(y, mu)
    return np.where(y == 0, np.logaddexp(np.log1p(-psi), count), count)


FAMILY = Discrete(ZeroInflatedPoisson, {"psi": (0.05, 0.95), "mu": (0.2, 8.0)}, logpmf,
                  lambda rng, size, _: rng.poisson(3.0, size=size) * (rng.random(size=size) < 0.6))


@given(case=cases(FAMILY))
def test_logp_matches_scipy_and_gradient_matches_finite_differences(case):
    check_logp_and_grad(FAMILY, case)


def test_edge_cases():
    y = np.array([0.0, 2.0, 5.0])
    logp, (g_psi, g_mu) = evaluate(FAMILY, y, psi=1.0, mu=2.5)  # psi = 1: the Poisson
    np.testing.assert_allclose(logp, stats.poisson.logpmf(y, 2.5).sum(), rtol=1e-12)
    np.testing.assert_allclose(g_mu, np.sum(y / 2.5 - 1.0), rtol=1e-12)
    np.testing.assert_allclose(g_psi, np.expm1(-2.5) / np.exp(-2.5) + 2.0, rtol=1e-12)  # (c0 - 1) / p0 + 2 / psi
    logp, (g_psi, g_mu) = evaluate(FAMILY, [0.0], psi=0.0, mu=2.5)  # psi = 0: all zeros
    assert logp[0] == 0.0 and g_mu[0] == 0.0
    np.testing.assert_allclose(g_psi, np.expm1(-2.5), rtol=1e-12)
    logp, (g_psi, g_mu) = evaluate(FAMILY, [0.0], psi=0.4, mu=0.0)  # mu = 0: a zero for sure
    assert logp[0] == 0.0 and g_psi[0] == 0.0 and g_mu[0] == -0.4
    logp, (g_psi, g_mu) = evaluate(FAMILY, [0.0], psi=0.5, mu=800.0)  # exp(-mu) underflows: no NaN
    np.testing.assert_allclose(logp, np.log(0.5), rtol=1e-15)
    assert g_psi[0] == -2.0 and g_mu[0] == 0.0


def test_out_of_support_and_invalid_parameters():
    for y, psi, mu in ((-1.0, 0.5, 2.0), (1.5, 0.5, 2.0), (np.nan, 0.5, 2.0), (np.inf, 0.5, 2.0), (3.0, 0.0, 2.0),
                       (3.0, 0.5, 0.0), (0.0, 1.2, 2.0), (0.0, -0.1, 2.0), (0.0, 0.5, -1.0), (0.0, np.nan, 2.0),
                       (0.0, 0.5, np.nan)):
        assert_minus_inf(*evaluate(FAMILY, [y], psi=psi, mu=mu))


def test_validation():
    with pytest.raises(ValueError, match=r"psi must be in \[0, 1\]"):
        ZeroInflatedPoisson.dist([0.5, 1.5], 2.0)
    with pytest.raises(ValueError, match="mu must be >= 0"):
        ZeroInflatedPoisson.dist(0.5, -2.0)
    with pytest.raises(ValueError, match="non-negative integers"):
        ZeroInflatedPoisson.dist(0.5, 2.0).check_observed(np.array([0, -1]))
    ZeroInflatedPoisson.dist(0.5, 2.0).check_observed(np.array([0, 3, 8]))


def test_moment_and_random():
    psi, mu = np.array([0.3, 0.9]), np.array([0.5, 4.0])
    dist = ZeroInflatedPoisson.dist(psi, mu)
    np.testing.assert_array_equal(dist.initial_value(), [0, 3])
    check_random(dist, lambda y, c: logpmf(y, psi[c], mu[c]), np.arange(100.0))
