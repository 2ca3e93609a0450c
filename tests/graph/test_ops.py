"""Tests of the graph ops: forward values against numpy / scipy, hand-written gradients against central
differences, for every differentiable op.

Every test goes through :func:`check_op`. A test draws node shapes and batched values (each input has a
draw axis of length 1 or D, with D in {1, 3}, so D = 1 inputs meet D = 3 inputs), then
- checks the node's static shape and its value, draw by draw, against a numpy reference;
- builds ``loss = (op(inputs) * W).sum()`` with a fixed random weight array W and checks the gradient of
  every float input from ``Program.value_and_grad`` against central differences.
Values are drawn inside each op's domain and away from its kinks (no ties for max / min / maximum,
nothing at 0 for abs, at the bounds for clip, at the poles of tan).
"""
import itertools
import warnings

import numpy as np
import pytest
import scipy.special as sp
from gradcheck import assert_grad_close, numeric_grad
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import (
    array_shapes,
    arrays,
    basic_indices,
    integer_array_indices,
    mutually_broadcastable_shapes,
    valid_tuple_axes,
)

import nbvi
import nbvi.math as nm
from nbvi.graph import Constant, Placeholder, Program, ops

# ---------------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------------


def weights(shape):
    """The fixed weights of the loss: every output element enters with its own factor (and sign)."""
    return np.random.default_rng(1234).normal(size=shape)


def check_op(build, values, reference, wrt=None):
    """Check ``build(*placeholders)`` on batched ``values`` against ``reference`` and central differences.

    Parameters
    ----------
    build : callable
        Maps placeholder nodes (one per value) to the node under test.
    values : list of ndarray
        Batched values, each of shape ``(1 or D, *node shape)``.
    reference : callable
        The numpy version of the op on one draw (arrays without draw axis).
    wrt : list of int, optional
        Inputs to differentiate (default: every float input).
    """
    nodes = [Placeholder(v.shape[1:], name=f"x{i}", dtype=v.dtype) for i, v in enumerate(values)]
    originals = [v.copy() for v in values]
    out = build(*nodes)
    n_draws = max(v.shape[0] for v in values)
    expected = np.stack([reference(*[v[min(d, len(v) - 1)] for v in values]) for d in range(n_draws)])

    # forward: static shape and values
    assert out.shape == expected.shape[1:]
    assert out.dtype == np.float64
    (got,) = Program([out], nodes).run(values)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)

    # backward: the gradient of sum_d loss[d] with respect to every input, against central differences
    w = weights(out.shape)
    program = Program([(out * w).sum()], nodes)
    wrt = [i for i, v in enumerate(values) if v.dtype.kind == "f"] if wrt is None else wrt
    loss, grads = program.value_and_grad(values, wrt)
    np.testing.assert_allclose(loss, (expected * w).reshape(n_draws, -1).sum(axis=1), rtol=1e-10, atol=1e-10)
    assert len(grads) == len(wrt)
    for i, grad in zip(wrt, grads):
        assert grad.shape == values[i].shape

        def f(x, i=i):
            feed = list(values)
            feed[i] = x
            return program.run(feed)[0].sum()

        assert_grad_close(f, grad, values[i])

    for value, original in zip(values, originals):  # the op never writes to what it was fed
        np.testing.assert_array_equal(value, original)


def floats(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def real(lo, hi):
    """Arrays of a given shape with elements in [lo, hi]."""
    return lambda shape: arrays(np.float64, shape, elements=floats(lo, hi))


def away_from_zero(lo, hi):
    """Arrays with elements in [-hi, -lo] or [lo, hi]."""
    return lambda shape: arrays(np.float64, shape, elements=floats(lo, hi) | floats(-hi, -lo))


def grid(step, offset):
    """Arrays with elements on the grid ``k * step + offset``, |k| <= 60: two grids with offsets that
    differ by step / 2 never tie."""
    return lambda shape: arrays(np.float64, shape, elements=st.integers(-60, 60).map(lambda k: k * step + offset))


def distinct():
    """Arrays whose elements are all different, at least 0.05 apart (no ties for max / min)."""
    return lambda shape: arrays(np.float64, shape, elements=st.integers(-200, 200).map(lambda k: k / 20), unique=True)


@st.composite
def batched(draw, shapes, makers):
    """Batched values for node ``shapes``: each input's draw axis is 1 or D, with D in {1, 3}."""
    n_draws = draw(st.sampled_from([1, 3]))
    return [draw(make((draw(st.sampled_from([1, n_draws])),) + tuple(shape))) for shape, make in zip(shapes, makers)]


@st.composite
def axes(draw, ndim):
    """An ``axis`` argument: None, an int (negative allowed) or a tuple of distinct axes; for a 0-d node,
    None or ()."""
    if ndim == 0:
        return draw(st.sampled_from([None, ()]))
    return draw(st.none() | st.integers(-ndim, ndim - 1) | valid_tuple_axes(ndim, min_size=1))


# ---------------------------------------------------------------------------------------------------------
# Elementwise ops
# ---------------------------------------------------------------------------------------------------------

UNARY = {  # name: (builder, numpy reference, values inside the domain)
    "neg": (nm.neg, np.negative, real(-5, 5)),
    "exp": (nm.exp, np.exp, real(-5, 5)),
    "log": (nm.log, np.log, real(0.1, 10)),
    "log1p": (nm.log1p, np.log1p, real(-0.9, 10)),
    "expm1": (nm.expm1, np.expm1, real(-5, 5)),
    "sqrt": (nm.sqrt, np.sqrt, real(0.1, 10)),
    "square": (nm.square, np.square, real(-5, 5)),
    "abs": (nm.abs, np.abs, away_from_zero(0.1, 5)),
    "sin": (nm.sin, np.sin, real(-5, 5)),
    "cos": (nm.cos, np.cos, real(-5, 5)),
    "tan": (nm.tan, np.tan, real(-1.3, 1.3)),  # poles at +-pi/2 ~ +-1.571
    "tanh": (nm.tanh, np.tanh, real(-5, 5)),
    "sigmoid": (nm.sigmoid, sp.expit, real(-30, 30)),
    "softplus": (nm.softplus, lambda x: np.log1p(np.exp(x)), real(-30, 30)),
    "erf": (nm.erf, sp.erf, real(-3, 3)),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data(), shape=array_shapes(min_dims=0, max_dims=3, max_side=3))
def test_unary(name, data, shape):
    build, reference, values = UNARY[name]
    check_op(build, data.draw(batched([shape], [values])), reference)


BINARY = {  # name: (builder, numpy reference, values of a, values of b)
    "add": (nm.add, np.add, real(-5, 5), real(-5, 5)),
    "sub": (nm.sub, np.subtract, real(-5, 5), real(-5, 5)),
    "mul": (nm.mul, np.multiply, real(-5, 5), real(-5, 5)),
    "div": (nm.div, np.divide, real(-5, 5), away_from_zero(0.5, 5)),
    "pow": (nm.pow, np.power, real(0.2, 3), real(-2, 2)),
    "maximum": (nm.maximum, np.maximum, grid(0.1, 0.0), grid(0.1, 0.05)),
    "minimum": (nm.minimum, np.minimum, grid(0.1, 0.0), grid(0.1, 0.05)),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data(), shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
def test_binary(name, data, shapes):
    build, reference, a_values, b_values = BINARY[name]
    check_op(build, data.draw(batched(shapes.input_shapes, [a_values, b_values])), reference)


@given(data=st.data(), shape=array_shapes(min_dims=0, max_dims=2, max_side=3), power=st.sampled_from([2, 3, -1]))
def test_pow_with_constant_integer_exponent_takes_negative_bases(data, shape, power):
    values = data.draw(batched([shape], [away_from_zero(0.2, 3)]))
    check_op(lambda x: x**power, values, lambda x: x**float(power))


@given(data=st.data(), shapes=mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3))
def test_where(data, shapes):
    booleans = lambda shape: arrays(np.bool_, shape)  # noqa: E731
    values = data.draw(batched(shapes.input_shapes, [booleans, real(-5, 5), real(-5, 5)]))
    check_op(nm.where, values, np.where, wrt=[1, 2])


@pytest.mark.parametrize("lower, upper", [(-1.0, 1.0), (None, 1.0), (-1.0, None)])
@given(data=st.data(), shape=array_shapes(min_dims=0, max_dims=3, max_side=3))
def test_clip(lower, upper, data, shape):
    values = data.draw(batched([shape], [grid(0.05, 0.025)]))  # never within 0.025 of a bound
    check_op(lambda x: nm.clip(x, lower, upper), values, lambda x: np.clip(x, lower, upper))


# ---------------------------------------------------------------------------------------------------------
# dot
# ---------------------------------------------------------------------------------------------------------

DOT_SHAPES = {  # name: shapes of a and b from sizes (n, k, m, batch)
    "vector.vector": lambda n, k, m, b: [(k,), (k,)],
    "matrix.vector": lambda n, k, m, b: [(n, k), (k,)],
    "vector.matrix": lambda n, k, m, b: [(k,), (k, m)],
    "matrix.matrix": lambda n, k, m, b: [(n, k), (k, m)],
    "stacked.matrix": lambda n, k, m, b: [(b, n, k), (k, m)],
    "stacked.stacked": lambda n, k, m, b: [(b, n, k), (1, k, m)],
    "vector.stacked": lambda n, k, m, b: [(k,), (b, k, m)],
}


@pytest.mark.parametrize("case", sorted(DOT_SHAPES))
@given(data=st.data(), sizes=st.tuples(*[st.integers(1, 3)] * 4))
def test_dot(case, data, sizes):
    shapes = DOT_SHAPES[case](*sizes)
    check_op(nm.dot, data.draw(batched(shapes, [real(-3, 3)] * 2)), np.matmul)


@pytest.mark.parametrize("constant_on_left", [True, False])
@given(data=st.data(), n=st.integers(1, 3), k=st.integers(1, 3))
def test_dot_of_constant_matrix_and_batched_placeholder(constant_on_left, data, n, k):
    matrix = data.draw(arrays(np.float64, (n, k) if constant_on_left else (k, n), elements=floats(-3, 3)))
    x = data.draw(real(-3, 3)((3, k)))  # three draws of a vector
    if constant_on_left:
        check_op(lambda v: nm.dot(Constant(matrix), v), [x], lambda v: matrix @ v)
    else:
        check_op(lambda v: nm.dot(v, Constant(matrix)), [x], lambda v: v @ matrix)


# ---------------------------------------------------------------------------------------------------------
# Reductions
# ---------------------------------------------------------------------------------------------------------

def scipy_logsumexp(x, axis=None, keepdims=False):
    """scipy's logsumexp, with numpy's reduced shape (scipy gives a 0-d input a shape (1,) result)."""
    return np.reshape(sp.logsumexp(x, axis=axis, keepdims=keepdims), np.sum(x, axis=axis, keepdims=keepdims).shape)


REDUCTIONS = {  # name: (builder, numpy reference, values)
    "sum": (nm.sum, np.sum, real(-5, 5)),
    "mean": (nm.mean, np.mean, real(-5, 5)),
    "var": (nm.var, np.var, real(-5, 5)),
    "max": (nm.max, np.max, distinct()),
    "min": (nm.min, np.min, distinct()),
    "logsumexp": (nm.logsumexp, scipy_logsumexp, real(-5, 5)),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@given(data=st.data(), shape=array_shapes(min_dims=0, max_dims=3, max_side=3), keepdims=st.booleans())
def test_reduction(name, data, shape, keepdims):
    build, reference, values = REDUCTIONS[name]
    axis = data.draw(axes(len(shape)))
    check_op(
        lambda x: build(x, axis=axis, keepdims=keepdims),
        data.draw(batched([shape], [values])),
        lambda x: reference(x, axis=axis, keepdims=keepdims),
    )


@given(data=st.data(), shape=array_shapes(min_dims=1, max_dims=3, max_side=3))
def test_max_of_tied_elements_shares_the_gradient(data, shape):
    # all elements equal: the subgradient gives each of the n tied elements 1/n of g
    x = np.full((1,) + shape, data.draw(floats(-3, 3)))
    node = Placeholder(shape, "x")
    _, (grad,) = Program([nm.max(node)], [node]).value_and_grad([x])
    np.testing.assert_allclose(grad, np.full(x.shape, 1.0 / x.size))


@pytest.mark.parametrize(
    "build, reference",
    [(nm.softmax, sp.softmax), (nm.log_softmax, sp.log_softmax)],
    ids=["softmax", "log_softmax"],
)
@given(data=st.data(), shape=array_shapes(min_dims=1, max_dims=3, max_side=4))
def test_softmax(build, reference, data, shape):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    values = data.draw(batched([shape], [real(-10, 10)]))
    check_op(lambda x: build(x, axis=axis), values, lambda x: reference(x, axis=axis))


def test_softmax_default_axis_is_the_last_and_large_inputs_do_not_overflow():
    x = np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1000.0, -1001.0]])
    np.testing.assert_allclose(nm.softmax(x).eval(), sp.softmax(x, axis=-1), rtol=1e-12)
    np.testing.assert_allclose(nm.log_softmax(x).eval(), sp.log_softmax(x, axis=-1), rtol=1e-12)
    np.testing.assert_allclose(nm.logsumexp(x, axis=1).eval(), sp.logsumexp(x, axis=1), rtol=1e-12)


# ---------------------------------------------------------------------------------------------------------
# Indexing and shape ops
# ---------------------------------------------------------------------------------------------------------


@given(data=st.data(), shape=array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4))
def test_getitem_basic(data, shape):
    # ints (negative too), slices (negative steps too), None and Ellipsis
    index = data.draw(basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    check_op(lambda x: ops.getitem(x, index), data.draw(batched([shape], [real(-5, 5)])), lambda x: x[index])


@given(data=st.data(), shape=array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
def test_getitem_integer_arrays(data, shape):
    # one integer array per axis, broadcast together; repeated and negative indices included
    index = data.draw(integer_array_indices(shape, result_shape=array_shapes(min_dims=1, max_dims=2, max_side=5)))
    check_op(lambda x: ops.getitem(x, index), data.draw(batched([shape], [real(-5, 5)])), lambda x: x[index])


GETITEM_CASES = [  # (node shape, index): mixes that the strategies above do not build
    ((5,), np.array([0, 2, 2, 4, 0, -1])),
    ((5,), [3, 3, 3]),
    ((4, 3), (np.array([1, 1, 0]), slice(None))),
    ((4, 3), (slice(None), [2, -1, 0, 2])),
    ((4, 3), (slice(None, None, -1), [1, 1])),
    ((4, 3), np.array([[0, 1], [3, 3]])),
    ((2, 3, 4), (Ellipsis, [3, 3, 0])),
    ((2, 3, 4), (slice(None), [0, 2], [1, 1])),
    ((2, 3, 4), (1, [0, 2, 2], slice(None, None, -2))),
    ((2, 3, 4), (None, slice(None), [2, 0])),
    ((5,), np.array([True, False, True, True, False])),
    ((5, 3), (slice(4, 0, -2), slice(None, None, -1))),
    ((5, 3), (Ellipsis, None, -1)),
]


@pytest.mark.parametrize("shape, index", GETITEM_CASES, ids=[str(i) for i in range(len(GETITEM_CASES))])
@given(data=st.data())
def test_getitem_mixed(shape, index, data):
    check_op(lambda x: ops.getitem(x, index), data.draw(batched([shape], [real(-5, 5)])), lambda x: x[index])


def reshape_targets(size):
    """Every shape of rank 1 to 3 with ``size`` elements."""
    divisors = [d for d in range(1, size + 1) if size % d == 0]
    return [s for rank in (1, 2, 3) for s in itertools.product(divisors, repeat=rank) if np.prod(s) == size]


@given(data=st.data(), shape=array_shapes(min_dims=0, max_dims=3, max_side=4))
def test_reshape(data, shape):
    target = list(data.draw(st.sampled_from(reshape_targets(int(np.prod(shape))))))
    unknown = data.draw(st.none() | st.integers(0, len(target) - 1))
    if unknown is not None:
        target[unknown] = -1  # numpy infers this size
    target = tuple(target)
    check_op(lambda x: nm.reshape(x, target), data.draw(batched([shape], [real(-5, 5)])),
             lambda x: x.reshape(target))


@given(data=st.data(), shape=array_shapes(min_dims=0, max_dims=4, max_side=3))
def test_transpose(data, shape):
    ndim = len(shape)
    perm = data.draw(st.none() | st.permutations(range(ndim)).map(tuple))
    if perm is not None and ndim:
        negative = data.draw(st.lists(st.booleans(), min_size=ndim, max_size=ndim))
        perm = tuple(a - ndim if neg else a for a, neg in zip(perm, negative))  # negative axes too
    check_op(lambda x: nm.transpose(x, perm), data.draw(batched([shape], [real(-5, 5)])),
             lambda x: np.transpose(x, perm))


@given(data=st.data(), shape=array_shapes(min_dims=0, max_dims=3, max_side=3))
def test_T_attribute_reverses_axes(data, shape):
    check_op(lambda x: x.T, data.draw(batched([shape], [real(-5, 5)])), lambda x: x.T)


@given(data=st.data(), shape=array_shapes(min_dims=0, max_dims=3, max_side=3), n=st.integers(1, 3))
def test_stack(data, shape, n):
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    values = data.draw(batched([shape] * n, [real(-5, 5)] * n))
    check_op(lambda *xs: nm.stack(xs, axis=axis), values, lambda *xs: np.stack(xs, axis=axis))


@given(data=st.data(), shape=array_shapes(min_dims=1, max_dims=3, max_side=3),
       sizes=st.lists(st.integers(1, 3), min_size=1, max_size=3))
def test_concatenate(data, shape, sizes):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    shapes = [shape[:axis % len(shape)] + (k,) + shape[axis % len(shape) + 1:] for k in sizes]
    values = data.draw(batched(shapes, [real(-5, 5)] * len(shapes)))
    check_op(lambda *xs: nm.concatenate(xs, axis=axis), values, lambda *xs: np.concatenate(xs, axis=axis))


def test_getitem_with_separated_integer_arrays_is_refused():
    # numpy would move the indexed axes to the front, past the draw axis
    x = Placeholder((2, 3, 4), "x")
    with pytest.raises(IndexError):
        x[[0, 1], :, [1, 2]]


def test_clip_broadcasts_a_value_against_array_bounds():
    """clip(scalar, bounds of shape (5,)) has shape (5,), as np.clip; its gradient sums over the bounds' axis."""
    with nbvi.Model() as model:
        a = nbvi.Normal("a", 0.0, 1.0, shape=2)
        clipped = nbvi.math.clip(nbvi.math.exp(a[0]) + a[1], np.array([0.0, 0.1, 0.0, 0.0, 0.0]), 3.0)
        nbvi.Normal("y", clipped, 1.0, observed=np.zeros(5))
    assert clipped.shape == (5,)
    theta = np.array([0.1, 0.3])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nbvi.NotCompiledWarning)
        _, grad = model.logp_dlogp(theta[None])
        numeric = numeric_grad(lambda t: float(model.logp_dlogp(t[None])[0][0]), theta)
    np.testing.assert_allclose(grad[0], numeric, rtol=1e-6)
