"""A whole NUTS trajectory of a tape in one compiled call.

:func:`~nbvi.sampling.nuts.transition` alternates a gradient and a compiled ``extend`` of the trajectory;
here both run in one loop, so a transition of a small model costs no Python per leapfrog step.
"""
from numba import njit

from nbvi.compiled.interpreter import tape_logp_dlogp
from nbvi.sampling.nuts import extend


@njit(cache=True, error_model="numpy")
def tape_trajectory(vecs, stack_v, stack_s, fs, ints, q_eval, uniforms, transform, lower, upper, code, fparams, micro,
                    mparams, index, n_registers, w, n_dynamic, constant, logp, grad):
    """Run the trajectory that :func:`~nbvi.sampling.nuts.begin_trajectory` began until it ends: the loop of
    :func:`~nbvi.sampling.nuts.transition`, with the tape's log-density (``constant``: its terms without
    free variables, added as ``CompiledDensity.logp_dlogp`` adds them). ``logp`` (1,) and ``grad``
    (1, ndim) are scratch."""
    going = True
    while going:
        tape_logp_dlogp(q_eval, transform, lower, upper, code, fparams, micro, mparams, index, n_registers, w,
                        n_dynamic, logp, grad)
        logp[0] += constant
        going = extend(vecs, stack_v, stack_s, fs, ints, uniforms, logp, grad)
