"""A whole NUTS trajectory of a fused density in one compiled call (see :mod:`nbvi.compiled.trajectory`)."""
from numba import njit

from nbvi.compiled.addresses import unmanaged
from nbvi.fused.kernel import fused_logp_dlogp
from nbvi.sampling.nuts import extend

COMPILED_SOURCES_DIGEST = "585822c5c26a46ef"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache


@njit(cache=True, error_model="numpy")
def fused_trajectory(vecs, stack_v, stack_s, fs, ints, q_eval, uniforms, transform, lower, upper, terms, scales,
                     consts, index, stats, logp, grad):
    """Run the trajectory that :func:`~nbvi.sampling.nuts.begin_trajectory` began until it ends, with the
    fused density's log-density; ``logp`` (1,) and ``grad`` (1, ndim) are scratch."""
    # (views without reference counts: see nbvi.compiled.trajectory.tape_draws)
    vecs, stack_v, stack_s, fs, ints, q_eval = (unmanaged(vecs), unmanaged(stack_v), unmanaged(stack_s), unmanaged(fs),
                                                unmanaged(ints), unmanaged(q_eval))
    uniforms, transform, lower, upper, terms = (unmanaged(uniforms), unmanaged(transform), unmanaged(lower),
                                                unmanaged(upper), unmanaged(terms))
    scales, consts, index, stats = unmanaged(scales), unmanaged(consts), unmanaged(index), unmanaged(stats)
    logp, grad = unmanaged(logp), unmanaged(grad)
    going = True
    while going:
        fused_logp_dlogp(q_eval, transform, lower, upper, terms, scales, consts, index, stats, logp, grad)
        going = extend(vecs, stack_v, stack_s, fs, ints, uniforms, logp, grad)
