"""Ops that move elements around: indexing, reshape, transpose, stack and concatenate.

Their VJPs move the gradient back where the elements came from.
"""
import weakref

import numpy as np

from nbvi.graph.node import Node, reads
from nbvi.graph.op import Op, normalize_axis


class _FromInput:
    """Stands in an index for the value of the op's input ``position`` (an integer node: ``a[group]`` with
    ``group`` a Data), read at every evaluation."""

    __slots__ = ("position",)

    def __init__(self, position):
        self.position = position

    def __repr__(self):
        return f"<index input {self.position}>"


def _label(node):
    """A node as messages name it: ``Data 'g'``, ``Minibatch 'g'``, ``'a'`` or its repr."""
    if node.op is None and node.name and hasattr(node, "set_value"):  # (the graph does not import nbvi.data)
        return f"{'Minibatch' if hasattr(node, 'shared') else 'Data'} '{node.name}'"
    return f"'{node.name}'" if node.name else repr(node)


def _static_index(index):
    """Check an index and turn lists into integer arrays and integer nodes into :class:`_FromInput`
    markers; return (the index as a tuple, the nodes in the order of their markers)."""
    if not isinstance(index, tuple):
        index = (index,)
    out, nodes = [], []
    for item in index:
        if isinstance(item, Node):
            if item.dtype.kind not in "iu":
                kind = "booleans (a mask)" if item.dtype.kind == "b" else f"{item.dtype} values"
                raise TypeError(f"index {_label(item)} holds {kind}: a node used as an index must hold integer "
                                f"positions (e.g. nbvi.Data(name, np.asarray(values, dtype=int)))")
            out.append(_FromInput(len(nodes)))
            nodes.append(item)
            continue
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
                f"unsupported index {item!r}: use ints, slices, None, Ellipsis, integer arrays or integer nodes "
                f"(Data, Minibatch)"
            )
        out.append(item)
    return tuple(out), nodes


def _indexed_axes(index, ndim):
    """The axis of x that each entry of ``index`` reads (None for None and Ellipsis)."""
    used = sum(1 for item in index if item is not None and item is not Ellipsis)
    axes, axis = [], 0
    for item in index:
        if item is Ellipsis:
            axes.append(None)
            axis += max(ndim - used, 0)
        elif item is None:
            axes.append(None)
        else:
            axes.append(axis)
            axis += 1
    return axes


def _reads_data(node):
    """Whether ``node`` is or reads a Data (a leaf that checks its index uses), whose rows may change."""
    return reads(node, lambda current: current.op is None and hasattr(current, "_index_uses"))


class GetItem(Op):
    """``x[index]`` with ints, slices, None, Ellipsis, integer arrays and integer nodes (numpy semantics).

    An integer node in the index (``a[group]`` with ``group`` a Data or a Minibatch of positions) is an input
    of the op, read at every evaluation: after ``group.set_value(...)`` the node reads the new positions
    (another number of them too). Its positions must lie in ``0 .. n-1`` (n: the length of the axis it
    indexes; no wraparound of negatives): a value outside is refused by ``set_value`` and by the evaluation,
    with both nodes named.

    The gradient scatters ``g`` back with ``np.add.at`` so that repeated indices add up; an index gets none.
    """

    name = "getitem"

    def __init__(self, index):
        self.index, self.index_nodes = _static_index(index)
        self.batched_index = (slice(None),) + self.index
        arrays = [i for i in self.index if isinstance(i, (np.ndarray, _FromInput))]
        self.advanced = bool(arrays)
        if self.advanced:
            positions = [k for k, i in enumerate(self.index)
                         if isinstance(i, (np.ndarray, _FromInput)) or isinstance(i, (int, np.integer))]
            if positions != list(range(positions[0], positions[-1] + 1)):
                # numpy moves the result axes of separated advanced indices to the front, which would
                # swap them with the draw axis
                raise IndexError(
                    f"index {index!r}: integer-array indices must be next to each other (no slice between them)"
                )

    def __call__(self, x, *index_nodes):
        # (clone calls a copy of the op with all its inputs, the index nodes included)
        return super().__call__(x, *(index_nodes or self.index_nodes))

    def infer(self, x, *index_nodes):
        probe = np.broadcast_to(np.empty(()), x.shape)  # (numpy's message then counts the node's axes)
        static = tuple(np.zeros(index_nodes[i.position].shape, dtype=np.int64) if isinstance(i, _FromInput) else i
                       for i in self.index)
        try:
            shape = probe[static].shape
        except IndexError as err:
            raise IndexError(f"index {self.index!r} does not fit a node of shape {x.shape}: {err}") from None
        if index_nodes:
            self._watch_index_nodes(x, index_nodes)
        return shape, x.dtype

    # -- integer nodes in the index ----------------------------------------------------------------------
    def _watch_index_nodes(self, x, index_nodes):
        """Note what checks the index nodes' positions need, check the current ones, and have the Data they
        come from check any new value (``Data.set_value`` asks :meth:`check_positions`)."""
        self.x_label = _label(x)
        axes = _indexed_axes(self.index, x.ndim)
        by_position = {i.position: axis for i, axis in zip(self.index, axes) if isinstance(i, _FromInput)}
        fixed_sizes = not _reads_data(x)
        self.index_checks = []  # (node, label, axis of x, its length when static else None)
        for position, node in enumerate(index_nodes):
            axis = by_position[position]
            self.index_checks.append((node, _label(node), axis, x.shape[axis] if fixed_sizes else None))
            storage = getattr(node, "shared", node)  # a Minibatch's positions come from its storage
            if hasattr(storage, "_index_uses"):  # a Data (or a Minibatch's): its current and future values
                self.check_positions(storage, storage._value)
                self._register_with(storage)

    def _register_with(self, data):
        """Have ``data`` ask this op to check its new values (once; uses whose node is gone are dropped)."""
        uses = [ref for ref in data._index_uses if ref() is not None]
        if not any(ref() is self for ref in uses):
            uses.append(weakref.ref(self))
        data._index_uses[:] = uses

    def __setstate__(self, state):
        # an unpickled Data has forgotten its uses (weak references do not pickle): tell it again
        self.__dict__.update(state)
        for node, *_rest in getattr(self, "index_checks", ()):
            storage = getattr(node, "shared", node)
            if hasattr(storage, "_index_uses"):
                self._register_with(storage)

    def check_positions(self, data, array):
        """Raise TypeError or IndexError, naming ``data`` and x, unless ``array`` (a value of ``data``, an index
        node of this op or a Minibatch's storage) holds integer positions inside the axis it indexes."""
        for node, label, axis, length in self.index_checks:
            if node is data or getattr(node, "shared", None) is data:
                self._check(array, label, axis, length, "the new value", after="; the old value is kept")

    def _check(self, positions, label, axis, length, what, after=""):
        if positions.dtype.kind not in "iu":
            kind = "booleans" if positions.dtype.kind == "b" else f"{positions.dtype} values"
            raise TypeError(f"{label}, the index of {self.x_label} along axis {axis}: {what} holds {kind}, "
                            f"not integer positions{after}")
        if positions.size == 0:
            return
        low, high = positions.min(), positions.max()
        if low < 0 or (length is not None and high >= length):
            bad, why = (low, " (negative positions do not wrap around)") if low < 0 else (high, "")
            raise IndexError(f"{label}, the index of {self.x_label} along axis {axis}: {what} holds the position "
                             f"{bad}, outside 0..{'n-1' if length is None else length - 1}{why}{after}")

    def batched_index_of(self, x, index_values):
        """The numpy index of the batched ``x`` (D, *shape): the draw axis, then the index with the values of
        the index nodes (batched, a draw axis of length 1) checked and put in."""
        if not self.index_nodes:
            return self.batched_index
        index = list(self.batched_index)
        for k, item in enumerate(self.index):
            if isinstance(item, _FromInput):
                value = index_values[item.position]
                _node, label, axis, _length = self.index_checks[item.position]
                if value.shape[0] != 1:
                    raise ValueError(f"{label}, the index of {self.x_label}: its positions differ between "
                                     f"draws; an index must be the same at every point")
                self._check(value, label, axis, x.shape[1 + axis], "the value")
                index[1 + k] = value[0]
        return tuple(index)

    def forward(self, x, *index_values):
        return x[self.batched_index_of(x, index_values)]

    def vjp(self, g, out, values, needs):
        index = self.batched_index_of(values[0], values[1:])
        grad = np.zeros(values[0].shape)
        if self.advanced:
            np.add.at(grad, index, g)  # repeated indices accumulate: d/dx_p sum_j g_j [index_j = p]
        else:
            grad[index] = g  # each element of x read at most once
        return [grad] + [None] * len(self.index_nodes)  # positions are not differentiable


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
