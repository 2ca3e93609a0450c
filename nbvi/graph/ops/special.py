"""Special functions and log-space arithmetic: gammaln, digamma, erfc, erfinv, log_sigmoid, log1mexp,
logaddexp, logdiffexp.

As in :mod:`nbvi.graph.ops.elementwise`, each op keeps its forward and its derivative side by side;
scipy is imported on first use, which keeps ``import nbvi`` light. The compiled interpreter
(:mod:`nbvi.compiled.interpreter`) computes the same functions with the same formulas.
"""
import math

import numpy as np

from nbvi.graph.ops.elementwise import BinaryOp, UnaryOp, sigmoid_array

LOG_2 = math.log(2.0)


def log1mexp_array(x):
    """log(1 - e^x) for x <= 0 (NaN above 0): log(-expm1(x)) above -log 2, log1p(-e^x) below, each
    accurate where the other loses digits (Maechler 2012, "Accurately computing log(1 - exp(-|a|))")."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > -LOG_2, np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


class Gammaln(UnaryOp):
    """log |Gamma(x)|."""

    name = "gammaln"

    def f(self, x):
        from scipy.special import gammaln

        return gammaln(x)

    def df(self, x, out):
        from scipy.special import digamma

        return digamma(x)  # d/dx log Gamma(x) = psi(x)


class Digamma(UnaryOp):
    name = "digamma"

    def f(self, x):
        from scipy.special import digamma

        return digamma(x)

    def df(self, x, out):
        from scipy.special import polygamma

        return polygamma(1, x)  # d/dx psi(x) = psi_1(x), the trigamma function


class Erfc(UnaryOp):
    name = "erfc"

    def f(self, x):
        from scipy.special import erfc

        return erfc(x)

    def df(self, x, out):
        return (-2.0 / math.sqrt(math.pi)) * np.exp(-x * x)  # d/dx erfc x = -2/sqrt(pi) e^{-x^2}


class Erfinv(UnaryOp):
    name = "erfinv"

    def f(self, x):
        from scipy.special import erfinv

        return erfinv(x)

    def df(self, x, out):
        return (math.sqrt(math.pi) / 2.0) * np.exp(out * out)  # d/dx erfinv x = sqrt(pi)/2 e^{erfinv(x)^2}


class LogSigmoid(UnaryOp):
    """log sigmoid(x) = -log(1 + e^-x) = min(x, 0) - log(1 + e^-|x|), stable both ways."""

    name = "log_sigmoid"

    def f(self, x):
        return np.minimum(x, 0.0) - np.log1p(np.exp(-np.abs(x)))

    def df(self, x, out):
        return sigmoid_array(-x)  # d/dx log sigmoid(x) = 1 - sigmoid(x) = sigmoid(-x)


class Log1mexp(UnaryOp):
    """log(1 - e^x) for x <= 0."""

    name = "log1mexp"

    def f(self, x):
        return log1mexp_array(x)

    def df(self, x, out):
        with np.errstate(divide="ignore", over="ignore"):
            return -1.0 / np.expm1(-x)  # d/dx log(1 - e^x) = -e^x / (1 - e^x) = -1 / (e^-x - 1)


class LogAddExp(BinaryOp):
    """log(e^a + e^b), as numpy's ``logaddexp``."""

    name = "logaddexp"

    def f(self, a, b):
        return np.logaddexp(a, b)

    def partials(self, g, out, a, b, needs):
        # d/da log(e^a + e^b) = e^a / (e^a + e^b) = e^{a - out}; likewise for b
        with np.errstate(invalid="ignore"):
            return (g * np.exp(a - out) if needs[0] else None), (g * np.exp(b - out) if needs[1] else None)


class LogDiffExp(BinaryOp):
    """log(e^a - e^b) = a + log1mexp(b - a), for b <= a."""

    name = "logdiffexp"

    def f(self, a, b):
        return a + log1mexp_array(b - a)

    def partials(self, g, out, a, b, needs):
        # d/da = e^a / (e^a - e^b) = -1 / expm1(b - a); d/db = -e^b / (e^a - e^b) = -1 / expm1(a - b)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            return (g * (-1.0 / np.expm1(b - a)) if needs[0] else None), \
                (g * (-1.0 / np.expm1(a - b)) if needs[1] else None)
