"""Ops along one axis: cumsum, cumprod and diff (numpy's meaning; ``axis=None`` flattens first).

Node axis ``k`` is value axis ``k + 1`` (the draw axis comes first).
"""
import numpy as np

from nbvi.graph.op import Op, normalize_axis


class Cumulative(Op):
    """Base of cumsum and cumprod along ``axis`` (None: along the flattened node, as numpy)."""

    def __init__(self, axis=None):
        if axis is not None and (not isinstance(axis, (int, np.integer)) or isinstance(axis, (bool, np.bool_))):
            raise TypeError(f"axis must be None or an integer for {self.name} (one axis), got {axis!r}")
        self.axis_arg = axis

    def infer(self, x):
        if self.axis_arg is None:
            self.value_axis = 1
            shape = (int(np.prod(x.shape, dtype=np.int64)),)
        else:
            (axis,) = normalize_axis(self.axis_arg, x.ndim)
            self.value_axis = axis + 1
            shape = x.shape
        return shape, (np.int64 if x.dtype.kind in "biu" else np.float64)  # as numpy

    def forward(self, x):
        if self.axis_arg is None:
            x = x.reshape(x.shape[0], -1)
        return self.f(x, axis=self.value_axis)

    def along_axis(self, value):
        """A batched input value as the output lays it out (flattened when axis is None)."""
        return value.reshape(value.shape[0], -1) if self.axis_arg is None else value


class CumSum(Cumulative):
    name = "cumsum"
    f = staticmethod(np.cumsum)

    def vjp(self, g, out, values, needs):
        # out_t = sum_{s <= t} x_s, so d/dx_s = sum_{t >= s} g_t: the cumulative sum of g from the end
        axis = self.value_axis
        grad = np.flip(np.cumsum(np.flip(g, axis=axis), axis=axis), axis=axis)
        return [grad.reshape(values[0].shape)]


class CumProd(Cumulative):
    name = "cumprod"
    f = staticmethod(np.cumprod)

    def vjp(self, g, out, values, needs):
        # out_t = prod_{r <= t} x_r, so d/dx_s = sum_{t >= s} g_t prod_{r <= t, r != s} x_r = out_{s-1} R_s with
        # R_s = sum_{t >= s} g_t prod_{s < r <= t} x_r = g_s + x_{s+1} R_{s+1} (out_{-1} = 1): no division,
        # so zeros need no special case
        axis = self.value_axis
        x = np.moveaxis(self.along_axis(values[0]), axis, -1)
        g = np.moveaxis(g, axis, -1)
        before = np.moveaxis(out, axis, -1)
        n = x.shape[-1]
        tail = np.zeros(np.broadcast_shapes(x.shape[:-1], g.shape[:-1]))
        grad = np.empty(tail.shape + (n,))
        for s in range(n - 1, -1, -1):
            tail = g[..., s] + (x[..., s + 1] * tail if s + 1 < n else tail)
            grad[..., s] = before[..., s - 1] * tail if s > 0 else tail
        return [np.moveaxis(grad, -1, axis).reshape(values[0].shape)]


class Diff(Op):
    """``diff(x, axis)``: x[1:] - x[:-1] along the axis (numpy's ``diff`` with n = 1)."""

    name = "diff"

    def __init__(self, axis=-1):
        if not isinstance(axis, (int, np.integer)) or isinstance(axis, (bool, np.bool_)):
            raise TypeError(f"axis must be an integer for diff (one axis), got {axis!r}")
        self.axis_arg = axis

    def infer(self, x):
        if x.ndim == 0:
            raise ValueError("diff needs at least one axis, got a 0-d node")
        (axis,) = normalize_axis(self.axis_arg, x.ndim)
        self.value_axis = axis + 1
        shape = tuple(max(n - 1, 0) if i == axis else n for i, n in enumerate(x.shape))
        return shape, np.float64

    def slices(self):
        """Index of x[1:] and of x[:-1] along the value axis."""
        before = (slice(None),) * self.value_axis
        return before + (slice(1, None),), before + (slice(None, -1),)

    def forward(self, x):
        upper, lower = self.slices()
        return np.asarray(x[upper] - x[lower], dtype=np.float64)

    def vjp(self, g, out, values, needs):
        # out_t = x_{t+1} - x_t: x_{t+1} gets +g_t and x_t gets -g_t
        upper, lower = self.slices()
        grad = np.zeros(g.shape[:self.value_axis] + values[0].shape[self.value_axis:])
        grad[upper] += g
        grad[lower] -= g
        return [grad]
