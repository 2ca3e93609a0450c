"""OrderedLogistic and OrderedProbit: ordinal outcomes 0..K-1 from a predictor eta and K-1 cutpoints.

With the cutpoints c_0 < ... < c_{K-2} (and c_{-1} = -inf, c_{K-1} = +inf), PyMC v5's definitions are

    logistic:  p_k = sigmoid(eta - c_{k-1}) - sigmoid(eta - c_k)
    probit:    p_k = Phi((eta - c_{k-1}) / sigma) - Phi((eta - c_k) / sigma)

The families have no kernel: the log-probability of an observed y is a graph expression (a potential) of
ops the compiled tape already runs, and its gradient is their VJPs. Each log p_k is computed in log space,
so that a category far in a tail (|eta - c| ~ 50) keeps its digits instead of underflowing to log 0.

Logistic, with a = eta - c_{k-1} > b = eta - c_k: since sigmoid(a) - sigmoid(b) = sigmoid(a) sigmoid(-b)
(1 - e^{b-a}),

    log p_k = log sigmoid(a) + log sigmoid(-b) + log1mexp(c_{k-1} - c_k),
    log p_0 = log sigmoid(c_0 - eta),   log p_{K-1} = log sigmoid(eta - c_{K-2}),

three terms that are each finite and accurate, whatever eta. Their derivatives (the ops' VJPs):

    d/d eta     = sigmoid(-a) - sigmoid(b)
    d/d c_{k-1} = -sigmoid(-a) - 1 / expm1(c_k - c_{k-1})      (d/dx log1mexp(x) = -1 / expm1(-x))
    d/d c_k     =  sigmoid(b)  + 1 / expm1(c_k - c_{k-1})

Probit, with z_k = (eta - c_k) / sigma, a = z_{k-1} > b = z_k: Phi(a) - Phi(b) = Phi(-b) - Phi(-a), so
when a + b > 0 the pair is reflected to (-b, -a), which puts the smaller argument below 0, and then

    log p_k = log Phi(a) + log1mexp(log Phi(b) - log Phi(a)),
    log p_0 = log Phi(-z_0),   log p_{K-1} = log Phi(z_{K-2}).

log Phi (``_log_ndtr``) is log1p(-erfc(z/sqrt 2)/2) for z >= 0, log(erfc(-z/sqrt 2)/2) for -30 < z < 0,
and below -30 (where erfc underflows) the asymptotic series
log Phi(z) = -z^2/2 - log(-z) - log(2 pi)/2 + log(1 - 1/z^2 + 3/z^4 - 15/z^6 + ...). Its derivative,
phi(z)/Phi(z), is again the ops' VJPs (of erfc: -2/sqrt(pi) e^{-x^2}; of log: 1/x). Each branch reads its
argument clipped to its own range, so the branch that ``where`` discards is finite and passes back a zero
gradient, never a NaN.

Cutpoints that are not strictly increasing give -inf (PyMC's Categorical refuses such p). ``OrderedLogistic``
and ``OrderedProbit`` are wrappers, as in PyMC: they make the variable and, with ``compute_p=True``, the
deterministic ``{name}_probs`` of the K probabilities, shape (..., K).
"""
import math

import numpy as np

from nbvi.distributions.distribution import Distribution, require
from nbvi.graph import ops
from nbvi.graph.node import as_node
from nbvi.graph.ops.special import log1mexp_array
from nbvi.potential import PotentialTerm

LOG_NDTR_TAIL = -30.0  # below it erfc(-z/sqrt 2) underflows soon (near z = -37.5): the asymptotic series
LOG_2PI_HALF = 0.5 * math.log(2.0 * math.pi)
TINY = 1e-300  # log1mexp's argument is kept <= -TINY: finite value and gradient for any cutpoints
BIG = 1e6  # stands for the infinite c_{-1} = -inf, c_{K-1} = +inf: sigmoid(BIG) = Phi(BIG) = 1 exactly


# ---------------------------------------------------------------------------------------------------------
# log p_k as graph expressions, shape (..., K)
# ---------------------------------------------------------------------------------------------------------

def _log1mexp_safe(x):
    """log(1 - e^x) of a node x that should be < 0, read at min(x, -TINY) (finite value and gradient);
    an x >= 0 only occurs for cutpoints that are not increasing, which the term's penalty makes -inf."""
    return ops.log1mexp(ops.minimum(x, -TINY))


def logistic_log_probs(eta, cutpoints):
    """log p_k of every category, a node of shape (..., K), from eta (batch shape) and cutpoints (..., K-1).

    log p_0 = log sigmoid(-a_0), log p_k = log sigmoid(a_{k-1}) + log sigmoid(-a_k) + log1mexp(c_{k-1} - c_k),
    log p_{K-1} = log sigmoid(a_{K-2}), with a_k = eta - c_k.
    """
    a = eta[..., None] - cutpoints
    pieces = [ops.log_sigmoid(-a[..., :1])]
    if cutpoints.shape[-1] > 1:
        gaps = cutpoints[..., :-1] - cutpoints[..., 1:]  # c_{k-1} - c_k < 0
        pieces.append(ops.log_sigmoid(a[..., :-1]) + ops.log_sigmoid(-a[..., 1:]) + _log1mexp_safe(gaps))
    pieces.append(ops.log_sigmoid(a[..., -1:]))
    return ops.concatenate(pieces, axis=-1)


def _log_ndtr(z):
    """log Phi(z) of a node, accurate in both tails (three branches; see the module's docstring)."""
    root2 = math.sqrt(2.0)
    upper = ops.log1p(-0.5 * ops.erfc(ops.maximum(z, 0.0) / root2))  # z >= 0: log(1 - Phi(-z))
    middle = ops.log(0.5 * ops.erfc(-ops.clip(z, LOG_NDTR_TAIL, 0.0) / root2))
    t = ops.minimum(z, LOG_NDTR_TAIL)
    r = 1.0 / (t * t)
    # Mills ratio series: 1 - r + 3r^2 - 15r^3 + 105r^4 - 945r^5 + 10395r^6 (next term < 3e-16 below -30)
    series = 1.0 + r * (-1.0 + r * (3.0 + r * (-15.0 + r * (105.0 + r * (-945.0 + r * 10395.0)))))
    tail = -0.5 * t * t - ops.log(-t) - LOG_2PI_HALF + ops.log(series)
    return ops.where(z >= 0.0, upper, ops.where(z > LOG_NDTR_TAIL, middle, tail))


def probit_log_probs(eta, cutpoints, sigma):
    """log p_k of every category, a node of shape (..., K); z_k = (eta - c_k) / sigma.

    log p_0 = log Phi(-z_0), log p_{K-1} = log Phi(z_{K-2}), and between them log(Phi(a) - Phi(b)) with
    (a, b) = (z_{k-1}, z_k), reflected to (-b, -a) when a + b > 0.
    """
    z = (eta[..., None] - cutpoints) / sigma[..., None]
    pieces = [_log_ndtr(-z[..., :1])]
    if cutpoints.shape[-1] > 1:
        a, b = z[..., :-1], z[..., 1:]
        reflect = (a + b) > 0.0
        hi = ops.where(reflect, -b, a)
        lo = ops.where(reflect, -a, b)
        log_hi = _log_ndtr(hi)
        pieces.append(log_hi + _log1mexp_safe(_log_ndtr(lo) - log_hi))
    pieces.append(_log_ndtr(z[..., -1:]))
    return ops.concatenate(pieces, axis=-1)


def _chosen_cutpoints(y, cutpoints):
    """The cutpoints around each observed class y: (c_{y-1}, c_y, y > 0, y < K-1), nodes of y's shape
    broadcast with the cutpoints' batch shape (a missing cutpoint reads 0: the flags say which are real)."""
    n = cutpoints.shape[-1]
    yk = y[..., None]
    lower = ops.sum(ops.where(ops.eq(yk, as_node(np.arange(1.0, n + 1.0))), cutpoints, 0.0), axis=-1)  # c_{y-1}
    upper = ops.sum(ops.where(ops.eq(yk, as_node(np.arange(float(n)))), cutpoints, 0.0), axis=-1)  # c_y
    return lower, upper, y > 0.0, y < float(n)


def logistic_log_prob(y, eta, cutpoints):
    """log p_y of each observed class, a node: log sigmoid(a) + log sigmoid(-b) + log1mexp(c_{y-1} - c_y) with
    a = eta - c_{y-1}, b = eta - c_y; a missing cutpoint is +-BIG (its terms are then exactly 0)."""
    lower, upper, has_lower, has_upper = _chosen_cutpoints(y, cutpoints)
    a = ops.where(has_lower, eta - lower, BIG)
    b = ops.where(has_upper, eta - upper, -BIG)
    gap = ops.where(has_lower, ops.where(has_upper, lower - upper, -BIG), -BIG)
    return ops.log_sigmoid(a) + ops.log_sigmoid(-b) + _log1mexp_safe(gap)


def probit_log_prob(y, eta, cutpoints, sigma):
    """log p_y of each observed class, a node: log(Phi(a) - Phi(b)) with a = (eta - c_{y-1}) / sigma (BIG for
    y = 0) and b = (eta - c_y) / sigma (-BIG for y = K-1), reflected to (-b, -a) when a + b > 0."""
    lower, upper, has_lower, has_upper = _chosen_cutpoints(y, cutpoints)
    a = ops.where(has_lower, (eta - lower) / sigma, BIG)
    b = ops.where(has_upper, (eta - upper) / sigma, -BIG)
    reflect = (a + b) > 0.0
    hi = ops.where(reflect, -b, a)
    lo = ops.where(reflect, -a, b)
    log_hi = _log_ndtr(hi)
    return log_hi + _log1mexp_safe(_log_ndtr(lo) - log_hi)


# ---------------------------------------------------------------------------------------------------------
# The same in NumPy (pointwise log-likelihood, draws, initial point)
# ---------------------------------------------------------------------------------------------------------

def _np_log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def logistic_log_probs_array(eta, cutpoints):
    """NumPy twin of :func:`logistic_log_probs`: eta (...), cutpoints (..., K-1) -> (..., K)."""
    a = np.asarray(eta, dtype=np.float64)[..., None] - cutpoints
    pieces = [_np_log_sigmoid(-a[..., :1])]
    if cutpoints.shape[-1] > 1:
        with np.errstate(invalid="ignore", divide="ignore"):
            gaps = log1mexp_array(cutpoints[..., :-1] - cutpoints[..., 1:])
        pieces.append(_np_log_sigmoid(a[..., :-1]) + _np_log_sigmoid(-a[..., 1:]) + gaps)
    pieces.append(_np_log_sigmoid(a[..., -1:]))
    return np.concatenate(_aligned(pieces), axis=-1)


def probit_log_probs_array(eta, cutpoints, sigma):
    """NumPy twin of :func:`probit_log_probs`, with scipy's ``log_ndtr``: -> (..., K)."""
    from scipy.special import log_ndtr  # (imported on first use: import nbvi stays fast)

    z = (np.asarray(eta, dtype=np.float64)[..., None] - cutpoints) / np.asarray(sigma, dtype=np.float64)[..., None]
    pieces = [log_ndtr(-z[..., :1])]
    if cutpoints.shape[-1] > 1:
        a, b = z[..., :-1], z[..., 1:]
        reflect = (a + b) > 0.0
        hi, lo = np.where(reflect, -b, a), np.where(reflect, -a, b)
        log_hi = log_ndtr(hi)
        with np.errstate(invalid="ignore", divide="ignore"):
            pieces.append(log_hi + log1mexp_array(log_ndtr(lo) - log_hi))
    pieces.append(log_ndtr(z[..., -1:]))
    return np.concatenate(_aligned(pieces), axis=-1)


def _aligned(pieces):
    """Broadcast arrays (..., m_i) against each other on all axes but the last."""
    batch = np.broadcast_shapes(*[p.shape[:-1] for p in pieces])
    return [np.broadcast_to(p, batch + p.shape[-1:]) for p in pieces]


def _increasing(cutpoints):
    """Per row of cutpoints (..., K-1): whether they are strictly increasing, shape (...)."""
    return np.all(np.diff(cutpoints, axis=-1) > 0, axis=-1)


# ---------------------------------------------------------------------------------------------------------
# The distributions
# ---------------------------------------------------------------------------------------------------------

class _Ordered(Distribution):
    """Shared parts: an observed class index per element, cutpoints with a last axis of K-1."""

    ndim_supp = 0
    support = "{0, ..., K-1}"
    discrete = True
    observed_only = True
    public_name = "Ordered"

    def describe(self):
        return f"{self.public_name} variable '{self.name}'" if self.name else self.public_name

    def _set_cutpoints(self):
        cutpoints = self.param_nodes["cutpoints"]
        if cutpoints.ndim < 1 or cutpoints.shape[-1] < 1:
            raise ValueError(f"{self.describe()}: cutpoints must be a vector of K-1 >= 1 increasing values (or "
                             f"have them on its last axis), got shape {cutpoints.shape}")
        self.n_classes = cutpoints.shape[-1] + 1

    def check(self, cutpoints, **values):
        require(_increasing(cutpoints), f"cutpoints must be strictly increasing along the last axis, got {cutpoints}")

    def in_support(self, value):
        return (value >= 0) & (value <= self.n_classes - 1) & (value == np.round(value))

    def support_rule(self):
        return f"observed values must be class indices in 0..K-1 (K = {self.n_classes}, one more than the cutpoints)"

    def log_probs(self):
        """log p_k of every category, a node of shape (..., K) (the deterministic ``{name}_probs``)."""
        raise NotImplementedError

    def log_prob(self, value):
        """log p_y of each element of the observed classes ``value`` (a node), a node."""
        raise NotImplementedError

    def log_probs_array(self, **values):
        """log p_k of every category from parameter values, (..., K); -inf rows where cutpoints are unordered."""
        raise NotImplementedError

    def probabilities(self, values):
        """p_k from parameter values, (..., K)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.exp(self.log_probs_array(**values))

    def moment(self, **values):
        return np.argmax(self.probabilities(values), axis=-1)  # the mode

    def sample(self, rng, size, **values):
        p = self.probabilities({k: np.asarray(v, dtype=np.float64) for k, v in values.items()})
        p = np.broadcast_to(p, tuple(size) + p.shape[-1:])
        u = rng.random(tuple(size) + (1,))
        # inverse CDF: the number of classes whose cumulative probability is below u
        return np.minimum((np.cumsum(p, axis=-1) < u).sum(axis=-1), p.shape[-1] - 1).astype(np.int64)

    def logp_terms(self, value, scale=None):
        """One potential: sum over the elements of log p_y (only the observed class's probability is
        computed); -inf when the cutpoints are not strictly increasing."""
        logp = ops.sum(self.log_prob(value))
        cutpoints = self.param_nodes["cutpoints"]
        if cutpoints.shape[-1] > 1:  # unordered cutpoints: no distribution (PyMC's Categorical refuses them)
            logp = logp + ops.sum(ops.where(ops.diff(cutpoints, axis=-1) > 0.0, 0.0, -np.inf))
        if scale is not None:
            logp = logp * scale(tuple(value.shape))
        return [PotentialTerm()(logp)]

    def logp_elementwise(self, value, **params):
        """log p_y of each element: value (S, *shape), parameters batched (S_i, ...); returns (S, *shape)."""
        y = np.asarray(value, dtype=np.float64)
        values = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
        rank = y.ndim - 1
        values = {k: v.reshape(v.shape[:1] + (1,) * (rank + core - v.ndim + 1) + v.shape[1:])
                  for (k, v), core in zip(values.items(), self.ndims_params)}
        table = self.log_probs_array(**values)  # (S_p, ..., K) aligned with y
        table = np.broadcast_to(table, np.broadcast_shapes(table.shape[:-1], y.shape) + table.shape[-1:])
        inside = (y >= 0) & (y <= self.n_classes - 1) & (y == np.round(y))
        index = np.broadcast_to(np.where(inside, y, 0).astype(np.int64), table.shape[:-1])[..., None]
        chosen = np.take_along_axis(table, index, axis=-1)[..., 0]
        ordered = np.broadcast_to(_increasing(values["cutpoints"]), chosen.shape)
        return np.where(inside & ordered, chosen, -np.inf)


class _OrderedLogistic(_Ordered):
    """The distribution behind :class:`OrderedLogistic` (see there)."""

    params = ("eta", "cutpoints")
    ndims_params = (0, 1)
    public_name = "OrderedLogistic"

    def __init__(self, eta, cutpoints):
        self.set_params(eta=eta, cutpoints=cutpoints)
        self._set_cutpoints()

    def log_probs(self):
        return logistic_log_probs(self.param_nodes["eta"], self.param_nodes["cutpoints"])

    def log_prob(self, value):
        return logistic_log_prob(value, self.param_nodes["eta"], self.param_nodes["cutpoints"])

    def log_probs_array(self, eta, cutpoints):
        table = logistic_log_probs_array(eta, cutpoints)
        return np.where(_increasing(cutpoints)[..., None], table, -np.inf)


class _OrderedProbit(_Ordered):
    """The distribution behind :class:`OrderedProbit` (see there)."""

    params = ("eta", "cutpoints", "sigma")
    ndims_params = (0, 1, 0)
    public_name = "OrderedProbit"

    def __init__(self, eta, cutpoints, sigma=1.0):
        self.set_params(eta=eta, cutpoints=cutpoints, sigma=sigma)
        self._set_cutpoints()

    def check(self, cutpoints, sigma, **values):
        super().check(cutpoints)
        require(sigma > 0, f"sigma must be > 0, got {sigma}")

    def log_probs(self):
        return probit_log_probs(self.param_nodes["eta"], self.param_nodes["cutpoints"], self.param_nodes["sigma"])

    def log_prob(self, value):
        return probit_log_prob(value, self.param_nodes["eta"], self.param_nodes["cutpoints"], self.param_nodes["sigma"])

    def log_probs_array(self, eta, cutpoints, sigma):
        table = probit_log_probs_array(eta, cutpoints, sigma)
        valid = _increasing(cutpoints)[..., None] & (np.asarray(sigma)[..., None] > 0)
        return np.where(valid, table, -np.inf)


def _make(kind, cls, name, args, compute_p, kwargs):
    from nbvi.model import Deterministic

    if not isinstance(name, str):
        raise TypeError(f"{kind}(...) inside a model takes the variable's name first, e.g. {kind}('y', eta, "
                        f"cutpoints, observed=y); use {kind}.dist(...) for a distribution without a model")
    rv = cls(name, *args, **kwargs)
    if compute_p:
        Deterministic(f"{name}_probs", ops.exp(rv.dist.log_probs()), model=kwargs.get("model"))
    return rv


class OrderedLogistic:
    """Ordinal outcomes 0..K-1 with logistic cumulative probabilities, as ``pm.OrderedLogistic``.

    p_0 = 1 - sigmoid(eta - c_0), p_k = sigmoid(eta - c_{k-1}) - sigmoid(eta - c_k), p_{K-1} =
    sigmoid(eta - c_{K-2}). Observed only. ``OrderedLogistic("y", eta, cutpoints, observed=y)`` returns the
    variable; ``OrderedLogistic.dist(eta, cutpoints)`` the distribution alone.

    Parameters
    ----------
    name : str
    eta : float, array or node, the batch shape
        The predictor of each element.
    cutpoints : array or node (K-1,) or (..., K-1)
        Strictly increasing along the last axis (otherwise the log-density is -inf); a free one usually has
        ``transform=nbvi.transforms.ordered`` and an increasing ``initval``.
    compute_p : bool, default True
        Also register the deterministic ``{name}_probs``, the K probabilities, shape (..., K).
    **kwargs
        As for every variable (``observed``, ``shape``, ``dims``, ``total_size``...).
    """

    def __new__(cls, name, *args, compute_p=True, **kwargs):
        return _make("OrderedLogistic", _OrderedLogistic, name, args, compute_p, kwargs)

    @classmethod
    def dist(cls, *args, **kwargs):
        """The distribution without a model (see :meth:`nbvi.Distribution.dist`)."""
        return _OrderedLogistic.dist(*args, **kwargs)


class OrderedProbit:
    """Ordinal outcomes 0..K-1 with normal cumulative probabilities, as ``pm.OrderedProbit``.

    p_k = Phi((eta - c_{k-1}) / sigma) - Phi((eta - c_k) / sigma), with c_{-1} = -inf and c_{K-1} = +inf.
    Observed only.

    Parameters
    ----------
    name : str
    eta : float, array or node, the batch shape
    cutpoints : array or node (K-1,) or (..., K-1), strictly increasing along the last axis
    sigma : float, array or node, the batch shape, > 0, default 1
        The scale of the latent normal.
    compute_p : bool, default True
        Also register the deterministic ``{name}_probs``, shape (..., K).
    **kwargs
        As for every variable.
    """

    def __new__(cls, name, *args, compute_p=True, **kwargs):
        return _make("OrderedProbit", _OrderedProbit, name, args, compute_p, kwargs)

    @classmethod
    def dist(cls, *args, **kwargs):
        """The distribution without a model (see :meth:`nbvi.Distribution.dist`)."""
        return _OrderedProbit.dist(*args, **kwargs)


__all__ = ["OrderedLogistic", "OrderedProbit"]
