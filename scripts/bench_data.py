"""The fixed synthetic data of the benchmark models of ``bench_models.py``, in NumPy only (no nbvi).

Each function draws from its own ``numpy.random.default_rng(42)``, so every call returns the same arrays;
peers (``peers/pymc_models.py``, run on another Python) import this file by path to fit exactly the same
data as nbvi does.
"""
import numpy as np

RANDOM_SEED = 42


def _rng():
    return np.random.default_rng(RANDOM_SEED)


def ar5_data(n=200, coefficients=(0.45, -0.2, 0.15, 0.1, -0.1)):
    """A stationary AR(5) series of ``n`` points with unit innovations (after a burn-in of 100)."""
    rng = _rng()
    rho = np.asarray(coefficients)
    y = np.zeros(n + 100)
    for t in range(5, y.size):
        y[t] = rho @ y[t - 5:t][::-1] + rng.standard_normal()  # rho[k] multiplies y[t - k - 1]
    return y[100:]


def log_earnings_data(n=1192):
    """Height (inches), male (0/1) and log earnings like Gelman & Hill's earnings data (heights ~ 66 +- 4)."""
    rng = _rng()
    male = (rng.random(n) < 0.37).astype(float)
    height = np.round(rng.normal(64.5 + 5.0 * male, 3.0), 1)
    log_earn = 8.4 + 0.017 * height - 0.079 * male + 0.007 * height * male + rng.normal(0.0, 0.88, n)
    return height, male, log_earn


EIGHT_SCHOOLS_Y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
EIGHT_SCHOOLS_SIGMA = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])


def gp_data(n=11):
    """Inputs on [0, 10], their squared distances and noisy observations of sin(x)."""
    rng = _rng()
    x = np.sort(rng.uniform(0.0, 10.0, n))
    y = np.sin(x) + rng.normal(0.0, 0.3, n)
    return x, (x[:, None] - x[None, :]) ** 2, y


def kid_iq_data(n=434):
    """Mother's high school (0/1), mother's IQ (100 +- 15) and kid's test score, as in Gelman & Hill."""
    rng = _rng()
    mom_hs = (rng.random(n) < 0.79).astype(float)
    mom_iq = rng.normal(100.0, 15.0, n)
    kid_score = -11.0 + 51.0 * mom_hs + 0.97 * mom_iq - 0.48 * mom_hs * mom_iq + rng.normal(0.0, 18.0, n)
    return mom_hs, mom_iq, kid_score


def mixture_data(n=1000):
    """Draws from 0.35 N(-2, 1) + 0.65 N(3, 1.5^2)."""
    rng = _rng()
    first = rng.random(n) < 0.35
    return np.where(first, rng.normal(-2.0, 1.0, n), rng.normal(3.0, 1.5, n))


def linreg_data(n=100, k=5):
    """Standard normal predictors (n, k) and y = 1 + X beta + N(0, 0.5^2)."""
    rng = _rng()
    X = rng.standard_normal((n, k))
    beta = rng.normal(0.0, 2.0, k)
    return X, 1.0 + X @ beta + rng.normal(0.0, 0.5, n)


def radon_data(n=919, counties=85):
    """County index (every county present, sizes as uneven as Minnesota's), floor (0/1) and log radon."""
    rng = _rng()
    weights = rng.lognormal(0.0, 1.2, counties)
    county = np.concatenate([np.arange(counties), rng.choice(counties, n - counties, p=weights / weights.sum())])
    county = rng.permutation(county)
    floor = (rng.random(n) < 0.17).astype(float)
    a = rng.normal(1.5, 0.3, counties)
    log_radon = a[county] - 0.66 * floor + rng.normal(0.0, 0.73, n)
    return county, floor, log_radon


def logistic_data(n=1000, k=10):
    """Standard normal predictors (n, k) and 0/1 outcomes of a logistic model."""
    rng = _rng()
    X = rng.standard_normal((n, k))
    beta = rng.normal(0.0, 1.0, k)
    p = 1.0 / (1.0 + np.exp(-(-0.5 + X @ beta)))
    return X, (rng.random(n) < p).astype(float)


def poisson_data(n=500, k=3):
    """Standard normal predictors (n, k) and counts with log mean 1 + X (0.3, -0.2, 0.5)."""
    rng = _rng()
    X = rng.standard_normal((n, k))
    return X, rng.poisson(np.exp(1.0 + X @ np.array([0.3, -0.2, 0.5])))
