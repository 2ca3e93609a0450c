"""deferred_interrupt: Ctrl-C is deferred to the end of a step only where it would raise KeyboardInterrupt; a
process that ignores SIGINT or handles it itself keeps doing so during a fit."""
import signal

import pytest

import nbvi


def _standard_normal_model():
    with nbvi.Model() as model:
        nbvi.Normal("x", 0.0, 1.0)
    return model


def _sigint_at_step(step):
    def callback(approx, losses, i):
        if i == step:
            signal.raise_signal(signal.SIGINT)

    return callback


@pytest.fixture
def sigint_handler():
    """Restore the process's SIGINT handler after the test."""
    previous = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, previous)


def test_a_fit_in_a_process_that_ignores_sigint_keeps_ignoring_it(sigint_handler):
    """A process that ignores SIGINT (a worker that leaves Ctrl-C to its parent, a background job) keeps
    ignoring it during a fit: all steps run."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    inference = nbvi.ADVI(model=_standard_normal_model(), random_seed=1)
    inference.fit(50, callbacks=[_sigint_at_step(5)], progressbar=False)
    assert len(inference.hist) == 50
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_a_users_own_sigint_handler_still_runs_during_a_fit(sigint_handler):
    """A SIGINT handler the user installed (e.g. a clean-shutdown hook) stays in force during a fit: it is
    called, and the fit goes on."""
    received = []
    signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    inference = nbvi.ADVI(model=_standard_normal_model(), random_seed=1)
    inference.fit(50, callbacks=[_sigint_at_step(5)], progressbar=False)
    assert received == [signal.SIGINT]
    assert len(inference.hist) == 50


def test_ctrl_c_with_the_default_handler_stops_the_fit_after_the_step(sigint_handler):
    inference = nbvi.ADVI(model=_standard_normal_model(), random_seed=1)
    inference.fit(50, callbacks=[_sigint_at_step(5)], progressbar=False)
    assert len(inference.hist) == 5
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
