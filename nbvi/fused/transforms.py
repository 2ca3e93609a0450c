"""The elementwise transforms of :mod:`nbvi.transforms` for one element, behind one compiled switch.

For u in the unconstrained space, :func:`transform_backward` gives the constrained x = backward(u) and what
the density in u needs (see :mod:`nbvi.transforms`):

    log p_u(u) = log p_x(x) + log|dx/du|,     d log p_u / du = (dx/du) g_x + d log|dx/du| / du

Each element of the flat unconstrained vector carries its transform number and its bounds, so a variable
whose bounds are arrays just has other bounds per element.
"""
import math

import numpy as np
from numba import njit

from nbvi.distributions.bernoulli import log_sigmoid
from nbvi.transforms import Interval, LogOddsTransform, LogTransform, LowerBound, UpperBound

COMPILED_SOURCES_DIGEST = "0868908fa0c45f77"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache

IDENTITY, LOG, LOGODDS, INTERVAL, LOWERBOUND, UPPERBOUND = 0, 1, 2, 3, 4, 5

# transform class -> number (the exact class: a user's subclass may compute something else)
TRANSFORMS = {LogTransform: LOG, LogOddsTransform: LOGODDS, Interval: INTERVAL, LowerBound: LOWERBOUND,
              UpperBound: UPPERBOUND}


@njit(cache=True)
def transform_backward(code, u, lower, upper):
    """x = backward(u) of transform number ``code`` and the three derivatives the density needs.

    Returns
    -------
    (x, log|dx/du|, dx/du, d log|dx/du| / du)
    """
    if code == LOG:  # x = e^u: log|dx/du| = u
        x = math.exp(u)
        return x, u, x, 1.0
    if code == LOWERBOUND:  # x = lower + e^u
        e = math.exp(u)
        return lower + e, u, e, 1.0
    if code == UPPERBOUND:  # x = upper - e^u: dx/du = -e^u, log|dx/du| = u
        e = math.exp(u)
        return upper - e, u, -e, 1.0
    if code == LOGODDS or code == INTERVAL:
        # x = lower + w s(u) with s the sigmoid (w = 1, lower = 0 for logodds); dx/du = w s(u) s(-u),
        # log|dx/du| = log w + log s(u) + log s(-u), whose derivative is s(-u) - s(u)
        width = 1.0 if code == LOGODDS else upper - lower
        log_s, log_s_neg = log_sigmoid(u), log_sigmoid(-u)
        s, s_neg = math.exp(log_s), math.exp(log_s_neg)
        if code == LOGODDS:
            x = s
        else:  # measured from the nearer bound, so x stays strictly inside for large |u|
            x = lower + width * s if u <= 0.0 else upper - width * s_neg
        return x, math.log(width) + log_s + log_s_neg, width * s * s_neg, s_neg - s
    return u, 0.0, 1.0, 0.0  # identity


def transform_plan(layout, ndim):
    """Per element of theta: the transform number and its bounds, for a model's variable layout.

    Parameters
    ----------
    layout : list of (RandomVariable, slice of theta, unconstrained shape)
        ``Model.variable_layout()``.
    ndim : int

    Returns
    -------
    transform : int64 (ndim,), lower : (ndim,), upper : (ndim,)
        Or None when a variable has a transform that is not elementwise (its name and transform are then
        in the second value).
    """
    transform = np.zeros(ndim, dtype=np.int64)
    lower = np.zeros(ndim)
    upper = np.zeros(ndim)
    for rv, where, _ushape in layout:
        t = rv.transform
        if t is None:
            continue
        code = TRANSFORMS.get(type(t))  # the exact class: a subclass may compute something else
        if code is None:
            return None, f"transform {t!r} of '{rv.name}'"
        transform[where] = code
        if code in (INTERVAL, LOWERBOUND):
            lower[where] = np.broadcast_to(t.lower, rv.shape).ravel()
        if code in (INTERVAL, UPPERBOUND):
            upper[where] = np.broadcast_to(t.upper, rv.shape).ravel()
    return (transform, lower, upper), None
