"""BetaBinomial: log-probability against scipy, the gradients (alpha, beta) against central differences,
edge cases, the checks on n, validation, moment and sampling."""
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

from nbvi.distributions.betabinomial import BetaBinomial
from nbvi.graph import Placeholder

FAMILY = Discrete(BetaBinomial, {"alpha": (0.3, 8.0), "beta": (0.3, 8.0)},
                  lambda y, alpha, beta, n: stats.betabinom.logpmf(y, n, alpha, beta),
                  lambda rng, size, c: rng.binomial(c["n"], 0.4, size=size),
                  constants=lambda rng, shape: {"n": rng.integers(0, 12, size=shape)})


@given(case=cases(FAMILY))
def test_logp_matches_scipy_and_gradient_matches_finite_differences(case):
    check_logp_and_grad(FAMILY, case)


def test_edge_cases_and_out_of_support():
    logp, (g_alpha, g_beta) = evaluate(FAMILY, [0.0, 0.0], {"n": 0}, alpha=2.0, beta=3.0)  # n = 0: y = 0 for sure
    assert logp[0] == 0.0 and abs(g_alpha[0]) < 1e-14 and abs(g_beta[0]) < 1e-14
    for y, alpha, beta in ((5.0, 2.0, 3.0), (-1.0, 2.0, 3.0), (1.5, 2.0, 3.0), (np.nan, 2.0, 3.0), (1.0, 0.0, 3.0),
                           (1.0, 2.0, -1.0), (1.0, np.nan, 3.0), (1.0, 2.0, np.nan)):
        assert_minus_inf(*evaluate(FAMILY, [y], {"n": 4}, alpha=alpha, beta=beta))


def test_validation():
    with pytest.raises(ValueError, match="alpha must be > 0"):
        BetaBinomial.dist(0.0, 1.0, 5)
    with pytest.raises(ValueError, match="beta must be > 0"):
        BetaBinomial.dist(1.0, [1.0, -1.0], 5)
    with pytest.raises(ValueError, match="BetaBinomial: n must be non-negative integers"):
        BetaBinomial.dist(1.0, 1.0, 2.5)
    with pytest.raises(TypeError, match="constant"):
        BetaBinomial.dist(1.0, 1.0, Placeholder((), "n"))
    with pytest.raises(ValueError, match="integers in 0..n"):
        BetaBinomial.dist(1.0, 1.0, [3, 4]).check_observed(np.array([4, 4]))


def test_moment_and_random():
    alpha, beta, n = np.array([0.5, 4.0]), np.array([0.8, 2.0]), np.array([12, 7])
    dist = BetaBinomial.dist(alpha, beta, n)
    np.testing.assert_array_equal(dist.initial_value(), [4, 4])
    check_random(dist, lambda y, c: stats.betabinom.logpmf(y, n[c], alpha[c], beta[c]), np.arange(13.0))
