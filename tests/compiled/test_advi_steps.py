"""ADVI on the tape: blocks of compiled steps take exactly the steps of one at a time, and the steps of the
generic loop over ``model.logp_dlogp``; losses include the terms without free variables."""
import signal

import numpy as np
import pytest

import nbvi


def regression():
    rng = np.random.default_rng(2)
    x = rng.normal(size=40)
    with nbvi.Model() as model:
        b = nbvi.Normal("b", 0.0, 10.0, shape=2)
        sigma = nbvi.HalfNormal("sigma", 2.0)
        nbvi.Normal("y", b[0] + b[1] * x, sigma, observed=1.0 + 2.0 * x + rng.normal(size=40))
        nbvi.Normal("fixed", 0.0, 1.0, observed=np.array([0.5, -0.5]))  # a constant term of the loss
    return model


class Generic(nbvi.Model):
    """The same density through an overridden logp_dlogp: ADVI then takes its generic Python steps."""

    def logp_dlogp(self, theta):
        return super().logp_dlogp(theta)


def generic_regression():
    rng = np.random.default_rng(2)
    x = rng.normal(size=40)
    with Generic() as model:
        b = nbvi.Normal("b", 0.0, 10.0, shape=2)
        sigma = nbvi.HalfNormal("sigma", 2.0)
        nbvi.Normal("y", b[0] + b[1] * x, sigma, observed=1.0 + 2.0 * x + rng.normal(size=40))
        nbvi.Normal("fixed", 0.0, 1.0, observed=np.array([0.5, -0.5]))
    return model


def noop(approx, losses, i):
    """A callback: the fit then goes step by step."""


@pytest.mark.parametrize("optimizer", [nbvi.adam(learning_rate=0.05), nbvi.averaged_adam(0.05, steps=300)])
@pytest.mark.parametrize("method, options", [(nbvi.ADVI, {}), (nbvi.ADVI, {"stl": True, "obj_n_mc": 2}),
                                             (nbvi.FullRankADVI, {})])
def test_tape_blocks_steps_and_the_generic_loop_agree(method, options, optimizer):
    model = regression()
    assert nbvi.explain(model).path == "tape"
    fits = []
    for make, callbacks in [(regression, None), (regression, [noop]), (generic_regression, None)]:
        inference = method(model=make(), random_seed=3, **options)
        inference.fit(300, obj_optimizer=optimizer, callbacks=callbacks, progressbar=False)
        fits.append((np.array(inference.hist), inference.approx.params.copy()))
    (blocks, p_blocks), (steps, p_steps), (generic, p_generic) = fits
    np.testing.assert_array_equal(blocks, steps)
    np.testing.assert_array_equal(p_blocks, p_steps)
    np.testing.assert_allclose(blocks, generic, rtol=1e-12)
    np.testing.assert_allclose(p_blocks, p_generic, rtol=1e-12, atol=1e-14)


def test_a_tape_fit_reaches_the_posterior_mean():
    model = regression()
    approx = nbvi.fit(20_000, method="advi", model=model, random_seed=1, obj_optimizer=nbvi.adam(0.01),
                      progressbar=False)
    b = approx.sample(2000, random_seed=2)["b"].mean(axis=0)
    np.testing.assert_allclose(b, [1.0, 2.0], atol=0.3)


def test_a_minibatch_on_the_tape_fits_step_by_step():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(500, 2))
    y = x @ np.array([1.0, -1.0]) + 0.1 * rng.normal(size=500)
    with nbvi.Model() as model:
        xb, yb = nbvi.Minibatch(x, y, batch_size=50, random_seed=1)
        w = nbvi.Normal("w", 0.0, 1.0, shape=2)
        nbvi.Normal("y", nbvi.math.dot(xb, w), 0.1, observed=yb, total_size=500)
    density = model.compiled_density()
    assert nbvi.explain(model).path == "tape" and not density.runs_blocks
    approx = nbvi.fit(3000, method="advi", model=model, random_seed=2, obj_optimizer=nbvi.adam(0.02),
                      progressbar=False)
    np.testing.assert_allclose(approx.mean.eval(), [1.0, -1.0], atol=0.05)


def test_ctrl_c_during_a_block_keeps_hist_and_parameters_in_step(monkeypatch):
    model = regression()
    density = model.compiled_density()
    run_block = density.advi_steps

    def block_then_ctrl_c(*args):
        finite = run_block(*args)
        signal.raise_signal(signal.SIGINT)  # Ctrl-C arrives while the compiled block runs
        return finite

    monkeypatch.setattr(density, "advi_steps", block_then_ctrl_c)
    inference = nbvi.ADVI(model=model, random_seed=3)
    inference.fit(1000, progressbar=False)
    steps = len(inference.hist)
    assert 0 < steps < 1000
    again = nbvi.ADVI(model=regression(), random_seed=3)
    again.fit(steps, progressbar=False)
    np.testing.assert_array_equal(inference.approx.params, again.approx.params)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is restored
