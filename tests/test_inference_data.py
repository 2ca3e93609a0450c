"""InferenceData from nbvi's draws: groups, coords and dims, sample stats under arviz's names, the pointwise
log-likelihood against scipy, ``arviz.loo``, predictive groups; and the arviz-free paths without arviz."""
import sys
import warnings

import numpy as np
import pytest
from scipy import special, stats

import nbvi
from nbvi.inference_data import group_arrays, groups_of
from nbvi.trace import Trace

X = np.linspace(-1.0, 1.0, 12)
S = 50


def draws(seed=0):
    rng = np.random.default_rng(seed)
    return {"a": rng.normal(0.5, 0.1, S), "b": rng.normal(1.0, 0.1, S), "s": rng.uniform(0.5, 1.5, S)}


def normal_model():
    y = 0.5 + X + np.random.default_rng(1).normal(0.0, 1.0, X.size)
    with nbvi.Model(coords={"obs_id": [f"o{i}" for i in range(X.size)]}) as model:
        x = nbvi.Data("x", X, dims="obs_id")
        a = nbvi.Normal("a", 0.0, 5.0)
        b = nbvi.Normal("b", 0.0, 5.0)
        s = nbvi.HalfNormal("s", 2.0)
        mu = nbvi.Deterministic("mu", a + b * x, dims="obs_id")
        nbvi.Normal("y", mu, s, observed=y, dims="obs_id")
    return model, y


def expected_normal(trace, y):
    mu = trace["a"][:, None] + trace["b"][:, None] * X
    return stats.norm.logpdf(y, mu, trace["s"][:, None])


def poisson_model():
    counts = np.random.default_rng(2).poisson(np.exp(0.5 + X))
    with nbvi.Model() as model:
        a = nbvi.Normal("a", 0.0, 5.0)
        b = nbvi.Normal("b", 0.0, 5.0)
        nbvi.HalfNormal("s", 1.0)
        nbvi.Poisson("y", nbvi.math.exp(a + b * X), observed=counts)
    return model, counts


def bernoulli_model(logit):
    flips = (np.random.default_rng(3).random(X.size) < special.expit(X)).astype(int)
    with nbvi.Model() as model:
        a = nbvi.Normal("a", 0.0, 5.0)
        b = nbvi.Normal("b", 0.0, 5.0)
        nbvi.HalfNormal("s", 1.0)
        if logit:
            nbvi.Bernoulli("y", logit_p=a + b * X, observed=flips)
        else:
            nbvi.Bernoulli("y", p=nbvi.math.sigmoid(a + b * X), observed=flips)
    return model, flips


# -- arviz-free ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["normal", "poisson", "bernoulli_logit", "bernoulli_p"])
def test_pointwise_log_likelihood_matches_scipy(case):
    trace = Trace(draws(), chain=np.repeat([0, 1], S // 2))
    if case == "normal":
        model, y = normal_model()
        expected = expected_normal(trace, y)
    elif case == "poisson":
        model, y = poisson_model()
        expected = stats.poisson.logpmf(y, np.exp(trace["a"][:, None] + trace["b"][:, None] * X))
    else:
        model, y = bernoulli_model(logit=case.endswith("logit"))
        expected = stats.bernoulli.logpmf(y, special.expit(trace["a"][:, None] + trace["b"][:, None] * X))
    ll = nbvi.compute_log_likelihood(trace, model=model)
    assert isinstance(ll, Trace) and list(ll) == ["y"]
    np.testing.assert_array_equal(ll.chain, trace.chain)
    np.testing.assert_allclose(ll["y"], expected, rtol=1e-10, atol=1e-12)


def test_pointwise_log_likelihood_is_not_scaled_by_total_size():
    y = np.zeros(4)
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0)
        nbvi.Normal("y", mu, 1.0, observed=y, total_size=400)
    mu = np.linspace(-1, 1, 5)
    ll = nbvi.compute_log_likelihood({"mu": mu}, model=model)
    np.testing.assert_allclose(ll["y"], stats.norm.logpdf(y, mu[:, None], 1.0))


def test_pointwise_log_likelihood_per_event():
    """MvNormal: one log-density per event (row), not per coordinate."""
    cov = np.array([[1.0, 0.3], [0.3, 2.0]])
    obs = np.array([[0.0, 1.0], [1.0, -1.0], [2.0, 0.5]])
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0, shape=2)
        nbvi.MvNormal("z", mu=mu, cov=cov, observed=obs)
    mu = np.random.default_rng(0).normal(size=(6, 2))
    ll = nbvi.compute_log_likelihood({"mu": mu}, model=model)
    expected = [[stats.multivariate_normal.logpdf(row, m, cov) for row in obs] for m in mu]
    np.testing.assert_allclose(ll["z"], expected)


def test_pointwise_log_likelihood_of_a_softmax_regression():
    """Categorical(p=softmax(X beta + intercept)) with data X (the linear form nbvi fuses): log softmax_y."""
    X_rows = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.0, 0.0]])
    classes = np.array([0, 1, 2, 1])
    with nbvi.Model() as model:
        X_data = nbvi.Data("X", X_rows)
        beta = nbvi.Normal("beta", 0.0, 1.0, shape=(2, 3))
        intercept = nbvi.Normal("intercept", 0.0, 1.0, shape=3)
        nbvi.Categorical("c", p=nbvi.math.softmax(X_data.dot(beta) + intercept), observed=classes)
    rng = np.random.default_rng(0)
    trace = {"beta": rng.normal(size=(5, 2, 3)), "intercept": rng.normal(size=(5, 3))}
    z = X_rows @ trace["beta"] + trace["intercept"][:, None]
    expected = special.log_softmax(z, axis=-1)[:, np.arange(4), classes]
    np.testing.assert_allclose(nbvi.compute_log_likelihood(trace, model=model)["c"], expected, atol=1e-12)


def test_without_arviz_the_errors_say_what_to_install(monkeypatch):
    model, _ = normal_model()
    monkeypatch.setitem(sys.modules, "arviz", None)  # makes `import arviz` fail even where it is installed
    message = r'pip install "nbvi\[arviz\]"'
    with pytest.raises(ImportError, match=message):
        nbvi.sample(10, tune=10, model=model, return_inferencedata=True)  # before any draw is made
    with pytest.raises(ImportError, match=message):
        Trace(draws()).to_inference_data(model=model)
    with pytest.raises(ImportError, match=message):
        nbvi.MeanField(model).sample(10, return_inferencedata=True)


def test_idata_kwargs_are_checked():
    model, _ = normal_model()
    with pytest.raises(TypeError, match=r"idata_kwargs: unknown keys \['bogus'\]"):
        nbvi.sample(10, tune=10, model=model, return_inferencedata=True, idata_kwargs={"bogus": 1})
    with pytest.raises(ValueError, match="return_inferencedata"):
        nbvi.sample(10, tune=10, model=model, idata_kwargs={"log_likelihood": True})
    with pytest.raises(ValueError, match=r"var_names: \['a'\] are not observed"):
        nbvi.compute_log_likelihood(Trace(draws()), var_names=["a"], model=model)


# -- with arviz ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def nuts_idata():
    pytest.importorskip("arviz")
    model, y = normal_model()
    idata = nbvi.sample(200, tune=200, chains=2, random_seed=4, progressbar=False, model=model,
                        return_inferencedata=True, idata_kwargs={"log_likelihood": True})
    return model, y, idata


def test_nuts_groups_and_stats(nuts_idata):
    _, y, idata = nuts_idata
    assert {"posterior", "sample_stats", "log_likelihood", "observed_data", "constant_data"} <= set(groups_of(idata))
    posterior = group_arrays(idata, "posterior")
    assert posterior["a"].shape == (2, 200) and posterior["mu"].shape == (2, 200, X.size)
    stats_ = group_arrays(idata, "sample_stats")
    for name in ("diverging", "tree_depth", "energy", "lp", "acceptance_rate", "step_size", "n_steps"):
        assert stats_[name].shape == (2, 200), name
    assert "mean_tree_accept" not in stats_
    np.testing.assert_array_equal(group_arrays(idata, "observed_data")["y"], y)
    np.testing.assert_array_equal(group_arrays(idata, "constant_data")["x"], X)
    ll = group_arrays(idata, "log_likelihood")["y"]
    flat = {k: v.reshape(400) for k, v in posterior.items() if k in ("a", "b", "s")}
    np.testing.assert_allclose(ll.reshape(400, X.size), expected_normal(flat, y), rtol=1e-10)


def test_coords_and_dims(nuts_idata):
    _, _, idata = nuts_idata
    mu = idata["posterior"]["mu"]
    assert tuple(mu.dims) == ("chain", "draw", "obs_id")
    assert list(mu["obs_id"].values) == [f"o{i}" for i in range(X.size)]
    assert tuple(idata["log_likelihood"]["y"].dims) == ("chain", "draw", "obs_id")
    assert tuple(idata["observed_data"]["y"].dims) == ("obs_id",)


def test_default_dims_for_variables_without_dims():
    pytest.importorskip("arviz")
    with nbvi.Model() as model:
        nbvi.Normal("v", 0.0, 1.0, shape=3)
    idata = Trace({"v": np.zeros((4, 3))}).to_inference_data(model=model)
    assert tuple(idata["posterior"]["v"].dims) == ("chain", "draw", "v_dim_0")


def test_loo_runs(nuts_idata):
    arviz = pytest.importorskip("arviz")
    _, _, idata = nuts_idata
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (a Pareto k warning on 400 draws is arviz's business, not ours)
        result = arviz.loo(idata)
    elpd = result.elpd if hasattr(result, "elpd") else result["elpd_loo"]  # arviz 1.x, 0.x
    assert np.isfinite(float(elpd))


def test_approximation_sample_is_one_chain():
    pytest.importorskip("arviz")
    model, _ = normal_model()
    approx = nbvi.MeanField(model)
    idata = approx.sample(30, random_seed=0, return_inferencedata=True, idata_kwargs={"log_likelihood": True})
    assert group_arrays(idata, "posterior")["a"].shape == (1, 30)
    assert group_arrays(idata, "log_likelihood")["y"].shape == (1, 30, X.size)
    assert "sample_stats" not in groups_of(idata)


def test_trace_to_inference_data_splits_chains():
    pytest.importorskip("arviz")
    trace = Trace({"mu": np.arange(6.0)}, chain=[0, 1, 0, 1, 0, 1], sample_stats={"mean_tree_accept": np.ones(6)})
    idata = trace.to_inference_data()  # no model: the draws alone
    np.testing.assert_array_equal(group_arrays(idata, "posterior")["mu"], [[0, 2, 4], [1, 3, 5]])
    assert group_arrays(idata, "sample_stats")["acceptance_rate"].shape == (2, 3)
    assert set(groups_of(idata)) == {"posterior", "sample_stats"}
    with pytest.raises(ValueError, match="log_likelihood needs the model"):
        trace.to_inference_data(log_likelihood=True)


def test_posterior_predictive_groups(nuts_idata):
    pytest.importorskip("arviz")
    model, _, idata = nuts_idata
    with model:
        pp = nbvi.sample_posterior_predictive(idata, random_seed=0, return_inferencedata=True)
        assert {"posterior_predictive", "observed_data", "constant_data"} <= set(groups_of(pp))
        assert "posterior" not in groups_of(pp)
        assert group_arrays(pp, "posterior_predictive")["y"].shape == (2, 200, X.size)
        assert tuple(pp["posterior_predictive"]["y"].dims) == ("chain", "draw", "obs_id")
        # the same draws as from the flattened trace, chains kept
        flat = Trace({k: v.reshape((400,) + v.shape[2:]) for k, v in group_arrays(idata, "posterior").items()},
                     chain=np.repeat([0, 1], 200))
        plain = nbvi.sample_posterior_predictive(flat, random_seed=0)
        np.testing.assert_array_equal(group_arrays(pp, "posterior_predictive")["y"].reshape(400, -1), plain["y"])


def test_extend_and_predictions():
    pytest.importorskip("arviz")
    model, _ = normal_model()
    idata = Trace(draws(), chain=np.repeat([0, 1], S // 2)).to_inference_data(model=model)
    with model:
        same = nbvi.sample_posterior_predictive(idata, extend_inferencedata=True, random_seed=0)
        assert same is idata and "posterior_predictive" in groups_of(idata)
        nbvi.set_data({"x": np.array([0.0, 1.0, 2.0])}, coords={"obs_id": ["n0", "n1", "n2"]})
        nbvi.sample_posterior_predictive(idata, predictions=True, extend_inferencedata=True, random_seed=0)
    assert {"predictions", "predictions_constant_data"} <= set(groups_of(idata))
    predictions = idata["predictions"]["y"]
    assert predictions.shape == (2, S // 2, 3) and list(predictions["obs_id"].values) == ["n0", "n1", "n2"]
    np.testing.assert_array_equal(group_arrays(idata, "predictions_constant_data")["x"], [0.0, 1.0, 2.0])
    assert group_arrays(idata, "posterior_predictive")["y"].shape == (2, S // 2, X.size)  # kept as it was


def test_compute_log_likelihood_on_inference_data():
    pytest.importorskip("arviz")
    model, y = normal_model()
    trace = Trace(draws())
    idata = trace.to_inference_data(model=model)
    assert "log_likelihood" not in groups_of(idata)
    alone = nbvi.compute_log_likelihood(idata, model=model, extend_inferencedata=False)
    assert "log_likelihood" not in groups_of(idata)
    np.testing.assert_allclose(np.asarray(alone["y"].values)[0], expected_normal(trace, y))
    assert nbvi.compute_log_likelihood(idata, model=model) is idata
    np.testing.assert_allclose(group_arrays(idata, "log_likelihood")["y"][0], expected_normal(trace, y))


def test_prior_groups():
    pytest.importorskip("arviz")
    model, _ = normal_model()
    prior = nbvi.sample_prior_predictive(40, model=model, random_seed=0, return_inferencedata=True)
    assert {"prior", "prior_predictive", "observed_data", "constant_data"} <= set(groups_of(prior))
    assert set(group_arrays(prior, "prior")) == {"a", "b", "s", "mu"}
    assert group_arrays(prior, "prior_predictive")["y"].shape == (1, 40, X.size)


def test_log_likelihood_after_set_data_of_the_predictors_only_names_the_variable():
    x = np.linspace(-1, 1, 8)
    with nbvi.Model() as model:
        xd = nbvi.Data("x", x)
        b = nbvi.Normal("b", 0, 1)
        nbvi.Normal("y", b * xd, 1.0, observed=1 + x)
    with model:
        nbvi.set_data({"x": np.zeros(3)})
        with pytest.raises(ValueError, match="'y': its observed data .* does not fit its parameters"):
            nbvi.compute_log_likelihood(nbvi.Trace({"b": np.zeros(10)}))


def test_summary_and_plot_trace_take_an_inference_data_as_its_trace():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from nbvi import plots

    with nbvi.Model() as model:
        nbvi.Normal("x", 0.0, 1.0, shape=2)
    trace = nbvi.sample(100, tune=100, chains=2, model=model, random_seed=1, progressbar=False)
    idata = trace.to_inference_data(model=model)
    table, expected = nbvi.summary(idata), nbvi.summary(trace)
    assert str(table) == str(expected)
    fig = plots.plot_trace(idata)
    assert len(fig.axes) == 2
    kept = nbvi.sample(100, tune=100, chains=2, model=model, random_seed=1, progressbar=False,
                       discard_tuned_samples=False)
    assert str(nbvi.summary(kept)) == str(nbvi.summary(trace))  # the warm-up draws are left out
