"""Models whose posterior is known in closed form, shared by the tests of the approximations."""
import numpy as np

import nbvi


def gaussian_regression(rows=40, seed=0):
    """y ~ Normal(X beta, 0.5), beta ~ Normal(0, 2) (3): the posterior is N(P^-1 X^T y / 0.25, P^-1) with
    precision P = X^T X / 0.25 + I / 4 (X has a column near 10, so the coefficients are strongly correlated).

    Returns
    -------
    (model, posterior mean (3,), precision P (3, 3))
    """
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(rows), rng.normal(10.0, 1.0, rows), rng.normal(size=rows)])
    y = X @ np.array([1.0, -0.5, 2.0]) + rng.normal(0.0, 0.5, rows)
    with nbvi.Model() as model:
        beta = nbvi.Normal("beta", 0.0, 2.0, shape=3)
        nbvi.Normal("y", nbvi.math.dot(X, beta), 0.5, observed=y)
    precision = X.T @ X / 0.25 + np.eye(3) / 4.0
    return model, np.linalg.solve(precision, X.T @ y / 0.25), precision
