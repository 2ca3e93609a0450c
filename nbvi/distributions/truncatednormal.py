"""TruncatedNormal(mu, sigma, lower, upper): a Normal restricted to [lower, upper] and renormalised.

With z = (x - mu) / sigma, alpha = (lower - mu) / sigma, beta = (upper - mu) / sigma and the mass inside
Z = Phi(beta) - Phi(alpha) (phi, Phi: the standard normal density and CDF):

    log p(x) = -z^2 / 2 - log sigma - log(2 pi) / 2 - log Z          for lower <= x <= upper

    d/dx     = -z / sigma
    d/dmu    =  z / sigma - (phi(alpha) - phi(beta)) / (sigma Z)
    d/dsigma = (z^2 - 1) / sigma - (alpha phi(alpha) - beta phi(beta)) / (sigma Z)
    d/dlower =  phi(alpha) / (sigma Z)
    d/dupper = -phi(beta) / (sigma Z)

log Z is computed in the tail it lives in: when alpha > 0 both bounds are in the upper tail, where
Phi(beta) - Phi(alpha) = Phi(-alpha) - Phi(-beta) does not cancel; each log Phi comes from
:func:`~nbvi.distributions.normal_tail.log_ndtr_and_mills`, finite far into the tail. An infinite bound
(None) contributes phi = 0 and alpha phi(alpha) = 0.
"""
import math

import numpy as np
from numba import njit

from nbvi.distributions.distribution import Distribution, require, resolve_sigma
from nbvi.distributions.family import ScalarFamily
from nbvi.distributions.normal_tail import log_ndtr_and_mills
from nbvi.graph.node import Constant

COMPILED_SOURCES_DIGEST = "0868908fa0c45f77"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache

HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@njit(cache=True)
def _log_phi(t):
    """log of the standard normal density at t (-inf at an infinite t)."""
    if math.isinf(t):
        return -np.inf
    return -0.5 * t * t - HALF_LOG_2PI


@njit(cache=True)
def _log_mass(alpha, beta):
    """log(Phi(beta) - Phi(alpha)) for alpha < beta, in the tail where it does not cancel."""
    if alpha > 0.0:  # both in the upper tail: Phi(-alpha) - Phi(-beta)
        high = log_ndtr_and_mills(-alpha)[0]
        low = log_ndtr_and_mills(-beta)[0] if beta < np.inf else -np.inf
    else:
        high = log_ndtr_and_mills(beta)[0] if beta < np.inf else 0.0
        low = log_ndtr_and_mills(alpha)[0] if alpha > -np.inf else -np.inf
    return high + math.log1p(-math.exp(low - high))  # log(e^high - e^low), low < high


@njit(cache=True)
def truncatednormal_logp_grad(x, mu, sigma, lower, upper):
    """log TruncatedNormal(x | mu, sigma, lower, upper) and its partial derivatives with respect to x, mu,
    sigma, lower and upper; -inf outside lower <= x <= upper or with sigma <= 0 or lower >= upper."""
    if not (sigma > 0.0 and lower < upper and x >= lower and x <= upper):
        return -np.inf, 0.0, 0.0, 0.0, 0.0, 0.0
    z = (x - mu) / sigma
    alpha = (lower - mu) / sigma
    beta = (upper - mu) / sigma
    log_z = _log_mass(alpha, beta)
    logp = -0.5 * z * z - math.log(sigma) - HALF_LOG_2PI - log_z
    # phi(alpha) / Z and phi(beta) / Z, and alpha phi(alpha) / Z (0 at an infinite bound)
    at_lower = math.exp(_log_phi(alpha) - log_z)
    at_upper = math.exp(_log_phi(beta) - log_z)
    lower_moment = alpha * at_lower if at_lower > 0.0 else 0.0
    upper_moment = beta * at_upper if at_upper > 0.0 else 0.0
    d_x = -z / sigma
    d_mu = z / sigma - (at_lower - at_upper) / sigma
    d_sigma = (z * z - 1.0) / sigma - (lower_moment - upper_moment) / sigma
    d_lower = at_lower / sigma
    d_upper = -at_upper / sigma
    return logp, d_x, d_mu, d_sigma, d_lower, d_upper


TRUNCATEDNORMAL = ScalarFamily("truncatednormal", truncatednormal_logp_grad,
                               params=("mu", "sigma", "lower", "upper"))


class TruncatedNormal(Distribution):
    """A Normal(mu, sigma) truncated to [lower, upper], as ``pm.TruncatedNormal``.

    Parameters
    ----------
    mu : float, array or node
    sigma : float, array or node, > 0 (alias ``sd``, or the precision ``tau``)
    lower, upper : float, array, node or None
        The bounds; None for no bound on that side. A latent TruncatedNormal needs constant bounds (its
        transform to the real line is fixed when the model is built).
    """

    params = ("mu", "sigma", "lower", "upper")
    support = "[lower, upper]"
    family = TRUNCATEDNORMAL

    def __init__(self, mu=0.0, sigma=None, lower=None, upper=None, sd=None, tau=None):
        self.set_params(mu=mu, sigma=resolve_sigma(sigma, sd, tau, default=1.0, family=self.describe()),
                        lower=-np.inf if lower is None else lower, upper=np.inf if upper is None else upper)

    def set_params(self, **params):
        # infinite bounds are allowed (None): the base class refuses non-finite parameters
        finite = {k: (0.0 if k in ("lower", "upper") and _infinite(v) else v) for k, v in params.items()}
        super().set_params(**finite)
        for k in ("lower", "upper"):
            if _infinite(params[k]):
                self.param_nodes[k] = Constant(np.asarray(params[k], dtype=np.float64))

    def check(self, mu, sigma, lower, upper):
        require(sigma > 0, f"sigma must be > 0, got {sigma}")
        require(lower < upper, f"lower must be < upper, got lower={lower}, upper={upper}")

    def in_support(self, value):
        known = {k: self.param_nodes[k] for k in ("lower", "upper")}
        if not all(isinstance(n, Constant) for n in known.values()):
            return None  # bounds from the graph: the log-density says -inf where they are not met
        return (value >= known["lower"].data) & (value <= known["upper"].data)

    def support_rule(self):
        return "observed values must lie between lower and upper"

    def moment(self, mu, sigma, lower, upper):
        """The mean: mu + sigma (phi(alpha) - phi(beta)) / Z, inside the bounds."""
        alpha, beta = (lower - mu) / sigma, (upper - mu) / sigma
        log_z = _log_mass_array(alpha, beta)
        mean = mu + sigma * (np.exp(_log_phi_array(alpha) - log_z) - np.exp(_log_phi_array(beta) - log_z))
        return np.clip(mean, lower, upper)

    def sample(self, rng, size, mu, sigma, lower, upper):
        """Inverse CDF, from whichever tail keeps the CDF away from 1 (no cancellation)."""
        from scipy import special  # (imported on first use: import nbvi stays fast)

        mu, sigma = np.asarray(mu, dtype=np.float64), np.asarray(sigma, dtype=np.float64)
        alpha, beta = (lower - mu) / sigma, (upper - mu) / sigma
        u = rng.random(size)
        flip = np.broadcast_to(alpha > 0, np.shape(u))  # sample -z from the mirrored lower tail
        a = np.where(flip, -beta, alpha)
        b = np.where(flip, -alpha, beta)
        low, high = special.ndtr(a), special.ndtr(b)
        z = special.ndtri(low + u * (high - low))
        z = np.where(flip, -z, z)
        return np.clip(mu + sigma * z, lower, upper)

    def default_transform(self):
        from nbvi import transforms

        lower, upper = self.param_nodes["lower"], self.param_nodes["upper"]
        if not (isinstance(lower, Constant) and isinstance(upper, Constant)):
            raise TypeError(
                f"{self.describe()}: the bounds of a latent TruncatedNormal must be constants (numbers, arrays or "
                f"None), because its transform is fixed when the model is built; got lower={lower!r}, "
                f"upper={upper!r}")
        lo, hi = np.asarray(lower.data), np.asarray(upper.data)
        has_lower, has_upper = np.all(np.isfinite(lo)), np.all(np.isfinite(hi))
        if np.any(np.isfinite(lo)) != has_lower or np.any(np.isfinite(hi)) != has_upper:
            raise TypeError(f"{self.describe()}: give every element a bound on a side, or none (None)")
        if has_lower and has_upper:
            return transforms.Interval(lo, hi)
        if has_lower:
            return transforms.LowerBound(lo)
        if has_upper:
            return transforms.UpperBound(hi)
        return None


def _infinite(value):
    return value is not None and not hasattr(value, "op") and np.all(np.isinf(np.asarray(value, dtype=float)))


def _log_phi_array(t):
    with np.errstate(over="ignore"):
        return np.where(np.isinf(t), -np.inf, -0.5 * np.square(np.where(np.isinf(t), 0.0, t)) - HALF_LOG_2PI)


def _log_mass_array(alpha, beta):
    """log(Phi(beta) - Phi(alpha)) elementwise, in the tail where it does not cancel (numpy)."""
    from scipy import special

    alpha, beta = np.broadcast_arrays(np.asarray(alpha, dtype=np.float64), np.asarray(beta, dtype=np.float64))
    upper_tail = alpha > 0
    high = np.where(upper_tail, special.log_ndtr(-alpha), special.log_ndtr(beta))
    low = np.where(upper_tail, special.log_ndtr(-beta), special.log_ndtr(alpha))
    with np.errstate(divide="ignore"):
        return high + np.log1p(-np.exp(low - high))


__all__ = ["TruncatedNormal"]
