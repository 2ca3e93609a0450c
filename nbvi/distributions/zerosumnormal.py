"""ZeroSumNormal(sigma, n_zerosum_axes): a Normal constrained to sum to zero along its last axes.

On its last ``n_zerosum_axes`` axes, of lengths n_1..n_z (N = prod n_i values per event), the variable is
Normal(0, sigma^2 I) restricted to the subspace where every such axis sums to zero, of dimension
K = prod (n_i - 1). Its density with respect to that subspace's own measure, as PyMC v5 writes it:

    log p(x) = sum_event [-x^2 / (2 sigma^2)] - K (log sigma + log(2 pi) / 2)

(PyMC sums -(log sigma + log(2 pi)/2) K / N over all N elements, the same number.) A free variable is kept as
K unconstrained coordinates with :class:`~nbvi.transforms.ZeroSumTransform`, an isometry (log-Jacobian 0),
so the coordinates are independent Normal(0, sigma). Each element's marginal variance is
sigma^2 prod_i (n_i - 1) / n_i: the projection I - J/n per axis.

The term is a graph expression (a potential), so its gradient is that of the ops:

    d/dx = -x / sigma^2,    d/dsigma = sum_event x^2 / sigma^3 - K / sigma.
"""
import math

import numpy as np

from nbvi import arguments
from nbvi.distributions.distribution import Distribution, resolve_sigma
from nbvi.graph import ops
from nbvi.potential import PotentialTerm
from nbvi.transforms import ZeroSumTransform

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_ZERO_ATOL = 1e-9  # PyMC's tolerance on the means of observed values along the zero-sum axes


class ZeroSumNormal(Distribution):
    """A Normal whose values sum to zero along the last ``n_zerosum_axes`` axes, as PyMC v5's ``pm.ZeroSumNormal``.

    Parameters
    ----------
    sigma : float, array or node, > 0
        Scale of the underlying Normal (alias ``sd``, or the precision ``tau``). Its shape is (part of) the
        batch shape, with length 1 on the zero-sum axes if it has them: ``(3, 1)`` for a variable ``(3, 4)``.
    n_zerosum_axes : int >= 1
        How many trailing axes are constrained to sum to zero (default 1).
    support_shape : tuple of int, optional
        The lengths of the zero-sum axes, needed only with ``size`` (the batch shape) instead of ``shape``.

    Notes
    -----
    The variable needs ``shape``, ``dims``, ``observed`` or ``size`` with ``support_shape``; each zero-sum
    axis needs at least 2 values. Draws (``random``, predictive sampling) are Normal(0, sigma) with the mean
    along each zero-sum axis subtracted, as in PyMC. Observed values must sum to zero along those axes.
    """

    params = ("sigma",)
    support = "real, summing to zero along the zero-sum axes"

    def __init__(self, sigma=None, n_zerosum_axes=None, support_shape=None, sd=None, tau=None):
        n = 1 if n_zerosum_axes is None else n_zerosum_axes
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"{self.describe()}: n_zerosum_axes must be an integer, got {n_zerosum_axes!r}")
        if n < 1:
            raise ValueError(f"{self.describe()}: n_zerosum_axes must be >= 1 (for none, use Normal), got {n}")
        self.ndim_supp = int(n)  # (this instance's event rank)
        self.ndims_params = (self.ndim_supp,)  # sigma's last axes (length 1, or absent) are the zero-sum ones
        self.support_shape = None
        if support_shape is not None:
            sizes = (support_shape,) if np.ndim(support_shape) == 0 else tuple(support_shape)
            self.support_shape = tuple(arguments.integer(k, f"{self.describe()}: support_shape") for k in sizes)
            if len(self.support_shape) != self.ndim_supp:
                raise ValueError(f"{self.describe()}: support_shape {self.support_shape} must have n_zerosum_axes = "
                                 f"{self.ndim_supp} entries")
        self.set_params(sigma=resolve_sigma(sigma, sd, tau, default=1.0, family=self.describe()))
        sigma_shape = tuple(self.param_nodes["sigma"].shape)
        if any(k != 1 for k in sigma_shape[len(sigma_shape) - min(len(sigma_shape), self.ndim_supp):]):
            raise ValueError(f"{self.describe()}: sigma must have length one across the zero-sum axes (the last "
                             f"{self.ndim_supp}), got sigma of shape {sigma_shape}")

    def event_shape(self):
        # the zero-sum axes; their lengths come from shape unless support_shape gives them
        return self.support_shape or (1,) * self.ndim_supp

    def _finish(self, shape, size=None):
        if shape is None and (size is None or self.support_shape is None):
            raise ValueError(f"{self.describe()}: give shape, dims or observed (or size with support_shape): the "
                             f"lengths of the zero-sum axes cannot be inferred from sigma")
        if shape is not None and (1 if np.ndim(shape) == 0 else len(tuple(shape))) < self.ndim_supp:
            raise ValueError(f"{self.describe()}: shape {shape!r} has fewer axes than n_zerosum_axes = "
                             f"{self.ndim_supp}")
        super()._finish(shape, size)
        if any(k < 2 for k in self.zerosum_shape):
            raise ValueError(f"{self.describe()}: every zero-sum axis needs at least 2 values, got shape "
                             f"{self.shape} with n_zerosum_axes = {self.ndim_supp}")

    @property
    def zerosum_shape(self):
        """The lengths (n_1..n_z) of the zero-sum axes."""
        return tuple(self.shape[len(self.shape) - self.ndim_supp:])

    @property
    def degrees_of_freedom(self):
        """K = prod (n_i - 1): the dimension of one event's zero-sum subspace."""
        return int(np.prod([k - 1 for k in self.zerosum_shape]))

    def check(self, sigma):
        if not np.all(sigma > 0):
            raise ValueError(f"sigma must be > 0, got {sigma}")

    def default_transform(self):
        return ZeroSumTransform(tuple(range(-self.ndim_supp, 0)))

    def in_support(self, value):
        value = np.asarray(value, dtype=np.float64)
        inside = np.ones(value.shape[:value.ndim - self.ndim_supp], dtype=bool)
        for k in range(1, self.ndim_supp + 1):
            means = np.mean(value, axis=-k, keepdims=True)
            inside &= np.all(np.abs(means) <= _ZERO_ATOL, axis=tuple(range(-self.ndim_supp, 0)))
        return inside[(...,) + (None,) * self.ndim_supp]

    def support_rule(self):
        return f"observed values must sum to zero along the last {self.ndim_supp} axis(es) (means within 1e-9)"

    def moment(self, sigma):
        return np.zeros(self.shape)

    def sample(self, rng, size, sigma):
        sigma = np.asarray(sigma, dtype=np.float64)
        draws = rng.normal(0.0, 1.0, size=tuple(size)) * sigma
        for k in range(1, self.ndim_supp + 1):
            draws = draws - draws.mean(axis=-k, keepdims=True)
        return draws

    def logp_terms(self, value, scale=None):
        """One potential: sum_x [-x^2 / (2 sigma^2) - (log sigma + log(2 pi)/2) K / N], with N = prod n_i.

        Each element carries the share K / N of its event's normalising constant (PyMC's form), so sigma
        may vary over the batch axes. d/dx = -x / sigma^2; d/dsigma = x^2 / sigma^3 - (K / N) / sigma per
        element, summed over the elements sigma is broadcast to (the ops' VJPs do both).
        """
        sigma = self.param_nodes["sigma"]
        share = self.degrees_of_freedom / float(np.prod(self.zerosum_shape))
        z = value / sigma
        element = -0.5 * ops.square(z) - share * (ops.log(sigma) + _HALF_LOG_2PI)
        if scale is not None:
            element = element * scale(tuple(value.shape))
        return [PotentialTerm()(element)]

    def logp_elementwise(self, value, sigma):
        """log p of each event: value (S, *shape), sigma (S_i, *s); returns (S, *batch)."""
        x = np.asarray(value, dtype=np.float64)
        sigma = np.asarray(sigma, dtype=np.float64)
        sigma = sigma.reshape(sigma.shape[:1] + (1,) * (x.ndim - sigma.ndim) + sigma.shape[1:])
        axes = tuple(range(-self.ndim_supp, 0))
        squares = np.sum(-0.5 * (x / sigma) ** 2, axis=axes)
        # sigma has length 1 on the zero-sum axes: summing over them only drops them
        constant = np.sum(self.degrees_of_freedom * (np.log(sigma) + _HALF_LOG_2PI), axis=axes)
        inside = self.in_support(x).reshape(x.shape[:x.ndim - self.ndim_supp])
        return np.where(inside, squares - constant, -np.inf)

__all__ = ["ZeroSumNormal"]
