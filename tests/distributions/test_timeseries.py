"""GaussianRandomWalk: its log-density against scipy (initial value plus Normal innovations), the compiled
tape against the graph walk and finite differences, shapes from steps / shape / batch parameters, random
draws by their moments, a posterior that recovers the drift, and clear errors."""
import numpy as np
import pytest
from density_checks import assert_matches_finite_differences, assert_tape_is_graph
from scipy import stats

import nbvi
from nbvi.graph.evaluate import Program


def walk_model(batch=(), steps=6, init=None):
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0, shape=batch)
        sigma = nbvi.HalfNormal("sigma", 1.0)
        nbvi.GaussianRandomWalk("x", mu, sigma, init_dist=init or nbvi.Normal.dist(0.5, 2.0), steps=steps,
                                shape=batch + (steps + 1,))
    return model


def reference_logp(x, mu, sigma, init_mu, init_sigma):
    """log N(x_0 | init) + sum_t log N(x_t - x_{t-1} | mu, sigma), written out with scipy."""
    mu = np.asarray(mu)[..., None]
    return (stats.norm.logpdf(x[..., 0], init_mu, init_sigma)
            + stats.norm.logpdf(np.diff(x, axis=-1), mu, sigma).sum(axis=-1))


@pytest.mark.parametrize("batch", [(), (3,)])
def test_logp_is_the_initial_value_plus_the_innovations(batch):
    model = walk_model(batch)
    rng = np.random.default_rng(0)
    x = rng.normal(size=batch + (7,))
    mu = rng.normal(size=batch)
    point = {"mu": mu, "sigma": 0.7, "x": x}
    theta = model.initial_point_flat()
    # the walk's own term at this point, from the graph
    rv = model["x"]
    term = Program([rv.dist.logp(rv)], inputs=list(model.free_RVs)).run(
        [np.asarray(point[v.name], dtype=float)[None] for v in model.free_RVs])[0]
    assert theta.size == model.ndim
    np.testing.assert_allclose(term[0], reference_logp(x, mu, 0.7, 0.5, 2.0).sum(), rtol=1e-12)


@pytest.mark.parametrize("batch", [(), (3,)])
def test_the_tape_runs_the_walk_as_the_graph_does(batch):
    model = walk_model(batch)
    assert nbvi.explain(model).path in ("fused", "tape")
    assert_tape_is_graph(model)
    assert_matches_finite_differences(model)


def test_a_studentt_initial_value_and_an_observed_walk():
    y = np.cumsum(np.random.default_rng(1).normal(0.2, 0.5, size=30))
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0)
        sigma = nbvi.HalfNormal("sigma", 1.0)
        nbvi.GaussianRandomWalk("y", mu, sigma, init_dist=nbvi.StudentT.dist(4.0, 0.0, 1.0), observed=y)
    assert model["y"].shape == (30,)
    assert_tape_is_graph(model)


def test_logp_elementwise_gives_one_number_per_walk():
    model = walk_model((3,))
    dist = model["x"].dist
    x = np.random.default_rng(2).normal(size=(4, 3, 7))
    mu = np.random.default_rng(3).normal(size=(4, 3))
    params = {"mu": mu, "sigma": np.full((4,), 0.7), "init_mu": np.array([0.5]), "init_sigma": np.array([2.0])}
    out = dist.logp_elementwise(x, **params)
    assert out.shape == (4, 3)
    np.testing.assert_allclose(out, reference_logp(x, mu, 0.7, 0.5, 2.0), rtol=1e-12)


def test_random_draws_have_the_walks_moments():
    dist = nbvi.GaussianRandomWalk.dist(0.3, 0.5, init_dist=nbvi.Normal.dist(1.0, 0.1), steps=20)
    draws = dist.random(size=20000, rng=4)
    assert draws.shape == (20000, 21)
    t = np.arange(21)
    np.testing.assert_allclose(draws.mean(axis=0), 1.0 + 0.3 * t, atol=0.05)
    np.testing.assert_allclose(draws.var(axis=0), 0.01 + 0.25 * t, rtol=0.05)


def test_the_drift_is_recovered():
    rng = np.random.default_rng(5)
    y = np.cumsum(rng.normal(0.4, 0.3, size=400))
    with nbvi.Model():
        mu = nbvi.Normal("mu", 0.0, 1.0)
        sigma = nbvi.HalfNormal("sigma", 1.0)
        nbvi.GaussianRandomWalk("y", mu, sigma, init_dist=nbvi.Normal.dist(0.0, 10.0), observed=y)
        point = nbvi.find_MAP(progressbar=False)
    steps = np.diff(y)
    assert point["mu"] == pytest.approx(steps.mean(), abs=0.01)
    assert point["sigma"] == pytest.approx(steps.std(), rel=0.03)


def test_shape_steps_and_the_default_initial_distribution():
    with nbvi.Model():
        with pytest.warns(UserWarning, match="Initial distribution not specified"):
            x = nbvi.GaussianRandomWalk("x", 0.0, 1.0, shape=(2, 5))
    assert x.dist.steps == 4 and x.shape == (2, 5)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(mu=0.0, sigma=1.0), ValueError, "give steps or a shape"),
    (dict(mu=0.0, sigma=1.0, steps=0), ValueError, "steps must be >= 1"),
    (dict(mu=0.0, sigma=-1.0, steps=3), ValueError, "sigma must be > 0"),
    (dict(mu=0.0, sigma=1.0, steps=3, init_dist=1.0), TypeError, "init_dist must be a distribution"),
    (dict(mu=0.0, sigma=1.0, steps=3, init_dist=nbvi.Dirichlet.dist(np.ones(3))), TypeError, "scalar family"),
    (dict(mu=0.0, sigma=1.0, steps=3, total_size=100), ValueError, "total_size is not supported"),
])
def test_bad_arguments_are_named(kwargs, error, match):
    kwargs.setdefault("init_dist", nbvi.Normal.dist(0.0, 1.0))
    with nbvi.Model(), pytest.raises(error, match=match):
        nbvi.GaussianRandomWalk("x", **kwargs)
