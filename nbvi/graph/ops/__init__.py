"""Functions that build op nodes; each call makes a new op instance, which keeps that node's static facts.

``nbvi.math`` re-exports these under the names users know from NumPy and Theano.
"""
import numpy as np

from nbvi.graph.node import as_node
from nbvi.graph.ops import elementwise as ew
from nbvi.graph.ops import reductions as red
from nbvi.graph.ops import special as sf
from nbvi.graph.ops.cumulative import CumProd, CumSum, Diff
from nbvi.graph.ops.linalg import Dot
from nbvi.graph.ops.shape import Concatenate, GetItem, Reshape, Stack, Transpose


def _unary(op_class):
    def build(x):
        return op_class()(x)

    build.__name__ = op_class.name
    build.__doc__ = f"Elementwise ``{op_class.name}`` of a node (or array); differentiable."
    return build


neg = _unary(ew.Neg)
exp = _unary(ew.Exp)
log = _unary(ew.Log)
log1p = _unary(ew.Log1p)
expm1 = _unary(ew.Expm1)
sqrt = _unary(ew.Sqrt)
square = _unary(ew.Square)
abs = _unary(ew.Abs)  # noqa: A001 - the user-facing name mirrors numpy's
sin = _unary(ew.Sin)
cos = _unary(ew.Cos)
tan = _unary(ew.Tan)
tanh = _unary(ew.Tanh)
sigmoid = _unary(ew.Sigmoid)
softplus = _unary(ew.Softplus)
erf = _unary(ew.Erf)
sinh = _unary(ew.Sinh)
cosh = _unary(ew.Cosh)
arcsin = _unary(ew.Arcsin)
arccos = _unary(ew.Arccos)
arctan = _unary(ew.Arctan)
arcsinh = _unary(ew.Arcsinh)
arccosh = _unary(ew.Arccosh)
arctanh = _unary(ew.Arctanh)
erfc = _unary(sf.Erfc)
erfinv = _unary(sf.Erfinv)
gammaln = _unary(sf.Gammaln)
digamma = _unary(sf.Digamma)
log_sigmoid = _unary(sf.LogSigmoid)


def _rounding(op_class):
    build = _unary(op_class)
    build.__doc__ = f"Elementwise ``{op_class.name}`` of a node (or array); its gradient is 0, as in PyMC."
    return build


floor = _rounding(ew.Floor)
ceil = _rounding(ew.Ceil)
round = _rounding(ew.Round)  # noqa: A001 - numpy's name (halves go to the even integer, as numpy's round)
sign = _rounding(ew.Sign)


def log1mexp(x):
    """log(1 - e^x) for x <= 0, accurate near 0 and for very negative x."""
    return sf.Log1mexp()(x)


def add(a, b):
    return ew.Add()(a, b)


def add_n(*xs):
    """Sum of several nodes (one op instead of a chain of additions)."""
    return ew.AddN()(*xs)


def sub(a, b):
    return ew.Sub()(a, b)


def mul(a, b):
    return ew.Mul()(a, b)


def div(a, b):
    return ew.Div()(a, b)


def pow(a, b):  # noqa: A001
    return ew.Pow()(a, b)


def logaddexp(a, b):
    """log(e^a + e^b) without overflow."""
    return sf.LogAddExp()(a, b)


def logdiffexp(a, b):
    """log(e^a - e^b) for b <= a, accurate when b is close to a."""
    return sf.LogDiffExp()(a, b)


def maximum(a, b):
    return ew.Maximum()(a, b)


def minimum(a, b):
    return ew.Minimum()(a, b)


def eq(a, b):
    """Elementwise ``a == b`` (boolean node, no gradient)."""
    return ew.Compare("eq", np.equal)(a, b)


def neq(a, b):
    """Elementwise ``a != b`` (boolean node, no gradient)."""
    return ew.Compare("neq", np.not_equal)(a, b)


def lt(a, b):
    """Elementwise ``a < b`` (boolean node, no gradient)."""
    return ew.Compare("lt", np.less)(a, b)


def le(a, b):
    """Elementwise ``a <= b`` (boolean node, no gradient)."""
    return ew.Compare("le", np.less_equal)(a, b)


def gt(a, b):
    """Elementwise ``a > b`` (boolean node, no gradient)."""
    return ew.Compare("gt", np.greater)(a, b)


def ge(a, b):
    """Elementwise ``a >= b`` (boolean node, no gradient)."""
    return ew.Compare("ge", np.greater_equal)(a, b)


def where(cond, a, b):
    """``a`` where ``cond`` holds, else ``b``; differentiable in ``a`` and ``b``."""
    return ew.Where()(cond, a, b)


def clip(x, lower, upper):
    """Clip ``x`` to [lower, upper] (constant numbers; None for no bound)."""
    return ew.Clip(lower, upper)(x)


def dot(a, b):
    """Matrix product with numpy's ``dot`` meaning for vectors and matrices."""
    return Dot()(a, b)


matmul = dot


def sum(x, axis=None, keepdims=False):  # noqa: A001
    return red.Sum(axis, keepdims)(x)


def prod(x, axis=None, keepdims=False):
    """Product along ``axis``; its gradient is exact where elements are 0."""
    return red.Prod(axis, keepdims)(x)


def cumsum(x, axis=None):
    """Cumulative sum along ``axis`` (None: along the flattened node, as numpy)."""
    return CumSum(axis)(x)


def cumprod(x, axis=None):
    """Cumulative product along ``axis`` (None: along the flattened node, as numpy)."""
    return CumProd(axis)(x)


def diff(x, n=1, axis=-1):
    """The ``n``-th difference along ``axis``: x[1:] - x[:-1], ``n`` times (numpy's ``diff``)."""
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"diff needs an order n >= 0, got {n!r}")
    x = as_node(x)
    for _ in range(n):
        x = Diff(axis)(x)
    return x


def mean(x, axis=None, keepdims=False):
    return red.Mean(axis, keepdims)(x)


def var(x, axis=None, keepdims=False):
    return red.Var(axis, keepdims)(x)


def std(x, axis=None, keepdims=False):
    """Population standard deviation (ddof = 0, numpy's default) along ``axis``."""
    return red.Std(axis, keepdims)(x)


def max(x, axis=None, keepdims=False):  # noqa: A001
    return red.Max(axis, keepdims)(x)


def min(x, axis=None, keepdims=False):  # noqa: A001
    return red.Min(axis, keepdims)(x)


def argmax(x, axis=None):
    """Index of the largest element along ``axis`` (int node, no gradient)."""
    return red.ArgMax(axis)(x)


def argmin(x, axis=None):
    """Index of the smallest element along ``axis`` (int node, no gradient)."""
    return red.ArgMin(axis)(x)


def logsumexp(x, axis=None, keepdims=False):
    return red.LogSumExp(axis, keepdims)(x)


def softmax(x, axis=-1):
    return red.Softmax(axis)(x)


def log_softmax(x, axis=-1):
    return red.LogSoftmax(axis)(x)


def getitem(x, index):
    return GetItem(index)(x)


def reshape(x, shape):
    return Reshape(shape)(x)


def transpose(x, axes=None):
    return Transpose(axes)(x)


def concatenate(xs, axis=0):
    return Concatenate(axis)(*[as_node(x) for x in xs])


def stack(xs, axis=0):
    return Stack(axis)(*[as_node(x) for x in xs])
