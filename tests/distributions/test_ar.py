"""AR: its log-density against scipy (the initial values plus the Normal conditionals, written out with a
loop), the compiled tape against the graph walk and finite differences, forward simulation by its
stationary moments, a NUTS fit of an AR(2) recovering its coefficients, and clear errors."""
import warnings

import numpy as np
import pytest
from density_checks import assert_matches_finite_differences, assert_tape_is_graph
from scipy import stats

import nbvi


def reference_logp(x, rho, sigma, constant, init_mu, init_sigma, p):
    """log N(x[:p] | init) + sum_{t>=p} log N(x_t | c + sum_k rho_k x_{t-k}, sigma), one loop per t."""
    rho = np.asarray(rho, dtype=float)
    c, coefs = (rho[..., 0], rho[..., 1:]) if constant else (0.0, rho)
    total = stats.norm.logpdf(x[..., :p], init_mu, init_sigma).sum(axis=-1)
    for t in range(p, x.shape[-1]):
        mean = c + sum(coefs[..., k - 1] * x[..., t - k] for k in range(1, p + 1))
        total = total + stats.norm.logpdf(x[..., t], mean, sigma)
    return total


@pytest.mark.parametrize("constant", [False, True])
@pytest.mark.parametrize("batch", [(), (3,)])
def test_logp_is_the_initial_values_plus_the_conditionals(constant, batch):
    rng = np.random.default_rng(0)
    p = 2
    rho = rng.normal(0.0, 0.4, size=batch + (p + constant,))
    sigma = rng.uniform(0.5, 1.5, size=batch)
    x = rng.normal(size=batch + (9,))
    dist = nbvi.AR.dist(rho, sigma, constant=constant, init_dist=nbvi.Normal.dist(0.5, 2.0), shape=batch + (9,))
    assert dist.ar_order == p and dist.steps == 7
    expected = reference_logp(x, rho, sigma, constant, 0.5, 2.0, p)
    np.testing.assert_allclose(dist.logp(x).eval(), expected.sum(), rtol=1e-12)
    params = {name: np.asarray(node.eval())[None] for name, node in dist.param_nodes.items()}
    np.testing.assert_allclose(dist.logp_elementwise(x[None], **params)[0], expected, rtol=1e-12)


def ar_model(batch=(), constant=False, observed=None):
    with nbvi.Model() as model:
        rho = nbvi.Normal("rho", 0.0, 0.5, shape=batch + (2 + constant,))
        sigma = nbvi.HalfNormal("sigma", 1.0, shape=batch)
        if observed is None:
            nbvi.AR("x", rho, sigma, constant=constant, init_dist=nbvi.Normal.dist(0.0, 2.0), shape=batch + (8,))
        else:
            nbvi.AR("x", rho, sigma, constant=constant, init_dist=nbvi.Normal.dist(0.0, 2.0), observed=observed)
    return model


@pytest.mark.parametrize("constant", [False, True])
@pytest.mark.parametrize("batch", [(), (2,)])
def test_the_tape_runs_the_process_as_the_graph_does(constant, batch):
    model = ar_model(batch, constant)
    assert nbvi.explain(model).path == "tape"
    assert_tape_is_graph(model)
    assert_matches_finite_differences(model)


def test_observed_series_with_free_coefficients_on_the_tape():
    y = np.random.default_rng(1).normal(size=(3, 20))
    model = ar_model((3,), constant=True, observed=y)
    assert nbvi.explain(model).path == "tape"
    assert_tape_is_graph(model)
    assert_matches_finite_differences(model)


def test_a_scalar_rho_is_an_ar1_and_steps_give_the_shape():
    dist = nbvi.AR.dist(0.7, 1.0, steps=5, init_dist=nbvi.Normal.dist(0.0, 1.0))
    assert dist.shape == (6,) and dist.ar_order == 1
    x = np.linspace(-1.0, 1.0, 6)
    expected = reference_logp(x, [0.7], 1.0, False, 0.0, 1.0, 1)
    np.testing.assert_allclose(dist.logp(x).eval(), expected, rtol=1e-12)


def test_the_default_initial_distribution_warns_as_pymc():
    with pytest.warns(UserWarning, match="Initial distribution not specified"):
        dist = nbvi.AR.dist([0.5], 1.0, shape=4)
    x = np.array([1.0, 2.0, 0.5, -0.3])
    expected = reference_logp(x, [0.5], 1.0, False, 0.0, 100.0, 1)
    np.testing.assert_allclose(dist.logp(x).eval(), expected, rtol=1e-12)


def test_forward_simulation_has_the_stationary_moments():
    # AR(1) with constant: stationary mean c / (1 - phi), variance sigma^2 / (1 - phi^2)
    c, phi, sigma = 1.0, 0.6, 0.5
    init = nbvi.Normal.dist(c / (1 - phi), sigma / np.sqrt(1 - phi ** 2))
    draws = nbvi.AR.dist([c, phi], sigma, constant=True, init_dist=init, shape=(4000, 6)).random(rng=2)
    assert draws.shape == (4000, 6)
    # 4000 draws: standard errors 0.0099 (mean) and 0.0055 (variance, 0.39 * sqrt(2 / 4000)); 5 of them
    np.testing.assert_allclose(draws.mean(axis=0), c / (1 - phi), atol=0.05)
    np.testing.assert_allclose(draws.var(axis=0), sigma ** 2 / (1 - phi ** 2), atol=0.03)
    # the lag-1 correlation is phi (standard error about (1 - phi^2) / sqrt(4000) = 0.01)
    lag1 = np.corrcoef(draws[:, 4], draws[:, 5])[0, 1]
    assert abs(lag1 - phi) < 0.05


def test_prior_predictive_draws_follow_the_recursion_of_each_draw():
    with ar_model((2,)) as model:
        prior = nbvi.sample_prior_predictive(30, random_seed=3)
    get = (lambda k: np.asarray(prior.prior[k])[0]) if hasattr(prior, "prior") else (lambda k: np.asarray(prior[k]))
    x, rho, sigma = get("x"), get("rho"), get("sigma")
    assert x.shape == (30, 2, 8)
    # the innovations implied by each draw's rho are Normal(0, sigma): standardised, mean 0 and variance 1
    innov = (x[..., 2:] - rho[..., :1] * x[..., 1:-1] - rho[..., 1:2] * x[..., :-2]) / sigma[..., None]
    assert abs(innov.mean()) < 0.25 and abs(innov.var() - 1.0) < 0.3  # 360 values: about 5 standard errors
    assert model.ndim == 2 * 2 + 2 + 2 * 8


def test_nuts_recovers_the_coefficients_of_an_ar2():
    rng = np.random.default_rng(4)
    true_rho, true_sigma = np.array([0.6, -0.3]), 0.5
    y = nbvi.AR.dist(true_rho, true_sigma, init_dist=nbvi.Normal.dist(0.0, 0.5), shape=400).random(rng=rng)
    with nbvi.Model():
        rho = nbvi.Normal("rho", 0.0, 1.0, shape=2)
        sigma = nbvi.HalfNormal("sigma", 1.0)
        nbvi.AR("y", rho, sigma, init_dist=nbvi.Normal.dist(0.0, 1.0), observed=y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trace = nbvi.sample(500, tune=500, chains=2, random_seed=5, progressbar=False)
    rho_draws = np.asarray(trace["rho"]).reshape(-1, 2)
    sigma_draws = np.asarray(trace["sigma"]).ravel()
    # posterior sds are about 1/sqrt(400) = 0.05: the truth within 4 posterior sds of the mean
    assert np.all(np.abs(rho_draws.mean(0) - true_rho) < 4 * rho_draws.std(0))
    assert abs(sigma_draws.mean() - true_sigma) < 4 * sigma_draws.std()


def test_bad_inputs_are_clear_errors():
    init = nbvi.Normal.dist(0.0, 1.0)
    with nbvi.Model():
        with pytest.raises(ValueError, match="'x'.*steps or a shape"):
            nbvi.AR("x", [0.5], 1.0, init_dist=init)
        with pytest.raises(ValueError, match="'x'.*ar_order = 3 does not match rho"):
            nbvi.AR("x", [0.5, 0.2], 1.0, ar_order=3, init_dist=init, shape=6)
        with pytest.raises(ValueError, match="'x'.*inferred ar_order is 0"):
            nbvi.AR("x", [0.5], 1.0, constant=True, init_dist=init, shape=6)
        with pytest.raises(ValueError, match="'x'.*at least ar_order \\+ 1 = 3"):
            nbvi.AR("x", [0.5, 0.2], 1.0, init_dist=init, shape=2)
        with pytest.raises(ValueError, match="'x'.*sigma must be > 0"):
            nbvi.AR("x", [0.5], -1.0, init_dist=init, shape=6)
        with pytest.raises(TypeError, match="'x'.*init_dist must be a distribution"):
            nbvi.AR("x", [0.5], 1.0, init_dist=3.0, shape=6)
        with pytest.raises(TypeError, match="'x'.*constant must be True or False"):
            nbvi.AR("x", [0.5, 0.1], 1.0, constant="yes", init_dist=init, shape=6)
        with pytest.raises(ValueError, match="'x'.*init_dist's parameter 'mu'"):
            nbvi.AR("x", [0.5, 0.1], 1.0, init_dist=nbvi.Normal.dist(np.zeros(3), 1.0), shape=6)
        with pytest.raises(ValueError, match="'x'.*total_size"):
            nbvi.AR("x", [0.5], 1.0, init_dist=init, observed=np.zeros(5), total_size=100)
