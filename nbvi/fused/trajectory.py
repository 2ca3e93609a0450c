"""A whole NUTS trajectory of a fused density in one compiled call (see :mod:`nbvi.compiled.trajectory`)."""
from numba import njit

from nbvi.fused.kernel import fused_logp_dlogp
from nbvi.sampling.nuts import extend

COMPILED_SOURCES_DIGEST = "5c249674b80fe147"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache


@njit(cache=True, error_model="numpy")
def fused_trajectory(vecs, stack_v, stack_s, fs, ints, q_eval, uniforms, transform, lower, upper, terms, scales,
                     consts, index, stats, logp, grad):
    """Run the trajectory that :func:`~nbvi.sampling.nuts.begin_trajectory` began until it ends, with the
    fused density's log-density; ``logp`` (1,) and ``grad`` (1, ndim) are scratch."""
    going = True
    while going:
        fused_logp_dlogp(q_eval, transform, lower, upper, terms, scales, consts, index, stats, logp, grad)
        going = extend(vecs, stack_v, stack_s, fs, ints, uniforms, logp, grad)
