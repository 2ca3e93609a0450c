"""The fast ADVI is an exact rewrite of nbvi/reference/advi.py: same draws in, same numbers out.

Fast path, through the public object API: ``nbvi.ADVI`` / ``nbvi.FullRankADVI`` ``.fit(n, obj_optimizer=...)``,
both as it runs without callbacks (blocks of compiled steps, ``model.compiled_density().advi_steps``) and
with one (one ``_step`` and one ``optimizer.step`` at a time). The reference consumes the same noise: a
copy of the inference's generator (``inference.rng``) taken before the fit, from which the fit draws each
step's (obj_n_mc, ndim) standard normals in order. A second test calls the step functions of
:mod:`nbvi.variational.advi` (``meanfield_step``, ``fullrank_step``) directly at random parameters.

Tolerance: 1e-10 relative to each array's largest entry (an entry that cancels to near zero carries the
rounding of its larger parts); the two codes differ only in the order of floating-point operations.
"""
import copy

import numpy as np
import pytest
from reference_models import assert_same, base_models

import nbvi
from nbvi.reference import advi as ref
from nbvi.variational import advi

STEPS, DRAWS = 4, 3


MODELS = base_models()
FAMILIES = {"meanfield": nbvi.ADVI, "fullrank": nbvi.FullRankADVI}
OPTIMIZERS = {  # (fast, reference), the same settings
    "sgd": (lambda: nbvi.sgd(learning_rate=1e-4), lambda: ref.sgd(learning_rate=1e-4)),
    "adagrad_window": (lambda: nbvi.adagrad_window(learning_rate=0.1), lambda: ref.adagrad_window(learning_rate=0.1)),
}


def fit_both(model, family, optimizer, stepwise, stl=False):
    inference = FAMILIES[family](model=model, random_seed=7, obj_n_mc=DRAWS, stl=stl)
    rng = copy.deepcopy(inference.rng)  # the generator the fit draws its noise from, before it draws
    callbacks = [lambda approx, losses, i: None] if stepwise else None  # a callback: one step at a time
    inference.fit(STEPS, obj_optimizer=OPTIMIZERS[optimizer][0](), callbacks=callbacks, progressbar=False)
    noise = rng.standard_normal((STEPS, DRAWS, model.ndim))
    params, losses = ref.fit(model, noise, family, OPTIMIZERS[optimizer][1](), stl=stl)
    return inference, params, losses


@pytest.mark.parametrize("stepwise", [False, True], ids=["blocks", "stepwise"])
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("name", sorted(MODELS))
def test_fit_matches_reference(name, family, optimizer, stepwise):
    model = MODELS[name]
    inference, params, losses = fit_both(model, family, optimizer, stepwise)
    assert not np.allclose(params, ref.meanfield_init(model) if family == "meanfield" else ref.fullrank_init(model))
    assert_same(inference.approx.params, params)
    assert_same(inference.hist, losses)


@pytest.mark.parametrize("stepwise", [False, True], ids=["blocks", "stepwise"])
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_sticking_the_landing_matches_reference(family, stepwise):
    model = MODELS["hierarchical"]
    inference, params, losses = fit_both(model, family, "adagrad_window", stepwise, stl=True)
    assert_same(inference.approx.params, params)
    assert_same(inference.hist, losses)
    _, plain, _ = fit_both(model, family, "adagrad_window", stepwise, stl=False)
    assert not np.allclose(params, plain)  # the option changes the steps


@pytest.mark.parametrize("stl", [False, True])
@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("name", sorted(MODELS))
def test_step_functions_match_reference(name, family, stl):
    """meanfield_step / fullrank_step at random parameters (L with a random lower triangle)."""
    model = MODELS[name]
    rng = np.random.default_rng(11)
    ndim = model.ndim
    init = ref.meanfield_init(model) if family == "meanfield" else ref.fullrank_init(model)
    params = init + 0.3 * rng.normal(size=init.size)
    eps = rng.standard_normal((DRAWS, ndim))
    step = advi.meanfield_step if family == "meanfield" else advi.fullrank_step
    grad = np.empty_like(params)
    loss = step(model.logp_dlogp, params, eps, np.empty((DRAWS, ndim)), grad, stl)
    loss_ref, grad_ref = (ref.meanfield_loss_grad if family == "meanfield" else ref.fullrank_loss_grad)(
        model, params, eps, stl)
    assert_same(loss, loss_ref)
    assert_same(grad, grad_ref)
