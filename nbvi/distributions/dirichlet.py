"""Dirichlet(a): a point on the simplex of K components (the last axis).

    log p(x | a) = lgamma(sum_k a_k) - sum_k lgamma(a_k) + sum_k (a_k - 1) log x_k

    d/dx_k = (a_k - 1) / x_k
    d/da_k = digamma(sum_j a_j) - digamma(a_k) + log x_k

The density is evaluated as a function of all K coordinates (the stick-breaking transform maps
R^(K-1) onto the simplex and pushes this gradient back through its Jacobian), so the value must lie in
the open simplex (0 < x_k < 1); that its coordinates sum to 1 is the transform's business (and
``check_observed``'s for data), not re-checked here.
"""
import math

import numpy as np
from numba import njit

from nbvi.distributions.distribution import Distribution, require
from nbvi.distributions.layout import core_columns, core_lifted, from_core_columns
from nbvi.distributions.special import digamma
from nbvi.graph.node import Node


@njit(cache=True)
def dirichlet_constants(a, psi):
    """For one row a (K entries): lgamma(sum a) - sum lgamma(a_k) and psi_k = digamma(sum a) - digamma(a_k)
    written into psi. Returns -inf unless every a_k > 0."""
    total = 0.0
    log_norm = 0.0
    for k in range(a.shape[0]):
        if not a[k] > 0.0:
            return -np.inf
        total += a[k]
        log_norm -= math.lgamma(a[k])
    psi_total = digamma(total)
    for k in range(a.shape[0]):
        psi[k] = psi_total - digamma(a[k])  # d/da_k of the normalising constant
    return log_norm + math.lgamma(total)


@njit(cache=True)
def dirichlet_logp_grad(x, a, log_norm, psi, d_x, d_a):
    """log Dir(x | a) for one row x (K entries), given the constants of a; writes d/dx and d/da into the
    rows d_x and d_a. -inf outside the open simplex coordinates 0 < x_k < 1."""
    logp = log_norm
    for k in range(x.shape[0]):
        xk = x[k]
        if not (xk > 0.0 and xk < 1.0):
            return -np.inf
        log_x = math.log(xk)
        logp += (a[k] - 1.0) * log_x
        d_x[k] = (a[k] - 1.0) / xk  # d/dx_k = (a_k - 1) / x_k
        d_a[k] = psi[k] + log_x  # d/da_k = digamma(sum a) - digamma(a_k) + log x_k
    return logp


@njit(cache=True)
def dirichlet_kernel(x, a):
    """Kernel over x (D_x, n_x, K) and a (D_a, n_a, K), n_i in {1, n}: logp (D,), d/dx (D, n_x, K), d/da (D, n_a, K)."""
    draws = max(x.shape[0], a.shape[0])
    n = max(x.shape[1], a.shape[1])
    n_comp = x.shape[2]
    logp = np.zeros(draws)
    g_x = np.zeros((draws, x.shape[1], n_comp))
    g_a = np.zeros((draws, a.shape[1], n_comp))
    psi = np.empty(n_comp)
    d_x = np.empty(n_comp)
    d_a = np.empty(n_comp)
    last_d, last_j, log_norm = -1, -1, 0.0
    for d in range(draws):
        da = min(d, a.shape[0] - 1)
        for j in range(n):
            ja, jx = min(j, a.shape[1] - 1), min(j, x.shape[1] - 1)
            if da != last_d or ja != last_j:  # the constants change only with the row of a
                log_norm = dirichlet_constants(a[da, ja], psi)
                last_d, last_j = da, ja
            if log_norm == -np.inf:
                logp[d] = -np.inf
                continue
            lp = dirichlet_logp_grad(x[min(d, x.shape[0] - 1), jx], a[da, ja], log_norm, psi, d_x, d_a)
            logp[d] += lp
            if lp == -np.inf:
                continue
            for k in range(n_comp):
                g_x[d, jx, k] += d_x[k]
                g_a[d, ja, k] += d_a[k]
    return logp, g_x, g_a


class Dirichlet(Distribution):
    """Dirichlet distribution on the simplex of the last axis, with concentrations ``a``.

    Parameters
    ----------
    a : array or node (..., K), > 0
    """

    params = ("a",)
    ndim_supp = 1
    ndims_params = (1,)
    support = "simplex"

    def __init__(self, a):
        self.set_params(a=a)
        if self.param_nodes["a"].ndim < 1:
            raise ValueError(f"{self.describe()}: a needs a last axis of K components, got a scalar")

    def event_shape(self):
        return self.param_nodes["a"].shape[-1:]

    def check(self, a):
        require(a > 0, f"a must be > 0, got {a}")

    def check_observed(self, value):
        """Raise ValueError unless every observed value lies inside the simplex (last axis).

        Entries of exactly 0 are refused: there the density is 0 or infinite unless the concentration is
        exactly 1, so a fit would see logp = -inf (or +inf) rather than data.
        """
        value = np.asarray(value.eval() if isinstance(value, Node) else value, dtype=np.float64)
        if value.ndim < 1 or not np.all((value >= 0) & (value <= 1)) or not np.allclose(value.sum(axis=-1), 1.0):
            raise ValueError("observed values must lie on the simplex (>= 0, summing to 1 along the last axis)")
        if not np.all(value > 0):
            raise ValueError("observed values must lie inside the simplex: an entry of 0 (e.g. a one-hot row) has "
                             "density 0 or infinity unless its concentration is exactly 1; use values > 0 "
                             "(e.g. smoothed proportions)")

    def default_transform(self):
        from nbvi import transforms

        return transforms.stick_breaking

    def moment(self, a):
        return a / np.sum(a, axis=-1, keepdims=True)  # the mean

    def sample(self, rng, size, a):
        g = rng.gamma(np.broadcast_to(a, tuple(size)))  # x = g / sum(g) with g_k ~ Gamma(a_k, 1)
        return g / g.sum(axis=-1, keepdims=True)

    def logp_elementwise(self, value, a):
        """log p of each event: value (S, *batch, K), a (S_a, *s_a, K_a); returns (S, *batch)."""
        from scipy.special import gammaln

        x = np.asarray(value, dtype=np.float64)
        a = np.asarray(a, dtype=np.float64)
        a = np.broadcast_to(a.reshape(a.shape[:1] + (1,) * (x.ndim - a.ndim) + a.shape[1:]),
                            a.shape[:1] + (1,) * (x.ndim - a.ndim) + a.shape[1:-1] + x.shape[-1:])
        valid = np.all(a > 0, axis=-1) & np.all((x > 0) & (x < 1), axis=-1)
        a_safe = np.where(a > 0, a, 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            lp = gammaln(a_safe.sum(axis=-1)) - gammaln(a_safe).sum(axis=-1) + ((a_safe - 1.0) * np.log(x)).sum(axis=-1)
        return np.where(valid, lp, -np.inf)

    def logp_partials(self, values, needs):
        lifted, shape = core_lifted(values, (1, 1))
        n = int(np.prod(shape, dtype=np.int64))
        n_comp = max(v.shape[-1] for v in lifted)  # a value or a of one component broadcasts over K
        x, a = [core_columns(np.broadcast_to(v, v.shape[:-1] + (n_comp,)).astype(np.float64, copy=False), shape, n)
                for v in lifted]
        logp, *grads = dirichlet_kernel(x, a)
        partials = []
        for g, v, orig, need in zip(grads, lifted, values, needs):
            if need and v.shape[-1] != n_comp:
                g = g.sum(axis=-1, keepdims=True)  # the core axis was broadcast: sum it back
            partials.append(from_core_columns(g, v, orig.shape, shape) if need else None)
        return logp, partials
