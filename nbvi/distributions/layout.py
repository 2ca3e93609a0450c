"""How batched arguments of a log-density are laid out for a numba kernel, and the kernels' index helpers.

A log-density term ``logp(value, *params)`` receives batched arrays ``(D_i, *s_i)``: each with 1 or D
draws and shapes that broadcast together to ``B``. Scalar families (Normal, Gamma, ...) evaluate it with
one of two kernels, both written per family next to its math:

* the **elementwise kernel** takes every argument as a 2-D array ``(D_i, n_i)`` with ``n_i`` either 1
  (the argument is the same for every element) or ``n = prod(B)``; it returns the log-density summed per
  draw and, for every argument, the gradient summed over the elements that argument was broadcast to;
* the **rows kernel** serves observed data too large to copy: the value is ``(R, C)`` (rows x the trailing
  axes), every parameter is ``(D_i, C_i)`` with ``C_i`` in {1, C} and is shared by all rows. It runs in
  parallel over blocks of rows, computing log-density and parameter gradients in one pass, without
  temporaries of the data's size.

This module turns batched arguments into those layouts and back.
"""
import numpy as np
from numba import njit

from nbvi.graph.op import lift

# Observed terms with at least this many elements use the rows kernel (below it, threads cost more than
# they save).
ROWS_KERNEL_MIN_SIZE = 16384


@njit(cache=True, inline="always")
def at(a, d, j):
    """``a[d, j]`` of a 2-D kernel argument whose axes may have length 1 (broadcast)."""
    return a[min(d, a.shape[0] - 1), min(j, a.shape[1] - 1)]


@njit(cache=True, inline="always")
def spot(a, j):
    """Column index into an argument of 1 or many columns."""
    return min(j, a.shape[1] - 1)


@njit(cache=True)
def row_blocks(n_rows, n_blocks):
    """Boundaries of ``n_blocks`` contiguous blocks of rows (as equal as possible), shape (n_blocks + 1,)."""
    bounds = np.empty(n_blocks + 1, dtype=np.int64)
    for b in range(n_blocks + 1):
        bounds[b] = (n_rows * b) // n_blocks
    return bounds


def lifted(values):
    """Lift batched arguments to a common rank; return them and the broadcast shape ``B`` (no draw axis)."""
    rank = max(v.ndim for v in values) - 1
    values = [lift(np.asarray(v, dtype=np.float64), rank) for v in values]
    shape = np.broadcast_shapes(*[v.shape[1:] for v in values])
    return values, shape


def as_columns(value, shape, n):
    """One lifted argument as a contiguous ``(D_i, 1)`` or ``(D_i, n)`` array for the elementwise kernel."""
    if value[0].size == 1:
        return np.ascontiguousarray(value.reshape(value.shape[0], 1))
    if value.shape[1:] != shape:  # broadcast along some axes only: copy it out to full size
        value = np.broadcast_to(value, value.shape[:1] + shape)
    return np.ascontiguousarray(value.reshape(value.shape[0], n))


def from_columns(grad, value, original_shape, shape):
    """A kernel gradient ``(D, 1)`` or ``(D, n)`` back to a per-draw gradient of the argument's shape.

    Parameters
    ----------
    grad : ndarray (D, n_i)
    value : ndarray, the lifted argument
    original_shape : tuple, the argument's batched shape before lifting
    shape : tuple, broadcast shape B
    """
    draws = grad.shape[0]
    if grad.shape[1] == 1 and value[0].size == 1:
        return grad.reshape((draws,) + original_shape[1:])
    full = grad.reshape((draws,) + shape)
    summed = full.sum(axis=tuple(i + 1 for i, (m, k) in enumerate(zip(value.shape[1:], shape)) if m == 1 and k != 1), keepdims=True)
    return summed.reshape((draws,) + original_shape[1:])


def rows_split(value, params, shape):
    """Where the trailing axes begin when every parameter is shared by all leading rows of an observed value.

    Returns the number of leading axes (``r``) such that all parameters have length 1 along axes ``< r``
    (rows = prod of those axes), or None when the value is not observed data the rows kernel can serve.
    """
    if value.shape[0] != 1 or value.shape[1:] != shape:
        return None
    r = 0
    while r < len(shape) and all(p.shape[1 + r] == 1 for p in params):
        r += 1
    return r if r > 0 else None


def as_row_params(param, shape, r):
    """A parameter lifted to ``(D_i, 1, ..., 1, *trailing)`` as a ``(D_i, C_i)`` array, C_i in {1, C}."""
    trailing = shape[r:]
    core = param.reshape(param.shape[:1] + param.shape[1 + r:])
    if core[0].size == 1:
        return np.ascontiguousarray(core.reshape(core.shape[0], 1))
    if core.shape[1:] != trailing:
        core = np.broadcast_to(core, core.shape[:1] + trailing)
    return np.ascontiguousarray(core.reshape(core.shape[0], -1))
