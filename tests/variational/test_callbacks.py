"""Callbacks of a fit: CheckParametersConvergence, Tracker, plain callables, StopIteration and
KeyboardInterrupt raised from a callback."""
from types import SimpleNamespace

import numpy as np
import pytest

import nbvi
from nbvi.callbacks import CheckParametersConvergence, Tracker

Y = np.random.default_rng(0).normal(1.5, 2.0, size=50)


def conjugate_model():
    """mu ~ N(0, 10), y ~ N(mu, 2) observed: the posterior of mu is Gaussian, so ADVI with STL lands on it
    exactly and its parameters stop moving."""
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 10.0)
        nbvi.Normal("y", mu, 2.0, observed=Y)
    return model


MODEL = conjugate_model()


def advi(**kwargs):
    return nbvi.ADVI(model=MODEL, random_seed=0, **kwargs)


def fake_approx(*params):
    return SimpleNamespace(params=np.array(params, dtype=float))


def run_checks(callback, params_per_check, every):
    """Call ``callback`` at i = 1 (it remembers the parameters) and at i = every, 2 every, ... with the
    given parameters; return the i at which it raised StopIteration, or None."""
    callback(fake_approx(*params_per_check[0]), None, 1)
    for k, params in enumerate(params_per_check[1:], start=1):
        try:
            callback(fake_approx(*params), None, k * every)
        except StopIteration as stop:
            assert str(stop) == f"Convergence achieved at {k * every}"
            return k * every
    return None


# ---------------------------------------------------------------------------------------------------------
# CheckParametersConvergence
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("diff, params, stops_at", [
    # large parameters moving by 1: a relative change of 1e-4 (converged), an absolute change of 1
    ("relative", [[1e4, 2e4], [1e4 + 1, 2e4 + 1], [1e4 + 2, 2e4 + 2]], 10),
    ("absolute", [[1e4, 2e4], [1e4 + 1, 2e4 + 1], [1e4 + 2, 2e4 + 2]], None),
    # parameters near 0 moving by 1e-4: absolute change 1e-4 (converged), relative change ~1
    ("relative", [[1e-4, 0.0], [2e-4, 1e-4], [3e-4, 2e-4]], None),
    ("absolute", [[1e-4, 0.0], [2e-4, 1e-4], [3e-4, 2e-4]], 10),
    # big moves first, then small ones: stops at the first check after they become small
    ("absolute", [[0.0, 0.0], [1.0, 1.0], [1.0005, 1.0], [1.0006, 1.0]], 20),
])
def test_check_parameters_convergence_diff(diff, params, stops_at):
    assert run_checks(CheckParametersConvergence(every=10, diff=diff), params, every=10) == stops_at


def test_check_parameters_convergence_ord():
    # each of two parameters moves by 6e-4: inf-norm 6e-4 < 1e-3, 1-norm 1.2e-3 > 1e-3
    params = [[0.0, 0.0], [6e-4, 6e-4]]
    assert run_checks(CheckParametersConvergence(every=5, diff="absolute"), params, every=5) == 5
    assert run_checks(CheckParametersConvergence(every=5, diff="absolute", ord=1), params, every=5) is None


def test_check_parameters_convergence_tolerance_and_every():
    params = [[0.0], [0.05]]
    assert run_checks(CheckParametersConvergence(every=5, diff="absolute", tolerance=0.1), params, 5) == 5
    assert run_checks(CheckParametersConvergence(every=5, diff="absolute", tolerance=0.01), params, 5) is None
    check = CheckParametersConvergence(every=5, diff="absolute")
    check(fake_approx(0.0), None, 1)
    for i in (2, 3, 4, 6, 7):  # not a multiple of every: no check, even with identical parameters
        check(fake_approx(0.0), None, i)


@pytest.mark.parametrize("kwargs, match", [({"diff": "squared"}, "diff"), ({"every": 0}, "every")])
def test_check_parameters_convergence_validates(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CheckParametersConvergence(**kwargs)


@pytest.mark.parametrize("diff", ["relative", "absolute"])
def test_convergence_stops_a_fit(diff, capsys):
    """ADVI with STL and Adam lands on the exact posterior (its gradient noise vanishes there), so the
    parameters stop moving and the callback ends the fit long before n; fit returns normally."""
    inference = advi(stl=True)
    approx = inference.fit(5000, obj_optimizer=nbvi.adam(learning_rate=0.05), progressbar=False,
                           callbacks=[CheckParametersConvergence(diff=diff)])
    assert approx is inference.approx
    steps = len(inference.hist)
    assert steps < 5000 and steps % 100 == 0  # checked every 100 steps (seen: 400 - 500, seeds 0-2)
    assert capsys.readouterr().err.strip() == f"Convergence achieved at {steps}"
    # and without the callback the same fit runs to the end
    again = advi(stl=True)
    again.fit(steps + 50, obj_optimizer=nbvi.adam(learning_rate=0.05), progressbar=False)
    assert len(again.hist) == steps + 50
    np.testing.assert_array_equal(again.hist[:steps], inference.hist)


def test_convergence_message_with_progressbar(capsys):
    inference = advi(stl=True)
    inference.fit(5000, obj_optimizer=nbvi.adam(learning_rate=0.05),
                  callbacks=[CheckParametersConvergence(diff="absolute")])
    err = capsys.readouterr().err
    assert f"Convergence achieved at {len(inference.hist)}" in err
    assert "Interrupted" in err


def test_no_convergence_without_stl_noise_free_landing():
    """The standard estimator keeps the parameters jittering (largest changes 0.15 - 0.23 per 100 steps at
    this learning rate), so a tight absolute tolerance never triggers and the fit runs to the end."""
    inference = advi()
    inference.fit(500, obj_optimizer=nbvi.adam(learning_rate=0.05), progressbar=False,
                  callbacks=[CheckParametersConvergence(diff="absolute", tolerance=1e-6)])
    assert len(inference.hist) == 500


# ---------------------------------------------------------------------------------------------------------
# Plain callables, StopIteration, KeyboardInterrupt
# ---------------------------------------------------------------------------------------------------------

def test_plain_callable_gets_approx_losses_and_step():
    seen = []
    inference = advi()

    def callback(approx, losses, i):
        seen.append((approx, len(losses), losses[-1], i))

    inference.fit(6, callbacks=[callback], progressbar=False)
    inference.fit(4, callbacks=[callback], progressbar=False)
    assert [s[3] for s in seen] == list(range(1, 11))  # i counts over all fits
    assert [s[1] for s in seen] == [1, 2, 3, 4, 5, 6, 1, 2, 3, 4]  # losses: this fit's so far
    assert all(s[0] is inference.approx for s in seen)
    np.testing.assert_array_equal([s[2] for s in seen], inference.hist)


def test_stop_iteration_from_a_callable_ends_the_fit(capsys):
    """The quickstart's ``stop_after_100``, on PyMC's stochastic algorithm (n given)."""
    def stop_after_100(approx, loss_history, i):
        if i == 100:
            raise StopIteration("Stopping approximation.")

    with MODEL:
        approx = nbvi.fit(10_000, callbacks=[stop_after_100], progressbar=False, random_seed=0)
    assert len(approx.hist) == 100 and np.all(np.isfinite(approx.hist))
    assert capsys.readouterr().err.strip() == "Stopping approximation."
    # the parameters are those after step 100
    replay = advi()
    replay.fit(100, progressbar=False)
    np.testing.assert_array_equal(approx.params, replay.approx.params)


def test_stop_iteration_without_a_message_prints_nothing(capsys):
    def stop(approx, losses, i):
        if i == 3:
            raise StopIteration

    inference = advi()
    inference.fit(10, callbacks=[stop], progressbar=False)
    assert len(inference.hist) == 3
    assert capsys.readouterr().err == ""


def test_keyboard_interrupt_from_a_callback_keeps_everything():
    tracker = Tracker(mean=lambda: None)

    def interrupt(approx, losses, i):
        if i == 7:
            raise KeyboardInterrupt

    inference = advi()
    approx = inference.fit(50, callbacks=[tracker, interrupt], progressbar=False)
    assert approx is inference.approx
    assert len(inference.hist) == 7 and len(tracker["mean"]) == 7
    replay = advi()
    replay.fit(7, progressbar=False)
    np.testing.assert_array_equal(inference.approx.params, replay.approx.params)
    np.testing.assert_array_equal(inference.hist, replay.hist)
    # the fit can go on afterwards
    inference.refine(3, progressbar=False)
    assert len(inference.hist) == 10


def test_exceptions_other_than_stop_propagate():
    def broken(approx, losses, i):
        raise RuntimeError("boom")

    inference = advi()
    with pytest.raises(RuntimeError, match="boom"):
        inference.fit(10, callbacks=[broken], progressbar=False)
    assert len(inference.hist) == 1  # the finished step is kept


# ---------------------------------------------------------------------------------------------------------
# Tracker
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", [nbvi.ADVI, nbvi.FullRankADVI, nbvi.SVGD])
def test_tracker_records_every_step(method):
    inference = method(model=MODEL, random_seed=0)
    approx = inference.approx
    tracker = Tracker(mean=approx.mean.eval, std=approx.std.eval)
    inference.fit(30, callbacks=[tracker], obj_optimizer=nbvi.adam(learning_rate=0.05), progressbar=False)
    assert set(tracker.keys()) == {"mean", "std"}
    assert len(tracker["mean"]) == len(tracker["std"]) == 30
    # the quickstart's use: a[0] of each recorded array
    means = [a[0] for a in tracker["mean"]]
    assert len(set(means)) > 1  # each record is a copy taken at its step, not a view of the parameters
    np.testing.assert_array_equal(tracker["mean"][-1], approx.mean.eval())
    np.testing.assert_array_equal(tracker["std"][-1], approx.std.eval())


def test_tracker_records_the_parameters_of_each_step():
    """Tracker values at step i are the parameters after update i: the same as a fit of i steps."""
    inference = advi()
    tracker = Tracker(mean=inference.approx.mean.eval)
    inference.fit(5, callbacks=[tracker], progressbar=False)
    for i in (1, 3, 5):
        replay = advi()
        replay.fit(i, progressbar=False)
        np.testing.assert_array_equal(tracker["mean"][i - 1], replay.approx.mean.eval())


def test_tracker_every():
    inference = advi()
    tracker = Tracker(every=10, step=lambda approx, losses, i: i)
    inference.fit(35, callbacks=[tracker], progressbar=False)
    assert tracker["step"] == [10, 20, 30]
    inference.refine(10, progressbar=False)
    assert tracker["step"] == [10, 20, 30, 40]


def test_tracker_calls_with_or_without_arguments():
    class WithArgs:
        def __call__(self, approx, losses, i):
            return ("args", i)

    def no_args(scale=2.0):
        return "none"

    def star_args(*args):
        return len(args)

    tracker = Tracker(a=WithArgs(), b=no_args, c=star_args, d=lambda approx, losses, i: float(losses[-1]))
    inference = advi()
    inference.fit(2, callbacks=[tracker], progressbar=False)
    assert tracker["a"] == [("args", 1), ("args", 2)]
    assert tracker["b"] == ["none", "none"]
    assert tracker["c"] == [3, 3]
    assert tracker["d"] == list(inference.hist)
    tracker.clear()
    assert tracker["a"] == []


def test_tracker_validates():
    with pytest.raises(TypeError, match="'mean'"):
        Tracker(mean=np.zeros(3))
    with pytest.raises(ValueError, match="every"):
        Tracker(every=0, mean=lambda: 0)
