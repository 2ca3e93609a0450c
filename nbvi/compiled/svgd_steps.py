"""Whole SVGD steps of a tape: the log-density at every particle, the median bandwidth and the Stein force
in one call, and blocks of steps with the optimizer's updates.

A step is :meth:`nbvi.variational.inference.SVGD._step` (the model's ``logp_dlogp`` at the particles, then
:func:`~nbvi.variational.stein.svgd_direction`) with the density replaced by
:func:`~nbvi.compiled.interpreter.tape_logp_dlogp`: the same particles, bandwidths and forces either way.
"""
import math

from numba import njit

from nbvi.compiled.interpreter import tape_logp_dlogp
from nbvi.fused.optimizers import optimizer_step
from nbvi.variational.stein import svgd_direction

COMPILED_SOURCES_DIGEST = "0868908fa0c45f77"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache


@njit(cache=True, error_model="numpy")
def tape_svgd_step(particles, inv_temperature, functions, transform, lower, upper, code, fparams, micro, mparams, index,
                   n_registers, w, n_dynamic, constant, logp, dlogp, xt, gt, direction):
    """One SVGD step's loss and direction.

    Parameters
    ----------
    particles : (n, d) the particles, flat unconstrained space
    inv_temperature : float, 1 / T
    transform ... n_registers, w, n_dynamic : the tape's plan and workspace (see
        :func:`~nbvi.compiled.interpreter.tape_logp_dlogp`)
    constant : float, the log-density of the terms without free variables
    logp, dlogp : (n,), (n, d) work arrays: the log-density and its gradient at the particles
    xt, gt : (d, n) work arrays
    direction : (n, d) output, -phi (what the optimizer descends)

    Returns
    -------
    The loss, minus the mean log-density of the particles (``SVGD``'s recorded loss).
    """
    tape_logp_dlogp(particles, functions, transform, lower, upper, code, fparams, micro, mparams, index, n_registers, w,
                    n_dynamic, logp, dlogp)
    total = 0.0
    for i in range(logp.size):
        logp[i] += constant
        total += logp[i]
    svgd_direction(particles, dlogp, inv_temperature, xt, gt, direction)
    return -total / logp.size


@njit(cache=True, error_model="numpy")
def tape_svgd_steps(params, ndim, inv_temperature, functions, transform, lower, upper, code, fparams, micro, mparams, index,
                    n_registers, w, n_dynamic, constant, logp, dlogp, xt, gt, optimizer, state, hyper, grad,
                    previous, losses):
    """Up to ``losses.size`` SVGD steps with their optimizer updates, as the fitting loop takes them one by one.

    ``params`` (n * ndim,) holds the particles row by row and is updated in place; ``grad`` (n * ndim,) receives
    each step's direction; ``optimizer``, ``state``, ``hyper``: the optimizer's kernel number, state and
    settings (:mod:`nbvi.fused.optimizers`); the other arguments as :func:`tape_svgd_step`. Returns the number
    of steps whose loss was finite: ``losses.size``, or the index of the first step whose loss is not, where the
    loop stopped before that step's update (``previous`` then holds the parameters before the last update).
    """
    particles = params.reshape((params.size // ndim, ndim))
    direction = grad.reshape(particles.shape)
    for k in range(losses.size):
        loss = tape_svgd_step(particles, inv_temperature, functions, transform, lower, upper, code, fparams, micro, mparams,
                              index, n_registers, w, n_dynamic, constant, logp, dlogp, xt, gt, direction)
        if not math.isfinite(loss):
            return k
        previous[:] = params
        optimizer_step(optimizer, params, grad, state, hyper)
        losses[k] = loss
    return losses.size
