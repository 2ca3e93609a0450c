"""NegativeBinomial: log-probability against scipy in both parametrisations, the gradients against central
differences, edge cases, validation, moment, sampling, and the maximum a posteriori of simulated counts."""
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
from gradcheck import assert_grad_close
from hypothesis import given
from scipy import stats

import nbvi
from nbvi.distributions.negativebinomial import NegativeBinomial
from nbvi.graph import Constant, Placeholder, Program


def logpmf(y, mu, alpha):
    return stats.nbinom.logpmf(y, alpha, alpha / (mu + alpha))


FAMILY = Discrete(NegativeBinomial, {"mu": (0.2, 8.0), "alpha": (0.3, 10.0)}, logpmf,
                  lambda rng, size, _: rng.negative_binomial(2.0, 0.4, size=size))


@given(case=cases(FAMILY))
def test_logp_matches_scipy_and_gradient_matches_finite_differences(case):
    check_logp_and_grad(FAMILY, case)


def test_n_p_form():
    y = np.array([0.0, 2.0, 7.0])
    dist = NegativeBinomial.dist(n=3.0, p=0.4)
    np.testing.assert_allclose(dist.logp(Constant(y)).eval(), stats.nbinom.logpmf(y, 3.0, 0.4).sum(), rtol=1e-12)
    # as a graph expression of p: its gradient goes through mu = n (1 - p) / p and alpha = n
    p = Placeholder((), "p")
    program = Program([NegativeBinomial.dist(n=3.0, p=p).logp(Constant(y))], [p])
    logp, (grad,) = program.value_and_grad([np.array([0.4])])
    np.testing.assert_allclose(logp, stats.nbinom.logpmf(y, 3.0, 0.4).sum(), rtol=1e-12)
    assert_grad_close(lambda v: program.run([v])[0].sum(), grad, np.array([0.4]))


def test_large_alpha_is_poisson():
    y = [0.0, 3.0, 10.0]
    logp, (g_mu, _) = evaluate(FAMILY, y, mu=2.5, alpha=1e6)
    # log Gamma(y + alpha) - log Gamma(alpha) loses about 1e-16 alpha log alpha (here 1e-9) to rounding
    np.testing.assert_allclose(logp, stats.poisson.logpmf(y, 2.5).sum(), rtol=1e-5)
    np.testing.assert_allclose(g_mu, np.sum(np.divide(y, 2.5) - 1.0), rtol=1e-4)


def test_edge_cases_and_out_of_support():
    for y, mu, alpha in ((-1.0, 2.0, 1.0), (1.5, 2.0, 1.0), (np.inf, 2.0, 1.0), (1.0, 0.0, 1.0), (0.0, -1.0, 1.0),
                         (1.0, 2.0, 0.0), (1.0, np.nan, 1.0), (1.0, 2.0, np.nan), (np.nan, 2.0, 1.0)):
        assert_minus_inf(*evaluate(FAMILY, [y], mu=mu, alpha=alpha))


def test_validation():
    with pytest.raises(ValueError, match="mu must be > 0"):
        NegativeBinomial.dist([1.0, 0.0], 1.0)
    with pytest.raises(ValueError, match="alpha must be > 0"):
        NegativeBinomial.dist(1.0, -2.0)
    with pytest.raises(ValueError, match="p must be in"):
        NegativeBinomial.dist(n=2.0, p=1.0)
    with pytest.raises(ValueError, match="n must be > 0"):
        NegativeBinomial.dist(n=0.0, p=0.5)
    with pytest.raises(ValueError, match="either mu and alpha, or n and p"):
        NegativeBinomial.dist(mu=1.0, p=0.5)
    with pytest.raises(ValueError, match="non-negative integers"):
        NegativeBinomial.dist(2.0, 1.0).check_observed(np.array([0, 2.5]))
    with nbvi.Model(), pytest.raises(TypeError, match="discrete"):
        NegativeBinomial("k", 2.0, 1.0)


def test_moment_and_random():
    mu, alpha = np.array([0.8, 6.0]), np.array([0.5, 3.0])
    dist = NegativeBinomial.dist(mu, alpha)
    np.testing.assert_array_equal(dist.initial_value(), [0, 6])
    check_random(dist, lambda y, c: logpmf(y, mu[c], alpha[c]), np.arange(400.0))


def test_map_recovers_the_mean_of_simulated_counts():
    rng = np.random.default_rng(5)
    y = rng.negative_binomial(2.0, 2.0 / (4.0 + 2.0), size=2000)  # mu = 4, alpha = 2
    with nbvi.Model():
        mu = nbvi.HalfNormal("mu", 50.0)
        alpha = nbvi.HalfNormal("alpha", 50.0)
        NegativeBinomial("y", mu, alpha, observed=y)
        point = nbvi.find_MAP(progressbar=False)
    # for any alpha the maximum likelihood mean is the sample mean (the prior moves it by ~1e-5)
    np.testing.assert_allclose(point["mu"], y.mean(), rtol=1e-3)
    # standard error of the mean sqrt((mu + mu^2 / alpha) / n) = 0.077; allow 4 of them
    assert abs(point["mu"] - 4.0) < 0.31
    assert abs(point["alpha"] - 2.0) < 0.5  # standard error of alpha here about 0.12
