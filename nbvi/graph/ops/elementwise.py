"""Elementwise ops: unary functions, rounding, binary arithmetic, comparisons, where and clip.

Each op keeps its forward and its derivative side by side. Inputs of different rank are lifted to the
output rank (see :func:`~nbvi.graph.op.lift`) and gradients are summed back with
:func:`~nbvi.graph.op.unbroadcast`. The special functions (gammaln, erfinv, log1mexp, logaddexp...) are in
:mod:`nbvi.graph.ops.special`.
"""
import math

import numpy as np

from nbvi.graph.op import Op, broadcast_static, lift, unbroadcast

# ---------------------------------------------------------------------------------------------------------
# Unary ops: forward f(x) and derivative f'(x); the VJP is g * f'(x).
# ---------------------------------------------------------------------------------------------------------


class UnaryOp(Op):
    """Base of elementwise functions of one float input."""

    def infer(self, x):
        return x.shape, np.float64

    def forward(self, x):
        return self.f(x)

    def vjp(self, g, out, values, needs):
        return [g * self.df(values[0], out)]


class Neg(UnaryOp):
    name = "neg"

    def f(self, x):
        return -x

    def vjp(self, g, out, values, needs):
        return [-g]  # d/dx (-x) = -1


class Exp(UnaryOp):
    name = "exp"

    def f(self, x):
        return np.exp(x)

    def df(self, x, out):
        return out  # d/dx e^x = e^x


class Log(UnaryOp):
    name = "log"

    def f(self, x):
        return np.log(x)

    def df(self, x, out):
        return 1.0 / x  # d/dx log x = 1/x


class Log1p(UnaryOp):
    name = "log1p"

    def f(self, x):
        return np.log1p(x)

    def df(self, x, out):
        return 1.0 / (1.0 + x)  # d/dx log(1+x) = 1/(1+x)


class Expm1(UnaryOp):
    name = "expm1"

    def f(self, x):
        return np.expm1(x)

    def df(self, x, out):
        return out + 1.0  # d/dx (e^x - 1) = e^x


class Sqrt(UnaryOp):
    name = "sqrt"

    def f(self, x):
        return np.sqrt(x)

    def df(self, x, out):
        return 0.5 / out  # d/dx sqrt(x) = 1 / (2 sqrt(x))


class Square(UnaryOp):
    name = "square"

    def f(self, x):
        return x * x

    def df(self, x, out):
        return 2.0 * x  # d/dx x^2 = 2x


class Abs(UnaryOp):
    name = "abs"

    def f(self, x):
        return np.abs(x)

    def df(self, x, out):
        return np.sign(x)  # d/dx |x| = sign(x) (0 at 0, a subgradient)


class Sin(UnaryOp):
    name = "sin"

    def f(self, x):
        return np.sin(x)

    def df(self, x, out):
        return np.cos(x)  # d/dx sin x = cos x


class Cos(UnaryOp):
    name = "cos"

    def f(self, x):
        return np.cos(x)

    def df(self, x, out):
        return -np.sin(x)  # d/dx cos x = -sin x


class Tan(UnaryOp):
    name = "tan"

    def f(self, x):
        return np.tan(x)

    def df(self, x, out):
        return 1.0 + out * out  # d/dx tan x = 1 + tan^2 x


class Tanh(UnaryOp):
    name = "tanh"

    def f(self, x):
        return np.tanh(x)

    def df(self, x, out):
        return 1.0 - out * out  # d/dx tanh x = 1 - tanh^2 x


def sigmoid_array(x):
    """Logistic function 1 / (1 + e^-x) without overflow for large |x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


class Sigmoid(UnaryOp):
    name = "sigmoid"

    def f(self, x):
        return sigmoid_array(x)

    def df(self, x, out):
        return out * (1.0 - out)  # d/dx s(x) = s(x) (1 - s(x))


class Softplus(UnaryOp):
    name = "softplus"

    def f(self, x):
        return np.logaddexp(0.0, x)  # log(1 + e^x), stable both ways

    def df(self, x, out):
        return sigmoid_array(x)  # d/dx log(1 + e^x) = sigmoid(x)


class Erf(UnaryOp):
    name = "erf"

    def f(self, x):
        from scipy.special import erf  # imported on first use: keeps `import nbvi` light

        return erf(x)

    def df(self, x, out):
        return (2.0 / math.sqrt(math.pi)) * np.exp(-x * x)  # d/dx erf x = 2/sqrt(pi) e^{-x^2}


class Sinh(UnaryOp):
    name = "sinh"

    def f(self, x):
        return np.sinh(x)

    def df(self, x, out):
        return np.cosh(x)  # d/dx sinh x = cosh x


class Cosh(UnaryOp):
    name = "cosh"

    def f(self, x):
        return np.cosh(x)

    def df(self, x, out):
        return np.sinh(x)  # d/dx cosh x = sinh x


class Arcsin(UnaryOp):
    name = "arcsin"

    def f(self, x):
        return np.arcsin(x)

    def df(self, x, out):
        return 1.0 / np.sqrt((1.0 - x) * (1.0 + x))  # d/dx arcsin x = 1 / sqrt(1 - x^2)


class Arccos(UnaryOp):
    name = "arccos"

    def f(self, x):
        return np.arccos(x)

    def df(self, x, out):
        return -1.0 / np.sqrt((1.0 - x) * (1.0 + x))  # d/dx arccos x = -1 / sqrt(1 - x^2)


class Arctan(UnaryOp):
    name = "arctan"

    def f(self, x):
        return np.arctan(x)

    def df(self, x, out):
        return 1.0 / (1.0 + x * x)  # d/dx arctan x = 1 / (1 + x^2)


class Arcsinh(UnaryOp):
    name = "arcsinh"

    def f(self, x):
        return np.arcsinh(x)

    def df(self, x, out):
        return 1.0 / np.sqrt(x * x + 1.0)  # d/dx arcsinh x = 1 / sqrt(x^2 + 1)


class Arccosh(UnaryOp):
    name = "arccosh"

    def f(self, x):
        return np.arccosh(x)

    def df(self, x, out):
        return 1.0 / np.sqrt((x - 1.0) * (x + 1.0))  # d/dx arccosh x = 1 / sqrt(x^2 - 1), x > 1


class Arctanh(UnaryOp):
    name = "arctanh"

    def f(self, x):
        return np.arctanh(x)

    def df(self, x, out):
        return 1.0 / ((1.0 - x) * (1.0 + x))  # d/dx arctanh x = 1 / (1 - x^2)


class Rounding(UnaryOp):
    """Piecewise constant functions (floor, ceil, round, sign): their gradient is 0 (as in PyMC), so a model
    may use them in its log-density; the gradient does not flow through them."""

    def forward(self, x):
        return self.f(np.asarray(x, dtype=np.float64))

    def vjp(self, g, out, values, needs):
        return [np.zeros(values[0].shape)]  # d/dx floor(x) = 0 (almost everywhere)


class Floor(Rounding):
    name = "floor"
    f = staticmethod(np.floor)


class Ceil(Rounding):
    name = "ceil"
    f = staticmethod(np.ceil)


class Round(Rounding):
    """Round to the nearest integer, halves to the even one (numpy's ``round``)."""

    name = "round"
    f = staticmethod(np.rint)


class Sign(Rounding):
    name = "sign"
    f = staticmethod(np.sign)


# ---------------------------------------------------------------------------------------------------------
# Binary arithmetic: the VJP of each input is summed back over the axes it was broadcast along.
# ---------------------------------------------------------------------------------------------------------


class BinaryOp(Op):
    """Base of broadcasting elementwise ops of two inputs."""

    def infer(self, a, b):
        return broadcast_static(a.shape, b.shape, what=f"operands of '{self.name}'"), np.float64

    def __call__(self, a, b):
        node = super().__call__(a, b)
        self.ndim = node.ndim  # ranks are static: lift once per node, not per value
        return node

    def forward(self, a, b):
        return self.f(lift(a, self.ndim), lift(b, self.ndim))

    def vjp(self, g, out, values, needs):
        a, b = (lift(v, self.ndim) for v in values)
        ga, gb = self.partials(g, out, a, b, needs)
        return [
            unbroadcast(ga, values[0].shape) if needs[0] else None,
            unbroadcast(gb, values[1].shape) if needs[1] else None,
        ]


class Add(BinaryOp):
    name = "add"

    def f(self, a, b):
        return a + b

    def partials(self, g, out, a, b, needs):
        return g, g  # d(a+b)/da = d(a+b)/db = 1


class Sub(BinaryOp):
    name = "sub"

    def f(self, a, b):
        return a - b

    def partials(self, g, out, a, b, needs):
        return g, -g if needs[1] else None  # d(a-b)/da = 1, d(a-b)/db = -1


class Mul(BinaryOp):
    name = "mul"

    def f(self, a, b):
        return a * b

    def partials(self, g, out, a, b, needs):
        # d(ab)/da = b, d(ab)/db = a
        return (g * b if needs[0] else None), (g * a if needs[1] else None)


class Div(BinaryOp):
    name = "div"

    def f(self, a, b):
        return a / b

    def partials(self, g, out, a, b, needs):
        # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2 = -out/b
        return (g / b if needs[0] else None), (-g * out / b if needs[1] else None)


class Pow(BinaryOp):
    name = "pow"

    def f(self, a, b):
        return np.power(a, b)

    def partials(self, g, out, a, b, needs):
        ga = gb = None
        if needs[0]:
            ga = g * b * np.power(a, b - 1.0)  # d(a^b)/da = b a^(b-1)
        if needs[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                # d(a^b)/db = a^b log a, taken as 0 where a^b = 0 (a = 0 and b > 0)
                gb = g * np.where(out == 0.0, 0.0, out * np.log(np.where(a > 0, a, 1.0)))
        return ga, gb


class Maximum(BinaryOp):
    name = "maximum"

    def f(self, a, b):
        return np.maximum(a, b)

    def partials(self, g, out, a, b, needs):
        # the gradient flows to the larger input; a tie sends it to the first
        first = a >= b
        return (np.where(first, g, 0.0) if needs[0] else None), (np.where(first, 0.0, g) if needs[1] else None)


class Minimum(BinaryOp):
    name = "minimum"

    def f(self, a, b):
        return np.minimum(a, b)

    def partials(self, g, out, a, b, needs):
        first = a <= b
        return (np.where(first, g, 0.0) if needs[0] else None), (np.where(first, 0.0, g) if needs[1] else None)


# ---------------------------------------------------------------------------------------------------------
# Comparisons: forward only, boolean output.
# ---------------------------------------------------------------------------------------------------------


class Compare(BinaryOp):
    """Elementwise comparison; piecewise constant, so it has no gradient."""

    differentiable = False

    def __init__(self, name, f):
        self.name = name
        self.f = f

    def infer(self, a, b):
        shape, _ = super().infer(a, b)
        return shape, np.bool_

    def vjp(self, g, out, values, needs):
        return Op.vjp(self, g, out, values, needs)


# ---------------------------------------------------------------------------------------------------------
# where and clip
# ---------------------------------------------------------------------------------------------------------


class Where(Op):
    """``where(cond, a, b)``: a where cond holds, else b. The condition gets no gradient."""

    name = "where"

    def infer(self, cond, a, b):
        return broadcast_static(cond.shape, a.shape, b.shape, what="operands of 'where'"), np.float64

    def __call__(self, cond, a, b):
        node = super().__call__(cond, a, b)
        self.ndim = node.ndim
        return node

    def forward(self, cond, a, b):
        return np.where(lift(cond, self.ndim), lift(a, self.ndim), lift(b, self.ndim))

    def vjp(self, g, out, values, needs):
        cond = lift(values[0], self.ndim)
        return [
            None,
            unbroadcast(np.where(cond, g, 0.0), values[1].shape) if needs[1] else None,
            unbroadcast(np.where(cond, 0.0, g), values[2].shape) if needs[2] else None,
        ]


class Clip(Op):
    """``clip(x, lower, upper)`` with constant bounds; the gradient is 1 strictly inside, 0 where clipped."""

    name = "clip"

    def __init__(self, lower, upper):
        self.lower = lower
        self.upper = upper

    def infer(self, x):
        bounds = [np.shape(b) for b in (self.lower, self.upper) if b is not None]
        return broadcast_static(x.shape, *bounds, what="value and bounds of 'clip'"), np.float64

    def __call__(self, x):
        node = super().__call__(x)
        self.ndim = node.ndim  # bounds broadcast against the node's axes, not the draw axis
        return node

    def forward(self, x):
        return np.clip(lift(x, self.ndim), self.lower, self.upper)

    def vjp(self, g, out, values, needs):
        x = lift(values[0], self.ndim)
        inside = np.ones(np.broadcast_shapes(x.shape, g.shape), dtype=bool)
        if self.lower is not None:
            inside &= x >= self.lower
        if self.upper is not None:
            inside &= x <= self.upper
        return [unbroadcast(np.where(inside, g, 0.0), values[0].shape)]  # summed over the axes of the bounds


class AddN(Op):
    """Sum of any number of nodes of one shape (e.g. the log-density terms of a model)."""

    name = "add_n"

    def infer(self, *xs):
        if any(x.shape != xs[0].shape for x in xs):
            raise ValueError(f"add_n needs terms of one shape, got {[x.shape for x in xs]}")
        return xs[0].shape, np.float64

    def forward(self, *xs):
        total = xs[0]
        for x in xs[1:]:
            total = total + x
        return total

    def vjp(self, g, out, values, needs):
        # d(x_1 + ... + x_n)/dx_i = 1
        return [unbroadcast(g, v.shape) if need else None for v, need in zip(values, needs)]
