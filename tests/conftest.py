"""Shared test configuration.

Hypothesis' default 200 ms deadline trips on a first numba compile, so the shared profile has no
deadline; example counts stay small because CI runs on two cores.
"""
import os
import sys

from hypothesis import HealthCheck, settings

sys.path.insert(0, os.path.dirname(__file__))  # lets tests import the shared gradcheck helper

settings.register_profile(
    "nbvi",
    deadline=None,
    max_examples=25,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("nbvi")
