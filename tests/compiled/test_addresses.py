"""nbvi.compiled.addresses: calls of C functions by address, and views without reference counts; and the
scratch a call of the interpreter takes at the end of the workspace, which leaves the constants alone."""
import numpy as np
from density_checks import tape_of
from numba import njit

import nbvi
from nbvi.compiled import interpreter
from nbvi.compiled.addresses import unmanaged


@njit(cache=False)
def _write_through_views(matrix, integers):
    rows, counts = unmanaged(matrix), unmanaged(integers)
    row = rows[1]  # a view of a view: still the caller's memory
    row[:] = 7.0
    counts[2] += 1
    return rows[1].sum() + counts.sum()


def test_an_unmanaged_view_reads_and_writes_the_callers_memory():
    matrix, integers = np.zeros((3, 2)), np.arange(4)
    assert _write_through_views(matrix, integers) == 14.0 + 7
    np.testing.assert_array_equal(matrix, [[0.0, 0.0], [7.0, 7.0], [0.0, 0.0]])
    np.testing.assert_array_equal(integers, [0, 1, 3, 3])


def test_a_call_uses_the_end_of_the_workspace_and_leaves_the_constants():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    with nbvi.Model() as model:  # a loop of 300 elements (two blocks of registers), a DOT, a mixture
        beta = nbvi.Normal("beta", 0.0, 1.0, shape=3)
        sigma = nbvi.HalfNormal("sigma", 1.0)
        nbvi.StudentT("y", nu=4.0, mu=nbvi.math.exp(0.1 * nbvi.math.dot(x, beta)), sigma=sigma,
                      observed=rng.normal(size=300))
        nbvi.NormalMixture("z", w=np.array([0.3, 0.7]), mu=beta[:2], sigma=sigma, observed=rng.normal(size=40))
    density = tape_of(model)
    tape = density.tape
    scratch = interpreter.call_scratch_size(tape.n_dynamic, tape.ndim, tape.n_registers)
    constants = tape.workspace[tape.n_dynamic:tape.workspace.size - scratch].copy()
    theta = model.initial_point_flat() + 0.3 * rng.standard_normal((5, model.ndim))
    logp, grad = density.logp_dlogp(theta)
    np.testing.assert_array_equal(tape.workspace[tape.n_dynamic:tape.workspace.size - scratch], constants)
    reference = model._graph_logp_dlogp(theta)
    np.testing.assert_allclose(logp, reference[0], rtol=1e-10)
    np.testing.assert_allclose(grad, reference[1], rtol=1e-10, atol=1e-12)
