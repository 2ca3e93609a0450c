"""Whole ADVI steps of a fused density: q's draws, the log-density and the ELBO gradient in one call.

They chain the kernels that :mod:`nbvi.variational.advi` calls one by one from Python (draw theta, ask the
model, loss and gradient), so a step of a small model costs one call instead of three plus the model's.

A block of steps (:func:`fused_advi_steps`) also runs the optimizer's updates, so a fit without callbacks
returns to Python only between blocks. The optimizer's state carries its step count (a decaying step size,
an average of the iterates: ``AveragedAdam``), so a block takes the steps that one at a time would.
"""
import math

import numpy as np
from numba import njit

from nbvi.fused.kernel import fused_logp_dlogp
from nbvi.fused.optimizers import optimizer_step
from nbvi.variational.advi import (
    fullrank_loss_grad,
    fullrank_theta,
    meanfield_draws,
    meanfield_loss_grad_given_sigma,
)

COMPILED_SOURCES_DIGEST = "0868908fa0c45f77"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache


@njit(cache=True, error_model="numpy")
def fused_meanfield_step(params, eps, stl, theta, transform, lower, upper, terms, scales, consts, index, stats, grad):
    """:func:`~nbvi.variational.advi.meanfield_step` of a fused density: draws theta, log-density and
    gradient, loss and gradient into ``grad``, without returning to Python; sigma = softplus(rho) and its
    derivative are computed once for the draws and the gradient."""
    draws, ndim = eps.shape
    sigma = np.empty(ndim)
    dsigma_drho = np.empty(ndim)
    sum_log_sigma = meanfield_draws(params, eps, theta, sigma, dsigma_drho)
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


# -- blocks of steps: the optimizer's updates too, so that Python is visited once per block --------------------

MEANFIELD, FULLRANK = 0, 1


@njit(cache=True, error_model="numpy")
def fused_advi_steps(method, params, noise, stl, theta, transform, lower, upper, terms, scales, consts, index, stats,
                     step_stats, segments, optimizer, state, hyper, grad, previous, losses):
    """Up to ``noise.shape[0]`` ADVI steps with their optimizer updates, as the fitting loop of
    :class:`~nbvi.variational.inference.Inference` takes them one by one.

    Parameters
    ----------
    method : MEANFIELD or FULLRANK
    params : (P,) q's parameters, updated in place
    noise : (K, S, ndim) the standard normal noise of the K steps
    stl : bool
    theta, transform ... stats : the fused density's plan (see :func:`fused_meanfield_step`)
    step_stats : (K, Q) each step's statistics of the minibatch terms; segment m, ``segments[m] = (offset,
        start, size)``, is copied to ``stats[offset:offset + size]`` from ``step_stats[k, start:start + size]``
    optimizer : int, the number of the optimizer's kernel (:mod:`nbvi.fused.optimizers`)
    state, hyper : the optimizer's state (updated in place) and settings
    grad, previous : (P,) work arrays: the last gradient, and params before the last update
    losses : (K,) output, the loss of each step taken

    Returns
    -------
    The number of steps whose loss was finite: K, or the index of the first step whose loss is not, where
    the loop stopped before that step's update (``previous`` then holds the parameters of the last finite
    step, ``params`` those the failing loss was computed at).
    """
    for k in range(noise.shape[0]):
        for m in range(segments.shape[0]):
            offset, start, size = segments[m, 0], segments[m, 1], segments[m, 2]
            for t in range(size):
                stats[offset + t] = step_stats[k, start + t]
        if method == MEANFIELD:
            loss = fused_meanfield_step(params, noise[k], stl, theta, transform, lower, upper, terms, scales, consts,
                                        index, stats, grad)
        else:
            loss = fused_fullrank_step(params, noise[k], stl, theta, transform, lower, upper, terms, scales, consts,
                                       index, stats, grad)
        if not math.isfinite(loss):
            return k
        previous[:] = params
        optimizer_step(optimizer, params, grad, state, hyper)
        losses[k] = loss
    return noise.shape[0]
