"""Elementary functions for numba kernels that LLVM can vectorise (no libm call per element).

A loop that calls ``math.exp`` for every element runs one element at a time; the same loop over these
polynomial forms runs several lanes at once. They are as accurate as libm to a few ulp.
"""
import math

import numpy as np
from numba import njit

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


@njit(cache=True, fastmath={"contract"}, error_model="numpy")  # numpy: no zero-division check per element
def log_positive(values):
    """values[j] <- log(values[j]) in place, for any float64 (0 gives -inf, inf gives inf, negative
    numbers and NaN give NaN, as ``math.log`` without its error). Relative error about 2e-16.

    Three loops of plain arithmetic and integer bit operations, which LLVM vectorises (a libm call per
    element would not be).
    """
    n = values.size
    mantissa = np.empty(n, dtype=np.int64)  # the bits of x, then of its mantissa m in [1, 2)
    exponent = np.empty(n, dtype=np.int64)  # the bits of the float 2^52 + (biased exponent of x)
    scaled = mantissa.view(np.float64)
    exponent_plus = exponent.view(np.float64)
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
