"""The scalar families the compiled interpreter and the fused kernel evaluate, behind one switch. GENERATED
by scripts/generate_families.py from the ScalarFamily declarations (nbvi/distributions/family.py): do
not edit; change a family's declaration and run the script.

The kernels are compiled once for all models, so they cannot take a family's scalar function as an
argument (a numba function passed as an argument is not cached on disk); instead each family gets a
number, and :func:`family_logp_grad` calls the family's own function for that number.
"""
import numpy as np
from numba import njit

from nbvi.distributions.bernoulli import bernoulli_logit_logp_grad, bernoulli_logp_grad
from nbvi.distributions.beta import beta_logp_grad
from nbvi.distributions.binomial import binomial_logp_grad
from nbvi.distributions.cauchy import cauchy_logp_grad
from nbvi.distributions.exponential import exponential_logp_grad
from nbvi.distributions.flat import flat_logp_grad, halfflat_logp_grad
from nbvi.distributions.gamma import gamma_logp_grad
from nbvi.distributions.halfcauchy import halfcauchy_logp_grad
from nbvi.distributions.halfnormal import halfnormal_logp_grad
from nbvi.distributions.inversegamma import inversegamma_logp_grad
from nbvi.distributions.laplace import laplace_logp_grad
from nbvi.distributions.lognormal import lognormal_logp_grad
from nbvi.distributions.normal import normal_logp_grad
from nbvi.distributions.poisson import poisson_logp_grad
from nbvi.distributions.studentt import studentt_logp_grad
from nbvi.distributions.uniform import uniform_logp_grad

COMPILED_SOURCES_DIGEST = "ee21a3c6fa7548fc"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache

BERNOULLI = 1
BERNOULLI_LOGIT = 2
BETA = 3
BINOMIAL = 4
CAUCHY = 5
EXPONENTIAL = 6
FLAT = 7
GAMMA = 8
HALFCAUCHY = 9
HALFFLAT = 10
HALFNORMAL = 11
INVERSEGAMMA = 12
LAPLACE = 13
LOGNORMAL = 14
NORMAL = 15
POISSON = 16
STUDENTT = 17
UNIFORM = 18

# family name -> (number, number of parameters)
NUMBERS = {
    "bernoulli": (BERNOULLI, 1),
    "bernoulli_logit": (BERNOULLI_LOGIT, 1),
    "beta": (BETA, 2),
    "binomial": (BINOMIAL, 2),
    "cauchy": (CAUCHY, 2),
    "exponential": (EXPONENTIAL, 1),
    "flat": (FLAT, 0),
    "gamma": (GAMMA, 2),
    "halfcauchy": (HALFCAUCHY, 1),
    "halfflat": (HALFFLAT, 0),
    "halfnormal": (HALFNORMAL, 1),
    "inversegamma": (INVERSEGAMMA, 2),
    "laplace": (LAPLACE, 2),
    "lognormal": (LOGNORMAL, 2),
    "normal": (NORMAL, 2),
    "poisson": (POISSON, 1),
    "studentt": (STUDENTT, 3),
    "uniform": (UNIFORM, 2),
}


def family_of(dist):
    """``(family number, number of parameters)`` of a distribution of a scalar family, else None."""
    family = getattr(dist, "family", None)
    return None if family is None else NUMBERS.get(family.name)


@njit(cache=True)
def family_logp_grad(family, x, a, b, c):
    """log p(x | a, b, c) of one element for family number ``family``, and its partial derivatives.

    Parameters not used by the family are ignored and get derivative 0; so does x for discrete families.

    Returns
    -------
    (logp, d/dx, d/da, d/db, d/dc)
    """
    if family == BERNOULLI:
        lp, d_a = bernoulli_logp_grad(x, a)
        return lp, 0.0, d_a, 0.0, 0.0
    if family == BERNOULLI_LOGIT:
        lp, d_a = bernoulli_logit_logp_grad(x, a)
        return lp, 0.0, d_a, 0.0, 0.0
    if family == BETA:
        lp, d_x, d_a, d_b = beta_logp_grad(x, a, b)
        return lp, d_x, d_a, d_b, 0.0
    if family == BINOMIAL:
        lp, d_b = binomial_logp_grad(x, a, b)
        return lp, 0.0, 0.0, d_b, 0.0
    if family == CAUCHY:
        lp, d_x, d_a, d_b = cauchy_logp_grad(x, a, b)
        return lp, d_x, d_a, d_b, 0.0
    if family == EXPONENTIAL:
        lp, d_x, d_a = exponential_logp_grad(x, a)
        return lp, d_x, d_a, 0.0, 0.0
    if family == FLAT:
        lp, d_x = flat_logp_grad(x)
        return lp, d_x, 0.0, 0.0, 0.0
    if family == GAMMA:
        lp, d_x, d_a, d_b = gamma_logp_grad(x, a, b)
        return lp, d_x, d_a, d_b, 0.0
    if family == HALFCAUCHY:
        lp, d_x, d_a = halfcauchy_logp_grad(x, a)
        return lp, d_x, d_a, 0.0, 0.0
    if family == HALFFLAT:
        lp, d_x = halfflat_logp_grad(x)
        return lp, d_x, 0.0, 0.0, 0.0
    if family == HALFNORMAL:
        lp, d_x, d_a = halfnormal_logp_grad(x, a)
        return lp, d_x, d_a, 0.0, 0.0
    if family == INVERSEGAMMA:
        lp, d_x, d_a, d_b = inversegamma_logp_grad(x, a, b)
        return lp, d_x, d_a, d_b, 0.0
    if family == LAPLACE:
        lp, d_x, d_a, d_b = laplace_logp_grad(x, a, b)
        return lp, d_x, d_a, d_b, 0.0
    if family == LOGNORMAL:
        lp, d_x, d_a, d_b = lognormal_logp_grad(x, a, b)
        return lp, d_x, d_a, d_b, 0.0
    if family == NORMAL:
        lp, d_x, d_a, d_b = normal_logp_grad(x, a, b)
        return lp, d_x, d_a, d_b, 0.0
    if family == POISSON:
        lp, d_a = poisson_logp_grad(x, a)
        return lp, 0.0, d_a, 0.0, 0.0
    if family == STUDENTT:
        lp, d_x, d_a, d_b, d_c = studentt_logp_grad(x, a, b, c)
        return lp, d_x, d_a, d_b, d_c
    if family == UNIFORM:
        lp, d_x, d_a, d_b = uniform_logp_grad(x, a, b)
        return lp, d_x, d_a, d_b, 0.0
    return np.nan, 0.0, 0.0, 0.0, 0.0  # unreachable: the plans hold only the numbers above
