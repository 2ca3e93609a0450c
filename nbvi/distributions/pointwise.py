"""The log-density of each element of a scalar family, as a graph op: what a mixture of families mixes.

``PointwiseLogp(dist)(value, *params)`` is ``log p(value_j | params_j)`` at every element ``j`` of the
broadcast shape (no sum). Its VJP multiplies the upstream gradient by each element's partial derivatives,
from the family's generated pointwise gradient kernel, and sums them back over the axes each argument
was broadcast along:

    d L / d arg = unbroadcast(g * d log p / d arg)

The compiled tape runs it as one micro row of a loop (LOGPDF: the family's scalar function per element,
its partials again going backward).
"""
import numpy as np

from nbvi.distributions.distribution import scalar_columns
from nbvi.graph.op import Op, broadcast_static, unbroadcast


class PointwiseLogp(Op):
    """Each element's log-density under the scalar family of ``dist`` (its parameters are the inputs)."""

    name = "pointwise_logp"

    def __init__(self, dist):
        if dist.family is None:
            raise TypeError(f"{dist.describe()} is not a scalar family: it has no log-density per element")
        self.dist = dist

    def infer(self, value, *params):
        shapes = [value.shape] + [p.shape for p in params]
        return broadcast_static(*shapes, what=f"value and parameters of {self.dist.describe()}"), np.float64

    def forward(self, value, *params):
        *columns, shape = scalar_columns([value, *params])
        return self.dist.family.pointwise(*columns).reshape(shape)

    def vjp(self, g, out, values, needs):
        *columns, shape = scalar_columns(values)
        _, *partials = self.dist.family.pointwise_grad(*columns)
        return [unbroadcast(g * partial.reshape(shape), value.shape) if need else None
                for partial, value, need in zip(partials, values, needs)]


def pointwise_logp(dist, value):
    """The node of each element's log-density of ``value`` under ``dist`` (a scalar family's ``.dist``)."""
    return PointwiseLogp(dist)(value, *dist.param_nodes.values())
