"""Binomial(n, p) or Binomial(n, logit_p): the number of successes in n trials, observed only.

    log p(y | n, p)       = log C(n, y) + y log p + (n - y) log(1 - p)
    log p(y | n, logit_p) = log C(n, y) + y log sigmoid(l) + (n - y) log sigmoid(-l)   (l = logit_p, stable form)
    log C(n, y) = lgamma(n+1) - lgamma(y+1) - lgamma(n-y+1)

n is a count fixed by the data (a constant array of non-negative integers): it has no gradient. A ``p``
that is the graph node ``sigmoid(l)`` is taken as ``logit_p = l``, as for Bernoulli.
"""
import math

import numpy as np
from numba import njit

from nbvi.distributions.bernoulli import expit, log_sigmoid, probability_or_logit, sigmoid
from nbvi.distributions.distribution import Distribution, require
from nbvi.distributions.family import ScalarFamily
from nbvi.distributions.poisson import is_count
from nbvi.graph.node import Constant, Node

COMPILED_SOURCES_DIGEST = "0868908fa0c45f77"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache


@njit(cache=True)
def binomial_logp_grad(y, n, p):
    """log Binomial(y | n, p) and its derivative with respect to p; -inf outside y in {0..n}, p in [0, 1]."""
    if not (is_count(y) and is_count(n) and y <= n and p >= 0.0 and p <= 1.0):
        return -np.inf, 0.0
    logp = math.lgamma(n + 1.0) - math.lgamma(y + 1.0) - math.lgamma(n - y + 1.0)
    d_p = 0.0
    if y > 0.0:  # y log p (0 log 0 = 0)
        if p == 0.0:
            return -np.inf, 0.0
        logp += y * math.log(p)
        d_p += y / p  # d/dp y log p = y / p
    if n - y > 0.0:  # (n - y) log(1 - p)
        if p == 1.0:
            return -np.inf, 0.0
        logp += (n - y) * math.log1p(-p)
        d_p -= (n - y) / (1.0 - p)  # d/dp (n - y) log(1 - p) = -(n - y) / (1 - p)
    return logp, d_p


BINOMIAL = ScalarFamily("binomial", binomial_logp_grad, params=("n", "p"), discrete=True, gradients=("p",))


@njit(cache=True)
def binomial_logit_logp_grad(y, n, logit_p):
    """log Binomial(y | n, sigmoid(l)) and its derivative with respect to l; -inf outside y in {0..n}."""
    if not (is_count(y) and is_count(n) and y <= n and not math.isnan(logit_p)):
        return -np.inf, 0.0
    logp = math.lgamma(n + 1.0) - math.lgamma(y + 1.0) - math.lgamma(n - y + 1.0)
    if y > 0.0:  # (a count of 0 adds nothing, also at l = -inf or inf)
        logp += y * log_sigmoid(logit_p)
    if n - y > 0.0:
        logp += (n - y) * log_sigmoid(-logit_p)
    if logp == -np.inf:
        return -np.inf, 0.0
    # d/dl [y log sigmoid(l) + (n - y) log sigmoid(-l)] = y (1 - sigmoid(l)) - (n - y) sigmoid(l) = y - n sigmoid(l)
    return logp, y - n * sigmoid(logit_p)


BINOMIAL_LOGIT = ScalarFamily("binomial_logit", binomial_logit_logp_grad, params=("n", "logit_p"), discrete=True,
                              gradients=("logit_p",))


def _trials(n, family="Binomial"):
    """The number of trials, checked: a constant array of non-negative integers (returned as a float array),
    or a Data node holding them (returned as it is: ``set_value`` may change the trials, e.g. to predict
    for other numbers of trials). ``family`` names the variable in the errors."""
    if isinstance(n, Node):
        if isinstance(n, Constant):
            n = n.data
        elif n.op is None and hasattr(n, "set_value"):  # a Data: no gradient, its value read at every call
            _counts(n.get_value(), family)
            return n
        else:
            raise TypeError(
                f"{family}: n must be a constant array or a Data of non-negative integers (the number of "
                f"trials), not a graph node ({n!r}); it has no gradient"
            )
    return _counts(n, family)


def _counts(n, family):
    """``n`` as a float array of non-negative integers; TypeError or ValueError naming ``family``."""
    n = np.asarray(n)
    if n.dtype.kind not in "iufb":
        raise TypeError(f"{family}: n must be an array of non-negative integers, got dtype {n.dtype}")
    n = n.astype(np.float64)
    if not np.all(np.isfinite(n) & (n >= 0) & (n == np.floor(n))):
        raise ValueError(f"{family}: n must be non-negative integers (the number of trials), got {n}")
    return n


def trials_value(node):
    """The current number of trials of a family's ``n`` node (a Constant or a Data), as a float array."""
    return np.asarray(node.eval(), dtype=np.float64)


def success_probability(p=None, logit_p=None):
    """p, or sigmoid(logit_p) when the family was given its logit (arrays)."""
    return p if logit_p is None else expit(logit_p)


class Binomial(Distribution):
    """Binomial distribution: successes in ``n`` trials with success probability ``p`` or its log-odds
    ``logit_p``.

    Parameters
    ----------
    n : int or array of non-negative integers (a constant)
    p : float, array or node in [0, 1]
        A node ``sigmoid(l)`` is taken as ``logit_p = l`` (then ``params`` is ``("n", "logit_p")``).
    logit_p : float, array or node: p = sigmoid(logit_p)
    """

    params = ("n", "p")
    support = "{0, ..., n}"
    discrete = True
    observed_only = True
    family = BINOMIAL

    def __init__(self, n, p=None, logit_p=None):
        p, logit_p = probability_or_logit(self.describe(), p, logit_p)
        n = _trials(n, self.describe())
        if p is None:
            self.params = ("n", "logit_p")
            self.family = BINOMIAL_LOGIT
            self.set_params(n=n, logit_p=logit_p)
        else:
            self.set_params(n=n, p=p)

    def check(self, n, p=None, logit_p=None):
        if p is not None:
            require((p >= 0) & (p <= 1), f"p must be in [0, 1], got {p}")

    def in_support(self, value):
        return (value >= 0) & (value <= trials_value(self.param_nodes["n"])) & (value == np.floor(value))

    def support_rule(self):
        return f"observed values must be integers in 0..n (n = {trials_value(self.param_nodes['n'])})"

    def moment(self, n, p=None, logit_p=None):
        return np.floor(n * success_probability(p, logit_p)).astype(np.int64)

    def sample(self, rng, size, n, p=None, logit_p=None):
        return rng.binomial(n.astype(np.int64), success_probability(p, logit_p), size=size)
