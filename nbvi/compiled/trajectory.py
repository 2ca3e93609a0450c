"""A whole NUTS trajectory of a tape in one compiled call.

:func:`~nbvi.sampling.nuts.transition` alternates a gradient and a compiled ``extend`` of the trajectory;
here both run in one loop, so a transition of a small model costs no Python per leapfrog step.
"""
from numba import njit

from nbvi.compiled.addresses import unmanaged
from nbvi.compiled.interpreter import tape_logp_dlogp
from nbvi.sampling.nuts import U_NEXT, begin_trajectory, extend, finish_transition

COMPILED_SOURCES_DIGEST = "0868908fa0c45f77"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache


@njit(cache=True, error_model="numpy")
def tape_trajectory(vecs, stack_v, stack_s, fs, ints, q_eval, uniforms, functions, transform, lower, upper, code, fparams, micro,
                    mparams, index, n_registers, w, n_dynamic, constant, logp, grad):
    """Run the trajectory that :func:`~nbvi.sampling.nuts.begin_trajectory` began until it ends: the loop of
    :func:`~nbvi.sampling.nuts.transition`, with the tape's log-density (``constant``: its terms without
    free variables, added as ``CompiledDensity.logp_dlogp`` adds them). ``logp`` (1,) and ``grad``
    (1, ndim) are scratch."""
    going = True
    while going:
        tape_logp_dlogp(q_eval, functions, transform, lower, upper, code, fparams, micro, mparams, index, n_registers, w,
                        n_dynamic, logp, grad)
        logp[0] += constant
        going = extend(vecs, stack_v, stack_s, fs, ints, uniforms, logp, grad)


@njit(cache=True, error_model="numpy")
def tape_draws(vecs, stack_v, stack_s, fs, ints, q_eval, q, logp, grad, step_size, inv_mass, normals, row, uniforms,
               pos, need, theta, stats, averaging, target_accept, functions, transform, lower, upper, code, fparams, micro,
               mparams, index, n_registers, w, n_dynamic, constant, logp_scratch, grad_scratch):
    """NUTS transitions as :func:`~nbvi.sampling.nuts.transition` takes them one by one from
    ``(q, logp, grad)``: at a fixed step size and metric, or, during warm-up, with the step size of
    :func:`~nbvi.sampling.adaptation.dual_average_update` after each transition (when ``averaging``, the
    float state (counter, s_bar, x_bar, mu), has 4 entries; it is updated in place). ``inv_mass`` (ndim,) is
    the diagonal of M^-1, or ones when the workspace holds a dense metric
    (:func:`~nbvi.sampling.nuts.kernel_inv_mass`); ``extend`` and ``begin_trajectory`` read it from there.

    They go on until ``theta`` (K, ndim) is full or the random numbers drawn run out: the momentum normals
    ``normals[row:]``, or fewer than ``need`` uniforms after ``uniforms[pos:]`` (the caller then draws more,
    as its random stream would before the next transition). ``q`` and ``grad`` are updated in place.

    Returns
    -------
    (transitions made, row, pos, logp, step size) after them; ``theta[k]`` and ``stats[k]`` (columns
    :data:`~nbvi.sampling.sample.STAT_COLUMNS`) describe transition k.
    """
    # (views without reference counts: the trajectory takes many views of these arrays, each a pair of atomic
    # operations on an array numba counts)
    vecs, stack_v, stack_s, fs, ints, q_eval = (unmanaged(vecs), unmanaged(stack_v), unmanaged(stack_s), unmanaged(fs),
                                                unmanaged(ints), unmanaged(q_eval))
    q, grad, inv_mass, normals, uniforms = unmanaged(q), unmanaged(grad), unmanaged(inv_mass), unmanaged(normals), unmanaged(uniforms)
    theta, stats, averaging = unmanaged(theta), unmanaged(stats), unmanaged(averaging)
    functions, transform, lower, upper = unmanaged(functions), unmanaged(transform), unmanaged(lower), unmanaged(upper)
    code, fparams, micro, mparams, index = unmanaged(code), unmanaged(fparams), unmanaged(micro), unmanaged(mparams), unmanaged(index)
    w, logp_scratch, grad_scratch = unmanaged(w), unmanaged(logp_scratch), unmanaged(grad_scratch)
    k = 0
    while k < theta.shape[0] and row < normals.shape[0] and pos + need <= uniforms.shape[0]:
        begin_trajectory(vecs, fs, ints, q, logp, grad, step_size, inv_mass, normals[row], uniforms[pos:])
        tape_trajectory(vecs, stack_v, stack_s, fs, ints, q_eval, uniforms[pos:], functions, transform, lower, upper, code,
                        fparams, micro, mparams, index, n_registers, w, n_dynamic, constant, logp_scratch,
                        grad_scratch)
        logp, step_size = finish_transition(vecs, fs, ints, q, grad, theta, stats, k, step_size, averaging,
                                            target_accept)
        pos += ints[U_NEXT]
        row += 1
        k += 1
    return k, row, pos, logp, step_size
