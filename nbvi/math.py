"""Math on graph nodes, by the names users know from NumPy, Theano's ``tt`` and ``pm.math``.

Every function accepts nodes, numbers or arrays and returns a node; all are differentiable except the
comparisons and ``argmax`` / ``argmin``, which are forward only. ``floor``, ``ceil``, ``round`` and ``sign``
have the gradient 0 (as in PyMC).
"""
from nbvi.graph.ops import (  # noqa: F401 - re-exported names
    abs,
    add,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctanh,
    argmax,
    argmin,
    ceil,
    clip,
    concatenate,
    cos,
    cosh,
    cumprod,
    cumsum,
    diff,
    digamma,
    div,
    dot,
    eq,
    erf,
    erfc,
    erfinv,
    exp,
    expm1,
    floor,
    gammaln,
    ge,
    gt,
    le,
    log,
    log1p,
    log_sigmoid,
    log_softmax,
    logaddexp,
    logdiffexp,
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
    prod,
    reshape,
    round,
    sigmoid,
    sign,
    sin,
    sinh,
    softmax,
    softplus,
    sqrt,
    square,
    stack,
    std,
    sub,
    sum,
    tan,
    tanh,
    transpose,
    var,
    where,
)
from nbvi.graph.ops import log1mexp as _log1mexp

invlogit = sigmoid
log_invlogit = log_sigmoid
log1pexp = softplus  # log(1 + e^x)
lgamma = gammaln
sqr = square
switch = where  # Theano's and PyTensor's name


def logit(p):
    """log(p / (1 - p)), the inverse of :func:`invlogit`."""
    return log(p) - log1p(-p)


def log1mexp(x, *, negative_input=True):
    """log(1 - e^x) for x <= 0, accurate near 0 and for very negative x.

    ``negative_input=False`` gives PyMC 3's meaning, log(1 - e^-x) for x >= 0.
    """
    return _log1mexp(x) if negative_input else _log1mexp(neg(x))
