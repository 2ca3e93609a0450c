"""How batched arguments of a log-density are laid out for a numba kernel, and the kernels' index helpers.

A log-density term ``logp(value, *params)`` receives batched arrays ``(D_i, *s_i)``: each with 1 or D
draws and shapes that broadcast together to ``B``. Scalar families (Normal, Gamma, ...) evaluate it with
one of two kernels, both written per family next to its math:

* the **elementwise kernel** takes every argument as a 2-D array ``(D_i, n_i)`` with ``n_i`` either 1
  (the argument is the same for every element) or ``n = prod(B)``; it returns the log-density summed per
  draw and, for every argument, the gradient summed over the elements that argument was broadcast to;
* the **rows kernel** serves observed data too large to copy: it takes the data as ``(N, C)`` (rows x the
  trailing axes) and an index ``rows`` (R,) of the rows the term covers, every parameter is ``(D_i, C_i)``
  with ``C_i`` in {1, C} and is shared by all rows. A full-data term passes every row (``arange(N)``); a
  minibatch term passes the positions drawn for this step and the kernel reads those rows in place from
  the full array, so the batch is never copied out. It runs in parallel over blocks of rows, computing
  log-density and parameter gradients in one pass, without temporaries of the data's size.

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


class KernelLayout:
    """The plan that moves batched arguments of fixed shapes into a kernel's layout and gradients back.

    Made once per combination of argument shapes (they are static during a fit), so evaluating a term
    costs only a few reshapes around the kernel call.

    Parameters
    ----------
    shapes : list of tuple
        Batched shapes ``(D_i, *s_i)`` of the value then the parameters.
    use_rows : bool
        Whether the family has a rows kernel and the value's gradient is not needed.
    in_place : bool
        The value is a minibatch that the rows kernel reads in place: rows along its first axis only
        (the axis its index draws), used at any size.

    Attributes
    ----------
    rows : bool
        Rows mode: the value is ``(R, C)`` and ``all_rows`` (R,) indexes every row.
    """

    def __init__(self, shapes, use_rows, in_place=False):
        rank = max(len(s) for s in shapes) - 1
        lifted = [s[:1] + (1,) * (rank + 1 - len(s)) + s[1:] for s in shapes]
        shape = tuple(np.broadcast_shapes(*[s[1:] for s in lifted]))
        self.draws = max(s[0] for s in shapes)
        self.n = int(np.prod(shape, dtype=np.int64))
        split = 0
        max_split = 1 if in_place else rank
        # in place, the value's own first axis must be the row axis: a parameter of higher rank would make
        # the first lifted axis a padding axis of the value
        own_rows = not in_place or len(shapes[0]) == rank + 1
        if (use_rows and own_rows and (in_place or self.n >= ROWS_KERNEL_MIN_SIZE) and lifted[0][0] == 1
                and lifted[0][1:] == shape):
            while split < max_split and all(s[1 + split] == 1 for s in lifted[1:]):
                split += 1
        self.rows = split > 0
        self.trailing = shape[split:]
        self.columns = int(np.prod(self.trailing, dtype=np.int64))
        self.value_rows = (int(np.prod(shape[:split], dtype=np.int64)), self.columns)
        self.all_rows = np.arange(self.value_rows[0]) if self.rows else None
        self.specs = [self._spec(s, lf, split) for s, lf in zip(shapes, lifted)]
        # the static shapes each argument takes for the kernel and each gradient takes back (made once here,
        # so that a call only reshapes)
        self.kernel_shapes = [self.value_rows if k == 0 and self.rows else (s[0], 1 if kind == "one" else self.columns)
                              for k, (s, (kind, *_)) in enumerate(zip(shapes, self.specs))]
        self.grad_shapes = [(self.draws,) + s[1:] for s in shapes]

    def _spec(self, shape, lifted, split):
        """How one argument is laid out: 'one' value per draw, 'full' size, or 'partial' (copied to full)."""
        core = lifted[:1] + lifted[1 + split:]
        if int(np.prod(core[1:], dtype=np.int64)) == 1:
            kind = "one"
        elif core[1:] == self.trailing:
            kind = "full"
        else:
            kind = "partial"
        sum_axes = tuple(i + 1 for i, (m, k) in enumerate(zip(core[1:], self.trailing)) if m == 1 and k != 1)
        return kind, shape, core, sum_axes

    def to_kernel(self, values):
        """Arguments as contiguous 2-D arrays: ``(D_i, 1)`` or ``(D_i, n)``; in rows mode the value is ``(R, C)``
        (None for a minibatch that its rows kernel reads in place)."""
        out = []
        for v, target, (kind, _shape, core, _) in zip(values, self.kernel_shapes, self.specs):
            if v is None:
                out.append(None)
            elif kind == "partial":  # broadcast along some axes: copy it out to full size
                full = np.broadcast_to(v.reshape(core), core[:1] + self.trailing)
                out.append(np.ascontiguousarray(full).reshape(target))
            else:
                out.append(np.ascontiguousarray(v).reshape(target))
        return out

    def from_kernel(self, grads, needs):
        """Kernel gradients ``(D, 1)`` / ``(D, n)`` back to per-draw gradients ``(D, *s_i)`` (None where not needed)."""
        out = []
        for g, need, target, (kind, _shape, _core, sum_axes) in zip(grads, needs, self.grad_shapes, self.specs):
            if g is None or not need:
                out.append(None)
            elif kind == "partial":
                out.append(g.reshape((g.shape[0],) + self.trailing).sum(axis=sum_axes, keepdims=True).reshape(target))
            else:
                out.append(g.reshape(target))
        return out


# ---------------------------------------------------------------------------------------------------------
# Layout of arguments with core axes: value and parameters (D_i, *batch_i, *core_i), batch axes broadcast
# ---------------------------------------------------------------------------------------------------------


def core_lifted(values, ndims):
    """Align batched arguments whose last ``ndims[i]`` axes are core axes.

    A node with fewer axes than its core (a scalar sigma where a vector of K is expected) gets trailing
    axes of length 1; then the batch parts are lifted to a common rank (axes inserted after the draw axis).

    Returns
    -------
    lifted : list of ndarray, each ``(D_i, *b_i, *c_i)`` with ``len(b_i) == len(B)``
    shape : tuple, the broadcast batch shape B
    """
    padded = []
    for v, k in zip(values, ndims):
        v = np.asarray(v)
        missing = k - (v.ndim - 1)
        if missing > 0:
            v = v.reshape(v.shape + (1,) * missing)
        padded.append(v)
    rank = max(v.ndim - 1 - k for v, k in zip(padded, ndims))
    lifted = [lift(v, rank + k) for v, k in zip(padded, ndims)]
    shape = np.broadcast_shapes(*[v.shape[1:1 + rank] for v in lifted])
    return lifted, tuple(shape)


def core_columns(value, shape, n):
    """A lifted argument as a contiguous ``(D_i, n_i, *core)`` array, ``n_i`` in {1, n = prod(B)}."""
    batch = value.shape[1:1 + len(shape)]
    core = value.shape[1 + len(shape):]
    if int(np.prod(batch, dtype=np.int64)) == 1:
        return np.ascontiguousarray(value.reshape((value.shape[0], 1) + core))
    if batch != shape:  # broadcast along some batch axes only: copy it out to full size
        value = np.broadcast_to(value, value.shape[:1] + shape + core)
    return np.ascontiguousarray(value.reshape((value.shape[0], n) + core))


def sum_to(grad, lifted, original_shape):
    """Sum a per-draw gradient ``(D, ...)`` (rank of ``lifted``) over the axes ``lifted`` was broadcast along,
    and give it the argument's own batched shape ``(D, *original_shape[1:])``."""
    axes = tuple(i for i in range(1, grad.ndim) if lifted.shape[i] == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape((grad.shape[0],) + tuple(original_shape[1:]))


def from_core_columns(grad, lifted, original_shape, shape):
    """A kernel gradient ``(D, n_i, *core_i)`` back to ``(D, *original_shape[1:])``."""
    if grad.shape[1] == 1 and int(np.prod(lifted.shape[1:1 + len(shape)], dtype=np.int64)) == 1:
        full = grad.reshape((grad.shape[0],) + (1,) * len(shape) + grad.shape[2:])
    else:
        full = grad.reshape((grad.shape[0],) + tuple(shape) + grad.shape[2:])
    return sum_to(full, lifted, original_shape)
