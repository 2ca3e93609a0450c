"""Poisson: log-probability against scipy, the gradient against central differences, the fused rows
kernel against the elementwise one, validation, moment and sampling."""
import numpy as np
import pytest
from distributions.family_checks import check_rows_read_in_place
from gradcheck import assert_grad_close
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from nbvi.distributions.elementwise import poisson_kernel
from nbvi.distributions.poisson import Poisson, poisson_rows_kernel
from nbvi.graph import Constant, Placeholder, Program


@st.composite
def poisson_case(draw):
    """A value shape, a parameter shape that broadcasts against it, draw counts and values."""
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=2)))
    k = draw(st.integers(0, len(shape)))
    mu_shape = tuple(1 if draw(st.booleans()) else n for n in shape[len(shape) - k:])
    n_draws = draw(st.sampled_from([1, 2, 3]))
    draws = [draw(st.sampled_from([1, n_draws])) for _ in range(2)]
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    y = rng.poisson(3.0, size=(draws[0],) + shape).astype(float)
    mu = rng.uniform(0.2, 8.0, size=(draws[1],) + mu_shape)
    return y, mu


def program(y, mu):
    nodes = [Placeholder(y.shape[1:], "y"), Placeholder(mu.shape[1:], "mu")]
    return Program([Poisson.dist(nodes[1]).logp(nodes[0])], nodes)


@given(case=poisson_case())
def test_logp_matches_scipy_and_gradient_matches_finite_differences(case):
    y, mu = case
    prog = program(y, mu)
    logp, (_, grad) = prog.value_and_grad([y, mu])
    lifted = mu.reshape(mu.shape[:1] + (1,) * (y.ndim - mu.ndim) + mu.shape[1:])
    expected = stats.poisson.logpmf(y, lifted)
    draws = max(len(y), len(mu))
    expected = np.broadcast_to(expected, (draws,) + expected.shape[1:]).reshape(draws, -1).sum(axis=1)
    np.testing.assert_allclose(logp, expected, rtol=1e-10, atol=1e-10)
    assert grad.shape == mu.shape
    assert_grad_close(lambda v: prog.value_and_grad([y, v])[0].sum(), grad, mu)


def test_rows_kernel_matches_elementwise_kernel():
    # 10_000 x 2 observed counts with one mean per column: the term takes the fused rows kernel
    rng = np.random.default_rng(0)
    y = rng.poisson([1.0, 5.0], size=(10_000, 2))
    mu = rng.uniform(0.5, 6.0, size=(3, 2))
    node = Placeholder((2,), "mu")
    dist = Poisson.dist(node)
    calls = []
    dist.rows_kernel = lambda *args: calls.append(1) or poisson_rows_kernel(*args)  # spy: the fused kernel must run
    prog = Program([dist.logp(Constant(y))], [node])
    logp, (grad,) = prog.value_and_grad([mu])
    assert calls
    np.testing.assert_allclose(logp, stats.poisson.logpmf(y, mu[:, None, :]).sum(axis=(1, 2)), rtol=1e-10)
    _, _, g_cols = poisson_kernel(y.reshape(1, -1).astype(float), np.repeat(mu[:, None, :], len(y), axis=1).reshape(3, -1))
    np.testing.assert_allclose(grad, g_cols.reshape(3, -1, 2).sum(axis=1), rtol=1e-9)


def test_rows_kernel_reads_an_index_of_rows_in_place():
    rng = np.random.default_rng(1)
    y = rng.poisson([1.0, 5.0], size=(2000, 2)).astype(float)
    mu = rng.uniform(0.5, 6.0, size=(3, 2))
    check_rows_read_in_place(poisson_rows_kernel, y, [mu], lambda x: stats.poisson.logpmf(x, mu[:, None, :]).sum(axis=(1, 2)))


def test_edge_cases_and_out_of_support():
    node = Placeholder((), "mu")
    prog = Program([Poisson.dist(node).logp(Constant([0.0, 0.0]))], [node])
    logp, (grad,) = prog.value_and_grad([np.array([0.0])])  # mu = 0 and y = 0: probability 1
    assert logp[0] == 0.0 and grad[0] == -2.0
    for y in ([1.0], [-1.0], [1.5]):
        prog = Program([Poisson.dist(node).logp(Constant(y))], [node])
        logp, (grad,) = prog.value_and_grad([np.array([0.0 if y == [1.0] else 2.0])])
        assert logp[0] == -np.inf and np.all(np.isfinite(grad))
    prog = Program([Poisson.dist(node).logp(Constant([1.0]))], [node])
    assert prog.value_and_grad([np.array([-1.0])])[0][0] == -np.inf


def test_validation():
    with pytest.raises(ValueError, match="mu must be >= 0"):
        Poisson.dist([1.0, -0.5])
    with pytest.raises(ValueError, match="non-negative integers"):
        Poisson.dist(2.0).check_observed(np.array([0, 1.5]))
    Poisson.dist(2.0).check_observed(np.array([0, 3, 7]))


def test_moment_and_random():
    np.testing.assert_array_equal(Poisson.dist([0.5, 3.7]).initial_value(), [0, 3])
    draws = Poisson.dist([0.5, 3.7]).random(size=20_000, rng=1)
    assert draws.shape == (20_000, 2)
    # standard error of the mean: sqrt(mu / 20_000) <= 0.014; allow 4 of them
    np.testing.assert_allclose(draws.mean(axis=0), [0.5, 3.7], atol=0.055)
    np.testing.assert_allclose(draws.var(axis=0), [0.5, 3.7], rtol=0.06)  # var = mu; sd of var ~ 1.5%
