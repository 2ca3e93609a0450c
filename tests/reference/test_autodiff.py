"""The fast log-densities are exact rewrites of nbvi/reference/autodiff.py: same theta in, same numbers out.

Fast paths: ``model.logp_dlogp`` (the compiled density: the fused kernel or the tape) and
``model._graph_logp_dlogp`` (:class:`nbvi.graph.evaluate.Program`, the planned graph walk), against the
reference ``value_and_grad`` (topological order, forward, backward with each op's VJP, then each
transform's log-Jacobian and chain rule), at 3 random unconstrained points per model. Deterministics:
the reference forward pass against ``model.unravel``. The reference itself is checked against central
differences once, so that agreement is not agreement on a shared mistake.

Tolerance: 1e-10 relative to each array's largest entry; the paths differ in the order of operations only.
"""
import numpy as np
import pytest
from gradcheck import assert_grad_close
from reference_models import assert_same, normal_normal, regression

import nbvi
from nbvi.reference import autodiff as ref

POINTS = 3


def hierarchical():
    """HalfNormal scale (log transform), indexing, and a Deterministic."""
    group = np.repeat(np.arange(4), 5)
    y = np.random.default_rng(2).normal(group - 1.5, 1.0)
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 5.0)
        tau = nbvi.HalfNormal("tau", 2.0)
        theta = nbvi.Normal("theta", mu, tau, shape=4)
        nbvi.Deterministic("shrinkage", (theta - mu) / tau)
        nbvi.Normal("y", theta[group], 1.0, observed=y)
    return model


def dirichlet():
    """Stick-breaking transform, a Deterministic read by a Potential."""
    with nbvi.Model() as model:
        p = nbvi.Dirichlet("p", np.full(3, 2.0))
        nbvi.Multinomial("counts", n=20, p=p, observed=np.array([5, 9, 6]))
        log_odds = nbvi.Deterministic("log_odds", nbvi.math.log(p[0]) - nbvi.math.log(p[1]))
        nbvi.Potential("pull", -0.5 * log_odds ** 2)
    return model


def expressions():
    """Nonlinear ops reused along several paths, a Potential, a Gamma (log transform), a Uniform (interval
    transform), and an observed variable whose data is an expression, read by a Potential and a
    Deterministic (the graph evaluates the expression in the variable's place)."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=25)
    with nbvi.Model() as model:
        a = nbvi.Normal("a", 0.0, 1.0, shape=2)
        rate = nbvi.Gamma("rate", 2.0, 1.0)
        frac = nbvi.Uniform("frac", 0.0, 1.0)
        eta = a[0] + a[1] * nbvi.math.tanh(x) * frac
        nbvi.Deterministic("eta", eta)
        nbvi.Normal("y", eta, 1.0 / rate, observed=np.sin(x))
        nbvi.Potential("smooth", -nbvi.math.exp(a).sum() * 0.1 + nbvi.math.log(rate))
        data = nbvi.Data(rng.normal(size=5))
        obs = nbvi.Normal("obs", a[0], 2.0, observed=data * 0.5)
        nbvi.Potential("near_obs", -((obs - a[1]) ** 2).sum())
        nbvi.Deterministic("obs_mean", obs.mean())
    return model


def observed_expression_as_parameter():
    """A free variable whose parameter reads an observed variable whose data is an expression."""
    with nbvi.Model() as model:
        a = nbvi.Normal("a", 0.0, 1.0)
        obs = nbvi.Normal("obs", a, 2.0, observed=nbvi.Data(np.ones(5)) * 0.5)
        nbvi.Normal("level", obs.sum(), 3.0)
    return model


MODELS = {"normal_normal": normal_normal(), "regression": regression(), "hierarchical": hierarchical(),
          "dirichlet": dirichlet(), "expressions": expressions()}


def points(model, seed=0):
    """POINTS unconstrained points around 0."""
    return 0.5 * np.random.default_rng(seed).normal(size=(POINTS, model.ndim))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_value_and_grad_matches_the_compiled_density(name):
    model = MODELS[name]
    theta = points(model)
    logp, grad = ref.value_and_grad(model, theta)
    fast_logp, fast_grad = model.logp_dlogp(theta)
    assert_same(fast_logp, logp)
    assert_same(fast_grad, grad)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_value_and_grad_matches_the_graph_walk(name):
    model = MODELS[name]
    theta = points(model, seed=1)
    logp, grad = ref.value_and_grad(model, theta)
    walk_logp, walk_grad = model._graph_logp_dlogp(theta)
    assert_same(walk_logp, logp)
    assert_same(walk_grad, grad)


@pytest.mark.parametrize("name", ["hierarchical", "dirichlet", "expressions"])
def test_forward_pass_matches_unravel(name):
    model = MODELS[name]
    theta = points(model, seed=2)
    values = ref.evaluate(model, theta, model.deterministics)
    unravelled = model.unravel(theta)
    for node, value in zip(model.deterministics, values):
        assert_same(unravelled[node.name], np.broadcast_to(value, (POINTS,) + node.shape))


def test_reference_gradient_matches_central_differences():
    model = MODELS["expressions"]
    theta = points(model, seed=3)[0]

    def logp(t):
        return ref.value_and_grad(model, t[None])[0][0]

    assert_grad_close(logp, ref.value_and_grad(model, theta[None])[1][0], theta)


def test_observed_expression_as_parameter_graph_walk():
    model = observed_expression_as_parameter()
    theta = points(model, seed=4)
    logp, grad = ref.value_and_grad(model, theta)
    walk_logp, walk_grad = model._graph_logp_dlogp(theta)
    assert_same(walk_logp, logp)
    assert_same(walk_grad, grad)


def test_observed_expression_as_parameter_compiled():
    model = observed_expression_as_parameter()
    theta = points(model, seed=4)
    logp, grad = ref.value_and_grad(model, theta)
    fast_logp, fast_grad = model.logp_dlogp(theta)
    assert_same(fast_logp, logp)
    assert_same(fast_grad, grad)
