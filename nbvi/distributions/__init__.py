"""Probability distributions: one module per family, each with numba log-density and gradient kernels."""
from nbvi.distributions.bernoulli import Bernoulli
from nbvi.distributions.beta import Beta
from nbvi.distributions.binomial import Binomial
from nbvi.distributions.categorical import Categorical
from nbvi.distributions.cauchy import Cauchy
from nbvi.distributions.customdist import CustomDist
from nbvi.distributions.dirichlet import Dirichlet
from nbvi.distributions.distribution import Distribution
from nbvi.distributions.exponential import Exponential
from nbvi.distributions.flat import Flat, HalfFlat
from nbvi.distributions.gamma import Gamma
from nbvi.distributions.halfcauchy import HalfCauchy
from nbvi.distributions.halfnormal import HalfNormal
from nbvi.distributions.inversegamma import InverseGamma
from nbvi.distributions.laplace import Laplace
from nbvi.distributions.lognormal import LogNormal
from nbvi.distributions.mixture import NormalMixture
from nbvi.distributions.mvnormal import MvNormal
from nbvi.distributions.normal import Normal
from nbvi.distributions.poisson import Poisson
from nbvi.distributions.studentt import StudentT
from nbvi.distributions.uniform import Uniform

__all__ = ["Bernoulli", "Beta", "Binomial", "Categorical", "Cauchy", "CustomDist", "Dirichlet", "Distribution", "Exponential",
           "Flat", "Gamma", "HalfCauchy", "HalfFlat", "HalfNormal", "InverseGamma", "Laplace", "LogNormal",
           "MvNormal", "Normal", "NormalMixture", "Poisson", "StudentT", "Uniform"]
