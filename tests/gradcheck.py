"""The one finite-difference gradient checker used by every gradient test.

Central differences: df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2 h), with a step scaled to |x_i|.
The checker compares a hand-written gradient with that estimate, either in full (small inputs) or along
a few random directions (a JVP check, v . grad ~ (f(x + h v) - f(x - h v)) / (2 h)).
"""
import numpy as np


def numeric_grad(f, x, eps=1e-6):
    """Central-difference gradient of a scalar function.

    Parameters
    ----------
    f : callable
        Maps an array shaped like ``x`` to a float.
    x : ndarray
        Point at which to differentiate (not modified).
    eps : float
        Relative step; the step for element i is ``eps * max(1, |x_i|)``.

    Returns
    -------
    ndarray, shape of ``x``
    """
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    flat = x.reshape(-1)
    g = grad.reshape(-1)
    for i in range(flat.size):
        h = eps * max(1.0, abs(flat[i]))
        old = flat[i]
        flat[i] = old + h
        f_plus = f(x.copy())
        flat[i] = old - h
        f_minus = f(x.copy())
        flat[i] = old
        g[i] = (f_plus - f_minus) / (2.0 * h)
    return grad


def assert_grad_close(f, grad, x, rtol=1e-5, atol=1e-6, eps=1e-6):
    """Assert that ``grad`` (the hand-written gradient of ``f`` at ``x``) matches central differences.

    Parameters
    ----------
    f : callable
        Scalar function of an array shaped like ``x``.
    grad : ndarray
        The gradient to check, shape of ``x``.
    x : ndarray
        The point.
    rtol, atol : float
        Tolerances of ``numpy.testing.assert_allclose``; the defaults suit float64 central differences
        (truncation error O(eps^2), rounding error O(1e-16 / eps)).
    """
    expected = numeric_grad(f, x, eps=eps)
    np.testing.assert_allclose(np.asarray(grad, dtype=float).reshape(np.shape(x)), expected,
                               rtol=rtol, atol=atol)
