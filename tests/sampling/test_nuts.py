"""NUTS: posteriors recovered within Monte Carlo error, reproducibility, options, bad input.

Tolerances are 4 Monte Carlo standard errors, with the standard error of a mean taken as sd / sqrt(ESS)
(bulk ESS of the draws themselves), so a correct sampler fails a check with probability ~6e-5.
"""
import warnings

import numpy as np
import pytest

import nbvi
from nbvi.sampling.diagnostics import effective_sample_size, ess_bulk, rhat
from nbvi.sampling.nuts import NUTSState, make_workspace, transition
from nbvi.sampling.sample import SamplingError, sample


def by_chain(trace, name):
    x = trace[name]
    return np.stack([x[trace.chain == c] for c in range(trace.n_chains)])  # (chains, draws, *shape)


def correlated_gaussian(dim=10):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((dim, dim))
    cov = a @ a.T / dim + 0.5 * np.eye(dim)
    mu = np.linspace(-2.0, 2.0, dim)
    with nbvi.Model() as model:
        nbvi.MvNormal("x", mu=mu, cov=cov, shape=dim)
    return model, mu, cov


def mc_error(x):
    """Monte Carlo standard error of the mean of chains x (chains, draws): sd / sqrt(ESS of x itself)."""
    return x.std() / np.sqrt(effective_sample_size(x, method="basic"))


def test_correlated_gaussian_mean_and_covariance():
    model, mu, cov = correlated_gaussian()
    trace = sample(draws=1000, tune=600, chains=2, random_seed=11, progressbar=False, model=model)
    x = by_chain(trace, "x")  # (2, 1000, 10)
    for i in range(10):
        assert abs(x[..., i].mean() - mu[i]) < 4 * mc_error(x[..., i])
    # each covariance entry is the mean of (x_i - mu_i)(x_j - mu_j): its own ESS gives its error
    for i in range(10):
        for j in range(i + 1):
            prod = (x[..., i] - mu[i]) * (x[..., j] - mu[j])
            assert abs(prod.mean() - cov[i, j]) < 4 * mc_error(prod), (i, j)
    assert max(rhat(x[..., i]) for i in range(10)) < 1.01
    assert not trace.sample_stats["diverging"].any()


def strongly_correlated(rho=0.99):
    """A 2-d Gaussian with correlation rho and standard deviations 1 and 2."""
    cov = np.array([[1.0, 2.0 * rho], [2.0 * rho, 4.0]])
    mu = np.array([1.0, -2.0])
    with nbvi.Model() as model:
        nbvi.MvNormal("x", mu=mu, cov=cov, shape=2)
    return model, mu, cov


def test_dense_metric_on_a_strongly_correlated_gaussian():
    model, mu, cov = strongly_correlated()
    kw = dict(draws=1000, tune=1000, chains=2, random_seed=2, progressbar=False, model=model)
    dense, diag, auto = (sample(init=init, **kw) for init in ("jitter+adapt_full", "jitter+adapt_diag", "auto"))
    x = by_chain(dense, "x")
    for i in range(2):
        assert abs(x[..., i].mean() - mu[i]) < 4 * mc_error(x[..., i])
        for j in range(i + 1):
            prod = (x[..., i] - mu[i]) * (x[..., j] - mu[j])
            assert abs(prod.mean() - cov[i, j]) < 4 * mc_error(prod), (i, j)
    assert not dense.sample_stats["diverging"].any()
    # along the long axis the diagonal metric needs ~sqrt(cond(R)) = sqrt(199) ~ 14 times the dense one's steps;
    # measured: ~12 vs ~2.5 a draw. "auto" sees the correlation after its second window and turns dense
    steps = {name: t.sample_stats["n_steps"].mean() for name, t in [("dense", dense), ("diag", diag), ("auto", auto)]}
    assert steps["dense"] < steps["diag"] / 3 and steps["auto"] < steps["diag"] / 3, steps
    assert ess_bulk(x[..., 0]) > ess_bulk(by_chain(diag, "x")[..., 0])


def test_auto_is_adapt_diag_where_the_draws_are_not_strongly_correlated():
    # an independent 3-d posterior (a correlation matrix near I), and a correlated one above DENSE_MAX_NDIM
    with nbvi.Model() as independent:
        nbvi.Normal("x", np.array([0.0, 1.0, 2.0]), np.array([1.0, 0.1, 10.0]), shape=3)
    wide, _, _ = correlated_gaussian(17)
    for model in (independent, wide):
        kw = dict(draws=100, tune=300, chains=1, random_seed=3, progressbar=False, model=model)
        auto, diag = sample(**kw), sample(init="jitter+adapt_diag", **kw)
        np.testing.assert_array_equal(auto["x"], diag["x"])
        for name in diag.sample_stats:
            np.testing.assert_array_equal(auto.sample_stats[name], diag.sample_stats[name])
    # and dense where asked: not the same draws
    dense = sample(init="jitter+adapt_full", **kw)
    assert not np.array_equal(dense["x"], diag["x"])


def eight_schools():
    y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
    sigma = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 5.0)
        tau = nbvi.HalfCauchy("tau", 5.0)
        theta_tilde = nbvi.Normal("theta_tilde", 0.0, 1.0, shape=8)
        theta = nbvi.Deterministic("theta", mu + tau * theta_tilde)
        nbvi.Normal("obs", theta, sigma, observed=y)
    return model


def test_eight_schools_noncentred_few_divergences():
    model = eight_schools()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (a few divergences are expected, below)
        trace = sample(draws=1000, tune=1000, chains=2, random_seed=8, progressbar=False, model=model)
    assert trace.n_draws == 2000 and trace["theta"].shape == (2000, 8)
    # at target_accept 0.8 PyMC 6.4 and nutpie diverge 1 - 16 times in 2000 draws of this model (6 seeds each)
    assert trace.sample_stats["diverging"].sum() <= 20
    assert 0.7 < trace.sample_stats["mean_tree_accept"].mean() < 0.9
    for name in ("mu", "tau"):
        assert rhat(by_chain(trace, name)) < 1.01
    for i in range(8):
        assert rhat(by_chain(trace, "theta_tilde")[:, :, i]) < 1.01
    # theta is mu + tau * theta_tilde draw by draw (deterministics come from model.unravel)
    np.testing.assert_allclose(trace["theta"], trace["mu"][:, None] + trace["tau"][:, None] * trace["theta_tilde"])
    # posterior mean of mu: ~4.4 with sd ~3.3 (Stan's and PyMC's reference runs); 4 MC standard errors
    mu = by_chain(trace, "mu")
    assert abs(mu.mean() - 4.4) < 4 * 3.3 / np.sqrt(ess_bulk(mu)) + 0.2
    assert np.all(trace["tau"] > 0)


def test_mixture_each_mode_has_its_centre_and_spread():
    # quickstart mixture: modes 8 sd apart, so each chain stays (mostly) in the mode it starts in
    with nbvi.Model() as model:
        nbvi.NormalMixture("x", w=np.array([0.2, 0.8]), mu=np.array([-0.3, 0.5]), sigma=np.array([0.1, 0.1]))
    trace = sample(draws=1500, tune=300, chains=2, random_seed=5, progressbar=False, model=model,
                   start=[{"x": -0.3}, {"x": 0.5}])
    x = by_chain(trace, "x")
    for centre in (-0.3, 0.5):
        # the other component's mass beyond the midpoint 0.1 is Phi(-4) ~ 3e-5: negligible
        chain = x[0] if centre < 0 else x[1]
        inside = chain[(chain < 0.1) == (centre < 0)]
        assert inside.size > 1000
        n = ess_bulk(inside[None])
        assert abs(inside.mean() - centre) < 4 * 0.1 / np.sqrt(n)
        # se of a sd estimate of Gaussian draws: sd / sqrt(2 n)
        assert abs(inside.std() - 0.1) < 4 * 0.1 / np.sqrt(2 * n)


def test_same_seed_same_draws_and_stats():
    model = eight_schools()
    kw = dict(draws=50, tune=60, chains=2, progressbar=False, model=model)
    a, b, c = sample(random_seed=1, **kw), sample(random_seed=1, **kw), sample(random_seed=2, **kw)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    for key in a.sample_stats:
        np.testing.assert_array_equal(a.sample_stats[key], b.sample_stats[key])
    assert not np.array_equal(a["mu"], c["mu"])
    assert not np.array_equal(a["mu"][:50], a["mu"][50:])  # chains get different seeds
    per_chain = sample(random_seed=[7, 9], **kw)  # one seed per chain
    np.testing.assert_array_equal(per_chain["mu"][:50], sample(random_seed=[7, 3], **kw)["mu"][:50])


@pytest.mark.parametrize("make", [np.random.default_rng, np.random.RandomState, np.random.SeedSequence])
def test_a_generator_randomstate_or_seedsequence_seeds_the_chains(make):
    """As PyMC: a numpy Generator or RandomState gives the chains' seeds (drawing from it, so it moves on)."""
    model = eight_schools()
    kw = dict(draws=30, tune=30, chains=2, progressbar=False, model=model)
    first, again = sample(random_seed=make(5), **kw), sample(random_seed=make(5), **kw)
    np.testing.assert_array_equal(first["mu"], again["mu"])
    if make is not np.random.SeedSequence:
        generator = make(5)
        sample(random_seed=generator, **kw)
        assert not np.array_equal(sample(random_seed=generator, **kw)["mu"], first["mu"])


def test_trace_layout_and_stats():
    with nbvi.Model() as model:
        s = nbvi.HalfNormal("s", 1.0, shape=2)
        nbvi.Deterministic("s2", s * s)
    trace = sample(draws=30, tune=40, chains=3, random_seed=0, progressbar=False, model=model)
    assert trace["s"].shape == (90, 2) and trace["s2"].shape == (90, 2)
    np.testing.assert_array_equal(trace.chain, np.repeat([0, 1, 2], 30))
    expected = {"step_size", "tree_depth", "n_steps", "diverging", "energy", "energy_error",
                "mean_tree_accept", "lp"}
    assert set(trace.sample_stats) == expected
    stats = trace.sample_stats
    assert all(v.shape == (90,) for v in stats.values())
    assert np.all(stats["n_steps"] >= 1) and np.all(stats["n_steps"] <= 2 ** 10 - 1)
    assert np.all((stats["mean_tree_accept"] >= 0) & (stats["mean_tree_accept"] <= 1))
    assert np.all(stats["n_steps"] >= 2 ** stats["tree_depth"] - 1)
    for c in range(3):  # the step size is frozen after warm-up, one per chain
        assert np.unique(stats["step_size"][trace.chain == c]).size == 1
    assert np.all(trace["s"] > 0)
    # lp is the model's log-density (unconstrained, with Jacobian) at each draw
    theta = np.log(trace["s"])
    np.testing.assert_allclose(stats["lp"], model.logp_dlogp(theta)[0])
    assert sample(draws=0, tune=5, chains=1, progressbar=False, model=model)["s2"].shape == (0, 2)


def test_options_are_not_ignored(capsys):
    model, _, _ = correlated_gaussian(4)
    kw = dict(draws=200, tune=300, chains=1, random_seed=4, model=model)
    low = sample(target_accept=0.6, progressbar=False, **kw).sample_stats["step_size"][0]
    high = sample(target_accept=0.95, progressbar=False, **kw).sample_stats["step_size"][0]
    assert high < low
    shallow = sample(max_treedepth=2, progressbar=False, **kw).sample_stats
    assert shallow["tree_depth"].max() <= 2 and shallow["n_steps"].max() <= 3
    sample(draws=5, tune=5, chains=1, progressbar=True, model=model)
    assert "NUTS chain 1/1" in capsys.readouterr().err
    sample(draws=5, tune=5, chains=1, progressbar=False, model=model)
    assert capsys.readouterr().err == ""
    # init="adapt_diag" starts at the initial point itself: the first warm-up transition starts from mu
    with nbvi.Model() as m:
        nbvi.Normal("z", 3.0, 1e-3)
    t = sample(draws=3, tune=0, chains=1, init="adapt_diag", random_seed=0, progressbar=False, model=m)
    assert np.all(np.abs(t["z"] - 3.0) < 0.01)
    t = sample(draws=3, tune=0, chains=1, random_seed=0, progressbar=False, model=m)  # jittered by up to 1
    assert np.any(np.abs(t["z"] - 3.0) > 0.01)
    t = sample(draws=3, tune=0, chains=1, init="adapt_full", random_seed=0, progressbar=False, model=m)
    assert np.all(np.abs(t["z"] - 3.0) < 0.01)
    t = sample(draws=3, tune=0, chains=1, init="jitter+adapt_full", random_seed=0, progressbar=False, model=m)
    assert np.any(np.abs(t["z"] - 3.0) > 0.01)


def test_funnel_reports_divergences():
    # Neal's funnel: its neck makes the energy error explode (11 divergences with this seed)
    with nbvi.Model() as model:
        v = nbvi.Normal("v", 0.0, 3.0)
        nbvi.Normal("x", 0.0, nbvi.math.exp(v / 2), shape=9)
    with pytest.warns(RuntimeWarning, match="divergent"):
        trace = sample(draws=500, tune=150, chains=2, random_seed=2, progressbar=False, model=model)
    assert trace.sample_stats["diverging"].any()


def test_divergence_stops_the_trajectory_and_keeps_the_start():
    def logp_dlogp(theta):
        return -0.5 * np.sum(theta ** 2, axis=1), -theta

    ws = make_workspace(1)
    state = NUTSState(np.array([0.3]), -0.045, np.array([-0.3]))
    # step 100 on N(0, 1): the first leapfrog point has H - H0 ~ 1e4 > 1000
    new, info = transition(ws, logp_dlogp, state, 100.0, np.ones(1), np.array([1.0]), np.full(ws.n_uniforms, 0.7))
    assert info.diverging and info.n_steps == 1 and info.tree_depth == 0
    np.testing.assert_array_equal(new.q, state.q)
    # a sane step: no divergence, and the tree grows
    new, info = transition(ws, logp_dlogp, state, 0.5, np.ones(1), np.array([1.0]), np.full(ws.n_uniforms, 0.7))
    assert not info.diverging and info.tree_depth >= 1 and 0 < info.accept_stat <= 1


def test_transition_on_standard_normal_matches_moments():
    # the bare kernel, outside the driver: fixed step size and unit metric on N(0, I_2)
    def logp_dlogp(theta):
        return -0.5 * np.sum(theta ** 2, axis=1), -theta

    rng = np.random.default_rng(0)
    ws = make_workspace(2, max_depth=10)
    q = np.zeros(2)
    state = NUTSState(q, 0.0, -q)
    draws = np.empty((4000, 2))
    for i in range(4000):
        state, info = transition(ws, logp_dlogp, state, 0.9, np.ones(2), rng.standard_normal(2),
                                 rng.random(ws.n_uniforms))
        draws[i] = state.q
    n = min(ess_bulk(draws[None, :, j]) for j in range(2))
    assert np.all(np.abs(draws.mean(0)) < 4 / np.sqrt(n))
    assert np.all(np.abs(draws.var(0) - 1) < 4 * np.sqrt(2 / n))


# -- bad input ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    ({"draws": -1}, "draws"), ({"tune": -5}, "tune"), ({"draws": 1.5}, "draws"), ({"chains": 0}, "chains"),
    ({"target_accept": 0.0}, "target_accept"), ({"target_accept": 1.0}, "target_accept"),
    ({"target_accept": 1.3}, "target_accept"), ({"init": "jitter+adapt_diag_grad"}, "init"),
    ({"init": "jitter+adapt_dense"}, "init"),
    ({"init": None}, "init must be one of"), ({"max_treedepth": 0}, "max_treedepth"),
    ({"random_seed": [1, 2, 3]}, "seeds"), ({"start": [{"x": 0.0}]}, "start"),
])
def test_bad_arguments(kwargs, match):
    with nbvi.Model() as model:
        nbvi.Normal("x", 0.0, 1.0)
    with pytest.raises(ValueError, match=match):
        sample(**{"draws": 10, "tune": 10, "chains": 2, "progressbar": False, "model": model, **kwargs})


def test_model_without_free_variables():
    with nbvi.Model() as model:
        nbvi.Normal("y", 0.0, 1.0, observed=np.array([0.5]))
    with pytest.raises(ValueError, match="no free variables"):
        sample(draws=10, tune=10, progressbar=False, model=model)


def test_observed_out_of_support_is_named():
    # y = 5 can never lie in [x, x + 1] when x starts within 1 of 0
    with nbvi.Model() as model:
        x = nbvi.Normal("x", 0.0, 1.0)
        nbvi.Uniform("y", lower=x, upper=x + 1.0, observed=5.0)
    with pytest.raises(SamplingError, match="observed 'y'") as err:
        sample(draws=10, tune=10, chains=1, progressbar=False, model=model)
    assert "'x'" not in str(err.value)  # x's own term is fine


def test_free_variable_out_of_support_is_named():
    # s starts near -3 (its initial point is its mean): a negative scale for z, whatever the jitter
    with nbvi.Model() as model:
        s = nbvi.Normal("s", -3.0, 0.1)
        nbvi.Normal("z", 0.0, s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(SamplingError, match="'z'") as err:
            sample(draws=10, tune=10, chains=1, progressbar=False, model=model)
    assert "'s'" not in str(err.value)  # s's own term is fine: only z's scale is out of support
