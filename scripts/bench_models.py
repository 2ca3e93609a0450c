"""Small Bayesian models as PyMC users write them, with fixed synthetic data, for benchmarking ``logp_dlogp``.

Each function builds and returns an :class:`nbvi.Model`; the data (``bench_data.py``, NumPy only, so that
the PyMC versions in ``peers/pymc_models.py`` fit the same arrays) come from ``numpy.random.default_rng(42)``
and are shaped and scaled like the datasets the models are known from (Gelman & Hill's earnings and kid-IQ
regressions, the eight schools, the Minnesota radon data ...). ``MODELS`` maps a name to its function.

Two models also have a hand-written yardstick, ``HANDWRITTEN``: the same log-density in unconstrained
space with its analytic gradient as one ``numba.njit`` kernel, written directly from the model with no
nbvi code, to compare the speed of ``model.logp_dlogp`` against.

    from bench_models import MODELS
    model = MODELS["mixture"]()
    logp, grad = model.logp_dlogp(model.initial_point_flat()[None])
"""
import math

import numba
import numpy as np
from bench_data import (  # noqa: F401  (re-exported: the data live in bench_data.py)
    EIGHT_SCHOOLS_SIGMA,
    EIGHT_SCHOOLS_Y,
    RANDOM_SEED,
    ar5_data,
    gp_data,
    kid_iq_data,
    linreg_data,
    log_earnings_data,
    logistic_data,
    mixture_data,
    poisson_data,
    radon_data,
)

import nbvi

HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
HALF_LOG_2_OVER_PI = 0.5 * math.log(2.0 / math.pi)
LOG_2_OVER_PI = math.log(2.0 / math.pi)


# -- models --------------------------------------------------------------------------------------------------
def ar5():
    """AR(5) on 200 points: rho ~ Normal(0, 1) (5), sigma ~ HalfNormal(1); mean of y[t] from the 5 lags."""
    y = ar5_data()
    p, n = 5, y.size
    with nbvi.Model() as model:
        rho = nbvi.Normal("rho", 0.0, 1.0, shape=p)
        sigma = nbvi.HalfNormal("sigma", 1.0)
        mu = sum(rho[k] * y[p - k - 1:n - k - 1] for k in range(p))
        nbvi.Normal("y", mu, sigma, observed=y[p:])
    return model


def log_earnings():
    """Log earnings on height, male and height x male, 1,192 rows, predictors not standardised."""
    height, male, log_earn = log_earnings_data()
    with nbvi.Model() as model:
        a = nbvi.Normal("a", 0.0, 10.0)
        b_height = nbvi.Normal("b_height", 0.0, 10.0)
        b_male = nbvi.Normal("b_male", 0.0, 10.0)
        b_inter = nbvi.Normal("b_inter", 0.0, 10.0)
        sigma = nbvi.HalfNormal("sigma", 2.0)
        mu = a + b_height * height + b_male * male + b_inter * height * male
        nbvi.Normal("log_earn", mu, sigma, observed=log_earn)
    return model


def eight_schools_centered():
    """Eight schools, centred: theta ~ Normal(mu, tau) (8), mu ~ Normal(0, 5), tau ~ HalfCauchy(5)."""
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 5.0)
        tau = nbvi.HalfCauchy("tau", 5.0)
        theta = nbvi.Normal("theta", mu, tau, shape=8)
        nbvi.Normal("y", theta, EIGHT_SCHOOLS_SIGMA, observed=EIGHT_SCHOOLS_Y)
    return model


def eight_schools_noncentered():
    """Eight schools, non-centred: theta = mu + tau eta with eta ~ Normal(0, 1) (8)."""
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 5.0)
        tau = nbvi.HalfCauchy("tau", 5.0)
        eta = nbvi.Normal("eta", 0.0, 1.0, shape=8)
        theta = nbvi.Deterministic("theta", mu + tau * eta)
        nbvi.Normal("y", theta, EIGHT_SCHOOLS_SIGMA, observed=EIGHT_SCHOOLS_Y)
    return model


def gp():
    """GP regression on 11 points: squared-exponential kernel, y ~ MvNormal(0, eta^2 k(ell) + sigma^2 I)."""
    x, sq_dist, y = gp_data()
    with nbvi.Model() as model:
        ell = nbvi.Gamma("ell", alpha=2.0, beta=1.0)
        eta = nbvi.HalfNormal("eta", 2.0)
        sigma = nbvi.HalfNormal("sigma", 1.0)
        K = eta ** 2 * nbvi.math.exp(-0.5 * sq_dist / ell ** 2) + sigma ** 2 * np.eye(x.size)
        nbvi.MvNormal("y", mu=np.zeros(x.size), cov=K, observed=y)
    return model


KID_IQ_PRIORS = {"a": 100.0, "b_hs": 100.0, "b_iq": 10.0, "b_inter": 10.0}  # Normal(0, scale) each
KID_IQ_SIGMA_BETA = 5.0  # sigma ~ HalfCauchy(5)


def kid_iq():
    """Kid's score on mom_hs, mom_iq (unstandardised) and their interaction, 434 rows."""
    mom_hs, mom_iq, kid_score = kid_iq_data()
    with nbvi.Model() as model:
        a, b_hs, b_iq, b_inter = (nbvi.Normal(name, 0.0, scale) for name, scale in KID_IQ_PRIORS.items())
        sigma = nbvi.HalfCauchy("sigma", KID_IQ_SIGMA_BETA)
        mu = a + b_hs * mom_hs + b_iq * mom_iq + b_inter * mom_hs * mom_iq
        nbvi.Normal("kid_score", mu, sigma, observed=kid_score)
    return model


MIXTURE_MU_SIGMA = 10.0  # mu ~ Normal(0, 10) (2)
MIXTURE_SIGMA_SIGMA = 2.0  # sigma ~ HalfNormal(2) (2)


def mixture():
    """Two-component Gaussian mixture on 1,000 points: w ~ Dirichlet(1, 1), mu, sigma per component."""
    y = mixture_data()
    with nbvi.Model() as model:
        w = nbvi.Dirichlet("w", a=np.ones(2))
        mu = nbvi.Normal("mu", 0.0, MIXTURE_MU_SIGMA, shape=2)
        sigma = nbvi.HalfNormal("sigma", MIXTURE_SIGMA_SIGMA, shape=2)
        nbvi.NormalMixture("y", w=w, mu=mu, sigma=sigma, observed=y)
    return model


def linreg():
    """Bayesian linear regression, 100 x 5: y ~ Normal(alpha + X beta, sigma)."""
    X, y = linreg_data()
    with nbvi.Model() as model:
        alpha = nbvi.Normal("alpha", 0.0, 10.0)
        beta = nbvi.Normal("beta", 0.0, 10.0, shape=X.shape[1])
        sigma = nbvi.HalfNormal("sigma", 1.0)
        nbvi.Normal("y", alpha + nbvi.math.dot(X, beta), sigma, observed=y)
    return model


def hierarchical():
    """Radon-like varying intercepts, 919 rows in 85 counties: y ~ Normal(a[county] + b floor, sigma)."""
    county, floor, log_radon = radon_data()
    with nbvi.Model() as model:
        mu_a = nbvi.Normal("mu_a", 0.0, 10.0)
        sigma_a = nbvi.Exponential("sigma_a", 1.0)
        a = nbvi.Normal("a", mu_a, sigma_a, shape=85)
        b = nbvi.Normal("b", 0.0, 10.0)
        sigma_y = nbvi.Exponential("sigma_y", 1.0)
        nbvi.Normal("y", a[county] + b * floor, sigma_y, observed=log_radon)
    return model


def logistic():
    """Logistic regression, 1,000 x 10: y ~ Bernoulli(logit_p = alpha + X beta)."""
    X, y = logistic_data()
    with nbvi.Model() as model:
        alpha = nbvi.Normal("alpha", 0.0, 2.5)
        beta = nbvi.Normal("beta", 0.0, 2.5, shape=X.shape[1])
        nbvi.Bernoulli("y", logit_p=alpha + nbvi.math.dot(X, beta), observed=y)
    return model


def poisson_glm():
    """Poisson GLM with log link, 500 rows, 3 predictors: y ~ Poisson(exp(alpha + X beta))."""
    X, y = poisson_data()
    with nbvi.Model() as model:
        alpha = nbvi.Normal("alpha", 0.0, 5.0)
        beta = nbvi.Normal("beta", 0.0, 1.0, shape=X.shape[1])
        nbvi.Poisson("y", nbvi.math.exp(alpha + nbvi.math.dot(X, beta)), observed=y)
    return model


MODELS = {f.__name__: f for f in (ar5, log_earnings, eight_schools_centered, eight_schools_noncentered, gp,
                                  kid_iq, mixture, linreg, hierarchical, logistic, poisson_glm)}


# -- hand-written yardsticks ------------------------------------------------------------------------------
@numba.njit(cache=True)
def _mixture_kernel(theta, y, mu_sigma, sigma_sigma):
    """logp (D,) and gradient (D, 5) of ``mixture()`` at theta = (u_w, mu_0, mu_1, log sigma_0, log sigma_1).

    w = (z, 1 - z) with z = sigmoid(u_w) (nbvi's stick-breaking for K = 2, offset log 1 = 0); its
    log-Jacobian is log z + log(1 - z), the Dirichlet(1, 1) density is lgamma(2) = 0, and
    d/du_w = (1 - z) R_0 - z R_1 + 1 - 2 z with R_k the summed responsibilities. sigma = exp(s).
    """
    draws, n = theta.shape[0], y.shape[0]
    logp = np.empty(draws)
    grad = np.empty((draws, 5))
    for d in range(draws):
        u = theta[d, 0]
        log_z = -math.log1p(math.exp(-u)) if u >= 0.0 else u - math.log1p(math.exp(u))
        log_1mz = log_z - u  # log(1 - z) = log z - u
        z = math.exp(log_z)
        mu0, mu1 = theta[d, 1], theta[d, 2]
        s0, s1 = theta[d, 3], theta[d, 4]
        sig0, sig1 = math.exp(s0), math.exp(s1)
        inv0, inv1 = 1.0 / sig0, 1.0 / sig1
        c0 = log_z - s0 - HALF_LOG_2PI
        c1 = log_1mz - s1 - HALF_LOG_2PI
        lp = 0.0
        r0_sum = 0.0
        g_mu0 = g_mu1 = g_s0 = g_s1 = 0.0
        for i in range(n):
            z0 = (y[i] - mu0) * inv0
            z1 = (y[i] - mu1) * inv1
            a0 = c0 - 0.5 * z0 * z0
            a1 = c1 - 0.5 * z1 * z1
            if a0 > a1:
                e = math.exp(a1 - a0)
                lp += a0 + math.log1p(e)
                r0 = 1.0 / (1.0 + e)
                r1 = e * r0
            else:
                e = math.exp(a0 - a1)
                lp += a1 + math.log1p(e)
                r1 = 1.0 / (1.0 + e)
                r0 = e * r1
            r0_sum += r0
            g_mu0 += r0 * z0 * inv0
            g_mu1 += r1 * z1 * inv1
            g_s0 += r0 * (z0 * z0 - 1.0)  # sigma d/dsigma = r (z^2 - 1)
            g_s1 += r1 * (z1 * z1 - 1.0)
        # priors: Normal(0, mu_sigma) on mu, HalfNormal(sigma_sigma) on sigma, plus log-Jacobians
        lp += log_z + log_1mz
        lp += -0.5 * (mu0 * mu0 + mu1 * mu1) / (mu_sigma * mu_sigma) - 2.0 * (math.log(mu_sigma) + HALF_LOG_2PI)
        q0, q1 = sig0 / sigma_sigma, sig1 / sigma_sigma
        lp += 2.0 * (HALF_LOG_2_OVER_PI - math.log(sigma_sigma)) - 0.5 * (q0 * q0 + q1 * q1) + s0 + s1
        logp[d] = lp
        grad[d, 0] = (1.0 - z) * r0_sum - z * (n - r0_sum) + 1.0 - 2.0 * z
        grad[d, 1] = g_mu0 - mu0 / (mu_sigma * mu_sigma)
        grad[d, 2] = g_mu1 - mu1 / (mu_sigma * mu_sigma)
        grad[d, 3] = g_s0 - q0 * q0 + 1.0
        grad[d, 4] = g_s1 - q1 * q1 + 1.0
    return logp, grad


@numba.njit(cache=True)
def _kid_iq_kernel(theta, mom_hs, mom_iq, kid_score, prior_scales, sigma_beta):
    """logp (D,) and gradient (D, 5) of ``kid_iq()`` at theta = (a, b_hs, b_iq, b_inter, log sigma)."""
    draws, n = theta.shape[0], kid_score.shape[0]
    logp = np.empty(draws)
    grad = np.empty((draws, 5))
    for d in range(draws):
        a, b_hs, b_iq, b_inter, s = theta[d, 0], theta[d, 1], theta[d, 2], theta[d, 3], theta[d, 4]
        sigma = math.exp(s)
        inv_var = 1.0 / (sigma * sigma)
        ss = g_a = g_hs = g_iq = g_inter = 0.0
        for i in range(n):
            hs, iq = mom_hs[i], mom_iq[i]
            r = kid_score[i] - (a + b_hs * hs + b_iq * iq + b_inter * hs * iq)
            ss += r * r
            g_a += r
            g_hs += r * hs
            g_iq += r * iq
            g_inter += r * hs * iq
        lp = -0.5 * ss * inv_var - n * (s + HALF_LOG_2PI)
        grad[d, 0] = g_a * inv_var
        grad[d, 1] = g_hs * inv_var
        grad[d, 2] = g_iq * inv_var
        grad[d, 3] = g_inter * inv_var
        grad[d, 4] = ss * inv_var - n  # sigma d/dsigma of the likelihood
        for j in range(4):  # Normal(0, scale_j) priors
            scale = prior_scales[j]
            lp += -0.5 * (theta[d, j] / scale) ** 2 - math.log(scale) - HALF_LOG_2PI
            grad[d, j] -= theta[d, j] / (scale * scale)
        q = sigma / sigma_beta  # HalfCauchy(sigma_beta) on sigma, plus the log-Jacobian s
        lp += LOG_2_OVER_PI - math.log(sigma_beta) - math.log1p(q * q) + s
        grad[d, 4] += 1.0 - 2.0 * q * q / (1.0 + q * q)
        logp[d] = lp
    return logp, grad


@numba.njit(cache=True)
def _logistic_kernel(theta, X, y, prior_sigma):
    """logp (D,) and gradient (D, 1 + K) of ``logistic()`` at theta = (alpha, beta_1 .. beta_K), written as
    people write it: one pass over the rows, eta = alpha + x_i beta, log sigmoid(+-eta) with libm, and
    d/d eta = y - sigmoid(eta) added to the gradient in the same pass."""
    draws, n, k = theta.shape[0], X.shape[0], X.shape[1]
    logp = np.empty(draws)
    grad = np.empty((draws, k + 1))
    inv_var = 1.0 / (prior_sigma * prior_sigma)
    for d in range(draws):
        lp = 0.0
        for j in range(k + 1):  # Normal(0, prior_sigma) priors
            t = theta[d, j]
            lp += -0.5 * t * t * inv_var - math.log(prior_sigma) - HALF_LOG_2PI
            grad[d, j] = -t * inv_var
        for i in range(n):
            eta = theta[d, 0]
            for j in range(k):
                eta += X[i, j] * theta[d, 1 + j]
            s = eta if y[i] == 1.0 else -eta  # log p(y_i) = log sigmoid(s)
            if s >= 0.0:
                e = math.exp(-s)
                lp -= math.log1p(e)
                miss = e / (1.0 + e)  # 1 - sigmoid(s)
            else:
                e = math.exp(s)
                lp += s - math.log1p(e)
                miss = 1.0 / (1.0 + e)
            g = miss if y[i] == 1.0 else -miss  # d/d eta = y - sigmoid(eta)
            grad[d, 0] += g
            for j in range(k):
                grad[d, 1 + j] += g * X[i, j]
        logp[d] = lp
    return logp, grad


def logistic_handwritten():
    """logistic's log-density and gradient as a function theta (D, 11) -> (logp (D,), grad (D, 11))."""
    X, y = logistic_data()
    X, y = np.ascontiguousarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return lambda theta: _logistic_kernel(theta, X, y, 2.5)


def mixture_handwritten():
    """The mixture's log-density and gradient as a function theta (D, 5) -> (logp (D,), grad (D, 5))."""
    y = mixture_data()
    return lambda theta: _mixture_kernel(theta, y, MIXTURE_MU_SIGMA, MIXTURE_SIGMA_SIGMA)


def kid_iq_handwritten():
    """kid_iq's log-density and gradient as a function theta (D, 5) -> (logp (D,), grad (D, 5))."""
    data = kid_iq_data()
    scales = np.array(list(KID_IQ_PRIORS.values()))
    return lambda theta: _kid_iq_kernel(theta, *data, scales, KID_IQ_SIGMA_BETA)


HANDWRITTEN = {"mixture": mixture_handwritten, "kid_iq": kid_iq_handwritten, "logistic": logistic_handwritten}
