"""Nodes of the expression graph.

A :class:`Node` is a value in a computation: a leaf (a constant, data, a random variable, a parameter of an
approximation) or the output of an :class:`~nbvi.graph.op.Op` applied to other nodes. Every node knows its
static ``shape`` and ``dtype`` when it is built, so a model can be checked before anything runs.

During evaluation every value carries a leading *draw axis*: a node of shape ``(3, 4)`` evaluated at
D points is an array of shape ``(D, 3, 4)``; constants and data carry ``D = 1`` and broadcast.
"""
import numpy as np

from nbvi import arguments
from nbvi.config import floatX


class Node:
    """A value in the expression graph.

    Parameters
    ----------
    shape : tuple of int
        Static shape, without the draw axis.
    dtype : numpy dtype or str
        Element type: float64 for anything differentiable, int64 or bool for indices and comparisons.
    op : Op or None
        The operation that computes this node; None for a leaf.
    inputs : tuple of Node
        The op's inputs.
    name : str or None
        A name for messages.
    """

    __array_ufunc__ = None  # `array * node` defers to Node.__rmul__ instead of looping over the array

    def __init__(self, shape, dtype=floatX, op=None, inputs=(), name=None):
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        self.op = op
        self.inputs = tuple(inputs)
        self.name = name

    # -- description ---------------------------------------------------------------------------------
    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))

    def __repr__(self):
        what = self.name or (self.op.name if self.op is not None else type(self).__name__)
        return f"<{type(self).__name__} {what} shape={self.shape} dtype={self.dtype}>"

    def __len__(self):
        if not self.shape:
            raise TypeError(f"len() of a 0-d node {self!r}")
        return self.shape[0]

    def __iter__(self):
        raise TypeError(f"{self!r} is a graph node, not an array: index it or call .eval()")

    def __bool__(self):
        raise TypeError(f"the truth value of graph node {self!r} is unknown until it is evaluated")

    __hash__ = object.__hash__  # == builds a node, so identity hashing must be restored explicitly

    # -- evaluation ------------------------------------------------------------------------------------
    def eval(self, replacements=None):
        """Evaluate this node.

        Parameters
        ----------
        replacements : dict, optional
            Maps nodes to arrays (without draw axis) or to other nodes, evaluated in their place.

        Returns
        -------
        ndarray of this node's shape (sizes may differ when data changed size).
        """
        from nbvi.graph.evaluate import eval_node

        return eval_node(self, replacements)

    # -- arithmetic ------------------------------------------------------------------------------------
    def __add__(self, other):
        return _ops().add(self, other)

    def __radd__(self, other):
        return _ops().add(other, self)

    def __sub__(self, other):
        return _ops().sub(self, other)

    def __rsub__(self, other):
        return _ops().sub(other, self)

    def __mul__(self, other):
        return _ops().mul(self, other)

    def __rmul__(self, other):
        return _ops().mul(other, self)

    def __truediv__(self, other):
        return _ops().div(self, other)

    def __rtruediv__(self, other):
        return _ops().div(other, self)

    def __pow__(self, other):
        return _ops().pow(self, other)

    def __rpow__(self, other):
        return _ops().pow(other, self)

    def __neg__(self):
        return _ops().neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops().abs(self)

    def __matmul__(self, other):
        return _ops().dot(self, other)

    def __rmatmul__(self, other):
        return _ops().dot(other, self)

    # -- comparisons (forward only) --------------------------------------------------------------------
    def __eq__(self, other):
        return _ops().eq(self, other)

    def __ne__(self, other):
        return _ops().neq(self, other)

    def __lt__(self, other):
        return _ops().lt(self, other)

    def __le__(self, other):
        return _ops().le(self, other)

    def __gt__(self, other):
        return _ops().gt(self, other)

    def __ge__(self, other):
        return _ops().ge(self, other)

    # -- methods ---------------------------------------------------------------------------------------
    def dot(self, other):
        return _ops().dot(self, other)

    @property
    def T(self):
        return _ops().transpose(self)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _ops().transpose(self, axes or None)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops().reshape(self, shape)

    def flatten(self):
        return _ops().reshape(self, (-1,))

    def sum(self, axis=None, keepdims=False):
        return _ops().sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return _ops().mean(self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, keepdims=False):
        return _ops().var(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return _ops().max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return _ops().min(self, axis=axis, keepdims=keepdims)

    def argmax(self, axis=None):
        return _ops().argmax(self, axis=axis)

    def argmin(self, axis=None):
        return _ops().argmin(self, axis=axis)

    def __getitem__(self, index):
        return _ops().getitem(self, index)


def _ops():
    # The op library imports this module, so it is looked up when an operator is first used.
    from nbvi.graph import ops

    return ops


class Leaf(Node):
    """A node with no op: its value is supplied (constants, data) or fed at evaluation time."""

    def value(self):
        """The leaf's own value with a draw axis of length 1, or None when it must be fed."""
        return None

    def has_value(self):
        """Whether the leaf supplies its own value (leaves whose value costs work to produce say so
        without producing it)."""
        return self.value() is not None


class Constant(Leaf):
    """A fixed array.

    Parameters
    ----------
    value : array_like
        Copied, so later changes to the caller's array do not leak into the graph. The copy stays
        writable so that numba sees one array type (it compiles read-only arrays separately).
    """

    def __init__(self, value, name=None):
        array = np.array(arguments.real_array(value, f"a constant in the graph{f' ({name})' if name else ''}"))
        if array.dtype.kind == "f":
            array = array.astype(floatX)
        super().__init__(array.shape, array.dtype, name=name)
        self.data = array
        self._batched = array[None]

    def value(self):
        return self._batched


class Placeholder(Leaf):
    """A leaf whose value must be fed when the graph is evaluated (e.g. a point of a model's free variables).

    Parameters
    ----------
    shape : tuple of int
    name : str
    """

    def __init__(self, shape, name=None, dtype=floatX):
        super().__init__(shape, dtype, name=name)


def as_node(x):
    """Return ``x`` if it is a Node, else wrap it in a :class:`Constant`."""
    if isinstance(x, Node):
        return x
    return Constant(x)


def reads(node, predicate):
    """Whether ``node`` or a node it is computed from satisfies ``predicate`` (each node visited once)."""
    seen, stack = set(), [node]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if predicate(current):
            return True
        stack.extend(current.inputs)
    return False
