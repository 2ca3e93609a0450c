"""Minibatch: batch shapes, alignment, unbiased scaled densities, fits with batches drawn per step, errors."""
import re
import warnings
from functools import partial

import numpy as np
import pytest
from density_checks import fused_density
from gradcheck import assert_grad_close
from scipy import stats

import nbvi
from nbvi.data import BatchSchedule, Data, Minibatch


def w6_data(rows, cols, seed=42):
    """The W6 recipe on a smaller array: columns with different scales and offsets."""
    rng = np.random.default_rng(seed)
    return rng.random((rows, cols)) * rng.integers(1, 10, cols) + rng.random(cols) * 10


def normal_model(observed, total_size=None, cols=3):
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 10.0, shape=(cols,))
        sd = nbvi.HalfNormal("sd", 5.0, shape=(cols,))
        nbvi.Normal("lik", mu, sd, observed=observed, total_size=total_size)
    return model


# -- batch_size forms --------------------------------------------------------------------------------------
MOREDATA = np.random.default_rng(0).random((10, 20, 30, 4, 50))


@pytest.mark.parametrize("batch_size, shape", [
    (3, (3, 20, 30, 4, 50)),
    ((3, 7), (3, 7, 30, 4, 50)),  # a top-level tuple is per axis, as in PyMC3
    ([(3, 1), (7, 2)], (3, 7, 30, 4, 50)),
    ([2, Ellipsis, 10], (2, 20, 30, 4, 10)),  # the docstring's examples
    ([2, None, 20], (2, 20, 20, 4, 50)),
    ([2, None, 20, Ellipsis, 10], (2, 20, 20, 4, 10)),
    ([Ellipsis, 2], (10, 20, 30, 4, 2)),
    ([None, None, 5], (10, 20, 5, 4, 50)),
    (None, (10, 20, 30, 4, 50)),
    (Ellipsis, (10, 20, 30, 4, 50)),
])
def test_every_batch_size_form_gives_its_shape_and_entries_of_the_data(batch_size, shape):
    x = Minibatch(MOREDATA, batch_size=batch_size)
    assert x.shape == shape and x.eval().shape == shape
    # every batch is the data at the drawn positions of the batched axes
    index = [np.arange(n) for n in MOREDATA.shape]
    for axis, source in x._axes:
        index[axis] = source.index
    np.testing.assert_array_equal(x.eval(), MOREDATA[np.ix_(*index)])


def test_positional_batch_size_as_in_the_pymc3_docstring():
    assert Minibatch(MOREDATA, [2, Ellipsis, 10]).eval().shape == (2, 20, 30, 4, 10)
    assert Minibatch(MOREDATA, 4).shape == (4, 20, 30, 4, 50)
    assert Minibatch(np.ones((200, 2))).shape == (128, 2)  # PyMC3's default batch_size


def test_several_batched_axes_of_one_minibatch_are_drawn_independently():
    x = Minibatch(np.random.default_rng(1).random((100, 100)), batch_size=[(10, 42), (10, 42)])
    assert not np.array_equal(x._axes[0][1].index, x._axes[1][1].index)


def test_integer_data_stays_integer_and_dtype_casts():
    x = Minibatch(np.arange(20).reshape(10, 2), batch_size=3)
    assert x.dtype.kind == "i" and x.eval().dtype.kind == "i"
    y = Minibatch(np.random.rand(10, 2), batch_size=3, dtype="int32")
    assert y.dtype == np.int32 and y.eval().dtype == np.int32


# -- batches outside a fit ---------------------------------------------------------------------------------
def test_initial_batch_follows_random_seed_and_eval_does_not_resample():
    data = np.arange(100.0)
    a, b, c = (Minibatch(data, 10), Minibatch(data, 10), Minibatch(data, 10, random_seed=7))
    np.testing.assert_array_equal(a.eval(), b.eval())  # both seeded by the default 42
    assert not np.array_equal(a.eval(), c.eval())
    first = a.eval()
    np.testing.assert_array_equal(a.eval(), first)  # eval returns the current batch
    a.resample()
    assert not np.array_equal(a.eval(), first)
    assert np.all(np.isin(a.eval(), data))


def test_several_arrays_get_the_same_rows():
    X = np.arange(200.0).reshape(100, 2)
    y = np.arange(100.0) * 10
    xb, yb = Minibatch(X, y, batch_size=20)
    assert xb.shape == (20, 2) and yb.shape == (20,) and xb.name != yb.name

    def aligned():
        np.testing.assert_array_equal(xb.eval()[:, 0] * 5, yb.eval())

    aligned()
    for rng in (None, np.random.default_rng(3)):
        xb.resample(rng)
        aligned()
    yb.resample()
    aligned()
    BatchSchedule([xb, yb]).draw(np.random.default_rng(4))
    aligned()


# -- unbiased scaled log-density -----------------------------------------------------------------------------
def test_minibatch_logp_and_gradient_are_unbiased_estimates_of_the_full_data_ones():
    data = w6_data(60, 3)
    x = Minibatch(data, batch_size=12)
    batched = normal_model(x, total_size=data.shape)
    full = normal_model(data)
    theta = np.random.default_rng(5).normal(size=(1, batched.ndim)) * 0.5 + np.r_[data.mean(0), np.zeros(3)]
    want_logp, want_grad = full.logp_dlogp(theta)

    # the gradient at one batch is the gradient of that batch's scaled density
    def f(t):
        return float(batched.logp_dlogp(t[None])[0][0])

    assert_grad_close(f, batched.logp_dlogp(theta)[1][0], theta[0], rtol=1e-5, atol=1e-5)

    schedule, rng = BatchSchedule(batched.minibatches()), np.random.default_rng(6)
    draws = 2000
    logps, grads = np.empty(draws), np.empty((draws, batched.ndim))
    for k in range(draws):
        schedule.draw(rng)
        lp, g = batched.logp_dlogp(theta)
        logps[k], grads[k] = lp[0], g[0]
    # each estimate is a mean of i.i.d. batch draws: the error of the mean is within 4 standard errors
    # (a false failure has probability ~6e-5 per component, 7 components)
    se = np.std(logps, ddof=1) / np.sqrt(draws)
    assert abs(logps.mean() - want_logp[0]) < 4 * se
    se = np.std(grads, axis=0, ddof=1) / np.sqrt(draws)
    assert np.all(np.abs(grads.mean(0) - want_grad[0]) < 4 * se)
    assert np.all(se > 0)  # the batches did change


# -- fits ----------------------------------------------------------------------------------------------------
def test_one_batch_per_step_drawn_before_the_step_from_the_inference_generator():
    data = w6_data(200, 3)
    x = Minibatch(data, batch_size=10)
    model = normal_model(x, total_size=data.shape)
    inside, after = [], []
    original = model.logp_dlogp

    def recording(theta):
        inside.append(x.eval())
        return original(theta)

    model.logp_dlogp = recording
    model.fused_density = lambda: None  # the graph path, which asks logp_dlogp (the fused step is compared below)
    inference = nbvi.ADVI(model=model, random_seed=3)
    inference.fit(5, progressbar=False, callbacks=[lambda approx, losses, i: after.append(x.eval())])
    assert len(inside) == len(after) == 5
    for seen, kept in zip(inside, after):
        np.testing.assert_array_equal(seen, kept)  # every term of the step saw the batch that stays
    assert len({a.tobytes() for a in after}) == 5  # a new batch at every step


def test_a_minibatch_term_reads_its_rows_in_place_without_copying_the_batch(monkeypatch):
    data = w6_data(400, 3)
    x = Minibatch(data, batch_size=25)
    model = normal_model(x, total_size=data.shape)
    gathers = []
    original_gather = Minibatch._gather
    monkeypatch.setattr(Minibatch, "_gather", lambda self: gathers.append(1) or original_gather(self))
    theta = np.random.default_rng(2).normal(size=(3, model.ndim))
    schedule, rng = BatchSchedule(model.minibatches()), np.random.default_rng(1)
    for _ in range(3):
        schedule.draw(rng)
        logp, grad = model.logp_dlogp(theta)
        assert gathers == []  # the rows kernel read data[index] itself
        rows = x.rows_in_place()[1]
        copied = normal_model(Data(data[rows]))  # the same rows, copied out, scaled by hand below
        prior = normal_model(Data(data[:0]))
        want_logp = prior.logp_dlogp(theta)[0] + 16.0 * (copied.logp_dlogp(theta)[0] - prior.logp_dlogp(theta)[0])
        want_grad = prior.logp_dlogp(theta)[1] + 16.0 * (copied.logp_dlogp(theta)[1] - prior.logp_dlogp(theta)[1])
        np.testing.assert_allclose(logp, want_logp, rtol=1e-10)
        np.testing.assert_allclose(grad, want_grad, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(x.eval(), data[rows])  # reading the value still gathers the batch
    assert gathers == [1]


def test_a_term_whose_parameters_vary_by_row_reads_the_gathered_batch():
    data = w6_data(100, 1)[:, 0]
    x, y = Minibatch(np.arange(100.0), data, batch_size=10)
    with nbvi.Model() as model:
        slope = nbvi.Normal("slope", 0.0, 1.0)
        nbvi.Normal("y", slope * x, 1.0, observed=y, total_size=100)
    term = model._joint()[0]
    assert term.leaves_in_place == []  # mu has one entry per row: no rows kernel
    theta = np.array([[0.3]])
    want = -0.5 * np.sum((y.eval() - 0.3 * x.eval()) ** 2) - 10 * 0.5 * np.log(2 * np.pi)
    prior = -0.5 * 0.3**2 - 0.5 * np.log(2 * np.pi)
    np.testing.assert_allclose(model.logp_dlogp(theta)[0], prior + 10.0 * want)


def test_fewer_rows_set_from_a_callback_take_effect_at_the_next_step():
    data = w6_data(300, 3)
    x = Minibatch(data, batch_size=10)
    model = normal_model(x, total_size=data.shape)
    positions = []

    def callback(approx, losses, i):
        positions.append(x.rows_in_place()[1].copy())
        if i == 2:
            x.set_value(data[:20])  # positions drawn ahead for 300 rows must not be used any more

    nbvi.ADVI(model=model, random_seed=4).fit(6, progressbar=False, callbacks=[callback])
    assert max(p.max() for p in positions[:2]) >= 20  # (300 rows: almost surely some position >= 20)
    assert all(p.max() < 20 for p in positions[2:])


def test_fit_then_refine_draws_the_batches_one_longer_fit_draws():
    data = w6_data(500, 2)

    def inference():
        model = normal_model(Minibatch(data, batch_size=20), total_size=data.shape, cols=2)
        return nbvi.ADVI(model=model, random_seed=9)

    # (an explicit optimizer: the default of a minibatch model, averaged_adam(steps=n), depends on n)
    whole = inference()
    whole.fit(12, obj_optimizer=nbvi.adagrad_window(), progressbar=False)
    refined = inference()
    refined.fit(7, obj_optimizer=nbvi.adagrad_window(), progressbar=False)
    refined.refine(5, progressbar=False)
    np.testing.assert_array_equal(refined.hist, whole.hist)
    # a second fit() starts a fresh optimizer; with a stateless one it continues the same batches too
    whole, twice = inference(), inference()
    whole.fit(12, obj_optimizer=nbvi.sgd(1e-4), progressbar=False)
    twice.fit(7, obj_optimizer=nbvi.sgd(1e-4), progressbar=False)
    twice.fit(5, obj_optimizer=nbvi.sgd(1e-4), progressbar=False)
    np.testing.assert_array_equal(twice.hist, whole.hist)


def test_minibatches_sharing_positions_resized_apart_mid_fit_is_an_error():
    a = Minibatch(w6_data(400, 2), batch_size=10)
    b = Minibatch(w6_data(400, 2, seed=1), batch_size=10)  # same seed and size: the same positions as a
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 10.0, shape=2)
        nbvi.Normal("ya", mu, 1.0, observed=a, total_size=400)
        nbvi.Normal("yb", mu, 1.0, observed=b, total_size=400)

    def shrink_b(approx, losses, i):
        if i == 2:
            b.set_value(b.get_value()[:30])  # positions up to 399 would read past b's 30 rows

    with pytest.raises(ValueError, match="different lengths"):
        nbvi.ADVI(model=model, random_seed=2).fit(5, progressbar=False, callbacks=[shrink_b])


def test_aligned_partner_outside_the_density_follows_the_new_positions():
    X, y = Minibatch(np.arange(100.0)[:, None], np.arange(100.0), batch_size=10)
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 10.0)
        nbvi.Normal("y", mu, 1.0, observed=y, total_size=100)  # X is not in the density
    seen = []
    nbvi.ADVI(model=model, random_seed=3).fit(
        3, progressbar=False, callbacks=[lambda *args: seen.append((X.eval()[:, 0], y.eval()))])
    for x_batch, y_batch in seen:
        np.testing.assert_array_equal(x_batch, y_batch)


def test_parameter_of_higher_rank_than_the_minibatch_is_not_read_in_place():
    from nbvi.graph.evaluate import eval_node

    data = np.random.default_rng(1).normal(size=500)
    x = Minibatch(data, batch_size=50)
    mu = np.linspace(-3.0, 3.0, 50)[None, :]  # (1, 50): broadcasts the (50,) batch to (1, 50)
    got = eval_node(nbvi.Normal.dist(mu=mu, sigma=1.0).logp(x))
    batch = data[x.rows_in_place()[1]]
    np.testing.assert_allclose(got, stats.norm.logpdf(batch, mu, 1.0).sum(), rtol=1e-12)


def fit_record(seed, method="advi", n=30):
    data = w6_data(300, 3)
    x = Minibatch(data, batch_size=20)
    model = normal_model(x, total_size=data.shape)
    batches = []
    approx = nbvi.fit(n, method=method, model=model, random_seed=seed, progressbar=False,
                      callbacks=[lambda approx, losses, i: batches.append(x.eval())])
    return approx, np.array(batches)


def test_seeded_fits_are_reproducible_and_other_seeds_draw_other_batches():
    a, batches_a = fit_record(11)
    b, batches_b = fit_record(11)
    c, batches_c = fit_record(12)
    np.testing.assert_array_equal(a.params, b.params)
    np.testing.assert_array_equal(a.hist, b.hist)
    np.testing.assert_array_equal(batches_a, batches_b)
    assert not np.array_equal(batches_a, batches_c)
    assert not np.array_equal(a.params, c.params)


@pytest.mark.parametrize("method", ["fullrank_advi", "svgd", "asvgd"])
def test_other_methods_fit_a_minibatch_model(method):
    approx, batches = fit_record(2, method=method, n=20)
    assert np.all(np.isfinite(approx.hist)) and len(approx.hist) == 20
    assert len({b.tobytes() for b in batches}) == 20


def test_advi_on_a_w6_like_model_recovers_the_column_means():
    data = w6_data(2000, 5)
    x = Minibatch(data, batch_size=100)
    with nbvi.Model() as model:
        mu = nbvi.Flat("mu", shape=(5,))
        sd = nbvi.HalfNormal("sd", shape=(5,))
        nbvi.Normal("lik", mu, sd, observed=x, total_size=data.shape)
    inference = nbvi.ADVI(model=model, random_seed=1)
    approx = inference.fit(3000, obj_optimizer=nbvi.adam(learning_rate=0.1), progressbar=False)
    got = approx.sample(200, random_seed=2)["mu"].mean(0)
    means = data.mean(0)
    # the posterior sd of mu is column sd / sqrt(2000) ~ 0.1; 5% of the means (>= 0.25) allows the
    # batch noise that moves q's mean, and a fit that ignored total_size would still pass on means alone,
    # so the posterior width is checked too: without the scaling it would be sqrt(20) times wider
    assert np.all(np.abs(got - means) < 0.05 * np.abs(means))
    sd_mu = approx.sample(400, random_seed=3)["mu"].std(0)
    assert np.all(sd_mu < 3 * data.std(0) / np.sqrt(2000))


def test_aligned_regression_batches_during_a_fit():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(500, 2))
    y = X @ np.array([1.5, -2.0]) + 0.1 * rng.normal(size=500)
    xb, yb = Minibatch(X, y, batch_size=50)
    with nbvi.Model() as model:
        w = nbvi.Normal("w", 0.0, 10.0, shape=(2,))
        nbvi.Normal("y", xb @ w, 0.1, observed=yb, total_size=500)
    assert len(model.minibatches()) == 2
    approx = nbvi.ADVI(model=model, random_seed=0).fit(1500, obj_optimizer=nbvi.adam(learning_rate=0.05),
                                                        progressbar=False)
    # misaligned rows would leave w near 0; aligned ones give the true weights within a few batch-noise sds
    np.testing.assert_allclose(approx.mean.eval(), [1.5, -2.0], atol=0.1)


def test_separate_minibatches_with_the_same_seed_share_rows_in_a_fit_as_in_pymc3():
    X = np.arange(100.0)
    a, b, c = Minibatch(X, 10), Minibatch(X * 2, 10), Minibatch(X, 10, random_seed=5)
    BatchSchedule([a, b, c]).draw(np.random.default_rng(0))
    np.testing.assert_array_equal(a.eval() * 2, b.eval())
    assert not np.array_equal(a.eval(), c.eval())


# -- the rest of PyMC3's docstring ---------------------------------------------------------------------------
def test_shared_set_value_update_shared_and_clone():
    x = Minibatch(np.random.rand(100, 100), batch_size=10)
    new = np.random.default_rng(0).laplace(size=(100, 100))
    x.set_value(new)
    assert np.all(np.isin(x.eval(), new))
    newer = new + 100.0
    x.shared.set_value(newer)
    assert np.all(np.isin(x.eval(), newer))
    np.testing.assert_array_equal(x.get_value(), newer)
    x.set_value(np.ones((30, 100)))  # fewer rows is fine, down to the batch size
    np.testing.assert_array_equal(x.eval(), np.ones((10, 100)))

    datagen = partial(np.random.laplace, size=(100, 100))
    y = Minibatch(datagen(), batch_size=10, update_shared_f=datagen)
    before = y.get_value()
    y.update_shared()
    assert not np.array_equal(before, y.get_value()) and np.all(np.isin(y.eval(), y.get_value()))

    node = x ** 2
    testdata = np.random.default_rng(1).laplace(size=(1000, 10))
    rnode = nbvi.clone(node, {x: testdata})
    np.testing.assert_array_equal(rnode.eval(), testdata ** 2)
    full = nbvi.clone(node, {x.minibatch: x.shared})
    np.testing.assert_array_equal(full.eval(), x.get_value() ** 2)
    assert node.eval().shape == (10, 100)  # the original is untouched


def test_sample_node_uses_the_current_batch():
    data = w6_data(100, 3)
    x = Minibatch(data, batch_size=10)
    model = normal_model(x, total_size=data.shape)
    approx = nbvi.ADVI(model=model, random_seed=0).fit(3, progressbar=False)
    mu = model["mu"]
    resid = approx.sample_node(x - mu, size=4)
    assert resid.eval().shape == (4, 10, 3)
    full = approx.sample_node(nbvi.clone(x - mu, {x.minibatch: x.shared}), size=4)
    assert full.eval().shape == (4, 100, 3)
    # with sd of q tiny, x - mu follows the batch the minibatch holds now
    approx.params[3:] = -30.0  # rho: sigma = softplus(-30) ~ 1e-13
    np.testing.assert_allclose(resid.eval()[0], x.eval() - approx.mean.eval()[:3], atol=1e-9)


# -- total_size and warnings ---------------------------------------------------------------------------------
def test_total_size_equal_to_data_shape_scales_by_rows():
    data = w6_data(50, 3)
    x = Minibatch(data, batch_size=10)
    model = normal_model(x, total_size=data.shape)
    unscaled = normal_model(Data(x.eval()))
    prior = normal_model(Data(x.eval()[:0]))
    theta = np.zeros((1, model.ndim))
    want = prior.logp_dlogp(theta)[0] + 5.0 * (unscaled.logp_dlogp(theta)[0] - prior.logp_dlogp(theta)[0])
    np.testing.assert_allclose(model.logp_dlogp(theta)[0], want)


def test_observed_minibatch_without_total_size_warns_once():
    data = w6_data(50, 3)
    x = Minibatch(data, batch_size=10)
    with pytest.warns(UserWarning, match="'lik'.*total_size") as record:
        model = normal_model(x)
    assert len([w for w in record if "total_size" in str(w.message)]) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nbvi.ADVI(model=model, random_seed=0).fit(3, progressbar=False)  # no more warnings
        normal_model(Minibatch(data, batch_size=10), total_size=data.shape)
        normal_model(Minibatch(data, batch_size=None))  # the whole data needs no scaling


# -- bad input ---------------------------------------------------------------------------------------------
def test_batch_size_larger_than_the_data():
    with pytest.raises(ValueError, match=r"'X'.*batch size 11.*10 entries"):
        Minibatch(np.ones((10, 2)), batch_size=11, name="X")
    with pytest.raises(ValueError, match=r"'X'.*batch size 5 along axis 1.*2 entries"):
        Minibatch(np.ones((10, 2)), batch_size=[3, 5], name="X")
    with pytest.raises(ValueError, match=r"'X'.*3 entries.*2 axes"):
        Minibatch(np.ones((10, 2)), batch_size=[3, 1, 1], name="X")
    with pytest.raises(TypeError, match="batch_size"):
        Minibatch(np.ones((10, 2)), batch_size=2.5)


def test_total_size_that_does_not_fit_the_data():
    x = Minibatch(np.ones((10, 2)), batch_size=5)
    with pytest.raises(ValueError, match=re.escape("total_size (10, 2, 4) of 'lik'") + r".*3 entries.*2 axes"):
        normal_model(x, total_size=(10, 2, 4), cols=2)


def test_empty_data():
    with pytest.raises(ValueError, match=r"'E'.*empty.*\(0, 3\)"):
        Minibatch(np.ones((0, 3)), batch_size=1, name="E")


def test_set_value_with_other_columns_or_too_few_rows():
    d = Data(np.ones((5, 3)), name="X_data")
    with pytest.raises(ValueError, match=r"X_data.*4 entries along axis 1.*built for 3"):
        d.set_value(np.ones((5, 4)))
    np.testing.assert_array_equal(d.get_value(), np.ones((5, 3)))
    x = Minibatch(np.ones((20, 3)), batch_size=5, name="X")
    with pytest.raises(ValueError, match=r"X.*4 entries along axis 1.*built for 3"):
        x.set_value(np.ones((20, 4)))
    with pytest.raises(ValueError, match=r"X.*4 entries along axis 0.*batch size 5"):
        x.shared.set_value(np.ones((4, 3)))


def test_aligned_arrays_need_the_same_rows():
    with pytest.raises(ValueError, match=r"'b' has 9 rows but 'a' has 10"):
        Minibatch(np.ones((10, 2)), np.ones(9), batch_size=3, name=["a", "b"])


# -- statistics of upcoming batches (the fused density's minibatch terms) --------------------------------------
def assert_fused_equals_graph(model, theta):
    """The fused density (statistics of this step's batch) equals the graph walk (its rows read in place)."""
    logp, grad = model.logp_dlogp(theta)
    want_logp, want_grad = model._graph_logp_dlogp(theta)
    np.testing.assert_allclose(logp, want_logp, rtol=1e-10)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-9, atol=1e-9)


def test_block_statistics_are_computed_once_per_block_of_batches():
    from nbvi.distributions.normal import normal_column_statistics

    data = w6_data(1000, 3)
    x = Minibatch(data, batch_size=30)
    calls = []

    def counting(rows_data, rows):
        calls.append(rows.shape)
        return normal_column_statistics(rows_data, rows)

    schedule, rng = BatchSchedule([x]), np.random.default_rng(3)
    assert schedule.steps_per_draw == BatchSchedule.MAX_STEPS_PER_DRAW  # 30 rows a batch: the longest blocks
    for _ in range(schedule.steps_per_draw + 2):
        schedule.draw(rng)
        stats = x.block_statistics(counting)
        batch = data[x.rows_in_place()[1]]
        np.testing.assert_allclose(stats[0], batch.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(stats[1], ((batch - batch.mean(axis=0)) ** 2).sum(axis=0), rtol=1e-9)
    assert calls == [(schedule.steps_per_draw, 30)] * 2  # one call per block of batches
    x.resample()  # outside a schedule: this batch alone
    np.testing.assert_allclose(x.block_statistics(counting)[0], data[x.rows_in_place()[1]].mean(axis=0))
    assert calls[-1] == (1, 30)


def test_new_values_of_the_same_size_mid_block_reach_the_statistics():
    data = w6_data(500, 3)
    x = Minibatch(data, batch_size=25)
    model = normal_model(x, total_size=data.shape)
    assert fused_density(model) is not None
    theta = np.random.default_rng(2).normal(size=(2, model.ndim))
    schedule, rng = BatchSchedule(model.minibatches()), np.random.default_rng(1)
    for step in range(4):
        schedule.draw(rng)
        if step == 2:
            x.set_value(data * 2.0 + 1.0)  # same shape: the block of positions goes on, the data changed
            schedule.draw(rng)
        assert_fused_equals_graph(model, theta)


def test_integer_minibatch_data_with_a_normal_likelihood():
    data = np.random.default_rng(3).integers(0, 20, size=(400, 3))
    x = Minibatch(data, batch_size=40)
    model = normal_model(x, total_size=data.shape)
    assert x.dtype.kind == "i" and fused_density(model) is not None
    theta = np.random.default_rng(2).normal(size=(2, model.ndim))
    schedule, rng = BatchSchedule(model.minibatches()), np.random.default_rng(1)
    schedule.draw(rng)
    assert_fused_equals_graph(model, theta)


def test_block_statistics_of_several_steps_need_a_schedule():
    from nbvi.distributions.normal import normal_column_statistics

    x = Minibatch(w6_data(100, 2), batch_size=10)
    assert x.block_statistics(normal_column_statistics, 1).shape == (1, 2, 2)
    with pytest.raises(ValueError, match="need a block of positions"):
        x.block_statistics(normal_column_statistics, 3)


def test_set_value_mid_block_recomputes_from_the_current_step_and_pickling_drops_the_statistics():
    import pickle

    from nbvi.distributions.normal import normal_column_statistics

    data = w6_data(1000, 3)
    x = Minibatch(data, batch_size=30)
    calls = []

    def counting(rows_data, rows):
        calls.append(rows.shape[0])
        return normal_column_statistics(rows_data, rows)

    schedule, rng = BatchSchedule([x]), np.random.default_rng(3)
    for _ in range(5):
        schedule.draw(rng)
        x.block_statistics(counting)
    x.set_value(data + 1.0)
    schedule.draw(rng)  # the sixth step of the block
    stats = x.block_statistics(counting)
    assert calls == [schedule.steps_per_draw, schedule.steps_per_draw - 5]
    np.testing.assert_allclose(stats[0], (data + 1.0)[x.rows_in_place()[1]].mean(axis=0), rtol=1e-12)
    assert x._statistics and pickle.loads(pickle.dumps(x))._statistics == {}
