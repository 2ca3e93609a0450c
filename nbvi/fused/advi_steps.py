"""Whole ADVI steps of a fused density: q's draws, the log-density and the ELBO gradient in one call.

They chain the kernels that :mod:`nbvi.variational.advi` calls one by one from Python (draw theta, ask the
model, loss and gradient), so a step of a small model costs one call instead of three plus the model's.
"""
import numpy as np
from numba import njit

from nbvi.fused.kernel import fused_logp_dlogp
from nbvi.variational.advi import (
    fullrank_loss_grad,
    fullrank_theta,
    meanfield_loss_grad_given_sigma,
    meanfield_sigma,
)


@njit(cache=True, error_model="numpy")
def fused_meanfield_step(params, eps, stl, theta, transform, lower, upper, terms, scales, consts, index, stats, grad):
    """:func:`~nbvi.variational.advi.meanfield_step` of a fused density: draws theta, log-density and
    gradient, loss and gradient into ``grad``, without returning to Python; sigma = softplus(rho) and its
    derivative are computed once for the draws and the gradient."""
    draws, ndim = eps.shape
    sigma = np.empty(ndim)
    dsigma_drho = np.empty(ndim)
    sum_log_sigma = meanfield_sigma(params, sigma, dsigma_drho)
    for s in range(draws):
        for i in range(ndim):
            theta[s, i] = params[i] + sigma[i] * eps[s, i]
    logp = np.empty(draws)
    dlogp = np.empty(theta.shape)
    fused_logp_dlogp(theta, transform, lower, upper, terms, scales, consts, index, stats, logp, dlogp)
    return meanfield_loss_grad_given_sigma(sigma, dsigma_drho, sum_log_sigma, eps, logp, dlogp, stl, grad)


@njit(cache=True, error_model="numpy")
def fused_fullrank_step(params, eps, stl, theta, transform, lower, upper, terms, scales, consts, index, stats, grad):
    """:func:`~nbvi.variational.advi.fullrank_step` of a fused density, in one call."""
    logp = np.empty(theta.shape[0])
    dlogp = np.empty(theta.shape)
    fullrank_theta(params, eps, theta)
    fused_logp_dlogp(theta, transform, lower, upper, terms, scales, consts, index, stats, logp, dlogp)
    return fullrank_loss_grad(params, eps, logp, dlogp, stl, grad)
