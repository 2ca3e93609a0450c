"""The fused ADVI steps take the same steps as the generic ones (model asked through logp_dlogp)."""
import numpy as np
import pytest
from density_checks import fused_density

import nbvi
from nbvi.variational import inference as inference_module
from nbvi.variational.optimizers import SGD


def w6_like_model(rows=300, cols=3, batch_size=20):
    rng = np.random.default_rng(5)
    data = rng.random((rows, cols)) * rng.integers(1, 10, cols) + rng.random(cols) * 10
    with nbvi.Model() as model:
        batch = nbvi.Minibatch(data, batch_size=batch_size)
        mu = nbvi.Flat("mu", shape=(cols,))
        sd = nbvi.HalfNormal("sd", shape=(cols,))
        nbvi.Normal("lik", mu, sd, observed=batch, total_size=data.shape)
    return model


def small_model():
    with nbvi.Model() as model:
        p = nbvi.Beta("p", 2.0, 3.0)
        rate = nbvi.Gamma("rate", 2.0, 1.0, shape=2)
        bounded = nbvi.Uniform("bounded", -1.0, 2.0)
        nbvi.Poisson("counts", rate, observed=np.array([[1, 4], [0, 3], [2, 5]]))
        nbvi.Bernoulli("flips", p, observed=np.array([0, 1, 1, 0, 1]))
        nbvi.Normal("y", bounded, 1.0, observed=np.array([0.5, 1.0]))
    return model


def fit_history(make_model, method, fused, **options):
    model = make_model()
    if not fused:
        model.fused_density = lambda: None  # the generic step: draws, model.logp_dlogp, loss and gradient
    else:
        assert fused_density(model) is not None
    inference = method(model=model, random_seed=11, **options)
    inference.fit(150, obj_optimizer=nbvi.adam(learning_rate=0.05), progressbar=False)
    return inference.hist, inference.approx.params


@pytest.mark.parametrize("make_model", [w6_like_model, small_model])
@pytest.mark.parametrize("method, options", [
    (nbvi.ADVI, {}), (nbvi.ADVI, {"stl": True, "obj_n_mc": 3}), (nbvi.FullRankADVI, {}),
])
def test_fused_and_generic_steps_agree(make_model, method, options):
    fused_hist, fused_params = fit_history(make_model, method, True, **options)
    graph_hist, graph_params = fit_history(make_model, method, False, **options)
    np.testing.assert_allclose(fused_hist, graph_hist, rtol=1e-9)
    np.testing.assert_allclose(fused_params, graph_params, rtol=1e-8, atol=1e-10)


def noop(approx, losses, i):
    """A callback: the fit then goes step by step (fused steps, no blocks)."""


@pytest.mark.parametrize("make_model", [w6_like_model, small_model])
@pytest.mark.parametrize("method", [nbvi.ADVI, nbvi.FullRankADVI])
def test_blocks_of_steps_take_the_steps_of_one_at_a_time(make_model, method):
    runs = []
    for callbacks in ([], [noop]):
        inference = method(model=make_model(), random_seed=3)
        inference.fit(90, callbacks=callbacks, progressbar=False)  # the default: AveragedAdam with minibatches
        inference.refine(50, progressbar=False)
        runs.append((inference.hist, inference.approx.params, inference.approx.mean.eval()))
    (hist, params, mean), (hist_1, params_1, mean_1) = runs
    np.testing.assert_array_equal(hist, hist_1)
    np.testing.assert_array_equal(params, params_1)


@pytest.mark.parametrize("method", [nbvi.ADVI, nbvi.FullRankADVI])
def test_a_failing_block_stops_where_one_step_at_a_time_stops(method):
    outcomes = []
    for callbacks in ([], [noop]):
        inference = method(model=small_model(), random_seed=3)
        with pytest.raises(FloatingPointError) as info, np.errstate(all="ignore"):
            inference.fit(200, obj_optimizer=nbvi.sgd(learning_rate=50.0), callbacks=callbacks, progressbar=False)
        outcomes.append((str(info.value), inference.hist, inference.approx.params.copy()))
    (message, hist, params), (message_1, hist_1, params_1) = outcomes
    assert message == message_1 and "iteration" in message
    np.testing.assert_array_equal(hist, hist_1)
    np.testing.assert_array_equal(params, params_1)
    assert np.all(np.isfinite(params))


def test_the_minibatch_holds_the_last_batch_after_a_fit_in_blocks():
    model = w6_like_model()
    x = model.minibatches()[0]
    seen = []
    nbvi.ADVI(model=model, random_seed=2).fit(70, callbacks=[lambda *args: seen.append(x.eval())], progressbar=False)
    model = w6_like_model()
    x = model.minibatches()[0]
    nbvi.ADVI(model=model, random_seed=2).fit(70, progressbar=False)
    np.testing.assert_array_equal(x.eval(), seen[-1])


# -- the fused path only where it takes the same steps (review findings) ---------------------------------------
class TemperedModel(nbvi.Model):
    """A model whose logp_dlogp is overridden: every method must ask it, not the fused density."""

    def logp_dlogp(self, theta):
        logp, grad = super().logp_dlogp(theta)
        return 0.01 * logp, 0.01 * grad


def test_an_overridden_logp_dlogp_is_what_advi_fits():
    with TemperedModel() as model:
        nbvi.Normal("x", 0.0, 1.0)
    assert fused_density(model) is None
    approx = nbvi.ADVI(model=model, random_seed=1).fit(3000, obj_optimizer=nbvi.adam(0.05), progressbar=False)
    assert 7.0 < approx.std.eval()[0] < 13.0  # the tempered density: sd 10
    plain = small_model()
    plain.logp_dlogp = lambda theta, original=plain.logp_dlogp: original(theta)  # on the instance
    assert fused_density(plain) is None


class FrozenSGD(SGD):
    """An optimizer whose own step never moves the parameters."""

    def step(self, params, grad, state):
        pass


class HalvedADVI(nbvi.ADVI):
    """An ADVI whose step reports half the loss (a subclass's own ``_step``)."""

    def _step(self, params, grad):
        return 0.5 * super()._step(params, grad)


def test_subclasses_with_their_own_step_are_not_run_in_blocks():
    start = nbvi.ADVI(model=small_model(), random_seed=0).approx.params.copy()
    approx = nbvi.ADVI(model=small_model(), random_seed=0).fit(20, obj_optimizer=FrozenSGD(0.1), progressbar=False)
    np.testing.assert_array_equal(approx.params, start)
    halved = HalvedADVI(model=small_model(), random_seed=0).fit(20, progressbar=False)
    plain = nbvi.ADVI(model=small_model(), random_seed=0).fit(20, progressbar=False)
    np.testing.assert_allclose(halved.hist, 0.5 * plain.hist, rtol=1e-12)


def test_after_a_failing_block_the_generator_stands_where_one_step_at_a_time_leaves_it():
    outcomes = []
    for callbacks in ([], [noop]):
        model = w6_like_model()
        x = model.minibatches()[0]
        inference = nbvi.ADVI(model=model, random_seed=3)
        with pytest.raises(FloatingPointError), np.errstate(all="ignore"):
            inference.fit(300, obj_optimizer=nbvi.sgd(learning_rate=1.0), callbacks=callbacks, progressbar=False)
        held = x.eval().copy()
        inference.approx.params[:] = 0.0  # start afresh and go on: the same noise and batches must follow
        inference.fit(40, obj_optimizer=nbvi.adam(learning_rate=1e-3), callbacks=callbacks, progressbar=False)
        outcomes.append((held, inference.hist.copy()))
    (held, hist), (held_1, hist_1) = outcomes
    np.testing.assert_array_equal(held, held_1)
    np.testing.assert_array_equal(hist, hist_1)


def test_the_progress_bar_averages_every_step_of_a_block():
    import io

    texts = []
    for callbacks in ([], [noop]):
        stream = io.StringIO()
        inference = nbvi.ADVI(model=w6_like_model(), random_seed=3)
        real = inference_module.ProgressBar

        def bar(*args, real=real, stream=stream, **kwargs):
            return real(*args, stream=stream, **kwargs)

        inference_module.ProgressBar = bar
        try:
            inference.fit(600, callbacks=callbacks)
        finally:
            inference_module.ProgressBar = real
        texts.append(stream.getvalue().strip().splitlines()[-1])
    assert "Average Loss" in texts[0] and texts[0] == texts[1]
