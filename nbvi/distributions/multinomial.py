"""Multinomial(n, p): counts of n draws over K classes (the last axis), observed only.

    log p(y | n, p) = lgamma(n + 1) - sum_k lgamma(y_k + 1) + sum_k y_k log(p_k / sum_j p_j)

p is normalised along its last axis, as PyMC does. The family has no kernel of its own: its term is a graph
expression of the counts and p (a potential), so the compiled tape runs it with the ops it already has,
and the gradient is theirs:

    d/dp_k = y_k / p_k - n / sum_j p_j        (through the normalisation; the counts have none)

A count of 0 adds 0 whatever p_k is (log p_k is taken only where y_k > 0), so p_k = 0 is allowed for
classes that were never seen.
"""
import numpy as np

from nbvi.distributions.binomial import _trials
from nbvi.distributions.distribution import Distribution, require
from nbvi.graph import ops
from nbvi.potential import PotentialTerm


class Multinomial(Distribution):
    """Counts of ``n`` draws over K classes with probabilities ``p`` (last axis), as ``pm.Multinomial``.

    Parameters
    ----------
    n : int or array of int (batch shape), >= 0
        The number of draws of each row (a constant).
    p : array or node (..., K), >= 0
        Class probabilities along the last axis; normalised to sum to 1.
    """

    params = ("n", "p")
    ndim_supp = 1
    ndims_params = (0, 1)
    support = "{0, ..., n}^K, summing to n"
    discrete = True
    observed_only = True

    def __init__(self, n, p):
        self.set_params(n=_trials(n, self.describe()), p=p)
        if self.param_nodes["p"].ndim < 1:
            raise ValueError(f"{self.describe()}: p needs a last axis of K classes, got a scalar")

    def event_shape(self):
        return self.param_nodes["p"].shape[-1:]

    def check(self, n, p):
        require(p >= 0, f"p must be >= 0, got {p}")

    def in_support(self, value):
        n = np.asarray(self.param_nodes["n"].eval())
        counts = (value >= 0) & (value == np.floor(value)) & np.isfinite(value)
        return counts & (np.sum(value, axis=-1, keepdims=True) == n[..., None])

    def support_rule(self):
        return "observed rows must be non-negative integer counts summing to n"

    @staticmethod
    def probabilities(p):
        return p / np.sum(p, axis=-1, keepdims=True)

    def moment(self, n, p):
        return np.floor(np.asarray(n)[..., None] * self.probabilities(p)).astype(np.int64)

    def sample(self, rng, size, n, p):
        size = tuple(size)
        p = self.probabilities(np.asarray(p, dtype=np.float64))
        n = np.asarray(n)
        while n.ndim > len(size) - 1 and n.shape[-1] == 1:  # (n given with the class axis of length 1)
            n = n[..., 0]
        return rng.multinomial(np.broadcast_to(n, size[:-1]).astype(np.int64), np.broadcast_to(p, size))

    def logp_terms(self, value, scale=None):
        """One potential: the constant lgamma(n + 1) - sum lgamma(y + 1) and sum_k y_k log p_k, per row."""
        n, p = self.param_nodes["n"], self.param_nodes["p"]
        y = value
        # log p_k only where y_k > 0 (log 1 = 0 elsewhere): no 0 * log 0, and no 0 / 0 in its gradient
        seen = ops.where(y > 0.0, p / ops.sum(p, axis=-1, keepdims=True), 1.0)
        row = (ops.gammaln(n + 1.0) - ops.sum(ops.gammaln(y + 1.0), axis=-1)
               + ops.sum(y * ops.log(seen), axis=-1))
        if scale is not None:
            row = row * scale(tuple(y.shape))
        return [PotentialTerm()(row)]

    def logp_elementwise(self, value, n, p):
        """log p of each row: value (S, *batch, K), n (S_i, *s_n), p (S_i, *s_p, K); returns (S, *batch)."""
        from scipy.special import gammaln  # (imported on first use: import nbvi stays fast)

        y = np.asarray(value, dtype=np.float64)
        p = np.asarray(p, dtype=np.float64)
        n = np.asarray(n, dtype=np.float64)
        p = self.probabilities(p.reshape(p.shape[:1] + (1,) * (y.ndim - p.ndim) + p.shape[1:]))
        n = n.reshape(n.shape[:1] + (1,) * (y.ndim - 1 - n.ndim) + n.shape[1:])
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(y > 0, y * np.log(p), 0.0)
        lp = gammaln(n + 1.0) - gammaln(y + 1.0).sum(axis=-1) + terms.sum(axis=-1)
        valid = np.all((y >= 0) & (y == np.floor(y)), axis=-1) & (y.sum(axis=-1) == n)
        return np.where(valid, lp, -np.inf)


__all__ = ["Multinomial"]
