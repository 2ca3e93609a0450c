"""Vectorisable elementary functions for numba kernels, against numpy."""
import numpy as np

from nbvi.numerics import exp_nonpositive, log_positive


def test_exp_nonpositive_matches_numpy_to_rounding():
    values = -np.concatenate([np.linspace(0.0, 50.0, 5001), np.linspace(50.0, 800.0, 751), [0.0, 1e-300]])
    expected = np.exp(np.maximum(values, -708.0))  # below -708 the kernel saturates at exp(-708)
    out = values.copy()
    exp_nonpositive(out, np.empty(out.size, dtype=np.int64))
    np.testing.assert_allclose(out, expected, rtol=1e-15, atol=0)


def ulps(got, expected):
    """|got - expected| in units of the last place of expected."""
    return np.abs(got - expected) / np.spacing(np.abs(expected))


def test_log_positive_is_within_one_ulp_of_libm_over_the_whole_range():
    rng = np.random.default_rng(0)
    x = np.concatenate([
        np.exp(rng.uniform(-745.0, 709.0, 20000)),  # every exponent, subnormals included
        1.0 + rng.uniform(-1e-3, 1e-3, 2000), 1.0 + rng.uniform(-1e-12, 1e-12, 200),  # log near 0
        np.sqrt(2.0) * (1.0 + rng.uniform(-1e-12, 1e-12, 200)),  # where the mantissa is halved
        [5e-324, 1e-310, 2.2250738585072014e-308, 0.5, 2.0, 1.7976931348623157e308, np.nextafter(np.sqrt(2.0), 2.0)],
    ])
    out = x.copy()
    log_positive(out)
    expected = np.log(x)
    assert ulps(out, expected).max() <= 1.0
    assert log_positive_of(1.0) == 0.0


def log_positive_of(value):
    out = np.array([value])
    log_positive(out)
    return out[0]


def test_log_positive_special_values_as_libm():
    out = np.array([0.0, -0.0, -1.0, -np.inf, np.inf, np.nan])
    log_positive(out)
    np.testing.assert_array_equal(out, [-np.inf, -np.inf, np.nan, np.nan, np.inf, np.nan])
