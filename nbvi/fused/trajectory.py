"""NUTS trajectories, and blocks of transitions, of a fused density in one compiled call (as
:mod:`nbvi.compiled.trajectory` does for a tape)."""
from numba import njit

from nbvi.compiled.addresses import unmanaged
from nbvi.fused.kernel import fused_logp_dlogp
from nbvi.sampling.nuts import U_NEXT, begin_trajectory, extend, finish_transition

COMPILED_SOURCES_DIGEST = "0868908fa0c45f77"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache


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


@njit(cache=True, error_model="numpy")
def fused_draws(vecs, stack_v, stack_s, fs, ints, q_eval, q, logp, grad, step_size, inv_mass, normals, row, uniforms,
                pos, need, theta, stats, averaging, target_accept, transform, lower, upper, terms, scales, consts, index,
                model_stats, logp_scratch, grad_scratch):
    """NUTS transitions of a fused density, as :func:`~nbvi.compiled.trajectory.tape_draws` makes them for a
    tape (which says what the arguments are and what it returns); ``transform`` ... ``model_stats``: the
    density's plan."""
    # (views without reference counts: see nbvi.compiled.addresses.unmanaged)
    vecs, stack_v, stack_s, fs, ints, q_eval = (unmanaged(vecs), unmanaged(stack_v), unmanaged(stack_s), unmanaged(fs),
                                                unmanaged(ints), unmanaged(q_eval))
    q, grad, inv_mass, normals, uniforms = unmanaged(q), unmanaged(grad), unmanaged(inv_mass), unmanaged(normals), unmanaged(uniforms)
    theta, stats, averaging = unmanaged(theta), unmanaged(stats), unmanaged(averaging)
    transform, lower, upper, terms = unmanaged(transform), unmanaged(lower), unmanaged(upper), unmanaged(terms)
    scales, consts, index, model_stats = unmanaged(scales), unmanaged(consts), unmanaged(index), unmanaged(model_stats)
    logp_scratch, grad_scratch = unmanaged(logp_scratch), unmanaged(grad_scratch)
    k = 0
    while k < theta.shape[0] and row < normals.shape[0] and pos + need <= uniforms.shape[0]:
        begin_trajectory(vecs, fs, ints, q, logp, grad, step_size, inv_mass, normals[row], uniforms[pos:])
        fused_trajectory(vecs, stack_v, stack_s, fs, ints, q_eval, uniforms[pos:], transform, lower, upper, terms,
                         scales, consts, index, model_stats, logp_scratch, grad_scratch)
        logp, step_size = finish_transition(vecs, fs, ints, q, grad, theta, stats, k, step_size, averaging,
                                            target_accept)
        pos += ints[U_NEXT]
        row += 1
        k += 1
    return k, row, pos, logp, step_size
