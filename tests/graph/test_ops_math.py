"""Tests of the math ops of PyMC's ``pm.math`` that nbvi added (special functions, inverse trigonometric and
hyperbolic functions, rounding, log-space arithmetic, prod, std, cumsum, cumprod, diff): forward values
against numpy / scipy and hand-written gradients against central differences, through ``check_op`` of
tests/graph/test_ops.py (draw axes of length 1 or D, a random weighted loss).
"""
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import scipy.special as sp
from gradcheck import assert_grad_close
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays, mutually_broadcastable_shapes

import nbvi.math as nm
from nbvi.graph import Placeholder, Program


def _load_helpers():
    """The helpers of tests/graph/test_ops.py (the tests run with --import-mode=importlib: no package)."""
    spec = importlib.util.spec_from_file_location("_test_ops_helpers", Path(__file__).with_name("test_ops.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_helpers = _load_helpers()
check_op, batched, real, away_from_zero, grid, axes = (
    _helpers.check_op, _helpers.batched, _helpers.real, _helpers.away_from_zero, _helpers.grid, _helpers.axes)


def with_zeros():
    """Arrays of a few values, 0 among them (several zeros in one product are likely)."""
    return lambda shape: arrays(np.float64, shape, elements=st.sampled_from([-1.5, -0.5, 0.0, 0.5, 0.75, 2.0]))


# ---------------------------------------------------------------------------------------------------------
# Elementwise
# ---------------------------------------------------------------------------------------------------------

UNARY = {  # name: (builder, numpy / scipy reference, values inside the domain)
    "sinh": (nm.sinh, np.sinh, real(-3, 3)),
    "cosh": (nm.cosh, np.cosh, real(-3, 3)),
    "arcsin": (nm.arcsin, np.arcsin, real(-0.95, 0.95)),
    "arccos": (nm.arccos, np.arccos, real(-0.95, 0.95)),
    "arctan": (nm.arctan, np.arctan, real(-5, 5)),
    "arcsinh": (nm.arcsinh, np.arcsinh, real(-5, 5)),
    "arccosh": (nm.arccosh, np.arccosh, real(1.05, 5)),
    "arctanh": (nm.arctanh, np.arctanh, real(-0.95, 0.95)),
    "erfc": (nm.erfc, sp.erfc, real(-3, 3)),
    "erfinv": (nm.erfinv, sp.erfinv, real(-0.95, 0.95)),
    "gammaln": (nm.gammaln, sp.gammaln, real(0.1, 10)),
    "digamma": (nm.digamma, sp.digamma, real(0.2, 10)),
    "log_sigmoid": (nm.log_sigmoid, lambda x: -np.logaddexp(0.0, -x), real(-30, 30)),
    "log1mexp": (nm.log1mexp, lambda x: np.log(1.0 - np.exp(x)), real(-5, -0.05)),
    # piecewise constant, gradient 0: values never within 0.05 of a jump (the grid k / 10 + 1 / 20)
    "floor": (nm.floor, np.floor, grid(0.1, 0.05)),
    "ceil": (nm.ceil, np.ceil, grid(0.1, 0.05)),
    "round": (nm.round, np.round, grid(0.1, 0.05)),
    "sign": (nm.sign, np.sign, away_from_zero(0.1, 5)),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data(), shape=array_shapes(min_dims=0, max_dims=3, max_side=3))
def test_unary(name, data, shape):
    build, reference, values = UNARY[name]
    check_op(build, data.draw(batched([shape], [values])), reference)


BINARY = {  # name: (builder, numpy reference, values of a, values of b)
    "logaddexp": (nm.logaddexp, np.logaddexp, real(-5, 5), real(-5, 5)),
    "logdiffexp": (nm.logdiffexp, lambda a, b: np.log(np.exp(a) - np.exp(b)), real(1, 5), real(-5, 0.5)),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data(), shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
def test_binary(name, data, shapes):
    build, reference, a_values, b_values = BINARY[name]
    check_op(build, data.draw(batched(shapes.input_shapes, [a_values, b_values])), reference)


def test_rounding_has_a_zero_gradient_and_rounds_halves_to_even():
    x = np.array([[0.5, 1.5, 2.5, -0.5, -1.7, 0.0]])
    np.testing.assert_array_equal(nm.round(x[0]).eval(), [0.0, 2.0, 2.0, -0.0, -2.0, 0.0])
    np.testing.assert_array_equal(nm.sign(x[0]).eval(), [1.0, 1.0, 1.0, -1.0, -1.0, 0.0])
    node = Placeholder((6,), "x")
    for build in (nm.floor, nm.ceil, nm.round, nm.sign):
        _, (grad,) = Program([(build(node) * 3.0 + node).sum()], [node]).value_and_grad([x])
        np.testing.assert_array_equal(grad, np.ones_like(x))  # only the "+ x" part


def test_log_space_functions_stay_finite_where_the_naive_formulas_do_not():
    np.testing.assert_allclose(nm.log1mexp(-1e-20).eval(), np.log(1e-20), rtol=1e-14)  # 1 - e^x rounds to 0
    np.testing.assert_allclose(nm.log1mexp(-50.0).eval(), -np.exp(-50.0), rtol=1e-14)  # log(1 - tiny)
    np.testing.assert_allclose(nm.logaddexp(1000.0, 1000.0).eval(), 1000.0 + np.log(2.0), rtol=1e-15)
    np.testing.assert_allclose(nm.logdiffexp(1000.0, 999.0).eval(), 1000.0 + np.log1p(-np.exp(-1.0)), rtol=1e-15)
    np.testing.assert_allclose(nm.log_sigmoid(-800.0).eval(), -800.0, rtol=1e-15)
    np.testing.assert_allclose(nm.log_sigmoid(800.0).eval(), 0.0, atol=1e-300)
    np.testing.assert_allclose(nm.erfinv(1.0 - 1e-15).eval(), sp.erfinv(1.0 - 1e-15), rtol=1e-14)
    # (a step of 1e-12 keeps log1mexp's differences on its side of 0)
    for build, x, eps in [(nm.log1mexp, -1e-8, 1e-12), (nm.log_sigmoid, -800.0, 1e-6), (nm.log_sigmoid, 800.0, 1e-6)]:
        node = Placeholder((), "x")
        _, (grad,) = Program([build(node)], [node]).value_and_grad([np.array([x])])
        assert np.isfinite(grad).all()
        assert_grad_close(lambda v, b=build: float(b(v[0]).eval()), grad, np.array([x]), eps=eps)


def test_aliases_and_pymc3s_log1mexp():
    assert nm.switch is nm.where and nm.lgamma is nm.gammaln and nm.sqr is nm.square
    assert nm.log1pexp is nm.softplus and nm.log_invlogit is nm.log_sigmoid
    x = np.array([0.1, 1.0, 7.0])
    np.testing.assert_allclose(nm.log1mexp(x, negative_input=False).eval(), np.log1p(-np.exp(-x)), rtol=1e-14)
    np.testing.assert_allclose(nm.log1mexp(-x).eval(), np.log1p(-np.exp(-x)), rtol=1e-14)


# ---------------------------------------------------------------------------------------------------------
# Reductions and ops along an axis
# ---------------------------------------------------------------------------------------------------------

REDUCTIONS = {  # name: (builder, numpy reference, values)
    "prod": (nm.prod, np.prod, real(-2, 2)),
    "prod_with_zeros": (nm.prod, np.prod, with_zeros()),  # the gradient needs no division by x_i
    "std": (nm.std, np.std, real(-5, 5)),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@given(data=st.data(), shape=array_shapes(min_dims=0, max_dims=3, max_side=3), keepdims=st.booleans())
def test_reduction(name, data, shape, keepdims):
    build, reference, values = REDUCTIONS[name]
    axis = data.draw(axes(len(shape)))
    x = data.draw(batched([shape], [values]))
    if name == "std":  # no derivative where all the reduced elements are equal (one of them, say): keep them apart
        along = range(len(shape)) if axis is None else [a % len(shape) for a in np.atleast_1d(axis).astype(int)]
        assume(np.prod([shape[a] for a in along]) >= 2)
        x = [x[0] + np.arange(x[0][0].size).reshape(shape) * 0.37]
    check_op(lambda v: build(v, axis=axis, keepdims=keepdims), x, lambda v: reference(v, axis=axis, keepdims=keepdims))


def test_prod_gradient_at_zeros():
    # d/dx_i prod x = prod of the others: nonzero at the single zero, zero everywhere at two zeros
    node = Placeholder((4,), "x")
    program = Program([nm.prod(node)], [node])
    _, (grad,) = program.value_and_grad([np.array([[2.0, 0.0, 3.0, -1.0]])])
    np.testing.assert_array_equal(grad, [[0.0, -6.0, 0.0, 0.0]])
    _, (grad,) = program.value_and_grad([np.array([[2.0, 0.0, 3.0, 0.0]])])
    np.testing.assert_array_equal(grad, np.zeros((1, 4)))


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
@given(data=st.data(), shape=array_shapes(min_dims=0, max_dims=3, max_side=4))
def test_cumulative(name, data, shape):
    axis = data.draw(st.none() | st.integers(-len(shape), len(shape) - 1)) if shape else None
    values = data.draw(batched([shape], [with_zeros() if name == "cumprod" else real(-5, 5)]))
    check_op(lambda x: getattr(nm, name)(x, axis=axis), values, lambda x: getattr(np, name)(x, axis=axis))


@given(data=st.data(), shape=array_shapes(min_dims=1, max_dims=3, max_side=4), n=st.integers(0, 2))
def test_diff(data, shape, n):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    values = data.draw(batched([shape], [real(-5, 5)]))
    check_op(lambda x: nm.diff(x, n=n, axis=axis) * 1.0, values, lambda x: np.diff(x, n=n, axis=axis))


def test_arguments_are_checked():
    x = Placeholder((2, 3), "x")
    with pytest.raises(TypeError, match="axis must be"):
        nm.cumsum(x, axis=(0, 1))
    with pytest.raises(TypeError, match="axis must be"):
        nm.diff(x, axis=None)
    with pytest.raises(ValueError, match="out of range"):
        nm.cumprod(x, axis=2)
    with pytest.raises(ValueError, match="0-d"):
        nm.diff(Placeholder((), "s"))
    with pytest.raises(ValueError, match="order"):
        nm.diff(x, n=-1)
