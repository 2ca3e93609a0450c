"""DiscreteUniform: log-probability against scipy's randint, out of support values, the checks on the
bounds, validation, moment and sampling."""
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

from nbvi.distributions.discreteuniform import DiscreteUniform
from nbvi.graph import Placeholder


def bounds(rng, shape):
    lower = rng.integers(-5, 3, size=shape)
    return {"lower": lower, "upper": lower + rng.integers(0, 6, size=shape)}


FAMILY = Discrete(DiscreteUniform, {}, lambda y, lower, upper: stats.randint.logpmf(y, lower, upper + 1),
                  lambda rng, size, c: rng.integers(c["lower"], c["upper"], size=size, endpoint=True),
                  constants=bounds)


@given(case=cases(FAMILY))
def test_logp_matches_scipy(case):
    check_logp_and_grad(FAMILY, case)


def test_out_of_support():
    assert evaluate(FAMILY, [3.0, 3.0], {"lower": 3, "upper": 3})[0][0] == 0.0  # one value
    for y in (-3.0, 6.0, 1.5, np.inf, -np.inf, np.nan):
        assert_minus_inf(*evaluate(FAMILY, [0.0, y], {"lower": -2, "upper": 5}))


def test_validation():
    with pytest.raises(ValueError, match="lower must be <= upper"):
        DiscreteUniform.dist([0, 4], 3)
    with pytest.raises(ValueError, match="DiscreteUniform: upper must be integers"):
        DiscreteUniform.dist(0, 2.5)
    with pytest.raises(TypeError, match="lower must be a constant"):
        DiscreteUniform.dist(Placeholder((), "lower"), 3)
    with pytest.raises(ValueError, match="integers in lower..upper"):
        DiscreteUniform.dist(-1, [3, 4]).check_observed(np.array([1, 5]))
    DiscreteUniform.dist(-1, [3, 4]).check_observed(np.array([-1, 4]))


def test_moment_and_random():
    lower, upper = np.array([-3, 2]), np.array([4, 9])
    dist = DiscreteUniform.dist(lower, upper)
    np.testing.assert_array_equal(dist.initial_value(), [0, 5])
    check_random(dist, lambda y, c: stats.randint.logpmf(y, lower[c], upper[c] + 1), np.arange(-5.0, 12.0))
