"""Censored: the log-density against scipy (tails included), the tape against the graph walk and finite
differences, a fit of censored normal data, clipped predictive draws, and the errors."""
import numpy as np
import pytest
from density_checks import assert_matches_finite_differences, assert_tape_is_graph
from scipy import optimize, stats

import nbvi
from nbvi.graph.node import as_node

# family -> (parameters, scipy's distribution, lower, upper, values: below, at and inside the bounds)
CASES = {
    "Normal": ({"mu": 0.5, "sigma": 1.3}, stats.norm(0.5, 1.3), -1.0, 2.0),
    "LogNormal": ({"mu": 0.1, "sigma": 0.8}, stats.lognorm(0.8, scale=np.exp(0.1)), 0.5, 3.0),
    "Exponential": ({"lam": 1.5}, stats.expon(scale=1 / 1.5), 0.2, 2.0),
    "Laplace": ({"mu": 0.5, "b": 1.3}, stats.laplace(0.5, 1.3), -1.0, 2.0),
    "Logistic": ({"mu": 0.5, "s": 1.3}, stats.logistic(0.5, 1.3), -1.0, 2.0),
    "Gumbel": ({"mu": 0.5, "beta": 1.3}, stats.gumbel_r(0.5, 1.3), -1.0, 2.0),
    "Weibull": ({"alpha": 1.5, "beta": 2.0}, stats.weibull_min(1.5, scale=2.0), 0.5, 3.0),
    "Cauchy": ({"alpha": 0.5, "beta": 1.3}, stats.cauchy(0.5, 1.3), -1.0, 2.0),
    "Uniform": ({"lower": -1.0, "upper": 2.0}, stats.uniform(-1.0, 3.0), -0.5, 1.5),
}


def _values(lower, upper):
    return np.array([lower - 0.3, lower, 0.3 * lower + 0.7 * upper, 0.5 * (lower + upper), upper, upper + 0.4])


def _expected(ref, y, lower, upper):
    return np.where(y <= lower, ref.logcdf(lower), np.where(y >= upper, ref.logsf(upper), ref.logpdf(y)))


def _graph_logp(dist, y):
    return np.asarray(dist.log_density(as_node(np.asarray(y, dtype=np.float64))).eval())


@pytest.mark.parametrize("family", sorted(CASES))
def test_log_density_matches_scipy(family):
    params, ref, lower, upper = CASES[family]
    y = _values(lower, upper)
    dist = nbvi.Censored.dist(getattr(nbvi, family).dist(**params), lower=lower, upper=upper)
    np.testing.assert_allclose(_graph_logp(dist, y), _expected(ref, y, lower, upper), rtol=1e-12, atol=1e-14)
    # the pointwise log-density (what LOO reads) agrees
    np.testing.assert_allclose(dist.logp_elementwise(y[None], **{k: np.asarray(v)[None] for k, v in
                                                                 dist.param_values().items()})[0],
                               _expected(ref, y, lower, upper), rtol=1e-12)


# far tails: (family, parameters, scipy's distribution, the bound), with y on the bound, for log F (lower)
# and log S (upper)
TAILS = [
    ("Normal", {"mu": 1.0, "sigma": 2.0}, stats.norm(1.0, 2.0), 1.0 - 40 * 2.0, "lower"),
    ("Normal", {"mu": 1.0, "sigma": 2.0}, stats.norm(1.0, 2.0), 1.0 + 40 * 2.0, "upper"),
    ("Normal", {"mu": 1.0, "sigma": 2.0}, stats.norm(1.0, 2.0), 1.0 + 9 * 2.0, "lower"),  # log F ~ -1e-19
    ("LogNormal", {"mu": 0.0, "sigma": 0.5}, stats.lognorm(0.5), np.exp(-15.0), "lower"),
    ("LogNormal", {"mu": 0.0, "sigma": 0.5}, stats.lognorm(0.5), np.exp(15.0), "upper"),
    ("Exponential", {"lam": 2.0}, stats.expon(scale=0.5), 1e-12, "lower"),
    ("Exponential", {"lam": 2.0}, stats.expon(scale=0.5), 300.0, "upper"),
    ("Laplace", {"mu": 0.0, "b": 1.0}, stats.laplace(), -60.0, "lower"),
    ("Laplace", {"mu": 0.0, "b": 1.0}, stats.laplace(), 60.0, "upper"),
    ("Logistic", {"mu": 0.0, "s": 1.0}, stats.logistic(), -60.0, "lower"),
    ("Logistic", {"mu": 0.0, "s": 1.0}, stats.logistic(), 60.0, "upper"),
    ("Gumbel", {"mu": 0.0, "beta": 1.0}, stats.gumbel_r(), -4.0, "lower"),
    ("Gumbel", {"mu": 0.0, "beta": 1.0}, stats.gumbel_r(), 60.0, "upper"),
    ("Gumbel", {"mu": 0.0, "beta": 1.0}, stats.gumbel_r(), 800.0, "upper"),  # scipy: -inf; exact -800
    ("Weibull", {"alpha": 2.0, "beta": 1.0}, stats.weibull_min(2.0), 1e-200, "lower"),
    ("Weibull", {"alpha": 2.0, "beta": 1.0}, stats.weibull_min(2.0), 1e-6, "lower"),
    ("Weibull", {"alpha": 2.0, "beta": 1.0}, stats.weibull_min(2.0), 20.0, "upper"),
    ("Cauchy", {"alpha": 0.0, "beta": 1.0}, stats.cauchy(), -1e10, "lower"),
    ("Cauchy", {"alpha": 0.0, "beta": 1.0}, stats.cauchy(), 1e10, "upper"),
    ("Cauchy", {"alpha": 0.0, "beta": 1.0}, stats.cauchy(), 1e10, "lower"),  # log F ~ -3e-11
    ("Uniform", {"lower": 0.0, "upper": 1.0}, stats.uniform(), 1e-300, "lower"),
]


@pytest.mark.parametrize("family, params, ref, bound, side", TAILS)
def test_far_tails_keep_their_digits(family, params, ref, bound, side):
    base = getattr(nbvi, family).dist(**params)
    dist = nbvi.Censored.dist(base, **{side: bound})
    got = _graph_logp(dist, [bound])[0]
    expected = ref.logcdf(bound) if side == "lower" else ref.logsf(bound)
    if family == "Gumbel" and bound > 700:  # scipy's logsf underflows: log(1 - exp(-e^{-z})) = -z - e^{-z}/2
        expected = -bound
    if family == "Weibull" and bound < 1e-100:  # scipy's logcdf underflows: log F = alpha log(x / beta) - t/2
        expected = params["alpha"] * np.log(bound / params["beta"])
    if family == "Cauchy" and abs(bound) > 1:  # scipy's Cauchy logcdf/logsf lose the far tail: the exact value
        z = abs(bound)
        expected = np.log(np.arctan(1 / z) / np.pi) if (side == "lower") == (bound < 0) else np.log1p(-np.arctan(1 / z) / np.pi)
    assert np.isfinite(got)
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_no_bound_is_the_base_density_and_one_bound_alone():
    y = np.array([-3.0, 0.1, 4.0])
    base = nbvi.Normal.dist(0.5, 1.3)
    np.testing.assert_allclose(_graph_logp(nbvi.Censored.dist(base), y), stats.norm(0.5, 1.3).logpdf(y), rtol=1e-12)
    got = _graph_logp(nbvi.Censored.dist(base, upper=0.1), y)
    ref = stats.norm(0.5, 1.3)
    np.testing.assert_allclose(got, [ref.logpdf(-3.0), ref.logsf(0.1), ref.logsf(0.1)], rtol=1e-12)
    # bounds per element, -inf/+inf meaning none there
    lower = np.array([-np.inf, 0.1, 0.0])
    got = _graph_logp(nbvi.Censored.dist(base, lower=lower, upper=np.array([np.inf, 1.0, 4.0])), y)
    np.testing.assert_allclose(got, [ref.logpdf(-3.0), ref.logcdf(0.1), ref.logsf(4.0)], rtol=1e-12)


def _free_model(family, params, lower, upper, y):
    """Every base parameter free (a real one shifted by a free z, a positive one scaled by exp(z))."""
    with nbvi.Model() as model:
        args = {}
        for k, v in params.items():
            z = nbvi.Normal(f"z_{k}", 0.0, 0.1)
            is_real = k in ("mu", "lower") or (family == "Cauchy" and k == "alpha")
            args[k] = v + z if is_real else v * nbvi.math.exp(z)
        nbvi.Censored("y", getattr(nbvi, family).dist(**args), lower=lower, upper=upper, observed=y)
    return model


@pytest.mark.parametrize("family", sorted(CASES))
def test_tape_equals_graph_and_finite_differences(family):
    params, _, lower, upper = CASES[family]
    y = _values(lower, upper)
    if family == "Uniform":  # (the support moves with its free bounds: keep the values well inside it)
        y = np.array([-0.6, -0.5, 0.2, 1.5, 1.6])
    model = _free_model(family, params, lower, upper, y)
    assert nbvi.explain(model).path == "tape"
    assert_tape_is_graph(model, spread=0.1)
    assert_matches_finite_differences(model)


def test_gradients_in_the_far_tail_are_finite_and_match_finite_differences():
    """y = lower = mu - 40 sigma: d/dmu log Phi(z) = -phi(z) / (sigma Phi(z)) ~ z / sigma, no NaN."""
    y = np.array([-79.0, -79.0, 0.3, 81.0])
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 1.0, 1.0)
        log_sigma = nbvi.Normal("log_sigma", np.log(2.0), 0.1)
        nbvi.Censored("y", nbvi.Normal.dist(mu, nbvi.math.exp(log_sigma)), lower=-79.0, upper=81.0, observed=y)
    theta = np.array([[1.0, np.log(2.0)]])
    logp, grad = model.logp_dlogp(theta)
    assert np.all(np.isfinite(logp)) and np.all(np.isfinite(grad))
    assert_tape_is_graph(model, spread=0.05)
    assert_matches_finite_differences(model)


def test_free_bounds_get_gradients():
    """log S(upper) depends on a free upper bound: d/du log S(u) = -p(u) / S(u)."""
    y = np.array([2.5, 2.5, 0.3])
    with nbvi.Model() as model:
        z = nbvi.Normal("z", 0.0, 0.1)
        nbvi.Censored("y", nbvi.Normal.dist(0.5, 1.3), lower=-1.0 - z, upper=2.0 + z, observed=y)
    assert nbvi.explain(model).path == "tape"
    assert_tape_is_graph(model, spread=0.05)
    _, grad = model.logp_dlogp(np.zeros((1, 1)))
    ref = stats.norm(0.5, 1.3)
    hazard = np.exp(ref.logpdf(2.0) - ref.logsf(2.0))
    np.testing.assert_allclose(grad[0, 0], -2 * hazard, rtol=1e-10)  # (the prior's gradient is 0 at z = 0)


def _censored_normal_data(n=400, mu=1.0, sigma=2.0, lower=-1.0, upper=3.0, seed=0):
    latent = np.random.default_rng(seed).normal(mu, sigma, size=n)
    return np.clip(latent, lower, upper)


def _mle(y, lower, upper):
    """scipy's maximum of the censored normal likelihood."""
    def nll(t):
        ref = stats.norm(t[0], np.exp(t[1]))
        return -np.sum(_expected(ref, y, lower, upper))

    return optimize.minimize(nll, [0.0, 0.0], method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-10}).x


def test_nuts_recovers_mu_and_sigma_of_censored_normal_data():
    lower, upper = -1.0, 3.0
    y = _censored_normal_data(lower=lower, upper=upper)
    assert 0.15 < np.mean(y <= lower) and 0.15 < np.mean(y >= upper)  # a good share of each side censored
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 10.0)
        sigma = nbvi.HalfNormal("sigma", 10.0)
        nbvi.Censored("y", nbvi.Normal.dist(mu, sigma), lower=lower, upper=upper, observed=y)
    assert nbvi.explain(model).path == "tape"
    trace = nbvi.sample(500, tune=500, chains=2, random_seed=1, progressbar=False, model=model,
                        compute_convergence_checks=False)
    mu_draws, sigma_draws = np.asarray(trace["mu"]).ravel(), np.asarray(trace["sigma"]).ravel()
    mle_mu, mle_log_sigma = _mle(y, lower, upper)
    # the posterior mean within 0.5 posterior sd of the MLE (the flat-ish priors move it by far less; MC
    # error of the mean of ~1000 draws is ~0.05 sd), and the truth within 4 posterior sds
    assert abs(mu_draws.mean() - mle_mu) < 0.5 * mu_draws.std()
    assert abs(sigma_draws.mean() - np.exp(mle_log_sigma)) < 0.5 * sigma_draws.std() + 0.01
    assert abs(mu_draws.mean() - 1.0) < 4 * mu_draws.std()
    assert abs(sigma_draws.mean() - 2.0) < 4 * sigma_draws.std()
    # ignoring the censoring would shrink sigma far below: the censored fit must not
    assert sigma_draws.mean() > np.std(y) + 0.2

    post = nbvi.sample_posterior_predictive(trace, model=model, random_seed=2, progressbar=False)
    y_rep = np.asarray(post["y"] if not hasattr(post, "posterior_predictive") else post.posterior_predictive["y"])
    assert y_rep.min() >= lower and y_rep.max() <= upper
    # the replicated data puts about the observed share on each bound (3 binomial sds of 0.02)
    np.testing.assert_allclose(np.mean(y_rep == lower), np.mean(y <= lower), atol=0.06)
    np.testing.assert_allclose(np.mean(y_rep == upper), np.mean(y >= upper), atol=0.06)


def test_prior_predictive_and_random_are_clipped():
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0)
        nbvi.Censored("y", nbvi.Normal.dist(mu, 2.0), lower=np.array([-1.0, -np.inf]), upper=1.0,
                      observed=np.array([0.2, 1.0]))
    prior = nbvi.sample_prior_predictive(4000, model=model, random_seed=3)
    y = np.asarray(prior["y"] if not hasattr(prior, "prior_predictive") else prior.prior_predictive["y"]).reshape(-1, 2)
    assert y[:, 0].min() == -1.0 and y.max() == 1.0 and y[:, 1].min() < -3.0
    draws = nbvi.Censored.dist(nbvi.Exponential.dist(1.0), lower=0.5, upper=2.0).random(size=5000, rng=0)
    assert draws.min() == 0.5 and draws.max() == 2.0
    # P(y = 0.5) = F(0.5) = 1 - e^{-0.5} = 0.393 (4 binomial sds: 0.028)
    assert abs(np.mean(draws == 0.5) - (1 - np.exp(-0.5))) < 0.028


def test_errors():
    with nbvi.Model():
        with pytest.raises(TypeError, match=r"Censored variable 'y': dist is StudentT.*supported families are "
                                            r"Normal, LogNormal, Exponential"):
            nbvi.Censored("y", nbvi.StudentT.dist(3.0, 0.0, 1.0), lower=0.0, observed=[0.0, 1.0])
        with pytest.raises(TypeError, match=r"Censored variable 'y': dist must be a distribution made with "
                                            r"\.dist"):
            nbvi.Censored("y", 1.0, lower=0.0, observed=[0.0, 1.0])
        with pytest.raises(TypeError, match=r"Censored variable 'y': a censored variable must be observed"):
            nbvi.Censored("y", nbvi.Normal.dist(0.0, 1.0), lower=0.0)
        with pytest.raises(ValueError, match=r"Censored variable 'y'.*lower must be < upper"):
            nbvi.Censored("y", nbvi.Normal.dist(0.0, 1.0), lower=1.0, upper=0.0, observed=[0.5])
        with pytest.raises(ValueError, match=r"Normal: sigma must be > 0"):  # (the base family's own check)
            nbvi.Censored("y", nbvi.Normal.dist(0.0, -1.0), lower=0.0, observed=[0.5])
        with pytest.raises(ValueError, match=r"Censored variable 'y': parameter 'lower' contains NaN"):
            nbvi.Censored("y", nbvi.Normal.dist(0.0, 1.0), lower=np.nan, observed=[0.5])
    with pytest.raises(TypeError, match=r"Censored: dist is Mixture"):
        nbvi.Censored.dist(nbvi.Mixture.dist([0.5, 0.5], [nbvi.Normal.dist(), nbvi.Normal.dist(1.0)]))
