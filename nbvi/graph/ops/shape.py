"""Ops that move elements around: indexing, reshape, transpose, stack and concatenate.

Their VJPs move the gradient back where the elements came from.
"""
import numpy as np

from nbvi.graph.op import Op, normalize_axis


def _static_index(index):
    """Check an index and turn lists into integer arrays; return it as a tuple."""
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    for item in index:
        if isinstance(item, (list, np.ndarray)):
            item = np.asarray(item)
            if item.dtype == bool:
                item = np.flatnonzero(item) if item.ndim == 1 else np.nonzero(item)
                out.extend(item if isinstance(item, tuple) else [item])
                continue
            if item.dtype.kind not in "iu":
                raise TypeError(f"index arrays must hold integers, got dtype {item.dtype}")
            item = item.astype(np.int64)
        elif not (isinstance(item, (int, np.integer, slice)) or item is None or item is Ellipsis):
            raise TypeError(
                f"unsupported index {item!r}: use ints, slices, None, Ellipsis or integer arrays"
            )
        out.append(item)
    return tuple(out)


class GetItem(Op):
    """``x[index]`` with ints, slices, None, Ellipsis and integer arrays (numpy semantics).

    The gradient scatters ``g`` back with ``np.add.at`` so that repeated indices add up.
    """

    name = "getitem"

    def __init__(self, index):
        self.index = _static_index(index)
        self.batched_index = (slice(None),) + self.index
        arrays = [i for i in self.index if isinstance(i, np.ndarray)]
        self.advanced = bool(arrays)
        if self.advanced:
            positions = [k for k, i in enumerate(self.index) if isinstance(i, np.ndarray) or isinstance(i, (int, np.integer))]
            if positions != list(range(positions[0], positions[-1] + 1)):
                # numpy moves the result axes of separated advanced indices to the front, which would
                # swap them with the draw axis
                raise IndexError(
                    f"index {index!r}: integer-array indices must be next to each other (no slice between them)"
                )

    def infer(self, x):
        probe = np.broadcast_to(np.empty(()), x.shape)  # (numpy's message then counts the node's axes)
        try:
            shape = probe[self.index].shape
        except IndexError as err:
            raise IndexError(f"index {self.index!r} does not fit a node of shape {x.shape}: {err}") from None
        return shape, x.dtype

    def forward(self, x):
        return x[self.batched_index]

    def vjp(self, g, out, values, needs):
        grad = np.zeros(values[0].shape)
        if self.advanced:
            np.add.at(grad, self.batched_index, g)  # repeated indices accumulate
        else:
            grad[self.batched_index] = g
        return [grad]


class Reshape(Op):
    """``x.reshape(shape)``; one size may be -1. The draw axis is kept in front."""

    name = "reshape"

    def __init__(self, shape):
        self.new_shape = tuple(int(n) for n in shape)

    def infer(self, x):
        try:
            shape = np.empty(x.shape, dtype=np.int8).reshape(self.new_shape).shape
        except ValueError:
            raise ValueError(f"cannot reshape a node of shape {x.shape} to {self.new_shape}") from None
        return shape, x.dtype

    def forward(self, x):
        return x.reshape((x.shape[0],) + self.new_shape)

    def vjp(self, g, out, values, needs):
        return [g.reshape(values[0].shape)]  # reshaping moves no element: reshape g back


class Transpose(Op):
    """Permute node axes (reverse them when ``axes`` is None)."""

    name = "transpose"

    def __init__(self, axes=None):
        self.axes_arg = axes

    def infer(self, x):
        axes = tuple(reversed(range(x.ndim))) if self.axes_arg is None else tuple(int(a) % max(x.ndim, 1) for a in self.axes_arg)
        if sorted(axes) != list(range(x.ndim)):
            raise ValueError(f"axes {self.axes_arg!r} are not a permutation of the {x.ndim} axes of {x.shape}")
        self.perm = (0,) + tuple(a + 1 for a in axes)
        self.inverse = tuple(np.argsort(self.perm))
        return tuple(x.shape[a] for a in axes), x.dtype

    def forward(self, x):
        return x.transpose(self.perm)

    def vjp(self, g, out, values, needs):
        return [g.transpose(self.inverse)]  # the inverse permutation puts every element back


class Concatenate(Op):
    """Join nodes along an existing axis."""

    name = "concatenate"

    def __init__(self, axis=0):
        self.axis_arg = axis

    def infer(self, *xs):
        if not xs:
            raise ValueError("concatenate needs at least one node")
        ndim = xs[0].ndim
        if ndim == 0 or any(x.ndim != ndim for x in xs):
            raise ValueError(f"concatenate needs nodes of equal rank >= 1, got shapes {[x.shape for x in xs]}")
        (axis,) = normalize_axis(self.axis_arg, ndim)
        for x in xs[1:]:
            if any(n != m for k, (n, m) in enumerate(zip(x.shape, xs[0].shape)) if k != axis):
                raise ValueError(
                    f"concatenate along axis {axis}: shapes {xs[0].shape} and {x.shape} differ elsewhere"
                )
        self.value_axis = axis + 1
        shape = list(xs[0].shape)
        shape[axis] = sum(x.shape[axis] for x in xs)
        return tuple(shape), np.result_type(*[x.dtype for x in xs])

    def forward(self, *xs):
        draws = max(x.shape[0] for x in xs)
        xs = [x if x.shape[0] == draws else np.broadcast_to(x, (draws,) + x.shape[1:]) for x in xs]
        return np.concatenate(xs, axis=self.value_axis)

    def vjp(self, g, out, values, needs):
        bounds = np.cumsum([v.shape[self.value_axis] for v in values])[:-1]
        pieces = np.split(g, bounds, axis=self.value_axis)
        return [
            (p if p.shape[0] == v.shape[0] else p.sum(axis=0, keepdims=True)) if need else None
            for p, v, need in zip(pieces, values, needs)
        ]


class Stack(Op):
    """Join nodes of equal shape along a new axis."""

    name = "stack"

    def __init__(self, axis=0):
        self.axis_arg = axis

    def infer(self, *xs):
        if not xs:
            raise ValueError("stack needs at least one node")
        if any(x.shape != xs[0].shape for x in xs):
            raise ValueError(f"stack needs nodes of equal shape, got {[x.shape for x in xs]}")
        (axis,) = normalize_axis(self.axis_arg, xs[0].ndim + 1)
        self.value_axis = axis + 1
        shape = xs[0].shape[:axis] + (len(xs),) + xs[0].shape[axis:]
        return shape, np.result_type(*[x.dtype for x in xs])

    def forward(self, *xs):
        draws = max(x.shape[0] for x in xs)
        xs = [x if x.shape[0] == draws else np.broadcast_to(x, (draws,) + x.shape[1:]) for x in xs]
        return np.stack(xs, axis=self.value_axis)

    def vjp(self, g, out, values, needs):
        grads = []
        for k, (v, need) in enumerate(zip(values, needs)):
            if not need:
                grads.append(None)
                continue
            p = np.take(g, k, axis=self.value_axis)
            grads.append(p if p.shape[0] == v.shape[0] else p.sum(axis=0, keepdims=True))
        return grads
