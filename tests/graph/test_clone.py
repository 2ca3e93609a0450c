"""clone: a copy of an expression with nodes replaced (``theano.clone``); the original graph is untouched."""
import numpy as np
import pytest

import nbvi
from nbvi.graph import Constant, Placeholder
from nbvi.graph.clone import clone


def nodes_of(root):
    """Every node reachable from ``root`` (by identity)."""
    seen, stack = {}, [root]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen[id(node)] = node
            stack.extend(node.inputs)
    return list(seen.values())


def test_replaces_a_node_by_a_node():
    x, y, z = Placeholder((3,), "x"), Placeholder((3,), "y"), Placeholder((3,), "z")
    expr = nbvi.math.exp(x) * 2 + y
    new = clone(expr, {x: z})
    vx, vy, vz = np.array([0.1, 0.2, 0.3]), np.array([1.0, 2.0, 3.0]), np.array([-1.0, 0.0, 1.0])
    np.testing.assert_allclose(new.eval({z: vz, y: vy}), np.exp(vz) * 2 + vy)
    assert all(n is not x for n in nodes_of(new))
    # the original is unchanged and still needs x
    np.testing.assert_allclose(expr.eval({x: vx, y: vy}), np.exp(vx) * 2 + vy)
    assert any(n is x for n in nodes_of(expr))


def test_replaces_by_arrays_and_numbers():
    x, y = Placeholder((2,), "x"), Placeholder((), "y")
    expr = (x * y).sum()
    new = clone(expr, {x: np.array([1.0, 2.0]), y: 3.0})
    assert new.eval() == pytest.approx(9.0)


def test_data_replaced_by_rows_of_another_size():
    """The quickstart's more_replacements: training rows (112) swapped for test rows (38); shapes are
    inferred again."""
    rng = np.random.default_rng(0)
    X_train, X_test, beta = rng.normal(size=(112, 4)), rng.normal(size=(38, 4)), rng.normal(size=(4, 3))
    Xt = nbvi.Data(X_train)
    b = Placeholder((4, 3), "beta")
    p = nbvi.math.softmax(Xt.dot(b) + 1.0)
    rows = p.argmax(-1)
    total = p.sum(axis=0)
    new_p, new_rows, new_total = (clone(n, {Xt: X_test}) for n in (p, rows, total))
    assert new_p.shape == (38, 3) and new_rows.shape == (38,) and new_total.shape == (3,)
    z = X_test @ beta + 1.0
    expected = np.exp(z - z.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(new_p.eval({b: beta}), expected)
    np.testing.assert_array_equal(new_rows.eval({b: beta}), expected.argmax(-1))
    np.testing.assert_allclose(new_total.eval({b: beta}), expected.sum(0))
    # the original: same static shapes, same data, same values
    assert p.shape == (112, 3) and rows.shape == (112,) and Xt.get_value().shape == (112, 4)
    assert p.eval({b: beta}).shape == (112, 3)


def test_ops_of_the_original_keep_their_static_facts():
    """Ops record facts about their inputs when a node is built (lifted ranks, axes); a replacement of
    another rank must not change them in the original."""
    x = Placeholder((3,), "x")
    expr = (x + 1.0).sum(axis=-1)
    new = clone(expr, {x: Placeholder((2, 3), "x2")})
    assert new.shape == (2,) and expr.shape == ()
    assert new.op is not expr.op and new.inputs[0].op is not expr.inputs[0].op
    np.testing.assert_allclose(new.eval({new.inputs[0].inputs[0]: np.ones((2, 3))}), [6.0, 6.0])
    np.testing.assert_allclose(expr.eval({x: np.ones(3)}), 6.0)


def test_untouched_subgraphs_are_shared_and_shared_nodes_stay_shared():
    x, y = Placeholder((3,), "x"), Placeholder((3,), "y")
    untouched = nbvi.math.exp(y) * 2
    u = x + 1.0
    expr = (u * u + untouched).sum()
    expr.name = "total"
    new = clone(expr, {x: np.zeros(3)})
    assert new.name == "total"
    add = new.inputs[0]
    assert add.inputs[1] is untouched  # depends on no replacement: the very same node
    square = add.inputs[0]
    assert square.inputs[0] is square.inputs[1]  # u was used twice: rebuilt once
    assert square.inputs[0] is not u
    np.testing.assert_allclose(new.eval({y: np.zeros(3)}), 3 * (1 + 2))


def test_no_replacements_and_replacing_the_root():
    x = Placeholder((2,), "x")
    expr = x * 2
    assert clone(expr) is expr and clone(expr, {}) is expr
    other = Constant(np.ones(2))
    assert clone(expr, {expr: other}) is other
    assert clone(expr, {Placeholder((2,), "unrelated"): np.ones(2)}) is expr  # nothing to replace


def test_deep_graphs_do_not_recurse():
    x = Placeholder((), "x")
    expr = x
    for _ in range(5000):
        expr = expr + 1.0
    new = clone(expr, {x: 0.5})
    assert new.eval() == pytest.approx(5000.5)


def test_exported_as_nbvi_clone():
    assert nbvi.clone is clone
