"""Bernoulli(p) or Bernoulli(logit_p): a 0/1 outcome, observed only.

    log p(y | p)       = y log p + (1 - y) log(1 - p)
    log p(y | logit_p) = y log sigmoid(l) + (1 - y) log sigmoid(-l)      (l = logit_p, stable form)

A ``p`` that is the graph node ``sigmoid(l)`` (``nbvi.math.sigmoid`` or ``invlogit``) is taken as
``logit_p = l`` (PyMC rewrites log(1 - sigmoid(l)) to -softplus(l) alike): the same distribution, whose
log-probability stays finite where sigmoid(l) rounds to 0 or 1 (|l| > 37).
"""
import math

import numpy as np
from numba import njit, prange

from nbvi.distributions.distribution import Distribution, require
from nbvi.distributions.family import ScalarFamily
from nbvi.distributions.layout import at, row_blocks, spot
from nbvi.graph.node import Node
from nbvi.graph.ops.elementwise import Sigmoid


@njit(cache=True)
def log_sigmoid(u):
    """log sigmoid(u) = -log(1 + exp(-u)), without overflow for any finite u."""
    if u >= 0.0:
        return -math.log1p(math.exp(-u))
    return u - math.log1p(math.exp(u))


@njit(cache=True)
def sigmoid(u):
    """1 / (1 + exp(-u)), without overflow."""
    if u >= 0.0:
        return 1.0 / (1.0 + math.exp(-u))
    e = math.exp(u)
    return e / (1.0 + e)


def expit(logit):
    """sigmoid(logit) = 1 / (1 + e^-logit) of an array, stable for any |logit| (scipy.special's expit
    without importing scipy.special, which would double ``import nbvi``'s time)."""
    return np.exp(-np.logaddexp(0.0, -np.asarray(logit, dtype=np.float64)))


def sigmoid_input(p):
    """``l`` when ``p`` is the graph node ``sigmoid(l)``, else None: the logit a family with a ``logit_p``
    parametrisation takes instead of ``p``."""
    if isinstance(p, Node) and isinstance(p.op, Sigmoid):
        return p.inputs[0]
    return None


def probability_or_logit(family, p, logit_p):
    """``(p, logit_p)`` with exactly one given: ``(None, l)`` when ``p`` is ``sigmoid(l)``, else as given.
    ``family`` names the variable in the error."""
    if (p is None) == (logit_p is None):
        raise ValueError(f"{family}: give exactly one of p and logit_p")
    logit = sigmoid_input(p)
    return (p, logit_p) if logit is None else (None, logit)


@njit(cache=True)
def bernoulli_logp_grad(y, p):
    """log Bernoulli(y | p) and its derivative with respect to p; -inf outside y in {0, 1}, p in [0, 1]."""
    if not (p >= 0.0 and p <= 1.0):
        return -np.inf, 0.0
    if y == 1.0:
        if p == 0.0:
            return -np.inf, 0.0
        return math.log(p), 1.0 / p  # d/dp log p = 1 / p
    if y == 0.0:
        if p == 1.0:
            return -np.inf, 0.0
        return math.log1p(-p), -1.0 / (1.0 - p)  # d/dp log(1 - p) = -1 / (1 - p)
    return -np.inf, 0.0


BERNOULLI = ScalarFamily("bernoulli", bernoulli_logp_grad, params=("p",), discrete=True)


@njit(cache=True)
def bernoulli_logit_logp_grad(y, logit_p):
    """log Bernoulli(y | sigmoid(l)) and its derivative with respect to l; -inf outside y in {0, 1}."""
    if y == 1.0:
        return log_sigmoid(logit_p), 1.0 - sigmoid(logit_p)  # d/dl log sigmoid(l) = 1 - sigmoid(l)
    if y == 0.0:
        return log_sigmoid(-logit_p), -sigmoid(logit_p)  # d/dl log sigmoid(-l) = -sigmoid(l)
    return -np.inf, 0.0


BERNOULLI_LOGIT = ScalarFamily("bernoulli_logit", bernoulli_logit_logp_grad, params=("logit_p",), discrete=True)


@njit(cache=True, parallel=True)
def bernoulli_counts(data, rows):
    """Per column, over the R rows data[rows[0]], ..., data[rows[R - 1]] of 0/1 data (N, C) (rows (R,) may
    repeat, each occurrence counts): the number of ones and of values that are neither 0 nor 1."""
    n_rows, n_cols = rows.shape[0], data.shape[1]
    n_blocks = min(n_rows, 64)
    bounds = row_blocks(n_rows, n_blocks)
    ones = np.zeros((n_blocks, n_cols))
    bad = np.zeros((n_blocks, n_cols))
    for b in prange(n_blocks):
        for i in range(bounds[b], bounds[b + 1]):
            r = rows[i]
            for j in range(n_cols):
                y = data[r, j]
                if y == 1.0:
                    ones[b, j] += 1.0
                elif y != 0.0:
                    bad[b, j] += 1.0
    return ones.sum(axis=0), bad.sum(axis=0)


@njit(cache=True)
def bernoulli_rows_kernel(data, rows, p):
    """Fused kernel for the R observed rows data[rows[0]], ..., data[rows[R - 1]] of data (N, C), read in
    place (rows (R,) may repeat, as in a minibatch), with p (D_i, C_i) shared by all rows.

    With S_j = number of ones in column j of those rows, the log-likelihood needs only S:
        logp = sum_j S_j log p_j + (R - S_j) log(1 - p_j),   d/dp_j = S_j / p_j - (R - S_j) / (1 - p_j)
    (a term whose count is 0 contributes nothing, also at p_j = 0 or 1).
    """
    n_rows, n_cols = rows.shape[0], data.shape[1]
    ones, bad = bernoulli_counts(data, rows)
    draws = p.shape[0]
    logp = np.zeros(draws)
    g_p = np.zeros((draws, p.shape[1]))
    for d in range(draws):
        for j in range(n_cols):
            pj = at(p, d, j)
            s1, s0 = ones[j], n_rows - ones[j] - bad[j]
            if bad[j] > 0 or not (pj >= 0.0 and pj <= 1.0) or (s1 > 0 and pj == 0.0) or (s0 > 0 and pj == 1.0):
                logp[d] = -np.inf
                continue
            if s1 > 0:
                logp[d] += s1 * math.log(pj)
                g_p[d, spot(p, j)] += s1 / pj
            if s0 > 0:
                logp[d] += s0 * math.log1p(-pj)
                g_p[d, spot(p, j)] -= s0 / (1.0 - pj)
    return logp, g_p


@njit(cache=True)
def bernoulli_logit_rows_kernel(data, rows, logit_p):
    """Fused kernel with logit_p (arguments as in :func:`bernoulli_rows_kernel`):
    logp = sum_j S_j log sigmoid(l_j) + (R - S_j) log sigmoid(-l_j),   d/dl_j = S_j - R sigmoid(l_j)."""
    n_rows, n_cols = rows.shape[0], data.shape[1]
    ones, bad = bernoulli_counts(data, rows)
    draws = logit_p.shape[0]
    logp = np.zeros(draws)
    g_l = np.zeros((draws, logit_p.shape[1]))
    for d in range(draws):
        for j in range(n_cols):
            lj = at(logit_p, d, j)
            if bad[j] > 0:
                logp[d] = -np.inf
                continue
            s1, s0 = ones[j], n_rows - ones[j]
            logp[d] += s1 * log_sigmoid(lj) + s0 * log_sigmoid(-lj)
            g_l[d, spot(logit_p, j)] += s1 - n_rows * sigmoid(lj)
    return logp, g_l


class Bernoulli(Distribution):
    """Bernoulli distribution of a 0/1 outcome, with success probability ``p`` or its log-odds ``logit_p``.

    Parameters
    ----------
    p : float, array or node in [0, 1]
        A node ``sigmoid(l)`` is taken as ``logit_p = l`` (then ``params`` is ``("logit_p",)``).
    logit_p : float, array or node: p = sigmoid(logit_p)
    """

    params = ("p",)
    support = "{0, 1}"
    discrete = True
    observed_only = True
    family = BERNOULLI
    rows_kernel = staticmethod(bernoulli_rows_kernel)

    def __init__(self, p=None, logit_p=None):
        p, logit_p = probability_or_logit(self.describe(), p, logit_p)
        if p is None:
            self.params = ("logit_p",)
            self.family = BERNOULLI_LOGIT
            self.rows_kernel = bernoulli_logit_rows_kernel
            self.set_params(logit_p=logit_p)
        else:
            self.set_params(p=p)

    def check(self, p=None, logit_p=None):
        if p is not None:
            require((p >= 0) & (p <= 1), f"p must be in [0, 1], got {p}")

    def in_support(self, value):
        return (value == 0) | (value == 1)

    def support_rule(self):
        return "observed values must be 0 or 1"

    @staticmethod
    def probability(p=None, logit_p=None):
        return p if logit_p is None else expit(logit_p)

    def moment(self, p=None, logit_p=None):
        return (self.probability(p, logit_p) >= 0.5).astype(np.int64)  # the mode

    def sample(self, rng, size, p=None, logit_p=None):
        return rng.binomial(1, self.probability(p, logit_p), size=size)
