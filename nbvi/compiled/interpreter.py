"""One compiled interpreter for the tape of any model: log-density and gradient at D points in one call.

A tape (:mod:`nbvi.compiled.lowering`) is a list of instructions over one float64 workspace ``w`` per
point: the constrained free variables come first, then one region per computed node, then scratch, then
the constants (folded once when the tape is built). ``gw`` holds d logp / d w for the computed part.

Each instruction is a row of ``code`` (int64) and of ``fparams`` (float64)::

    [opcode, n, out(off, stride, map), a(off, stride, map), b(...), c(...), e(...), flags, aux0, aux1, aux2]

Element j of an operand lives at ``p = off + stride * j + index[map + (map > 0) * j]``: stride 1 and map 0
for an operand of the instruction's whole shape, stride 0 and map 0 for one number (``index[0]`` is 0),
stride 0 and map > 0 for any other layout (broadcast, gathered, transposed), whose positions are listed in
``index[map:map + n]``. The formula has no branch, so the loops stay tight. ``flags`` has bit i set when
input operand i (a, b, c, e) depends on the free variables, i.e. needs a gradient.

Elementwise work runs in LOOP instructions: rows of ``micro`` (LOAD an operand into a register, an
affine form's product with the data (AFFINE), an arithmetic op or function of registers, a log-density TERM
of a scalar family, STORE a register), run over blocks of BLOCK elements, a register holding one block (see
:func:`_loop_blocks`). Log-density terms add
their value to logp and their partial derivatives to the adjoints (their output's gradient is 1).

Forward runs the instructions in order; a loop whose only outputs are its terms also runs its backward
sweep right away, and the terms of families with a core axis (MIXTURE, DIRICHLET, MVNORMAL, CATEGORICAL)
and the Normal terms of linear regressions (NORMAL_GRAM) add their partials straight into ``gw``. The
instructions along a core axis or along lines (those four families, STICKBREAKING, ORDERED, PROD, CUMSUM, CUMPROD)
are run by a second C function, called by its address (:mod:`nbvi.compiled.axis_ops`), so that a model
without them does not wait for their compile. Backward
then runs the other instructions in reverse, each pushing ``gw`` of its output to its inputs (reverse-mode
differentiation). Finally the transforms map x back to
theta: d logp/d theta = dx/du * gw[x] + d log|dx/du| / du.
"""
import math

import numpy as np
from numba import carray, cfunc, njit, types

from nbvi.compiled.addresses import call_float64_with_int64s, call_with_int64s, float64_pointer, int64_pointer
from nbvi.distributions.normal import HALF_LOG_2PI
from nbvi.distributions.special import digamma
from nbvi.fused.families import BERNOULLI_LOGIT, NORMAL, POISSON, family_logp_grad
from nbvi.fused.transforms import transform_backward
from nbvi.numerics import (
    LN2_HI,
    LN2_LO,
    LOG1P_SERIES,
    SQRT_2_MINUS_1,
    exp_into,
    exp_minus_abs_into,
    log1p_unit,
    log_positive_scratch,
)

COMPILED_SOURCES_DIGEST = "0868908fa0c45f77"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache

# -- opcodes -----------------------------------------------------------------------------------------------
# unary elementwise: out_j = f(a_j)
NEG, EXP, LOG, LOG1P, EXPM1, SQRT, SQUARE, ABS, SIN, COS, TAN, TANH, SIGMOID, SOFTPLUS, ERF, CLIP = range(100, 116)
(ERFC, ERFINV, SINH, COSH, ARCSIN, ARCCOS, ARCTAN, ARCSINH, ARCCOSH, ARCTANH, GAMMALN, DIGAMMA, LOG1MEXP,
 LOG_SIGMOID) = range(116, 130)
# piecewise constant, gradient 0 (the backward sweep skips them)
FLOOR, CEIL, ROUND, SIGN = range(130, 134)
# binary elementwise: out_j = f(a_j, b_j)
ADD, SUB, MUL, DIV, POW, MAXIMUM, MINIMUM, LOGADDEXP, LOGDIFFEXP = range(20, 29)
# comparisons (forward only, 1.0 or 0.0) and where(cond = a, b, c)
EQ, NEQ, LT, LE, GT, GE, WHERE = range(30, 37)
# moves: out[p_out(j)] = a[p_a(j)] (indexing, transposes, concatenation)
COPY = 40
# reductions of n input elements into aux0 outputs at p_out(j); b is scratch of aux0 numbers
SUM, MAX, MIN, LOGSUMEXP = range(50, 54)
# along lines: n = aux0 lines of aux1 elements, element t of line l is j = l aux1 + t (read at p_a(j)). PROD: the
# product of each line into out at p_out(l), b scratch of aux1 numbers; CUMSUM, CUMPROD: out at p_out(j)
PROD, CUMSUM, CUMPROD = range(54, 57)
# a SUM with aux1 = TERM_OUTPUT is a log-density term (a potential): its one output adds to logp and gets
# the adjoint d logp / d out = 1
TERM_OUTPUT = 1
# matrix product of a (aux0 x aux1) and b (aux1 x aux2), both contiguous, into out (aux0 x aux2); with
# flags bit A_TRANSPOSED, a holds A^T (a constant stored transposed)
DOT = 60
A_TRANSPOSED = 16
# log-density terms of families with a core axis of aux0 components (element j, component k of a parameter
# at e = j aux0 + k); out is scratch; they add their partials to gw going forward, as loops of terms do
MIXTURE, DIRICHLET, MVNORMAL, CATEGORICAL = 61, 62, 64, 65
# (MVNORMAL: value a, mean b, matrix c of aux0 x aux0 per row, given as aux1: COV, CHOL or PRECISION;
# CATEGORICAL: class a per element, aux0 probabilities or log-odds b per element, aux1: PROBABILITIES or LOGITS)
PROBABILITIES, LOGITS = 0, 1
COV, CHOL, PRECISION = 0, 1, 2
# a Normal term over n elements with one sigma (b) whose mean is affine in the aux0 scalars of a, from the
# statistics of its data in the constants c, aux1 nonzero entries of G (see _normal_gram); out is scratch;
# fparams: (scale, sum of squared residuals)
NORMAL_GRAM = 66
# the stick-breaking transform of n rows: u (a, aux0 - 1 per row) to the simplex x (out, aux0 per row)
STICKBREAKING = 63
# the ordered transform of n rows: u (a, aux0 per row) to the increasing x (out, aux0 per row)
ORDERED = 67
# a loop over n elements running micro rows aux0..aux1 of ``micro`` in blocks (see _loop); aux2: STORED
LOOP = 80
# micro rows only: load an operand into a register, store a register, a log-density term of scalar family,
# and the log-density of each element of a scalar family as a value (LOGPDF: a mixture's components)
LOAD, STORE, TERM, LOGPDF = 90, 91, 92, 93
# an affine form's product C^T s over the block's elements: the M_UNIFORM + M_COUNT scalars s at M_SCALARS;
# from M_OFF, the number of each of the first M_UNIFORM rows of C (the same at every element: an intercept),
# then the other M_COUNT rows of M_STRIDE numbers (one read of each block of C forward, and again from the
# cache backward, where d logp / d s_r = sum_j C_rj g_j goes straight into gw)
AFFINE = 94

SINK, STORED = 0, 1  # a loop whose values are only used by its terms, or one that stores values
BLOCK = 256  # elements per block: a register holds one block

UNARY_FIRST, UNARY_LAST = NEG, SIGN
BINARY_FIRST, BINARY_LAST = ADD, LOGDIFFEXP

OUT, A, B, C, E = 2, 5, 8, 11, 14  # first column of each operand's (offset, stride, map)
FLAGS, AUX0, AUX1, AUX2 = 17, 18, 19, 20
CODE_COLUMNS = 21
# a micro row: [opcode, dst, a, b, c, e (registers), offset, stride, map (a LOAD's or STORE's operand),
# flags, family, f (the register of a family's fourth parameter), scalars, count, uniform (an AFFINE's)]; a LOAD's
# flags bit 0: its operand needs a gradient; a TERM's flags bit 0: its sigma register holds one number for
# the whole loop (Normal terms then take log sigma once per block)
M_DST, M_A, M_B, M_C, M_E, M_OFF, M_STRIDE, M_MAP, M_FLAGS, M_FAMILY, M_F, M_SCALARS, M_COUNT, M_UNIFORM = range(1, 15)
MICRO_COLUMNS = 15
SQRT_PI_HALF = 2.0 / math.sqrt(math.pi)
HALF_SQRT_PI = math.sqrt(math.pi) / 2.0
LOG_2 = math.log(2.0)
# the asymptotic series of the trigamma function: psi_1(x) ~ 1/x + 1/(2x^2) + sum_k B_2k / x^(2k+1), k = 1..7
_TRIGAMMA_SERIES = (1.0 / 6.0, -1.0 / 30.0, 1.0 / 42.0, -1.0 / 30.0, 5.0 / 66.0, -691.0 / 2730.0, 7.0 / 6.0)


@njit(cache=True, error_model="numpy")
def trigamma(x):
    """psi_1(x) = d/dx psi(x), accurate to about 1e-15 relative for x > 0.

    Negative x use the reflection psi_1(x) = pi^2 / sin^2(pi x) - psi_1(1 - x); the poles x = 0, -1, ...
    give inf. For x > 0: the recurrence psi_1(x) = psi_1(x + 1) + 1/x^2 moves x to >= 10, where the series
    truncated after the x^-15 term errs by less than 1e-16 relative (the next term is 3617 / (510 x^17)).
    """
    if x <= 0.0:
        if x == math.floor(x):
            return math.inf
        s = math.sin(math.pi * x)
        return math.pi * math.pi / (s * s) - trigamma(1.0 - x)
    result = 0.0
    while x < 10.0:
        result += 1.0 / (x * x)
        x += 1.0
    inv = 1.0 / x
    inv2 = inv * inv
    series = 0.0
    for k in range(len(_TRIGAMMA_SERIES) - 1, -1, -1):  # Horner's rule in 1 / x^2
        series = (series + _TRIGAMMA_SERIES[k]) * inv2
    return result + inv + 0.5 * inv2 + series * inv


@njit(cache=True, error_model="numpy")
def erfinv(y):
    """The inverse of erf on (-1, 1) (+-inf at +-1, NaN outside), to about 1e-15 relative.

    A start from Giles' single-precision polynomials in w = -log(1 - y^2) ("Approximating the erfinv
    function", GPU Computing Gems, 2011; relative error below 4e-7 where 1 - |y| > 1e-8), then Halley steps on
    f(x) = erf(x) - y, f' = 2/sqrt(pi) e^{-x^2}, f'' = -2 x f': x -= u / (1 + x u) with u = f / f'. For
    |y| > 1/2 the residual is (1 - |y|) - erfc(|x|), where 1 - |y| is exact, so the digits of y near 1 count.
    """
    if not -1.0 < y < 1.0:
        if y == 1.0:
            return math.inf
        if y == -1.0:
            return -math.inf
        return math.nan
    t = abs(y)
    w = -math.log((1.0 - t) * (1.0 + t))
    if w < 5.0:
        w -= 2.5
        p = 2.81022636e-08
        p = 3.43273939e-07 + p * w
        p = -3.5233877e-06 + p * w
        p = -4.39150654e-06 + p * w
        p = 0.00021858087 + p * w
        p = -0.00125372503 + p * w
        p = -0.00417768164 + p * w
        p = 0.246640727 + p * w
        p = 1.50140941 + p * w
    else:
        w = math.sqrt(w) - 3.0
        p = -0.000200214257
        p = 0.000100950558 + p * w
        p = 0.00134934322 + p * w
        p = -0.00367342844 + p * w
        p = 0.00573950773 + p * w
        p = -0.0076224613 + p * w
        p = 0.00943887047 + p * w
        p = 1.00167406 + p * w
        p = 2.83297682 + p * w
    x = p * t
    for _ in range(10):  # two steps from the start (cubic convergence); more only for 1 - |y| < 1e-8
        f = math.erf(x) - t if t <= 0.5 else (1.0 - t) - math.erfc(x)
        u = f / (SQRT_PI_HALF * math.exp(-x * x))
        step = u / (1.0 + x * u)
        x -= step
        if abs(step) <= 1e-15 * x:
            break
    return x if y >= 0.0 else -x


@njit(cache=True, inline="always", error_model="numpy")
def _log1mexp(a):
    """log(1 - e^a) for a <= 0 (NaN above): log(-expm1(a)) above -log 2, log1p(-e^a) below (Maechler 2012)."""
    if a > -LOG_2:
        if a >= 0.0:
            return -math.inf if a == 0.0 else math.nan
        return math.log(-math.expm1(a))
    return math.log1p(-math.exp(a))


@njit(cache=True, inline="always", error_model="numpy")
def _unary(op, a, lo, hi):
    """f(a) of unary opcode ``op`` (``lo``, ``hi``: the bounds of CLIP)."""
    if op == NEG:
        return -a
    if op == EXP:
        return math.exp(a)
    if op == LOG:
        return math.log(a) if a > 0.0 else (-math.inf if a == 0.0 else math.nan)
    if op == LOG1P:
        return math.log1p(a) if a > -1.0 else (-math.inf if a == -1.0 else math.nan)
    if op == EXPM1:
        return math.expm1(a)
    if op == SQRT:
        return math.sqrt(a) if a >= 0.0 else math.nan
    if op == SQUARE:
        return a * a
    if op == ABS:
        return abs(a)
    if op == SIN:
        return math.sin(a)
    if op == COS:
        return math.cos(a)
    if op == TAN:
        return math.tan(a)
    if op == TANH:
        return math.tanh(a)
    if op == SIGMOID:  # 1 / (1 + e^-a) without overflow
        if a >= 0.0:
            return 1.0 / (1.0 + math.exp(-a))
        e = math.exp(a)
        return e / (1.0 + e)
    if op == SOFTPLUS:  # log(1 + e^a), stable both ways
        return max(a, 0.0) + math.log1p(math.exp(-abs(a)))
    if op == ERF:
        return math.erf(a)
    if op == CLIP:
        return min(max(a, lo), hi)
    if op == ERFC:
        return math.erfc(a)
    if op == ERFINV:
        return erfinv(a)
    if op == SINH:
        return math.sinh(a)
    if op == COSH:
        return math.cosh(a)
    if op == ARCSIN:
        return math.asin(a) if -1.0 <= a <= 1.0 else math.nan
    if op == ARCCOS:
        return math.acos(a) if -1.0 <= a <= 1.0 else math.nan
    if op == ARCTAN:
        return math.atan(a)
    if op == ARCSINH:
        return math.asinh(a)
    if op == ARCCOSH:
        return math.acosh(a) if a >= 1.0 else math.nan
    if op == ARCTANH:
        return math.atanh(a) if -1.0 < a < 1.0 else (math.copysign(math.inf, a) if abs(a) == 1.0 else math.nan)
    if op == GAMMALN:
        return math.lgamma(a)
    if op == DIGAMMA:
        return digamma(a)
    if op == LOG1MEXP:
        return _log1mexp(a)
    if op == LOG_SIGMOID:  # log sigmoid(a) = min(a, 0) - log(1 + e^-|a|)
        return min(a, 0.0) - math.log1p(math.exp(-abs(a)))
    if op == FLOOR:
        return np.floor(a)
    if op == CEIL:
        return np.ceil(a)
    if op == ROUND:  # halves to the even integer, as numpy's round
        return np.rint(a)
    # SIGN (NaN stays NaN, as numpy's sign)
    return 1.0 if a > 0.0 else (-1.0 if a < 0.0 else a)


@njit(cache=True, inline="always", error_model="numpy")
def _unary_derivative(op, a, out, lo, hi):
    """df/da of unary opcode ``op`` at a, given out = f(a)."""
    if op == NEG:
        return -1.0
    if op == EXP:
        return out  # d e^a = e^a
    if op == LOG:
        return 1.0 / a
    if op == LOG1P:
        return 1.0 / (1.0 + a)
    if op == EXPM1:
        return out + 1.0  # d (e^a - 1) = e^a
    if op == SQRT:
        return 0.5 / out  # d sqrt(a) = 1 / (2 sqrt(a))
    if op == SQUARE:
        return 2.0 * a
    if op == ABS:
        return 1.0 if a > 0.0 else (-1.0 if a < 0.0 else 0.0)  # sign(a), 0 at 0 as numpy's sign
    if op == SIN:
        return math.cos(a)
    if op == COS:
        return -math.sin(a)
    if op == TAN:
        return 1.0 + out * out  # 1 + tan^2
    if op == TANH:
        return 1.0 - out * out  # 1 - tanh^2
    if op == SIGMOID:
        return out * (1.0 - out)  # s (1 - s)
    if op == SOFTPLUS:  # d log(1 + e^a) = sigmoid(a)
        if a >= 0.0:
            return 1.0 / (1.0 + math.exp(-a))
        e = math.exp(a)
        return e / (1.0 + e)
    if op == ERF:
        return SQRT_PI_HALF * math.exp(-a * a)  # 2/sqrt(pi) e^{-a^2}
    if op == CLIP:  # 1 inside [lo, hi] (bounds included, as the graph's clip), 0 where clipped
        return 1.0 if lo <= a <= hi else 0.0
    if op == ERFC:
        return -SQRT_PI_HALF * math.exp(-a * a)  # -2/sqrt(pi) e^{-a^2}
    if op == ERFINV:
        return HALF_SQRT_PI * math.exp(out * out)  # sqrt(pi)/2 e^{erfinv(a)^2}
    if op == SINH:
        return math.cosh(a)
    if op == COSH:
        return math.sinh(a)
    if op == ARCSIN:
        return 1.0 / math.sqrt((1.0 - a) * (1.0 + a))  # 1 / sqrt(1 - a^2)
    if op == ARCCOS:
        return -1.0 / math.sqrt((1.0 - a) * (1.0 + a))
    if op == ARCTAN:
        return 1.0 / (1.0 + a * a)
    if op == ARCSINH:
        return 1.0 / math.sqrt(a * a + 1.0)
    if op == ARCCOSH:
        return 1.0 / math.sqrt((a - 1.0) * (a + 1.0))  # 1 / sqrt(a^2 - 1)
    if op == ARCTANH:
        return 1.0 / ((1.0 - a) * (1.0 + a))  # 1 / (1 - a^2)
    if op == GAMMALN:
        return digamma(a)  # d log Gamma(a) = psi(a)
    if op == DIGAMMA:
        return trigamma(a)
    if op == LOG1MEXP:
        return -1.0 / math.expm1(-a)  # d log(1 - e^a) = -e^a / (1 - e^a) = -1 / (e^-a - 1)
    if op == LOG_SIGMOID:  # d log sigmoid(a) = sigmoid(-a)
        if a <= 0.0:
            return 1.0 / (1.0 + math.exp(a))
        e = math.exp(-a)
        return e / (1.0 + e)
    return 0.0  # FLOOR, CEIL, ROUND, SIGN (the backward sweep skips them)


@njit(cache=True, inline="always", error_model="numpy")
def _binary(op, a, b):
    """f(a, b) of binary opcode ``op``."""
    if op == ADD:
        return a + b
    if op == SUB:
        return a - b
    if op == MUL:
        return a * b
    if op == DIV:
        return a / b
    if op == POW:
        return a ** b
    if op == MAXIMUM:  # (a NaN on either side is the result, as numpy's maximum)
        return a if (a >= b or a != a) else b
    if op == MINIMUM:
        return a if (a <= b or a != a) else b
    if op == LOGADDEXP:  # log(e^a + e^b), as numpy's logaddexp
        if a == b:
            return a + LOG_2
        d = a - b
        if d > 0.0:
            return a + math.log1p(math.exp(-d))
        if d <= 0.0:
            return b + math.log1p(math.exp(d))
        return d  # NaN
    return a + _log1mexp(b - a)  # LOGDIFFEXP: log(e^a - e^b)


@njit(cache=True, inline="always", error_model="numpy")
def _binary_partials(op, a, b, out):
    """(df/da, df/db) of binary opcode ``op`` at (a, b), given out = f(a, b)."""
    if op == ADD:
        return 1.0, 1.0
    if op == SUB:
        return 1.0, -1.0
    if op == MUL:
        return b, a
    if op == DIV:
        return 1.0 / b, -out / b  # d(a/b)/db = -a/b^2
    if op == POW:
        # d a^b/da = b a^(b-1); d a^b/db = a^b log a, taken as 0 where a^b = 0
        return b * a ** (b - 1.0), (0.0 if out == 0.0 else out * math.log(a if a > 0.0 else 1.0))
    if op == MAXIMUM:  # the larger input gets the gradient; a tie gives it to the first
        return (1.0, 0.0) if a >= b else (0.0, 1.0)
    if op == MINIMUM:
        return (1.0, 0.0) if a <= b else (0.0, 1.0)
    if op == LOGADDEXP:  # e^a / (e^a + e^b) = e^{a - out}, e^{b - out}
        return math.exp(a - out), math.exp(b - out)
    # LOGDIFFEXP: e^a / (e^a - e^b) = -1 / expm1(b - a), -e^b / (e^a - e^b) = -1 / expm1(a - b)
    return -1.0 / math.expm1(b - a), -1.0 / math.expm1(a - b)


@njit(cache=True, inline="always", error_model="numpy")
def _compare(op, a, b):
    if op == EQ:
        return 1.0 if a == b else 0.0
    if op == NEQ:
        return 1.0 if a != b else 0.0
    if op == LT:
        return 1.0 if a < b else 0.0
    if op == LE:
        return 1.0 if a <= b else 0.0
    if op == GT:
        return 1.0 if a > b else 0.0
    return 1.0 if a >= b else 0.0  # GE


# Operands are decoded in the loop bodies below rather than by a helper taking ``code`` and ``index``: numba
# keeps an atomic reference count per array argument of a helper it does not inline (docs/fused.md).


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _bernoulli_logit_block(a, b, nb, backward, scale, reg, adj):
    """sum_i log Bernoulli(y_i | sigmoid(l_i)) over a block (y in register a, l in b); adds the scaled
    d/dl = y - sigmoid(l) to adj[b] when ``backward``. With t = e^-|l|: log p = y l - max(l, 0) - log(1 + t)
    and sigmoid(l) = 1 / (1 + t) for l >= 0, t / (1 + t) below; y outside {0, 1} gives -inf. The last
    register is scratch. Every loop vectorises: the exp of :mod:`nbvi.numerics`, then
    log(1 + t) as in ``log1p_unit`` (t is in [0, 1]) and the partials, with selects and one division per
    element."""
    t_row = reg.shape[0] - 1
    exp_minus_abs_into(reg[b, :nb], reg[t_row, :nb])
    term = 0.0
    if not backward:
        for i in range(nb):
            y, logit = reg[a, i], reg[b, i]
            lp = y * logit - max(logit, 0.0) - log1p_unit(reg[t_row, i])
            term += lp if (y == 0.0) | (y == 1.0) else -math.inf
        return term
    for i in range(nb):
        y, logit, t = reg[a, i], reg[b, i], reg[t_row, i]
        # log(1 + t) = e log 2 + log(1 + f) (log1p_unit), with s = f / (2 + f) and 1 / (1 + t) from one
        # reciprocal q = 1 / ((1 + t)(2 + f))
        above = t > SQRT_2_MINUS_1
        f = 0.5 * (t - 1.0) if above else t
        q = 1.0 / ((1.0 + t) * (2.0 + f))
        s = f * (1.0 + t) * q
        z = s * s
        r = 0.0
        for c in LOG1P_SERIES:
            r = r * z + c
        r *= z
        log1p_t = (LN2_HI if above else 0.0) + ((f - s * (f - r)) + (LN2_LO if above else 0.0))
        valid = (y == 0.0) | (y == 1.0)
        term += y * logit - max(logit, 0.0) - log1p_t if valid else -math.inf
        # d/dl log p = y - sigmoid(l): sigmoid(-l) for y = 1, -sigmoid(l) for y = 0, each t / (1 + t) or
        # 1 / (1 + t) (no cancellation in 1 - sigmoid(l) for large l)
        inv = (2.0 + f) * q  # 1 / (1 + t)
        miss = t * inv if (logit >= 0.0) == (y == 1.0) else inv
        adj[b, i] += scale * (miss if y == 1.0 else -miss) if valid else 0.0
    return term


@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def _poisson_block(a, b, e, nb, backward, scale, reg, adj):
    """sum_i log Poisson(y_i | mu_i) over a block (y in register a, mu in b, lgamma(y + 1) in e, inf where y
    is not a count); log p = y log mu - mu - lgamma(y + 1) (0 log 0 = 0), d/dmu = y / mu - 1; mu < 0 gives
    -inf. The last three registers are scratch."""
    log_row, bits_row, exponent_row = reg.shape[0] - 3, reg.shape[0] - 2, reg.shape[0] - 1
    for i in range(nb):
        reg[log_row, i] = reg[b, i]
    log_positive_scratch(reg[log_row, :nb], reg[bits_row, :nb].view(np.int64),
                         reg[exponent_row, :nb].view(np.int64))
    term = 0.0
    for i in range(nb):
        y, mu = reg[a, i], reg[b, i]
        lp = (y * reg[log_row, i] if y != 0.0 else 0.0) - mu - reg[e, i]
        term += lp if mu >= 0.0 else -math.inf
    if backward:  # as poisson_logp_grad: no gradient outside the support, nor at mu = 0 < y
        for i in range(nb):
            y, mu = reg[a, i], reg[b, i]
            if mu >= 0.0 and reg[e, i] < math.inf:
                if y == 0.0:
                    adj[b, i] -= scale
                elif mu > 0.0:
                    adj[b, i] += scale * (y / mu - 1.0)
    return term


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"}, inline="always")
def _affine_rows(w, base, stride, s0, rows, out):
    """out (nb,) += sum_{r < rows} s_r C_r for up to four rows of an AFFINE's arrays: C_r at w[base + r stride
    ...] (nb numbers), s_r = w[s0 + r]; one pass over out for the four."""
    s_0, s_1, s_2, s_3 = w[s0], w[s0 + min(1, rows - 1)], w[s0 + min(2, rows - 1)], w[s0 + min(3, rows - 1)]
    s_1, s_2, s_3 = (s_1 if rows > 1 else 0.0), (s_2 if rows > 2 else 0.0), (s_3 if rows > 3 else 0.0)
    b_0 = base  # rows past the last read the last again, times 0
    b_1 = base + stride * np.uint64(min(1, rows - 1))
    b_2 = base + stride * np.uint64(min(2, rows - 1))
    b_3 = base + stride * np.uint64(min(3, rows - 1))
    for i in range(out.size):
        k = np.uint64(i)
        out[i] += (w[b_0 + k] * s_0 + w[b_1 + k] * s_1) + (w[b_2 + k] * s_2 + w[b_3 + k] * s_3)


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"}, inline="always")
def _affine_rows_adjoint(w, base, stride, s0, rows, g, gw):
    """gw[s0 + r] += sum_i C_ri g_i (d logp / d s_r) for up to four rows r of an AFFINE's arrays (as
    :func:`_affine_rows`), in one pass over g (nb,)."""
    b_1 = base + stride * np.uint64(min(1, rows - 1))
    b_2 = base + stride * np.uint64(min(2, rows - 1))
    b_3 = base + stride * np.uint64(min(3, rows - 1))
    acc_0 = acc_1 = acc_2 = acc_3 = 0.0
    for i in range(g.size):
        k = np.uint64(i)
        acc_0 += w[base + k] * g[i]
        acc_1 += w[b_1 + k] * g[i]
        acc_2 += w[b_2 + k] * g[i]
        acc_3 += w[b_3 + k] * g[i]
    gw[s0] += acc_0
    if rows > 1:
        gw[s0 + 1] += acc_1
    if rows > 2:
        gw[s0 + 2] += acc_2
    if rows > 3:
        gw[s0 + 3] += acc_3


@njit(cache=True, error_model="numpy", fastmath={"reassoc"})
def _loop_blocks(start, end, n, backward, micro, mparams, index, w, gw, reg, adj):
    """A LOOP over n elements (micro rows start .. end - 1), block by block: elements j0 .. j0 + nb - 1, one
    register row per value. Returns the sum of its terms.

    Forward: LOADs fill registers, ops compute theirs, TERMs return their value (and, when ``backward``,
    add their partials to the adjoints ``adj``), STOREs write values out (or, when ``backward``, add the
    gradient the stored values received to their adjoints). Backward, when asked: the micro rows in
    reverse push adjoints to their inputs, LOADs of operands with a gradient add theirs to ``gw``.
    """
    total = 0.0
    for j0 in range(0, n, BLOCK):  # (one call for every block: no reference counts per block)
        nb = min(BLOCK, n - j0)
        for u in range(start, end):
            op, d, a, b = micro[u, 0], micro[u, M_DST], micro[u, M_A], micro[u, M_B]
            if op == LOAD:
                off, stride, mp = micro[u, M_OFF], micro[u, M_STRIDE], micro[u, M_MAP]
                if mp > 0:  # laid out otherwise: positions listed in index
                    for i in range(nb):
                        reg[d, i] = w[off + index[mp + j0 + i]]
                elif stride == 1:  # contiguous: a plain copy, which the compiler vectorises
                    base = np.uint64(off + j0)  # (unsigned: no negative-index wraparound to stop vectorising)
                    for i in range(nb):
                        reg[d, i] = w[base + np.uint64(i)]
                else:  # one number for every element
                    value = w[off]
                    for i in range(nb):
                        reg[d, i] = value
                if backward:
                    for i in range(nb):
                        adj[d, i] = 0.0
            elif op == AFFINE:  # reg_d = sum_r s_r C_r over the block: the uniform rows, then four rows per pass
                off, stride, s0, count = micro[u, M_OFF], micro[u, M_STRIDE], micro[u, M_SCALARS], micro[u, M_COUNT]
                uniform = micro[u, M_UNIFORM]
                first = 0.0
                for r in range(uniform):
                    first += w[s0 + r] * w[off + r]
                for i in range(nb):
                    reg[d, i] = first
                for r in range(0, count, 4):
                    _affine_rows(w, np.uint64(off + uniform + r * stride + j0), np.uint64(stride), s0 + uniform + r,
                                 min(4, count - r), reg[d, :nb])
                if backward:
                    for i in range(nb):
                        adj[d, i] = 0.0
            elif op == STORE:
                off, stride, mp = micro[u, M_OFF], micro[u, M_STRIDE], micro[u, M_MAP]
                f = min(mp, 1)
                if backward:  # the gradient the stored value received from the instructions that read it
                    for i in range(nb):
                        j = j0 + i
                        adj[a, i] += gw[off + stride * j + index[mp + f * j]]
                elif mp == 0 and stride == 1:
                    base = np.uint64(off + j0)
                    for i in range(nb):
                        w[base + np.uint64(i)] = reg[a, i]
                else:
                    for i in range(nb):
                        j = j0 + i
                        w[off + stride * j + index[mp + f * j]] = reg[a, i]
            elif op == TERM:
                c, e = micro[u, M_C], micro[u, M_E]
                family, scale = micro[u, M_FAMILY], mparams[u, 0]
                term = 0.0
                if family == NORMAL and micro[u, M_FLAGS] & 1 and reg[c, 0] > 0.0:
                    # a Normal term with one sigma: log sigma once; z = (x - mu) / sigma,
                    # log p = -z^2 / 2 - log sigma - log(2 pi) / 2, d/dx = -z / sigma = -d/dmu,
                    # d/dsigma = (z^2 - 1) / sigma
                    inv = 1.0 / reg[c, 0]
                    if backward:
                        for i in range(nb):
                            z = (reg[a, i] - reg[b, i]) * inv
                            term -= 0.5 * z * z
                            adj[a, i] -= scale * z * inv
                            adj[b, i] += scale * z * inv
                            adj[c, i] += scale * (z * z - 1.0) * inv
                    else:
                        for i in range(nb):
                            z = (reg[a, i] - reg[b, i]) * inv
                            term -= 0.5 * z * z
                    total += scale * (term - nb * (math.log(reg[c, 0]) + HALF_LOG_2PI))
                    continue
                if family == BERNOULLI_LOGIT:  # with the vectorised exp and log of nbvi.numerics
                    total += scale * _bernoulli_logit_block(a, b, nb, backward, scale, reg, adj)
                    continue
                if family == POISSON and micro[u, M_FLAGS] & 2:  # register e holds lgamma(y + 1)
                    total += scale * _poisson_block(a, b, e, nb, backward, scale, reg, adj)
                    continue
                f = micro[u, M_F]
                for i in range(nb):
                    lp, d_a, d_b, d_c, d_e, d_f = family_logp_grad(family, reg[a, i], reg[b, i], reg[c, i], reg[e, i],
                                                                   reg[f, i])
                    term += lp
                    if backward:
                        adj[a, i] += scale * d_a
                        adj[b, i] += scale * d_b
                        adj[c, i] += scale * d_c
                        adj[e, i] += scale * d_e
                        adj[f, i] += scale * d_f
                total += scale * term
            else:
                if backward:
                    for i in range(nb):
                        adj[d, i] = 0.0
                if op == ADD:
                    for i in range(nb):
                        reg[d, i] = reg[a, i] + reg[b, i]
                elif op == SUB:
                    for i in range(nb):
                        reg[d, i] = reg[a, i] - reg[b, i]
                elif op == MUL:
                    for i in range(nb):
                        reg[d, i] = reg[a, i] * reg[b, i]
                elif op == EXP:  # vectorised
                    exp_into(reg[a, :nb], reg[d, :nb])
                elif UNARY_FIRST <= op <= UNARY_LAST:
                    lo, hi = mparams[u, 0], mparams[u, 1]
                    for i in range(nb):
                        reg[d, i] = _unary(op, reg[a, i], lo, hi)
                elif BINARY_FIRST <= op <= BINARY_LAST:
                    for i in range(nb):
                        reg[d, i] = _binary(op, reg[a, i], reg[b, i])
                elif EQ <= op <= GE:
                    for i in range(nb):
                        reg[d, i] = _compare(op, reg[a, i], reg[b, i])
                elif op == LOGPDF:  # log p(a | b, c, e, f) of the scalar family in the row's family column
                    c, e, f, family = micro[u, M_C], micro[u, M_E], micro[u, M_F], micro[u, M_FAMILY]
                    for i in range(nb):
                        reg[d, i] = family_logp_grad(family, reg[a, i], reg[b, i], reg[c, i], reg[e, i], reg[f, i])[0]
                else:  # WHERE: the condition is a, the values b and c
                    c = micro[u, M_C]
                    for i in range(nb):
                        reg[d, i] = reg[b, i] if reg[a, i] != 0.0 else reg[c, i]
        if not backward:
            continue
        for u in range(end - 1, start - 1, -1):
            op, d, a, b = micro[u, 0], micro[u, M_DST], micro[u, M_A], micro[u, M_B]
            if op == LOAD:
                if micro[u, M_FLAGS] & 1:
                    off, stride, mp = micro[u, M_OFF], micro[u, M_STRIDE], micro[u, M_MAP]
                    if stride == 0 and mp == 0:  # one number read by every element: its gradient is the sum
                        g = 0.0
                        for i in range(nb):
                            g += adj[d, i]
                        gw[off] += g
                    elif mp > 0:
                        for i in range(nb):
                            gw[off + index[mp + j0 + i]] += adj[d, i]
                    else:
                        base = np.uint64(off + j0)
                        for i in range(nb):
                            gw[base + np.uint64(i)] += adj[d, i]
            elif op == AFFINE:  # d logp / d s_r += sum_i C_ri g_i (the block of C is still in the cache)
                off, stride, s0, count = micro[u, M_OFF], micro[u, M_STRIDE], micro[u, M_SCALARS], micro[u, M_COUNT]
                uniform = micro[u, M_UNIFORM]
                if uniform:  # a uniform row's number c_r: d logp / d s_r += c_r sum_i g_i
                    g = 0.0
                    for i in range(nb):
                        g += adj[d, i]
                    for r in range(uniform):
                        gw[s0 + r] += w[off + r] * g
                for r in range(0, count, 4):
                    _affine_rows_adjoint(w, np.uint64(off + uniform + r * stride + j0), np.uint64(stride),
                                         s0 + uniform + r, min(4, count - r), adj[d, :nb], gw)
            elif op == STORE or op == TERM or (EQ <= op <= GE) or (FLOOR <= op <= SIGN):
                continue  # stores and terms added theirs going forward; comparisons and rounding have no gradient
            elif op == ADD:
                for i in range(nb):
                    adj[a, i] += adj[d, i]
                    adj[b, i] += adj[d, i]
            elif op == SUB:
                for i in range(nb):
                    adj[a, i] += adj[d, i]
                    adj[b, i] -= adj[d, i]
            elif op == MUL:
                for i in range(nb):
                    adj[a, i] += adj[d, i] * reg[b, i]
                    adj[b, i] += adj[d, i] * reg[a, i]
            elif op == CLIP:  # the gradient passes where x is inside [lo, hi] (selected: inf * 0 would be NaN)
                lo, hi = mparams[u, 0], mparams[u, 1]
                for i in range(nb):
                    if lo <= reg[a, i] <= hi:
                        adj[a, i] += adj[d, i]
            elif UNARY_FIRST <= op <= UNARY_LAST:
                lo, hi = mparams[u, 0], mparams[u, 1]
                for i in range(nb):
                    adj[a, i] += adj[d, i] * _unary_derivative(op, reg[a, i], reg[d, i], lo, hi)
            elif op == MAXIMUM or op == MINIMUM:  # to the chosen input (a on ties), selected as well
                for i in range(nb):
                    first = reg[a, i] >= reg[b, i] if op == MAXIMUM else reg[a, i] <= reg[b, i]
                    if first:
                        adj[a, i] += adj[d, i]
                    else:
                        adj[b, i] += adj[d, i]
            elif BINARY_FIRST <= op <= BINARY_LAST:
                for i in range(nb):
                    d_a, d_b = _binary_partials(op, reg[a, i], reg[b, i], reg[d, i])
                    adj[a, i] += adj[d, i] * d_a
                    adj[b, i] += adj[d, i] * d_b
            elif op == LOGPDF:  # d/d arg = adjoint * the family's partial (computed again; none where it is 0)
                c, e, f, family = micro[u, M_C], micro[u, M_E], micro[u, M_F], micro[u, M_FAMILY]
                for i in range(nb):
                    g = adj[d, i]
                    if g != 0.0:
                        _, d_a, d_b, d_c, d_e, d_f = family_logp_grad(family, reg[a, i], reg[b, i], reg[c, i],
                                                                      reg[e, i], reg[f, i])
                        adj[a, i] += g * d_a
                        adj[b, i] += g * d_b
                        adj[c, i] += g * d_c
                        adj[e, i] += g * d_e
                        adj[f, i] += g * d_f
            else:  # WHERE: the gradient goes to the value that was chosen
                c = micro[u, M_C]
                for i in range(nb):
                    if reg[a, i] != 0.0:
                        adj[b, i] += adj[d, i]
                    else:
                        adj[c, i] += adj[d, i]
    return total


@njit(cache=True, error_model="numpy", inline="always")
def _loop(t, backward, code, micro, mparams, index, w, gw, reg, adj):
    """A LOOP instruction, block by block; returns the sum of its terms."""
    return _loop_blocks(code[t, AUX0], code[t, AUX1], code[t, 1], backward, micro, mparams, index, w, gw, reg, adj)


@njit(cache=True, error_model="numpy")
def _normal_gram(t, code, fparams, w, gw):
    """A Normal term sum_j log N(y_j | mu_j, sigma) over n elements whose mean is affine in K scalars s,
    mu = c + C^T s (C: K x n, fixed), computed from the data's statistics in O(nnz(G)) instead of O(n K).

    The constants hold b = C r and s0 (K each), then the nonzero entries of the upper triangle of
    G = C C^T as values, rows and columns (aux1 of each), where s0 is the least-squares fit of y - c on C
    and r = y - c - C^T s0 its residual; fparams hold (scale, q = r^T r). With delta = s - s0 the sum of
    squares is SS = q - 2 delta^T b + delta^T G delta (b is ~0, so no large terms cancel), and

        logp = scale (-n log sigma - n log(2 pi) / 2 - SS / (2 sigma^2))
        d logp / ds = scale (b - G delta) / sigma^2,    d logp / d sigma = scale (SS / sigma^3 - n / sigma)

    G delta is built in the scratch ``out`` (K). Partials go into gw (the term's output gradient is 1).
    sigma <= 0 gives -inf, as normal_logp_grad. A regression's G is dense (K (K + 1) / 2 entries); a
    varying-intercept model's, whose columns are indicators of groups, has about 3 entries per group.
    """
    n, k_dim, nnz, flags = code[t, 1], code[t, AUX0], code[t, AUX1], code[t, FLAGS]
    scale, q = fparams[t, 0], fparams[t, 1]
    g_delta, s_at, sigma_at, stats = code[t, OUT], code[t, A], code[t, B], code[t, C]
    sigma = w[sigma_at]
    if sigma <= 0.0:
        return -math.inf
    b_at, s0_at = stats, stats + k_dim
    values_at, rows_at, cols_at = s0_at + k_dim, s0_at + k_dim + nnz, s0_at + k_dim + 2 * nnz
    for i in range(k_dim):
        w[g_delta + i] = 0.0
    for e in range(nnz):  # G delta from the upper triangle: G_ij delta_j, and G_ji delta_i when i != j
        i, j, value = int(w[rows_at + e]), int(w[cols_at + e]), w[values_at + e]
        w[g_delta + i] += value * (w[s_at + j] - w[s0_at + j])
        if i != j:
            w[g_delta + j] += value * (w[s_at + i] - w[s0_at + i])
    inv_var = 1.0 / (sigma * sigma)
    ss = q
    for i in range(k_dim):
        ss += (w[s_at + i] - w[s0_at + i]) * (w[g_delta + i] - 2.0 * w[b_at + i])
        gw[s_at + i] += scale * (w[b_at + i] - w[g_delta + i]) * inv_var
    if flags & 2:
        gw[sigma_at] += scale * (ss * inv_var - n) / sigma
    return scale * (-n * (math.log(sigma) + HALF_LOG_2PI) - 0.5 * ss * inv_var)


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _dot(t, backward, code, w, gw):
    """out = A B of a DOT instruction (A: rows x inner, B: inner x cols, both contiguous), or, ``backward``,
    with G = d logp / d out: gw[A] += G B^T and gw[B] += A^T G. Sums in any order (vectorised)."""
    rows, inner, cols, flags = code[t, AUX0], code[t, AUX1], code[t, AUX2], code[t, FLAGS]
    o0, a0, b0 = code[t, OUT], code[t, A], code[t, B]
    if flags & A_TRANSPOSED:  # a constant A stored as A^T (inner x rows): the loops over rows are contiguous
        if not backward:
            for i in range(rows * cols):
                w[o0 + i] = 0.0
            for k in range(cols):
                for r in range(inner):
                    b_rk = w[b0 + r * cols + k]
                    if cols == 1:  # unit strides, which the compiler vectorises
                        out, column = w[o0:o0 + rows], w[a0 + r * rows:a0 + (r + 1) * rows]
                        for i in range(rows):
                            out[i] += column[i] * b_rk
                    else:
                        for i in range(rows):
                            w[o0 + i * cols + k] += w[a0 + r * rows + i] * b_rk
        elif flags & 2:  # dB_rk = sum_i A_ir G_ik
            for r in range(inner):
                for k in range(cols):
                    acc = 0.0
                    if cols == 1:
                        g, column = gw[o0:o0 + rows], w[a0 + r * rows:a0 + (r + 1) * rows]
                        for i in range(rows):
                            acc += column[i] * g[i]
                    else:
                        for i in range(rows):
                            acc += w[a0 + r * rows + i] * gw[o0 + i * cols + k]
                    gw[b0 + r * cols + k] += acc
        return
    if not backward:
        for i in range(rows):
            for k in range(cols):
                acc = 0.0
                for r in range(inner):
                    acc += w[a0 + i * inner + r] * w[b0 + r * cols + k]
                w[o0 + i * cols + k] = acc
        return
    if flags & 1:  # dA_ir = sum_k G_ik B_rk
        for i in range(rows):
            for r in range(inner):
                acc = 0.0
                for k in range(cols):
                    acc += gw[o0 + i * cols + k] * w[b0 + r * cols + k]
                gw[a0 + i * inner + r] += acc
    if flags & 2:  # dB_rk = sum_i A_ir G_ik
        for r in range(inner):
            for k in range(cols):
                acc = 0.0
                for i in range(rows):
                    acc += w[a0 + i * inner + r] * gw[o0 + i * cols + k]
                gw[b0 + r * cols + k] += acc


def needs_axis_ops(code):
    """Whether a tape's instructions (``code``) include one of :mod:`nbvi.compiled.axis_ops`'s."""
    ops = code[:, 0]
    return bool(np.any(((ops >= MIXTURE) & (ops <= CATEGORICAL)) | ((ops >= PROD) & (ops <= CUMPROD))
                       | (ops == ORDERED)))


@njit(cache=True, inline="always")
def _is_axis_op(op):
    """Whether opcode ``op`` is run by :mod:`nbvi.compiled.axis_ops` (two ranges and ORDERED)."""
    return MIXTURE <= op <= CATEGORICAL or PROD <= op <= CUMPROD or op == ORDERED


@njit(cache=True, error_model="numpy", inline="always")
def _axis_instruction(axis_ops, t, backward, first_draw, code, fparams, index, w, gw, reg):
    """Instruction ``t``, one of :mod:`nbvi.compiled.axis_ops`'s, run by that module's C function at address
    ``axis_ops`` (its :func:`~nbvi.compiled.axis_ops.axis_instruction`); returns what it adds to logp."""
    return call_float64_with_int64s(axis_ops, (t, backward, 1 if first_draw else 0, code.ctypes.data, code.shape[0],
                                               code.shape[1], fparams.ctypes.data, fparams.shape[1],
                                               index.ctypes.data, index.size, w.ctypes.data, w.size,
                                               gw.ctypes.data, gw.size, reg.ctypes.data, reg.shape[0]))


@njit(cache=True, error_model="numpy", inline="always")
def _forward(first_draw, code, fparams, micro, mparams, index, w, gw, reg, adj, axis_ops):
    """Run every instruction forward on workspace ``w``; a loop that stores nothing also runs its backward
    sweep now (its terms are its only outputs). Returns the sum of the terms. ``first_draw``: whether this
    is the call's first point (instructions may keep what depends on constants only from point to point)."""
    total = 0.0
    for t in range(code.shape[0]):
        op, n = code[t, 0], code[t, 1]
        o0, os, om = code[t, OUT], code[t, OUT + 1], code[t, OUT + 2]
        a0, as_, am = code[t, A], code[t, A + 1], code[t, A + 2]
        b0 = code[t, B]
        of, af = min(om, 1), min(am, 1)
        if op == LOOP:
            total += _loop(t, code[t, AUX2] == SINK, code, micro, mparams, index, w, gw, reg, adj)
        elif _is_axis_op(op):
            total += _axis_instruction(axis_ops, t, 0, first_draw, code, fparams, index, w, gw, reg)
        elif op == NORMAL_GRAM:
            total += _normal_gram(t, code, fparams, w, gw)
        elif op == COPY:
            for j in range(n):
                w[o0 + os * j + index[om + of * j]] = w[a0 + as_ * j + index[am + af * j]]
        elif op == SUM:
            scale = fparams[t, 0]
            for i in range(code[t, AUX0]):
                w[o0 + i] = 0.0
            for j in range(n):
                w[o0 + os * j + index[om + of * j]] += scale * w[a0 + as_ * j + index[am + af * j]]
            if code[t, AUX1] == TERM_OUTPUT:  # a potential: logp += out, d logp / d out = 1
                total += w[o0]
                gw[o0] += 1.0
        elif op == MAX or op == MIN:
            sign = 1.0 if op == MAX else -1.0  # min x = -max(-x)
            m = code[t, AUX0]
            for i in range(m):
                w[o0 + i] = -math.inf
                w[b0 + i] = 0.0  # how many elements attain the extremum (they share its gradient)
            for j in range(n):
                p = o0 + os * j + index[om + of * j]
                value = sign * w[a0 + as_ * j + index[am + af * j]]
                if value > w[p] or value != value:  # a NaN stays, as numpy's max
                    w[p] = value
            for j in range(n):
                p = os * j + index[om + of * j]
                if sign * w[a0 + as_ * j + index[am + af * j]] == w[o0 + p]:
                    w[b0 + p] += 1.0
            for i in range(m):
                w[o0 + i] *= sign
        elif op == LOGSUMEXP:
            m = code[t, AUX0]
            for i in range(m):
                w[o0 + i] = -math.inf
                w[b0 + i] = 0.0
            for j in range(n):  # the largest element of each group, subtracted before exp
                p = o0 + os * j + index[om + of * j]
                w[p] = max(w[p], w[a0 + as_ * j + index[am + af * j]])
            for j in range(n):
                p = os * j + index[om + of * j]
                top = w[o0 + p] if math.isfinite(w[o0 + p]) else 0.0
                w[b0 + p] += math.exp(w[a0 + as_ * j + index[am + af * j]] - top)
            for i in range(m):
                top = w[o0 + i] if math.isfinite(w[o0 + i]) else 0.0
                w[o0 + i] = math.log(w[b0 + i]) + top
        elif op == DOT:
            _dot(t, np.bool_(False), code, w, gw)
    return total


@njit(cache=True, error_model="numpy", inline="always")
def _backward(code, fparams, micro, mparams, index, w, gw, reg, adj, axis_ops):
    """Push ``gw`` from every instruction's output back to its inputs, last instruction first.

    (The sweep's direction goes to the helpers as ``np.bool_(True)`` / ``np.bool_(False)``, as in
    :func:`_forward`: numba types a plain ``True`` as ``Literal[bool](True)`` and would compile each helper,
    ``_loop_blocks`` among them, once more for it.)"""
    for t in range(code.shape[0] - 1, -1, -1):
        op, n, flags = code[t, 0], code[t, 1], code[t, FLAGS]
        if op == LOOP:
            if code[t, AUX2] == STORED:
                _loop(t, np.bool_(True), code, micro, mparams, index, w, gw, reg, adj)
            continue
        if op == STICKBREAKING or op == ORDERED:  # (their log-Jacobian's gradient, even when nothing reads x)
            _axis_instruction(axis_ops, t, 1, False, code, fparams, index, w, gw, reg)
            continue
        if flags == 0:
            continue
        o0, os, om = code[t, OUT], code[t, OUT + 1], code[t, OUT + 2]
        a0, as_, am = code[t, A], code[t, A + 1], code[t, A + 2]
        b0 = code[t, B]
        of, af = min(om, 1), min(am, 1)
        if op == COPY:
            for j in range(n):
                gw[a0 + as_ * j + index[am + af * j]] += gw[o0 + os * j + index[om + of * j]]
        elif op == SUM:  # d(scale sum a)/da_j = scale
            scale = fparams[t, 0]
            for j in range(n):
                gw[a0 + as_ * j + index[am + af * j]] += scale * gw[o0 + os * j + index[om + of * j]]
        elif op == MAX or op == MIN:  # shared equally by the elements that attain the extremum
            for j in range(n):
                p = os * j + index[om + of * j]
                pa = a0 + as_ * j + index[am + af * j]
                if w[pa] == w[o0 + p]:
                    gw[pa] += gw[o0 + p] / w[b0 + p]
        elif op == LOGSUMEXP:  # d lse / da_j = e^{a_j - lse}
            for j in range(n):
                p = o0 + os * j + index[om + of * j]
                pa = a0 + as_ * j + index[am + af * j]
                gw[pa] += gw[p] * math.exp(w[pa] - w[p])
        elif op == DOT:
            _dot(t, np.bool_(True), code, w, gw)
        elif op == PROD or op == CUMSUM or op == CUMPROD:
            _axis_instruction(axis_ops, t, 1, False, code, fparams, index, w, gw, reg)


@njit(cache=True, nogil=True)
def tape_logp_dlogp(theta, functions, transform, lower, upper, code, fparams, micro, mparams, index, n_registers, w,
                    n_dynamic, logp, grad):
    """Joint log-density in unconstrained space and its gradient at D points, from a tape.

    Parameters
    ----------
    theta : (D, ndim)
        Unconstrained points.
    functions : int64 (2,)
        The addresses of the C functions (of this process) that run the tape: :func:`interpreter_address` and
        :func:`~nbvi.compiled.axis_ops.axis_ops_address`, or 0 for a tape without its instructions
        (:func:`needs_axis_ops`).
    transform : int64 (ndim,), lower, upper : (ndim,)
        Each element's transform number and bounds (:mod:`nbvi.fused.transforms`).
    code : int64 (I, CODE_COLUMNS), fparams : (I, 2)
        The instructions (module docstring).
    micro : int64 (U, MICRO_COLUMNS), mparams : (U, 2)
        The loops' micro rows.
    index : int64 (P,)
        Positions of operands laid out otherwise than contiguously.
    n_registers : int
        The most registers a loop uses.
    w : (W,)
        The workspace: x in ``w[:ndim]``, computed values up to ``n_dynamic``, constants after, and last the
        scratch of a call (:func:`call_scratch_size`); the constants are read, the rest is overwritten.
    n_dynamic : int
        Size of the computed part of the workspace (the part with a gradient).
    logp : (D,), grad : (D, ndim)
        Outputs: log p(theta_d) including the log-Jacobians, and its gradient.

    Every array C-contiguous. The work is the interpreter's, compiled once as a C function and called by its
    address (:mod:`nbvi.compiled.addresses`), so that this function and the kernels that call it (the NUTS
    trajectories, the ADVI and SVGD blocks) do not each compile a copy of it. It releases the GIL, so that
    Python threads can run parts of many points at once, each on its own copy of the workspace
    (:class:`~nbvi.compiled.density.CompiledDensity`).
    """
    arrays_are_contiguous = (theta.flags.c_contiguous and transform.flags.c_contiguous and lower.flags.c_contiguous
                             and upper.flags.c_contiguous and code.flags.c_contiguous
                             and fparams.flags.c_contiguous and micro.flags.c_contiguous
                             and mparams.flags.c_contiguous and index.flags.c_contiguous and w.flags.c_contiguous
                             and logp.flags.c_contiguous and grad.flags.c_contiguous)
    if not arrays_are_contiguous:
        raise ValueError("tape_logp_dlogp takes C-contiguous arrays")
    call_with_int64s(functions[0], (theta.ctypes.data, theta.shape[0], theta.shape[1], transform.ctypes.data,
                                   lower.ctypes.data, upper.ctypes.data, code.ctypes.data, code.shape[0],
                                   code.shape[1], fparams.ctypes.data, fparams.shape[1], micro.ctypes.data,
                                   micro.shape[0], micro.shape[1], mparams.ctypes.data, mparams.shape[1],
                                   index.ctypes.data, index.size, n_registers, w.ctypes.data, w.size, n_dynamic,
                                   logp.ctypes.data, grad.ctypes.data, functions[1]))


def _tape_logp_dlogp_at(theta_at, draws, ndim, transform_at, lower_at, upper_at, code_at, n_code, code_columns,
                        fparams_at, fparams_columns, micro_at, n_micro, micro_columns, mparams_at, mparams_columns,
                        index_at, n_index, n_registers, w_at, n_w, n_dynamic, logp_at, grad_at, axis_ops):
    """:func:`tape_logp_dlogp` with every array given by the address of its first element and its shape: the
    body of the C function :func:`interpreter_address` compiles."""
    theta = carray(float64_pointer(theta_at), (draws, ndim))
    transform = carray(int64_pointer(transform_at), (ndim,))
    lower = carray(float64_pointer(lower_at), (ndim,))
    upper = carray(float64_pointer(upper_at), (ndim,))
    code = carray(int64_pointer(code_at), (n_code, code_columns))
    fparams = carray(float64_pointer(fparams_at), (n_code, fparams_columns))
    micro = carray(int64_pointer(micro_at), (n_micro, micro_columns))
    mparams = carray(float64_pointer(mparams_at), (n_micro, mparams_columns))
    index = carray(int64_pointer(index_at), (n_index,))
    w = carray(float64_pointer(w_at), (n_w,))
    logp = carray(float64_pointer(logp_at), (draws,))
    grad = carray(float64_pointer(grad_at), (draws, ndim))
    _draws(0, draws, theta, transform, lower, upper, code, fparams, micro, mparams, index, n_registers, w,
           n_dynamic, logp, grad, axis_ops)


_INTERPRETER = []  # the C function, compiled (or loaded from numba's cache) at the first call below


def interpreter_address():
    """The address of the tape interpreter compiled as a C function (``void f(int64 x 25)``, the arguments of
    :func:`_tape_logp_dlogp_at`), for :func:`tape_logp_dlogp`; valid in this process only."""
    if not _INTERPRETER:
        signature = types.void(*[types.int64] * 25)
        _INTERPRETER.append(cfunc(signature, cache=True, error_model="numpy")(_tape_logp_dlogp_at))
    return _INTERPRETER[0].address


def call_scratch_size(n_dynamic, ndim, n_registers):
    """The numbers at the end of the workspace that a call uses as scratch (:func:`_draws`): d logp / d w of
    the computed part, dx/du and d log|J| / du, the registers and their adjoints."""
    return n_dynamic + 2 * ndim + 2 * n_registers * BLOCK


@njit(cache=True, error_model="numpy", inline="always")
def _draws(first, stop, theta, transform, lower, upper, code, fparams, micro, mparams, index, n_registers, w,
           n_dynamic, logp, grad, axis_ops):
    """Points ``first`` to ``stop - 1`` of :func:`tape_logp_dlogp`, on workspace ``w``; ``axis_ops``: the
    address of :mod:`nbvi.compiled.axis_ops`'s C function (0 for a tape without its instructions)."""
    ndim = theta.shape[1]
    size = n_registers * BLOCK
    # the scratch at the end of the workspace (call_scratch_size), not an allocation: an array numba allocates
    # carries a reference count, which every helper call that gets a view of it changes atomically (a third
    # of a small model's call went into those), where the views of the caller's memory have none
    scratch = w[w.size - (n_dynamic + 2 * ndim + 2 * size):]
    gw = scratch[:n_dynamic]
    dx_du = scratch[n_dynamic:n_dynamic + ndim]
    dlog_jac = scratch[n_dynamic + ndim:n_dynamic + 2 * ndim]
    reg = scratch[n_dynamic + 2 * ndim:n_dynamic + 2 * ndim + size].reshape((n_registers, BLOCK))
    adj = scratch[n_dynamic + 2 * ndim + size:].reshape((n_registers, BLOCK))
    for d in range(first, stop):
        log_jac = 0.0
        for k in range(ndim):
            w[k], lj, dx_du[k], dlog_jac[k] = transform_backward(transform[k], theta[d, k], lower[k], upper[k])
            log_jac += lj
        for k in range(n_dynamic):
            gw[k] = 0.0
        logp[d] = _forward(d == first, code, fparams, micro, mparams, index, w, gw, reg, adj, axis_ops) + log_jac
        _backward(code, fparams, micro, mparams, index, w, gw, reg, adj, axis_ops)
        for k in range(ndim):
            grad[d, k] = dx_du[k] * gw[k] + dlog_jac[k]  # chain rule through x = backward(u), plus d log|J|/du
