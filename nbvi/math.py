"""Math on graph nodes, by the names users know from NumPy, Theano's ``tt`` and ``pm.math``.

Every function accepts nodes, numbers or arrays and returns a node; all are differentiable except the
comparisons and ``argmax`` / ``argmin``, which are forward only.
"""
from nbvi.graph.ops import (  # noqa: F401 - re-exported names
    abs,
    add,
    argmax,
    argmin,
    clip,
    concatenate,
    cos,
    div,
    dot,
    eq,
    erf,
    exp,
    expm1,
    ge,
    gt,
    le,
    log,
    log1p,
    log_softmax,
    logsumexp,
    lt,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mul,
    neg,
    neq,
    pow,
    reshape,
    sigmoid,
    sin,
    softmax,
    softplus,
    sqrt,
    square,
    stack,
    sub,
    sum,
    tan,
    tanh,
    transpose,
    var,
    where,
)

invlogit = sigmoid


def logit(p):
    """log(p / (1 - p)), the inverse of :func:`invlogit`."""
    return log(p) - log1p(-p)
