"""The optimizers of :mod:`nbvi.variational.optimizers` behind one compiled switch, so that a block of fused
ADVI steps (:mod:`nbvi.fused.advi_steps`) updates the parameters without returning to Python.

Each optimizer's kernel ``(params, grad, state, hyper)`` gets a number; :func:`optimizer_step` calls the
kernel for that number (a compiled function passed as an argument would not be cached on disk).
"""
from numba import njit

from nbvi.variational.optimizers import (
    adadelta_kernel,
    adagrad_kernel,
    adagrad_window_kernel,
    adam_kernel,
    adamax_kernel,
    averaged_adam_kernel,
    momentum_kernel,
    nesterov_momentum_kernel,
    rmsprop_kernel,
    sgd_kernel,
)

COMPILED_SOURCES_DIGEST = "0868908fa0c45f77"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache

SGD, MOMENTUM, NESTEROV, ADAGRAD, ADAGRAD_WINDOW, RMSPROP, ADADELTA, ADAM, ADAMAX, AVERAGED_ADAM = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10

OPTIMIZERS = {
    sgd_kernel: SGD, momentum_kernel: MOMENTUM, nesterov_momentum_kernel: NESTEROV, adagrad_kernel: ADAGRAD,
    adagrad_window_kernel: ADAGRAD_WINDOW, rmsprop_kernel: RMSPROP, adadelta_kernel: ADADELTA,
    adam_kernel: ADAM, adamax_kernel: ADAMAX, averaged_adam_kernel: AVERAGED_ADAM,
}


def optimizer_code(optimizer):
    """The number of an nbvi optimizer's kernel, or None for an optimizer defined elsewhere or one with a
    learning-rate schedule (a block's kernels take one fixed rate: such a fit goes step by step)."""
    if getattr(optimizer, "schedule", None) is not None:
        return None
    return OPTIMIZERS.get(getattr(optimizer, "kernel", None))


@njit(cache=True)
def optimizer_step(code, params, grad, state, hyper):
    """``optimizer.step(params, grad, state)`` of the optimizer whose kernel has number ``code``."""
    if code == SGD:
        sgd_kernel(params, grad, state, hyper)
    elif code == MOMENTUM:
        momentum_kernel(params, grad, state, hyper)
    elif code == NESTEROV:
        nesterov_momentum_kernel(params, grad, state, hyper)
    elif code == ADAGRAD:
        adagrad_kernel(params, grad, state, hyper)
    elif code == ADAGRAD_WINDOW:
        adagrad_window_kernel(params, grad, state, hyper)
    elif code == RMSPROP:
        rmsprop_kernel(params, grad, state, hyper)
    elif code == ADADELTA:
        adadelta_kernel(params, grad, state, hyper)
    elif code == ADAM:
        adam_kernel(params, grad, state, hyper)
    elif code == ADAMAX:
        adamax_kernel(params, grad, state, hyper)
    elif code == AVERAGED_ADAM:
        averaged_adam_kernel(params, grad, state, hyper)
