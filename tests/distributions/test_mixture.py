"""NormalMixture: log-density against a logsumexp of scipy normals, every gradient against central
differences, the one-call scalar path against the general kernel, validation, moment and sampling."""
import numpy as np
import pytest
from gradcheck import assert_grad_close
from hypothesis import given
from hypothesis import strategies as st
from scipy import special, stats

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
