"""Categorical (p and logit_p): log-probability against scipy, gradients against central differences
(through the normalisation of p and through a softmax regression), the parallel kernel against the
serial one, validation of p and of observed values, moment and sampling."""
import numpy as np
import pytest
from gradcheck import assert_grad_close
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from nbvi.distributions.categorical import (
    Categorical,
    categorical_logit_kernel,
    categorical_logit_kernel_parallel,
    categorical_p_kernel,
    categorical_p_kernel_parallel,
)
from nbvi.graph import Constant, Placeholder, Program, ops


@st.composite
def categorical_case(draw):
    """A value (class index) shape, a p shape (..., K) whose batch part broadcasts against it, draws and values."""
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=2)))
    k = draw(st.integers(0, len(shape)))
    n_classes = draw(st.integers(2, 4))
    p_shape = tuple(1 if draw(st.booleans()) else n for n in shape[len(shape) - k:]) + (n_classes,)
    n_draws = draw(st.sampled_from([1, 2, 3]))
    draws = [draw(st.sampled_from([1, n_draws])) for _ in range(2)]
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    y = rng.integers(0, n_classes, size=(draws[0],) + shape)
    p = rng.uniform(0.05, 1.0, size=(draws[1],) + p_shape)  # not normalised: the density normalises it
    return y, p


def expected_logp(y, p):
    """log p[y] / sum(p), per element via scipy's multinomial with one trial, summed per draw."""
    p = p / p.sum(axis=-1, keepdims=True)
    p = p.reshape(p.shape[:1] + (1,) * (y.ndim - (p.ndim - 1)) + p.shape[1:])
    draws = max(len(y), len(p))
    batch = np.broadcast_shapes(y.shape[1:], p.shape[1:-1])
    y = np.broadcast_to(y, (draws,) + batch).reshape(-1)
    p = np.broadcast_to(p, (draws,) + batch + p.shape[-1:]).reshape(-1, p.shape[-1])
    one_hot = np.eye(p.shape[-1])[y]
    return stats.multinomial.logpmf(one_hot, 1, p).reshape(draws, -1).sum(axis=1)


@pytest.mark.parametrize("name", ["p", "logit_p"])
@given(case=categorical_case())
def test_logp_matches_scipy_and_gradient_matches_finite_differences(name, case):
    y, p = case
    param = p if name == "p" else np.log(p)  # softmax(log p) = p / sum(p)
    nodes = [Placeholder(y.shape[1:], "y", dtype=np.int64), Placeholder(param.shape[1:], name)]
    prog = Program([Categorical.dist(**{name: nodes[1]}).logp(nodes[0])], nodes)
    logp, (grad,) = prog.value_and_grad([y, param], wrt=[1])
    np.testing.assert_allclose(logp, expected_logp(y, p), rtol=1e-10, atol=1e-10)
    assert grad.shape == param.shape
    assert_grad_close(lambda v: prog.value_and_grad([y, v], wrt=[1])[0].sum(), grad, param)


def test_softmax_regression_gradient():
    # the iris model's likelihood: obs ~ Categorical(p=softmax(X beta + a)), gradient w.r.t. beta and a
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(10, 4)), rng.integers(0, 3, size=10)
    beta, a = Placeholder((4, 3), "beta"), Placeholder((3,), "a")
    dist = Categorical.dist(p=ops.softmax(Constant(X).dot(beta) + a))
    # p = softmax(X beta + a) with data X runs the fused softmax-regression kernel
    assert dist.params == ("X", "beta", "intercept")
    # p = softmax(z) of another z is evaluated as logit_p = z: no softmax node
    assert Categorical.dist(p=ops.softmax(ops.tanh(Constant(X).dot(beta)))).params == ("logit_p",)
    assert Categorical.dist(p=ops.softmax(Constant(X).dot(beta) + a, axis=0)).params == ("p",)  # not the class axis
    lp = dist.logp(Constant(y))
    prog = Program([lp], [beta, a])
    values = [rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 3))]
    logp, grads = prog.value_and_grad(values)
    z = X @ values[0] + values[1][:, None, :]
    log_softmax = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    np.testing.assert_allclose(logp, log_softmax[:, np.arange(10), y].sum(axis=1), rtol=1e-10)
    for k in range(2):
        def total(v, k=k):
            args = list(values)
            args[k] = v
            return prog.value_and_grad(args)[0].sum()
        assert_grad_close(total, grads[k], values[k])


@pytest.mark.parametrize("with_intercept", [True, False])
def test_fused_softmax_regression_matches_the_unfused_graph(with_intercept):
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(30, 4)), rng.integers(0, 3, size=30)
    beta, a = Placeholder((4, 3), "beta"), Placeholder((3,), "a")
    z = Constant(X).dot(beta) + a if with_intercept else Constant(X).dot(beta)
    fused = Categorical.dist(p=ops.softmax(z))
    plain = Categorical.dist(logit_p=ops.log_softmax(z))  # the same density, through the generic kernel
    assert fused.params[0] == "X" and plain.params == ("logit_p",)
    values = [rng.normal(size=(5, 4, 3)), rng.normal(size=(5, 3))]
    lp_f, g_f = Program([fused.logp(Constant(y))], [beta, a]).value_and_grad(values)
    lp_p, g_p = Program([plain.logp(Constant(y))], [beta, a]).value_and_grad(values)
    np.testing.assert_allclose(lp_f, lp_p, rtol=1e-10)
    for gf, gp in zip(g_f, g_p):
        np.testing.assert_allclose(gf, gp, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name, serial, parallel", [
    ("p", categorical_p_kernel, categorical_p_kernel_parallel),
    ("logit_p", categorical_logit_kernel, categorical_logit_kernel_parallel),
])
def test_parallel_kernel_matches_serial_kernel(name, serial, parallel):
    # the iris workload's sizes: 500 particles x 112 points x 3 classes
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, size=(1, 112))
    p = rng.dirichlet(np.ones(3), size=(500, 112))
    lp_s, g_s = serial(y, p)
    lp_p, g_p = parallel(y, p)
    np.testing.assert_array_equal(lp_s, lp_p)
    np.testing.assert_array_equal(g_s, g_p)
    # the term picks the parallel kernel at this size; it must give the same numbers
    node = Placeholder((112, 3), "p")
    prog = Program([Categorical.dist(**{name: node}).logp(Constant(y[0]))], [node])
    logp, (grad,) = prog.value_and_grad([p])
    np.testing.assert_array_equal(logp, lp_s)
    np.testing.assert_array_equal(grad, g_s)


def test_out_of_support_is_minus_inf_not_nan():
    node = Placeholder((3,), "p")
    for y, p in ((3, [0.2, 0.3, 0.5]), (-1, [0.2, 0.3, 0.5]), (1, [0.5, 0.0, 0.5]), (0, [0.5, -0.1, 0.6])):
        prog = Program([Categorical.dist(p=node).logp(Constant(y))], [node])
        logp, (grad,) = prog.value_and_grad([np.array([p])])
        assert logp[0] == -np.inf and np.all(np.isfinite(grad))
    prog = Program([Categorical.dist(logit_p=node).logp(Constant(1.5))], [node])
    assert prog.value_and_grad([np.zeros((1, 3))])[0][0] == -np.inf


def test_validation():
    with pytest.raises(ValueError, match="p must be >= 0"):
        Categorical.dist(p=[1.2, -0.2])
    with pytest.raises(ValueError, match="positive sum"):
        Categorical.dist(p=[0.0, 0.0])
    with pytest.warns(UserWarning, match=r"p sums to \[0.5 1. \] along the last axis instead of 1; it is rescaled"):
        Categorical.dist(p=[[0.2, 0.3], [0.5, 0.5]])  # as PyMC: rescaled, with a warning
    with pytest.raises(ValueError, match="exactly one"):
        Categorical.dist(p=[0.5, 0.5], logit_p=[0.0, 0.0])
    with pytest.raises(ValueError, match="last axis"):
        Categorical.dist(p=1.0)
    dist = Categorical.dist(p=[0.2, 0.3, 0.5])
    for bad in ([0, 3], [-1, 0], [0.5, 1]):
        with pytest.raises(ValueError, match="observed values must be class indices in 0..K-1"):
            dist.check_observed(np.array(bad))
    dist.check_observed(np.array([0, 1, 2, 2]))
    Categorical.dist(logit_p=[5.0, -3.0])  # logits need not be normalised


def test_moment_and_random():
    p = np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    np.testing.assert_array_equal(Categorical.dist(p=p).initial_value(), [2, 0])
    np.testing.assert_array_equal(Categorical.dist(logit_p=np.log(p)).initial_value(), [2, 0])
    draws = Categorical.dist(logit_p=np.log(p)).random(size=20_000, rng=1)
    assert draws.shape == (20_000, 2)
    freq = np.stack([(draws == k).mean(axis=0) for k in range(3)], axis=-1)
    # standard error of a frequency of 20_000 draws <= 0.5 / sqrt(20_000) = 0.0035; allow 4 of them
    np.testing.assert_allclose(freq, p, atol=0.015)


def test_model_rejects_observed_values_that_are_not_class_indices():
    import nbvi

    with nbvi.Model():
        Categorical("ok", p=[0.2, 0.8], observed=[0, 1, 1])
        with pytest.raises(ValueError, match="observed values must be class indices in 0..K-1"):
            Categorical("bad", p=[0.2, 0.8], observed=[0, 2])


def test_unnormalised_p_is_rescaled_as_pymc_does():
    import nbvi

    with nbvi.Model() as model:
        with pytest.warns(UserWarning, match="rescaled"):
            nbvi.Categorical("y", p=np.array([2.0, 3.0, 5.0]), observed=[0, 2, 2])
    np.testing.assert_allclose(model.logp({}), np.log([0.2, 0.5, 0.5]).sum(), rtol=1e-14)
    draws = nbvi.sample_prior_predictive(4000, model=model, random_seed=1)["y"].ravel()
    np.testing.assert_allclose(np.bincount(draws, minlength=3) / draws.size, [0.2, 0.3, 0.5], atol=0.03)
