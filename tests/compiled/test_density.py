"""CompiledDensity (the tape): on every model it runs, its log-density and gradient equal the graph walk
(``model._graph_logp_dlogp``, the reference) to 1e-10 relative, and central finite differences; models it
cannot run get a Refusal with the reason and keep the graph walk."""
import operator
import warnings

import numba
import numpy as np
import pytest
from density_checks import RTOL, assert_matches_finite_differences, assert_tape_is_graph, tape_of
from hypothesis import given
from hypothesis import strategies as st

import nbvi
from nbvi import transforms
from nbvi.compiled import density as compiled_density
from nbvi.compiled import interpreter, lowering
from nbvi.compiled.density import CompiledDensity
from nbvi.graph.op import NonDifferentiableError
from nbvi.graph.ops import add_n

# -- one model per op ------------------------------------------------------------------------------------------

UNARY = {  # function, a map of a real number into its domain
    "exp": lambda x: x, "log": nbvi.math.exp, "log1p": nbvi.math.exp, "expm1": lambda x: x,
    "sqrt": nbvi.math.exp, "square": lambda x: x, "abs": lambda x: x, "sin": lambda x: x, "cos": lambda x: x,
    "tan": lambda x: 0.5 * nbvi.math.tanh(x), "tanh": lambda x: x, "sigmoid": lambda x: x,
    "softplus": lambda x: x, "erf": lambda x: x, "neg": lambda x: x,
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_functions(name):
    f = getattr(nbvi.math, name) if name != "neg" else (lambda x: -x)
    with nbvi.Model() as model:
        x = nbvi.Normal("x", 0.3, 1.0, shape=3)
        nbvi.Normal("y", f(UNARY[name](x)), 1.0, observed=np.array([0.2, -0.1, 0.5]))
    assert_tape_is_graph(model)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "truediv", "pow", "maximum", "minimum"])
def test_binary_ops_with_broadcasting(op):
    f = getattr(nbvi.math, op) if op in ("maximum", "minimum") else getattr(operator, op)
    with nbvi.Model() as model:
        a = nbvi.HalfNormal("a", 1.0, shape=(2, 1))  # positive: pow's base
        b = nbvi.Normal("b", 0.5, 1.0, shape=(3,))
        data = np.linspace(0.5, 1.5, 6).reshape(2, 3)
        mean = f(a, b) * data if op in ("maximum", "minimum", "pow") else f(data, f(a, b))
        nbvi.Normal("y", mean, 2.0, observed=np.ones((2, 3)))
    assert_tape_is_graph(model)
    assert_matches_finite_differences(model)


def test_comparisons_where_and_clip():
    with nbvi.Model() as model:
        x = nbvi.Normal("x", 0.0, 1.0, shape=5)
        shifted = nbvi.math.where(x > 0.1, x * 2.0, nbvi.math.exp(x))
        clipped = nbvi.math.clip(x, -0.5, None) + nbvi.math.clip(x, None, 0.7)
        either = nbvi.math.where(nbvi.math.le(x, 0.0), 1.0, x) + nbvi.math.where(np.array([1, 0, 1, 0, 1]) > 0, x, 0.0)
        nbvi.Normal("y", shifted + clipped + either, 1.0, observed=np.zeros(5))
    theta = np.array([[-1.0, -0.2, 0.3, 0.6, 1.2], [0.05, 0.2, -0.7, 0.9, -0.1]])
    assert_tape_is_graph(model, theta)


def test_a_comparison_inside_arithmetic_stays_on_the_graph_and_raises_as_before():
    with nbvi.Model() as model:
        x = nbvi.Normal("x", 0.0, 1.0)
        nbvi.Normal("y", x * (x > 0.0), 1.0, observed=1.0)
    refusal = CompiledDensity.build(model)
    assert not refusal and "non-differentiable" in refusal.reason
    with pytest.raises(NonDifferentiableError), pytest.warns(nbvi.NotCompiledWarning):
        model.logp_dlogp(np.zeros((1, 1)))


@pytest.mark.parametrize("reduction", ["sum", "mean", "var", "max", "min", "logsumexp"])
@pytest.mark.parametrize("axis,keepdims", [(None, False), (0, False), (1, True), ((0, 2), False), (-1, False)])
def test_reductions(reduction, axis, keepdims):
    with nbvi.Model() as model:
        x = nbvi.Normal("x", np.arange(24.0).reshape(2, 3, 4) / 10.0, 1.0, shape=(2, 3, 4))
        reduced = getattr(nbvi.math, reduction)(x, axis=axis, keepdims=keepdims)
        nbvi.Normal("y", reduced, 1.0, observed=np.zeros(reduced.shape))
    assert_tape_is_graph(model)


def test_max_shares_the_gradient_among_ties():
    with nbvi.Model() as model:
        x = nbvi.Normal("x", 0.0, 1.0, shape=3)
        nbvi.Normal("y", nbvi.math.max(x) + nbvi.math.min(x), 1.0, observed=0.5)
    assert_tape_is_graph(model, np.array([[0.3, 0.3, -0.2], [0.1, 0.1, 0.1]]))


@pytest.mark.parametrize("which", ["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [0, -1])
def test_softmax(which, axis):
    with nbvi.Model() as model:
        x = nbvi.Normal("x", 0.0, 1.0, shape=(3, 4))
        out = getattr(nbvi.math, which)(x, axis=axis)
        nbvi.Normal("y", out, 0.5, observed=np.full((3, 4), 0.2))
    assert_tape_is_graph(model)


@pytest.mark.parametrize("a_shape,b_shape", [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
                                             ((5, 2, 3), (3, 4)), ((2, 1, 2, 3), (3, 3, 2))])
@pytest.mark.parametrize("free", ["a", "b", "both"])
def test_dot(a_shape, b_shape, free):
    rng = np.random.default_rng(3)
    with nbvi.Model() as model:
        a = nbvi.Normal("a", 0.0, 1.0, shape=a_shape) if free in ("a", "both") else rng.normal(size=a_shape)
        b = nbvi.Normal("b", 0.0, 1.0, shape=b_shape) if free in ("b", "both") else rng.normal(size=b_shape)
        product = nbvi.math.dot(a, b)
        nbvi.Normal("y", product, 1.0, observed=np.full(product.shape, 0.1))
    assert_tape_is_graph(model)


@pytest.mark.parametrize("index", [1, -1, slice(1, 4), (slice(None), 2), np.array([0, 2, 2, 1]),
                                   (Ellipsis, None, 0), (np.array([1, 0]), slice(None, None, -1))])
def test_indexing(index):
    with nbvi.Model() as model:
        x = nbvi.Normal("x", 0.0, 1.0, shape=(4, 3))
        picked = x[index]
        nbvi.Normal("y", picked, 1.0, observed=np.full(picked.shape, 0.3))
    assert_tape_is_graph(model)


def test_reshape_transpose_concatenate_stack():
    with nbvi.Model() as model:
        x = nbvi.Normal("x", 0.0, 1.0, shape=(2, 3))
        z = nbvi.Normal("z", 0.0, 1.0, shape=(2, 3))
        moved = x.T.reshape((6,)) + z.transpose((1, 0)).flatten()
        joined = nbvi.math.concatenate([moved, x[0], np.ones(2)])
        stacked = nbvi.math.stack([x, z * 2.0, np.full((2, 3), 0.5)], axis=1)
        nbvi.Normal("a", joined, 1.0, observed=np.zeros(11))
        nbvi.Normal("b", stacked.sum(axis=2), 1.0, observed=np.zeros((2, 3)))
    assert_tape_is_graph(model)


def test_add_n_deterministic_and_a_sum_used_twice():
    with nbvi.Model() as model:
        x = nbvi.Normal("x", 0.0, 1.0, shape=4)
        s = nbvi.Deterministic("s", add_n(x, x * 2.0, x * x))
        total = s.sum()
        nbvi.Normal("y", s * total, 1.0, observed=np.zeros(4))
        nbvi.Normal("t", total, 1.0, observed=0.0)
    assert_tape_is_graph(model)


@pytest.mark.parametrize("transform", ["log", "logodds", "interval", "lower", "upper"])
def test_transforms(transform):
    with nbvi.Model() as model:
        if transform == "log":
            v = nbvi.Gamma("v", 2.0, 1.0, shape=2)
        elif transform == "logodds":
            v = nbvi.Beta("v", 2.0, 3.0, shape=2)
        elif transform == "interval":
            v = nbvi.Uniform("v", np.array([-1.0, 0.0]), 2.0, shape=2)
        elif transform == "lower":
            v = nbvi.Normal("v", 1.0, 1.0, shape=2, transform=transforms.LowerBound(-0.5))
        else:
            v = nbvi.Normal("v", 1.0, 1.0, shape=2, transform=transforms.UpperBound(3.0))
        nbvi.Normal("y", nbvi.math.log(v + 2.0), 0.5, observed=np.array([0.1, 0.4]))
    assert_tape_is_graph(model)
    assert_matches_finite_differences(model)


# -- regression models of the kinds people fit, with data, minibatches, constant terms ---------------------------

def test_regression_with_interaction_and_scalar_families():
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=50), rng.integers(0, 2, 50).astype(float)
    counts = rng.poisson(2.0, 50)
    with nbvi.Model() as model:
        b = nbvi.Normal("b", 0.0, 10.0, shape=4)
        sigma = nbvi.HalfNormal("sigma", 2.0)
        nu = nbvi.Gamma("nu", 2.0, 0.1)
        mu = b[0] + b[1] * x1 + b[2] * x2 + b[3] * x1 * x2
        nbvi.Normal("y", mu, sigma, observed=rng.normal(size=50))
        nbvi.StudentT("t", nu, mu, sigma, observed=rng.normal(size=50))
        nbvi.Poisson("c", nbvi.math.exp(0.1 * mu), observed=counts)
        nbvi.Bernoulli("k", logit_p=mu, observed=x2)
    assert_tape_is_graph(model)
    assert_matches_finite_differences(model)


def test_data_set_value_rebuilds_the_tape():
    X = nbvi.Data(np.linspace(0.0, 1.0, 10))
    with nbvi.Model() as model:
        b = nbvi.Normal("b", 0.0, 1.0, shape=2)
        nbvi.Normal("y", b[0] + b[1] * X, 1.0, observed=np.linspace(0.0, 2.0, 10))
    theta = np.array([[0.3, -0.2]])
    first = model.logp_dlogp(theta)
    assert model.compiled_density() is not None
    X.set_value(np.linspace(1.0, 2.0, 10))
    second = model.logp_dlogp(theta)
    assert not np.allclose(first[0], second[0])
    np.testing.assert_allclose(second[0], model._graph_logp_dlogp(theta)[0], rtol=RTOL)


def test_minibatch_through_an_expression_with_total_size():
    rng = np.random.default_rng(1)
    data = rng.normal(size=(200, 3))
    with nbvi.Model() as model:
        w = nbvi.Normal("w", 0.0, 1.0, shape=3)
        batch = nbvi.Minibatch(data, batch_size=20, random_seed=3)
        nbvi.Normal("y", nbvi.math.dot(batch, w), 1.0, observed=np.zeros(20), total_size=200)
        nbvi.Normal("c", batch.sum(axis=1), 1.0, observed=np.zeros(20), total_size=200)  # no free variable
    theta = np.array([[0.1, -0.3, 0.2]])
    for _ in range(3):
        assert_tape_is_graph(model, theta)
        for minibatch in model.minibatches():
            minibatch.resample()


def test_terms_without_free_variables_count():
    with nbvi.Model() as model:
        x = nbvi.Normal("x", 0.0, 1.0)
        nbvi.Normal("fixed", 1.0, 2.0, observed=np.array([0.3, 0.9]))
        nbvi.Normal("y", nbvi.math.exp(x), 1.0, observed=0.5)
    assert_tape_is_graph(model)


def test_several_points_and_repeated_calls_give_the_same_numbers():
    with nbvi.Model() as model:
        x = nbvi.Normal("x", 0.0, 1.0, shape=3)
        nbvi.Normal("y", nbvi.math.softplus(x).sum() * x, 1.0, observed=np.ones(3))
    density = tape_of(model)
    theta = np.random.default_rng(0).standard_normal((5, 3))
    logp, grad = density.logp_dlogp(theta)
    for d in range(5):
        one_logp, one_grad = density.logp_dlogp(theta[d:d + 1])
        assert one_logp[0] == logp[d] and np.array_equal(one_grad[0], grad[d])


# -- families with a core axis, and the simplex ----------------------------------------------------------------

def test_mixture_with_dirichlet_weights_as_people_write_it():
    rng = np.random.default_rng(4)
    data = np.concatenate([rng.normal(-1.0, 0.5, 60), rng.normal(2.0, 1.0, 40)])
    with nbvi.Model() as model:
        w = nbvi.Dirichlet("w", np.ones(2))
        mu = nbvi.Normal("mu", np.array([-1.0, 1.0]), 10.0, shape=2)
        sigma = nbvi.HalfNormal("sigma", 2.0, shape=2)
        nbvi.NormalMixture("y", w=w, mu=mu, sigma=sigma, observed=data)
    assert_tape_is_graph(model)
    assert_matches_finite_differences(model)


@pytest.mark.parametrize("w_shape,mu_shape,sigma_shape,x_shape", [
    ((3,), (3,), (), ()), ((3,), (3,), (3,), (4,)), ((2, 3), (3,), (2, 1), (2,)), ((3,), (4, 3), (3,), (4,))])
@pytest.mark.parametrize("observed", [True, False])
def test_mixture_parameters_of_every_layout(w_shape, mu_shape, sigma_shape, x_shape, observed):
    data = np.random.default_rng(5).normal(size=x_shape) if observed else None
    with nbvi.Model() as model:
        w = nbvi.Dirichlet("w", np.ones(w_shape))
        mu = nbvi.Normal("mu", 0.0, 1.0, shape=mu_shape)
        sigma = nbvi.HalfNormal("sigma", 1.0, shape=sigma_shape) if sigma_shape else 0.7
        nbvi.NormalMixture("x", w=w, mu=mu, sigma=sigma, shape=x_shape, observed=data)
    assert_tape_is_graph(model)


@pytest.mark.parametrize("n", [3, 40, 130])  # one element at a time, and blocks of 64
def test_mixture_with_a_zero_weight_and_free_components(n):
    data = np.linspace(-2.0, 3.0, n)
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0, shape=3)
        sigma = nbvi.HalfNormal("sigma", 1.0, shape=3)
        weights = nbvi.Dirichlet("weights", np.ones(2))
        w = nbvi.math.concatenate([weights, np.zeros(1)])
        nbvi.NormalMixture("y", w=w, mu=mu, sigma=sigma, observed=data)
    assert_tape_is_graph(model)


def test_dirichlet_of_rows_with_free_concentration():
    with nbvi.Model() as model:
        a = nbvi.Gamma("a", 2.0, 1.0, shape=(2, 3))
        p = nbvi.Dirichlet("p", a)
        nbvi.Dirichlet("q", p * 5.0 + 0.5, observed=np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]))
    assert_tape_is_graph(model)
    assert_matches_finite_differences(model)


def test_gaussian_process_marginal_likelihood():
    rng = np.random.default_rng(6)
    points = np.linspace(0.0, 5.0, 7)
    squared = (points[:, None] - points[None, :]) ** 2
    with nbvi.Model() as model:
        length = nbvi.Gamma("length", 2.0, 1.0)
        eta = nbvi.HalfNormal("eta", 1.0)
        sigma = nbvi.HalfNormal("sigma", 1.0)
        cov = eta ** 2 * nbvi.math.exp(-0.5 * squared / length ** 2) + sigma ** 2 * np.eye(7)
        nbvi.MvNormal("y", mu=0.0, cov=cov, observed=np.sin(points) + 0.1 * rng.normal(size=7))
    assert_tape_is_graph(model)
    assert_matches_finite_differences(model)


@pytest.mark.parametrize("kind", ["cov", "chol", "tau"])
@pytest.mark.parametrize("batch", [(), (2,)])
def test_mvnormal_of_free_values_means_and_matrices(kind, batch):
    rng = np.random.default_rng(7)
    base = np.array([[1.0, 0.3, 0.0], [0.3, 2.0, 0.4], [0.0, 0.4, 1.5]])
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0, shape=batch + (3,))
        scale = nbvi.HalfNormal("scale", 1.0, shape=batch + (1, 1))
        factor = np.linalg.cholesky(base)
        matrix = {"cov": scale * base, "chol": scale * factor, "tau": scale * np.linalg.inv(base)}[kind]
        x = nbvi.MvNormal("x", mu=mu, **{kind: matrix})
        nbvi.MvNormal("y", mu=x, **{kind: base if kind != "chol" else factor}, observed=rng.normal(size=batch + (3,)))
    assert_tape_is_graph(model)
    assert_matches_finite_differences(model)


def test_mvnormal_outside_positive_definite_is_minus_infinity():
    with nbvi.Model() as model:
        c = nbvi.Normal("c", 0.0, 1.0)
        nbvi.MvNormal("y", mu=np.zeros(2), cov=nbvi.math.stack([nbvi.math.stack([1.0 + 0.0 * c, c]),
                                                                 nbvi.math.stack([c, 1.0 + 0.0 * c])]),
                      observed=np.array([0.2, -0.3]))
    density = tape_of(model)
    logp, _ = density.logp_dlogp(np.array([[0.5], [1.5]]))
    graph, _ = model._graph_logp_dlogp(np.array([[0.5], [1.5]]))
    assert np.isfinite(logp[0]) and logp[1] == -np.inf == graph[1]
    np.testing.assert_allclose(logp[0], graph[0], rtol=RTOL)


def test_the_quickstart_mixture_is_on_the_tape():
    with nbvi.Model() as model:
        nbvi.NormalMixture("x", w=np.array([0.2, 0.8]), mu=np.array([-0.3, 0.5]), sigma=np.array([0.1, 0.1]))
    assert nbvi.explain(model).path == "tape"
    theta = np.linspace(-1.0, 1.0, 7)[:, None]
    assert_tape_is_graph(model, theta)


# -- random models ---------------------------------------------------------------------------------------------

SHAPES = [(), (3,), (2, 3), (1, 3), (2, 1)]
FUNCTIONS = ["exp_neg_square", "tanh", "sigmoid", "softplus", "sin", "square"]


def _apply(name, x):
    if name == "exp_neg_square":
        return nbvi.math.exp(-x * x)
    return getattr(nbvi.math, name)(x)


def _broadcasts(*shapes):
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        return False
    return True


@st.composite
def random_model(draw):
    """A model whose observed mean is a random expression over free variables, constants and data."""
    n_vars = draw(st.integers(1, 3))
    shapes = [draw(st.sampled_from(SHAPES)) for _ in range(n_vars)]
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    steps = draw(st.lists(st.tuples(st.sampled_from(["unary", "add", "mul", "sub", "sum", "getitem", "where"]),
                                    st.sampled_from(FUNCTIONS), st.integers(0, 10)), min_size=1, max_size=6))
    with nbvi.Model() as model:
        nodes = [nbvi.Normal(f"v{i}", 0.0, 1.0, shape=s) for i, s in enumerate(shapes)]
        if draw(st.booleans()):
            nodes.append(nbvi.HalfNormal("h", 1.0, shape=shapes[0]))
        for kind, function, pick in steps:
            a, b = nodes[pick % len(nodes)], nodes[(pick * 7 + 3) % len(nodes)]
            if kind == "unary":
                nodes.append(_apply(function, a))
            elif kind in ("add", "mul", "sub"):
                other = b if pick % 2 and _broadcasts(a.shape, b.shape) else rng.normal(size=a.shape)
                nodes.append(getattr(operator, kind)(a, other))
            elif kind == "sum":
                nodes.append(a.sum(axis=-1) if a.ndim else a * 1.5)
            elif kind == "getitem":
                nodes.append(a[..., ::-1] if a.ndim else a + 0.5)
            else:
                nodes.append(nbvi.math.where(a > 0.2, a, b * 0.5) if a.shape == b.shape else a - 0.1)
        mean = nodes[-1]
        for node in nodes[n_vars:-1]:  # every intermediate reaches the density (no dead branches)
            mean = mean + node.sum()
        nbvi.Normal("y", mean, 1.5, observed=rng.normal(size=mean.shape))
    return model


@given(random_model(), st.integers(0, 1000))
def test_random_models_equal_the_graph_walk(model, seed):
    assert_tape_is_graph(model, seed=seed)


# -- what the tape does not run ---------------------------------------------------------------------------------

class ShiftedLog(transforms.LogTransform):
    """A user's transform: neither the fused kernel nor the tape knows what it computes."""


def test_a_user_transform_is_refused_with_its_name_and_a_warning():
    with nbvi.Model() as model:
        nbvi.Normal("x", 1.0, 1.0, transform=ShiftedLog())
    refusal = CompiledDensity.build(model)
    assert not refusal and "'x'" in refusal.reason
    with pytest.warns(nbvi.NotCompiledWarning, match="'x'"):
        assert model.compiled_density() is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.logp_dlogp(np.zeros((1, 1)))  # once per model
    explanation = nbvi.explain(model)
    assert explanation.path == "graph" and "'x'" in str(explanation)


def test_explain_names_the_path():
    with nbvi.Model() as fused:
        mu = nbvi.Normal("mu", 0.0, 1.0)
        nbvi.Normal("y", mu, 1.0, observed=np.ones(3))
    assert nbvi.explain(fused).path == "fused"
    with nbvi.Model() as regression:
        b = nbvi.Normal("b", 0.0, 1.0, shape=2)
        nbvi.Normal("y", b[0] + b[1] * np.arange(3.0), 1.0, observed=np.ones(3))
        assert nbvi.explain().path == "tape"  # the model of the with block
    assert "compiled tape" in str(nbvi.explain(regression))

    class Own(nbvi.Model):
        def logp_dlogp(self, theta):
            return np.zeros(len(theta)), np.zeros_like(theta)

    with Own() as own:
        nbvi.Normal("x", 0.0, 1.0)
    assert nbvi.explain(own).path == "own"
    with pytest.raises(TypeError, match="nbvi.Model"):
        nbvi.explain(object())


@pytest.mark.parametrize("minibatch", [False, True])
def test_many_points_in_parallel_give_the_numbers_of_one_at_a_time(minibatch, monkeypatch):
    rng = np.random.default_rng(9)
    data = rng.normal(size=(300, 2))
    with nbvi.Model() as model:
        w = nbvi.Normal("w", 0.0, 1.0, shape=2)
        sigma = nbvi.HalfNormal("sigma", 1.0)
        rows = nbvi.Minibatch(data, batch_size=40, random_seed=2) if minibatch else data
        nbvi.Normal("y", nbvi.math.tanh(nbvi.math.dot(rows, w)), sigma, observed=np.zeros(40 if minibatch else 300),
                    total_size=300 if minibatch else None)
    density = tape_of(model)
    theta = rng.normal(size=(150, 3))  # above PARALLEL_MIN_DRAWS
    before = numba.get_num_threads()
    parallel_calls = []
    run_parts = compiled_density._in_parts
    monkeypatch.setattr(compiled_density, "_in_parts", lambda *args: parallel_calls.append(1) or run_parts(*args))
    monkeypatch.setattr(compiled_density, "PARALLEL_MIN_SECONDS", 0.0)  # however cheap the points
    try:
        results = []
        for threads in (1, 1, before):  # (two serial calls: the first one's time does not count)
            numba.set_num_threads(threads)
            results.append(density.logp_dlogp(theta))
    finally:
        numba.set_num_threads(before)
    singles = [density.logp_dlogp(theta[d:d + 1]) for d in range(0, 150, 37)]
    for logp, grad in results:
        np.testing.assert_array_equal(logp, results[0][0])
        np.testing.assert_array_equal(grad, results[0][1])
    for (logp, grad), d in zip(singles, range(0, 150, 37)):
        assert logp[0] == results[0][0][d] and np.array_equal(grad[0], results[0][1][d])
    assert bool(parallel_calls) == (before > 1)  # the many points went to threads, in parts


@pytest.mark.parametrize("kind", ["p", "logit_p", "softmax"])
def test_categorical_of_free_probabilities_and_logits(kind):
    labels = np.array([0, 2, 1, 2, 2, 0])
    with nbvi.Model() as model:
        if kind == "p":
            p = nbvi.Dirichlet("p", np.ones(3))
            nbvi.Categorical("y", p=p, observed=labels)
        else:
            z = nbvi.Normal("z", 0.0, 1.0, shape=(6, 3))
            nbvi.Categorical("y", **({"logit_p": z} if kind == "logit_p" else {"p": nbvi.math.softmax(z)}),
                             observed=labels)
    assert_tape_is_graph(model)
    assert_matches_finite_differences(model)


def test_the_softmax_regression_of_data_runs_its_own_kernel_without_a_warning():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(20, 3))
    with nbvi.Model() as model:
        beta = nbvi.Normal("beta", 0.0, 1.0, shape=(3, 2))
        a = nbvi.Normal("a", 0.0, 1.0, shape=2)
        nbvi.Categorical("y", p=nbvi.math.softmax(nbvi.math.dot(X, beta) + a), observed=rng.integers(0, 2, 20))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.logp_dlogp(model.initial_point_flat()[None])
    assert nbvi.explain(model).path == "graph" and "softmax regression" in str(nbvi.explain(model))


def test_a_model_of_flat_variables_only_is_compiled():
    with nbvi.Model() as model:
        nbvi.Flat("x", shape=3)
    assert nbvi.explain(model).path != "graph"
    logp, grad = model.logp_dlogp(np.ones((2, 3)))
    assert np.all(logp == 0.0) and np.all(grad == 0.0)


def affine_products(density):
    """How many matrix-vector products of affine forms the tape runs: DOT instructions and AFFINE micro rows
    (the product computed block by block in a loop)."""
    tape = density.tape
    return int((tape.code[:, 0] == interpreter.DOT).sum() + (tape.micro[:, 0] == interpreter.AFFINE).sum())


def test_an_affine_mean_runs_as_one_matrix_vector_product():
    """a + b1 x1 - b2 x2 / 4 + b3 x1 x2 over 300 rows: a partial sum that something else reads as well is
    still computed, as one product of the data columns with the coefficients (the mean of the Normal term
    runs from the data's statistics, the next test)."""
    rng = np.random.default_rng(11)
    x1, x2 = rng.normal(size=300), rng.normal(66.0, 4.0, size=300)
    with nbvi.Model() as model:
        a = nbvi.Normal("a", 0.0, 10.0)
        b = nbvi.Normal("b", 0.0, 1.0, shape=3)
        sigma = nbvi.HalfNormal("sigma", 2.0)
        partial = a + b[0] * x1
        mean = partial - b[1] * x2 / 4.0 + -(b[2] * x1) * x2
        nbvi.Normal("y", mean, sigma, observed=rng.normal(size=300))
        nbvi.Normal("z", nbvi.math.exp(0.01 * partial), 1.0, observed=np.ones(300))
    density = assert_tape_is_graph(model)
    assert affine_products(density) >= 1
    assert_matches_finite_differences(model)


@pytest.mark.parametrize("sigma_kind", ["free", "data", "total_size"])
def test_a_normal_term_with_an_affine_mean_runs_from_the_datas_statistics(sigma_kind):
    """log-earnings on height ~ 66 (not centred) x male: the Normal term is one NORMAL_GRAM instruction,
    O(K^2) per call, equal to the row-by-row graph walk near the fit and far from it."""
    rng = np.random.default_rng(12)
    height, male = rng.normal(66.0, 4.0, size=400), rng.integers(0, 2, 400).astype(float)
    y = 9.0 + 0.02 * height + 0.3 * male + 0.01 * height * male + rng.normal(0.0, 0.9, 400)
    with nbvi.Model() as model:
        a = nbvi.Normal("a", 9.0, 10.0)
        b = nbvi.Normal("b", 0.0, 1.0, shape=3)
        sigma = nbvi.HalfNormal("sigma", 2.0) if sigma_kind != "data" else 0.9
        mean = a + b[0] * height + b[1] * male + b[2] * height * male
        nbvi.Normal("y", mean, sigma, observed=y, total_size=4000 if sigma_kind == "total_size" else None)
    density = assert_tape_is_graph(model)
    opcodes = list(density.tape.code[:, 0])
    assert interpreter.NORMAL_GRAM in opcodes and interpreter.DOT not in opcodes
    fit = model.initial_point_flat().copy()
    fit[:4] = np.linalg.lstsq(np.column_stack([np.ones(400), height, male, height * male]), y, rcond=None)[0]
    assert_tape_is_graph(model, theta=fit + np.array([0.0, 0.0, 0.0, 1e-6, 0.0][:model.ndim])[None])
    assert_tape_is_graph(model, spread=3.0)
    assert_matches_finite_differences(model)


def test_a_matrix_times_a_vector_and_elements_of_a_vector_join_the_affine_mean():
    """``alpha + X @ beta`` and ``b[0] + b[1] x1 + b[2] x2``: the combination reads beta and b themselves
    (one COPY of consecutive elements), and the Normal term runs from the statistics; in a Bernoulli the
    same mean is one product (an AFFINE row of the Bernoulli's loop)."""
    rng = np.random.default_rng(14)
    X = rng.normal(50.0, 5.0, size=(200, 3))
    with nbvi.Model() as model:
        alpha = nbvi.Normal("alpha", 0.0, 10.0)
        beta = nbvi.Normal("beta", 0.0, 1.0, shape=3)
        b = nbvi.Normal("b", 0.0, 1.0, shape=3)
        sigma = nbvi.HalfNormal("sigma", 2.0)
        nbvi.Normal("y", alpha + nbvi.math.dot(X, beta), sigma, observed=X @ [0.1, -0.2, 0.3] + rng.normal(size=200))
        nbvi.Normal("z", b[0] + b[1] * X[:, 0] + b[2] * X[:, 1], sigma, observed=rng.normal(size=200))
        nbvi.Bernoulli("k", logit_p=0.01 * (alpha + nbvi.math.dot(X, beta)), observed=rng.integers(0, 2, 200))
    density = assert_tape_is_graph(model)
    opcodes = list(density.tape.code[:, 0])
    assert opcodes.count(interpreter.NORMAL_GRAM) == 2 and affine_products(density) == 1
    assert interpreter.DOT not in opcodes  # (3 + 1 scalars: computed block by block in the loop)
    copies = [row for row in density.tape.code if row[0] == interpreter.COPY]
    assert sorted(int(row[1]) for row in copies) == [1, 1, 3, 3, 3]  # alpha and beta for y and k, b for z
    assert_matches_finite_differences(model)


@pytest.mark.parametrize("columns", [1, 4, 7, lowering.AFFINE_BLOCK_MAX_TERMS + 3])
def test_an_affine_logit_is_computed_in_its_loop_or_as_one_product(columns):
    """``alpha + X @ beta`` in a Bernoulli and a Poisson (exp link) over 300 rows (not a multiple of a block):
    up to AFFINE_BLOCK_MAX_TERMS scalars the loop computes it block by block (one AFFINE row, any remainder of
    four rows), more as one DOT before the loop; equal to the graph walk and to finite differences."""
    rng = np.random.default_rng(16)
    X = rng.normal(0.0, 0.5, size=(300, columns))
    with nbvi.Model() as model:
        alpha = nbvi.Normal("alpha", 0.0, 1.0)
        beta = nbvi.Normal("beta", 0.0, 1.0, shape=columns)
        nbvi.Bernoulli("k", logit_p=alpha + nbvi.math.dot(X, beta), observed=rng.integers(0, 2, 300))
        nbvi.Poisson("c", nbvi.math.exp(0.5 * alpha + nbvi.math.dot(X, beta)), observed=rng.poisson(2.0, 300))
    density = assert_tape_is_graph(model, spread=2.0)
    in_loop = columns + 1 <= lowering.AFFINE_BLOCK_MAX_TERMS
    assert (density.tape.micro[:, 0] == interpreter.AFFINE).sum() == (2 if in_loop else 0)
    assert (density.tape.code[:, 0] == interpreter.DOT).sum() == (0 if in_loop else 2)
    assert_matches_finite_differences(model)


def test_a_varying_intercept_regression_runs_from_sparse_statistics():
    """y ~ Normal(a[group] + b x, sigma) over 600 rows in 40 groups: the indicator columns of a[group] give a
    G with about 3 entries per group, so the term is one NORMAL_GRAM; the same mean in a Bernoulli keeps its
    gather (no product with 40 indicator columns)."""
    rng = np.random.default_rng(15)
    group, x = rng.integers(0, 40, 600), rng.normal(size=600)
    with nbvi.Model() as model:
        mu_a = nbvi.Normal("mu_a", 0.0, 10.0)
        sigma_a = nbvi.Exponential("sigma_a", 1.0)
        a = nbvi.Normal("a", mu_a, sigma_a, shape=40)
        b = nbvi.Normal("b", 0.0, 10.0)
        sigma = nbvi.Exponential("sigma", 1.0)
        nbvi.Normal("y", a[group] + b * x, sigma, observed=rng.normal(size=600) + group / 10.0)
    density = assert_tape_is_graph(model)
    gram = [row for row in density.tape.code if row[0] == interpreter.NORMAL_GRAM]
    assert len(gram) == 1 and gram[0][interpreter.AUX1] < 4 * 40  # nonzero entries of G's upper triangle
    assert_tape_is_graph(model, spread=2.0)
    assert_matches_finite_differences(model)
    with nbvi.Model() as logistic:
        a = nbvi.Normal("a", 0.0, 1.0, shape=40)
        b = nbvi.Normal("b", 0.0, 1.0)
        nbvi.Bernoulli("k", logit_p=a[group] + b * x, observed=rng.integers(0, 2, 600))
    density = assert_tape_is_graph(logistic)
    assert affine_products(density) == 0 and interpreter.NORMAL_GRAM not in density.tape.code[:, 0]


def test_a_normal_term_with_non_finite_predictors_stays_on_the_rows():
    x = np.linspace(0.0, 1.0, 100)
    x[5] = np.nan
    with nbvi.Model() as model:
        b = nbvi.Normal("b", 0.0, 1.0, shape=2)
        nbvi.Normal("y", b[0] + b[1] * x, 1.0, observed=np.zeros(100))
    density = tape_of(model)
    assert interpreter.NORMAL_GRAM not in density.tape.code[:, 0]
    logp, _ = density.logp_dlogp(np.array([[0.1, 0.2]]))
    assert np.isnan(logp[0]) and np.isnan(model._graph_logp_dlogp(np.array([[0.1, 0.2]]))[0][0])


def test_a_normal_term_of_statistics_with_sigma_not_positive_is_minus_infinity():
    x = np.linspace(0.0, 1.0, 100)
    with nbvi.Model() as model:
        b = nbvi.Normal("b", 0.0, 1.0, shape=2)
        s = nbvi.Normal("s", 1.0, 1.0)  # unbounded: sigma <= 0 is possible
        nbvi.Normal("y", b[0] + b[1] * x, s, observed=x)
    density = tape_of(model)
    assert interpreter.NORMAL_GRAM in density.tape.code[:, 0]
    logp, _ = density.logp_dlogp(np.array([[0.1, 0.2, -0.5], [0.1, 0.2, 0.0]]))
    np.testing.assert_array_equal(logp, model._graph_logp_dlogp(np.array([[0.1, 0.2, -0.5], [0.1, 0.2, 0.0]]))[0])
    assert np.all(logp == -np.inf)


def test_a_normal_term_with_many_scalars_for_its_rows_runs_row_by_row():
    """K (K + 1) / 2 + K > n: the statistics would cost more than the rows."""
    rng = np.random.default_rng(13)
    columns = rng.normal(size=(16, 100))
    with nbvi.Model() as model:
        b = nbvi.Normal("b", 0.0, 1.0, shape=16)
        nbvi.Normal("y", sum(b[k] * columns[k] for k in range(16)), 1.0, observed=rng.normal(size=100))
    density = assert_tape_is_graph(model)
    assert interpreter.NORMAL_GRAM not in density.tape.code[:, 0]


def test_a_refusal_keeps_the_data_it_saw_so_that_set_value_asks_again():
    X = nbvi.Data(np.zeros(4))
    with nbvi.Model() as model:
        w = nbvi.Normal("w", 1.0, 1.0, transform=ShiftedLog())  # refused: the tape cannot know the transform
        nbvi.Normal("y", w * X, 1.0, observed=np.zeros(4))
    refusal = CompiledDensity.build(model)
    assert not refusal and refusal.is_current()
    X.set_value(np.ones(4))
    assert not refusal.is_current()


def test_the_tape_kernel_refuses_arrays_that_are_not_contiguous():
    """tape_logp_dlogp hands the interpreter its arrays by address: one with strides must be refused, not read
    as if contiguous."""
    with nbvi.Model() as model:
        nbvi.Normal("x", 0.0, 1.0, shape=2)
    density = tape_of(model)
    theta = np.zeros((3, 4))[:, ::2]  # (3, 2), every other column
    with pytest.raises(ValueError, match="C-contiguous"):
        compiled_density.tape_logp_dlogp(theta, *density._plan, density._workspace, density.tape.n_dynamic,
                                         np.empty(3), np.empty((3, 2)))
    logp, grad = density.logp_dlogp(theta)  # (the density makes them contiguous)
    np.testing.assert_allclose(grad, -theta)
