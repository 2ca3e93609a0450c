"""nbvi.Potential: sum(expr) added to the joint log-density, on the graph walk and the tape (equal to
1e-10 and to finite differences), refused cleanly by the fused kernel; fit and sample run."""
import warnings

import numpy as np
import pytest
from gradcheck import numeric_grad

import nbvi
from nbvi.compiled.density import CompiledDensity
from nbvi.fused.density import FusedDensity

RTOL = 1e-10


def constrained_sum_model(width=0.1):
    """Three standard normals whose sum a potential keeps near 0 (a soft sum-to-zero constraint)."""
    with nbvi.Model() as model:
        x = nbvi.Normal("x", 0.0, 1.0, shape=3)
        nbvi.Potential("sum_to_zero", -0.5 * (x.sum() / width) ** 2)
    return model


def points(model, draws=4, seed=0):
    rng = np.random.default_rng(seed)
    return model.initial_point_flat() + 0.5 * rng.standard_normal((draws, model.ndim))


def test_the_potential_adds_the_sum_of_its_expression():
    model = constrained_sum_model()
    theta = points(model)
    logp, grad = model._graph_logp_dlogp(theta)
    s = theta.sum(axis=1)
    expected = -0.5 * (theta ** 2).sum(axis=1) - 1.5 * np.log(2 * np.pi) - 0.5 * (s / 0.1) ** 2
    np.testing.assert_allclose(logp, expected, rtol=1e-12)
    np.testing.assert_allclose(grad, -theta - (s / 0.01)[:, None], rtol=1e-12)
    assert model.potentials == [model["sum_to_zero"]]
    assert "sum_to_zero\\n~\\nPotential" in str(nbvi.model_to_graphviz(model))
    assert set(model.unravel(theta)) == {"x"}  # not a variable: traces do not record it
    assert model.logp({"x": theta[0]}) == pytest.approx(expected[0], rel=1e-12)


def assert_tape_equals_graph(model):
    density = CompiledDensity.build(model)
    assert density, density
    theta = points(model)
    logp, grad = density.logp_dlogp(theta)
    logp_graph, grad_graph = model._graph_logp_dlogp(theta)
    np.testing.assert_allclose(logp, logp_graph, rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(grad, grad_graph, rtol=RTOL, atol=RTOL * max(1.0, np.abs(grad_graph).max()))
    numeric = numeric_grad(lambda t: float(density.logp_dlogp(t[None])[0][0]), theta[0])
    np.testing.assert_allclose(grad[0], numeric, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(numeric).max()))


def test_on_the_tape_equal_to_the_graph_and_finite_differences():
    model = constrained_sum_model()
    assert nbvi.explain(model).path == "tape"
    assert not FusedDensity.build(model)  # the fused kernel refuses it, with a reason
    assert "not a sum of terms" in FusedDensity.build(model).reason
    assert_tape_equals_graph(model)


def test_potentials_of_arrays_of_transformed_variables_and_data_on_the_tape():
    y = np.array([0.3, -1.2, 0.8, 2.0])
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0, shape=2)
        sigma = nbvi.HalfNormal("sigma", 1.0)
        # a likelihood written by hand: elementwise, of shape (4, 2)
        z = (y[:, None] - mu) / sigma
        nbvi.Potential("loglik", -0.5 * z ** 2 - nbvi.math.log(sigma))
        nbvi.Potential("on_a_variable", -sigma)  # the expression is a variable itself: a new named node
        nbvi.Potential("constant", np.array([1.5, 2.0]))  # no free variable: a constant term
    assert model["on_a_variable"] is not sigma and model["on_a_variable"].name == "on_a_variable"
    assert nbvi.explain(model).path == "tape"
    assert_tape_equals_graph(model)


def test_fit_and_sample_run_without_a_warning():
    """A potential 2 x on a standard normal is N(2, 1) up to a constant (-x^2/2 + 2x = -(x-2)^2/2 + 2), so
    ADVI takes the same steps as on nbvi.Normal("x", 2, 1); NUTS keeps a constrained sum near 0."""
    def fit(tilt):
        with nbvi.Model() as model:
            x = nbvi.Normal("x", 0.0 if tilt else 2.0, 1.0, shape=3)
            if tilt:
                nbvi.Potential("tilt", 2.0 * x)
        approx = nbvi.fit(300, method="advi", model=model, random_seed=0, progressbar=False,
                          obj_optimizer=nbvi.adam(learning_rate=0.05))
        return approx.mean.eval(), approx.std.eval()

    with warnings.catch_warnings():
        warnings.simplefilter("error", nbvi.NotCompiledWarning)
        tilted = fit(True)
        trace = nbvi.sample(200, tune=200, chains=1, model=constrained_sum_model(width=0.05), random_seed=1,
                            progressbar=False)
    np.testing.assert_allclose(tilted, fit(False), atol=0.02)  # (the fused and tape paths draw alike, not bit for bit)
    assert np.all(np.abs(tilted[0] - 2.0) < 0.5)
    sums = trace["x"].reshape(-1, 3).sum(axis=-1)
    assert abs(sums.mean()) < 0.05 and sums.std() < 0.1
    assert trace["x"].std() > 0.5  # each coordinate still varies (only the sum is constrained)


def test_argument_errors():
    with nbvi.Model() as model:
        x = nbvi.Normal("x", 0.0, 1.0)
        with pytest.raises(ValueError, match="already has a variable named 'x'"):
            nbvi.Potential("x", x)
        with pytest.raises(TypeError, match="name"):
            nbvi.Potential(3, x)
        with pytest.raises(ValueError, match="NaN or inf"):
            nbvi.Potential("p", np.array([np.inf]))
        with pytest.raises(TypeError, match="Potential 'q'"):
            nbvi.Potential("q", "not numbers")
    with pytest.raises(TypeError, match="outside a model"):
        nbvi.Potential("p", 1.0)
    assert model.potentials == []


def test_a_potential_of_a_distribution_log_density_is_that_term_on_the_tape():
    """PyMC's idiom Potential("p", logp(dist, x)): on the tape the term itself, equal to the same prior."""
    def build(as_potential):
        with nbvi.Model() as model:
            x = nbvi.Normal("x", 0.0, 1.0, shape=2)
            sigma = nbvi.HalfNormal("sigma", 1.0)
            if as_potential:
                nbvi.Potential("prior", nbvi.Normal.dist(x.sum(), sigma).logp(np.array([0.4, 1.1])))
            else:
                nbvi.Normal("y", x.sum(), sigma, observed=np.array([0.4, 1.1]))
        return model

    model = build(True)
    assert nbvi.explain(model).path == "tape"
    assert_tape_equals_graph(model)
    theta = points(model)
    np.testing.assert_allclose(model.logp_dlogp(theta)[0], build(False).logp_dlogp(theta)[0], rtol=1e-12)
