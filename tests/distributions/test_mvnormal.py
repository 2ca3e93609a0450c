"""MvNormal (cov, chol and tau): log-density against scipy, the gradients with respect to the value, mu
and the matrix against central differences, validation, moment and sampling."""
import numpy as np
import pytest
from gradcheck import assert_grad_close
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from nbvi.distributions.mvnormal import MvNormal
from nbvi.graph import Placeholder, Program


def spd(rng, shape, k):
    """Random symmetric positive definite matrices (*shape, k, k), condition number kept moderate."""
    a = rng.normal(size=shape + (k, k))
    return a @ np.swapaxes(a, -1, -2) / k + 0.5 * np.eye(k)


@st.composite
def mvnormal_case(draw):
    """A kind of matrix, a value shape (*batch, K), mu and matrix shapes that broadcast against it, draws."""
    kind = draw(st.sampled_from(["cov", "chol", "tau"]))
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    k = draw(st.integers(1, 3))

    def batch_shape():
        m = draw(st.integers(0, len(shape)))
        return tuple(1 if draw(st.booleans()) else n for n in shape[len(shape) - m:])

    n_draws = draw(st.sampled_from([1, 2, 3]))
    draws = [draw(st.sampled_from([1, n_draws])) for _ in range(3)]
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    x = rng.normal(size=(draws[0],) + shape + (k,))
    mu = rng.normal(size=(draws[1],) + batch_shape() + (k,))
    cov = spd(rng, (draws[2],) + batch_shape(), k)
    return kind, x, mu, cov


def matrix_of(kind, cov):
    if kind == "chol":
        return np.linalg.cholesky(cov)
    return np.linalg.inv(cov) if kind == "tau" else cov


def expected_logp(x, mu, cov):
    """scipy's log-density element by element (batch axes broadcast), summed per draw."""
    draws = max(len(x), len(mu), len(cov))
    k = x.shape[-1]
    batch = np.broadcast_shapes(x.shape[1:-1], mu.shape[1:-1], cov.shape[1:-2])
    out = np.zeros(draws)
    for d in range(draws):
        xd = np.broadcast_to(x[min(d, len(x) - 1)], batch + (k,)).reshape(-1, k)
        md = np.broadcast_to(mu[min(d, len(mu) - 1)], batch + (k,)).reshape(-1, k)
        cd = np.broadcast_to(cov[min(d, len(cov) - 1)], batch + (k, k)).reshape(-1, k, k)
        out[d] = sum(stats.multivariate_normal.logpdf(a, b, c) for a, b, c in zip(xd, md, cd))
    return out


@given(case=mvnormal_case())
def test_logp_matches_scipy_and_gradients_match_finite_differences(case):
    kind, x, mu, cov = case
    values = [x, mu, matrix_of(kind, cov)]
    nodes = [Placeholder(v.shape[1:], name) for v, name in zip(values, ("x", "mu", kind))]
    prog = Program([MvNormal.dist(nodes[1], **{kind: nodes[2]}).logp(nodes[0])], nodes)
    logp, grads = prog.value_and_grad(values)
    np.testing.assert_allclose(logp, expected_logp(x, mu, cov), rtol=1e-9, atol=1e-9)
    for k in range(3):
        assert grads[k].shape == values[k].shape

        def total(v, k=k):
            args = list(values)
            args[k] = v
            return prog.value_and_grad(args)[0].sum()
        assert_grad_close(total, grads[k], values[k], rtol=1e-5, atol=1e-5)


def test_not_positive_definite_is_minus_inf_not_nan():
    x, mu = np.zeros((1, 2)), np.zeros((1, 2))
    good = np.eye(2)
    for kind, bad in (("cov", [[1.0, 2.0], [2.0, 1.0]]), ("tau", [[-1.0, 0.0], [0.0, 1.0]]), ("chol", [[1.0, 0.0], [0.5, -1.0]])):
        nodes = [Placeholder((2,), "x"), Placeholder((2,), "mu"), Placeholder((2, 2), kind)]
        prog = Program([MvNormal.dist(nodes[1], **{kind: nodes[2]}).logp(nodes[0])], nodes)
        matrices = np.stack([good, np.array(bad)])  # one valid draw, one invalid
        logp, grads = prog.value_and_grad([x, mu, matrices])
        assert np.isfinite(logp[0]) and logp[1] == -np.inf
        assert all(np.all(np.isfinite(g)) for g in grads)


def test_validation():
    cov = np.array([[1.0, 0.5], [0.5, 2.0]])
    with pytest.raises(ValueError, match="exactly one"):
        MvNormal.dist(np.zeros(2), cov=cov, tau=cov)
    with pytest.raises(ValueError, match="exactly one"):
        MvNormal.dist(np.zeros(2))
    with pytest.raises(ValueError, match="square"):
        MvNormal.dist(np.zeros(2), cov=np.ones((2, 3)))
    with pytest.raises(ValueError, match="coordinates"):
        MvNormal.dist(np.zeros(3), cov=cov)
    with pytest.raises(ValueError, match="symmetric"):
        MvNormal.dist(np.zeros(2), cov=[[1.0, 0.5], [0.0, 1.0]])
    with pytest.raises(ValueError, match="positive definite"):
        MvNormal.dist(np.zeros(2), cov=[[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match="positive definite"):
        MvNormal.dist(np.zeros(2), tau=[[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match="lower triangular"):
        MvNormal.dist(np.zeros(2), chol=[[1.0, 0.5], [0.0, 1.0]])
    with pytest.raises(ValueError, match="positive diagonal"):
        MvNormal.dist(np.zeros(2), chol=[[1.0, 0.0], [0.5, -1.0]])
    dist = MvNormal.dist(np.zeros(2), cov=np.stack([cov, cov, cov]))
    assert dist.shape == (3, 2) and dist.event_shape() == (2,)
    assert dist.default_transform() is None


def test_moment_and_random():
    mu = np.array([1.0, -2.0, 0.5])
    cov = np.array([[1.0, 0.6, 0.0], [0.6, 2.0, -0.3], [0.0, -0.3, 0.5]])
    np.testing.assert_array_equal(MvNormal.dist(mu, cov=cov).initial_value(), mu)
    for kind, m in (("cov", cov), ("chol", np.linalg.cholesky(cov)), ("tau", np.linalg.inv(cov))):
        draws = MvNormal.dist(mu, **{kind: m}).random(size=20_000, rng=1)
        assert draws.shape == (20_000, 3)
        # standard error of a mean <= sqrt(2 / 20_000) = 0.01 and of a (co)variance <= sqrt(2 * 2^2 / 20_000)
        # = 0.02; allow 4 of them
        np.testing.assert_allclose(draws.mean(axis=0), mu, atol=0.04)
        np.testing.assert_allclose(np.cov(draws.T), cov, atol=0.08)
    assert MvNormal.dist(np.zeros((4, 3)), cov=cov).random(size=5, rng=1).shape == (5, 4, 3)
