"""SVGD on the tape: blocks of compiled steps (density, median bandwidth, Stein force and the optimizer's update
in one call) take exactly the steps of one compiled step at a time and of the generic loop over
``model.logp_dlogp``; losses include the terms without free variables."""
import signal

import numpy as np
import pytest

import nbvi


def mixture(model_class=nbvi.Model):
    """A 1-D two-component mixture (W3's kind: the 1-D bandwidth selection) plus a constant term."""
    with model_class() as model:
        nbvi.NormalMixture("x", w=np.array([0.3, 0.7]), mu=np.array([-1.0, 1.5]), sigma=np.array([0.4, 0.6]))
        nbvi.Normal("fixed", 0.0, 1.0, observed=np.array([0.5, -0.5]))
    return model


def regression(model_class=nbvi.Model):
    """Three free variables (the pair distances' selection of more than one dimension)."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=40)
    with model_class() as model:
        b = nbvi.Normal("b", 0.0, 10.0, shape=2)
        sigma = nbvi.HalfNormal("sigma", 2.0)
        nbvi.Normal("y", b[0] + b[1] * x + 0.1 * nbvi.math.tanh(b[0]), sigma,
                    observed=1.0 + 2.0 * x + rng.normal(size=40))
    return model


class Generic(nbvi.Model):
    """The same density through an overridden logp_dlogp: SVGD then takes its generic Python steps."""

    def logp_dlogp(self, theta):
        return super().logp_dlogp(theta)


def noop(approx, losses, i):
    """A callback: the fit then goes step by step (each step still one compiled call)."""


@pytest.mark.parametrize("make, particles", [(mixture, 300), (regression, 40), (regression, 150)])
@pytest.mark.parametrize("optimizer", [nbvi.sgd(learning_rate=0.01), nbvi.adagrad_window(learning_rate=0.05)])
def test_tape_blocks_steps_and_the_generic_loop_agree(make, particles, optimizer):
    assert nbvi.explain(make()).path == "tape"
    fits = []
    for model, callbacks in [(make(), None), (make(), [noop]), (make(Generic), None)]:
        inference = nbvi.SVGD(n_particles=particles, model=model, random_seed=3, temperature=1.5)
        inference.fit(60, obj_optimizer=optimizer, callbacks=callbacks, progressbar=False)
        fits.append((np.array(inference.hist), inference.approx.histogram.copy()))
    (blocks, x_blocks), (steps, x_steps), (generic, x_generic) = fits
    np.testing.assert_array_equal(x_blocks, x_steps)
    np.testing.assert_array_equal(blocks, steps)
    np.testing.assert_allclose(x_blocks, x_generic, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(blocks, generic, rtol=1e-12)


def test_the_compiled_step_is_used_and_the_loss_counts_constant_terms(monkeypatch):
    model = mixture()
    density = model.compiled_density()
    calls = []
    monkeypatch.setattr(density, "svgd_steps", lambda *args: calls.append(args) or len(args[-1]))
    nbvi.SVGD(n_particles=20, model=model, random_seed=1).fit(5, progressbar=False)
    assert calls  # blocks without callbacks
    inference = nbvi.SVGD(n_particles=20, model=mixture(), random_seed=1)
    inference.fit(1, callbacks=[noop], progressbar=False)
    logp, _ = model.logp_dlogp(nbvi.SVGD(n_particles=20, model=mixture(), random_seed=1).approx.histogram)
    assert inference.hist[0] == pytest.approx(-np.mean(logp), rel=1e-14)


def test_an_optimizer_without_a_kernel_goes_step_by_step():
    class Halving(nbvi.variational.optimizers.Optimizer):
        """A user's optimizer with its own step, x <- x - 0.005 grad (no compiled kernel)."""

        def step(self, params, grad, state):
            params -= 0.005 * grad

    model = mixture()
    inference = nbvi.SVGD(n_particles=50, model=model, random_seed=4)
    assert inference._fused_blocks(Halving(0.005), None, None) is None
    inference.fit(20, obj_optimizer=Halving(0.005), progressbar=False)
    reference = nbvi.SVGD(n_particles=50, model=mixture(), random_seed=4)
    reference.fit(20, obj_optimizer=nbvi.sgd(learning_rate=0.005), progressbar=False)
    np.testing.assert_allclose(inference.approx.histogram, reference.approx.histogram, rtol=1e-14)


def test_a_non_finite_loss_in_a_block_keeps_the_last_finite_particles():
    with nbvi.Model() as model:
        nbvi.StudentT("x", 1.0, 0.0, 1.0)
    inference = nbvi.SVGD(n_particles=30, model=model, random_seed=0)
    with pytest.raises(FloatingPointError, match="iteration"):
        inference.fit(50, obj_optimizer=nbvi.sgd(learning_rate=1e308), progressbar=False)
    assert np.all(np.isfinite(inference.approx.histogram))
    assert np.all(np.isfinite(inference.hist))


def test_ctrl_c_during_a_block_keeps_hist_and_particles_in_step(monkeypatch):
    model = mixture()
    density = model.compiled_density()
    run_block = density.svgd_steps

    def block_then_ctrl_c(*args):
        finite = run_block(*args)
        signal.raise_signal(signal.SIGINT)  # Ctrl-C arrives while the compiled block runs
        return finite

    monkeypatch.setattr(density, "svgd_steps", block_then_ctrl_c)
    inference = nbvi.SVGD(n_particles=40, model=model, random_seed=3)
    inference.fit(5000, progressbar=False)
    steps = len(inference.hist)
    assert 0 < steps < 5000
    again = nbvi.SVGD(n_particles=40, model=mixture(), random_seed=3)
    again.fit(steps, progressbar=False)
    np.testing.assert_array_equal(inference.approx.histogram, again.approx.histogram)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
