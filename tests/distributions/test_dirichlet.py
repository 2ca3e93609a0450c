"""Dirichlet: log-density against scipy, the gradients with respect to the value and a against central
differences, validation, transform, moment and sampling."""
import numpy as np
import pytest
from gradcheck import assert_grad_close
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import nbvi
from nbvi.distributions.dirichlet import Dirichlet
from nbvi.graph import Placeholder, Program


@st.composite
def dirichlet_case(draw):
    """A value shape (*batch, K), an a shape whose batch part broadcasts against it, draws and values."""
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    k = draw(st.integers(2, 4))
    m = draw(st.integers(0, len(shape)))
    a_shape = tuple(1 if draw(st.booleans()) else n for n in shape[len(shape) - m:]) + (k,)
    n_draws = draw(st.sampled_from([1, 2, 3]))
    draws = [draw(st.sampled_from([1, n_draws])) for _ in range(2)]
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    a = rng.uniform(0.5, 5.0, size=(draws[1],) + a_shape)
    x = rng.dirichlet(np.full(k, 3.0), size=(draws[0],) + shape)  # interior points, away from the faces
    return x, a


def expected_logp(x, a):
    draws = max(len(x), len(a))
    batch = np.broadcast_shapes(x.shape[1:-1], a.shape[1:-1])
    k = x.shape[-1]
    out = np.zeros(draws)
    for d in range(draws):
        xd = np.broadcast_to(x[min(d, len(x) - 1)], batch + (k,)).reshape(-1, k)
        ad = np.broadcast_to(a[min(d, len(a) - 1)], batch + (k,)).reshape(-1, k)
        out[d] = sum(stats.dirichlet.logpdf(xi, ai) for xi, ai in zip(xd, ad))
    return out


@given(case=dirichlet_case())
def test_logp_matches_scipy_and_gradients_match_finite_differences(case):
    values = list(case)
    nodes = [Placeholder(v.shape[1:], name) for v, name in zip(values, ("x", "a"))]
    prog = Program([Dirichlet.dist(nodes[1]).logp(nodes[0])], nodes)
    logp, grads = prog.value_and_grad(values)
    np.testing.assert_allclose(logp, expected_logp(*values), rtol=1e-10, atol=1e-10)
    for k in range(2):
        assert grads[k].shape == values[k].shape

        def total(v, k=k):  # the density as a function of all K coordinates (the transform takes it from there)
            args = list(values)
            args[k] = v
            return prog.value_and_grad(args)[0].sum()
        assert_grad_close(total, grads[k], values[k], rtol=1e-5, atol=1e-5)


def test_out_of_support_is_minus_inf_not_nan():
    nodes = [Placeholder((3,), "x"), Placeholder((3,), "a")]
    prog = Program([Dirichlet.dist(nodes[1]).logp(nodes[0])], nodes)
    x = np.array([[0.2, 0.3, 0.5], [0.0, 0.5, 0.5], [-0.1, 0.6, 0.5], [0.2, 0.3, 0.5]])
    a = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [0.0, 2.0, 3.0]])
    logp, grads = prog.value_and_grad([x, a])
    assert np.isfinite(logp[0]) and np.all(logp[1:] == -np.inf)
    assert all(np.all(np.isfinite(g)) for g in grads)


def test_validation():
    with pytest.raises(ValueError, match="a must be > 0"):
        Dirichlet.dist([1.0, 0.0, 2.0])
    with pytest.raises(ValueError, match="last axis"):
        Dirichlet.dist(2.0)
    dist = Dirichlet.dist(np.ones((4, 3)))
    assert dist.shape == (4, 3) and dist.event_shape() == (3,)
    with pytest.raises(ValueError, match="simplex"):
        dist.check_observed(np.array([[0.5, 0.6, 0.1]]))
    dist.check_observed(np.array([[0.2, 0.3, 0.5]]))
    with pytest.raises(ValueError, match="inside the simplex"):  # a one-hot row: density 0 or infinite
        dist.check_observed(np.array([[1.0, 0.0, 0.0]]))
    with nbvi.Model():
        with pytest.raises(ValueError, match="'p'.*inside the simplex"):
            nbvi.Dirichlet("p", np.ones(3), observed=np.array([[1.0, 0.0, 0.0], [0.2, 0.3, 0.5]]))


def test_transform_moment_and_random():
    from nbvi import transforms

    a = np.array([1.0, 2.0, 5.0])
    dist = Dirichlet.dist(a)
    assert dist.default_transform() is transforms.stick_breaking
    np.testing.assert_allclose(dist.initial_value(), a / 8.0)
    draws = dist.random(size=20_000, rng=1)
    assert draws.shape == (20_000, 3)
    np.testing.assert_allclose(draws.sum(axis=-1), 1.0)
    # sd of a component <= 0.5 / sqrt(sum(a) + 1) = 0.17, so its mean has standard error <= 0.0012; allow 4
    np.testing.assert_allclose(draws.mean(axis=0), a / 8.0, atol=0.005)
    assert Dirichlet.dist(np.ones((4, 3))).random(size=5, rng=1).shape == (5, 4, 3)
