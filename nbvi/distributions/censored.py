"""Censored(dist, lower, upper): observations of a scalar family clipped to [lower, upper], as PyMC v5's.

An observed y below or at the lower bound only says that the latent value was <= lower; one at or above the
upper bound, that it was >= upper. With the base family's density p, CDF F and survival function S = 1 - F:

    log p(y) = log F(lower)     where y <= lower
               log S(upper)     where y >= upper
               log p(y)         otherwise

The term is a graph expression of ops the compiled tape already runs: the base family's density of each
element (:class:`~nbvi.distributions.pointwise.PointwiseLogp`) and, per family, its log F and log S written
stably (below, z is the standardised value):

    Normal       log F = log Phi(z),  log S = log Phi(-z)                     (``ordered._log_ndtr``)
    LogNormal    as Normal with z = (log x - mu) / sigma; x <= 0: log F = -inf, log S = 0
    Exponential  log S = -lam x,  log F = log1mexp(-lam x)
    Weibull      t = (x / beta)^alpha:  log S = -t,  log F = log1mexp(-t)  (log t - t/2 when log t < -20)
    Laplace      log F = log(1/2) + z for z < 0, log1p(-e^{-z} / 2) for z >= 0;  log S(z) = log F(-z)
    Logistic     log F = log sigmoid(z),  log S = log sigmoid(-z)
    Gumbel       log F = -e^{-z},  log S = log1mexp(-e^{-z})  (-z - e^{-z}/2 when z > 20)
    Cauchy       log F = log(arctan(-1/z) / pi) for z < -1, log(1/2 + arctan(z) / pi) for |z| <= 1,
                 log1p(-arctan(1/z) / pi) for z > 1;  log S(z) = log F(-z)
    Uniform      log F = log(x - a) - log(b - a),  log S = log(b - x) - log(b - a)  inside (a, b)

The gradient is the ops' VJPs (e.g. d/dz log Phi(z) = phi(z) / Phi(z), d/dz log sigmoid(z) = sigmoid(-z),
d/dx log1mexp(x) = -1 / expm1(-x), d/dz arctan(z) = 1 / (1 + z^2)). Each branch that ``where`` discards
reads its argument replaced by a safe point (clipped, or a value inside the support), so it is finite and
passes back a zero gradient, never a NaN.
"""
import math

import numpy as np

from nbvi.distributions.cauchy import Cauchy
from nbvi.distributions.distribution import Distribution, made_with_dist, require
from nbvi.distributions.exponential import Exponential
from nbvi.distributions.gumbel import Gumbel
from nbvi.distributions.laplace import Laplace
from nbvi.distributions.logistic import Logistic
from nbvi.distributions.lognormal import LogNormal
from nbvi.distributions.normal import Normal
from nbvi.distributions.ordered import _log_ndtr
from nbvi.distributions.uniform import Uniform
from nbvi.distributions.weibull import Weibull
from nbvi.graph import ops
from nbvi.graph.node import Constant, Node

LOG_HALF = math.log(0.5)
SMALL_LOG_T = -20.0  # below it log(1 - e^{-t}) = log t - t/2 (the next term, t^2/24, is < 1e-18)
BIG_Z = 20.0  # Gumbel: above it log(1 - exp(-e^{-z})) = -z - e^{-z}/2


# ---------------------------------------------------------------------------------------------------------
# log F and log S of each supported family, as graph expressions of x (a node) and the parameter nodes
# ---------------------------------------------------------------------------------------------------------

def _positive_part(x, log_f, log_s):
    """For a family on x > 0 given log F, log S of a node x > 0 (as functions): read at x (1 where x <= 0),
    then log F = -inf, log S = 0 where x <= 0."""
    inside = x > 0.0
    safe = ops.where(inside, x, 1.0)
    return ops.where(inside, log_f(safe), -np.inf), ops.where(inside, log_s(safe), 0.0)


def _normal(x, mu, sigma):
    z = (x - mu) / sigma
    return _log_ndtr(z), _log_ndtr(-z)


def _lognormal(x, mu, sigma):
    return _positive_part(x, lambda s: _log_ndtr((ops.log(s) - mu) / sigma),
                          lambda s: _log_ndtr((mu - ops.log(s)) / sigma))


def _exponential(x, lam):
    return _positive_part(x, lambda s: ops.log1mexp(-lam * s), lambda s: -lam * s)


def _log_one_minus_exp_neg(log_t):
    """log(1 - e^{-t}) from log t: log t - t/2 for log t < -20 (e^{log t} may underflow), else log1mexp(-t)."""
    small = ops.minimum(log_t, SMALL_LOG_T)
    large = ops.maximum(log_t, SMALL_LOG_T)
    return ops.where(log_t < SMALL_LOG_T, small - 0.5 * ops.exp(small), ops.log1mexp(-ops.exp(large)))


def _weibull(x, alpha, beta):
    def log_t(s):
        return alpha * (ops.log(s) - ops.log(beta))  # t = (x / beta)^alpha

    return _positive_part(x, lambda s: _log_one_minus_exp_neg(log_t(s)), lambda s: -ops.exp(log_t(s)))


def _laplace_log_cdf(z):
    """log F of the standard Laplace: log(1/2) + z for z < 0, log1p(-e^{-z}/2) for z >= 0."""
    return ops.where(z < 0.0, LOG_HALF + ops.minimum(z, 0.0), ops.log1p(-0.5 * ops.exp(-ops.maximum(z, 0.0))))


def _laplace(x, mu, b):
    z = (x - mu) / b
    return _laplace_log_cdf(z), _laplace_log_cdf(-z)


def _logistic(x, mu, s):
    z = (x - mu) / s
    return ops.log_sigmoid(z), ops.log_sigmoid(-z)


def _gumbel(x, mu, beta):
    z = (x - mu) / beta
    log_f = -ops.exp(-ops.maximum(z, -700.0))  # (below -700, F = exp(-e^700) is 0 to any precision)
    far = ops.maximum(z, BIG_Z)
    near = ops.minimum(z, BIG_Z)
    log_s = ops.where(z > BIG_Z, -far - 0.5 * ops.exp(-far), ops.log1mexp(-ops.exp(-near)))
    return log_f, log_s


def _cauchy_log_cdf(z):
    """log F of the standard Cauchy, F = 1/2 + arctan(z)/pi, in three pieces that keep 1 - F and F exact."""
    low = ops.minimum(z, -1.0)
    mid = ops.clip(z, -1.0, 1.0)
    high = ops.maximum(z, 1.0)
    return ops.where(z < -1.0, ops.log(ops.arctan(-1.0 / low) / math.pi),
                     ops.where(z > 1.0, ops.log1p(-ops.arctan(1.0 / high) / math.pi),
                               ops.log(0.5 + ops.arctan(mid) / math.pi)))


def _cauchy(x, alpha, beta):
    z = (x - alpha) / beta
    return _cauchy_log_cdf(z), _cauchy_log_cdf(-z)


def _uniform(x, lower, upper):
    mid = 0.5 * (lower + upper)
    safe = ops.where(x > lower, ops.where(x < upper, x, mid), mid)
    log_width = ops.log(upper - lower)
    log_f = ops.where(x <= lower, -np.inf, ops.where(x >= upper, 0.0, ops.log(safe - lower) - log_width))
    log_s = ops.where(x <= lower, 0.0, ops.where(x >= upper, -np.inf, ops.log(upper - safe) - log_width))
    return log_f, log_s


# family -> (log F and log S of x given the parameter nodes, the parameters that must be > 0,
#            a value inside the support given the parameter nodes)
SUPPORTED = {
    Normal: (_normal, ("sigma",), lambda p: 0.0),
    LogNormal: (_lognormal, ("sigma",), lambda p: 1.0),
    Exponential: (_exponential, ("lam",), lambda p: 1.0),
    Laplace: (_laplace, ("b",), lambda p: 0.0),
    Logistic: (_logistic, ("s",), lambda p: 0.0),
    Gumbel: (_gumbel, ("beta",), lambda p: 0.0),
    Weibull: (_weibull, ("alpha", "beta"), lambda p: 1.0),
    Cauchy: (_cauchy, ("beta",), lambda p: 0.0),
    Uniform: (_uniform, (), lambda p: 0.5 * (p["lower"] + p["upper"])),
}


def _scipy_frozen(family, params):
    """The scipy.stats distribution of a supported family at parameter arrays (for logp_elementwise)."""
    from scipy import stats  # (imported on first use: import nbvi stays fast)

    p = params
    if family is Normal:
        return stats.norm(p["mu"], p["sigma"])
    if family is LogNormal:
        return stats.lognorm(p["sigma"], scale=np.exp(p["mu"]))
    if family is Exponential:
        return stats.expon(scale=1.0 / p["lam"])
    if family is Laplace:
        return stats.laplace(p["mu"], p["b"])
    if family is Logistic:
        return stats.logistic(p["mu"], p["s"])
    if family is Gumbel:
        return stats.gumbel_r(p["mu"], p["beta"])
    if family is Weibull:
        return stats.weibull_min(p["alpha"], scale=p["beta"])
    if family is Cauchy:
        return stats.cauchy(p["alpha"], p["beta"])
    return stats.uniform(p["lower"], p["upper"] - p["lower"])


# ---------------------------------------------------------------------------------------------------------
# The distribution
# ---------------------------------------------------------------------------------------------------------

class Censored(Distribution):
    """A scalar family observed through censoring at ``lower`` and ``upper``, as ``pm.Censored``.

    log p(y) = log F(lower) where y <= lower, log(1 - F(upper)) where y >= upper, log p(y) otherwise, with
    p and F the density and CDF of ``dist``. Observed only. Draws are draws of ``dist`` clipped to
    [lower, upper].

    Parameters
    ----------
    dist : distribution
        A scalar family made with ``.dist(...)``, one of Normal, LogNormal, Exponential, Laplace, Logistic,
        Gumbel, Weibull, Cauchy, Uniform; its parameters (numbers, arrays or nodes) broadcast with the
        observed values, and their gradients come from the graph.
    lower, upper : float, array, node or None
        The censoring bounds, broadcasting with the observed values; None means no bound (-inf, +inf).
        Where both are given, lower < upper.
    """

    ndim_supp = 0
    observed_only = True

    def __new__(cls, name, *args, observed=None, **kwargs):
        if isinstance(name, str) and observed is None:
            raise TypeError(f"Censored variable '{name}': a censored variable must be observed (give observed=...); "
                            f"for a latent value use the base family itself")
        return super().__new__(cls, name, *args, observed=observed, **kwargs)

    def __init__(self, dist, lower=None, upper=None):
        made_with_dist(dist, f"{self.describe()}: dist", example="nbvi.Normal.dist(0, 1)")
        if type(dist) not in SUPPORTED:
            names = ", ".join(f.__name__ for f in SUPPORTED)
            raise TypeError(f"{self.describe()}: dist is {type(dist).__name__}, whose log CDF is not available; "
                            f"the supported families are {names}")
        self.base = dist
        self.support = dist.support
        self.has_lower, self.has_upper = lower is not None, upper is not None
        own = {"dist_" + p: node for p, node in dist.param_nodes.items()}
        self.base_names = tuple(own)
        self.params = self.base_names + ("lower", "upper")
        self.ndims_params = (0,) * len(self.params)
        bounds = {"lower": -np.inf if lower is None else lower, "upper": np.inf if upper is None else upper}
        # infinite bounds are allowed (None, or -inf/+inf entries): the base class refuses non-finite parameters
        infinite = {k: v for k, v in bounds.items() if not isinstance(v, Node) and np.any(np.isinf(np.asarray(v, dtype=float)))}
        self.set_params(**own, **{k: (np.where(np.isinf(np.asarray(v, dtype=float)), 0.0, v) if k in infinite else v)
                                  for k, v in bounds.items()})
        for k, v in infinite.items():
            self.param_nodes[k] = Constant(np.asarray(v, dtype=np.float64))

    def describe(self):
        return f"Censored variable '{self.name}'" if self.name else "Censored"

    def _base_values(self, values):
        """The base family's parameter values by its own names, from the censored ``values``."""
        return {k[len("dist_"):]: values[k] for k in self.base_names}

    def check(self, lower, upper, **values):
        self.base.check(**self._base_values(values))
        require(np.asarray(lower) < np.asarray(upper), f"lower must be < upper, got lower {lower}, upper {upper}")

    def moment(self, lower, upper, **values):
        return np.clip(self.base.moment(**self._base_values(values)), lower, upper)

    def sample(self, rng, size, lower, upper, **values):
        return np.clip(self.base.sample(rng, size, **self._base_values(values)), lower, upper)

    def log_density(self, value):
        """log p of each element of ``value`` (a node), a node of the broadcast shape of value and parameters."""
        from nbvi.distributions.pointwise import pointwise_logp

        log_cdfs, positive, inside_point = SUPPORTED[type(self.base)]
        params = self.base.param_nodes
        lower, upper = self.param_nodes["lower"], self.param_nodes["upper"]
        safe = inside_point(params)
        below = value <= lower if self.has_lower else None
        above = value >= upper if self.has_upper else None
        middle = value
        for cut in (below, above):
            if cut is not None:
                middle = ops.where(cut, safe, middle)
        logp = pointwise_logp(self.base, middle)
        if self.has_upper:  # log S(upper), read at a safe point where y < upper
            log_s = log_cdfs(ops.where(above, upper, safe), *params.values())[1]
            logp = ops.where(above, log_s, logp)
        if self.has_lower:  # log F(lower), read at a safe point where y > lower
            log_f = log_cdfs(ops.where(below, lower, safe), *params.values())[0]
            logp = ops.where(below, log_f, logp)
        for name in positive:  # an invalid scale gives -inf, as the base family's own density does
            logp = logp + ops.where(params[name] > 0.0, 0.0, -np.inf)
        if type(self.base) is Uniform:
            logp = logp + ops.where(params["lower"] < params["upper"], 0.0, -np.inf)
        return logp

    def logp_terms(self, value, scale=None):
        """One potential: the sum over the elements of :meth:`log_density`."""
        from nbvi.potential import PotentialTerm

        each = self.log_density(value)
        if tuple(each.shape) != tuple(value.shape):
            raise ValueError(f"{self.describe()}: the parameters and bounds broadcast to {each.shape}, larger than "
                             f"the value's shape {value.shape}")
        if scale is not None:
            each = each * scale(tuple(value.shape))
        return [PotentialTerm()(ops.sum(each))]

    def logp_elementwise(self, value, lower, upper, **params):
        """log p of each element: value (S, *shape), parameters batched (S_i, *s_i); returns (S, *shape)."""
        x = np.asarray(value, dtype=np.float64)

        def aligned(v):  # (S_i, *s_i) -> (S_i, 1, ..., *s_i), of x's rank
            v = np.asarray(v, dtype=np.float64)
            return v.reshape(v.shape[:1] + (1,) * (x.ndim - v.ndim) + v.shape[1:])

        base = {k: aligned(v) for k, v in self._base_values(params).items()}
        lower, upper = aligned(lower), aligned(upper)
        frozen = _scipy_frozen(type(self.base), base)
        with np.errstate(divide="ignore", invalid="ignore"):
            middle = self.base.logp_elementwise(x, **base)
            out = np.where(x >= upper, frozen.logsf(upper), middle)
            out = np.where(x <= lower, frozen.logcdf(lower), out)
        return out


__all__ = ["Censored"]
