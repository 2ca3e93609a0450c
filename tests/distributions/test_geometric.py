"""Geometric: log-probability against scipy, the gradient against central differences, edge cases,
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

from nbvi.distributions.geometric import Geometric

FAMILY = Discrete(Geometric, {"p": (0.05, 0.95)}, lambda y, p: stats.geom.logpmf(y, p),
                  lambda rng, size, _: rng.geometric(0.3, size=size))


@given(case=cases(FAMILY))
def test_logp_matches_scipy_and_gradient_matches_finite_differences(case):
    check_logp_and_grad(FAMILY, case)


def test_edge_cases_and_out_of_support():
    logp, (grad,) = evaluate(FAMILY, [1.0, 1.0], p=1.0)  # p = 1: the first trial succeeds for sure
    assert logp[0] == 0.0 and grad[0] == 2.0
    for y, p in ((2.0, 1.0), (0.0, 0.5), (-1.0, 0.5), (1.5, 0.5), (np.inf, 0.5), (np.nan, 0.5), (1.0, 0.0),
                 (1.0, 1.5), (1.0, np.nan)):
        assert_minus_inf(*evaluate(FAMILY, [y], p=p))


def test_validation():
    with pytest.raises(ValueError, match=r"p must be in \(0, 1\]"):
        Geometric.dist([0.5, 0.0])
    with pytest.raises(ValueError, match="positive integers"):
        Geometric.dist(0.5).check_observed(np.array([1, 0]))
    Geometric.dist(0.5).check_observed(np.array([1, 4]))


def test_moment_and_random():
    p = np.array([0.15, 0.6])
    dist = Geometric.dist(p)
    np.testing.assert_array_equal(dist.initial_value(), [6, 1])
    check_random(dist, lambda y, c: stats.geom.logpmf(y, p[c]), np.arange(1.0, 400.0))
