"""Prior and posterior predictive sampling: moments against closed forms, one ``sample`` call per variable,
predictions on new data, var_names, seeds, and traces from NUTS, from an approximation and from dicts."""
import sys

import numpy as np
import pytest

import nbvi
from nbvi.trace import Trace

N, SIGMA, PRIOR_SD = 8, 1.0, 3.0
DRAWS = 4000


def y_data():
    return np.random.default_rng(0).normal(1.5, SIGMA, N)


def conjugate_model():
    """mu ~ N(0, PRIOR_SD), y_i ~ N(mu, SIGMA): the posterior of mu is N(mean, sd) below, and a posterior
    predictive y_i ~ N(mean, sd^2 + SIGMA^2), with cov(y_i, y_j) = sd^2 through the shared mu."""
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, PRIOR_SD)
        nbvi.Normal("y", mu, SIGMA, observed=y_data())
        nbvi.Deterministic("mu2", 2.0 * mu)
    precision = 1.0 / PRIOR_SD**2 + N / SIGMA**2
    return model, y_data().sum() / SIGMA**2 / precision, precision**-0.5


def exact_trace(draws=DRAWS, seed=1):
    """Exact posterior draws of the conjugate model (so the tests check the predictive step alone)."""
    _, mean, sd = conjugate_model()
    mu = np.random.default_rng(seed).normal(mean, sd, draws)
    return Trace({"mu": mu, "mu2": 2.0 * mu}, chain=np.repeat([0, 1], draws // 2))


def assert_moments(x, mean, var, cov=None, y=None):
    """Mean and variance of draws ``x`` (and their covariance with ``y``) within 4 Monte Carlo standard
    errors: sd / sqrt(n) for the mean, var sqrt(2 / n) for a Gaussian variance, sqrt((var_x var_y + cov^2) / n)
    for a covariance."""
    n = len(x)
    assert abs(x.mean() - mean) < 4 * np.sqrt(var / n)
    assert abs(x.var() - var) < 4 * var * np.sqrt(2.0 / n)
    if cov is not None:
        c = np.mean((x - x.mean()) * (y - y.mean()))
        assert abs(c - cov) < 4 * np.sqrt((var * y.var() + cov**2) / n)


@pytest.fixture(scope="module")
def nuts_trace():
    model, _, _ = conjugate_model()
    return model, nbvi.sample(200, tune=200, chains=2, random_seed=3, progressbar=False, model=model)


def test_posterior_predictive_moments_match_the_closed_form():
    model, mean, sd = conjugate_model()
    with model:
        pp = nbvi.sample_posterior_predictive(exact_trace(), random_seed=2)
    assert isinstance(pp, Trace) and list(pp) == ["y"] and pp["y"].shape == (DRAWS, N)
    y = pp["y"]
    assert_moments(y[:, 0], mean, sd**2 + SIGMA**2, cov=sd**2, y=y[:, 1])


def test_each_draw_uses_its_own_posterior_draw():
    model, _, _ = conjugate_model()
    mu = np.arange(50) * 100.0  # far apart: a draw made from another draw's mu would be ~100 away
    pp = nbvi.sample_posterior_predictive({"mu": mu, "mu2": 2 * mu}, model=model, random_seed=0)
    assert np.all(np.abs(pp["y"] - mu[:, None]) < 6 * SIGMA)


def test_prior_predictive_moments_match_the_closed_form():
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, PRIOR_SD)
        s = nbvi.HalfNormal("s", 2.0)
        nbvi.Normal("y", mu, SIGMA, observed=y_data())
        nbvi.Deterministic("shifted", mu + s)
    prior = nbvi.sample_prior_predictive(DRAWS, model=model, random_seed=4)
    assert set(prior) == {"mu", "s", "y", "shifted"} and prior["y"].shape == (DRAWS, N)
    assert_moments(prior["mu"], 0.0, PRIOR_SD**2)
    # HalfNormal(2): mean 2 sqrt(2 / pi), variance 4 (1 - 2 / pi)
    assert abs(prior["s"].mean() - 2 * np.sqrt(2 / np.pi)) < 4 * np.sqrt(4 * (1 - 2 / np.pi) / DRAWS)
    y = prior["y"]  # y_i = mu + e_i: variance PRIOR_SD^2 + SIGMA^2, covariance PRIOR_SD^2
    assert_moments(y[:, 0], 0.0, PRIOR_SD**2 + SIGMA**2, cov=PRIOR_SD**2, y=y[:, 1])
    np.testing.assert_allclose(prior["shifted"], prior["mu"] + prior["s"])


def test_one_sample_call_per_variable(monkeypatch):
    calls = []
    original = nbvi.Normal.sample

    def counted(self, rng, size, **params):
        calls.append((self.name, tuple(size)))
        return original(self, rng, size, **params)

    monkeypatch.setattr(nbvi.Normal, "sample", counted)
    model, _, _ = conjugate_model()
    nbvi.sample_prior_predictive(300, model=model, random_seed=0)
    assert calls == [("mu", (300,)), ("y", (300, N))]
    calls.clear()
    nbvi.sample_posterior_predictive(exact_trace(300), model=model, random_seed=0)
    assert calls == [("y", (300, N))]
    calls.clear()
    nbvi.sample_prior_predictive(20, model=model, var_names=["mu2"], random_seed=0)  # what mu2 reads, no more
    assert calls == [("mu", (20,))]


def regression(x, y, dims=False):
    coords = {"obs_id": range(len(x))} if dims else None
    with nbvi.Model(coords=coords) as model:
        x_data = nbvi.Data("x", x, dims="obs_id" if dims else None)
        y_data_node = nbvi.Data("y_obs", y, dims="obs_id" if dims else None)
        a = nbvi.Normal("a", 0.0, 10.0)
        b = nbvi.Normal("b", 0.0, 10.0)
        mu = nbvi.Deterministic("mu", a + b * x_data, dims="obs_id" if dims else None)
        nbvi.Normal("y", mu, 0.1, observed=y_data_node, dims="obs_id" if dims else None)
    return model


def regression_trace(draws=400):
    rng = np.random.default_rng(5)
    return {"a": rng.normal(1.0, 0.1, draws), "b": rng.normal(2.0, 0.1, draws)}


@pytest.mark.parametrize("set_observed", [True, False])
def test_predictions_follow_new_data(set_observed):
    """New x with (or without) new placeholder y: the draws take the new rows, centred on a + b x_new."""
    x = np.linspace(-1, 1, 10)
    model = regression(x, 1 + 2 * x)
    trace = regression_trace()
    x_new = np.array([0.0, 5.0, 10.0])
    with model:
        nbvi.set_data({"x": x_new, "y_obs": np.zeros(3)} if set_observed else {"x": x_new})
        pred = nbvi.sample_posterior_predictive(trace, var_names=["y", "mu"], predictions=True, random_seed=1)
    assert pred["y"].shape == (400, 3) and pred["mu"].shape == (400, 3)
    np.testing.assert_allclose(pred["mu"], trace["a"][:, None] + trace["b"][:, None] * x_new)
    assert np.all(np.abs(pred["y"] - pred["mu"]) < 0.6)  # sigma 0.1: 6 sd


def test_predictions_with_dims_follow_the_new_coords():
    x = np.linspace(-1, 1, 10)
    model = regression(x, 1 + 2 * x, dims=True)
    with model:
        nbvi.set_data({"x": np.arange(4.0), "y_obs": np.zeros(4)}, coords={"obs_id": list("abcd")})
        pred = nbvi.sample_posterior_predictive(regression_trace(), random_seed=1)
    assert pred["y"].shape == (400, 4)


def test_var_names_pick_variables_and_deterministics():
    model, _, _ = conjugate_model()
    trace = exact_trace(100)
    with model:
        pp = nbvi.sample_posterior_predictive(trace, var_names=["mu2", "y", "mu"], random_seed=0)
        assert list(pp) == ["mu2", "y", "mu"]
        np.testing.assert_array_equal(pp["mu"], trace["mu"])  # free variables: the trace's draws
        np.testing.assert_allclose(pp["mu2"], 2 * trace["mu"])  # deterministics: recomputed
        prior = nbvi.sample_prior_predictive(50, var_names=["y"], random_seed=0)
        assert list(prior) == ["y"]
        with pytest.raises(ValueError, match=r"var_names: \['nope'\]"):
            nbvi.sample_posterior_predictive(trace, var_names=["nope"])
        with pytest.raises(TypeError, match="var_names"):
            nbvi.sample_prior_predictive(10, var_names=[1])


def test_seeds_reproduce_draws():
    model, _, _ = conjugate_model()
    trace = exact_trace(100)
    with model:
        first = nbvi.sample_posterior_predictive(trace, random_seed=7)["y"]
        np.testing.assert_array_equal(first, nbvi.sample_posterior_predictive(trace, random_seed=7)["y"])
        assert not np.array_equal(first, nbvi.sample_posterior_predictive(trace, random_seed=8)["y"])
        prior = nbvi.sample_prior_predictive(20, random_seed=7)
        np.testing.assert_array_equal(prior["y"], nbvi.sample_prior_predictive(20, random_seed=7)["y"])


def test_nuts_trace_keeps_its_chains(nuts_trace):
    model, trace = nuts_trace
    _, mean, sd = conjugate_model()
    pp = nbvi.sample_posterior_predictive(trace, model=model, random_seed=0)
    assert pp["y"].shape == (400, N)
    np.testing.assert_array_equal(pp.chain, trace.chain)
    assert abs(pp["y"].mean() - mean) < 0.5  # loose: 400 correlated MCMC draws, predictive sd ~ 1


def test_approximation_trace():
    model, mean, _ = conjugate_model()
    approx = nbvi.fit(2000, model=model, random_seed=0, progressbar=False, obj_optimizer=nbvi.adam(learning_rate=0.1))
    pp = nbvi.sample_posterior_predictive(approx.sample(300, random_seed=1), model=model, random_seed=0)
    assert pp["y"].shape == (300, N) and pp.n_chains == 1
    assert abs(pp["y"].mean() - mean) < 0.5


def test_observed_variable_reading_another():
    """y2 reads y1: drawn y1 values when y1 is drawn too, y1's data when it is not."""
    d1 = np.array([10.0, 20.0, 30.0])
    with nbvi.Model():
        mu = nbvi.Normal("mu", 0.0, 1.0)
        y1 = nbvi.Normal("y1", mu, 1.0, observed=d1)
        nbvi.Normal("y2", y1, 0.01, observed=d1)
        pp = nbvi.sample_posterior_predictive({"mu": np.zeros(200)}, random_seed=0)
        assert np.all(np.abs(pp["y2"] - pp["y1"]) < 0.06) and np.all(np.abs(pp["y1"]) < 6)
        alone = nbvi.sample_posterior_predictive({"mu": np.zeros(200)}, var_names=["y2"], random_seed=0)
        assert np.all(np.abs(alone["y2"] - d1) < 0.06)
        prior = nbvi.sample_prior_predictive(200, random_seed=0)
        assert np.all(np.abs(prior["y2"] - prior["y1"]) < 0.06)


def test_vector_families():
    """Families with core axes: MvNormal (its covariance), Dirichlet, Categorical and NormalMixture draws."""
    cov = np.array([[1.0, 0.8], [0.8, 2.0]])
    with nbvi.Model() as model:
        w = nbvi.Dirichlet("w", np.ones(3))
        nbvi.Categorical("c", p=w, observed=np.zeros(5, dtype=int))
        x = nbvi.MvNormal("x", mu=np.zeros(2), cov=cov)
        nbvi.MvNormal("z", mu=x, cov=np.eye(2), observed=np.zeros((4, 2)))
        nbvi.NormalMixture("m", w=w, mu=np.array([-10.0, 0.0, 10.0]), sigma=0.1, observed=np.zeros(6))
    prior = nbvi.sample_prior_predictive(DRAWS, model=model, random_seed=0)
    assert prior["w"].shape == (DRAWS, 3) and prior["c"].shape == (DRAWS, 5) and prior["m"].shape == (DRAWS, 6)
    np.testing.assert_allclose(prior["w"].sum(axis=1), 1.0)
    assert set(np.unique(prior["c"])) == {0, 1, 2}
    # 4 MC standard errors of a covariance entry: sqrt((var_i var_j + cov_ij^2) / n) <= sqrt(8 / n)
    np.testing.assert_allclose(np.cov(prior["x"].T), cov, atol=4 * np.sqrt(8 / DRAWS))
    assert prior["z"].shape == (DRAWS, 4, 2)
    np.testing.assert_allclose(np.cov(prior["z"][:, 0].T), cov + np.eye(2), atol=4 * np.sqrt(18 / DRAWS))
    assert np.all(np.min(np.abs(prior["m"][..., None] - [-10.0, 0.0, 10.0]), axis=-1) < 1.0)


def test_categorical_linear_form():
    """Categorical(p=softmax(X beta + intercept)) with data X: class frequencies follow the softmax."""
    X = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    with nbvi.Model() as model:
        X_data = nbvi.Data("X", X)
        beta = nbvi.Normal("beta", 0.0, 1.0, shape=(2, 3))
        intercept = nbvi.Normal("intercept", 0.0, 1.0, shape=3)
        nbvi.Categorical("c", p=nbvi.math.softmax(X_data.dot(beta) + intercept), observed=np.zeros(3, dtype=int))
    beta_value = np.array([[3.0, 0.0, 0.0], [0.0, 3.0, 0.0]])
    trace = {"beta": np.broadcast_to(beta_value, (DRAWS, 2, 3)), "intercept": np.zeros((DRAWS, 3))}
    pp = nbvi.sample_posterior_predictive(trace, model=model, random_seed=0)
    logits = X @ beta_value
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    freq = np.stack([(pp["c"] == k).mean(axis=0) for k in range(3)], axis=1)
    np.testing.assert_allclose(freq, p, atol=4 * 0.5 / np.sqrt(DRAWS))  # binomial sd <= 0.5 / sqrt(n)
    with model:
        nbvi.set_data({"X": np.zeros((7, 2))})
        pred = nbvi.sample_posterior_predictive(trace, random_seed=0)
    assert pred["c"].shape == (DRAWS, 7)


def test_prior_predictive_warns_about_potentials():
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0)
        nbvi.Potential("pull", -(mu**2))
    with pytest.warns(UserWarning, match="Potential"):
        nbvi.sample_prior_predictive(10, model=model)


def test_random_of_a_variable_with_a_free_parent_points_to_prior_predictive():
    with nbvi.Model():
        mu = nbvi.Normal("mu", 0.0, 1.0)
        y = nbvi.Normal("y", mu, 1.0, shape=3)
        z = nbvi.Normal("z", 5.0, 1.0, shape=2)
    with pytest.raises(ValueError, match=r"\['mu'\].*sample_prior_predictive"):
        y.random()
    assert z.random(size=4, rng=0).shape == (4, 2)


def test_errors_name_the_argument(monkeypatch):
    model, _, _ = conjugate_model()
    with pytest.raises(TypeError, match="model"):
        nbvi.sample_posterior_predictive(exact_trace(10))
    with pytest.raises(ValueError, match=r"free variable\(s\) \['mu'\].*another model"):
        nbvi.sample_posterior_predictive({"sigma": np.ones(10)}, model=model)
    with pytest.raises(ValueError, match="'mu'.*shape"):
        nbvi.sample_posterior_predictive({"mu": np.ones((10, 2))}, model=model)
    with pytest.raises(TypeError, match="trace must be"):
        nbvi.sample_posterior_predictive([1, 2], model=model)
    with pytest.raises(TypeError, match="extend_inferencedata"):
        nbvi.sample_posterior_predictive(exact_trace(10), model=model, extend_inferencedata=True)
    with pytest.raises(ValueError, match="draws"):
        nbvi.sample_prior_predictive(0, model=model)
    with pytest.raises(TypeError, match="idata_kwargs"):
        nbvi.sample_prior_predictive(10, model=model, idata_kwargs={"bad": 1})
    monkeypatch.setitem(sys.modules, "arviz", None)  # makes `import arviz` fail even where it is installed
    with pytest.raises(ImportError, match=r'pip install "nbvi\[arviz\]"'):
        nbvi.sample_posterior_predictive(exact_trace(10), model=model, return_inferencedata=True)
    with pytest.raises(ImportError, match=r'pip install "nbvi\[arviz\]"'):
        nbvi.sample_prior_predictive(10, model=model, return_inferencedata=True)
    # the default result needs no arviz
    assert nbvi.sample_prior_predictive(10, model=model)["y"].shape == (10, N)


def test_an_empty_trace_is_a_clear_error():
    with nbvi.Model():
        nbvi.Poisson("y", 3.0, observed=np.array([1, 2]))
        with pytest.raises(ValueError, match="trace has no draws"):
            nbvi.sample_posterior_predictive(nbvi.Trace({}))


def test_samples_is_the_older_name_of_draws():
    with nbvi.Model():
        nbvi.Normal("x", 0.0, 1.0)
        assert nbvi.sample_prior_predictive(samples=7, random_seed=1)["x"].shape == (7,)
        with pytest.raises(TypeError, match="not both"):
            nbvi.sample_prior_predictive(5, samples=7)
