"""Reductions along node axes: sum, prod, mean, var, std, max, min, argmax, argmin, logsumexp, softmax,
log_softmax.

Node axis ``k`` is value axis ``k + 1`` (the draw axis comes first); every op here stores its node axes
once, when the node is built.
"""
import numpy as np

from nbvi.graph.op import Op, normalize_axis


class Reduction(Op):
    """Base of reductions over ``axis`` (None = all node axes), optionally keeping reduced axes as size 1."""

    def __init__(self, axis=None, keepdims=False):
        self.axis_arg = axis
        self.keepdims = keepdims

    def infer(self, x):
        self.axes = normalize_axis(self.axis_arg, x.ndim)
        self.value_axes = tuple(a + 1 for a in self.axes)
        if self.keepdims:
            shape = tuple(1 if i in self.axes else n for i, n in enumerate(x.shape))
        else:
            shape = tuple(n for i, n in enumerate(x.shape) if i not in self.axes)
        return shape, self.out_dtype(x)

    def out_dtype(self, x):
        return np.float64

    def expand(self, g):
        """Re-insert the reduced axes of a gradient (or output) as size 1, so it broadcasts against the input."""
        return g if self.keepdims else np.expand_dims(g, self.value_axes)

    def count(self, x):
        return int(np.prod([x.shape[a] for a in self.value_axes], dtype=np.int64))


class Sum(Reduction):
    name = "sum"

    def out_dtype(self, x):
        return np.int64 if x.dtype.kind in "biu" else np.float64  # numpy sums booleans and ints as int64

    def forward(self, x):
        return x.sum(axis=self.value_axes, keepdims=self.keepdims)

    def vjp(self, g, out, values, needs):
        # d(sum x)/dx_i = 1: the gradient is copied to every summed element
        return [np.broadcast_to(self.expand(g), values[0].shape)]


class Mean(Reduction):
    name = "mean"

    def forward(self, x):
        return x.mean(axis=self.value_axes, keepdims=self.keepdims)

    def vjp(self, g, out, values, needs):
        # d(mean x)/dx_i = 1/n
        x = values[0]
        return [np.broadcast_to(self.expand(g) / self.count(x), x.shape)]


class Var(Reduction):
    """Population variance (ddof = 0), as numpy's default."""

    name = "var"

    def forward(self, x):
        return x.var(axis=self.value_axes, keepdims=self.keepdims)

    def vjp(self, g, out, values, needs):
        # var = mean((x - m)^2); d var/dx_i = 2 (x_i - m) / n (the terms through m sum to zero)
        x = values[0]
        centered = x - x.mean(axis=self.value_axes, keepdims=True)
        return [self.expand(g) * (2.0 / self.count(x)) * centered]


class Std(Reduction):
    """Population standard deviation (ddof = 0), as numpy's default: sqrt(var x)."""

    name = "std"

    def forward(self, x):
        return x.std(axis=self.value_axes, keepdims=self.keepdims)

    def vjp(self, g, out, values, needs):
        # d std/dx_i = d var/dx_i / (2 std) = (x_i - m) / (n std)
        x = values[0]
        centered = x - x.mean(axis=self.value_axes, keepdims=True)
        return [self.expand(g) * (centered / (self.count(x) * self.expand(out)))]


class Prod(Reduction):
    """Product of the elements along the axes; its gradient is exact where elements are 0."""

    name = "prod"

    def out_dtype(self, x):
        return np.int64 if x.dtype.kind in "biu" else np.float64  # as numpy

    def forward(self, x):
        return x.prod(axis=self.value_axes, keepdims=self.keepdims)

    def vjp(self, g, out, values, needs):
        # d(prod x)/dx_i = prod_{j != i} x_j = (prod_{j < i} x_j) (prod_{j > i} x_j), the products before and
        # after x_i in the row-major order of the reduced axes: no division, so zeros need no special case
        x = values[0]
        kept = [a for a in range(x.ndim) if a not in self.value_axes]
        order = kept + list(self.value_axes)
        moved = x.transpose(order)
        lines = moved.reshape(moved.shape[:len(kept)] + (-1,))
        ones = np.ones(lines.shape[:-1] + (1,))
        before = np.cumprod(np.concatenate([ones, lines[..., :-1]], axis=-1), axis=-1)
        after = np.cumprod(np.concatenate([ones, lines[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        others = (before * after).reshape(moved.shape).transpose(np.argsort(order))
        return [self.expand(g) * others]


class Extremum(Reduction):
    """max or min; the gradient is shared equally among the elements that attain it."""

    def out_dtype(self, x):
        return x.dtype

    def forward(self, x):
        return self.f(x, axis=self.value_axes, keepdims=self.keepdims)

    def vjp(self, g, out, values, needs):
        x = values[0]
        hit = (x == self.expand(out)).astype(np.float64)
        hit /= hit.sum(axis=self.value_axes, keepdims=True)
        return [self.expand(g) * hit]


class Max(Extremum):
    name = "max"
    f = staticmethod(np.max)


class Min(Extremum):
    name = "min"
    f = staticmethod(np.min)


class ArgExtremum(Reduction):
    """argmax / argmin over one axis (or the flattened node when axis is None); forward only."""

    differentiable = False

    def infer(self, x):
        if self.axis_arg is not None and not isinstance(self.axis_arg, (int, np.integer)):
            raise ValueError(f"{self.name} takes a single axis, got {self.axis_arg!r}")
        return super().infer(x)

    def out_dtype(self, x):
        return np.int64

    def forward(self, x):
        if self.axis_arg is None:
            return self.f(x.reshape(x.shape[0], -1), axis=1)
        return self.f(x, axis=self.value_axes[0])


class ArgMax(ArgExtremum):
    name = "argmax"
    f = staticmethod(np.argmax)


class ArgMin(ArgExtremum):
    name = "argmin"
    f = staticmethod(np.argmin)


class LogSumExp(Reduction):
    name = "logsumexp"

    def forward(self, x):
        m = x.max(axis=self.value_axes, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0)
        out = np.log(np.exp(x - m).sum(axis=self.value_axes, keepdims=True)) + m
        return out if self.keepdims else np.squeeze(out, axis=self.value_axes)

    def vjp(self, g, out, values, needs):
        # d/dx_i log sum_j e^{x_j} = e^{x_i - lse} = softmax(x)_i
        return [self.expand(g) * np.exp(values[0] - self.expand(out))]


class Softmax(Op):
    """softmax along one node axis (the last by default): e^{x_i} / sum_j e^{x_j}."""

    name = "softmax"

    def __init__(self, axis=-1):
        self.axis_arg = axis

    def infer(self, x):
        if x.ndim == 0:
            raise ValueError(f"{self.name} needs at least one axis, got a 0-d node")
        (axis,) = normalize_axis(self.axis_arg, x.ndim)
        self.value_axis = axis + 1
        return x.shape, np.float64

    def forward(self, x):
        z = x - x.max(axis=self.value_axis, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=self.value_axis, keepdims=True)

    def vjp(self, g, out, values, needs):
        # ds_i/dx_j = s_i (delta_ij - s_j)  =>  (J^T g)_j = s_j (g_j - sum_i g_i s_i)
        return [out * (g - (g * out).sum(axis=self.value_axis, keepdims=True))]


class LogSoftmax(Softmax):
    """log softmax along one node axis: x_i - logsumexp(x)."""

    name = "log_softmax"

    def forward(self, x):
        z = x - x.max(axis=self.value_axis, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=self.value_axis, keepdims=True))

    def vjp(self, g, out, values, needs):
        # d(log s_i)/dx_j = delta_ij - s_j  =>  (J^T g)_j = g_j - s_j sum_i g_i
        return [g - np.exp(out) * g.sum(axis=self.value_axis, keepdims=True)]
