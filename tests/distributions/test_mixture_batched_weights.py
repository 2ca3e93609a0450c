"""Mixture with weights per observation (..., K) and one vectorised component whose last axis is the K
components, as PyMC broadcasts them: against sum_j log sum_k w_jk N(y_j | mu_k, s_k) computed with scipy, the
compiled tape against the graph walk, gradients against central differences, the pointwise log-likelihood, the
support check, and predictive draws (shape and mixture proportions per observation)."""
import numpy as np
import pytest
from density_checks import assert_matches_finite_differences, assert_tape_is_graph
from scipy import special, stats

import nbvi

W = np.array([[0.3, 0.7], [0.5, 0.5], [0.9, 0.1]])
MU = np.array([-1.0, 2.0])
SIGMA = np.array([1.0, 0.5])
Y = np.array([0.1, 1.5, -2.0])


def expected(y, w, mu, sigma):
    """sum_j log sum_k w_jk N(y_j | mu_jk, sigma_jk)."""
    return special.logsumexp(np.log(w) + stats.norm.logpdf(y[:, None], mu, sigma), axis=1).sum()


COMPONENTS = {
    "means (K,)": lambda: nbvi.Normal.dist(MU, SIGMA),
    "means (N, K)": lambda: nbvi.Normal.dist(np.tile(MU, (3, 1)), SIGMA),
    "scales (N, K)": lambda: nbvi.Normal.dist(MU, np.tile(SIGMA, (3, 1))),
}


@pytest.mark.parametrize("component", list(COMPONENTS))
def test_per_observation_weights_against_scipy(component):
    with nbvi.Model() as model:
        y = nbvi.Mixture("y", W, COMPONENTS[component](), observed=Y)
    assert y.shape == (3,)
    np.testing.assert_allclose(model.logp({}), expected(Y, W, MU, SIGMA), rtol=1e-13)
    with nbvi.Model() as normal_mixture:
        nbvi.NormalMixture("y", W, MU, SIGMA, observed=Y)
    np.testing.assert_allclose(model.logp({}), normal_mixture.logp({}), rtol=1e-13)


def test_pointwise_log_likelihood_per_observation():
    dist = nbvi.Mixture.dist(W, nbvi.Normal.dist(MU, SIGMA))
    lp = dist.logp_elementwise(Y[None], w=W[None], comp_mu=MU[None], comp_sigma=SIGMA[None])
    want = special.logsumexp(np.log(W) + stats.norm.logpdf(Y[:, None], MU, SIGMA), axis=1)
    np.testing.assert_allclose(lp, want[None], rtol=1e-13)


def free_model(component_shape=(2,)):
    """Weights Dirichlet (N, K), means and scales free, the component vectorised over K (and N)."""
    y = np.array([0.1, 1.5, -2.0, 0.7])
    with nbvi.Model() as model:
        w = nbvi.Dirichlet("w", np.ones(2), shape=(4, 2))
        mu = nbvi.Normal("mu", 0.0, 3.0, shape=component_shape)
        s = nbvi.HalfNormal("s", 2.0, shape=2)
        nbvi.Mixture("y", w, nbvi.Normal.dist(mu, s), observed=y)
    return model, y


@pytest.mark.parametrize("component_shape", [(2,), (4, 2)])
def test_free_weights_compiled_and_gradients(component_shape):
    model, y = free_model(component_shape)
    assert nbvi.explain(model).path in ("fused", "tape")
    point = model.initial_point()
    rng = np.random.default_rng(0)
    point["w"] = rng.dirichlet(np.ones(2), size=4)
    point["mu"] = rng.normal(size=component_shape)
    point["s"] = np.array([0.8, 1.3])
    prior = (stats.dirichlet.logpdf(point["w"].T, np.ones(2)).sum() + stats.norm.logpdf(point["mu"], 0, 3).sum()
             + stats.halfnorm.logpdf(point["s"], scale=2.0).sum())
    # model.logp is the log-density in the constrained values (no Jacobian), as PyMC's jacobian=False
    np.testing.assert_allclose(model.logp(point, jacobian=False),
                               prior + expected(y, point["w"], point["mu"], point["s"]), rtol=1e-12)
    assert_tape_is_graph(model)
    assert_matches_finite_differences(model)


def test_a_latent_mixture_with_per_element_weights():
    with nbvi.Model() as model:
        x = nbvi.Mixture("x", W, nbvi.Normal.dist(MU, SIGMA))
    assert x.shape == (3,)
    np.testing.assert_allclose(model.initial_point()["x"], W @ MU)  # the mixture mean per element
    np.testing.assert_allclose(model.logp({"x": Y}), expected(Y, W, MU, SIGMA), rtol=1e-13)
    assert_tape_is_graph(model)


def test_discrete_component_support_check_per_observation():
    counts = np.array([0, 3, 12])
    with nbvi.Model() as model:
        nbvi.Mixture("y", W, nbvi.Poisson.dist(mu=np.array([1.0, 10.0])), observed=counts)
    want = special.logsumexp(np.log(W) + stats.poisson.logpmf(counts[:, None], [1.0, 10.0]), axis=1).sum()
    np.testing.assert_allclose(model.logp({}), want, rtol=1e-13)
    with nbvi.Model(), pytest.raises(ValueError, match="outside the support"):
        nbvi.Mixture("y", W, nbvi.Poisson.dist(mu=np.array([1.0, 10.0])), observed=np.array([0, -1, 2]))


def test_random_draws_follow_each_rows_weights():
    far = nbvi.Normal.dist(np.array([-10.0, 10.0]), 1.0)  # the components never overlap: sign = component
    draws = nbvi.Mixture.dist(W, far).random(size=20000, rng=7)
    assert draws.shape == (20000, 3)
    # the share of the second component per row, within 4 standard errors sqrt(w (1 - w) / 20000) <= 0.0142
    np.testing.assert_allclose((draws > 0).mean(axis=0), W[:, 1], atol=0.0142)


def test_predictive_draws_have_the_shape_and_proportions():
    with nbvi.Model() as model:
        w = nbvi.Dirichlet("w", np.ones(2), shape=(3, 2))
        mu = nbvi.Normal("mu", 0.0, 3.0, shape=2)
        nbvi.Mixture("y", w, nbvi.Normal.dist(mu, 1.0), observed=Y)
    n = 6000
    trace = {"w": np.broadcast_to(W, (n, 3, 2)).copy(), "mu": np.tile([-10.0, 10.0], (n, 1))}
    draws = nbvi.sample_posterior_predictive(trace, model=model, random_seed=2, progressbar=False)["y"]
    assert draws.shape == (n, 3)
    # 4 standard errors sqrt(w (1 - w) / 6000) <= 0.026
    np.testing.assert_allclose((draws > 0).mean(axis=0), W[:, 1], atol=0.026)
    prior = nbvi.sample_prior_predictive(4000, model=model, random_seed=3)
    assert prior["y"].shape == (4000, 3) and prior["w"].shape == (4000, 3, 2)
    # under the prior the weights are uniform on the simplex and mu_1 > mu_2 half of the time: a draw is
    # positive with probability 1/2 by symmetry; 4 standard errors of 4000 draws: 0.032
    np.testing.assert_allclose((prior["y"] > 0).mean(axis=0), 0.5, atol=0.032)
