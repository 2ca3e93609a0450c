"""Shared test configuration.

Hypothesis' default 200 ms deadline trips on a first numba compile, so the shared profile has no
deadline; example counts stay small because CI runs on two cores.

Every test starts with Python's own SIGINT handler (KeyboardInterrupt on Ctrl-C): a test suite started in
the background of a shell inherits SIGINT ignored, and then nbvi rightly leaves Ctrl-C alone, which the
tests of Ctrl-C during a fit would take for a failure.
"""
import os
import signal
import sys

import pytest
from hypothesis import HealthCheck, settings

sys.path.insert(0, os.path.dirname(__file__))  # lets tests import the shared gradcheck helper

settings.register_profile(
    "nbvi",
    deadline=None,
    max_examples=25,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("nbvi")


@pytest.fixture(autouse=True)
def python_sigint_handler():
    """Python's default SIGINT handler during the test; the process's own one restored after it."""
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)
