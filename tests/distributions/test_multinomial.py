"""Multinomial: log-probability against scipy, the compiled tape against the graph walk and finite
differences (p free through a softmax, or normalised by the family), observed data checked, random draws by
their moments, and a fit that recovers p."""
import numpy as np
import pytest
from density_checks import assert_matches_finite_differences, assert_tape_is_graph
from scipy import stats

import nbvi


def counts(n=20, p=(0.2, 0.3, 0.5), rows=6, seed=0):
    return np.random.default_rng(seed).multinomial(n, p, size=rows)


@pytest.mark.parametrize("link", ["softmax", "unnormalised"])
def test_logp_and_gradient(link):
    Y = counts()
    with nbvi.Model() as model:
        z = nbvi.Normal("z", 0.0, 1.0, shape=3)
        p = nbvi.math.softmax(z) if link == "softmax" else nbvi.math.exp(z)  # (normalised by the family)
        nbvi.Multinomial("y", n=20, p=p, observed=Y)
    assert nbvi.explain(model).path in ("fused", "tape")
    theta = np.array([[0.1, -0.2, 0.3]])
    logp, _ = model.logp_dlogp(theta)
    probs = np.exp(theta[0]) / np.exp(theta[0]).sum()
    want = stats.multinomial(20, probs).logpmf(Y).sum() + stats.norm.logpdf(theta[0]).sum()
    np.testing.assert_allclose(logp, [want], rtol=1e-12)
    assert_tape_is_graph(model)
    assert_matches_finite_differences(model)


def test_a_zero_probability_class_never_seen_adds_nothing():
    Y = np.array([[3, 0, 7], [5, 0, 5]])
    with nbvi.Model() as model:
        a = nbvi.HalfNormal("a", 1.0)
        nbvi.Multinomial("y", n=10, p=nbvi.math.stack([a, 0.0 * a, 1.0 + 0.0 * a]), observed=Y)
    logp, grad = model.logp_dlogp(np.array([[0.0]]))
    p = np.array([0.5, 0.0, 0.5])
    want = stats.multinomial(10, p).logpmf(Y).sum() + stats.halfnorm.logpdf(1.0) + 0.0  # a = exp(0), log|J| = 0
    np.testing.assert_allclose(logp, [want], rtol=1e-12)
    assert np.all(np.isfinite(grad))


def test_per_row_n_and_logp_elementwise():
    n = np.array([5, 10, 15])
    Y = np.stack([np.random.default_rng(k).multinomial(m, [0.1, 0.9]) for k, m in enumerate(n)])
    dist = nbvi.Multinomial.dist(n=n, p=np.array([0.1, 0.9]))
    out = dist.logp_elementwise(Y[None].astype(float), n=n[None].astype(float), p=np.array([[0.1, 0.9]]))
    want = [stats.multinomial(m, [0.1, 0.9]).logpmf(y) for m, y in zip(n, Y)]
    np.testing.assert_allclose(out[0], want, rtol=1e-12)


def test_observed_rows_must_sum_to_n():
    with nbvi.Model(), pytest.raises(ValueError, match="summing to n"):
        nbvi.Multinomial("y", n=10, p=np.array([0.5, 0.5]), observed=np.array([[3, 4]]))


def test_bad_parameters_are_named():
    with pytest.raises(ValueError, match="p must be >= 0"):
        nbvi.Multinomial.dist(n=10, p=np.array([-0.1, 1.1]))
    with pytest.raises(ValueError, match="last axis"):
        nbvi.Multinomial.dist(n=10, p=0.5)


def test_random_draws_have_the_multinomial_moments():
    dist = nbvi.Multinomial.dist(n=np.array([10, 30]), p=np.array([0.2, 0.8]))
    draws = dist.random(size=20000, rng=1)
    assert draws.shape == (20000, 2, 2)
    assert np.all(draws.sum(axis=-1) == np.array([10, 30]))
    np.testing.assert_allclose(draws.mean(axis=0), [[2.0, 8.0], [6.0, 24.0]], rtol=0.02)
    np.testing.assert_allclose(draws[:, 1, 0].var(), 30 * 0.2 * 0.8, rtol=0.05)


def test_p_is_recovered():
    Y = counts(n=50, p=(0.1, 0.6, 0.3), rows=200, seed=3)
    with nbvi.Model():
        p = nbvi.Dirichlet("p", np.ones(3))
        nbvi.Multinomial("y", n=50, p=p, observed=Y)
        point = nbvi.find_MAP(progressbar=False)
    np.testing.assert_allclose(point["p"], Y.sum(axis=0) / Y.sum(), atol=2e-3)
