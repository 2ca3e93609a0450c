"""The math ops of PyMC's ``pm.math`` that nbvi added, on the tape: for each, a small model whose free
variables feed the op and a Normal term or a Potential reads it; the tape's log-density and gradient equal
the graph walk (the reference) to 1e-10 relative and central finite differences, and ``nbvi.explain``
says the model is compiled (no graph-walk fallback)."""
import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nbvi
import nbvi.math as nm
from nbvi.compiled import interpreter


def _load_helpers():
    """The helpers of tests/compiled/test_density.py (the tests run with --import-mode=importlib)."""
    spec = importlib.util.spec_from_file_location("_test_density_helpers", Path(__file__).with_name("test_density.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_helpers = _load_helpers()
assert_tape_is_graph, assert_matches_finite_differences, tape_of = (
    _helpers.assert_tape_is_graph, _helpers.assert_matches_finite_differences, _helpers.tape_of)


def assert_compiled(model, theta=None, finite_differences=True):
    """Compiled (explain names no graph walk, and no NotCompiledWarning), the tape equal to the graph walk,
    and to central differences."""
    assert nbvi.explain(model).path != "graph", str(nbvi.explain(model))
    with warnings.catch_warnings():
        warnings.simplefilter("error", nbvi.NotCompiledWarning)
        model.logp_dlogp(model.initial_point_flat()[None])
    density = assert_tape_is_graph(model, theta)
    if finite_differences:
        assert_matches_finite_differences(model)
    return density


def opcodes(model):
    density = tape_of(model)
    return set(density.tape.code[:, 0]) | set(density.tape.micro[:, 0])


# -- elementwise ---------------------------------------------------------------------------------------------

UNARY = {  # name: (a map of a real number into the function's domain, its opcode)
    "sinh": (lambda x: x, interpreter.SINH),
    "cosh": (lambda x: x, interpreter.COSH),
    "arcsin": (lambda x: 0.9 * nm.tanh(x), interpreter.ARCSIN),
    "arccos": (lambda x: 0.9 * nm.tanh(x), interpreter.ARCCOS),
    "arctan": (lambda x: 3.0 * x, interpreter.ARCTAN),
    "arcsinh": (lambda x: 3.0 * x, interpreter.ARCSINH),
    "arccosh": (lambda x: 1.0 + nm.exp(x), interpreter.ARCCOSH),
    "arctanh": (lambda x: 0.9 * nm.tanh(x), interpreter.ARCTANH),
    "erfc": (lambda x: x, interpreter.ERFC),
    "erfinv": (lambda x: 0.95 * nm.tanh(x), interpreter.ERFINV),
    "gammaln": (lambda x: 0.3 + nm.exp(x), interpreter.GAMMALN),
    "lgamma": (lambda x: 0.3 + nm.exp(x), interpreter.GAMMALN),
    "digamma": (lambda x: 0.3 + nm.exp(x), interpreter.DIGAMMA),
    "log_sigmoid": (lambda x: 5.0 * x, interpreter.LOG_SIGMOID),
    "log_invlogit": (lambda x: 5.0 * x, interpreter.LOG_SIGMOID),
    "log1mexp": (lambda x: -nm.exp(x), interpreter.LOG1MEXP),
    "log1pexp": (lambda x: 5.0 * x, interpreter.SOFTPLUS),
    "sqr": (lambda x: x, interpreter.SQUARE),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_functions(name):
    into_domain, opcode = UNARY[name]
    with nbvi.Model() as model:
        x = nbvi.Normal("x", 0.3, 1.0, shape=3)
        nbvi.Normal("y", getattr(nm, name)(into_domain(x)), 1.0, observed=np.array([0.2, -0.1, 0.5]))
    assert_compiled(model)
    assert opcode in opcodes(model)


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "sign"])
def test_rounding_has_no_gradient_on_the_tape_either(name):
    with nbvi.Model() as model:
        x = nbvi.Normal("x", 0.3, 1.0, shape=4)
        nbvi.Normal("y", getattr(nm, name)(3.0 * x) + x, 1.0, observed=np.array([0.2, -0.1, 0.5, 1.0]))
    # halves (x = 1/6 gives 3x = 0.5 up to rounding), integers and 0 among the points
    theta = np.array([[0.5 / 3.0, 0.5, 2.5 / 3.0, 0.0], [-0.5 / 3.0, -1.0, 1.0 / 3.0, 0.7], [0.1, 0.2, 0.3, 0.4]])
    assert_compiled(model, theta)
    assert {interpreter.FLOOR, interpreter.CEIL, interpreter.ROUND, interpreter.SIGN} & opcodes(model)


def test_round_sends_halves_to_the_even_integer():
    with nbvi.Model() as model:
        x = nbvi.Flat("x", shape=5)
        nbvi.Potential("p", nm.round(x) * np.array([1.0, 10.0, 100.0, 1000.0, 10000.0]))
    theta = np.array([[0.5, 1.5, 2.5, -0.5, -1.5]])
    logp, grad = tape_of(model).logp_dlogp(theta)
    np.testing.assert_array_equal(logp, [0.0 + 20.0 + 200.0 - 0.0 - 20000.0])
    np.testing.assert_array_equal(grad, np.zeros((1, 5)))


@pytest.mark.parametrize("name", ["logaddexp", "logdiffexp"])
def test_binary_functions_with_broadcasting(name):
    with nbvi.Model() as model:
        a = nbvi.Normal("a", 0.0, 1.0, shape=(2, 1))
        b = nbvi.Normal("b", 0.5, 1.0, shape=(3,))
        data = np.linspace(0.5, 1.5, 6).reshape(2, 3)
        out = nm.logaddexp(a * data, b) if name == "logaddexp" else nm.logdiffexp(3.0 + a, b - data)
        nbvi.Normal("y", out, 2.0, observed=np.ones((2, 3)))
    assert_compiled(model)
    assert getattr(interpreter, name.upper()) in opcodes(model)


def test_logdiffexp_reads_one_variable_twice():
    with nbvi.Model() as model:
        a = nbvi.Normal("a", 0.0, 1.0, shape=3)
        b = nbvi.Normal("b", 0.0, 1.0, shape=3)
        nbvi.Normal("y", nm.logdiffexp(a, a - nm.exp(b)), 1.0, observed=np.zeros(3))
    assert_compiled(model)


def test_switch_is_where_on_the_tape():
    with nbvi.Model() as model:
        x = nbvi.Normal("x", 0.0, 1.0, shape=5)
        nbvi.Normal("y", nm.switch(x > 0.1, nm.sinh(x), nm.log_sigmoid(x)), 1.0, observed=np.zeros(5))
    assert_compiled(model, np.array([[-1.0, -0.2, 0.3, 0.6, 1.2], [0.05, 0.2, -0.7, 0.9, -0.1]]))


@pytest.mark.parametrize("name", ["log1mexp", "log_sigmoid", "logaddexp", "logdiffexp", "erfinv"])
def test_the_log_space_functions_stay_accurate_at_their_edges_in_a_potential(name):
    # points where the naive formulas lose every digit: 1 - e^x with x = -1e-12, e^800, erfinv near 1
    build = {
        "log1mexp": lambda x: nm.log1mexp(x), "log_sigmoid": lambda x: nm.log_sigmoid(x),
        "logaddexp": lambda x: nm.logaddexp(x, 0.5 * x), "logdiffexp": lambda x: nm.logdiffexp(x, 0.5 * x),
        "erfinv": lambda x: nm.erfinv(nm.tanh(x)),
    }[name]
    theta = {
        "log1mexp": [[-1e-12, -1e-3, -50.0, -800.0]], "log_sigmoid": [[-800.0, -1e-3, 30.0, 800.0]],
        "logaddexp": [[-800.0, 1e-12, 30.0, 800.0]], "logdiffexp": [[1e-12, 1e-3, 50.0, 800.0]],
        "erfinv": [[-6.0, -1e-3, 3.0, 6.0]],
    }[name]
    start = {"log1mexp": -1.0, "logdiffexp": 1.0}.get(name, 0.0)  # (an initial point inside the domain)
    with nbvi.Model() as model:
        x = nbvi.Normal("x", start, 100.0, shape=4)
        nbvi.Potential("p", build(x) * np.array([1.0, -2.0, 3.0, 0.5]))
    assert_compiled(model, np.array(theta), finite_differences=False)
    assert_compiled(model, np.array(theta) * 0.5, finite_differences=False)


# -- reductions and ops along an axis --------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["prod", "std"])
@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (1, True), ((0, 2), False), (-1, True)])
def test_reductions(reduction, axis, keepdims):
    with nbvi.Model() as model:
        x = nbvi.Normal("x", np.arange(24.0).reshape(2, 3, 4) / 20.0 + 0.5, 0.3, shape=(2, 3, 4))
        reduced = getattr(nm, reduction)(x, axis=axis, keepdims=keepdims)
        nbvi.Normal("y", reduced, 1.0, observed=np.zeros(reduced.shape))
    assert_compiled(model)


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_cumulative(name, axis):
    with nbvi.Model() as model:
        x = nbvi.Normal("x", 0.8, 0.3, shape=(2, 3, 4))
        out = getattr(nm, name)(x, axis=axis)
        nbvi.Normal("y", out, 1.0, observed=np.full(out.shape, 0.5))
    assert_compiled(model)
    assert getattr(interpreter, name.upper()) in opcodes(model)


@pytest.mark.parametrize("build", [lambda x: nm.prod(x), lambda x: nm.prod(x, axis=0), lambda x: nm.cumprod(x),
                                   lambda x: nm.cumprod(x, axis=0)],
                         ids=["prod", "prod_axis", "cumprod", "cumprod_axis"])
def test_products_with_zeros(build):
    # one zero in a column, and two: the gradient of a product at its zeros, without dividing by them
    mask = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
    with nbvi.Model() as model:
        x = nbvi.Normal("x", 0.5, 1.0, shape=(3, 3))
        nbvi.Potential("p", build(x * mask) * 2.0)
    density = assert_compiled(model)
    theta = np.arange(1.0, 10.0)[None] / 4.0
    _, grad = density.logp_dlogp(theta)
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("n,axis", [(1, -1), (1, 0), (2, 1), (2, -1)])
def test_diff(n, axis):
    with nbvi.Model() as model:
        x = nbvi.Normal("x", 0.0, 1.0, shape=(3, 4))
        out = nm.diff(nm.exp(x), n=n, axis=axis)
        nbvi.Normal("y", out, 0.5, observed=np.zeros(out.shape))
    assert_compiled(model)


def test_new_ops_chained_in_one_model():
    rng = np.random.default_rng(4)
    data = rng.normal(size=(50, 2))
    with nbvi.Model() as model:
        rate = nbvi.HalfNormal("rate", 1.0, shape=2)
        shift = nbvi.Normal("shift", 0.0, 1.0, shape=2)
        trend = nm.cumsum(nm.log1mexp(-rate) + nm.arctan(shift))
        scale = nm.std(data * nm.cosh(shift), axis=0) + nm.prod(nm.sigmoid(shift))
        nbvi.Normal("y", trend + nm.logaddexp(shift, trend), scale, observed=data)
        nbvi.Potential("prior", nm.gammaln(1.0 + rate) - nm.erfc(shift))
    assert_compiled(model)


@given(theta=st.lists(st.floats(-2.0, 2.0), min_size=3, max_size=3))
def test_equal_to_the_graph_walk_at_any_point(theta):
    with nbvi.Model() as model:
        x = nbvi.Normal("x", 0.0, 1.0, shape=3)
        value = nm.logdiffexp(2.5 + nm.arcsinh(x), nm.log_sigmoid(x)) + nm.cumprod(nm.sinh(x)) + nm.digamma(nm.exp(x))
        nbvi.Normal("y", value, 1.0, observed=np.array([0.1, 0.2, 0.3]))
    assert_tape_is_graph(model, np.array([theta]))
