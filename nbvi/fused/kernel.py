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

COMPILED_SOURCES_DIGEST = "0868908fa0c45f77"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache

ELEMENTWISE, NORMAL_COLUMNS = 0, 1  # term modes
UNUSED, FREE, CONST = 0, 1, 2  # operand kinds
OPERANDS = 4  # the value and up to three parameters
FIRST_OPERAND = 4  # column of kind_0 in a term's row
TERM_COLUMNS = FIRST_OPERAND + 4 * OPERANDS


# Operands are decoded in the loop bodies below, not by helper functions taking ``term``, ``x``, ``consts`` and
# ``index``: for a helper that branches, numba keeps an atomic reference-count increment and decrement per
# array argument and call, which made a cheap term about three times slower (docs/fused.md). For the same reason the term functions read their row of ``terms`` in place and
# get their scratch arrays from the caller: a view or an allocation per call costs a term of one element
# more than its arithmetic.


@njit(cache=True)
def _elementwise_term(terms, t, scale, x, consts, index, g_x, values, positions):
    """sum_j log p(value_j | params_j) of term t times ``scale``; adds scale * partials to g_x.
    ``values`` (OPERANDS,) and ``positions`` int64 (OPERANDS,) are scratch."""
    family, n = terms[t, 1], terms[t, 2]
    total = 0.0
    for j in range(n):
        for i in range(OPERANDS):  # operand i's (kind, offset, stride, map): see the module docstring
            c = FIRST_OPERAND + 4 * i
            kind, start = terms[t, c], terms[t, c + 3]
            p = terms[t, c + 1] + terms[t, c + 2] * j + index[start + min(start, 1) * j]
            positions[i] = p
            values[i] = x[p] if kind == FREE else (consts[p] if kind == CONST else 0.0)
        lp, d_0, d_1, d_2, d_3, _ = family_logp_grad(family, values[0], values[1], values[2], values[3], 0.0)
        total += lp
        # constants have no gradient
        if terms[t, FIRST_OPERAND] == FREE:
            g_x[positions[0]] += scale * d_0
        if terms[t, FIRST_OPERAND + 4] == FREE:
            g_x[positions[1]] += scale * d_1
        if terms[t, FIRST_OPERAND + 8] == FREE:
            g_x[positions[2]] += scale * d_2
        if terms[t, FIRST_OPERAND + 12] == FREE:
            g_x[positions[3]] += scale * d_3
    return scale * total


@njit(cache=True)
def _normal_columns_term(terms, t, scale, x, consts, index, stats, g_x, values, positions):
    """A Normal likelihood from per-column statistics (see :func:`normal_column_logp_grad`) of term t, times
    ``scale``. Operand 0 (the data) is summarised by ``stats``; operands 1 and 2 are mu and sigma."""
    n_cols, n_rows, offset = terms[t, 2], terms[t, 3], terms[t, FIRST_OPERAND + 1]
    total = 0.0
    for j in range(n_cols):
        for i in range(1, 3):
            c = FIRST_OPERAND + 4 * i
            kind, start = terms[t, c], terms[t, c + 3]
            p = terms[t, c + 1] + terms[t, c + 2] * j + index[start + min(start, 1) * j]
            positions[i] = p
            values[i] = x[p] if kind == FREE else (consts[p] if kind == CONST else 0.0)
        lp, d_mu, d_sigma = normal_column_logp_grad(stats[offset + j], stats[offset + n_cols + j], n_rows,
                                                    values[1], values[2])
        total += lp
        if terms[t, FIRST_OPERAND + 4] == FREE:
            g_x[positions[1]] += scale * d_mu
        if terms[t, FIRST_OPERAND + 8] == FREE:
            g_x[positions[2]] += scale * d_sigma
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
    values = np.empty(OPERANDS)  # the terms' scratch
    positions = np.empty(OPERANDS, dtype=np.int64)
    for d in range(draws):
        total = 0.0
        for k in range(ndim):
            x[k], log_jac, dx_du[k], dlog_jac[k] = transform_backward(transform[k], theta[d, k], lower[k], upper[k])
            total += log_jac
            g_x[k] = 0.0
        for t in range(terms.shape[0]):
            if terms[t, 0] == NORMAL_COLUMNS:
                total += _normal_columns_term(terms, t, scales[t], x, consts, index, stats, g_x, values, positions)
            else:
                total += _elementwise_term(terms, t, scales[t], x, consts, index, g_x, values, positions)
        logp[d] = total
        for k in range(ndim):
            grad[d, k] = dx_du[k] * g_x[k] + dlog_jac[k]  # chain rule through x = backward(u), plus d log|J|/du

