"""The scalar families the compiled interpreter and the fused kernel evaluate, behind one switch. GENERATED
by scripts/generate_families.py from the ScalarFamily declarations (nbvi/distributions/family.py): do
not edit; change a family's declaration and run the script.

The kernels are compiled once for all models, so they cannot take a family's scalar function as an
argument (a numba function passed as an argument is not cached on disk); instead each family gets a
number, and :func:`family_logp_grad` calls the family's own function for that number.
"""
import numpy as np
from numba import njit

from nbvi.distributions.asymmetriclaplace import asymmetriclaplace_logp_grad
from nbvi.distributions.bernoulli import bernoulli_logit_logp_grad, bernoulli_logp_grad
from nbvi.distributions.beta import beta_logp_grad
from nbvi.distributions.betabinomial import betabinomial_logp_grad
from nbvi.distributions.binomial import binomial_logit_logp_grad, binomial_logp_grad
from nbvi.distributions.cauchy import cauchy_logp_grad
from nbvi.distributions.discreteuniform import discreteuniform_logp_grad
from nbvi.distributions.exgaussian import exgaussian_logp_grad
from nbvi.distributions.exponential import exponential_logp_grad
from nbvi.distributions.flat import flat_logp_grad, halfflat_logp_grad
from nbvi.distributions.gamma import gamma_logp_grad
from nbvi.distributions.geometric import geometric_logp_grad
from nbvi.distributions.gumbel import gumbel_logp_grad
from nbvi.distributions.halfcauchy import halfcauchy_logp_grad
from nbvi.distributions.halfnormal import halfnormal_logp_grad
from nbvi.distributions.halfstudentt import halfstudentt_logp_grad
from nbvi.distributions.inversegamma import inversegamma_logp_grad
from nbvi.distributions.kumaraswamy import kumaraswamy_logp_grad
from nbvi.distributions.laplace import laplace_logp_grad
from nbvi.distributions.logistic import logistic_logp_grad
from nbvi.distributions.lognormal import lognormal_logp_grad
from nbvi.distributions.negativebinomial import negativebinomial_logp_grad
from nbvi.distributions.normal import normal_logp_grad
from nbvi.distributions.pareto import pareto_logp_grad
from nbvi.distributions.poisson import poisson_logp_grad
from nbvi.distributions.skewnormal import skewnormal_logp_grad
from nbvi.distributions.studentt import studentt_logp_grad
from nbvi.distributions.truncatednormal import truncatednormal_logp_grad
from nbvi.distributions.uniform import uniform_logp_grad
from nbvi.distributions.wald import wald_logp_grad
from nbvi.distributions.weibull import weibull_logp_grad
from nbvi.distributions.zeroinflatedbinomial import (
    zeroinflatedbinomial_logit_logp_grad,
    zeroinflatedbinomial_logp_grad,
)
from nbvi.distributions.zeroinflatednegativebinomial import zeroinflatednegativebinomial_logp_grad
from nbvi.distributions.zeroinflatedpoisson import zeroinflatedpoisson_logp_grad

COMPILED_SOURCES_DIGEST = "0868908fa0c45f77"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache

ASYMMETRICLAPLACE = 1
BERNOULLI = 2
BERNOULLI_LOGIT = 3
BETA = 4
BETABINOMIAL = 5
BINOMIAL = 6
BINOMIAL_LOGIT = 7
CAUCHY = 8
DISCRETEUNIFORM = 9
EXGAUSSIAN = 10
EXPONENTIAL = 11
FLAT = 12
GAMMA = 13
GEOMETRIC = 14
GUMBEL = 15
HALFCAUCHY = 16
HALFFLAT = 17
HALFNORMAL = 18
HALFSTUDENTT = 19
INVERSEGAMMA = 20
KUMARASWAMY = 21
LAPLACE = 22
LOGISTIC = 23
LOGNORMAL = 24
NEGATIVEBINOMIAL = 25
NORMAL = 26
PARETO = 27
POISSON = 28
SKEWNORMAL = 29
STUDENTT = 30
TRUNCATEDNORMAL = 31
UNIFORM = 32
WALD = 33
WEIBULL = 34
ZEROINFLATEDBINOMIAL = 35
ZEROINFLATEDBINOMIAL_LOGIT = 36
ZEROINFLATEDNEGATIVEBINOMIAL = 37
ZEROINFLATEDPOISSON = 38

# family name -> (number, number of parameters)
NUMBERS = {
    "asymmetriclaplace": (ASYMMETRICLAPLACE, 3),
    "bernoulli": (BERNOULLI, 1),
    "bernoulli_logit": (BERNOULLI_LOGIT, 1),
    "beta": (BETA, 2),
    "betabinomial": (BETABINOMIAL, 3),
    "binomial": (BINOMIAL, 2),
    "binomial_logit": (BINOMIAL_LOGIT, 2),
    "cauchy": (CAUCHY, 2),
    "discreteuniform": (DISCRETEUNIFORM, 2),
    "exgaussian": (EXGAUSSIAN, 3),
    "exponential": (EXPONENTIAL, 1),
    "flat": (FLAT, 0),
    "gamma": (GAMMA, 2),
    "geometric": (GEOMETRIC, 1),
    "gumbel": (GUMBEL, 2),
    "halfcauchy": (HALFCAUCHY, 1),
    "halfflat": (HALFFLAT, 0),
    "halfnormal": (HALFNORMAL, 1),
    "halfstudentt": (HALFSTUDENTT, 2),
    "inversegamma": (INVERSEGAMMA, 2),
    "kumaraswamy": (KUMARASWAMY, 2),
    "laplace": (LAPLACE, 2),
    "logistic": (LOGISTIC, 2),
    "lognormal": (LOGNORMAL, 2),
    "negativebinomial": (NEGATIVEBINOMIAL, 2),
    "normal": (NORMAL, 2),
    "pareto": (PARETO, 2),
    "poisson": (POISSON, 1),
    "skewnormal": (SKEWNORMAL, 3),
    "studentt": (STUDENTT, 3),
    "truncatednormal": (TRUNCATEDNORMAL, 4),
    "uniform": (UNIFORM, 2),
    "wald": (WALD, 2),
    "weibull": (WEIBULL, 2),
    "zeroinflatedbinomial": (ZEROINFLATEDBINOMIAL, 3),
    "zeroinflatedbinomial_logit": (ZEROINFLATEDBINOMIAL_LOGIT, 3),
    "zeroinflatednegativebinomial": (ZEROINFLATEDNEGATIVEBINOMIAL, 3),
    "zeroinflatedpoisson": (ZEROINFLATEDPOISSON, 2),
}


def family_of(dist):
    """``(family number, number of parameters)`` of a distribution of a scalar family, else None."""
    family = getattr(dist, "family", None)
    return None if family is None else NUMBERS.get(family.name)


@njit(cache=True)
def family_logp_grad(family, x, a, b, c, e):
    """log p(x | a, b, c, e) of one element for family number ``family``, and its partial derivatives.

    Parameters not used by the family are ignored and get derivative 0; so does x for discrete families.

    Returns
    -------
    (logp, d/dx, d/da, d/db, d/dc, d/de)
    """
    if family == ASYMMETRICLAPLACE:
        lp, d_x, d_a, d_b, d_c = asymmetriclaplace_logp_grad(x, a, b, c)
        return lp, d_x, d_a, d_b, d_c, 0.0
    if family == BERNOULLI:
        lp, d_a = bernoulli_logp_grad(x, a)
        return lp, 0.0, d_a, 0.0, 0.0, 0.0
    if family == BERNOULLI_LOGIT:
        lp, d_a = bernoulli_logit_logp_grad(x, a)
        return lp, 0.0, d_a, 0.0, 0.0, 0.0
    if family == BETA:
        lp, d_x, d_a, d_b = beta_logp_grad(x, a, b)
        return lp, d_x, d_a, d_b, 0.0, 0.0
    if family == BETABINOMIAL:
        lp, d_a, d_b = betabinomial_logp_grad(x, a, b, c)
        return lp, 0.0, d_a, d_b, 0.0, 0.0
    if family == BINOMIAL:
        lp, d_b = binomial_logp_grad(x, a, b)
        return lp, 0.0, 0.0, d_b, 0.0, 0.0
    if family == BINOMIAL_LOGIT:
        lp, d_b = binomial_logit_logp_grad(x, a, b)
        return lp, 0.0, 0.0, d_b, 0.0, 0.0
    if family == CAUCHY:
        lp, d_x, d_a, d_b = cauchy_logp_grad(x, a, b)
        return lp, d_x, d_a, d_b, 0.0, 0.0
    if family == DISCRETEUNIFORM:
        lp = discreteuniform_logp_grad(x, a, b)[0]
        return lp, 0.0, 0.0, 0.0, 0.0, 0.0
    if family == EXGAUSSIAN:
        lp, d_x, d_a, d_b, d_c = exgaussian_logp_grad(x, a, b, c)
        return lp, d_x, d_a, d_b, d_c, 0.0
    if family == EXPONENTIAL:
        lp, d_x, d_a = exponential_logp_grad(x, a)
        return lp, d_x, d_a, 0.0, 0.0, 0.0
    if family == FLAT:
        lp, d_x = flat_logp_grad(x)
        return lp, d_x, 0.0, 0.0, 0.0, 0.0
    if family == GAMMA:
        lp, d_x, d_a, d_b = gamma_logp_grad(x, a, b)
        return lp, d_x, d_a, d_b, 0.0, 0.0
    if family == GEOMETRIC:
        lp, d_a = geometric_logp_grad(x, a)
        return lp, 0.0, d_a, 0.0, 0.0, 0.0
    if family == GUMBEL:
        lp, d_x, d_a, d_b = gumbel_logp_grad(x, a, b)
        return lp, d_x, d_a, d_b, 0.0, 0.0
    if family == HALFCAUCHY:
        lp, d_x, d_a = halfcauchy_logp_grad(x, a)
        return lp, d_x, d_a, 0.0, 0.0, 0.0
    if family == HALFFLAT:
        lp, d_x = halfflat_logp_grad(x)
        return lp, d_x, 0.0, 0.0, 0.0, 0.0
    if family == HALFNORMAL:
        lp, d_x, d_a = halfnormal_logp_grad(x, a)
        return lp, d_x, d_a, 0.0, 0.0, 0.0
    if family == HALFSTUDENTT:
        lp, d_x, d_a, d_b = halfstudentt_logp_grad(x, a, b)
        return lp, d_x, d_a, d_b, 0.0, 0.0
    if family == INVERSEGAMMA:
        lp, d_x, d_a, d_b = inversegamma_logp_grad(x, a, b)
        return lp, d_x, d_a, d_b, 0.0, 0.0
    if family == KUMARASWAMY:
        lp, d_x, d_a, d_b = kumaraswamy_logp_grad(x, a, b)
        return lp, d_x, d_a, d_b, 0.0, 0.0
    if family == LAPLACE:
        lp, d_x, d_a, d_b = laplace_logp_grad(x, a, b)
        return lp, d_x, d_a, d_b, 0.0, 0.0
    if family == LOGISTIC:
        lp, d_x, d_a, d_b = logistic_logp_grad(x, a, b)
        return lp, d_x, d_a, d_b, 0.0, 0.0
    if family == LOGNORMAL:
        lp, d_x, d_a, d_b = lognormal_logp_grad(x, a, b)
        return lp, d_x, d_a, d_b, 0.0, 0.0
    if family == NEGATIVEBINOMIAL:
        lp, d_a, d_b = negativebinomial_logp_grad(x, a, b)
        return lp, 0.0, d_a, d_b, 0.0, 0.0
    if family == NORMAL:
        lp, d_x, d_a, d_b = normal_logp_grad(x, a, b)
        return lp, d_x, d_a, d_b, 0.0, 0.0
    if family == PARETO:
        lp, d_x, d_a, d_b = pareto_logp_grad(x, a, b)
        return lp, d_x, d_a, d_b, 0.0, 0.0
    if family == POISSON:
        lp, d_a = poisson_logp_grad(x, a)
        return lp, 0.0, d_a, 0.0, 0.0, 0.0
    if family == SKEWNORMAL:
        lp, d_x, d_a, d_b, d_c = skewnormal_logp_grad(x, a, b, c)
        return lp, d_x, d_a, d_b, d_c, 0.0
    if family == STUDENTT:
        lp, d_x, d_a, d_b, d_c = studentt_logp_grad(x, a, b, c)
        return lp, d_x, d_a, d_b, d_c, 0.0
    if family == TRUNCATEDNORMAL:
        lp, d_x, d_a, d_b, d_c, d_e = truncatednormal_logp_grad(x, a, b, c, e)
        return lp, d_x, d_a, d_b, d_c, d_e
    if family == UNIFORM:
        lp, d_x, d_a, d_b = uniform_logp_grad(x, a, b)
        return lp, d_x, d_a, d_b, 0.0, 0.0
    if family == WALD:
        lp, d_x, d_a, d_b = wald_logp_grad(x, a, b)
        return lp, d_x, d_a, d_b, 0.0, 0.0
    if family == WEIBULL:
        lp, d_x, d_a, d_b = weibull_logp_grad(x, a, b)
        return lp, d_x, d_a, d_b, 0.0, 0.0
    if family == ZEROINFLATEDBINOMIAL:
        lp, d_a, d_c = zeroinflatedbinomial_logp_grad(x, a, b, c)
        return lp, 0.0, d_a, 0.0, d_c, 0.0
    if family == ZEROINFLATEDBINOMIAL_LOGIT:
        lp, d_a, d_c = zeroinflatedbinomial_logit_logp_grad(x, a, b, c)
        return lp, 0.0, d_a, 0.0, d_c, 0.0
    if family == ZEROINFLATEDNEGATIVEBINOMIAL:
        lp, d_a, d_b, d_c = zeroinflatednegativebinomial_logp_grad(x, a, b, c)
        return lp, 0.0, d_a, d_b, d_c, 0.0
    if family == ZEROINFLATEDPOISSON:
        lp, d_a, d_b = zeroinflatedpoisson_logp_grad(x, a, b)
        return lp, 0.0, d_a, d_b, 0.0, 0.0
    return np.nan, 0.0, 0.0, 0.0, 0.0, 0.0  # unreachable: the plans hold only the numbers above
