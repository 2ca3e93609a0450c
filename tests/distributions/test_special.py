"""Tests of the numba special functions against scipy.special."""
import numpy as np
import scipy.special as sp
from hypothesis import given
from hypothesis import strategies as st

from nbvi.distributions.special import digamma, lbeta


def test_digamma_on_a_grid():
    # small arguments (long recurrence), the switch to the series at 6, its root near 1.4616, large ones
    x = np.concatenate([np.geomspace(1e-8, 1e8, 400), np.linspace(5.5, 6.5, 101), np.linspace(1.4, 1.5, 101)])
    got = np.array([digamma(v) for v in x])
    np.testing.assert_allclose(got, sp.digamma(x), rtol=1e-12, atol=1e-13)


@given(st.floats(1e-6, 1e6))
def test_digamma_positive(x):
    np.testing.assert_allclose(digamma(x), sp.digamma(x), rtol=1e-12, atol=1e-13)


@given(st.floats(-20.0, 0.0).filter(lambda x: abs(x - round(x)) > 1e-3))
def test_digamma_negative_by_reflection(x):
    np.testing.assert_allclose(digamma(x), sp.digamma(x), rtol=1e-10, atol=1e-10)


def test_digamma_poles_are_nan():
    assert np.isnan(digamma(0.0)) and np.isnan(digamma(-3.0))


@given(st.floats(1e-3, 1e3), st.floats(1e-3, 1e3))
def test_lbeta(a, b):
    np.testing.assert_allclose(lbeta(a, b), sp.betaln(a, b), rtol=1e-10, atol=1e-10)
