"""NormalMixture: log-density against a logsumexp of scipy normals, every gradient against central
differences, the one-call scalar path against the general kernel, validation, moment and sampling. Mixture
(any scalar families): against scipy, compiled, its transform, draws and a fit."""
import numpy as np
import pytest
from density_checks import assert_matches_finite_differences, assert_tape_is_graph
from gradcheck import assert_grad_close
from hypothesis import given
from hypothesis import strategies as st
from scipy import special, stats

import nbvi
from nbvi.distributions import mixture
from nbvi.distributions.mixture import NormalMixture, normal_mixture_scalar_kernel
from nbvi.graph import Placeholder, Program

NOTEBOOK = dict(w=[0.2, 0.8], mu=[-0.3, 0.5], sigma=[0.1, 0.1])  # the quickstart notebook's mixture


@st.composite
def mixture_case(draw):
    """Value shape, parameter shapes (batch part broadcasting against it, then K or 1 components, or no
    component axis at all for mu and sigma), draw counts and values."""
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    n_comp = draw(st.integers(1, 3))

    def param_shape(core_choices):
        k = draw(st.integers(0, len(shape)))
        batch = tuple(1 if draw(st.booleans()) else n for n in shape[len(shape) - k:])
        core = draw(st.sampled_from(core_choices))
        return batch + core if core != () else ()

    shapes = [param_shape([(n_comp,)]), param_shape([(n_comp,), (1,), ()]), param_shape([(n_comp,), (1,), ()])]
    n_draws = draw(st.sampled_from([1, 2, 3]))
    draws = [draw(st.sampled_from([1, n_draws])) for _ in range(4)]
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    x = rng.normal(size=(draws[0],) + shape)
    w = rng.dirichlet(np.ones(n_comp), size=(draws[1],) + shapes[0][:-1])
    mu = rng.normal(size=(draws[2],) + shapes[1])
    sigma = rng.uniform(0.4, 2.0, size=(draws[3],) + shapes[2])
    return x, w, mu, sigma


def program(values):
    nodes = [Placeholder(v.shape[1:], name) for v, name in zip(values, ("x", "w", "mu", "sigma"))]
    return Program([NormalMixture.dist(*nodes[1:]).logp(nodes[0])], nodes)


def expected_logp(x, w, mu, sigma):
    """logsumexp_k(log w_k + log N(x | mu_k, sigma_k)) element by element, summed per draw."""
    def lifted(v):  # (D_i, *batch, K_i) with the batch lifted to the value's rank
        v = v.reshape(v.shape + (1,)) if v.ndim == 1 else v  # no component axis: one shared component
        return v.reshape(v.shape[:1] + (1,) * (x.ndim + 1 - v.ndim) + v.shape[1:])
    terms = np.log(lifted(w)) + stats.norm.logpdf(x[..., None], lifted(mu), lifted(sigma))
    lp = special.logsumexp(terms, axis=-1)
    draws = max(len(v) for v in (x, w, mu, sigma))
    return np.broadcast_to(lp, (draws,) + lp.shape[1:]).reshape(draws, -1).sum(axis=1)


@given(case=mixture_case())
def test_logp_matches_scipy_and_gradients_match_finite_differences(case):
    values = list(case)
    prog = program(values)
    logp, grads = prog.value_and_grad(values)
    np.testing.assert_allclose(logp, expected_logp(*values), rtol=1e-10, atol=1e-10)
    for k in range(4):
        assert grads[k].shape == values[k].shape

        def total(v, k=k):
            args = list(values)
            args[k] = v
            return prog.value_and_grad(args)[0].sum()
        assert_grad_close(total, grads[k], values[k], rtol=1e-5, atol=1e-5)


def test_scalar_path_matches_general_kernel(monkeypatch):
    # x (D,) with parameters (D_i, K) takes the one-call path; the same numbers laid out with an element
    # axis take the general kernel
    calls = []
    monkeypatch.setattr(mixture, "normal_mixture_scalar_kernel",
                        lambda *args: calls.append(1) or normal_mixture_scalar_kernel(*args))
    rng = np.random.default_rng(0)
    dist = NormalMixture.dist(Placeholder((3,)), Placeholder((3,)), Placeholder((3,)))
    x, w = rng.normal(size=4), rng.dirichlet(np.ones(3), size=4)
    mu, sigma = rng.normal(size=(1, 3)), rng.uniform(0.2, 1.0, size=(4, 3))
    fast_lp, fast = dist.logp_partials([x, w, mu, sigma], [True] * 4)
    assert len(calls) == 1
    slow_lp, slow = dist.logp_partials([x[:, None], w[:, None], mu[:, None], sigma[:, None]], [True] * 4)
    np.testing.assert_allclose(fast_lp, slow_lp, rtol=1e-14)
    assert len(calls) == 1
    for f, s in zip(fast, slow):
        np.testing.assert_allclose(f, s.reshape(f.shape), rtol=1e-13)
    _, partials = dist.logp_partials([x, w, mu, sigma], [True, False, False, False])
    assert partials[1:] == [None, None, None]


def test_weight_gradient_at_a_zero_weight():
    # d/dw_k = N(x | mu_k, sigma_k) / p(x), finite (and positive) also where w_k = 0
    x, w, mu, sigma = np.array([0.3]), np.array([[0.0, 1.0]]), np.array([[0.0, 1.0]]), np.array([[1.0, 1.0]])
    logp, grads = program([x, w, mu, sigma]).value_and_grad([x, w, mu, sigma])
    np.testing.assert_allclose(logp, stats.norm.logpdf(0.3, 1.0, 1.0))
    np.testing.assert_allclose(grads[1][0], stats.norm.pdf(0.3, [0.0, 1.0], 1.0) / np.exp(logp[0]))


def test_out_of_support_is_minus_inf_not_nan():
    x, mu = np.array([0.3]), np.array([[0.0, 1.0]])
    for w, sigma in (([[0.5, 0.5]], [[1.0, 0.0]]), ([[1.2, -0.2]], [[1.0, 1.0]]), ([[0.5, 0.5]], [[1.0, -1.0]])):
        values = [x, np.array(w), mu, np.array(sigma)]
        logp, grads = program(values).value_and_grad(values)
        assert logp[0] == -np.inf and all(np.all(np.isfinite(g)) for g in grads)


def test_validation():
    with pytest.raises(ValueError, match="w must be >= 0"):
        NormalMixture.dist(w=[1.2, -0.2], mu=[0.0, 1.0], sigma=1.0)
    with pytest.raises(ValueError, match="sum to 1"):
        NormalMixture.dist(w=[0.3, 0.3], mu=[0.0, 1.0], sigma=1.0)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        NormalMixture.dist(w=[0.5, 0.5], mu=[0.0, 1.0], sigma=[1.0, 0.0])
    with pytest.raises(ValueError, match="same number of components"):
        NormalMixture.dist(w=[0.5, 0.5], mu=[0.0, 1.0, 2.0], sigma=1.0)
    with pytest.raises(ValueError, match="only one"):
        NormalMixture.dist(w=[0.5, 0.5], mu=[0.0, 1.0], sigma=1.0, tau=1.0)
    dist = NormalMixture.dist(w=[0.5, 0.5], mu=[0.0, 1.0], tau=[4.0, 0.25])  # sigma = tau^-1/2
    np.testing.assert_allclose(dist.param_values()["sigma"], [0.5, 2.0])
    assert NormalMixture.dist(w=[0.5, 0.5], mu=[0.0, 1.0], sd=[0.5, 2.0]).shape == ()
    assert NormalMixture.dist(w=[0.5, 0.5], mu=np.zeros((4, 2)), sigma=1.0).shape == (4,)
    assert NormalMixture.dist(**NOTEBOOK).default_transform() is None


def test_moment_is_the_mixture_mean():
    assert NormalMixture.dist(**NOTEBOOK).initial_value() == 0.34  # 0.2 * -0.3 + 0.8 * 0.5
    np.testing.assert_allclose(NormalMixture.dist(w=[[0.5, 0.5], [0.1, 0.9]], mu=[0.0, 1.0], sigma=1.0).initial_value(),
                               [0.5, 0.9])


def test_random():
    draws = NormalMixture.dist(**NOTEBOOK).random(size=20_000, rng=1)
    assert draws.shape == (20_000,)
    # mixture sd = sqrt(0.01 + 0.2 * 0.8 * 0.8^2) ~ 0.33: standard error of the mean 0.0023, allow 4 of them;
    # the left mode's mass 0.2 has standard error 0.0028 (the modes are 8 sigma apart, so x < 0.1 is exact)
    assert abs(draws.mean() - 0.34) < 0.01
    assert abs((draws < 0.1).mean() - 0.2) < 0.012
    assert NormalMixture.dist(w=[0.5, 0.5], mu=np.zeros((4, 2)), sigma=1.0).random(size=(5, 2), rng=1).shape == (5, 2, 4)


# -- Mixture: a mixture of any scalar families ------------------------------------------------------------------
def _mixture_model(observed=None):
    y = np.concatenate([np.random.default_rng(0).normal(-2, 0.5, 60), 3 + 0.7 * np.random.default_rng(1).standard_t(3, 140)])
    with nbvi.Model() as model:
        w = nbvi.Dirichlet("w", np.ones(2))
        mu = nbvi.Normal("mu", 0.0, 5.0, shape=2)
        s = nbvi.HalfNormal("s", 2.0, shape=2)
        nbvi.Mixture("y", w, [nbvi.Normal.dist(mu[0], s[0]), nbvi.StudentT.dist(3.0, mu[1], s[1])],
                     observed=y if observed is None else observed)
    return model, y


def test_mixture_of_two_families_against_scipy_and_compiled():
    model, y = _mixture_model()
    assert nbvi.explain(model).path in ("fused", "tape")
    point = {"w": np.array([0.3, 0.7]), "mu": np.array([-2.0, 3.0]), "s": np.array([0.5, 0.7])}
    theta = model.initial_point_flat()[None] * 0.0
    rv = model["y"]
    term = Program([rv.dist.logp(rv)], inputs=list(model.free_RVs)).run(
        [point[v.name][None] for v in model.free_RVs])[0]
    want = special.logsumexp(np.stack([np.log(0.3) + stats.norm.logpdf(y, -2.0, 0.5),
                                       np.log(0.7) + stats.t.logpdf(y, 3.0, 3.0, 0.7)]), axis=0).sum()
    np.testing.assert_allclose(term[0], want, rtol=1e-12)
    assert theta.shape == (1, model.ndim)
    assert_tape_is_graph(model, spread=0.2)
    assert_matches_finite_differences(model)


def test_mixture_with_one_distribution_along_the_component_axis():
    counts = np.concatenate([np.random.default_rng(2).poisson(1.0, 100), np.random.default_rng(3).poisson(12.0, 100)])
    with nbvi.Model() as model:
        w = nbvi.Dirichlet("w", np.ones(2))
        rate = nbvi.Gamma("rate", 2.0, 0.2, shape=2)
        nbvi.Mixture("y", w, nbvi.Poisson.dist(mu=rate), observed=counts)
    assert nbvi.explain(model).path in ("fused", "tape")
    assert_tape_is_graph(model, spread=0.1)
    dist = model["y"].dist
    lp = dist.logp_elementwise(counts[None].astype(float), w=np.array([[0.4, 0.6]]), comp_mu=np.array([[1.0, 12.0]]))
    want = np.log(0.4 * stats.poisson.pmf(counts, 1.0) + 0.6 * stats.poisson.pmf(counts, 12.0))
    np.testing.assert_allclose(lp[0], want, rtol=1e-12)


def test_a_free_mixture_takes_its_components_transform():
    with nbvi.Model() as model:
        x = nbvi.Mixture("x", np.array([0.5, 0.5]), [nbvi.Gamma.dist(2.0, 1.0), nbvi.Exponential.dist(1.0)])
    assert x.transform is not None and model.initial_point()["x"] > 0
    with nbvi.Model(), pytest.raises(TypeError, match="different supports"):
        nbvi.Mixture("z", np.array([0.5, 0.5]), [nbvi.Normal.dist(0.0, 1.0), nbvi.Exponential.dist(1.0)])


def test_mixture_random_draws_follow_the_weights():
    dist = nbvi.Mixture.dist(np.array([0.25, 0.75]), [nbvi.Normal.dist(-10.0, 1.0), nbvi.Normal.dist(10.0, 1.0)])
    draws = dist.random(size=20000, rng=4)
    assert abs(np.mean(draws > 0) - 0.75) < 0.015
    assert abs(draws[draws > 0].mean() - 10.0) < 0.05


def test_mixture_recovers_its_components():
    model, _ = _mixture_model()
    with model:
        point = nbvi.find_MAP(progressbar=False)
    np.testing.assert_allclose(point["mu"], [-2.0, 3.0], atol=0.25)
    np.testing.assert_allclose(point["w"], [0.3, 0.7], atol=0.06)


@pytest.mark.parametrize("comp_dists, error, match", [
    ([], TypeError, "non-empty list"),
    ([1.0], TypeError, "made with .dist"),
    ("normal", TypeError, "comp_dists must be"),
])
def test_mixture_bad_components_are_named(comp_dists, error, match):
    with nbvi.Model(), pytest.raises(error, match=match):
        nbvi.Mixture("x", np.array([1.0]), comp_dists)


def test_mixture_weights_must_match_the_components():
    with nbvi.Model(), pytest.raises(ValueError, match="3 weights"):
        nbvi.Mixture("x", np.ones(3) / 3, [nbvi.Normal.dist(0.0, 1.0), nbvi.Normal.dist(1.0, 1.0)])
