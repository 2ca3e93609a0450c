"""Checks of a model's compiled density shared by the tests: which path it runs, and the tape against the
graph walk (the reference) and against central finite differences."""
import numpy as np
from gradcheck import numeric_grad

from nbvi.compiled.density import CompiledDensity
from nbvi.fused.density import FusedDensity

RTOL = 1e-10


def fused_density(model):
    """The model's compiled density when it is the fused kernel's (cached by the model as ``logp_dlogp``
    uses it), else None."""
    density = model.compiled_density()
    return density if isinstance(density, FusedDensity) else None


def tape_of(model):
    density = CompiledDensity.build(model)
    assert density, f"the tape refused the model: {density!r}"
    return density


def assert_tape_is_graph(model, theta=None, draws=3, seed=0, spread=0.3):
    """The tape's logp and gradient equal the graph walk's at a few points around the initial point."""
    density = tape_of(model)
    if theta is None:
        rng = np.random.default_rng(seed)
        theta = model.initial_point_flat() + spread * rng.standard_normal((draws, model.ndim))
    theta = np.ascontiguousarray(theta, dtype=np.float64)
    logp, grad = density.logp_dlogp(theta)
    logp_graph, grad_graph = model._graph_logp_dlogp(theta)
    assert np.all(np.isfinite(logp_graph)), "the test points should lie inside the support"
    np.testing.assert_allclose(logp, logp_graph, rtol=RTOL, atol=1e-12)
    # a gradient element near 0 is a difference of terms of the size of the largest one
    atol = RTOL * max(1.0, float(np.abs(grad_graph).max()))
    np.testing.assert_allclose(grad, grad_graph, rtol=RTOL, atol=atol)
    return density


def assert_matches_finite_differences(model, seed=1):
    density = tape_of(model)
    theta = model.initial_point_flat() + 0.2 * np.random.default_rng(seed).standard_normal(model.ndim)
    _, grad = density.logp_dlogp(theta[None])
    numeric = numeric_grad(lambda t: float(density.logp_dlogp(t[None])[0][0]), theta)
    np.testing.assert_allclose(grad[0], numeric, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(numeric).max())))
