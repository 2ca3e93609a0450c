"""ADVI steps: reparameterization gradients of the ELBO for mean-field and full-rank Gaussians.

Kucukelbir et al. 2017, "Automatic Differentiation Variational Inference" (JMLR 18), eq. 8-10. With
theta = mu + S eps, eps ~ N(0, I), the loss (negative ELBO) and its gradient are estimated from S draws:

    loss      = -(1/S) sum_s log p(theta_s) - H[q]
    d loss/dmu = -(1/S) sum_s grad log p(theta_s)
    d loss/dS  = -(1/S) sum_s grad log p(theta_s) eps_s^T - dH/dS

with the entropy H in closed form. The "sticking the landing" estimator (Roeder, Wu & Duvenaud 2017)
replaces the analytic entropy gradient by the path derivative of -log q(theta_s) with q's parameters held
fixed, whose variance vanishes when q equals the posterior:

    d loss/dphi = -(1/S) sum_s [grad log p(theta_s) - grad_theta log q(theta_s)] d theta_s / dphi

Each step is a plain function of arrays: the flat parameters, the noise, and the model's ``logp_dlogp``.
The kernels write the gradient into a buffer the optimizer then consumes.
"""
import math

import numpy as np
from numba import njit

from nbvi.numerics import EXP_MIN_ARG, exp_nonpositive, log_positive
from nbvi.variational.approximations import HALF_LOG_2PI_E

COMPILED_SOURCES_DIGEST = "0868908fa0c45f77"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache

# -- mean field: params = [mu (ndim), rho (ndim)], sigma = softplus(rho) ------------------------------------


VECTORISE_FROM = 16  # parameters from which meanfield_sigma uses the vectorised exp and log


@njit(cache=True, error_model="numpy")
def meanfield_sigma(params, sigma, dsigma_drho):
    """sigma = softplus(rho) and d sigma/d rho = sigmoid(rho) for rho = params[ndim:], into the (ndim,) outputs.

    Both come from one e = exp(-|rho|): softplus(rho) = max(rho, 0) + log(1 + e), and sigmoid(rho) is
    1 / (1 + e) for rho >= 0, e / (1 + e) below. log(1 + e) is log(u) + (e - (u - 1)) / u with u = 1 + e
    rounded (the second term restores what the rounding lost). Returns sum_i log sigma_i (the entropy's
    variable part). From VECTORISE_FROM parameters on, exp and log come from :mod:`nbvi.numerics`, whose
    loops run four elements at a time; below, libm per element is quicker than setting those loops up
    (docs/benchmarks.md, "Measurements that chose a code path").
    """
    ndim = sigma.shape[0]
    if ndim < VECTORISE_FROM:
        sum_log_sigma = 0.0
        for i in range(ndim):
            rho = params[ndim + i]
            e = math.exp(-abs(rho))
            sigma[i] = max(rho, 0.0) + math.log1p(e)
            dsigma_drho[i] = (1.0 if rho >= 0.0 else e) / (1.0 + e)
            sum_log_sigma += math.log(sigma[i])
        return sum_log_sigma
    e = np.empty(ndim)
    for i in range(ndim):
        e[i] = -abs(params[ndim + i])
    exp_nonpositive(e, np.empty(ndim, dtype=np.int64))
    for i in range(ndim):
        if params[ndim + i] < EXP_MIN_ARG:  # (rare) exp_nonpositive stops at ~3e-308; libm goes to 0
            e[i] = math.exp(params[ndim + i])
    log_u = np.empty(ndim)
    for i in range(ndim):
        log_u[i] = 1.0 + e[i]
    log_positive(log_u)
    for i in range(ndim):
        rho = params[ndim + i]
        u = 1.0 + e[i]
        sigma[i] = max(rho, 0.0) + (log_u[i] + (e[i] - (u - 1.0)) / u)
        dsigma_drho[i] = (1.0 if rho >= 0.0 else e[i]) / u
    log_sigma = sigma.copy()
    log_positive(log_sigma)
    return np.sum(log_sigma)


@njit(cache=True, error_model="numpy")
def meanfield_draws(params, eps, theta, sigma, dsigma_drho):
    """theta_s = mu + sigma * eps_s for eps (S, ndim) into theta (S, ndim), with sigma = softplus(rho) and
    d sigma / d rho written into ``sigma`` and ``dsigma_drho`` (ndim,) for the loss gradient; returns
    sum_i log sigma_i (see :func:`meanfield_sigma`)."""
    sum_log_sigma = meanfield_sigma(params, sigma, dsigma_drho)
    for s in range(eps.shape[0]):
        for i in range(eps.shape[1]):
            theta[s, i] = params[i] + sigma[i] * eps[s, i]
    return sum_log_sigma


@njit(cache=True)
def meanfield_theta(params, eps, theta):
    """theta_s = mu + softplus(rho) * eps_s for eps (S, ndim), into theta (S, ndim)."""
    ndim = eps.shape[1]
    meanfield_draws(params, eps, theta, np.empty(ndim), np.empty(ndim))


# error_model="numpy": a zero sigma (rho below about -745) or a zero diagonal of L must give inf/NaN, which the
# fitting loop reports as a FloatingPointError naming the variable, not a ZeroDivisionError from inside numba.
@njit(cache=True, error_model="numpy")
def meanfield_loss_grad(params, eps, logp, dlogp, stl, grad):
    """Negative ELBO and its gradient with respect to [mu, rho], written into ``grad``.

    Parameters
    ----------
    params : (2 ndim,) mu then rho
    eps : (S, ndim) the standard normal noise of this step
    logp : (S,), dlogp : (S, ndim) the model's log-density and gradient at theta_s
    stl : bool, use the sticking-the-landing estimator
    grad : (2 ndim,) output
    """
    ndim = eps.shape[1]
    sigma = np.empty(ndim)
    dsigma_drho = np.empty(ndim)
    sum_log_sigma = meanfield_sigma(params, sigma, dsigma_drho)
    return meanfield_loss_grad_given_sigma(sigma, dsigma_drho, sum_log_sigma, eps, logp, dlogp, stl, grad)


@njit(cache=True, error_model="numpy")
def meanfield_loss_grad_given_sigma(sigma, dsigma_drho, sum_log_sigma, eps, logp, dlogp, stl, grad):
    """:func:`meanfield_loss_grad` with sigma, d sigma/d rho and sum log sigma already computed
    (:func:`meanfield_sigma`)."""
    draws, ndim = eps.shape
    loss = 0.0
    for s in range(draws):
        loss -= logp[s]
    loss /= draws
    loss -= sum_log_sigma  # H[q] = sum_i log sigma_i + const
    for i in range(ndim):
        g_mu = 0.0
        g_sigma = 0.0
        for s in range(draws):
            g_theta = dlogp[s, i]
            if stl:
                g_theta += eps[s, i] / sigma[i]  # -grad_theta log q = (theta - mu) / sigma^2 = eps / sigma
            g_mu -= g_theta  # d theta/d mu = 1
            g_sigma -= g_theta * eps[s, i]  # d theta/d sigma = eps
        g_mu /= draws
        g_sigma /= draws
        if not stl:
            g_sigma -= 1.0 / sigma[i]  # dH/dsigma = 1/sigma
        grad[i] = g_mu
        grad[ndim + i] = g_sigma * dsigma_drho[i]  # d softplus(rho)/drho = sigmoid(rho)
    return loss - ndim * HALF_LOG_2PI_E


def meanfield_step(logp_dlogp, params, eps, theta, grad, stl=False):
    """One mean-field ADVI gradient: draws theta, asks the model, returns the loss; gradient in ``grad``."""
    meanfield_theta(params, eps, theta)
    logp, dlogp = logp_dlogp(theta)
    return meanfield_loss_grad(params, eps, logp, dlogp, stl, grad)


# -- full rank: params = [mu (ndim), L_tril (ndim (ndim + 1) / 2)], L lower triangular, row-major packing;
#    the diagonal entries of L_tril are lambda_i, with L_ii = softplus(lambda_i) > 0 --------------------------


@njit(cache=True, error_model="numpy")
def fullrank_diagonal(params, ndim, diagonal, ddiagonal):
    """L_ii = softplus(lambda_i) and d L_ii / d lambda_i = sigmoid(lambda_i) into the (ndim,) outputs, for
    lambda_i = params[ndim + i (i + 3) / 2] (as :func:`meanfield_sigma`, from one e = exp(-|lambda|))."""
    for i in range(ndim):
        lam = params[ndim + i * (i + 3) // 2]
        e = math.exp(-abs(lam))
        diagonal[i] = max(lam, 0.0) + math.log1p(e)
        ddiagonal[i] = (1.0 if lam >= 0.0 else e) / (1.0 + e)


@njit(cache=True, error_model="numpy")
def fullrank_theta(params, eps, theta):
    """theta_s = mu + L eps_s, with L[i, j] = params[ndim + i (i + 1) / 2 + j] for j < i and
    L[i, i] = softplus(params[ndim + i (i + 3) / 2])."""
    draws, ndim = eps.shape
    diagonal, ddiagonal = np.empty(ndim), np.empty(ndim)
    fullrank_diagonal(params, ndim, diagonal, ddiagonal)
    for s in range(draws):
        for i in range(ndim):
            row = ndim + i * (i + 1) // 2
            acc = params[i] + diagonal[i] * eps[s, i]
            for j in range(i):
                acc += params[row + j] * eps[s, j]
            theta[s, i] = acc


@njit(cache=True, error_model="numpy")  # see meanfield_loss_grad: division by zero gives inf, not an exception
def fullrank_loss_grad(params, eps, logp, dlogp, stl, grad):
    """Negative ELBO and its gradient with respect to [mu, L_tril], written into ``grad``.

    d theta_i / d L_ij = eps_j (j <= i); H[q] = sum_i log L_ii + const, dH/dL_ii = 1 / L_ii; on the
    diagonal, d/d lambda_i = d/dL_ii * sigmoid(lambda_i) (L_ii = softplus(lambda_i)).
    With STL, -grad_theta log q(theta_s) = L^-T L^-1 (theta_s - mu) = L^-T eps_s (a back substitution).
    """
    draws, ndim = eps.shape
    diagonal, ddiagonal = np.empty(ndim), np.empty(ndim)
    fullrank_diagonal(params, ndim, diagonal, ddiagonal)
    loss = 0.0
    for s in range(draws):
        loss -= logp[s]
    loss /= draws
    for k in range(grad.size):
        grad[k] = 0.0
    g_theta = dlogp.copy()
    if stl:
        for s in range(draws):
            # solve L^T w = eps_s from the last row up; w = L^-T eps_s
            w = eps[s].copy()
            for i in range(ndim - 1, -1, -1):
                acc = w[i]
                for r in range(i + 1, ndim):
                    acc -= params[ndim + r * (r + 1) // 2 + i] * w[r]
                w[i] = acc / diagonal[i]
            for i in range(ndim):
                g_theta[s, i] += w[i]
    for s in range(draws):
        for i in range(ndim):
            row = ndim + i * (i + 1) // 2
            g = g_theta[s, i] / draws
            grad[i] -= g
            for j in range(i + 1):
                grad[row + j] -= g * eps[s, j]
    for i in range(ndim):
        at = ndim + i * (i + 3) // 2
        loss -= math.log(diagonal[i])
        if not stl:
            grad[at] -= 1.0 / diagonal[i]
        grad[at] *= ddiagonal[i]
    return loss - ndim * HALF_LOG_2PI_E


def fullrank_step(logp_dlogp, params, eps, theta, grad, stl=False):
    """One full-rank ADVI gradient: draws theta, asks the model, returns the loss; gradient in ``grad``."""
    fullrank_theta(params, eps, theta)
    logp, dlogp = logp_dlogp(theta)
    return fullrank_loss_grad(params, eps, logp, dlogp, stl, grad)


# -- ASVGD: the Stein force at draws from a mean-field q, pushed back to q's parameters ------------------------


@njit(cache=True)
def meanfield_pullback(params, eps, direction, grad):
    """Gradient of q's [mu, rho] from a per-draw descent direction (S, ndim), summed over the S draws as
    PyMC3's ASVGD does (``tt.grad(None, params, known_grads={z: -phi})``): d theta/dmu = 1,
    d theta/drho = sigmoid(rho) eps."""
    draws, ndim = eps.shape
    for i in range(ndim):
        dsigma_drho = 1.0 / (1.0 + math.exp(-params[ndim + i]))
        g_mu = 0.0
        g_rho = 0.0
        for s in range(draws):
            g_mu += direction[s, i]
            g_rho += direction[s, i] * eps[s, i]
        grad[i] = g_mu
        grad[ndim + i] = g_rho * dsigma_drho
