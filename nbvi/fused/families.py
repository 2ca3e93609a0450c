"""The scalar families a fused density evaluates, behind one compiled switch.

Every scalar family already has a numba function ``<family>_logp_grad(x, *params)`` for one element, which
its elementwise kernel loops over. The fused kernel is compiled once for all models, so it cannot take that
function as an argument (a numba function passed as an argument is not cached on disk); instead each family
gets a number, and :func:`family_logp_grad` calls the family's own function for that number.

A family is identified by its elementwise kernel, which fixes both the math and the order of the
parameters (``Bernoulli(logit_p=...)`` uses another kernel than ``Bernoulli(p=...)``).
"""
import numpy as np
from numba import njit

from nbvi.distributions.bernoulli import (
    bernoulli_kernel,
    bernoulli_logit_kernel,
    bernoulli_logit_logp_grad,
    bernoulli_logp_grad,
)
from nbvi.distributions.beta import beta_kernel, beta_logp_grad
from nbvi.distributions.binomial import binomial_kernel, binomial_logp_grad
from nbvi.distributions.cauchy import cauchy_kernel, cauchy_logp_grad
from nbvi.distributions.exponential import exponential_kernel, exponential_logp_grad
from nbvi.distributions.flat import halfflat_kernel
from nbvi.distributions.gamma import gamma_kernel, gamma_logp_grad
from nbvi.distributions.halfcauchy import halfcauchy_kernel, halfcauchy_logp_grad
from nbvi.distributions.halfnormal import halfnormal_kernel, halfnormal_logp_grad
from nbvi.distributions.inversegamma import inversegamma_kernel, inversegamma_logp_grad
from nbvi.distributions.laplace import laplace_kernel, laplace_logp_grad
from nbvi.distributions.lognormal import lognormal_kernel, lognormal_logp_grad
from nbvi.distributions.normal import normal_kernel, normal_logp_grad
from nbvi.distributions.poisson import poisson_kernel, poisson_logp_grad
from nbvi.distributions.studentt import studentt_kernel, studentt_logp_grad
from nbvi.distributions.uniform import uniform_kernel, uniform_logp_grad

COMPILED_SOURCES_DIGEST = "bed151ea470712fd"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache

NORMAL, HALFNORMAL, EXPONENTIAL, GAMMA, BETA, LOGNORMAL, STUDENTT, CAUCHY = 1, 2, 3, 4, 5, 6, 7, 8
HALFCAUCHY, LAPLACE, UNIFORM, INVERSEGAMMA, HALFFLAT = 9, 10, 11, 12, 13
POISSON, BERNOULLI, BERNOULLI_LOGIT, BINOMIAL = 14, 15, 16, 17

# elementwise kernel -> (family number, number of parameters)
FAMILIES = {
    normal_kernel: (NORMAL, 2), halfnormal_kernel: (HALFNORMAL, 1), exponential_kernel: (EXPONENTIAL, 1),
    gamma_kernel: (GAMMA, 2), beta_kernel: (BETA, 2), lognormal_kernel: (LOGNORMAL, 2),
    studentt_kernel: (STUDENTT, 3), cauchy_kernel: (CAUCHY, 2), halfcauchy_kernel: (HALFCAUCHY, 1),
    laplace_kernel: (LAPLACE, 2), uniform_kernel: (UNIFORM, 2), inversegamma_kernel: (INVERSEGAMMA, 2),
    halfflat_kernel: (HALFFLAT, 0), poisson_kernel: (POISSON, 1), bernoulli_kernel: (BERNOULLI, 1),
    bernoulli_logit_kernel: (BERNOULLI_LOGIT, 1), binomial_kernel: (BINOMIAL, 2),
}


def family_of(dist):
    """``(family number, number of parameters)`` of a distribution the fused kernel can evaluate, else None."""
    return FAMILIES.get(dist.kernel)


@njit(cache=True)
def family_logp_grad(family, x, a, b, c):
    """log p(x | a, b, c) of one element for family number ``family``, and its partial derivatives.

    Parameters not used by the family are ignored and get derivative 0; so does x for discrete families.

    Returns
    -------
    (logp, d/dx, d/da, d/db, d/dc)
    """
    if family == NORMAL:
        lp, dx, da, db = normal_logp_grad(x, a, b)
        return lp, dx, da, db, 0.0
    if family == HALFNORMAL:
        lp, dx, da = halfnormal_logp_grad(x, a)
        return lp, dx, da, 0.0, 0.0
    if family == EXPONENTIAL:
        lp, dx, da = exponential_logp_grad(x, a)
        return lp, dx, da, 0.0, 0.0
    if family == GAMMA:
        lp, dx, da, db = gamma_logp_grad(x, a, b)
        return lp, dx, da, db, 0.0
    if family == BETA:
        lp, dx, da, db = beta_logp_grad(x, a, b)
        return lp, dx, da, db, 0.0
    if family == LOGNORMAL:
        lp, dx, da, db = lognormal_logp_grad(x, a, b)
        return lp, dx, da, db, 0.0
    if family == STUDENTT:
        return studentt_logp_grad(x, a, b, c)
    if family == CAUCHY:
        lp, dx, da, db = cauchy_logp_grad(x, a, b)
        return lp, dx, da, db, 0.0
    if family == HALFCAUCHY:
        lp, dx, da = halfcauchy_logp_grad(x, a)
        return lp, dx, da, 0.0, 0.0
    if family == LAPLACE:
        lp, dx, da, db = laplace_logp_grad(x, a, b)
        return lp, dx, da, db, 0.0
    if family == UNIFORM:
        lp, dx, da, db = uniform_logp_grad(x, a, b)
        return lp, dx, da, db, 0.0
    if family == INVERSEGAMMA:
        lp, dx, da, db = inversegamma_logp_grad(x, a, b)
        return lp, dx, da, db, 0.0
    if family == HALFFLAT:
        return (0.0 if x > 0.0 else -np.inf), 0.0, 0.0, 0.0, 0.0
    if family == POISSON:
        lp, da = poisson_logp_grad(x, a)
        return lp, 0.0, da, 0.0, 0.0
    if family == BERNOULLI:
        lp, da = bernoulli_logp_grad(x, a)
        return lp, 0.0, da, 0.0, 0.0
    if family == BERNOULLI_LOGIT:
        lp, da = bernoulli_logit_logp_grad(x, a)
        return lp, 0.0, da, 0.0, 0.0
    if family == BINOMIAL:
        lp, db = binomial_logp_grad(x, a, b)
        return lp, 0.0, 0.0, db, 0.0
    return np.nan, 0.0, 0.0, 0.0, 0.0  # unreachable: the plan only holds the numbers above
