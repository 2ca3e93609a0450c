"""Tests of graph nodes: operators and methods build the right ops with the right static shapes, shape
errors surface at build time, forward-only ops refuse gradients, batched evaluation, ``.eval()`` with
replacements, Constant and Data leaves, and that nothing a user passes in is written to.
"""
import re

import numpy as np
import pytest
from gradcheck import assert_grad_close

import nbvi.math as nm
from nbvi.data import Data
from nbvi.graph import Constant, Node, NonDifferentiableError, Placeholder, Program

X = np.array([[0.5, -1.5, 2.0], [-0.25, 3.0, 1.0]])  # the value of the (2, 3) placeholder x
Y = np.array([[1.5, 0.75, -2.0], [2.5, -0.5, 4.0]])  # the value of the (2, 3) placeholder y
V = np.array([0.3, -1.2, 2.2])  # the value of the (3,) placeholder v


def evaluate(node, x, y, v, **values):
    """Evaluate ``node`` with the module's values for the placeholders x, y and v."""
    return node.eval({x: X, y: Y, v: V, **values})


@pytest.fixture
def xyv():
    return Placeholder((2, 3), "x"), Placeholder((2, 3), "y"), Placeholder((3,), "v")


# ---------------------------------------------------------------------------------------------------------
# Operators and methods
# ---------------------------------------------------------------------------------------------------------

ARRAY = np.array([1.0, 2.0, 4.0])

OPERATORS = [  # (expression of nodes x, y, v; op name; the same expression on arrays)
    (lambda x, y, v: x + y, "add", lambda x, y, v: x + y),
    (lambda x, y, v: x - y, "sub", lambda x, y, v: x - y),
    (lambda x, y, v: x * y, "mul", lambda x, y, v: x * y),
    (lambda x, y, v: x / y, "div", lambda x, y, v: x / y),
    (lambda x, y, v: abs(y) ** x, "pow", lambda x, y, v: abs(y) ** x),
    (lambda x, y, v: -x, "neg", lambda x, y, v: -x),
    (lambda x, y, v: abs(x), "abs", lambda x, y, v: abs(x)),
    (lambda x, y, v: x + v, "add", lambda x, y, v: x + v),
    (lambda x, y, v: x @ v, "dot", lambda x, y, v: x @ v),
    # reflected, with a Python float or a numpy array on the left
    (lambda x, y, v: 2.0 + x, "add", lambda x, y, v: 2.0 + x),
    (lambda x, y, v: 2.0 - x, "sub", lambda x, y, v: 2.0 - x),
    (lambda x, y, v: 2.0 * x, "mul", lambda x, y, v: 2.0 * x),
    (lambda x, y, v: 2.0 / x, "div", lambda x, y, v: 2.0 / x),
    (lambda x, y, v: 2.0**x, "pow", lambda x, y, v: 2.0**x),
    (lambda x, y, v: ARRAY + x, "add", lambda x, y, v: ARRAY + x),
    (lambda x, y, v: ARRAY - x, "sub", lambda x, y, v: ARRAY - x),
    (lambda x, y, v: ARRAY * x, "mul", lambda x, y, v: ARRAY * x),
    (lambda x, y, v: ARRAY / x, "div", lambda x, y, v: ARRAY / x),
    (lambda x, y, v: ARRAY**x, "pow", lambda x, y, v: ARRAY**x),
    (lambda x, y, v: np.float64(3.0) - x, "sub", lambda x, y, v: 3.0 - x),
    (lambda x, y, v: np.ones((4, 2)) @ x, "dot", lambda x, y, v: np.ones((4, 2)) @ x),
    # comparisons
    (lambda x, y, v: x == y, "eq", lambda x, y, v: x == y),
    (lambda x, y, v: x != y, "neq", lambda x, y, v: x != y),
    (lambda x, y, v: x < y, "lt", lambda x, y, v: x < y),
    (lambda x, y, v: x <= y, "le", lambda x, y, v: x <= y),
    (lambda x, y, v: x > y, "gt", lambda x, y, v: x > y),
    (lambda x, y, v: x >= y, "ge", lambda x, y, v: x >= y),
    (lambda x, y, v: ARRAY > x, "lt", lambda x, y, v: ARRAY > x),  # numpy reflects > into <
    (lambda x, y, v: 1.0 <= x, "ge", lambda x, y, v: 1.0 <= x),
    # methods
    (lambda x, y, v: x.dot(v), "dot", lambda x, y, v: x.dot(v)),
    (lambda x, y, v: v.dot(y.T), "dot", lambda x, y, v: v.dot(y.T)),
    (lambda x, y, v: x.T, "transpose", lambda x, y, v: x.T),
    (lambda x, y, v: x.transpose(1, 0), "transpose", lambda x, y, v: x.transpose(1, 0)),
    (lambda x, y, v: x.transpose((1, 0)), "transpose", lambda x, y, v: x.transpose((1, 0))),
    (lambda x, y, v: x.reshape(3, 2), "reshape", lambda x, y, v: x.reshape(3, 2)),
    (lambda x, y, v: x.reshape((-1,)), "reshape", lambda x, y, v: x.reshape((-1,))),
    (lambda x, y, v: x.reshape(1, -1, 2), "reshape", lambda x, y, v: x.reshape(1, -1, 2)),
    (lambda x, y, v: x.flatten(), "reshape", lambda x, y, v: x.flatten()),
    (lambda x, y, v: x.sum(), "sum", lambda x, y, v: x.sum()),
    (lambda x, y, v: x.sum(axis=0), "sum", lambda x, y, v: x.sum(axis=0)),
    (lambda x, y, v: x.sum(axis=-1, keepdims=True), "sum", lambda x, y, v: x.sum(axis=-1, keepdims=True)),
    (lambda x, y, v: x.mean(axis=1), "mean", lambda x, y, v: x.mean(axis=1)),
    (lambda x, y, v: x.var(axis=(0, 1)), "var", lambda x, y, v: x.var(axis=(0, 1))),
    (lambda x, y, v: x.max(axis=0), "max", lambda x, y, v: x.max(axis=0)),
    (lambda x, y, v: x.min(axis=1), "min", lambda x, y, v: x.min(axis=1)),
    (lambda x, y, v: x.argmax(axis=1), "argmax", lambda x, y, v: x.argmax(axis=1)),
    (lambda x, y, v: x.argmax(axis=0), "argmax", lambda x, y, v: x.argmax(axis=0)),
    (lambda x, y, v: x.argmax(), "argmax", lambda x, y, v: x.argmax()),
    (lambda x, y, v: x.argmin(axis=-1), "argmin", lambda x, y, v: x.argmin(axis=-1)),
    (lambda x, y, v: x.argmin(), "argmin", lambda x, y, v: x.argmin()),
    # indexing
    (lambda x, y, v: x[1], "getitem", lambda x, y, v: x[1]),
    (lambda x, y, v: x[:, -1], "getitem", lambda x, y, v: x[:, -1]),
    (lambda x, y, v: x[::-1, 1:], "getitem", lambda x, y, v: x[::-1, 1:]),
    (lambda x, y, v: x[None, ..., 0], "getitem", lambda x, y, v: x[None, ..., 0]),
    (lambda x, y, v: v[[2, 0, 2]], "getitem", lambda x, y, v: v[[2, 0, 2]]),
    (lambda x, y, v: x[:, np.array([True, False, True])], "getitem", lambda x, y, v: x[:, [True, False, True]]),
]


@pytest.mark.parametrize("case", range(len(OPERATORS)))
def test_operator_builds_op_with_static_shape_and_value(case, xyv):
    build, name, reference = OPERATORS[case]
    node = build(*xyv)
    expected = np.asarray(reference(X, Y, V))
    assert isinstance(node, Node)
    assert node.op.name == name
    assert node.shape == expected.shape
    assert node.dtype.kind == expected.dtype.kind  # f for arithmetic, b for comparisons, i for argmax
    got = evaluate(node, *xyv)
    assert got.dtype.kind == expected.dtype.kind
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_comparisons_with_ties():
    a, b = np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 4.0])
    x, y = Constant(a), Constant(b)
    for node, expected in [(x == y, a == b), (x != y, a != b), (x < y, a < b), (x <= y, a <= b),
                           (x > y, a > b), (x >= y, a >= b)]:
        assert node.dtype == np.bool_
        np.testing.assert_array_equal(node.eval(), expected)


def test_unary_plus_is_the_node_itself(xyv):
    x = xyv[0]
    assert +x is x


def test_node_is_not_an_array():
    x = Placeholder((2, 3), "x")
    assert len(x) == 2
    with pytest.raises(TypeError):
        len(Placeholder((), "s"))
    with pytest.raises(TypeError):
        bool(x > 0)
    with pytest.raises(TypeError):
        list(x)


def test_nodes_hash_by_identity():
    x = Placeholder((2,), "x")
    other = Placeholder((2,), "x")
    assert len({x: 1, other: 2}) == 2
    assert {x: 1}[x] == 1


# ---------------------------------------------------------------------------------------------------------
# Shape errors at build time
# ---------------------------------------------------------------------------------------------------------


def p(shape):
    return Placeholder(shape, "p")


SHAPE_ERRORS = [  # (build, shapes the message must name)
    (lambda: p((3,)) + p((4,)), [(3,), (4,)]),
    (lambda: p((2, 3)) * p((3, 2)), [(2, 3), (3, 2)]),
    (lambda: p((3,)) < p((4,)), [(3,), (4,)]),
    (lambda: nm.maximum(p((2,)), p((5,))), [(2,), (5,)]),
    (lambda: nm.where(p((2,)) > 0, p((3,)), 0.0), [(2,), (3,)]),
    (lambda: p((2, 3)).dot(p((4,))), [(2, 3), (4,)]),
    (lambda: p((2, 3)) @ p((2, 3)), [(2, 3), (2, 3)]),
    (lambda: nm.stack([p((2,)), p((3,))]), [(2,), (3,)]),
    (lambda: nm.concatenate([p((2, 3)), p((2, 4))], axis=0), [(2, 3), (2, 4)]),
    (lambda: p((2, 3)).reshape(4), [(2, 3), (4,)]),
    (lambda: p((3,)) + np.ones(4), [(3,), (4,)]),
]


@pytest.mark.parametrize("case", range(len(SHAPE_ERRORS)))
def test_shape_mismatch_raises_at_build_time_naming_both_shapes(case):
    build, shapes = SHAPE_ERRORS[case]
    with pytest.raises(ValueError) as info:
        build()
    for shape in shapes:
        assert str(shape) in str(info.value)


def test_bad_axes_raise():
    x = p((2, 3))
    with pytest.raises(ValueError, match="axis 2"):
        x.sum(axis=2)
    with pytest.raises(ValueError):
        x.argmax(axis=(0, 1))
    with pytest.raises(ValueError):
        x.transpose(0, 0)
    with pytest.raises(IndexError):
        x[2]


# ---------------------------------------------------------------------------------------------------------
# Forward-only ops and gradients
# ---------------------------------------------------------------------------------------------------------

FORWARD_ONLY = {  # name: (build on a node, the same on an array)
    "argmax": (lambda x: x.argmax(axis=0), lambda x: x.argmax(axis=0)),
    "argmin": (lambda x: nm.argmin(x), lambda x: x.argmin()),
    "eq": (lambda x: nm.eq(x, 1.0), lambda x: x == 1.0),
    "neq": (lambda x: nm.neq(x, 1.0), lambda x: x != 1.0),
    "lt": (lambda x: nm.lt(x, 1.0), lambda x: x < 1.0),
    "le": (lambda x: nm.le(x, 1.0), lambda x: x <= 1.0),
    "gt": (lambda x: nm.gt(x, 1.0), lambda x: x > 1.0),
    "ge": (lambda x: nm.ge(x, 1.0), lambda x: x >= 1.0),
}


@pytest.mark.parametrize("name", sorted(FORWARD_ONLY))
def test_gradient_through_forward_only_op_raises(name):
    build, reference = FORWARD_ONLY[name]
    x = Placeholder((2, 3), "x")
    node = build(x)
    assert node.op.name == name
    np.testing.assert_array_equal(node.eval({x: X}), reference(X))
    loss = (x + node).sum()  # x reaches the loss both directly and through the forward-only op
    program = Program([loss], [x])
    np.testing.assert_allclose(program.run([X[None]])[0], [(X + reference(X)).sum()])
    with pytest.raises(NonDifferentiableError, match=name):
        program.value_and_grad([X[None]])


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_arg_extrema_are_batched(name, axis):
    x = Placeholder((2, 3), "x")
    points = np.random.default_rng(3).normal(size=(4, 2, 3))
    (got,) = Program([getattr(x, name)(axis=axis)], [x]).run([points])
    expected = [getattr(point, name)(axis=axis) for point in points]
    assert got.dtype.kind == "i"
    np.testing.assert_array_equal(got, expected)


def test_forward_only_op_does_not_block_gradients_of_other_inputs():
    # the comparison depends only on c, which is not differentiated, so x gets its gradient
    x, c = Placeholder((3,), "x"), Placeholder((3,), "c")
    loss = (x * (c > 0)).sum()
    _, (grad,) = Program([loss], [x, c]).value_and_grad([V[None], np.array([[1.0, -1.0, 2.0]])], wrt=[0])
    np.testing.assert_array_equal(grad, [[1.0, 0.0, 1.0]])


def test_where_on_a_comparison_differentiates_in_x():
    x = Placeholder((2, 3), "x")
    w = np.arange(1.0, 7.0).reshape(2, 3)
    relu = nm.where(x > 0, x, 0)
    loss = (relu * w).sum()
    program = Program([loss], [x])
    value, (grad,) = program.value_and_grad([X[None]])
    np.testing.assert_allclose(value, [(np.maximum(X, 0) * w).sum()])
    np.testing.assert_array_equal(grad[0], np.where(X > 0, w, 0.0))
    assert_grad_close(lambda a: program.run([a])[0].sum(), grad, X[None])


# ---------------------------------------------------------------------------------------------------------
# Batched evaluation
# ---------------------------------------------------------------------------------------------------------


def composite(x):
    """A composite expression of a (3,) node, mixing data, constants and most kinds of op."""
    data = Data(np.array([[1.0, -2.0, 0.5], [0.3, 0.1, -1.0]]), name="design")
    z = nm.dot(data, nm.exp(x) * 0.5) + Constant([0.1, -0.2])
    return (nm.logsumexp(z) + (x[::-1] ** 2).sum() / nm.softplus(x).max()
            + nm.where(x > 0, x, -x).mean() - nm.stack([x, nm.tanh(x)]).var(axis=0).sum()
            + nm.log_softmax(x)[1] * nm.sigmoid(x.reshape(3, 1)).T.sum())


def test_batched_evaluation_equals_single_evaluations():
    x = Placeholder((3,), "x")
    out = composite(x)
    points = np.random.default_rng(7).normal(size=(7, 3))
    program = Program([out], [x])
    (batched,) = program.run([points])
    assert batched.shape == (7,)
    singles = [out.eval({x: point}) for point in points]
    np.testing.assert_allclose(batched, singles, rtol=1e-13)

    values, (grads,) = program.value_and_grad([points])
    assert grads.shape == (7, 3)
    for d in range(7):
        value, (grad,) = program.value_and_grad([points[d:d + 1]])
        np.testing.assert_allclose(values[d], value[0], rtol=1e-13)
        np.testing.assert_allclose(grads[d], grad[0], rtol=1e-12, atol=1e-14)
    assert_grad_close(lambda a: program.run([a])[0].sum(), grads, points)


# ---------------------------------------------------------------------------------------------------------
# eval and replacements
# ---------------------------------------------------------------------------------------------------------


def test_eval_of_unfed_placeholder_names_it():
    theta = Placeholder((2,), "theta")
    with pytest.raises(ValueError, match="theta"):
        (theta * 2.0 + 1.0).eval()


def test_eval_of_constant_expression():
    c = Constant(np.array([1.0, 4.0]))
    np.testing.assert_allclose(nm.sqrt(c).eval(), [1.0, 2.0])
    np.testing.assert_allclose((c.sum() + 1.0).eval(), 6.0)
    assert (c.sum() + 1.0).eval().shape == ()


def test_replacement_by_array():
    x = Placeholder((3,), "x")
    y = nm.exp(x) + 1.0
    np.testing.assert_allclose(y.eval({x: V}), np.exp(V) + 1.0)
    # an intermediate node can be replaced too: the walk stops there
    np.testing.assert_allclose((y * 2.0).eval({y: np.array([1.0, 2.0, 3.0])}), [2.0, 4.0, 6.0])
    # a replacement of a node with a value of its own wins over that value
    d = Data(np.zeros(3))
    np.testing.assert_allclose((d + 1.0).eval({d: V}), V + 1.0)


def test_replacement_by_node():
    d = Data(np.array([1.0, 2.0]), name="d")
    y = d * 3.0
    np.testing.assert_allclose(y.eval({d: Constant([5.0, 7.0])}), [15.0, 21.0])
    x = Placeholder((2,), "x")
    # a node replaced by an expression of a placeholder that is itself fed
    np.testing.assert_allclose(y.eval({d: x + 1.0, x: np.array([0.5, 1.5])}), [4.5, 7.5])
    np.testing.assert_allclose(y.eval(), [3.0, 6.0])  # replacements do not stick


def test_program_replacements_route_gradients_to_the_replacement():
    d = Data(np.array([1.0, 2.0]), name="d")
    x = Placeholder((2,), "x")
    loss = (d**2).sum()
    value, (grad,) = Program([loss], [x], replacements={d: nm.sin(x)}).value_and_grad([V[None, :2]])
    np.testing.assert_allclose(value, [(np.sin(V[:2]) ** 2).sum()])
    np.testing.assert_allclose(grad, [2 * np.sin(V[:2]) * np.cos(V[:2])])


# ---------------------------------------------------------------------------------------------------------
# Constant and Data
# ---------------------------------------------------------------------------------------------------------


def test_constant_copies_its_input():
    a = np.array([1.0, 2.0, 3.0])
    c = Constant(a)
    a[0] = 100.0
    np.testing.assert_array_equal(c.eval(), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal((c * 2.0).eval(), [2.0, 4.0, 6.0])


def test_constant_copies_an_integer_input_and_leaves_it_writable():
    a = np.array([1, 2, 3])
    c = Constant(a)
    a[0] = 100  # the caller's array stays writable and the constant keeps its own copy
    np.testing.assert_array_equal(c.eval(), [1, 2, 3])


def test_constant_of_ints_and_lists():
    assert Constant([1.0, 2.0]).dtype == np.float64
    assert Constant(np.array([1, 2])).dtype.kind == "i"
    assert Constant(3.0).shape == ()


def test_data_get_and_set_value():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    d = Data(a, name="x_obs")
    assert d.shape == (2, 2)
    a[0, 0] = -1.0  # the caller's array is copied
    np.testing.assert_array_equal(d.get_value(), [[1.0, 2.0], [3.0, 4.0]])

    got = d.get_value()
    got[0, 0] = 50.0  # get_value returns a copy
    np.testing.assert_array_equal(d.get_value(), [[1.0, 2.0], [3.0, 4.0]])

    new = np.arange(6.0).reshape(3, 2)  # a new size is fine
    d.set_value(new)
    new[0, 0] = 99.0  # set_value copies
    np.testing.assert_array_equal(d.get_value(), np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal((d * 2.0).eval(), 2.0 * np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(d.sum(axis=1).eval(), [1.0, 5.0, 9.0])


def test_data_copies_integer_values_and_leaves_them_writable():
    a = np.array([1, 2, 3])
    d = Data(a)
    a[0] = 100
    np.testing.assert_array_equal(d.get_value(), [1, 2, 3])
    b = np.array([4, 5])
    d.set_value(b)
    b[0] = 100
    np.testing.assert_array_equal(d.eval(), [4, 5])


def test_data_set_value_rank_change_raises_naming_shapes():
    d = Data(np.ones((2, 2)), name="x_obs")
    with pytest.raises(ValueError, match=re.escape("(4,)")) as info:
        d.set_value(np.ones(4))
    assert "x_obs" in str(info.value) and "(2, 2)" in str(info.value)
    np.testing.assert_array_equal(d.get_value(), np.ones((2, 2)))  # the old value is kept


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_data_refuses_nan(bad):
    with pytest.raises(ValueError, match="NaN"):
        Data(np.array([1.0, bad]))
    d = Data(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="NaN"):
        d.set_value(np.array([bad, 2.0]))
    np.testing.assert_array_equal(d.get_value(), [1.0, 2.0])


def test_data_outside_a_model_evaluates():
    d = Data(np.array([0.0, 1.0, 2.0]))
    np.testing.assert_allclose(nm.exp(d).sum().eval(), 1.0 + np.e + np.e**2)
    np.testing.assert_allclose(d.eval(), [0.0, 1.0, 2.0])
    d.set_value(np.array([3.0]))
    np.testing.assert_allclose(nm.exp(d).sum().eval(), np.exp(3.0))


def test_data_cannot_be_changed_through_its_evaluated_value():
    d = Data(np.array([0.0, 1.0]))
    value = d.eval()
    try:
        value[0] = 5.0
    except ValueError:  # a read-only view is fine
        pass
    np.testing.assert_array_equal(d.get_value(), [0.0, 1.0])
    np.testing.assert_array_equal(d.eval(), [0.0, 1.0])


def test_nothing_a_user_passes_is_modified():
    arrays = {"x": X.copy(), "y": Y.copy(), "v": V.copy(), "data": np.arange(3.0), "const": np.ones((2, 3))}
    saved = {k: a.copy() for k, a in arrays.items()}
    x, y, v = Placeholder((2, 3), "x"), Placeholder((2, 3), "y"), Placeholder((3,), "v")
    d, c = Data(arrays["data"]), Constant(arrays["const"])
    out = ((x * y + c) ** 2).sum(axis=0).dot(v + d) + nm.logsumexp(x[:, [0, 0]]) + nm.max(y)
    out.eval({x: arrays["x"], y: arrays["y"], v: arrays["v"]})
    feed = [arrays["x"][None], arrays["y"][None], arrays["v"][None]]
    Program([out], [x, y, v]).value_and_grad(feed)
    Program([out], [x, y, v]).run(feed)
    for k in arrays:
        np.testing.assert_array_equal(arrays[k], saved[k])


def test_gradients_are_fresh_arrays():
    # a gradient must not be a view of a fed value (or of a broadcast of one) that later code could overwrite
    x = Placeholder((3,), "x")
    value = V[None].copy()
    _, (grad,) = Program([x.sum()], [x]).value_and_grad([value])
    assert not np.shares_memory(grad, value)
    grad += 1.0  # writable
    np.testing.assert_array_equal(value, V[None])


def test_gradient_of_an_unused_input_is_zero_shaped_like_its_value():
    x, u = Placeholder((3,), "x"), Placeholder((2,), "u")
    _, (gx, gu) = Program([(x * 2.0).sum()], [x, u]).value_and_grad([np.ones((4, 3)), np.ones((1, 2))])
    np.testing.assert_array_equal(gx, np.full((4, 3), 2.0))
    np.testing.assert_array_equal(gu, np.zeros((1, 2)))
