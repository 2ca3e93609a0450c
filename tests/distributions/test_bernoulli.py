"""Bernoulli (p and logit_p): log-probability against scipy, the gradient against central differences,
the fused rows kernel against the elementwise one, validation, moment and sampling."""
import numpy as np
import pytest
from distributions.family_checks import check_rows_read_in_place
from gradcheck import assert_grad_close
from hypothesis import given
from hypothesis import strategies as st
from scipy import special, stats

from nbvi.distributions.bernoulli import Bernoulli, bernoulli_logit_rows_kernel, bernoulli_rows_kernel
from nbvi.distributions.elementwise import bernoulli_kernel, bernoulli_logit_kernel
from nbvi.graph import Constant, Placeholder, Program


@st.composite
def bernoulli_case(draw):
    """A value shape, a parameter shape that broadcasts against it, draw counts and values."""
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=2)))
    k = draw(st.integers(0, len(shape)))
    p_shape = tuple(1 if draw(st.booleans()) else n for n in shape[len(shape) - k:])
    n_draws = draw(st.sampled_from([1, 2, 3]))
    draws = [draw(st.sampled_from([1, n_draws])) for _ in range(2)]
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    y = rng.integers(0, 2, size=(draws[0],) + shape).astype(float)
    p = rng.uniform(0.05, 0.95, size=(draws[1],) + p_shape)
    return y, p


def program(y, param, name):
    nodes = [Placeholder(v.shape[1:], n) for v, n in zip((y, param), ("y", name))]
    return Program([Bernoulli.dist(**{name: nodes[1]}).logp(nodes[0])], nodes)


def expected_logp(y, p):
    """scipy's log-pmf summed per draw, with the parameter lifted to the value's rank."""
    p = p.reshape(p.shape[:1] + (1,) * (y.ndim - p.ndim) + p.shape[1:])
    lp = stats.bernoulli.logpmf(y, p)
    draws = max(len(y), len(p))
    return np.broadcast_to(lp, (draws,) + lp.shape[1:]).reshape(draws, -1).sum(axis=1)


@pytest.mark.parametrize("name", ["p", "logit_p"])
@given(case=bernoulli_case())
def test_logp_matches_scipy_and_gradient_matches_finite_differences(name, case):
    y, p = case
    param = p if name == "p" else special.logit(p)
    prog = program(y, param, name)
    logp, (_, grad) = prog.value_and_grad([y, param])
    np.testing.assert_allclose(logp, expected_logp(y, p), rtol=1e-10, atol=1e-10)
    assert grad.shape == param.shape
    assert_grad_close(lambda v: prog.value_and_grad([y, v])[0].sum(), grad, param)


@pytest.mark.parametrize("name", ["p", "logit_p"])
def test_rows_kernel_matches_elementwise_kernel(name):
    # 20_000 x 2 observed values with one parameter per column: the term takes the fused rows kernel
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=(20_000, 2))
    p = rng.uniform(0.1, 0.9, size=(3, 2))
    param = p if name == "p" else special.logit(p)
    node = Placeholder((2,), name)
    dist = Bernoulli.dist(**{name: node})
    calls = []
    rows_kernel = dist.rows_kernel
    dist.rows_kernel = lambda *args: calls.append(1) or rows_kernel(*args)  # spy: the fused kernel must run
    prog = Program([dist.logp(Constant(y))], [node])
    logp, (grad,) = prog.value_and_grad([param])
    assert calls
    np.testing.assert_allclose(logp, stats.bernoulli.logpmf(y, p[:, None, :]).sum(axis=(1, 2)), rtol=1e-10)
    kernel = bernoulli_kernel if name == "p" else bernoulli_logit_kernel
    _, _, g_cols = kernel(y.reshape(1, -1).astype(float), np.repeat(param[:, None, :], len(y), axis=1).reshape(3, -1))
    np.testing.assert_allclose(grad, g_cols.reshape(3, -1, 2).sum(axis=1), rtol=1e-9)


@pytest.mark.parametrize("name", ["p", "logit_p"])
def test_rows_kernel_reads_an_index_of_rows_in_place(name):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, size=(2000, 2)).astype(float)
    p = rng.uniform(0.1, 0.9, size=(3, 2))
    param = p if name == "p" else special.logit(p)
    kernel = bernoulli_rows_kernel if name == "p" else bernoulli_logit_rows_kernel
    check_rows_read_in_place(kernel, y, [param], lambda x: stats.bernoulli.logpmf(x, p[:, None, :]).sum(axis=(1, 2)))


def test_out_of_support_is_minus_inf_not_nan():
    node = Placeholder((), "p")
    prog = Program([Bernoulli.dist(p=node).logp(Constant([0.0, 1.0, 2.0]))], [node])
    logp, (grad,) = prog.value_and_grad([np.array([0.5])])
    assert logp[0] == -np.inf and np.all(np.isfinite(grad))
    prog = Program([Bernoulli.dist(p=node).logp(Constant([1.0]))], [node])
    logp, _ = prog.value_and_grad([np.array([0.0, 1.5, -0.1, 1.0])])
    np.testing.assert_array_equal(logp, [-np.inf, -np.inf, -np.inf, 0.0])


def test_validation():
    with pytest.raises(ValueError, match="p must be in"):
        Bernoulli.dist(p=[0.5, 1.5])
    with pytest.raises(ValueError, match="exactly one"):
        Bernoulli.dist(p=0.5, logit_p=0.0)
    with pytest.raises(ValueError, match="exactly one"):
        Bernoulli.dist()
    with pytest.raises(ValueError, match="0 or 1"):
        Bernoulli.dist(p=0.5).check_observed(np.array([0, 1, 2]))
    Bernoulli.dist(p=0.5).check_observed(np.array([0, 1, 1]))
    assert Bernoulli.observed_only and Bernoulli.discrete


def test_moment_and_random():
    np.testing.assert_array_equal(Bernoulli.dist(p=[0.2, 0.7]).initial_value(), [0, 1])
    np.testing.assert_array_equal(Bernoulli.dist(logit_p=[-1.0, 2.0]).initial_value(), [0, 1])
    dist = Bernoulli.dist(logit_p=special.logit(np.array([0.2, 0.7])))
    draws = dist.random(size=20_000, rng=1)
    assert draws.shape == (20_000, 2)
    assert set(np.unique(draws)) <= {0, 1}
    # standard error of a mean of 20_000 Bernoulli draws <= 0.5 / sqrt(20_000) = 0.0035; allow 4 of them
    np.testing.assert_allclose(draws.mean(axis=0), [0.2, 0.7], atol=0.015)
