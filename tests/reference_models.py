"""The models and the comparison the reference tests share (tests/reference/): small models that cover a
transform (HalfNormal's log), indexing, a matrix product and a simplex (stick-breaking)."""
import numpy as np

import nbvi


def assert_same(actual, expected, rtol=1e-10):
    expected = np.asarray(expected)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * np.max(np.abs(expected)))


def normal_normal():
    """mu ~ N(0, 10), 30 observations y ~ N(mu, 2): ndim = 1."""
    y = np.random.default_rng(0).normal(1.0, 2.0, size=30)
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 10.0)
        nbvi.Normal("y", mu, 2.0, observed=y)
    return model


def regression():
    """beta ~ N(0, 1) (3), s ~ HalfNormal(1), y ~ N(X beta, s) (40 rows): ndim = 4."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(size=40)
    with nbvi.Model() as model:
        beta = nbvi.Normal("beta", 0.0, 1.0, shape=3)
        s = nbvi.HalfNormal("s", 1.0)
        nbvi.Normal("y", nbvi.math.dot(X, beta), s, observed=y)
    return model


def hierarchical():
    """Eight-schools-like: mu ~ N(0, 5), tau ~ HalfNormal(2) (log transform), theta_g ~ N(mu, tau) (4 groups),
    y ~ N(theta[group], 1) (20 rows): ndim = 6."""
    group = np.repeat(np.arange(4), 5)
    y = np.random.default_rng(2).normal(group - 1.5, 1.0)
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 5.0)
        tau = nbvi.HalfNormal("tau", 2.0)
        theta = nbvi.Normal("theta", mu, tau, shape=4)
        nbvi.Normal("y", theta[group], 1.0, observed=y)
    return model


def dirichlet():
    """p ~ Dirichlet(2, 2, 2) (stick-breaking), counts ~ Multinomial(20, p): ndim = 2."""
    with nbvi.Model() as model:
        p = nbvi.Dirichlet("p", np.full(3, 2.0))
        nbvi.Multinomial("counts", n=20, p=p, observed=np.array([5, 9, 6]))
    return model


def base_models():
    """name -> a new model of each kind above."""
    return {"normal_normal": normal_normal(), "regression": regression(), "hierarchical": hierarchical(),
            "dirichlet": dirichlet()}
