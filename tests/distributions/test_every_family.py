"""Every public family is compiled (the tape or the fused kernel, never the graph walk), as a free variable
and as data, with a parameter that depends on a free variable; and its pointwise log-density
(``logp_elementwise``, what LOO reads) adds up to the term the model evaluates."""
import numpy as np
import pytest
from density_checks import assert_matches_finite_differences, assert_tape_is_graph
from distributions.family_examples import EXAMPLES, build, public_families

import nbvi
from nbvi.graph.evaluate import Program


def test_every_public_family_has_an_example():
    assert set(public_families()) == set(EXAMPLES)


CASES = [(name, observed) for name in sorted(EXAMPLES) for observed in (True, False)
         if observed or not getattr(nbvi, name).observed_only]


@pytest.mark.parametrize("name, observed", CASES, ids=[f"{n}-{'observed' if o else 'free'}" for n, o in CASES])
def test_every_public_family_is_compiled(name, observed):
    # (a latent Uniform's bounds must be constants: its Interval transform is fixed when the model is built)
    model = build(name, observed=observed, free_parameter=observed or name != "Uniform")
    explanation = nbvi.explain(model)
    assert explanation.path in ("fused", "tape"), str(explanation)
    if explanation.path == "tape":  # (the fused kernel is checked against the graph in tests/fused)
        assert_tape_is_graph(model, spread=0.05)
        assert_matches_finite_differences(model)


def test_customdist_is_the_documented_exception():
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0)
        nbvi.CustomDist("y", mu, logp=lambda v, m: -0.5 * (v - m) ** 2, logp_grad=lambda v, m: (m - v, v - m),
                        observed=np.array([0.1, 0.3]))
    explanation = nbvi.explain(model)
    assert explanation.path == "graph" and "CustomDist" in str(explanation)


@pytest.mark.parametrize("name", sorted(EXAMPLES) + ["CustomDist"])
def test_logp_elementwise_adds_up_to_the_term(name):
    """At three draws of the free parameter, the elementwise log-density summed over elements (events)
    equals the term the graph walk evaluates, and has one entry per element (event)."""
    if name == "CustomDist":
        with nbvi.Model() as model:
            z = nbvi.Normal("z", 0.0, 0.1)
            nbvi.CustomDist("x", z, 1.3, logp=lambda v, m, s: -0.5 * ((v - m) / s) ** 2 - np.log(s),
                            logp_grad=lambda v, m, s: (-(v - m) / s**2, (v - m) / s**2, ((v - m) ** 2 / s**2 - 1) / s),
                            observed=np.array([0.1, 0.3, -1.0, 2.0]))
    else:
        model = build(name, observed=True)
    rv = model["x"]
    free = model.free_RVs
    draws = [np.random.default_rng(k).normal(0.0, 0.1, size=(3,) + v.shape) for k, v in enumerate(free)]
    params = list(rv.dist.param_nodes.values())
    program = Program(params + [rv.dist.logp(rv)], inputs=free)
    *param_values, term = program.run(draws)
    value = np.asarray(rv.value(), dtype=np.float64)  # (1, *shape): batched, as a leaf gives it
    pointwise = rv.dist.logp_elementwise(np.repeat(value, 3, axis=0), **dict(zip(rv.dist.params, param_values)))
    event_ndim = rv.dist.ndim_supp
    assert pointwise.shape == (3,) + rv.shape[:rv.ndim - event_ndim]
    np.testing.assert_allclose(pointwise.reshape(3, -1).sum(axis=1), np.broadcast_to(term, (3,)), rtol=1e-10)
