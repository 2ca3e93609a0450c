"""The Op base class and the two helpers every op shares: aligning ranks and summing broadcast axes.

An op computes a node's value from its inputs' values (``forward``) and pushes a gradient back to its
inputs (``vjp``, the vector-Jacobian product). Values are *batched*: an input of node shape ``s`` arrives
as an array of shape ``(D_i, *s)`` with ``D_i`` either 1 or the number of points D. Ops are written once
for such arrays.
"""
import numpy as np


class NonDifferentiableError(TypeError):
    """A gradient was asked through an op that has none (argmax, comparisons)."""


class Op:
    """Base class of all operations.

    Subclasses set ``name``, implement ``infer(*input_nodes) -> (shape, dtype)`` for the static output,
    ``forward(*values) -> value`` and, when differentiable, ``vjp(g, out, values, needs) -> list``: the
    gradient of a scalar loss with respect to each input, given ``g`` (its gradient with respect to the
    output, shape of ``out``); an entry is None where ``needs[i]`` is False.

    An op may read a leaf input itself instead of receiving its value (``in_place_inputs``): a minibatch
    term's rows kernel reads the drawn rows straight from the full data, so the batch is never copied.
    """

    name = "op"
    differentiable = True

    def in_place_inputs(self, input_nodes):
        """Positions of inputs this op reads from the node itself: it then receives the node, not a value."""
        return ()

    def vjp(self, g, out, values, needs):
        raise NonDifferentiableError(
            f"'{self.name}' has no gradient: it is piecewise constant (the gradient would be zero or "
            f"undefined). Keep it out of the log-density, or wrap its result in a constant."
        )

    def __call__(self, *inputs):
        from nbvi.graph.node import Node, as_node

        inputs = [as_node(x) for x in inputs]
        shape, dtype = self.infer(*inputs)
        return Node(shape, dtype, op=self, inputs=inputs)

    def __repr__(self):
        return self.name


def lift(value, ndim):
    """View a batched value of node rank ``value.ndim - 1`` as rank ``ndim`` by inserting axes after the draw axis.

    ``(D, 3)`` lifted to node rank 2 is ``(D, 1, 3)``, so that numpy's right-aligned broadcasting matches
    node shapes and never pairs the draw axis with a data axis.
    """
    missing = ndim - (value.ndim - 1)
    if missing <= 0:
        return value
    return value.reshape(value.shape[:1] + (1,) * missing + value.shape[1:])


def unbroadcast(g, shape):
    """Sum ``g`` down to ``shape``: the reverse of broadcasting (and of :func:`lift`).

    Parameters
    ----------
    g : ndarray, shape (D, *out_shape)
        A gradient with respect to a broadcast result.
    shape : tuple
        The batched shape of the input, ``(D_i, *s)``, with ``len(s) <= len(out_shape)``.

    Returns
    -------
    ndarray of shape ``shape``.
    """
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra > 0:  # axes that lift() inserted after the draw axis
        g = g.sum(axis=tuple(range(1, 1 + extra)))
    axes = tuple(i for i, (n, m) in enumerate(zip(shape, g.shape)) if n == 1 and m != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def broadcast_static(*shapes, what="operands"):
    """numpy's broadcasting of static shapes, with an error that names both shapes."""
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        listed = " and ".join(str(tuple(s)) for s in shapes)
        raise ValueError(f"shapes {listed} of the {what} do not broadcast together") from None


def normalize_axis(axis, ndim):
    """Turn ``axis`` (None, int or tuple, negatives allowed) into a sorted tuple of node axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)) and not isinstance(axis, (bool, np.bool_)):
        axis = (axis,)
    if not isinstance(axis, (tuple, list)) or not all(
            isinstance(a, (int, np.integer)) and not isinstance(a, (bool, np.bool_)) for a in axis):
        raise TypeError(f"axis must be None, an integer or a tuple of integers, got {axis!r}")
    out = []
    for a in axis:
        a = int(a)
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of range for a node of rank {ndim}")
        out.append(a % ndim)
    return tuple(sorted(set(out)))
