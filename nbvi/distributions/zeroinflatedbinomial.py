"""ZeroInflatedBinomial(psi, n, p): successes in n trials with extra zeros, observed only.

    p(0) = (1 - psi) + psi (1 - p)^n,   p(y) = psi Binomial(y | n, p) for y in 1..n

psi is the probability of the binomial component (PyMC v5); see :mod:`nbvi.distributions.zeroinflated`.
n is a constant array of non-negative integers, as for Binomial: it has no gradient. As for Binomial, the
log-odds ``logit_p`` may replace ``p``, and a ``p`` that is the graph node ``sigmoid(l)`` is taken as
``logit_p = l`` (stable where sigmoid(l) rounds to 0 or 1).
"""
import math

import numpy as np
from numba import njit

from nbvi.distributions.bernoulli import probability_or_logit
from nbvi.distributions.binomial import (
    _trials,
    binomial_logit_logp_grad,
    binomial_logp_grad,
    success_probability,
    trials_value,
)
from nbvi.distributions.distribution import Distribution, require
from nbvi.distributions.family import ScalarFamily
from nbvi.distributions.poisson import is_count
from nbvi.distributions.zeroinflated import zero_inflated

COMPILED_SOURCES_DIGEST = "0868908fa0c45f77"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache


@njit(cache=True)
def zeroinflatedbinomial_logp_grad(y, psi, n, p):
    """log ZeroInflatedBinomial(y | psi, n, p) and its partial derivatives with respect to psi and p;
    -inf outside y in {0..n}, psi in [0, 1], p in [0, 1]."""
    if not (is_count(y) and is_count(n) and y <= n and psi >= 0.0 and psi <= 1.0 and p >= 0.0 and p <= 1.0):
        return -np.inf, 0.0, 0.0
    log_c, d_p = binomial_logp_grad(y, n, p)
    logp, d_psi, weight = zero_inflated(y, psi, log_c)
    return logp, d_psi, weight * d_p  # d/dp = w d/dp log Binomial(y | n, p)


ZEROINFLATEDBINOMIAL = ScalarFamily("zeroinflatedbinomial", zeroinflatedbinomial_logp_grad, params=("psi", "n", "p"),
                                    discrete=True, gradients=("psi", "p"))


@njit(cache=True)
def zeroinflatedbinomial_logit_logp_grad(y, psi, n, logit_p):
    """log ZeroInflatedBinomial(y | psi, n, sigmoid(l)) and its partial derivatives with respect to psi and l;
    -inf outside y in {0..n}, psi in [0, 1]."""
    if not (is_count(y) and is_count(n) and y <= n and psi >= 0.0 and psi <= 1.0 and not math.isnan(logit_p)):
        return -np.inf, 0.0, 0.0
    log_c, d_l = binomial_logit_logp_grad(y, n, logit_p)
    logp, d_psi, weight = zero_inflated(y, psi, log_c)
    return logp, d_psi, weight * d_l  # d/dl = w d/dl log Binomial(y | n, sigmoid(l))


ZEROINFLATEDBINOMIAL_LOGIT = ScalarFamily("zeroinflatedbinomial_logit", zeroinflatedbinomial_logit_logp_grad,
                                          params=("psi", "n", "logit_p"), discrete=True, gradients=("psi", "logit_p"))


class ZeroInflatedBinomial(Distribution):
    """Zero-inflated binomial distribution: 0 with probability ``1 - psi``, else the successes in ``n``
    trials with success probability ``p``.

    Parameters
    ----------
    psi : float, array or node in [0, 1]
        The probability of the binomial component.
    n : int or array of non-negative integers (a constant)
    p : float, array or node in [0, 1]
        A node ``sigmoid(l)`` is taken as ``logit_p = l`` (then ``params`` is ``("psi", "n", "logit_p")``).
    logit_p : float, array or node: p = sigmoid(logit_p)
    """

    params = ("psi", "n", "p")
    support = "{0, ..., n}"
    discrete = True
    observed_only = True
    family = ZEROINFLATEDBINOMIAL

    def __init__(self, psi, n, p=None, logit_p=None):
        p, logit_p = probability_or_logit(self.describe(), p, logit_p)
        n = _trials(n, self.describe())
        if p is None:
            self.params = ("psi", "n", "logit_p")
            self.family = ZEROINFLATEDBINOMIAL_LOGIT
            self.set_params(psi=psi, n=n, logit_p=logit_p)
        else:
            self.set_params(psi=psi, n=n, p=p)

    def check(self, psi, n, p=None, logit_p=None):
        require((psi >= 0) & (psi <= 1), f"psi must be in [0, 1], got {psi}")
        if p is not None:
            require((p >= 0) & (p <= 1), f"p must be in [0, 1], got {p}")

    def in_support(self, value):
        return (value >= 0) & (value <= trials_value(self.param_nodes["n"])) & (value == np.floor(value))

    def support_rule(self):
        return f"observed values must be integers in 0..n (n = {trials_value(self.param_nodes['n'])})"

    def moment(self, psi, n, p=None, logit_p=None):
        return np.floor(psi * n * success_probability(p, logit_p)).astype(np.int64)  # the floor of the mean

    def sample(self, rng, size, psi, n, p=None, logit_p=None):
        p = success_probability(p, logit_p)
        return rng.binomial(n.astype(np.int64), p, size=size) * (rng.random(size=size) < psi)
