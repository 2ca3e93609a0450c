"""Convergence tools of a fit, as a user meets them (issue "VI that converges by default", item 3):
``callbacks.CheckLossConvergence`` (Stan's rule), learning-rate schedules on every optimizer, and fit's
``total_grad_norm_constraint``."""
import copy
import pickle

import numpy as np
import pytest

import nbvi
from nbvi.callbacks import CheckLossConvergence
from nbvi.fused.optimizers import optimizer_code

Y = np.random.default_rng(0).normal(1.5, 2.0, size=50)

with nbvi.Model() as MODEL:  # conjugate: mu's posterior is Gaussian, so a fit settles quickly
    _mu = nbvi.Normal("mu", 0.0, 10.0)
    nbvi.Normal("y", _mu, 2.0, observed=Y)

FACTORIES = [nbvi.sgd, nbvi.momentum, nbvi.nesterov_momentum, nbvi.adagrad, nbvi.adagrad_window, nbvi.rmsprop,
             nbvi.adadelta, nbvi.adam, nbvi.adamax]
IDS = [f.__name__ for f in FACTORIES]


def advi():
    return nbvi.ADVI(model=MODEL, random_seed=1)


def feed(callback, losses):
    """Call ``callback`` after each of ``losses`` as a fit does; the i at which it stopped the fit, or None."""
    for i in range(1, len(losses) + 1):
        try:
            callback(None, np.asarray(losses[:i]), i)
        except StopIteration as stop:
            assert str(stop) == f"Convergence achieved at {i}"
            return i
    return None


# -- CheckLossConvergence ----------------------------------------------------------------------------------

def test_flat_loss_stops_once_the_window_is_full():
    # every check sees a relative change of 0; the first check has nothing to compare with, so the window of 3
    # changes is full at the 4th check
    assert feed(CheckLossConvergence(every=5, window=3), [7.0] * 100) == 20


def test_a_steadily_falling_loss_does_not_stop():
    losses = 1e6 * 0.9 ** np.arange(100)  # the mean loss falls by about 10% per check of 1 step (to 30)
    assert feed(CheckLossConvergence(every=1, window=3), losses) is None


def test_a_loss_near_zero_is_judged_by_its_absolute_change():
    """A normalised model that fits well has a loss near 0, where Stan's ratio is noise over almost nothing:
    changes below max(|L|, 1) * tolerance stop it."""
    losses = 0.01 * np.random.default_rng(0).standard_normal(3000)  # mean 0, noise 0.01 per step
    assert feed(CheckLossConvergence(every=100, tolerance=0.01, window=5), losses) == 600


def test_a_new_fit_starts_the_window_afresh():
    check = CheckLossConvergence(every=1, window=2)
    feed(check, np.array([5.0, 4.0, 3.0]))
    assert len(check.changes) == 2
    check(None, np.array([3.0]), 1)  # step 1 of another fit
    assert len(check.changes) == 0 and check.previous == 3.0  # (its own first check)


def test_the_mean_of_every_steps_smooths_the_noise():
    # alternating 1, 3: each step changes by 2/3 of the loss, but every pair of steps has the same mean 2
    losses = np.tile([1.0, 3.0], 50)
    assert feed(CheckLossConvergence(every=1, window=2), losses) is None
    assert feed(CheckLossConvergence(every=2, window=2), losses) == 6


@pytest.mark.parametrize("statistic, stops", [("either", True), ("median", True), ("mean", False)])
def test_median_below_mean_above(statistic, stops):
    # changes [0.5, 0.0005, 0.0005]: mean 0.17 > 0.01, median 0.0005 < 0.01
    losses = [100.0, 200.0, 200.1, 200.2001]
    assert feed(CheckLossConvergence(every=1, window=3, statistic=statistic), losses) == (4 if stops else None)


@pytest.mark.parametrize("statistic, stops", [("either", True), ("median", False), ("mean", True)])
def test_mean_below_median_above(statistic, stops):
    # changes [0.011, 0.011, 0]: mean 0.0073 < 0.01, median 0.011 > 0.01
    losses = [100.0]
    for change in [0.011, 0.011, 0.0]:
        losses.append(losses[-1] / (1.0 + change))  # |(previous - current) / current| = change
    callback = CheckLossConvergence(every=1, window=3, statistic=statistic)
    assert feed(callback, losses) == (4 if stops else None)
    np.testing.assert_allclose(list(callback.changes), [0.011, 0.011, 0.0], atol=1e-12)


def test_stops_an_advi_fit_and_refine_goes_on_counting():
    inference = advi()
    callback = CheckLossConvergence()
    inference.fit(20_000, callbacks=[callback], obj_optimizer=nbvi.adam(0.05), progressbar=False)
    stopped = len(inference.hist)
    assert 1100 <= stopped < 20_000 and stopped % 100 == 0  # a full window at the earliest, at a check
    assert np.median(callback.changes) < 0.01 or np.mean(callback.changes) < 0.01
    # refine keeps the callback and its window: the next check (100 steps on) sees a converged window again
    inference.refine(1000, progressbar=False)
    assert len(inference.hist) == stopped + 100


@pytest.mark.parametrize("options, error, match", [
    ({"every": 0}, ValueError, "every must be >= 1"), ({"every": 2.5}, ValueError, "every must be an integer"),
    ({"tolerance": 0.0}, ValueError, "tolerance must be > 0"), ({"tolerance": "0.01"}, TypeError, "tolerance must be a number"),
    ({"window": 0}, ValueError, "window must be >= 1"), ({"window": None}, TypeError, "window must be an integer"),
    ({"statistic": "average"}, ValueError, r"statistic must be one of \['either', 'mean', 'median'\]"),
])
def test_check_loss_convergence_checks_its_options(options, error, match):
    with pytest.raises(error, match=match):
        CheckLossConvergence(**options)


# -- learning-rate schedules -------------------------------------------------------------------------------

def test_schedules_follow_their_formulas():
    exponential = nbvi.exponential_decay(0.1, decay_rate=0.5, decay_steps=10)
    step = nbvi.step_decay(0.1, decay_rate=0.5, decay_steps=10)
    assert [exponential(t) for t in (0, 10, 20)] == [0.1, 0.05, 0.025]
    assert exponential(5) == 0.1 * 0.5 ** 0.5
    assert [step(t) for t in (0, 9, 10, 19, 20)] == [0.1, 0.1, 0.05, 0.05, 0.025]


@pytest.mark.parametrize("factory", FACTORIES, ids=IDS)
def test_a_schedule_gives_each_step_its_rate(factory):
    # a scheduled optimizer's steps are, bit for bit, the fixed-rate optimizer's steps at eta_t, on the same state
    schedule = nbvi.exponential_decay(0.05, decay_steps=3, decay_rate=0.3)
    scheduled = factory(learning_rate=schedule)
    rng = np.random.default_rng(2)
    p, state = rng.normal(size=4), scheduled.init(4)
    q, plain_state = p.copy(), factory().init(4)
    for t in range(8):
        g = rng.normal(size=4)
        scheduled.step(p, g, state)
        factory(learning_rate=schedule(t)).step(q, g, plain_state)
        assert np.array_equal(p, q)
    assert np.array_equal(state[1:], plain_state)
    assert scheduled.unpack(state)["step"][0] == 8


def test_step_decay_to_zero_freezes_the_fit_after_the_boundary():
    def fit(n, learning_rate):
        inference = advi()
        inference.fit(n, obj_optimizer=nbvi.adam(learning_rate), progressbar=False)
        return inference.approx.params.copy()

    frozen = nbvi.step_decay(0.05, decay_steps=20, decay_rate=0.0)
    assert np.array_equal(fit(60, frozen), fit(20, frozen))
    assert np.array_equal(fit(20, frozen), fit(20, 0.05))  # steps 0..19 at the first rate
    assert not np.array_equal(fit(60, 0.05), fit(20, 0.05))  # without the decay, steps 20..59 move q


def test_a_constant_schedule_equals_the_fixed_rate_bit_for_bit():
    # the fixed rate runs in compiled blocks, the schedule step by step from Python: the same fit
    optimizer = nbvi.adam(nbvi.exponential_decay(0.05, decay_steps=10, decay_rate=1.0))
    assert optimizer_code(optimizer) is None and optimizer_code(nbvi.adam(0.05)) is not None
    a, b = advi(), advi()
    a.fit(300, obj_optimizer=optimizer, progressbar=False)
    b.fit(300, obj_optimizer=nbvi.adam(0.05), progressbar=False)
    assert np.array_equal(a.hist, b.hist) and np.array_equal(a.approx.params, b.approx.params)


def test_refine_continues_the_schedule_and_a_new_fit_restarts_it():
    frozen = nbvi.step_decay(0.05, decay_steps=20, decay_rate=0.0)
    whole, split = advi(), advi()
    whole.fit(50, obj_optimizer=nbvi.adam(nbvi.exponential_decay(0.05, 10, 0.5)), progressbar=False)
    split.fit(20, obj_optimizer=nbvi.adam(nbvi.exponential_decay(0.05, 10, 0.5)), progressbar=False)
    split.refine(30, progressbar=False)
    assert np.array_equal(whole.hist, split.hist) and np.array_equal(whole.approx.params, split.approx.params)

    inference = advi()
    inference.fit(20, obj_optimizer=nbvi.adam(frozen), progressbar=False)
    after_fit = inference.approx.params.copy()
    inference.refine(10, progressbar=False)  # steps 20..29 of the same schedule: rate 0
    assert np.array_equal(inference.approx.params, after_fit)
    inference.fit(10, obj_optimizer=nbvi.adam(frozen), progressbar=False)  # a fresh count: rate 0.05 again
    assert not np.array_equal(inference.approx.params, after_fit)


def test_own_schedule_and_its_checks():
    inference = advi()
    inference.fit(30, obj_optimizer=nbvi.sgd(lambda t: 0.01 / (1.0 + t)), progressbar=False)
    assert len(inference.hist) == 30
    with pytest.raises(ValueError, match="the learning_rate schedule .* gave nan at step 0"):
        nbvi.sgd(lambda t: float("nan")).step(np.zeros(2), np.ones(2), nbvi.sgd(lambda t: 1.0).init(2))
    with pytest.raises(ValueError, match="gave -0.1 at step 0"):
        advi().fit(5, obj_optimizer=nbvi.adam(lambda t: -0.1), progressbar=False)


def test_scheduled_optimizers_pickle_and_print():
    optimizer = nbvi.adam(nbvi.step_decay(0.1, 100, 0.5), max_grad_norm=2.0)
    assert "StepDecay(learning_rate=0.1, decay_steps=100, decay_rate=0.5)" in repr(optimizer)
    for clone in [pickle.loads(pickle.dumps(optimizer)), copy.deepcopy(optimizer)]:
        assert clone.get_settings() == optimizer.get_settings()
        assert clone.schedule == optimizer.schedule


@pytest.mark.parametrize("factory", [nbvi.exponential_decay, nbvi.step_decay])
@pytest.mark.parametrize("options, error, match", [
    ({"learning_rate": 0.0}, ValueError, "learning_rate must be > 0"),
    ({"learning_rate": "0.1"}, TypeError, "learning_rate must be a number"),
    ({"decay_steps": 0}, ValueError, "decay_steps must be >= 1"),
    ({"decay_steps": 2.5}, ValueError, "decay_steps must be an integer"),
    ({"decay_rate": 1.5}, ValueError, r"decay_rate must be in \[0, 1\]"),
    ({"decay_rate": -0.1}, ValueError, "decay_rate must be >= 0"),
    ({"decay_rate": None}, TypeError, "decay_rate must be a number"),
])
def test_schedules_check_their_options(factory, options, error, match):
    with pytest.raises(error, match=match):
        factory(**{"learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5, **options})


# -- total_grad_norm_constraint ----------------------------------------------------------------------------

def test_total_grad_norm_constraint_is_the_optimizers_max_grad_norm():
    def fit(**options):
        return nbvi.fit(200, model=MODEL, random_seed=3, progressbar=False, **options).params.copy()

    clipped = fit(total_grad_norm_constraint=0.5)
    assert np.array_equal(clipped, fit(obj_optimizer=nbvi.adagrad_window(max_grad_norm=0.5)))
    assert not np.array_equal(clipped, fit())  # the gradients of this start are larger than 0.5
    with_adam = fit(obj_optimizer=nbvi.adam(0.05), total_grad_norm_constraint=0.5)
    assert np.array_equal(with_adam, fit(obj_optimizer=nbvi.adam(0.05, max_grad_norm=0.5)))
    # the same bound given twice is no conflict
    assert np.array_equal(with_adam, fit(obj_optimizer=nbvi.adam(0.05, max_grad_norm=0.5),
                                         total_grad_norm_constraint=0.5))


def test_refine_keeps_the_constraint():
    whole, split = advi(), advi()
    whole.fit(50, total_grad_norm_constraint=0.5, progressbar=False)
    split.fit(20, total_grad_norm_constraint=0.5, progressbar=False)
    split.refine(30, progressbar=False)
    assert np.array_equal(whole.approx.params, split.approx.params)


def test_the_constraint_asks_for_the_stochastic_fit():
    # fit() alone runs deterministic ADVI; a gradient bound belongs to the stochastic optimizer, which then runs
    # its 10,000 steps as in PyMC
    inference = advi()
    inference.fit(total_grad_norm_constraint=10.0, progressbar=False)
    assert len(inference.hist) == 10_000


@pytest.mark.parametrize("value, error, match", [
    (0.0, ValueError, "total_grad_norm_constraint must be > 0"),
    (np.inf, ValueError, "total_grad_norm_constraint must be finite"),
    ("1", TypeError, "total_grad_norm_constraint must be a number"),
    (True, TypeError, "total_grad_norm_constraint must be a number"),
])
def test_bad_constraints_are_refused_before_any_step(value, error, match):
    inference = advi()
    start = inference.approx.params.copy()
    with pytest.raises(error, match=match):
        inference.fit(10, total_grad_norm_constraint=value, progressbar=False)
    assert len(inference.hist) == 0 and np.array_equal(inference.approx.params, start)


def test_a_conflicting_bound_is_refused():
    with pytest.raises(ValueError, match="total_grad_norm_constraint=2.0 conflicts with obj_optimizer's "
                                         "max_grad_norm=1.0"):
        nbvi.fit(10, model=MODEL, obj_optimizer=nbvi.adam(max_grad_norm=1.0), total_grad_norm_constraint=2.0,
                 progressbar=False)
