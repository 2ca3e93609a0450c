"""One example of every public family: parameter values, a value in its support, and how to make one
parameter depend on a free variable. tests/distributions/test_every_family.py walks these and fails when a
public family has none, so a new family gets its example here."""
import numpy as np

import nbvi

# how a parameter is made to depend on a free variable z ~ Normal(0, 0.1) (z = 0 at the initial point)
FREE = {
    "real": lambda value, z: value + z,
    "positive": lambda value, z: value * nbvi.math.exp(z),
    "unit": lambda value, z: nbvi.math.sigmoid(nbvi.math.logit(value) + z),
}

# family name -> (parameters, a value (one element or event; repeated along a batch axis), the parameter
# made free and how)
EXAMPLES = {
    "Normal": ({"mu": 0.5, "sigma": 1.3}, 0.2, "mu", "real"),
    "HalfNormal": ({"sigma": 1.3}, 0.7, "sigma", "positive"),
    "Exponential": ({"lam": 1.5}, 0.7, "lam", "positive"),
    "Gamma": ({"alpha": 2.0, "beta": 1.5}, 0.7, "beta", "positive"),
    "Beta": ({"alpha": 2.0, "beta": 3.0}, 0.4, "alpha", "positive"),
    "LogNormal": ({"mu": 0.1, "sigma": 0.8}, 1.7, "sigma", "positive"),
    "StudentT": ({"nu": 4.0, "mu": 0.5, "sigma": 1.3}, -0.4, "nu", "positive"),
    "Cauchy": ({"alpha": 0.5, "beta": 1.3}, 2.0, "alpha", "real"),
    "HalfCauchy": ({"beta": 1.3}, 2.0, "beta", "positive"),
    "Laplace": ({"mu": 0.5, "b": 1.3}, -1.0, "b", "positive"),
    "Uniform": ({"lower": -1.0, "upper": 2.0}, 0.5, "upper", "positive"),
    "InverseGamma": ({"alpha": 3.0, "beta": 2.0}, 0.8, "alpha", "positive"),
    "Flat": ({}, 0.3, None, None),
    "HalfFlat": ({}, 0.3, None, None),
    "Poisson": ({"mu": 2.5}, 3.0, "mu", "positive"),
    "Bernoulli": ({"p": 0.3}, 1.0, "p", "unit"),
    "Binomial": ({"n": 10, "p": 0.3}, 4.0, "p", "unit"),
    "Categorical": ({"p": np.array([0.2, 0.3, 0.5])}, 2.0, "p", "positive"),
    "Dirichlet": ({"a": np.array([1.5, 2.0, 3.0])}, np.array([0.2, 0.3, 0.5]), "a", "positive"),
    "MvNormal": ({"mu": np.array([0.5, -1.0]), "cov": np.array([[2.0, 0.5], [0.5, 1.0]])},
                 np.array([0.1, 0.2]), "mu", "real"),
    "GaussianRandomWalk": ({"mu": 0.1, "sigma": 0.7, "init_dist": nbvi.Normal.dist(0.0, 2.0)},
                           np.array([0.3, 0.5, -0.2, 0.4, 1.0]), "sigma", "positive"),
    "Multinomial": ({"n": 10, "p": np.array([0.2, 0.3, 0.5])}, np.array([2.0, 3.0, 5.0]), "p", "positive"),
    "Mixture": ({"w": np.array([0.3, 0.7]), "comp_dists": [nbvi.Normal.dist(-1.0, 1.0), nbvi.StudentT.dist(4.0, 2.0, 0.5)]},
                0.4, "w", "positive"),
    "Censored": ({"dist": nbvi.Normal.dist(0.5, 1.3), "lower": -1.0, "upper": 2.0}, 2.5, "upper", "real"),
    "TruncatedNormal": ({"mu": 0.5, "sigma": 1.3, "lower": -1.0, "upper": 2.0}, 0.2, "mu", "real"),
    "NormalMixture": ({"w": np.array([0.3, 0.7]), "mu": np.array([-1.0, 2.0]), "sigma": np.array([1.0, 0.5])},
                      0.4, "mu", "real"),
    "NegativeBinomial": ({"mu": 2.5, "alpha": 1.5}, 3.0, "mu", "positive"),
    "ZeroInflatedPoisson": ({"psi": 0.7, "mu": 2.5}, 0.0, "psi", "unit"),
    "ZeroInflatedNegativeBinomial": ({"psi": 0.7, "mu": 2.5, "alpha": 1.5}, 0.0, "alpha", "positive"),
    "ZeroInflatedBinomial": ({"psi": 0.7, "n": 10, "p": 0.3}, 4.0, "p", "unit"),
    "Geometric": ({"p": 0.3}, 2.0, "p", "unit"),
    "DiscreteUniform": ({"lower": -2, "upper": 5}, 3.0, None, None),  # constant bounds: nothing to free
    "BetaBinomial": ({"alpha": 2.0, "beta": 3.0, "n": 10}, 4.0, "alpha", "positive"),
    "Weibull": ({"alpha": 1.5, "beta": 2.0}, 1.2, "beta", "positive"),
    "HalfStudentT": ({"nu": 4.0, "sigma": 1.3}, 0.8, "sigma", "positive"),
    "Logistic": ({"mu": 0.5, "s": 1.3}, -0.4, "mu", "real"),
    "Gumbel": ({"mu": 0.5, "beta": 1.3}, 1.1, "beta", "positive"),
    "ExGaussian": ({"mu": 0.5, "sigma": 1.3, "nu": 0.8}, 1.4, "nu", "positive"),
    "SkewNormal": ({"alpha": 2.0, "mu": 0.5, "sigma": 1.3}, 0.9, "alpha", "real"),
    "Kumaraswamy": ({"a": 2.0, "b": 3.0}, 0.4, "a", "positive"),
    "Wald": ({"mu": 1.5, "lam": 2.0}, 1.1, "lam", "positive"),
    "AsymmetricLaplace": ({"b": 1.3, "kappa": 0.7, "mu": 0.5}, -0.3, "kappa", "positive"),
    "Pareto": ({"alpha": 3.0, "m": 1.5}, 2.2, "alpha", "positive"),
    "ZeroSumNormal": ({"sigma": 1.3}, np.array([0.3, -0.5, 0.2]), "sigma", "positive"),
    "AR": ({"rho": np.array([0.5, -0.2]), "sigma": 0.7, "init_dist": nbvi.Normal.dist(0.0, 2.0)},
           np.array([0.3, 0.5, -0.2, 0.4, 1.0]), "sigma", "positive"),
}


def public_families():
    """Every family a user can build: the Distribution subclasses exported by ``nbvi``, but CustomDist
    (the user's own Python functions: a documented exception that runs on the graph walk)."""
    return sorted(
        name for name in dir(nbvi)
        if isinstance(getattr(nbvi, name), type) and issubclass(getattr(nbvi, name), nbvi.Distribution)
        and name not in ("Distribution", "CustomDist")
    )


def build(name, n=4, observed=None, free_parameter=True):
    """A model with one variable ``x`` of family ``name``: n elements (or events), observed when the family
    is observed-only or ``observed`` is True, with its example parameter made free when asked."""
    params, value, free, how = EXAMPLES[name]
    family = getattr(nbvi, name)
    value = np.repeat(np.asarray(value, dtype=np.float64)[None], n, axis=0)
    if observed is None:
        observed = family.observed_only
    with nbvi.Model() as model:
        args = dict(params)
        if free_parameter and free is not None:
            z = nbvi.Normal("z", 0.0, 0.1, shape=np.shape(params[free]))
            args[free] = FREE[how](params[free], z)
        if observed:
            family("x", **args, observed=value)
        else:
            family("x", **args, shape=value.shape)
    return model
