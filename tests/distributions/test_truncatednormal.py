"""TruncatedNormal: log-density against scipy's truncnorm (two-sided, one-sided, deep in a tail), every
partial derivative (bounds included) against central differences, the compiled tape against the graph
walk, transforms for each kind of bound, draws by their moments, and clear errors."""
import numpy as np
import pytest
from density_checks import assert_matches_finite_differences, assert_tape_is_graph
from gradcheck import numeric_grad
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import nbvi
from nbvi import transforms
from nbvi.distributions.truncatednormal import truncatednormal_logp_grad


def reference(x, mu, sigma, lower, upper):
    return stats.truncnorm.logpdf(x, (lower - mu) / sigma, (upper - mu) / sigma, mu, sigma)


@given(mu=st.floats(-3, 3), sigma=st.floats(0.2, 3), lower=st.floats(-4, 2), width=st.floats(0.1, 5),
       where=st.floats(0.01, 0.99))
def test_logp_and_partials(mu, sigma, lower, width, where):
    upper = lower + width
    x = lower + where * width
    out = truncatednormal_logp_grad(x, mu, sigma, lower, upper)
    np.testing.assert_allclose(out[0], reference(x, mu, sigma, lower, upper), rtol=1e-9, atol=1e-12)
    numeric = numeric_grad(lambda v: truncatednormal_logp_grad(*v)[0], np.array([x, mu, sigma, lower, upper]),
                           eps=1e-6 * min(1.0, width))
    np.testing.assert_allclose(out[1:], numeric, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("lower, upper, x", [
    (-np.inf, 1.0, 0.3), (0.5, np.inf, 2.0), (-np.inf, np.inf, 0.3),
    (12.0, 14.0, 12.5),  # both bounds 12 sd above the mean: Phi(upper) - Phi(lower) would be 0
    (-14.0, -12.0, -13.0),
])
def test_one_sided_and_tail_truncations(lower, upper, x):
    out = truncatednormal_logp_grad(x, 0.0, 1.0, lower, upper)
    np.testing.assert_allclose(out[0], reference(x, 0.0, 1.0, lower, upper), rtol=1e-9)
    assert np.all(np.isfinite(out))


def test_outside_or_invalid_is_minus_inf_with_zero_partials():
    for args in [(3.0, 0.0, 1.0, 0.0, 2.0), (1.0, 0.0, -1.0, 0.0, 2.0), (1.0, 0.0, 1.0, 2.0, 0.0),
                 (1.0, 0.0, np.nan, 0.0, 2.0)]:
        out = truncatednormal_logp_grad(*args)
        assert out[0] == -np.inf and all(v == 0.0 for v in out[1:])


def test_compiled_with_free_bounds_of_observed_data():
    data = np.array([0.2, 0.9, 1.4, 0.05])
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0)
        sigma = nbvi.HalfNormal("sigma", 1.0)
        upper = nbvi.Normal("upper", 3.0, 0.1)
        nbvi.TruncatedNormal("y", mu, sigma, lower=0.0, upper=upper, observed=data)
    assert nbvi.explain(model).path in ("fused", "tape")
    assert_tape_is_graph(model, spread=0.1)
    assert_matches_finite_differences(model)


@pytest.mark.parametrize("lower, upper, kind", [(0.0, 2.0, transforms.Interval), (1.0, None, transforms.LowerBound),
                                                (None, -1.0, transforms.UpperBound), (None, None, type(None))])
def test_a_latent_variable_gets_the_transform_of_its_bounds(lower, upper, kind):
    with nbvi.Model() as model:
        x = nbvi.TruncatedNormal("x", 0.5, 2.0, lower=lower, upper=upper)
    assert isinstance(x.transform, kind)
    point = model.initial_point()["x"]
    assert (lower is None or point >= lower) and (upper is None or point <= upper)
    assert_tape_is_graph(model)


def test_random_draws_have_the_truncated_moments():
    dist = nbvi.TruncatedNormal.dist(1.0, 2.0, lower=0.0, upper=3.0)
    draws = dist.random(size=40000, rng=2)
    ref = stats.truncnorm((0.0 - 1.0) / 2.0, (3.0 - 1.0) / 2.0, 1.0, 2.0)
    assert draws.min() >= 0.0 and draws.max() <= 3.0
    assert abs(draws.mean() - ref.mean()) < 4 * ref.std() / np.sqrt(40000)
    far = nbvi.TruncatedNormal.dist(0.0, 1.0, lower=8.0).random(size=1000, rng=3)  # a tail sampler, not 1 - 1
    assert np.all(np.isfinite(far)) and far.min() >= 8.0 and far.mean() < 8.3


def test_moment_is_the_mean():
    dist = nbvi.TruncatedNormal.dist(1.0, 2.0, lower=0.0, upper=3.0)
    ref = stats.truncnorm((0.0 - 1.0) / 2.0, (3.0 - 1.0) / 2.0, 1.0, 2.0)
    np.testing.assert_allclose(dist.moment(**dist.constant_values()), ref.mean(), rtol=1e-10)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(mu=0.0, sigma=-1.0, lower=0.0, upper=1.0), ValueError, "sigma must be > 0"),
    (dict(mu=0.0, sigma=1.0, lower=2.0, upper=1.0), ValueError, "lower must be < upper"),
])
def test_bad_parameters_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        nbvi.TruncatedNormal.dist(**kwargs)


def test_latent_bounds_must_be_constants_and_data_must_lie_inside():
    with nbvi.Model(), pytest.raises(TypeError, match="must be constants"):
        nbvi.TruncatedNormal("x", 0.0, 1.0, lower=nbvi.Normal("b", 0.0, 1.0))
    with nbvi.Model(), pytest.raises(ValueError, match="outside the support"):
        nbvi.TruncatedNormal("y", 0.0, 1.0, lower=0.0, observed=np.array([0.5, -0.1]))
