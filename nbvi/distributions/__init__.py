"""Probability distributions: one module per family, each with numba log-density and gradient kernels."""
from nbvi.distributions.ar import AR
from nbvi.distributions.asymmetriclaplace import AsymmetricLaplace
from nbvi.distributions.bernoulli import Bernoulli
from nbvi.distributions.beta import Beta
from nbvi.distributions.betabinomial import BetaBinomial
from nbvi.distributions.binomial import Binomial
from nbvi.distributions.categorical import Categorical
from nbvi.distributions.cauchy import Cauchy
from nbvi.distributions.censored import Censored
from nbvi.distributions.customdist import CustomDist
from nbvi.distributions.dirichlet import Dirichlet
from nbvi.distributions.discreteuniform import DiscreteUniform
from nbvi.distributions.distribution import Distribution
from nbvi.distributions.exgaussian import ExGaussian
from nbvi.distributions.exponential import Exponential
from nbvi.distributions.flat import Flat, HalfFlat
from nbvi.distributions.gamma import Gamma
from nbvi.distributions.geometric import Geometric
from nbvi.distributions.gumbel import Gumbel
from nbvi.distributions.halfcauchy import HalfCauchy
from nbvi.distributions.halfnormal import HalfNormal
from nbvi.distributions.halfstudentt import HalfStudentT
from nbvi.distributions.inversegamma import InverseGamma
from nbvi.distributions.kumaraswamy import Kumaraswamy
from nbvi.distributions.laplace import Laplace
from nbvi.distributions.lkj import LKJCholeskyCov, LKJCorr, expand_packed_triangular
from nbvi.distributions.logistic import Logistic
from nbvi.distributions.lognormal import LogNormal
from nbvi.distributions.mixture import Mixture, NormalMixture
from nbvi.distributions.multinomial import Multinomial
from nbvi.distributions.mvnormal import MvNormal
from nbvi.distributions.negativebinomial import NegativeBinomial
from nbvi.distributions.normal import Normal
from nbvi.distributions.ordered import OrderedLogistic, OrderedProbit
from nbvi.distributions.pareto import Pareto
from nbvi.distributions.poisson import Poisson
from nbvi.distributions.skewnormal import SkewNormal
from nbvi.distributions.studentt import StudentT
from nbvi.distributions.timeseries import GaussianRandomWalk
from nbvi.distributions.truncatednormal import TruncatedNormal
from nbvi.distributions.uniform import Uniform
from nbvi.distributions.wald import Wald
from nbvi.distributions.weibull import Weibull
from nbvi.distributions.zeroinflatedbinomial import ZeroInflatedBinomial
from nbvi.distributions.zeroinflatednegativebinomial import ZeroInflatedNegativeBinomial
from nbvi.distributions.zeroinflatedpoisson import ZeroInflatedPoisson
from nbvi.distributions.zerosumnormal import ZeroSumNormal

__all__ = ["Bernoulli", "Beta", "Binomial", "Categorical", "Cauchy", "CustomDist", "Dirichlet", "Distribution", "Exponential",
           "Flat", "Gamma", "GaussianRandomWalk", "HalfCauchy", "HalfFlat", "HalfNormal", "InverseGamma", "Laplace", "LogNormal",
           "Multinomial", "MvNormal", "Normal", "Mixture", "NormalMixture", "Poisson", "StudentT", "TruncatedNormal", "Uniform",
           "BetaBinomial", "DiscreteUniform", "Geometric", "NegativeBinomial", "ZeroInflatedBinomial", "ZeroInflatedNegativeBinomial", "ZeroInflatedPoisson",
           "AsymmetricLaplace", "ExGaussian", "Gumbel", "HalfStudentT", "Kumaraswamy", "Logistic", "Pareto", "SkewNormal", "Wald", "Weibull",
           "LKJCholeskyCov", "LKJCorr", "expand_packed_triangular", "ZeroSumNormal", "AR", "OrderedLogistic", "OrderedProbit", "Censored"]
