"""Tests of nbvi.transforms: round trips, constraints, log-Jacobians and both gradients.

Every transform runs through the same property tests; a "case" draws a transform together with a value
shape, an unconstrained point u (|u| <= 10), a constrained point x inside the support, and a cotangent g.
Gradients are checked against the shared central-difference helper.
"""
import warnings

import numpy as np
import pytest
from gradcheck import assert_grad_close, numeric_grad
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from nbvi import transforms as tr

U_MAX = 10.0


def floats(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


@st.composite
def cases(draw, kind):
    """Draw (transform, value shape, u, x, g) for one transform kind; D in 1..4 draws."""
    n_draws = draw(st.integers(1, 4))
    if kind == "stickbreaking":
        shape = draw(array_shapes(min_dims=0, max_dims=1, max_side=2)) + (draw(st.integers(2, 5)),)
    else:
        shape = draw(array_shapes(min_dims=0, max_dims=2, min_side=1, max_side=3))
    full = (n_draws,) + shape
    # a bound is a scalar, or broadcasts against the last axis, or has the full value shape
    bound_shape = draw(st.sampled_from([(), shape[-1:], shape]))
    unit = draw(arrays(float, full, elements=floats(1e-3, 1 - 1e-3)))  # a point in (0, 1)
    pos = draw(arrays(float, full, elements=floats(1e-3, 1e3)))        # a point in (0, inf)

    if kind == "log":
        transform, x = tr.log, pos
    elif kind == "logodds":
        transform, x = tr.logodds, unit
    elif kind == "interval":
        lower = draw(arrays(float, bound_shape, elements=floats(-5, 5)))
        width = draw(arrays(float, bound_shape, elements=floats(0.1, 10)))
        transform = tr.Interval(lower, lower + width)
        x = lower + width * unit
    elif kind == "lowerbound":
        lower = draw(arrays(float, bound_shape, elements=floats(-5, 5)))
        transform, x = tr.LowerBound(lower), lower + pos
    elif kind == "upperbound":
        upper = draw(arrays(float, bound_shape, elements=floats(-5, 5)))
        transform, x = tr.UpperBound(upper), upper - pos
    else:
        transform, x = tr.stick_breaking, unit / unit.sum(axis=-1, keepdims=True)

    ushape = transform.unconstrained_shape(shape)
    u = draw(arrays(float, (n_draws,) + ushape, elements=floats(-U_MAX, U_MAX)))
    g = draw(arrays(float, full, elements=floats(-1, 1)))
    return transform, shape, u, x, g


KINDS = ["log", "logodds", "interval", "lowerbound", "upperbound", "stickbreaking"]


def check_support(transform, x):
    """Assert that x, shape (D, *shape), lies in the support of ``transform``."""
    if isinstance(transform, tr.StickBreaking):
        assert np.all(x > 0)
        np.testing.assert_allclose(x.sum(axis=-1), 1.0, rtol=0, atol=1e-12)
    elif isinstance(transform, tr.LogTransform):
        assert np.all(x > 0)
    elif isinstance(transform, tr.LogOddsTransform):
        assert np.all((x > 0) & (x < 1))
    elif isinstance(transform, tr.Interval):
        assert np.all((x > transform.lower) & (x < transform.upper))
    elif isinstance(transform, tr.LowerBound):
        assert np.all(x > transform.lower)
    else:
        assert isinstance(transform, tr.UpperBound), f"no support check for {transform!r}"
        assert np.all(x < transform.upper)


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_round_trips_and_shapes(kind, data):
    transform, shape, u, x, _ = data.draw(cases(kind))
    ushape = transform.unconstrained_shape(shape)
    assert transform.constrained_shape(ushape) == shape

    x_of_u = transform.backward(u)
    assert x_of_u.shape == (u.shape[0],) + shape
    check_support(transform, x_of_u)
    # |u| <= 10 keeps every x well away from a bound, so the round trip in u loses only a few ulps
    # relative to the distances to the bounds, about 1e-16 / 4.5e-5 = 2e-12 in u
    np.testing.assert_allclose(transform.forward(x_of_u), u, rtol=1e-9, atol=1e-9)

    u_of_x = transform.forward(x)
    assert u_of_x.shape == (x.shape[0],) + ushape
    np.testing.assert_allclose(transform.backward(u_of_x), x, rtol=1e-9, atol=1e-12)


def numeric_jacobian(f, v):
    """Central-difference Jacobian of f: R^n -> R^m at v (1-D), shape (m, n), one row per output."""
    m = f(v).size
    return np.array([numeric_grad(lambda w, i=i: f(w)[i], v) for i in range(m)])


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_log_jac_det_matches_numeric_jacobian(kind, data):
    transform, _, u, _, _ = data.draw(cases(kind))
    ldj = transform.log_jac_det(u)
    assert ldj.shape == (u.shape[0],)
    stick = isinstance(transform, tr.StickBreaking)
    for d in range(u.shape[0]):
        def backward_flat(v, d=d):
            x = transform.backward(v.reshape((1,) + u.shape[1:]))[0]
            # On the simplex x_{K-1} = 1 - sum_{k<K-1} x_k is not a free coordinate: the density of x
            # is taken on the first K-1 coordinates (as in Stan and PyMC), so the Jacobian of the
            # bijection is the square (K-1) x (K-1) one of u -> x[..., :-1].
            return (x[..., :-1] if stick else x).reshape(-1)

        jac = numeric_jacobian(backward_flat, u[d].reshape(-1))
        sign, logdet = np.linalg.slogdet(jac)
        assert sign != 0
        # each entry carries a relative error of about 1e-16 / (1e-6 * 4.5e-5) = 2e-6 at worst
        # (sigmoid'(10) = 4.5e-5), so log|det| is good to about n * 2e-6
        np.testing.assert_allclose(ldj[d], logdet, rtol=0, atol=1e-4)


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_log_jac_det_grad(kind, data):
    transform, _, u, _, _ = data.draw(cases(kind))
    grad = transform.log_jac_det_grad(u)
    assert grad.shape == u.shape
    assert_grad_close(lambda v: transform.log_jac_det(v).sum(), grad, u)


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_backward_vjp(kind, data):
    transform, _, u, _, g = data.draw(cases(kind))
    g_u = transform.backward_vjp(u, g)
    assert g_u.shape == u.shape
    # sum(g * x) is of order |x| <= e^10 for the log-type transforms; the atol allows the rounding
    # error of the central difference, 1e-16 * e^10 / 1e-6 = 2e-6, relative to that scale
    scale = max(1.0, np.abs(transform.backward(u)).max())
    assert_grad_close(lambda v: np.sum(g * transform.backward(v)), g_u, u, atol=1e-6 * scale)


def test_stick_breaking_zero_is_uniform():
    x = tr.stick_breaking.backward(np.zeros((2, 3, 4)))
    np.testing.assert_allclose(x, 0.2, rtol=1e-14)


def test_stick_breaking_matches_explicit_loop():
    """backward equals the textbook loop x_k = r_k z_k, r_{k+1} = r_k (1 - z_k)."""
    rng = np.random.default_rng(0)
    u = rng.normal(size=(3, 5))
    k_total = u.shape[-1] + 1
    expected = np.empty((3, k_total))
    for d in range(3):
        r = 1.0
        for k in range(k_total - 1):
            z = 1.0 / (1.0 + np.exp(-(u[d, k] - np.log(k_total - 1 - k))))
            expected[d, k] = r * z
            r *= 1.0 - z
        expected[d, -1] = r
    np.testing.assert_allclose(tr.stick_breaking.backward(u), expected, rtol=1e-12)


@pytest.mark.parametrize("transform", [
    tr.log, tr.logodds, tr.Interval(-1.0, 2.0), tr.LowerBound(3.0), tr.UpperBound(-3.0),
    tr.stick_breaking,
], ids=lambda t: t.name)
def test_extreme_inputs_are_finite_and_silent(transform):
    """|u| up to 700: no overflow warnings, finite results, support respected where representable."""
    u = np.linspace(-700.0, 700.0, 12).reshape(3, 4)
    g = np.ones(transform.constrained_shape(u.shape[1:]))[None].repeat(3, axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = transform.backward(u)
        results = [x, transform.log_jac_det(u), transform.log_jac_det_grad(u), transform.backward_vjp(u, g)]
    for r in results:
        assert np.all(np.isfinite(r))
    if isinstance(transform, tr.Interval):
        assert np.all((x >= transform.lower) & (x <= transform.upper))
    if isinstance(transform, tr.StickBreaking):
        assert np.all(x >= 0)
        np.testing.assert_allclose(x.sum(axis=-1), 1.0, atol=1e-12)


def test_logodds_is_stable_for_large_u():
    x = tr.logodds.backward(np.array([-700.0, -40.0, 40.0, 700.0]))
    np.testing.assert_allclose(x, [np.exp(-700.0), np.exp(-40.0), 1.0, 1.0], rtol=1e-12)
    np.testing.assert_allclose(tr.logodds.log_jac_det(np.array([[-700.0], [700.0]])), [-700.0, -700.0])


def test_array_bounds_broadcast_against_one_draw():
    t = tr.Interval(np.array([0.0, 10.0]), np.array([1.0, 20.0]))
    x = t.backward(np.zeros((4, 3, 2)))  # D = 4 draws of a (3, 2) value; bounds act on the last axis
    np.testing.assert_allclose(x[..., 0], 0.5)
    np.testing.assert_allclose(x[..., 1], 15.0)
    with pytest.raises(ValueError, match="does not broadcast"):
        t.backward(np.zeros((2, 3)))  # one draw has shape (3,): the bounds of shape (2,) do not fit
    with pytest.raises(ValueError, match="does not broadcast"):
        t.backward(np.zeros((2,)))  # scalar variable, 2 draws: the bounds must not take the draw axis


@pytest.mark.parametrize("lower, upper", [(1.0, 1.0), (2.0, 1.0), ([0.0, 3.0], [1.0, 2.0])])
def test_invalid_interval_raises(lower, upper):
    with pytest.raises(ValueError, match="lower < upper") as info:
        tr.Interval(lower, upper)
    message = str(info.value)
    assert str(np.asarray(lower, dtype=float)) in message
    assert str(np.asarray(upper, dtype=float)) in message


@pytest.mark.parametrize("make", [
    lambda: tr.Interval(-np.inf, 1.0), lambda: tr.Interval(0.0, np.nan),
    lambda: tr.LowerBound(-np.inf), lambda: tr.UpperBound(np.inf),
])
def test_non_finite_bounds_raise(make):
    with pytest.raises(ValueError, match="finite"):
        make()


def test_stick_breaking_needs_a_last_axis():
    with pytest.raises(ValueError):
        tr.stick_breaking.unconstrained_shape(())
    with pytest.raises(ValueError):
        tr.stick_breaking.backward(np.zeros(3))
