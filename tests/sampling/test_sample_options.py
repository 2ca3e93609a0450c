"""PyMC's keywords of ``pm.sample`` that ``nbvi.sample`` takes: ADVI inits, initvals, discard_tuned_samples,
compute_convergence_checks, nuts_sampler, step, nuts, keep_warning_stat, and the refusal of Minibatch models.

Each option has a test that fails when the option is ignored.
"""
import warnings

import numpy as np
import pytest

import nbvi
from nbvi.sampling import sample as sample_module
from nbvi.sampling.advi_init import advi_start
from nbvi.sampling.sample import convergence_warnings, sample


def normal_model():
    """y ~ N(mu, s), 50 points: the posterior of mu is close to N(mean(y), s / sqrt(50))."""
    y = np.random.default_rng(0).normal(1.0, 2.0, 50)
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 10.0)
        s = nbvi.HalfNormal("s", 5.0)
        nbvi.Normal("y", mu, s, observed=y)
    return model, y


def quiet(**kwargs):
    """sample() with the options of a short test run, its warnings (divergences during a short warm-up, the
    convergence checks of a short run) silenced."""
    options = dict(progressbar=False, compute_convergence_checks=False)
    options.update(kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sample(**options)


# -- init="advi", "advi+adapt_diag", "advi_map" ----------------------------------------------------------------
@pytest.mark.parametrize("init", ["advi", "advi+adapt_diag", "advi_map"])
def test_advi_inits_start_near_the_posterior(init):
    model, y = normal_model()
    points, inv_metric = advi_start(model, init, 4, np.random.SeedSequence(1))
    assert points.shape == (4, 2) and inv_metric.shape == (2,)
    sd_mu = y.std() / np.sqrt(len(y))  # the posterior sd of mu, about 0.27
    # draws from q ~ N(posterior mean, posterior sd): each within 4 sd of the mean (a failure ~ 6e-5 per draw)
    assert np.all(np.abs(points[:, 0] - y.mean()) < 4 * sd_mu)
    assert 0.5 * sd_mu**2 < inv_metric[0] < 2.0 * sd_mu**2  # mean-field ADVI gets this sd within ~10 %
    # the chains' first warm-up draws are the ADVI draws (moved by one transition), near the posterior
    trace = quiet(draws=10, tune=20, chains=4, model=model, random_seed=5, init=init, discard_tuned_samples=False)
    first = trace["mu"][[np.flatnonzero(trace.chain == c)[0] for c in range(4)]]
    assert np.all(np.abs(first - y.mean()) < 6 * sd_mu)


@pytest.mark.parametrize("init", ["advi", "advi+adapt_diag", "advi_map"])
def test_advi_inits_same_seed_same_draws(init):
    model, _ = normal_model()
    a = quiet(draws=50, tune=50, model=model, random_seed=7, init=init)
    b = quiet(draws=50, tune=50, model=model, random_seed=7, init=init)
    c = quiet(draws=50, tune=50, model=model, random_seed=8, init=init)
    np.testing.assert_array_equal(a["mu"], b["mu"])
    np.testing.assert_array_equal(a.sample_stats["step_size"], b.sample_stats["step_size"])
    assert not np.array_equal(a["mu"], c["mu"])


def test_advi_posterior_recovered():
    model, y = normal_model()
    trace = quiet(draws=1000, tune=500, model=model, random_seed=2, init="advi+adapt_diag")
    # 4 Monte Carlo standard errors (ESS of NUTS on this model is > 500 of 2000 draws)
    sd_mu = y.std() / np.sqrt(len(y))
    assert abs(trace["mu"].mean() - y.mean()) < 4 * sd_mu / np.sqrt(500)


def test_advi_keeps_its_metric_and_advi_adapt_diag_adapts_it(monkeypatch):
    model, _ = normal_model()
    fixed = np.array([0.3, 0.05])
    monkeypatch.setattr(sample_module, "advi_start", lambda model, init, chains, *args: (
        np.tile(model.initial_point_flat(), (chains, 1)), fixed))
    seen = []
    real = sample_module.kernel_inv_mass
    monkeypatch.setattr(sample_module, "kernel_inv_mass", lambda ws, metric: seen.append(metric.copy()) or
                        real(ws, metric))
    quiet(draws=20, tune=200, chains=1, model=model, random_seed=1, init="advi")
    assert len(seen) == 1 and np.array_equal(seen[0], fixed)  # the ADVI variances, never replaced
    seen.clear()
    quiet(draws=20, tune=200, chains=1, model=model, random_seed=1, init="advi+adapt_diag")
    assert np.array_equal(seen[0], fixed) and len(seen) > 1  # the first metric, then the windows' own
    assert not np.array_equal(seen[-1], fixed)


def test_advi_init_starts_advi_at_initvals(monkeypatch):
    model, _ = normal_model()
    got = []
    monkeypatch.setattr(sample_module, "advi_start", lambda model, init, chains, seed, start, progressbar: (
        got.append(start) or (np.tile(model.initial_point_flat(), (chains, 1)), np.ones(model.ndim))))
    quiet(draws=5, tune=5, model=model, random_seed=1, init="advi", initvals={"mu": 3.0})
    assert got[0][0] == 3.0  # (mu is untransformed: its flat value is the value itself)


def test_advi_init_errors():
    model, _ = normal_model()
    with pytest.raises(ValueError, match="initvals may be one dict"):
        sample(draws=5, tune=5, model=model, init="advi", initvals=[{"mu": 0.0}, {"mu": 1.0}], progressbar=False)
    for init, hint in (("jitter+adapt_diag_grad", "jitter\\+adapt_diag"), ("map", "find_MAP"), ("nope", "one of")):
        with pytest.raises(ValueError, match=hint):
            sample(draws=5, tune=5, model=model, init=init, progressbar=False)


# -- initvals ------------------------------------------------------------------------------------------------
def test_initvals_is_start():
    model, _ = normal_model()
    for point in ({"mu": 2.0, "s": 1.5}, [{"mu": -1.0}, {"mu": 4.0}]):
        a = quiet(draws=30, tune=30, model=model, random_seed=4, initvals=point)
        b = quiet(draws=30, tune=30, model=model, random_seed=4, start=point)
        np.testing.assert_array_equal(a["mu"], b["mu"])
        c = quiet(draws=30, tune=30, model=model, random_seed=4)
        assert not np.array_equal(a["mu"], c["mu"])


def test_initvals_errors_name_initvals():
    model, _ = normal_model()
    with pytest.raises(ValueError, match="initvals and start are both given"):
        sample(draws=5, tune=5, model=model, initvals={"mu": 0.0}, start={"mu": 0.0}, progressbar=False)
    with pytest.raises(ValueError, match="initvals has values for \\['nu'\\]"):
        sample(draws=5, tune=5, model=model, initvals={"nu": 0.0}, progressbar=False)
    with pytest.raises(ValueError, match="initvals has 3 points for 2 chains"):
        sample(draws=5, tune=5, model=model, initvals=[{}, {}, {}], progressbar=False)
    with pytest.raises(TypeError, match="initvals must be a dict"):
        sample(draws=5, tune=5, model=model, initvals=[1.0, 2.0], progressbar=False)


# -- discard_tuned_samples -----------------------------------------------------------------------------------
def test_warmup_draws_kept_and_marked():
    model, _ = normal_model()
    kept = quiet(draws=20, tune=30, model=model, random_seed=9, discard_tuned_samples=False)
    plain = quiet(draws=20, tune=30, model=model, random_seed=9)
    assert kept.n_draws == 2 * (30 + 20)
    tune = kept.sample_stats["tune"]
    assert tune.dtype == bool and "tune" not in plain.sample_stats
    for c in range(2):  # each chain: its 30 warm-up draws, then its 20 draws
        np.testing.assert_array_equal(tune[kept.chain == c], np.arange(50) < 30)
    # the draws after warm-up are those of discard_tuned_samples=True, bit for bit, and so are their stats
    np.testing.assert_array_equal(kept["mu"][~tune], plain["mu"])
    for name, value in plain.sample_stats.items():
        np.testing.assert_array_equal(kept.sample_stats[name][~tune], value)
    assert np.all(np.isfinite(kept.sample_stats["step_size"][tune]))


def test_warmup_draws_in_their_own_inference_data_groups():
    pytest.importorskip("arviz")
    from nbvi.inference_data import group_arrays, groups_of

    model, _ = normal_model()
    trace = quiet(draws=20, tune=30, model=model, random_seed=9, discard_tuned_samples=False)
    idata = trace.to_inference_data(model=model, log_likelihood=True)
    assert {"posterior", "sample_stats", "warmup_posterior", "warmup_sample_stats"} <= set(groups_of(idata))
    tune = trace.sample_stats["tune"]
    np.testing.assert_array_equal(group_arrays(idata, "posterior")["mu"].ravel(), trace["mu"][~tune])
    np.testing.assert_array_equal(group_arrays(idata, "warmup_posterior")["mu"].ravel(), trace["mu"][tune])
    assert "tune" not in group_arrays(idata, "sample_stats")
    assert group_arrays(idata, "log_likelihood")["y"].shape == (2, 20, 50)
    # return_inferencedata gives the same groups
    again = quiet(draws=20, tune=30, model=model, random_seed=9, discard_tuned_samples=False,
                  return_inferencedata=True)
    assert "warmup_posterior" in groups_of(again)
    # predictive draws and the log-likelihood of a trace use the draws after warm-up only
    predictive = nbvi.sample_posterior_predictive(trace, model=model, random_seed=1, progressbar=False)
    assert predictive["y"].shape[0] == 40
    assert nbvi.compute_log_likelihood(trace, model=model)["y"].shape == (40, 50)


# -- compute_convergence_checks ------------------------------------------------------------------------------
def two_modes():
    """Modes at -10 and 10, each of sd 0.5: NUTS never crosses between them."""
    with nbvi.Model() as model:
        nbvi.NormalMixture("x", w=np.array([0.5, 0.5]), mu=np.array([-10.0, 10.0]), sigma=np.array([0.5, 0.5]))
    return model


def convergence_messages(**kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sample(progressbar=False, **kwargs)
    return [str(w.message) for w in caught if "1903.08008" in str(w.message)]


def test_convergence_warning_on_chains_stuck_in_two_modes():
    model = two_modes()
    run = dict(draws=200, tune=200, model=model, random_seed=1, initvals=[{"x": -10.0}, {"x": 10.0}])
    messages = convergence_messages(**run)
    assert any(m.startswith("The rhat statistic is larger than 1.01") and "x" in m for m in messages)
    assert not convergence_messages(**run, compute_convergence_checks=False)
    # both chains in one mode, 1000 draws each: no warning (seeded; R-hat there is 1.00x)
    assert not convergence_messages(**{**run, "draws": 1000, "initvals": {"x": 10.0}})


def test_convergence_messages_follow_pymc():
    rng = np.random.default_rng(0)
    good = rng.standard_normal(2000)
    chain = np.repeat([0, 1], 1000)
    assert convergence_warnings({"a": good}, chain) == []
    assert convergence_warnings({"a": good[:100]}, chain[:100]) == []  # one chain: no check
    assert convergence_warnings({"a": good[:180]}, np.repeat([0, 1], 90)) == []  # < 100 draws per chain: none
    sticky = np.cumsum(rng.standard_normal(2000)) * 0.01  # a random walk: tiny ESS, chains apart
    messages = convergence_warnings({"a": np.stack([good, sticky], axis=1)}, chain)
    assert len(messages) == 2 and "a[1]" in messages[0] and "smaller than 100" in messages[1]


# -- nuts_sampler, step, nuts --------------------------------------------------------------------------------
def test_nuts_sampler_pymc_and_nbvi_are_the_builtin():
    model, _ = normal_model()
    a = quiet(draws=20, tune=20, model=model, random_seed=3)
    for name in ("pymc", "nbvi"):
        np.testing.assert_array_equal(quiet(draws=20, tune=20, model=model, random_seed=3, nuts_sampler=name)["mu"],
                                      a["mu"])


def test_nuts_dict_is_forwarded():
    model, _ = normal_model()
    shallow = quiet(draws=50, tune=50, model=model, random_seed=3, nuts={"max_treedepth": 1})
    assert shallow.sample_stats["tree_depth"].max() <= 1
    keyword = quiet(draws=50, tune=50, model=model, random_seed=3, target_accept=0.95, max_treedepth=6)
    nuts = quiet(draws=50, tune=50, model=model, random_seed=3, nuts={"target_accept": 0.95, "max_treedepth": 6})
    default = quiet(draws=50, tune=50, model=model, random_seed=3)
    np.testing.assert_array_equal(nuts["mu"], keyword["mu"])
    assert not np.array_equal(nuts["mu"], default["mu"])


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(nuts_sampler="nutpie"), ValueError, "nbvi runs its own NUTS"),
    (dict(nuts_sampler="numpyro"), ValueError, "nbvi runs its own NUTS"),
    (dict(nuts_sampler="blackjax"), ValueError, "nbvi runs its own NUTS"),
    (dict(nuts_sampler="stan"), ValueError, "nuts_sampler must be one of"),
    (dict(step=object()), TypeError, "step must be None"),
    (dict(step=[]), TypeError, "step must be None"),
    (dict(nuts={"step_scale": 0.25}), TypeError, "nuts: unknown options \\['step_scale'\\]"),
    (dict(nuts=0.9), TypeError, "nuts must be a dict"),
    (dict(nuts={"target_accept": 0.9}, target_accept=0.9), ValueError, "target_accept is given twice"),
    (dict(nuts={"max_treedepth": 5}, max_treedepth=5), ValueError, "max_treedepth is given twice"),
    (dict(nuts={"target_accept": 1.5}), ValueError, "target_accept must lie strictly between 0 and 1"),
    (dict(discard_tuned_samples="no"), TypeError, "discard_tuned_samples must be True or False"),
    (dict(compute_convergence_checks=1), TypeError, "compute_convergence_checks must be True or False"),
    (dict(keep_warning_stat=None), TypeError, "keep_warning_stat must be True or False"),
])
def test_bad_pymc_keywords(kwargs, error, match):
    model, _ = normal_model()
    with pytest.raises(error, match=match):
        sample(draws=5, tune=5, model=model, progressbar=False, **kwargs)


# -- keep_warning_stat ---------------------------------------------------------------------------------------
def test_warning_stat_marks_the_divergent_draws():
    with nbvi.Model() as funnel:  # Neal's funnel: divergences at the neck (as in test_nuts.py, same seed)
        v = nbvi.Normal("v", 0.0, 3.0)
        nbvi.Normal("x", 0.0, nbvi.math.exp(v / 2), shape=9)
    trace = quiet(draws=500, tune=150, model=funnel, random_seed=2, keep_warning_stat=True)
    warning = trace.sample_stats["warning"]
    diverging = trace.sample_stats["diverging"]
    assert diverging.any()
    assert all(isinstance(w, str) and "Divergence" in w for w in warning[diverging])
    assert all(w is None for w in warning[~diverging])
    assert "warning" not in quiet(draws=20, tune=20, model=funnel, random_seed=1).sample_stats


# -- models that read a Minibatch ----------------------------------------------------------------------------
def test_minibatch_model_is_refused():
    data = np.random.default_rng(0).normal(size=500)
    batch = nbvi.Minibatch(data, batch_size=50, name="y_batch")
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 10.0)
        nbvi.Normal("y", mu, 1.0, observed=batch, total_size=500)
    with pytest.raises(ValueError, match="Minibatch \\['y_batch'\\] \\(read by the observed variables \\['y'\\]\\)"
                                         ".*full-data density.*ADVI"):
        sample(draws=5, tune=5, model=model, progressbar=False)


def test_initvals_take_pymc_transformed_names():
    """PyMC's sigma_log__ (unconstrained) starts the chain where sigma (constrained) does."""
    with nbvi.Model() as model:
        nbvi.HalfNormal("s", 1.0)
        nbvi.Normal("y", nbvi.Normal("mu", 0.0, 1.0), 1.0, observed=[0.1, 0.3])
    kw = dict(draws=10, tune=10, chains=1, model=model, progressbar=False, random_seed=1,
              compute_convergence_checks=False)
    by_pymc_name = nbvi.sample(initvals={"s_log__": np.log(0.7)}, **kw)
    np.testing.assert_array_equal(by_pymc_name["s"], nbvi.sample(initvals={"s": 0.7}, **kw)["s"])
    with pytest.raises(ValueError, match="unconstrained shape"):
        nbvi.sample(initvals={"s_log__": np.zeros(2)}, **kw)
    with pytest.raises(ValueError, match="not free variables"):
        nbvi.sample(initvals={"mu_log__": 0.0}, **kw)
