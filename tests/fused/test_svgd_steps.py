"""SVGD on a fused density: blocks of compiled steps and one compiled step at a time take the steps of the
generic loop over ``model.logp_dlogp``; a model with minibatches goes step by step."""
import numpy as np
import pytest
from density_checks import fused_density

import nbvi
from nbvi.variational.inference import SVGD


def small_model():
    with nbvi.Model() as model:
        p = nbvi.Beta("p", 2.0, 3.0)
        rate = nbvi.Gamma("rate", 2.0, 1.0, shape=2)
        nbvi.Poisson("counts", rate, observed=np.array([[1, 4], [0, 3], [2, 5]]))
        nbvi.Bernoulli("flips", p, observed=np.array([0, 1, 1, 0, 1]))
    return model


def one_dimensional_model():
    with nbvi.Model() as model:
        rate = nbvi.Gamma("rate", 2.0, 1.0)
        nbvi.Poisson("counts", rate, observed=np.array([1, 4, 0, 3]))
    return model


def noop(approx, losses, i):
    """A callback: the fit then goes step by step."""


@pytest.mark.parametrize("make", [small_model, one_dimensional_model])
def test_fused_blocks_steps_and_the_generic_loop_agree(make):
    assert fused_density(make()) is not None and nbvi.explain(make()).path == "fused"
    fits = []
    for compiled, callbacks in [(True, None), (True, [noop]), (False, None)]:
        inference = nbvi.SVGD(n_particles=80, model=make(), random_seed=5)
        if not compiled:
            inference._fused = lambda: None  # the generic step: model.logp_dlogp, then the Stein force
        inference.fit(80, obj_optimizer=nbvi.adam(learning_rate=0.05), callbacks=callbacks, progressbar=False)
        fits.append((np.array(inference.hist), inference.approx.histogram.copy()))
    (blocks, x_blocks), (steps, x_steps), (generic, x_generic) = fits
    np.testing.assert_array_equal(x_blocks, x_steps)
    np.testing.assert_array_equal(blocks, steps)
    np.testing.assert_allclose(x_blocks, x_generic, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(blocks, generic, rtol=1e-12)


def test_minibatches_go_step_by_step_with_the_compiled_step():
    rng = np.random.default_rng(5)
    data = rng.normal(3.0, 2.0, size=(300, 2))
    with nbvi.Model() as model:
        batch = nbvi.Minibatch(data, batch_size=30, random_seed=2)
        mu = nbvi.Normal("mu", 0.0, 10.0, shape=2)
        nbvi.Normal("lik", mu, 2.0, observed=batch, total_size=data.shape)
    density = fused_density(model)
    assert density is not None and not density.runs_svgd_blocks
    inference = SVGD(n_particles=50, model=model, random_seed=1)
    assert inference._fused_blocks(nbvi.adam(0.1), None, None) is None
    inference.fit(400, obj_optimizer=nbvi.adam(learning_rate=0.1), progressbar=False)
    np.testing.assert_allclose(inference.approx.histogram.mean(axis=0), [3.0, 3.0], atol=0.3)
