"""Elementary functions for numba kernels that LLVM can vectorise (no libm call per element).

A loop that calls ``math.exp`` for every element runs one element at a time; the same loop over these
polynomial forms runs several lanes at once. They are as accurate as libm to a few ulp.
"""
import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

# exp(v) for v <= 0 without a libm call per element, so that LLVM vectorises the loops: v = n ln2 + r
# with |r| <= ln2 / 2, exp(r) by its Taylor polynomial to degree 12 (truncation < 2e-16 relative), and
# 2^n built from float bits. Adding MAGIC = 1.5 2^52 + 1023 to v / ln2 rounds it to the nearest integer
# n and leaves n + 1023 in the low mantissa bits of the sum, so shifting the sum's bits left by 52 gives
# exactly the bits of the float64 2^n (all with vector instructions: no float-to-int conversion, which
# AVX2 lacks for 64-bit integers). fdlibm's two-part ln2 keeps r accurate.
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
INV_LN2 = 1.0 / math.log(2.0)
MAGIC = 1.5 * 2.0**52 + 1023.0
EXP_MIN_ARG = -708.0  # exp(-708) ~ 3e-308, the smallest scale 2^n that is still a normal float64
EXP_SERIES = tuple(1.0 / math.factorial(k) for k in range(12, -1, -1))  # 1/12!, 1/11!, ..., 1/1!, 1/0!


@njit(cache=True, fastmath={"contract"})
def exp_nonpositive(values, scale_bits):
    """values[j] <- exp(values[j]) in place for values <= 0 (below -708 the result is ~3e-308, not 0).

    ``scale_bits`` is an int64 scratch array of the same length (it ends up holding 2^n as float64 bits).
    Relative error about 3e-16. (fastmath may fuse multiply-adds only; reassociating would undo the
    rounding by MAGIC.)
    """
    shifted = scale_bits.view(np.float64)
    for j in range(values.size):
        v = max(values[j], EXP_MIN_ARG)
        t = v * INV_LN2 + MAGIC
        n = t - MAGIC  # round(v / ln2)
        r = (v - n * LN2_HI) - n * LN2_LO
        p = 0.0
        for c in EXP_SERIES:  # Horner's rule (a constant tuple: the loop is unrolled)
            p = p * r + c
        values[j] = p
        shifted[j] = t
    for j in range(values.size):
        scale_bits[j] = scale_bits[j] << 52  # the low bits n + 1023 become the exponent field of 2^n
    for j in range(values.size):
        values[j] *= shifted[j]


EXP_MAX_ARG = 709.0  # exp(709) ~ 8e307: 2^n is still a normal float64


@intrinsic
def _float_bits(typingctx, x):
    """The bits of float64 x as an int64 (a bit cast: no instruction, and it vectorises)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@intrinsic
def _bits_float(typingctx, bits):
    """The float64 whose bits are int64 ``bits`` (a bit cast)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@njit(cache=True, inline="always", fastmath={"contract"})
def exp_in_range(v):
    """exp(v) for -708 <= v <= 709 (the caller clamps) by the polynomial of :func:`exp_nonpositive`, 2^n by a
    bit cast of the sum with MAGIC shifted left, so that a loop of it vectorises in one pass; the same bits
    as :func:`exp_nonpositive` for v <= 0."""
    t = v * INV_LN2 + MAGIC
    n = t - MAGIC  # round(v / ln2)
    r = (v - n * LN2_HI) - n * LN2_LO
    p = 0.0
    for c in EXP_SERIES:
        p = p * r + c
    return p * _bits_float(_float_bits(t) << 52)


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def exp_into(values, out):
    """out[j] <- exp(values[j]) for any float64, as ``math.exp`` (relative error about 3e-16).

    The polynomial over [-708, 709], one vectorised loop, then ``math.exp`` for the rare elements outside
    it (underflow to subnormals or 0, overflow, inf, NaN). ``values`` (n,) is only read; ``out`` (n,) is
    another array (the same one would also run element by element: LLVM's overlap check fails).
    """
    outside = 0
    for j in range(values.size):
        x = values[j]
        outside += 0 if EXP_MIN_ARG <= x <= EXP_MAX_ARG else 1  # (NaN too)
        out[j] = exp_in_range(min(max(x, EXP_MIN_ARG), EXP_MAX_ARG))
    if outside:
        for j in range(values.size):
            if not EXP_MIN_ARG <= values[j] <= EXP_MAX_ARG:
                out[j] = math.exp(values[j])


@njit(cache=True, fastmath={"contract"}, error_model="numpy")
def exp_minus_abs_into(values, out):
    """out[j] <- exp(-|values[j]|) (n,), one vectorised loop; below e^-708 ~ 3e-308 it stays there, as
    :func:`exp_nonpositive` (for log(1 + e^-|l|), where that is 3e-308 too much at most). ``out`` is another
    array (the same one would fail LLVM's overlap check, and the loop would run element by element)."""
    for j in range(values.size):
        out[j] = exp_in_range(max(-abs(values[j]), EXP_MIN_ARG))


# log(x) for x > 0 the same way: x = 2^e m with m in [sqrt(1/2), sqrt(2)), read from the float bits, and
# log m = log(1 + f) = 2 atanh(s) with s = f / (2 + f), |s| <= 0.172, written as f - s (f - R) with
# R = sum_k 2 s^(2k) / (2k + 1) to k = 10 (truncation < 1e-17 relative): f is exact, and the correction
# s (f - R) is at most a fifth of f, so its rounding costs little. e ln2 is added in two parts (LN2_HI has
# zeros in its low bits, so e LN2_HI is exact). The exponent e becomes a float without a float-from-int
# conversion: or-ing it into the bits of 2^52 gives the float 2^52 + e.
MIN_NORMAL = 2.2250738585072014e-308
TWO_54 = 2.0**54  # subnormal x are scaled by it into the normal range first
SQRT_2_FRACTION = 0x6A09E667F3BCD  # the fraction bits of sqrt(2)
MANTISSA_BITS = (1 << 52) - 1
ONE_BITS = 1023 << 52  # the exponent field of floats in [1, 2)
TWO_52_BITS = 1075 << 52  # the bits of 2^52
TWO_52 = 2.0**52
ATANH_SERIES = tuple(2.0 / (2 * k + 1) for k in range(10, 0, -1))  # 2/21, 2/19, ..., 2/3


@njit(cache=True)
def log_positive(values):
    """values[j] <- log(values[j]) in place, for any float64 (0 gives -inf, inf gives inf, negative
    numbers and NaN give NaN, as ``math.log`` without its error). Relative error about 2e-16.

    :func:`log_positive_scratch` with scratch of its own.
    """
    n = values.size
    log_positive_scratch(values, np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64))


@njit(cache=True, fastmath={"contract"}, error_model="numpy")  # numpy: no zero-division check per element
def log_positive_scratch(values, mantissa, exponent):
    """:func:`log_positive` of ``values`` (n,) with the int64 scratch arrays ``mantissa`` and ``exponent``
    (n,) of the caller (no allocation: for loops over blocks).

    Three loops of plain arithmetic and integer bit operations, which LLVM vectorises (a libm call per
    element would not be).
    """
    n = values.size
    scaled = mantissa.view(np.float64)  # the bits of x, then of its mantissa m in [1, 2)
    exponent_plus = exponent.view(np.float64)  # the bits of the float 2^52 + (biased exponent of x)
    for j in range(n):
        x = values[j]
        scaled[j] = x * (TWO_54 if x < MIN_NORMAL else 1.0)  # subnormals into the normal range (0 stays 0)
    for j in range(n):
        bits = mantissa[j]
        fraction = bits & MANTISSA_BITS
        above = ((SQRT_2_FRACTION - fraction) >> 63) & 1  # 1 when m > sqrt(2): then take m / 2 and e + 1
        exponent[j] = TWO_52_BITS | (((bits >> 52) & 2047) + above)
        mantissa[j] = fraction | (ONE_BITS - (above << 52))
    for j in range(n):
        f = scaled[j] - 1.0  # exact
        e = exponent_plus[j] - (TWO_52 + (1023.0 + 54.0 if values[j] < MIN_NORMAL else 1023.0))
        s = f / (2.0 + f)
        z = s * s
        r = 0.0
        for c in ATANH_SERIES:
            r = r * z + c
        r *= z
        # 0, inf, negative numbers and NaN (each a select, which vectorises, where a chain of ifs would not)
        x = values[j]
        result = e * LN2_HI + ((f - s * (f - r)) + e * LN2_LO)
        result = result if x > 0.0 else -np.inf
        result = result if x >= 0.0 else np.nan
        values[j] = result if x < np.inf else x


# log(1 + t) for t in [0, 1] (the log1p of log-sigmoid and softplus, t = e^-|l|): no bits to read, as 1 + t
# is in [1, 2]. Above sqrt(2) - 1 it is log 2 + log(1 + f) with f = (t - 1) / 2 in (-0.3, 0] (so that
# (1 + t) / 2 = 1 + f), below it log(1 + f) with f = t; then log(1 + f) = f - s (f - R) as in
# log_positive_scratch, s = f / (2 + f), |s| <= 0.172, with R(s^2) the minimax polynomial of degree 7 of
# fdlibm's log (e_log.c, Lg1..Lg7: error below 2^-58.45 on that range) in place of 10 terms of the series.
# f = t is exact, so small t keep their relative accuracy.
SQRT_2_MINUS_1 = math.sqrt(2.0) - 1.0
LOG1P_SERIES = (1.479819860511658591e-01, 1.531383769920937332e-01, 1.818357216161805012e-01,
                2.222219843214978396e-01, 2.857142874366239149e-01, 3.999999999940941908e-01,
                6.666666666666735130e-01)  # Lg7, ..., Lg1 (Horner's rule from the highest power)


@njit(cache=True, inline="always", fastmath={"contract"})
def log1p_unit(t):
    """log(1 + t) for 0 <= t <= 1, to about 2e-16 relative; selects, no branch (it vectorises in a loop)."""
    above = t > SQRT_2_MINUS_1
    f = 0.5 * (t - 1.0) if above else t
    e = 1.0 if above else 0.0
    s = f / (2.0 + f)
    z = s * s
    r = 0.0
    for c in LOG1P_SERIES:
        r = r * z + c
    r *= z
    return e * LN2_HI + ((f - s * (f - r)) + e * LN2_LO)
