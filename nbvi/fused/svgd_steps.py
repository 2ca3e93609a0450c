"""Whole SVGD steps of a fused density: the log-density at every particle, the median bandwidth and the Stein
force in one call, and blocks of steps with the optimizer's updates (as :mod:`nbvi.compiled.svgd_steps` for a
tape)."""
import math

from numba import njit

from nbvi.fused.kernel import fused_logp_dlogp
from nbvi.fused.optimizers import optimizer_step
from nbvi.variational.stein import svgd_direction

COMPILED_SOURCES_DIGEST = "0868908fa0c45f77"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache


@njit(cache=True, error_model="numpy")
def fused_svgd_step(particles, inv_temperature, transform, lower, upper, terms, scales, consts, index, stats, logp,
                    dlogp, xt, gt, direction):
    """One SVGD step's loss (minus the particles' mean log-density) and direction -phi (n, d) in ``direction``;
    ``transform`` ... ``stats``: the fused density's plan; the work arrays as
    :func:`~nbvi.compiled.svgd_steps.tape_svgd_step`."""
    fused_logp_dlogp(particles, transform, lower, upper, terms, scales, consts, index, stats, logp, dlogp)
    total = 0.0
    for i in range(logp.size):
        total += logp[i]
    svgd_direction(particles, dlogp, inv_temperature, xt, gt, direction)
    return -total / logp.size


@njit(cache=True, error_model="numpy")
def fused_svgd_steps(params, ndim, inv_temperature, transform, lower, upper, terms, scales, consts, index, stats,
                     logp, dlogp, xt, gt, optimizer, state, hyper, grad, previous, losses):
    """Up to ``losses.size`` SVGD steps with their optimizer updates (a model without minibatches); the arguments
    and the result as :func:`~nbvi.compiled.svgd_steps.tape_svgd_steps`."""
    particles = params.reshape((params.size // ndim, ndim))
    direction = grad.reshape(particles.shape)
    for k in range(losses.size):
        loss = fused_svgd_step(particles, inv_temperature, transform, lower, upper, terms, scales, consts, index,
                               stats, logp, dlogp, xt, gt, direction)
        if not math.isfinite(loss):
            return k
        previous[:] = params
        optimizer_step(optimizer, params, grad, state, hyper)
        losses[k] = loss
    return losses.size
