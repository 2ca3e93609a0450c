"""Whole ADVI steps of a tape: q's draws, the log-density and the ELBO gradient in one call, and blocks of
steps with the optimizer's updates (as :mod:`nbvi.fused.advi_steps` does for the fused kernel).

The steps are the generic ones of :mod:`nbvi.variational.advi` with the model's ``logp_dlogp`` replaced by
:func:`~nbvi.compiled.interpreter.tape_logp_dlogp`, so a fit takes the same steps either way; a block
returns to Python only at its end (the optimizers' kernels: :mod:`nbvi.fused.optimizers`).
"""
import math

import numpy as np
from numba import njit

from nbvi.compiled.interpreter import tape_logp_dlogp
from nbvi.fused.optimizers import optimizer_step
from nbvi.variational.advi import (
    fullrank_loss_grad,
    fullrank_theta,
    meanfield_draws,
    meanfield_loss_grad_given_sigma,
)

COMPILED_SOURCES_DIGEST = "0868908fa0c45f77"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache


@njit(cache=True, error_model="numpy")
def tape_meanfield_step(params, eps, stl, theta, functions, transform, lower, upper, code, fparams, micro, mparams, index,
                        n_registers, w, n_dynamic, grad):
    """:func:`~nbvi.variational.advi.meanfield_step` of a tape (the plan after theta: see
    :func:`~nbvi.compiled.interpreter.tape_logp_dlogp`); returns the loss, its gradient in ``grad``."""
    draws, ndim = eps.shape
    sigma = np.empty(ndim)
    dsigma_drho = np.empty(ndim)
    sum_log_sigma = meanfield_draws(params, eps, theta, sigma, dsigma_drho)
    logp = np.empty(draws)
    dlogp = np.empty(theta.shape)
    tape_logp_dlogp(theta, functions, transform, lower, upper, code, fparams, micro, mparams, index, n_registers, w, n_dynamic,
                    logp, dlogp)
    return meanfield_loss_grad_given_sigma(sigma, dsigma_drho, sum_log_sigma, eps, logp, dlogp, stl, grad)


@njit(cache=True, error_model="numpy")
def tape_fullrank_step(params, eps, stl, theta, functions, transform, lower, upper, code, fparams, micro, mparams, index,
                       n_registers, w, n_dynamic, grad):
    """:func:`~nbvi.variational.advi.fullrank_step` of a tape, in one call."""
    logp = np.empty(theta.shape[0])
    dlogp = np.empty(theta.shape)
    fullrank_theta(params, eps, theta)
    tape_logp_dlogp(theta, functions, transform, lower, upper, code, fparams, micro, mparams, index, n_registers, w, n_dynamic,
                    logp, dlogp)
    return fullrank_loss_grad(params, eps, logp, dlogp, stl, grad)


@njit(cache=True, error_model="numpy")
def tape_meanfield_steps(params, noise, stl, theta, functions, transform, lower, upper, code, fparams, micro, mparams, index,
                         n_registers, w, n_dynamic, optimizer, state, hyper, grad, previous, losses):
    """Up to ``noise.shape[0]`` mean-field ADVI steps with their optimizer updates; the arguments and the
    result as :func:`~nbvi.fused.advi_steps.fused_advi_steps` (a tape reads no minibatch statistics)."""
    for k in range(noise.shape[0]):
        loss = tape_meanfield_step(params, noise[k], stl, theta, functions, transform, lower, upper, code, fparams, micro,
                                   mparams, index, n_registers, w, n_dynamic, grad)
        if not math.isfinite(loss):
            return k
        previous[:] = params
        optimizer_step(optimizer, params, grad, state, hyper)
        losses[k] = loss
    return noise.shape[0]


@njit(cache=True, error_model="numpy")
def tape_fullrank_steps(params, noise, stl, theta, functions, transform, lower, upper, code, fparams, micro, mparams, index,
                        n_registers, w, n_dynamic, optimizer, state, hyper, grad, previous, losses):
    """As :func:`tape_meanfield_steps`, for full-rank ADVI (two functions, so that a fit compiles one)."""
    for k in range(noise.shape[0]):
        loss = tape_fullrank_step(params, noise[k], stl, theta, functions, transform, lower, upper, code, fparams, micro,
                                  mparams, index, n_registers, w, n_dynamic, grad)
        if not math.isfinite(loss):
            return k
        previous[:] = params
        optimizer_step(optimizer, params, grad, state, hyper)
        losses[k] = loss
    return noise.shape[0]
