"""Indexing a node with an integer Data or Minibatch (``a[group]``, the hierarchical idiom): the graph walk's
gradient (a scatter-add) against central finite differences, the tape against the graph walk (1e-10
relative), ``set_value`` with new positions and a new length, posterior predictive draws for new positions,
a Minibatch of positions with ``total_size``, and the errors for positions that are not positions."""
import pickle
import warnings

import numpy as np
import pytest
from density_checks import RTOL, assert_matches_finite_differences, assert_tape_is_graph, tape_of
from gradcheck import numeric_grad
from scipy import stats

import nbvi
from nbvi.compiled.density import CompiledDensity
from nbvi.model import NotCompiledWarning

GROUPS = np.array([0, 1, 2, 0, 2, 2])


def hierarchical(kind, group=GROUPS, constant=False, mutable=True):
    """A model whose mean reads a vector or matrix of free variables through ``group``: a Data (or
    ConstantData, or the plain array when ``constant``) of positions."""
    rng = np.random.default_rng(3)
    with nbvi.Model() as model:
        g = group if constant else nbvi.Data("g", group, mutable=mutable)
        y = nbvi.Data("y_obs", rng.normal(size=len(group)))
        s = nbvi.HalfNormal("s", 1.0)
        if kind == "vector":  # a[g]
            a = nbvi.Normal("a", 0.0, 1.0, shape=3)
            mu = a[g] * s
        elif kind == "rows":  # A[g, 1]
            a = nbvi.Normal("a", 0.0, 1.0, shape=(3, 2))
            mu = a[g, 1] + a[g, 0] * s
        elif kind == "columns":  # A[:, g], summed over the rows
            a = nbvi.Normal("a", 0.0, 1.0, shape=(2, 3))
            mu = a[:, g].sum(axis=0) * s
        elif kind == "expression":  # exp(a)[g] and a repeated position
            a = nbvi.Normal("a", 0.0, 1.0, shape=3)
            mu = nbvi.math.exp(a)[g] - a[g] ** 2
        nbvi.Deterministic("mu", mu)
        nbvi.Normal("y", mu, 0.7, observed=y)
    return model


KINDS = ["vector", "rows", "columns", "expression"]


@pytest.mark.parametrize("kind", KINDS)
def test_graph_walk_gradient_is_central_differences(kind):
    """The scatter-add of GetItem's VJP (repeated positions add up) against central differences."""
    model = hierarchical(kind)
    theta = model.initial_point_flat() + 0.3 * np.random.default_rng(0).standard_normal(model.ndim)
    _, grad = model._graph_logp_dlogp(theta[None])
    numeric = numeric_grad(lambda t: float(model._graph_logp_dlogp(t[None])[0][0]), theta)
    np.testing.assert_allclose(grad[0], numeric, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_tape_runs_a_data_index_as_the_graph_walk(kind):
    model = hierarchical(kind)
    assert nbvi.explain(model).path == "tape"
    assert_tape_is_graph(model)
    assert_matches_finite_differences(model)


@pytest.mark.parametrize("kind", KINDS)
def test_a_data_index_gives_the_density_of_the_same_positions_as_an_array(kind):
    by_data, by_array = hierarchical(kind), hierarchical(kind, constant=True)
    theta = by_data.initial_point_flat() + 0.3 * np.random.default_rng(1).standard_normal((4, by_data.ndim))
    for got, want in zip(by_data.logp_dlogp(theta), by_array.logp_dlogp(theta)):
        np.testing.assert_allclose(got, want, rtol=RTOL)


def test_constant_data_index_runs_on_the_tape_and_cannot_change():
    model = hierarchical("vector", mutable=False)
    assert_tape_is_graph(model)
    with pytest.raises(TypeError, match="mutable=False"):
        model["g"].set_value(np.array([0, 1]))


@pytest.mark.parametrize("kind", KINDS)
def test_set_value_with_a_new_length_is_seen_by_the_tape(kind):
    """New positions of another length (and observed data to match): the rebuilt tape equals the graph walk
    and the density of a model built with those positions."""
    model = hierarchical(kind)
    new = np.array([2, 1, 1, 0, 2, 0, 1, 1, 2])
    before = tape_of(model)
    y_new = np.linspace(-1.0, 1.0, len(new))
    model["g"].set_value(new)
    model["y_obs"].set_value(y_new)
    assert not before.is_current()
    assert_tape_is_graph(model)
    assert_matches_finite_differences(model)
    fresh = hierarchical(kind, group=new, constant=True)
    fresh["y_obs"].set_value(y_new)
    theta = model.initial_point_flat() + 0.3 * np.random.default_rng(2).standard_normal((3, model.ndim))
    for got, want in zip(model.logp_dlogp(theta), fresh.logp_dlogp(theta)):
        np.testing.assert_allclose(got, want, rtol=RTOL)


def test_set_value_density_by_hand():
    """logp of a[g] after set_value, from scipy: the prior of a and s plus the Normal terms at a[new]."""
    model = hierarchical("vector")
    new = np.array([1, 1, 2, 0])
    y_new = np.array([0.5, -0.2, 1.0, 0.0])
    model["g"].set_value(new)
    model["y_obs"].set_value(y_new)
    a, s = np.array([0.3, -0.4, 0.9]), 1.3
    point = {"a": a, "s": s}
    expected = (stats.norm.logpdf(a).sum() + stats.halfnorm.logpdf(s)
                + stats.norm.logpdf(y_new, a[new] * s, 0.7).sum())
    assert model.logp(point) == pytest.approx(expected, rel=1e-12)


def test_radon_mean_from_statistics_follows_set_value():
    """The varying-intercept mean a[g] + b x of a Normal term runs from its data's statistics (indicator
    columns of the groups); after set_value of g (and of x, y, another length) the tape is built again."""
    rng = np.random.default_rng(4)
    n, groups = 600, 40
    group, x = rng.integers(0, groups, n), rng.normal(size=n)
    with nbvi.Model() as model:
        g = nbvi.Data("g", group)
        xd = nbvi.Data("x", x)
        yd = nbvi.Data("y_obs", rng.normal(size=n) + group / 10.0)
        a = nbvi.Normal("a", 0.0, 1.0, shape=groups)
        b = nbvi.Normal("b", 0.0, 1.0)
        sigma = nbvi.HalfNormal("sigma", 1.0)
        nbvi.Normal("y", a[g] + b * xd, sigma, observed=yd)
    tape = assert_tape_is_graph(model)
    from nbvi.compiled import interpreter

    assert interpreter.NORMAL_GRAM in tape.tape.code[:, 0]
    m = 450
    g.set_value(rng.integers(0, groups, m))
    xd.set_value(rng.normal(size=m))
    yd.set_value(rng.normal(size=m))
    assert_tape_is_graph(model)
    assert_matches_finite_differences(model)


def test_posterior_predictive_reads_new_positions():
    """Predictions for new group assignments of another length: mu = a[new] exactly, y around it."""
    model = hierarchical("vector")
    rng = np.random.default_rng(5)
    trace = {"a": rng.normal(size=(300, 3)), "s": np.abs(rng.normal(size=300)) + 0.5}
    new = np.array([2, 2, 0, 1, 0, 2, 1, 0])
    with model:
        nbvi.set_data({"g": new, "y_obs": np.zeros(len(new))})
        pred = nbvi.sample_posterior_predictive(trace, var_names=["y", "mu"], random_seed=1)
    assert pred["y"].shape == (300, len(new))
    np.testing.assert_allclose(pred["mu"], trace["a"][:, new] * trace["s"][:, None])
    assert np.all(np.abs(pred["y"] - pred["mu"]) < 6 * 0.7)  # sigma 0.7: 6 sd


def test_clone_replaces_the_index():
    a = nbvi.Data(np.array([10.0, 20.0, 30.0]))
    g = nbvi.Data("g", np.array([0, 2]))
    node = (a * 2.0)[g]
    np.testing.assert_array_equal(nbvi.clone(node, {g: np.array([1, 1, 0])}).eval(), [40.0, 40.0, 20.0])
    np.testing.assert_array_equal(node.eval(), [20.0, 60.0])
    np.testing.assert_array_equal(node.eval({g: np.array([2])}), [60.0])


def test_a_pickled_model_keeps_its_index():
    model = hierarchical("vector")
    copy = pickle.loads(pickle.dumps(model))
    theta = model.initial_point_flat()[None] + 0.1
    np.testing.assert_allclose(copy.logp_dlogp(theta)[0], model.logp_dlogp(theta)[0], rtol=RTOL)
    with pytest.raises(IndexError, match="Data 'g', the index of 'a'"):
        copy["g"].set_value(np.array([0, 7]))
    copy["g"].set_value(np.array([2]))
    model["g"].set_value(np.array([0, 1, 2]))  # (the copies are separate)
    np.testing.assert_array_equal(copy["g"].get_value(), [2])


# -- a Minibatch of positions ------------------------------------------------------------------------------


def minibatch_model(n=200, batch=20, groups=5):
    rng = np.random.default_rng(6)
    group = rng.integers(0, groups, n)
    y = rng.normal(size=n) + group
    gb, yb = nbvi.Minibatch(group, y, batch_size=batch, random_seed=3)
    with nbvi.Model() as model:
        a = nbvi.Normal("a", 0.0, 1.0, shape=groups)
        s = nbvi.HalfNormal("s", 1.0)
        nbvi.Normal("y", a[gb] * s, 0.7, observed=yb, total_size=n)
    return model, gb, yb, group, y


def test_minibatch_index_walks_the_graph_and_explain_says_why():
    model, gb, *_ = minibatch_model()
    refusal = CompiledDensity.build(model)
    assert not refusal and "Minibatch" in refusal.reason
    explanation = nbvi.explain(model)
    assert explanation.path == "graph" and "'a'[...] indexed by Minibatch" in explanation.reason
    with pytest.warns(NotCompiledWarning, match="indexed by Minibatch"):
        model.logp_dlogp(model.initial_point_flat()[None])


def test_minibatch_index_density_scales_with_total_size():
    """logp = priors + (N / B) * sum over the batch of the Normal terms at a[batch positions], by hand, for two
    batches; the gradient against central differences."""
    n, batch = 200, 20
    model, gb, yb, group, y = minibatch_model(n, batch)
    a, s = np.linspace(-1.0, 1.0, 5), 0.8
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotCompiledWarning)
        for _ in range(2):
            positions, values = gb.eval(), yb.eval()
            assert set(positions) <= set(range(5))
            expected = (stats.norm.logpdf(a).sum() + stats.halfnorm.logpdf(s)
                        + n / batch * stats.norm.logpdf(values, a[positions] * s, 0.7).sum())
            assert model.logp({"a": a, "s": s}) == pytest.approx(expected, rel=1e-12)
            theta = model.initial_point_flat() + 0.2
            _, grad = model.logp_dlogp(theta[None])
            numeric = numeric_grad(lambda t: float(model.logp_dlogp(t[None])[0][0]), theta)
            np.testing.assert_allclose(grad[0], numeric, rtol=1e-6, atol=1e-6)
            gb.resample()


def test_minibatch_positions_and_observations_stay_aligned():
    """Positions and observations drawn together: each batch row's observation is that of its position's row."""
    positions = np.arange(50)
    values = 10.0 * positions
    pb, vb = nbvi.Minibatch(positions, values, batch_size=8, random_seed=1)
    table = nbvi.Data(np.arange(50.0) * 10.0)
    for _ in range(3):
        np.testing.assert_array_equal(table[pb].eval(), vb.eval())
        pb.resample()


def test_minibatch_index_fits():
    model, *_ = minibatch_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotCompiledWarning)
        approx = nbvi.fit(n=200, model=model, random_seed=1, progressbar=False)
    assert np.all(np.isfinite(approx.hist))


def test_a_data_table_indexed_by_a_minibatch_runs_on_the_tape():
    """x[positions] of data (no free variable) is folded and recomputed before each call: on the tape."""
    _, gb, yb, _, _ = minibatch_model()
    with nbvi.Model() as model:
        a = nbvi.Normal("a", 0.0, 1.0)
        table = nbvi.math.exp(nbvi.Data("t", np.arange(5.0)) * 0.1)
        nbvi.Normal("y", a + table[gb], 1.0, observed=yb, total_size=200)
    assert nbvi.explain(model).path == "tape"
    for _ in range(2):
        assert_tape_is_graph(model)
        gb.resample()


# -- errors --------------------------------------------------------------------------------------------------


def test_positions_outside_the_axis_are_refused_when_the_node_is_built():
    with nbvi.Model():
        g = nbvi.Data("g", np.array([0, 3]))
        a = nbvi.Normal("a", 0.0, 1.0, shape=3)
        with pytest.raises(IndexError, match=r"Data 'g', the index of 'a' along axis 0: .*position 3, outside 0\.\.2"):
            a[g]


@pytest.mark.parametrize("value", [np.array([0.0, 1.0]), np.array([True, False])])
def test_an_index_node_must_hold_integers(value):
    with nbvi.Model():
        g = nbvi.Data("g", value)
        a = nbvi.Normal("a", 0.0, 1.0, shape=3)
        with pytest.raises(TypeError, match="index Data 'g' holds .*integer positions"):
            a[g]


@pytest.mark.parametrize("bad, error, match", [
    (np.array([0, 3]), IndexError, r"position 3, outside 0\.\.2"),
    (np.array([-1, 0]), IndexError, r"position -1, outside 0\.\.2 \(negative positions do not wrap around\)"),
    (np.array([0.0, 1.0]), TypeError, "float64 values, not integer positions"),
    (np.array([True, False]), TypeError, "booleans, not integer positions"),
])
def test_set_value_refuses_bad_positions_and_keeps_the_old_ones(bad, error, match):
    model = hierarchical("vector")
    with pytest.raises(error, match=r"Data 'g', the index of 'a' along axis 0: the new value .*" + match):
        model["g"].set_value(bad)
    np.testing.assert_array_equal(model["g"].get_value(), GROUPS)
    assert_tape_is_graph(model)


def test_minibatch_storage_refuses_bad_positions():
    _, gb, *_ = minibatch_model()
    with pytest.raises(IndexError, match=r"Minibatch 'Minibatch_0', the index of 'a' .*position 5, outside 0\.\.4"):
        gb.set_value(np.arange(200) % 6)


def test_computed_positions_are_checked_at_the_call():
    """An index computed from a Data (the argmax of one-hot rows) is checked where it is evaluated: at
    logp_dlogp, naming the indexed variable."""
    with nbvi.Model() as model:
        onehot = nbvi.Data("onehot", np.eye(4)[[0, 2]])
        a = nbvi.Normal("a", 0.0, 1.0, shape=3)
        nbvi.Normal("y", a[onehot.argmax(axis=1)], 1.0, observed=np.zeros(2))
    assert_tape_is_graph(model)
    onehot.set_value(np.eye(4)[[1, 3]])
    with pytest.raises(IndexError, match=r"the index of 'a' along axis 0: the value holds the position 3"):
        model.logp_dlogp(model.initial_point_flat()[None])
    with pytest.raises(IndexError, match="position 3"):
        model._graph_logp_dlogp(model.initial_point_flat()[None])


def test_indexed_data_of_changing_length_is_checked_at_the_call():
    """x[g] with x a Data whose rows may change: the length is known only at the call, which checks it."""
    x = nbvi.Data("x", np.arange(4.0))
    g = nbvi.Data("g", np.array([3, 0]))
    node = x[g]
    np.testing.assert_array_equal(node.eval(), [3.0, 0.0])
    x.set_value(np.arange(2.0))
    with pytest.raises(IndexError, match=r"Data 'g', the index of Data 'x' along axis 0: the value .*position 3, "
                                         r"outside 0\.\.1"):
        node.eval()
