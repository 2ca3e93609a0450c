"""Categorical(p) or Categorical(logit_p): one draw from K classes, observed only.

    log p(y | p)       = log p_y - log sum_k p_k            (p is normalised along its last axis, as in PyMC)
    log p(y | logit_p) = l_y - log sum_k exp(l_k)           (log_softmax(logit_p)[y])

The class probabilities carry a core axis of K classes (``ndims_params = (1,)``); the value is a class
index per element. This is the likelihood of a softmax regression, so p = softmax(z) along the class
axis is evaluated as logit_p = z (log p_y = log_softmax(z)_y: no softmax node, no softmax VJP), and the
kernels take ``y (D_y, n_y)`` and ``p`` or ``logit_p (D_p, n_p, K)`` and compute the log-probability and
its gradient in one pass, in parallel over draws when the work is large.

The helpers ``core_lifted``, ``core_columns`` and ``from_core_columns`` of :mod:`layout` lay out arguments
with core axes for such kernels.
"""
import math
import warnings

import numpy as np
from numba import njit, prange

from nbvi.distributions.distribution import Distribution, require
from nbvi.distributions.layout import ROWS_KERNEL_MIN_SIZE, at, core_columns, core_lifted, from_core_columns
from nbvi.graph.node import Node
from nbvi.graph.ops.reductions import Softmax
from nbvi.numerics import exp_nonpositive

COMPILED_SOURCES_DIGEST = "0868908fa0c45f77"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache

# ---------------------------------------------------------------------------------------------------------
# Kernels
# ---------------------------------------------------------------------------------------------------------


@njit(cache=True)
def class_index(y, n_classes):
    """The class of a value y (float or int), or -1 when y is not an integer in 0..K-1."""
    k = int(y) if y >= 0 and y < n_classes else -1
    return k if k == y else -1


@njit(cache=True)
def categorical_p_draw(d, y, p, logp, g_p):
    """logp[d] = sum_j log p_j[y_j] - log sum_k p_j[k], and row d of its gradient with respect to p.

    d/dp_k = [k == y] / p_y - 1 / sum_k p_k      (through the normalisation p / sum(p))

    Row d of g_p is assigned when p has one entry per element, else accumulated (zeros on entry).
    """
    n = max(y.shape[1], p.shape[1])
    n_classes = p.shape[2]
    dp = min(d, p.shape[0] - 1)
    full = p.shape[1] == n
    total = 0.0
    for j in range(n):
        jp = min(j, p.shape[1] - 1)
        k = class_index(at(y, d, j), n_classes)
        s = 0.0
        bad = k < 0
        for c in range(n_classes):
            pc = p[dp, jp, c]
            bad = bad or pc < 0.0
            s += pc
        if bad or s <= 0.0 or p[dp, jp, k] <= 0.0:
            total = -np.inf
            if full:
                g_p[d, jp, :] = 0.0
            continue
        py = p[dp, jp, k]
        total += math.log(py / s)
        inv_s = 1.0 / s
        for c in range(n_classes):
            if full:
                g_p[d, jp, c] = -inv_s
            else:
                g_p[d, jp, c] -= inv_s
        g_p[d, jp, k] += 1.0 / py
    logp[d] = total


@njit(cache=True)
def categorical_logit_draw(d, y, logit, logp, g_l):
    """logp[d] = sum_j l_j[y_j] - logsumexp_k l_j[k], and row d of its gradient with respect to l.

    d/dl_k = [k == y] - softmax(l)_k

    Row d of g_l is assigned when logit_p has one entry per element, else accumulated (zeros on entry).
    """
    n = max(y.shape[1], logit.shape[1])
    n_classes = logit.shape[2]
    dl = min(d, logit.shape[0] - 1)
    full = logit.shape[1] == n
    e = np.empty(n_classes)
    total = 0.0
    for j in range(n):
        jl = min(j, logit.shape[1] - 1)
        k = class_index(at(y, d, j), n_classes)
        if k < 0:
            total = -np.inf
            if full:
                g_l[d, jl, :] = 0.0
            continue
        m = -np.inf
        for c in range(n_classes):
            m = max(m, logit[dl, jl, c])
        s = 0.0
        for c in range(n_classes):
            e[c] = math.exp(logit[dl, jl, c] - m)
            s += e[c]
        total += logit[dl, jl, k] - m - math.log(s)  # l_y - logsumexp(l)
        inv_s = 1.0 / s
        for c in range(n_classes):
            if full:
                g_l[d, jl, c] = -e[c] * inv_s
            else:
                g_l[d, jl, c] -= e[c] * inv_s
        g_l[d, jl, k] += 1.0
    logp[d] = total


@njit(cache=True)
def categorical_p_kernel(y, p):
    """Kernel over y (D_y, n_y) and p (D_p, n_p, K): logp (D,) and d logp / dp (D, n_p, K)."""
    draws = max(y.shape[0], p.shape[0])
    logp = np.zeros(draws)
    g_p = np.empty((draws, p.shape[1], p.shape[2])) if p.shape[1] >= y.shape[1] else np.zeros((draws, 1, p.shape[2]))
    for d in range(draws):
        categorical_p_draw(d, y, p, logp, g_p)
    return logp, g_p


@njit(cache=True, parallel=True)
def categorical_p_kernel_parallel(y, p):
    """``categorical_p_kernel`` in parallel over draws (each draw writes its own rows)."""
    draws = max(y.shape[0], p.shape[0])
    logp = np.zeros(draws)
    g_p = np.empty((draws, p.shape[1], p.shape[2])) if p.shape[1] >= y.shape[1] else np.zeros((draws, 1, p.shape[2]))
    for d in prange(draws):
        categorical_p_draw(np.int64(d), y, p, logp, g_p)  # prange's index is unsigned: min() with it would give a float
    return logp, g_p


@njit(cache=True)
def categorical_logit_kernel(y, logit):
    """Kernel over y (D_y, n_y) and logit_p (D_l, n_l, K): logp (D,) and d logp / dlogit_p (D, n_l, K)."""
    draws = max(y.shape[0], logit.shape[0])
    logp = np.zeros(draws)
    g_l = np.empty((draws, logit.shape[1], logit.shape[2])) if logit.shape[1] >= y.shape[1] else np.zeros((draws, 1, logit.shape[2]))
    for d in range(draws):
        categorical_logit_draw(d, y, logit, logp, g_l)
    return logp, g_l


@njit(cache=True, parallel=True)
def categorical_logit_kernel_parallel(y, logit):
    """``categorical_logit_kernel`` in parallel over draws."""
    draws = max(y.shape[0], logit.shape[0])
    logp = np.zeros(draws)
    g_l = np.empty((draws, logit.shape[1], logit.shape[2])) if logit.shape[1] >= y.shape[1] else np.zeros((draws, 1, logit.shape[2]))
    for d in prange(draws):
        categorical_logit_draw(np.int64(d), y, logit, logp, g_l)  # (a signed index, as above)
    return logp, g_l


@njit(cache=True, parallel=True, fastmath={"reassoc", "contract"})
def categorical_linear_kernel(y, X, beta, intercept):
    """Softmax regression in one pass: y_n ~ Categorical(softmax(X_n beta + intercept)).

    y (N,) class indices, X (N, J) data, beta (D_b, J, K), intercept (D_a, K). In parallel over draws,
    with z_n = X_n beta + a:

        logp          = sum_n z_{n, y_n} - logsumexp_k z_{n, k}
        d logp/dz_nk  = [k == y_n] - softmax(z_n)_k            =: r_nk
        d logp/dbeta  = X^T r,   d logp/da = sum_n r_n

    Each draw works on one class-major scratch array (K, N): the logits, then their exponentials, then r,
    so that every inner loop runs over n along contiguous memory and vectorises (``exp_nonpositive``
    for the exponentials); the (D, N, K) logits are never stored. fastmath only reassociates sums and
    fuses multiply-adds: infinities and NaN keep their meaning.
    Returns logp (D,), d logp/dbeta (D, J, K), d logp/dintercept (D, K).
    """
    n_rows, n_features = X.shape
    n_classes = beta.shape[2]
    draws = max(beta.shape[0], intercept.shape[0])
    logp = np.zeros(draws)
    g_beta = np.zeros((draws, n_features, n_classes))
    g_a = np.zeros((draws, n_classes))
    Xt = np.ascontiguousarray(X.T)  # (J, N)
    labels = np.empty(n_rows, dtype=np.int64)
    bad_label = False
    for n in range(n_rows):
        labels[n] = class_index(y[n], n_classes)
        bad_label = bad_label or labels[n] < 0
    if bad_label:
        logp[:] = -np.inf
        return logp, g_beta, g_a
    n_blocks = min(draws, 32)  # blocks of draws per thread task: scratch is allocated once per block
    for block in prange(n_blocks):
        z = np.empty((n_classes, n_rows))
        bits = np.empty(n_classes * n_rows, dtype=np.int64)
        top = np.empty(n_rows)
        total_exp = np.empty(n_rows)
        for d in range((draws * block) // n_blocks, (draws * (block + 1)) // n_blocks):
            categorical_linear_draw(d, labels, Xt, beta, intercept, z, bits, top, total_exp, logp, g_beta, g_a)
    return logp, g_beta, g_a


@njit(cache=True, fastmath={"reassoc", "contract"}, inline="always")
def categorical_linear_draw(d, labels, Xt, beta, intercept, z, bits, top, total_exp, logp, g_beta, g_a):
    """Draw d of ``categorical_linear_kernel``: logp[d] and rows d of the gradients (scratch: z, bits, top,
    total_exp)."""
    n_features, n_rows = Xt.shape
    n_classes = beta.shape[2]
    b = beta[min(d, beta.shape[0] - 1)]
    a = intercept[min(d, intercept.shape[0] - 1)]
    for k in range(n_classes):  # z_kn = a_k + sum_j beta_jk X_nj
        for n in range(n_rows):
            z[k, n] = a[k]
        for j in range(n_features):
            w = b[j, k]
            for n in range(n_rows):
                z[k, n] += w * Xt[j, n]
    for n in range(n_rows):
        top[n] = z[0, n]
    for k in range(1, n_classes):
        for n in range(n_rows):
            top[n] = max(top[n], z[k, n])
    total = 0.0
    for n in range(n_rows):
        total += z[labels[n], n] - top[n]  # z_{n, y_n} - m_n
    for k in range(n_classes):
        for n in range(n_rows):
            z[k, n] -= top[n]
    exp_nonpositive(z.reshape(-1), bits)  # z now holds e^{z_kn - m_n}
    for n in range(n_rows):
        total_exp[n] = 0.0
    for k in range(n_classes):
        for n in range(n_rows):
            total_exp[n] += z[k, n]
    # sum_n log s_n with s_n in [1, K]: one log per block of rows, of the block's product (<= ~1e300)
    block = max(1, min(64, int(690.0 / math.log(max(n_classes, 2)))))
    for start in range(0, n_rows, block):
        product = 1.0
        for n in range(start, min(start + block, n_rows)):
            product *= total_exp[n]
        total -= math.log(product)
    for n in range(n_rows):
        total_exp[n] = 1.0 / total_exp[n]
    for k in range(n_classes):  # r_kn = [k == y_n] - e_kn / s_n, then the sums over n
        for n in range(n_rows):
            z[k, n] = (1.0 if labels[n] == k else 0.0) - z[k, n] * total_exp[n]
        acc = 0.0
        for n in range(n_rows):
            acc += z[k, n]
        g_a[d, k] = acc
        for j in range(n_features):
            acc = 0.0
            for n in range(n_rows):
                acc += Xt[j, n] * z[k, n]
            g_beta[d, j, k] = acc
    logp[d] = total


# ---------------------------------------------------------------------------------------------------------
# The distribution
# ---------------------------------------------------------------------------------------------------------


class Categorical(Distribution):
    """Categorical distribution over classes 0..K-1, with probabilities ``p`` or log-odds ``logit_p``.

    Parameters
    ----------
    p : array or node (..., K), >= 0
        Class probabilities along the last axis; normalised to sum to 1 (as PyMC does).
    logit_p : array or node (..., K)
        Unnormalised log-probabilities: p = softmax(logit_p).
    """

    params = ("p",)
    ndims_params = (1,)
    support = "{0, ..., K-1}"
    discrete = True
    observed_only = True

    def __init__(self, p=None, logit_p=None):
        if (p is None) == (logit_p is None):
            raise ValueError(f"{self.describe()}: give exactly one of p and logit_p")
        if isinstance(p, Node) and type(p.op) is Softmax and p.op.value_axis == p.ndim:
            # p = softmax(z) along the class axis: log p_y = log_softmax(z)_y, so evaluate with logit_p = z
            # and skip the softmax and its VJP (the softmax regression's likelihood in one kernel pass)
            p, logit_p = None, p.inputs[0]
        linear = _linear_predictor(logit_p) if p is None else None
        if linear is not None:
            # logit_p = X.dot(beta) + intercept with data X: the fused softmax-regression kernel
            self.params = ("X", "beta", "intercept")
            self.ndims_params = (2, 2, 1)
            self.set_params(**linear)
            node = self.param_nodes["intercept"]
            self.batch_shapes = lambda: [self.param_nodes["X"].shape[:1]]
            return self._set_classes(node, logit_p)
        self.params = ("p",) if p is not None else ("logit_p",)
        self.set_params(**{self.params[0]: p if p is not None else logit_p})
        node = self.param_nodes[self.params[0]]
        self._set_classes(node, node)

    def _set_classes(self, node, shown):
        if node.ndim < 1:
            raise ValueError(f"{self.describe()}: {self.params[0]} needs a last axis of K classes, got a scalar")
        self.n_classes = node.shape[-1]

    def check(self, p=None, logit_p=None):
        if p is not None:
            require(p >= 0, f"p must be >= 0, got {p}")
            sums = p.sum(axis=-1)
            require(sums > 0, f"p must have a positive sum along the last axis, got sums {sums}")
            if not np.all(np.isclose(sums, 1.0)):  # (the log-density normalises p, as PyMC's)
                warnings.warn(f"{self.describe()}: p sums to {sums} along the last axis instead of 1; it is "
                              f"rescaled. Rescale it yourself to silence this warning", UserWarning, stacklevel=5)

    def in_support(self, value):
        return (value >= 0) & (value <= self.n_classes - 1) & (value == np.round(value))

    def support_rule(self):
        return f"observed values must be class indices in 0..K-1 (K = {self.n_classes})"

    def probabilities(self, values):
        if "beta" in values:
            # (batched: X (S, N, J) @ beta (S, J, K) + intercept (S, K) as (S, 1, K); unbatched alike)
            values = {"logit_p": values["X"] @ values["beta"] + np.expand_dims(values["intercept"], -2)}
        if "logit_p" in values:
            z = values["logit_p"] - values["logit_p"].max(axis=-1, keepdims=True)
            e = np.exp(z)
            return e / e.sum(axis=-1, keepdims=True)
        return values["p"] / values["p"].sum(axis=-1, keepdims=True)

    def moment(self, **values):
        return np.argmax(self.probabilities(values), axis=-1)  # the mode

    def sample(self, rng, size, **values):
        p = self.probabilities(values)
        p = np.broadcast_to(p, tuple(size) + p.shape[-1:])
        u = rng.random(tuple(size) + (1,))
        # inverse CDF: the number of classes whose cumulative probability is below u
        return np.minimum((np.cumsum(p, axis=-1) < u).sum(axis=-1), p.shape[-1] - 1).astype(np.int64)

    def logp_elementwise(self, value, **params):
        """log p_y of each observed class: value (S, *shape), params batched (S_i, ...); (S, *shape)."""
        y = np.asarray(value)
        p = self.probabilities({k: np.asarray(v, dtype=np.float64) for k, v in params.items()})
        rank = y.ndim - 1
        p = p.reshape(p.shape[:1] + (1,) * (rank + 2 - p.ndim) + p.shape[1:])  # (S_p, ..., K) aligned with y
        p = np.broadcast_to(p, np.broadcast_shapes(p.shape[:-1], y.shape) + p.shape[-1:])
        inside = (y >= 0) & (y <= self.n_classes - 1) & (y == np.round(y))
        index = np.where(inside, y, 0).astype(np.int64)
        with np.errstate(divide="ignore"):
            chosen = np.log(np.take_along_axis(p, np.broadcast_to(index, p.shape[:-1])[..., None], axis=-1)[..., 0])
        return np.where(inside, chosen, -np.inf)

    def logp_partials(self, values, needs):
        if self.params[0] == "X":
            y, X, beta, intercept = values
            logp, g_beta, g_a = categorical_linear_kernel(
                np.ascontiguousarray(y[0], dtype=np.float64), np.ascontiguousarray(X[0]),
                np.ascontiguousarray(beta), np.ascontiguousarray(intercept))
            return logp, [None, None, g_beta if needs[2] else None, g_a if needs[3] else None]
        (y, p), shape = core_lifted(values, (0, 1))
        n = int(np.prod(shape, dtype=np.int64))
        if y.dtype != np.int64:
            y = y.astype(np.float64, copy=False)
        y_cols = core_columns(y, shape, n)
        p_cols = core_columns(p.astype(np.float64, copy=False), shape, n)
        draws = max(y_cols.shape[0], p_cols.shape[0])
        big = draws > 1 and draws * max(y_cols.shape[1], p_cols.shape[1]) * p_cols.shape[2] >= ROWS_KERNEL_MIN_SIZE
        if self.params[0] == "p":
            kernel = categorical_p_kernel_parallel if big else categorical_p_kernel
        else:
            kernel = categorical_logit_kernel_parallel if big else categorical_logit_kernel
        logp, g = kernel(y_cols, p_cols)
        g_y = np.zeros((draws,) + values[0].shape[1:]) if needs[0] else None  # class indices: no gradient
        g_p = from_core_columns(g, p, values[1].shape, shape) if needs[1] else None
        return logp, [g_y, g_p]


def _linear_predictor(z):
    """``{"X", "beta", "intercept"}`` when z = X.dot(beta) + intercept with X (N, J) data, beta (J, K) and
    intercept (K,) (either order of the sum, or no intercept), else None."""
    from nbvi.graph.node import Constant, Leaf
    from nbvi.graph.ops.elementwise import Add
    from nbvi.graph.ops.linalg import Dot

    if not isinstance(z, Node) or z.ndim != 2:
        return None
    if type(z.op) is Dot:
        product, intercept = z, Constant(np.zeros(z.shape[-1]))
    elif type(z.op) is Add:
        first, second = z.inputs
        product, intercept = (first, second) if type(first.op) is Dot else (second, first)
        if type(product.op) is not Dot or intercept.shape != (z.shape[-1],):
            return None
    else:
        return None
    X, beta = product.inputs
    if not (isinstance(X, Leaf) and X.value() is not None and X.ndim == 2 and beta.ndim == 2):
        return None
    return {"X": X, "beta": beta, "intercept": intercept}
