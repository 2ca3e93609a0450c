"""Vectorisable elementary functions for numba kernels, against numpy."""
import numpy as np

from nbvi.numerics import exp_nonpositive


def test_exp_nonpositive_matches_numpy_to_rounding():
    values = -np.concatenate([np.linspace(0.0, 50.0, 5001), np.linspace(50.0, 800.0, 751), [0.0, 1e-300]])
    expected = np.exp(np.maximum(values, -708.0))  # below -708 the kernel saturates at exp(-708)
    out = values.copy()
    exp_nonpositive(out, np.empty(out.size, dtype=np.int64))
    np.testing.assert_allclose(out, expected, rtol=1e-15, atol=0)
