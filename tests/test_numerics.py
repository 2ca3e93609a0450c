"""Vectorisable elementary functions for numba kernels, against numpy."""
import math

import numpy as np
from numba import njit
from scipy.special import expit

from nbvi.compiled import interpreter
from nbvi.numerics import (
    exp_into,
    exp_minus_abs_into,
    exp_nonpositive,
    log1p_unit,
    log_positive,
    log_positive_scratch,
)


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


def test_the_one_loop_exp_is_exp_nonpositive_bit_for_bit():
    """The one-loop exp (2^n by a bit cast) gives the numbers of the three-loop one."""
    x = np.concatenate([np.random.default_rng(5).uniform(-800.0, 800.0, 5000), [0.0, -0.0, 1e-300, np.inf]])
    out, expected = np.empty_like(x), -np.abs(x)
    exp_minus_abs_into(x, out)
    exp_nonpositive(expected, np.empty(x.size, dtype=np.int64))
    np.testing.assert_array_equal(out, expected)


def test_exp_into_is_within_two_ulps_of_libm_and_exact_outside_the_polynomials_range():
    rng = np.random.default_rng(1)
    x = np.concatenate([
        rng.uniform(-750.0, 710.0, 50000), rng.uniform(-1.0, 1.0, 5000), rng.uniform(-1e-9, 1e-9, 500),
        [0.0, -0.0, 708.9, 709.0, 709.5, 709.78, 710.0, -708.0, -708.5, -745.0, -745.2, -746.0, -1e308, 1e308,
         np.inf, -np.inf, np.nan],
    ])
    out = np.empty_like(x)
    exp_into(x, out)
    with np.errstate(over="ignore"):
        expected = np.exp(x)
    normal = np.isfinite(expected) & (expected >= 2.2250738585072014e-308)
    assert ulps(out[normal], expected[normal]).max() <= 2.0
    # underflow to subnormals and 0, overflow, inf and NaN: libm's own numbers
    np.testing.assert_array_equal(out[~normal], expected[~normal])


@njit(cache=False)
def log1p_unit_of(t):
    out = np.empty_like(t)
    for i in range(t.size):
        out[i] = log1p_unit(t[i])
    return out


def test_log1p_unit_is_within_two_ulps_of_libm_on_the_unit_interval():
    rng = np.random.default_rng(2)
    t = np.concatenate([rng.random(50000), np.exp(rng.uniform(-745.0, 0.0, 50000)),
                        [1.0, 5e-324, 1e-300, math.sqrt(2.0) - 1.0, np.nextafter(math.sqrt(2.0) - 1.0, 1.0)]])
    out = log1p_unit_of(t)
    assert ulps(out, np.log1p(t)).max() <= 2.0
    assert log1p_unit_of(np.zeros(1))[0] == 0.0


def test_log_positive_scratch_is_log_positive():
    x = np.exp(np.random.default_rng(3).uniform(-745.0, 709.0, 1000))
    a, b = x.copy(), x.copy()
    log_positive(a)
    log_positive_scratch(b, np.empty(x.size, dtype=np.int64), np.empty(x.size, dtype=np.int64))
    np.testing.assert_array_equal(a, b)


@njit(cache=False)
def bernoulli_logit_of(y, logit):
    """log p and d log p / d logit of each element, through the interpreter's block (a block at a time)."""
    reg, adj = np.zeros((4, interpreter.BLOCK)), np.zeros((4, interpreter.BLOCK))
    logp, grad = np.empty(y.size), np.empty(y.size)
    for i in range(y.size):
        reg[0, 0], reg[1, 0], adj[1, 0] = y[i], logit[i], 0.0
        logp[i] = interpreter._bernoulli_logit_block(0, 1, 1, True, 1.0, reg, adj)
        grad[i] = adj[1, 0]
    return logp, grad


def test_the_bernoulli_logit_block_is_within_a_few_ulps_over_the_whole_range():
    """log sigmoid(+-l) and y - sigmoid(l), against libm's log1p and exp and scipy's expit, for logits out to
    +-800 (where e^-|l| underflows, the block's exp stops at e^-708 ~ 3e-308: an absolute error of 3e-308)."""
    rng = np.random.default_rng(4)
    logit = np.concatenate([rng.uniform(-800.0, 800.0, 5000), rng.uniform(-40.0, 40.0, 5000),
                            rng.uniform(-1e-6, 1e-6, 500), [0.0, 1e308, -1e308]])
    y = (rng.random(logit.size) < 0.5).astype(np.float64)
    logp, grad = bernoulli_logit_of(y, logit)
    s = np.where(y == 1.0, logit, -logit)  # log p = log sigmoid(s)
    expected_logp = -np.log1p(np.exp(-np.abs(s))) - np.maximum(-s, 0.0)
    expected_grad = np.where(y == 1.0, expit(-logit), -expit(logit))  # y - sigmoid(l), without cancellation
    tiny = 1e-307
    assert ulps(logp, expected_logp)[np.abs(expected_logp) > tiny].max() <= 4.0
    assert np.abs(logp - expected_logp).max() <= max(tiny, 4 * np.spacing(np.abs(expected_logp)).max())
    assert ulps(grad, expected_grad)[np.abs(expected_grad) > tiny].max() <= 4.0
    assert np.abs(grad - expected_grad)[np.abs(expected_grad) <= tiny].max() <= tiny
