"""Corner cases of the compiled tape where a careless interpreter parts from the graph walk (the reference):
array bounds of clip (bounds included, a lower bound above the upper one), gradients selected rather than multiplied by zero (clip, maximum, minimum: inf * 0
would be NaN), NaN through max and maximum, the support of the Poisson fast path, and a constant matrix
times a stack of free ones."""
import numpy as np
import pytest

import nbvi
from nbvi.compiled.density import CompiledDensity

RTOL = 1e-10


def assert_tape_is_graph(model, theta):
    density = CompiledDensity.build(model)
    assert density, f"the tape refused the model: {density!r}"
    theta = np.ascontiguousarray(theta, dtype=np.float64)
    logp, grad = density.logp_dlogp(theta)
    logp_graph, grad_graph = model._graph_logp_dlogp(theta)
    np.testing.assert_allclose(logp, logp_graph, rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(grad, grad_graph, rtol=RTOL, atol=1e-10)


@pytest.mark.parametrize("lower, upper", [
    (np.array([-0.1, 0.0, 0.1]), 0.5),
    (np.array([-0.1, 0.0, 0.1]), np.array([0.2, 0.3, 0.1])),  # a tie of the bounds in the last element
    (None, np.array([0.2, -0.5, 0.25])),
    (np.array([-0.3, -0.5, 0.0]), None),
    (np.array([[0.4, 0.0, -2.0]]), np.array([[0.1], [0.5]])),  # lower > upper somewhere; bounds broadcast
])
def test_clip_with_array_bounds_is_on_the_tape(lower, upper):
    """clip with array bounds: where(x < lower, lower, x), then where(r > upper, upper, r), on the tape; the
    gradient passes where lower <= x <= upper, bounds included, as the graph's clip."""
    shape = np.broadcast_shapes((3,), *[np.shape(b) for b in (lower, upper) if b is not None])
    with nbvi.Model() as model:
        x = nbvi.Normal("x", 0.0, 1.0, shape=3)
        nbvi.Normal("y", nbvi.math.clip(x, lower, upper) * 2.0, 1.0, observed=np.zeros(shape))
    assert nbvi.explain(model).path == "tape"
    theta = np.array([[0.3, -0.5, 0.2], [-0.1, 0.0, 0.1], [0.2, 0.3, 0.1], [2.0, -3.0, 0.05]])
    assert_tape_is_graph(model, theta)


def test_clip_sends_no_gradient_where_it_clips_even_an_infinite_one():
    """sqrt(clip(x, 0, None)) at x = -1: sqrt's derivative at 0 is inf, and clip sends no gradient where it
    clips, so the gradient is the prior's alone (not inf * 0 = NaN)."""
    with nbvi.Model() as model:
        x = nbvi.Normal("x", 0.0, 1.0)
        nbvi.Normal("y", nbvi.math.sqrt(nbvi.math.clip(x, 0.0, None)), 1.0, observed=1.0)
    assert_tape_is_graph(model, np.array([[-1.0], [0.5]]))


def test_maximum_and_minimum_send_no_gradient_to_the_input_not_chosen():
    """As for clip: sqrt(maximum(x, 0)) and -sqrt(-minimum(x, 0)) where x is not chosen get the prior's
    gradient only."""
    with nbvi.Model() as model:
        x = nbvi.Normal("x", 0.0, 1.0)
        nbvi.Normal("y", nbvi.math.sqrt(nbvi.math.maximum(x, 0.0)), 1.0, observed=1.0)
        nbvi.Normal("z", nbvi.math.sqrt(-nbvi.math.minimum(-x, 0.0)), 1.0, observed=1.0)
    assert_tape_is_graph(model, np.array([[-1.0], [0.5]]))


def test_a_nan_input_of_max_and_maximum_gives_nan_as_on_the_graph():
    """max(x) and maximum(x, 0) of a NaN are NaN, as numpy's (a comparison would drop it)."""
    with nbvi.Model() as model:
        x = nbvi.Flat("x", shape=2)
        nbvi.Normal("y", nbvi.math.maximum(x, 0.0), 1.0, observed=np.array([1.0, 2.0]))
    density = CompiledDensity.build(model)
    assert density
    theta = np.array([[np.nan, 0.5]])
    assert np.isnan(model._graph_logp_dlogp(theta)[0][0])
    assert np.isnan(density.logp_dlogp(theta)[0][0])

    with nbvi.Model() as model:
        x = nbvi.Flat("x", shape=3)
        nbvi.Normal("y", nbvi.math.max(x), 1.0, observed=0.0)
    density = CompiledDensity.build(model)
    assert density
    theta = np.array([[np.nan, 0.1, 0.3]])
    assert np.isnan(model._graph_logp_dlogp(theta)[0][0])
    assert np.isnan(density.logp_dlogp(theta)[0][0])


def test_a_poisson_term_outside_its_support_has_the_graphs_gradient():
    """Poisson(mu) at mu < 0, and at mu = 0 with a count > 0: logp -inf and the family's gradient there
    (0), not y / mu - 1."""
    with nbvi.Model() as model:
        s = nbvi.Normal("s", 0.5, 1.0)
        nbvi.Poisson("y", s * 1.0, observed=np.array([0, 2]))
    theta = np.array([[-0.7], [0.0]])
    density = CompiledDensity.build(model)
    assert density
    logp, grad = density.logp_dlogp(theta)
    logp_graph, grad_graph = model._graph_logp_dlogp(theta)
    assert np.all(logp == -np.inf) and np.all(logp_graph == -np.inf)
    np.testing.assert_allclose(grad, grad_graph, rtol=RTOL)


def test_constant_matrix_times_a_stack_of_free_matrices():
    """dot(A, B) with A a constant (2, 3) matrix and B free of shape (4, 3, 5): every matrix of the stack."""
    rng = np.random.default_rng(0)
    with nbvi.Model() as model:
        b = nbvi.Normal("b", 0.0, 1.0, shape=(4, 3, 5))
        product = nbvi.math.dot(rng.normal(size=(2, 3)), b)
        nbvi.Normal("y", product, 1.0, observed=np.zeros(product.shape))
    theta = 0.3 * np.random.default_rng(1).standard_normal((2, model.ndim))
    assert_tape_is_graph(model, theta)
