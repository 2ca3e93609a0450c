"""The fast SVGD and ASVGD are exact rewrites of nbvi/reference/svgd.py: same input, same numbers out.

* The Stein force and the median bandwidth: :func:`nbvi.variational.stein.stein_force`,
  ``median_bandwidth`` and ``svgd_step`` against the reference on random particles, through the serial and
  the parallel kernel, the 1-D bandwidth's exact selection, a temperature, and h = 0 (coincident particles).
* The object API: ``nbvi.SVGD(...).fit(n, obj_optimizer=...)`` against the reference loop from the same
  initial particles (the fit draws nothing after the particles: SVGD is deterministic from there), and
  ``nbvi.ASVGD(...).fit(n, ...)`` against the reference fed the same noise: a copy of the inference's
  generator (``inference.rng``) taken before the fit, from which it draws each step's (obj_n_mc, ndim)
  standard normals in order.

Tolerance: 1e-10 relative to each array's largest entry; the codes differ only in the order of
floating-point operations (the fast force adds each symmetric pair once, in blocks of rows).
"""
import copy

import numpy as np
import pytest
from reference_models import assert_same, base_models

import nbvi
from nbvi.reference import advi as ref_advi
from nbvi.reference import svgd as ref
from nbvi.variational import stein

STEPS = 4


MODELS = base_models()
OPTIMIZERS = {  # (fast, reference), the same settings
    "sgd": (lambda: nbvi.sgd(learning_rate=1e-3), lambda: ref_advi.sgd(learning_rate=1e-3)),
    "adagrad_window": (lambda: nbvi.adagrad_window(learning_rate=0.05),
                       lambda: ref_advi.adagrad_window(learning_rate=0.05)),
}


@pytest.mark.parametrize("n, d", [(1, 2), (2, 1), (7, 1), (8, 1), (7, 3), (8, 3), (30, 5)])
def test_median_bandwidth_matches_reference(n, d):
    x = np.random.default_rng(n * 10 + d).normal(size=(n, d))
    assert_same(stein.median_bandwidth(x), ref.median_bandwidth(x))


@pytest.mark.parametrize("temperature", [1.0, 2.5])
@pytest.mark.parametrize("n, d", [(1, 3), (9, 2), (40, 4), (200, 3)])  # (200, 3): the parallel kernel
def test_stein_force_matches_reference(n, d, temperature):
    rng = np.random.default_rng(n + d)
    x, g = rng.normal(size=(n, d)), rng.normal(size=(n, d))
    h = ref.median_bandwidth(x)
    assert_same(stein.stein_force(x, g, h, temperature), ref.stein_force(x, g, h, temperature))
    direction, h_fast = stein.svgd_step(x, g, temperature)
    assert h_fast == pytest.approx(h, rel=1e-12)
    assert_same(direction, -ref.stein_force(x, g, h, temperature))


def test_stein_force_with_zero_bandwidth_matches_reference():
    """More than half the squared distances zero: h = 0, the limit h -> 0+ (no repulsion)."""
    rng = np.random.default_rng(3)
    x = np.vstack([np.zeros((6, 2)), rng.normal(size=(2, 2))])
    g = rng.normal(size=x.shape)
    assert ref.median_bandwidth(x) == 0.0 == stein.median_bandwidth(x)
    assert_same(stein.stein_force(x, g, 0.0), ref.stein_force(x, g, 0.0))


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("name", sorted(MODELS))
def test_svgd_fit_matches_reference(name, optimizer):
    model = MODELS[name]
    temperature = 1.5 if name == "regression" else 1.0
    inference = nbvi.SVGD(n_particles=15, model=model, random_seed=5, temperature=temperature)
    start = inference.approx.histogram.copy()
    inference.fit(STEPS, obj_optimizer=OPTIMIZERS[optimizer][0](), progressbar=False)
    particles, losses = ref.svgd(model, start, STEPS, OPTIMIZERS[optimizer][1](), temperature)
    assert not np.allclose(particles, start)
    assert_same(inference.approx.histogram, particles)
    assert_same(inference.hist, losses)


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("name", sorted(MODELS))
def test_asvgd_fit_matches_reference(name, optimizer):
    model = MODELS[name]
    draws = 12
    inference = nbvi.ASVGD(model=model, random_seed=5, obj_n_mc=draws)
    rng = copy.deepcopy(inference.rng)  # the generator the fit draws its noise from, before it draws
    inference.fit(STEPS, obj_optimizer=OPTIMIZERS[optimizer][0](), progressbar=False)
    noise = rng.standard_normal((STEPS, draws, model.ndim))
    params, losses = ref.asvgd(model, noise, OPTIMIZERS[optimizer][1]())
    assert not np.allclose(params, ref_advi.meanfield_init(model))
    assert_same(inference.approx.params, params)
    assert_same(inference.hist, losses)
