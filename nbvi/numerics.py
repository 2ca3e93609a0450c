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
        p = 1.0 / 479001600.0
        p = p * r + 1.0 / 39916800.0
        p = p * r + 1.0 / 3628800.0
        p = p * r + 1.0 / 362880.0
        p = p * r + 1.0 / 40320.0
        p = p * r + 1.0 / 5040.0
        p = p * r + 1.0 / 720.0
        p = p * r + 1.0 / 120.0
        p = p * r + 1.0 / 24.0
        p = p * r + 1.0 / 6.0
        p = p * r + 0.5
        p = p * r + 1.0
        values[j] = p * r + 1.0
        shifted[j] = t
    for j in range(values.size):
        scale_bits[j] = scale_bits[j] << 52  # the low bits n + 1023 become the exponent field of 2^n
    for j in range(values.size):
        values[j] *= shifted[j]
