"""The joint log-density of an elementwise model and its gradient, as one compiled loop.

The plan (:class:`~nbvi.fused.density.FusedDensity`) describes the model with a few arrays:

* per element k of the flat unconstrained vector theta: its transform number and bounds;
* per term, a row of ``terms`` (int64): ``[mode, family, n, rows, kind_0, offset_0, stride_0, map_0, ...,
  kind_3, offset_3, stride_3, map_3]``, the value then up to three parameters. Element j of operand i is
  read from ``x[p]`` (kind FREE: the constrained value of a free variable) or ``consts[p]`` (kind CONST: a
  constant or data) at ``p = offset_i + stride_i j + index[map_i + (map_i > 0) j]``: stride 1 and map 0 for
  an operand of the term's whole shape, stride 0 and map 0 for one number (``index[0]`` is 0), stride 0
  and map > 0 for an operand broadcast along some axes only, whose positions are listed in
  ``index[map_i:map_i + n]``. The formula has no branch, which keeps the loop over elements tight.
  A term of mode ELEMENTWISE sums ``family_logp_grad`` over its n elements; a term of mode NORMAL_COLUMNS
  is a Normal likelihood of data whose n columns are summarised by their mean and sum of squared
  deviations over ``rows`` rows, read from ``stats[offset_0 + j]`` and ``stats[offset_0 + n + j]``;
* ``scales``: each term's factor (minibatch ``total_size`` scaling).

Per draw, the kernel maps theta to x, adds every term and its partial derivatives with respect to x, and
pushes them back to theta through the transforms.
"""
import numpy as np
from numba import njit

from nbvi.distributions.normal import normal_column_logp_grad
from nbvi.fused.families import family_logp_grad
from nbvi.fused.transforms import transform_backward

ELEMENTWISE, NORMAL_COLUMNS = 0, 1  # term modes
UNUSED, FREE, CONST = 0, 1, 2  # operand kinds
OPERANDS = 4  # the value and up to three parameters
FIRST_OPERAND = 4  # column of kind_0 in a term's row
TERM_COLUMNS = FIRST_OPERAND + 4 * OPERANDS


@njit(cache=True, inline="always")
def _where(term, i, j, index):
    """(kind, position) of element j of operand i of a term."""
    c = FIRST_OPERAND + 4 * i
    start = term[c + 3]  # 0 for an operand read with its stride (index[0] is 0), else where its positions start
    return term[c], term[c + 1] + term[c + 2] * j + index[start + min(start, 1) * j]


@njit(cache=True, inline="always")
def _read(term, i, j, x, consts, index):
    kind, position = _where(term, i, j, index)
    if kind == FREE:
        return x[position]
    if kind == CONST:
        return consts[position]
    return 0.0


@njit(cache=True, inline="always")
def _add_grad(term, i, j, partial, g_x, index):
    """g_x += partial where operand i of element j is a free variable (constants have no gradient)."""
    kind, position = _where(term, i, j, index)
    if kind == FREE:
        g_x[position] += partial


@njit(cache=True)
def _elementwise_term(term, scale, x, consts, index, g_x):
    """sum_j log p(value_j | params_j) times ``scale``; adds scale * partials to g_x."""
    family, n = term[1], term[2]
    total = 0.0
    for j in range(n):
        lp, d_x, d_a, d_b, d_c = family_logp_grad(
            family, _read(term, 0, j, x, consts, index), _read(term, 1, j, x, consts, index),
            _read(term, 2, j, x, consts, index), _read(term, 3, j, x, consts, index))
        total += lp
        _add_grad(term, 0, j, scale * d_x, g_x, index)
        _add_grad(term, 1, j, scale * d_a, g_x, index)
        _add_grad(term, 2, j, scale * d_b, g_x, index)
        _add_grad(term, 3, j, scale * d_c, g_x, index)
    return scale * total


@njit(cache=True)
def _normal_columns_term(term, scale, x, consts, index, stats, g_x):
    """A Normal likelihood from per-column statistics (see :func:`normal_column_logp_grad`), times ``scale``."""
    n_cols, n_rows, offset = term[2], term[3], term[FIRST_OPERAND + 1]
    total = 0.0
    for j in range(n_cols):
        lp, d_mu, d_sigma = normal_column_logp_grad(
            stats[offset + j], stats[offset + n_cols + j], n_rows,
            _read(term, 1, j, x, consts, index), _read(term, 2, j, x, consts, index))
        total += lp
        _add_grad(term, 1, j, scale * d_mu, g_x, index)
        _add_grad(term, 2, j, scale * d_sigma, g_x, index)
    return scale * total


@njit(cache=True, error_model="numpy")
def fused_logp_dlogp(theta, transform, lower, upper, terms, scales, consts, index, stats, logp, grad):
    """Joint log-density in unconstrained space and its gradient at D points.

    Parameters
    ----------
    theta : (D, ndim) unconstrained points
    transform : int64 (ndim,), lower, upper : (ndim,)
        Each element's transform number and bounds (see :mod:`nbvi.fused.transforms`).
    terms : int64 (T, TERM_COLUMNS), scales : (T,), consts : (M,), index : int64 (I,), stats : (P,)
        The plan (module docstring).
    logp : (D,), grad : (D, ndim)
        Outputs: log p(theta_d) including the log-Jacobians, and its gradient.
    """
    draws, ndim = theta.shape
    x = np.empty(ndim)
    dx_du = np.empty(ndim)
    dlog_jac = np.empty(ndim)
    g_x = np.empty(ndim)
    for d in range(draws):
        total = 0.0
        for k in range(ndim):
            x[k], log_jac, dx_du[k], dlog_jac[k] = transform_backward(transform[k], theta[d, k], lower[k], upper[k])
            total += log_jac
            g_x[k] = 0.0
        for t in range(terms.shape[0]):
            if terms[t, 0] == NORMAL_COLUMNS:
                total += _normal_columns_term(terms[t], scales[t], x, consts, index, stats, g_x)
            else:
                total += _elementwise_term(terms[t], scales[t], x, consts, index, g_x)
        logp[d] = total
        for k in range(ndim):
            grad[d, k] = dx_du[k] * g_x[k] + dlog_jac[k]  # chain rule through x = backward(u), plus d log|J|/du

