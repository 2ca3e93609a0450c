"""DiscreteUniform(lower, upper): equally likely integers lower, lower + 1, ..., upper, observed only.

    log p(y | lower, upper) = -log(upper - lower + 1)   for integer y in [lower, upper]

The bounds are constant integers (fixed by the data, as Binomial's n): they have no gradient.
"""
import math

import numpy as np
from numba import njit

from nbvi.distributions.distribution import Distribution, require
from nbvi.distributions.family import ScalarFamily
from nbvi.graph.node import Constant, Node


@njit(cache=True)
def discreteuniform_logp_grad(y, lower, upper):
    """log DiscreteUniform(y | lower, upper) (no partial derivatives); -inf unless lower, y and upper are
    integers with lower <= y <= upper."""
    if not (lower <= y and y <= upper and y == math.floor(y) and lower == math.floor(lower)
            and upper == math.floor(upper)):
        return (-np.inf,)
    return (-math.log(upper - lower + 1.0),)


DISCRETEUNIFORM = ScalarFamily("discreteuniform", discreteuniform_logp_grad, params=("lower", "upper"),
                               discrete=True, gradients=())


def _bound(value, name, family):
    """A bound as a float array, checked: a constant array of integers. ``family`` names the variable."""
    if isinstance(value, Node):
        if not isinstance(value, Constant):
            raise TypeError(f"{family}: {name} must be a constant array of integers, not a graph node "
                            f"({value!r}); it has no gradient")
        value = value.data
    value = np.asarray(value)
    if value.dtype.kind not in "iufb":
        raise TypeError(f"{family}: {name} must be an array of integers, got dtype {value.dtype}")
    value = value.astype(np.float64)
    if not np.all(np.isfinite(value) & (value == np.floor(value))):
        raise ValueError(f"{family}: {name} must be integers, got {value}")
    return value


class DiscreteUniform(Distribution):
    """Discrete uniform distribution on the integers ``lower``, ..., ``upper`` (both included).

    Parameters
    ----------
    lower, upper : int or array of integers (constants), lower <= upper
    """

    params = ("lower", "upper")
    support = "{lower, ..., upper}"
    discrete = True
    observed_only = True
    family = DISCRETEUNIFORM

    def __init__(self, lower, upper):
        self.set_params(lower=_bound(lower, "lower", self.describe()), upper=_bound(upper, "upper", self.describe()))

    def check(self, lower, upper):
        require(lower <= upper, f"lower must be <= upper, got lower = {lower} and upper = {upper}")

    def in_support(self, value):
        lower, upper = self.param_nodes["lower"].data, self.param_nodes["upper"].data
        return (value >= lower) & (value <= upper) & (value == np.floor(value))

    def support_rule(self):
        return (f"observed values must be integers in lower..upper (lower = {self.param_nodes['lower'].data}, "
                f"upper = {self.param_nodes['upper'].data})")

    def moment(self, lower, upper):
        return np.floor(0.5 * (lower + upper)).astype(np.int64)  # the floor of the mean

    def sample(self, rng, size, lower, upper):
        return rng.integers(lower.astype(np.int64), upper.astype(np.int64), size=size, endpoint=True)
