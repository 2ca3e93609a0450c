"""The zero-inflation shared by ZeroInflatedPoisson, ZeroInflatedNegativeBinomial and ZeroInflatedBinomial.

A zero-inflated count is 0 with probability 1 - psi, and otherwise drawn from a count family c(y | theta)
(PyMC's convention: psi is the probability of the count component):

    p(0) = (1 - psi) + psi c(0),   p(y) = psi c(y) for y > 0
"""
import math

import numpy as np
from numba import njit


@njit(cache=True)
def zero_inflated(y, psi, log_c):
    """log p(y) of the mixture, given log_c = log c(y | theta) of the count component (may be -inf), and

        d logp / d psi = (c(0) - 1) / p(0)  (y = 0),   1 / psi  (y > 0)
        w = d logp / d log_c = psi c(0) / p(0)  (y = 0),   1  (y > 0)

    w multiplies the component's partial derivatives. Returns (logp, d/dpsi, w), and (-inf, 0, 0) where
    p(y) = 0. y must be a count and psi in [0, 1] (the caller checks).
    """
    if y > 0.0:
        if not (psi > 0.0 and log_c > -np.inf):
            return -np.inf, 0.0, 0.0
        return math.log(psi) + log_c, 1.0 / psi, 1.0
    log_zero = math.log1p(-psi) if psi < 1.0 else -np.inf  # log(1 - psi): the extra zeros
    log_count = math.log(psi) + log_c if psi > 0.0 else -np.inf  # log(psi c(0))
    top = max(log_zero, log_count)
    if top == -np.inf:
        return -np.inf, 0.0, 0.0
    logp = top + math.log(math.exp(log_zero - top) + math.exp(log_count - top))  # log-sum-exp
    d_psi = math.expm1(log_c) * math.exp(-logp)  # (c(0) - 1) / p(0)
    return logp, d_psi, math.exp(log_count - logp)
