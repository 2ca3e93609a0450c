"""The fused switch over elementwise transforms: ``transform_backward(code, u, lower, upper)`` gives what the
classes of :mod:`nbvi.transforms` give for one element (x, log|dx/du|, dx/du, d log|dx/du|/du), also far
out in the tails, and its derivatives match central differences."""
import numpy as np
import pytest
from gradcheck import numeric_grad

from nbvi import transforms
from nbvi.fused import transforms as codes
from nbvi.fused.transforms import TRANSFORMS, transform_backward

U = np.array([-40.0, -20.0, -5.0, -1.0, -1e-3, 0.0, 1e-3, 1.0, 5.0, 20.0, 40.0])
LOWER, UPPER = -2.0, 3.5

# transform number -> the class it stands for; the switch always gets both bounds, and must ignore those its
# transform does not have (a plan leaves them 0, the test gives them values that would show)
CLASSES = {
    codes.LOG: transforms.LogTransform(),
    codes.LOGODDS: transforms.LogOddsTransform(),
    codes.INTERVAL: transforms.Interval(LOWER, UPPER),
    codes.LOWERBOUND: transforms.LowerBound(LOWER),
    codes.UPPERBOUND: transforms.UpperBound(UPPER),
}


def fused(code, u, lower, upper):
    """transform_backward over an array of u: columns x, log|dx/du|, dx/du, d log|dx/du|/du."""
    return np.array([transform_backward(code, float(v), lower, upper) for v in u])


def test_identity():
    out = fused(codes.IDENTITY, U, LOWER, UPPER)
    np.testing.assert_array_equal(out, np.stack([U, 0.0 * U, 1.0 + 0.0 * U, 0.0 * U], axis=1))


@pytest.mark.parametrize("code", list(CLASSES), ids=lambda c: CLASSES[c].name)
def test_matches_transform_class(code):
    transform = CLASSES[code]
    assert TRANSFORMS[type(transform)] == code  # the density maps the exact class to this number
    out = fused(code, U, LOWER, UPPER)
    u = U[None]  # the classes take a draw axis
    expected = np.stack([transform.backward(u)[0],
                         np.broadcast_to(transform._log_dx_du(u), u.shape)[0],
                         transform._dx_du(u)[0],
                         np.broadcast_to(transform._dlog_dx_du(u), u.shape)[0]], axis=1)
    # the same formulas in scalar form: equal up to rounding, relative even for dx/du ~ e^-40
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=0)
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize("code", list(CLASSES), ids=lambda c: CLASSES[c].name)
def test_derivatives_match_finite_differences(code):
    for u in U:
        _x, log_jac, dx_du, dlog_jac = transform_backward(code, u, LOWER, UPPER)
        fd_dlog = numeric_grad(lambda v: transform_backward(code, v[0], LOWER, UPPER)[1], np.array([u]))[0]
        np.testing.assert_allclose(dlog_jac, fd_dlog, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(log_jac, np.log(abs(dx_du)), rtol=1e-12, atol=1e-12)
        if abs(u) <= 5.0:  # further out x rounds to its bound (logodds, interval): differences lose their digits
            fd_dx = numeric_grad(lambda v: transform_backward(code, v[0], LOWER, UPPER)[0], np.array([u]))[0]
            np.testing.assert_allclose(dx_du, fd_dx, rtol=1e-6, atol=1e-10)
