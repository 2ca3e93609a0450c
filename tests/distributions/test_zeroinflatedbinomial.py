"""ZeroInflatedBinomial: log-probability against the mixture of a point mass at 0 and scipy's binomial, the
gradients (psi, p) against central differences, edge cases, the checks on n, validation, moment and sampling."""
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

from nbvi.distributions.zeroinflatedbinomial import ZeroInflatedBinomial
from nbvi.graph import Placeholder


def logpmf(y, psi, p, n):
    """log((1 - psi) [y = 0] + psi Binomial(y | n, p))."""
    count = np.log(psi) + stats.binom.logpmf(y, n, p)
    return np.where(y == 0, np.logaddexp(np.log1p(-psi), count), count)


FAMILY = Discrete(ZeroInflatedBinomial, {"psi": (0.05, 0.95), "p": (0.05, 0.95)}, logpmf,
                  lambda rng, size, c: rng.binomial(c["n"], 0.4, size=size) * (rng.random(size=size) < 0.6),
                  constants=lambda rng, shape: {"n": rng.integers(0, 12, size=shape)})


@given(case=cases(FAMILY))
def test_logp_matches_scipy_and_gradient_matches_finite_differences(case):
    check_logp_and_grad(FAMILY, case)


def test_edge_cases():
    n = {"n": 4}
    logp, (g_psi, g_p) = evaluate(FAMILY, [0.0], n, psi=0.3, p=1.0)  # p = 1: the zeros are all extra zeros
    np.testing.assert_allclose(logp, np.log(0.7), rtol=1e-15)
    np.testing.assert_allclose(g_psi, -1.0 / 0.7, rtol=1e-15)
    logp, (g_psi, _) = evaluate(FAMILY, [0.0, 0.0], {"n": 0}, psi=0.3, p=0.5)  # n = 0: y = 0 for sure
    assert abs(logp[0]) < 1e-15 and g_psi[0] == 0.0
    y = np.array([0.0, 1.0, 4.0])
    logp, _ = evaluate(FAMILY, y, n, psi=1.0, p=0.3)  # psi = 1: the binomial
    np.testing.assert_allclose(logp, stats.binom.logpmf(y, 4, 0.3).sum(), rtol=1e-12)


def test_out_of_support_and_invalid_parameters():
    n = {"n": 4}
    for y, psi, p in ((5.0, 0.5, 0.5), (-1.0, 0.5, 0.5), (1.5, 0.5, 0.5), (np.nan, 0.5, 0.5), (2.0, 0.0, 0.5),
                      (2.0, 0.5, 0.0), (0.0, 1.2, 0.5), (0.0, 0.5, -0.5), (0.0, np.nan, 0.5), (0.0, 0.5, np.nan),
                      (0.0, 1.0, 1.0)):
        assert_minus_inf(*evaluate(FAMILY, [y], n, psi=psi, p=p))


def test_validation():
    with pytest.raises(ValueError, match=r"psi must be in \[0, 1\]"):
        ZeroInflatedBinomial.dist(1.5, 5, 0.5)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        ZeroInflatedBinomial.dist(0.5, 5, [0.5, 1.5])
    with pytest.raises(ValueError, match="ZeroInflatedBinomial: n must be non-negative integers"):
        ZeroInflatedBinomial.dist(0.5, [5, -1], 0.5)
    with pytest.raises(TypeError, match="constant"):
        ZeroInflatedBinomial.dist(0.5, Placeholder((), "n"), 0.5)
    with pytest.raises(ValueError, match="integers in 0..n"):
        ZeroInflatedBinomial.dist(0.5, [3, 4], 0.5).check_observed(np.array([1, 5]))
    ZeroInflatedBinomial.dist(0.5, [3, 4], 0.5).check_observed(np.array([3, 0]))


def test_moment_and_random():
    psi, n, p = np.array([0.3, 0.9]), np.array([10, 3]), np.array([0.25, 0.5])
    dist = ZeroInflatedBinomial.dist(psi, n, p)
    np.testing.assert_array_equal(dist.initial_value(), [0, 1])
    check_random(dist, lambda y, c: logpmf(y, psi[c], p[c], n[c]), np.arange(11.0))
