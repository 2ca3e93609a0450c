"""threads_for: one numba thread for small work per step, numba's threads otherwise, restored after."""
import numba
import pytest

import nbvi
from nbvi.threads import PARALLEL_MIN_ELEMENTS, threads_for


def test_small_work_runs_on_one_thread_and_the_count_is_restored():
    before = numba.get_num_threads()
    with threads_for(10):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before


@pytest.mark.parametrize("work", [None, PARALLEL_MIN_ELEMENTS])
def test_large_or_unknown_work_keeps_the_threads(work):
    before = numba.get_num_threads()
    with threads_for(work):
        assert numba.get_num_threads() == before


def test_restored_after_an_error():
    before = numba.get_num_threads()
    with pytest.raises(RuntimeError):
        with threads_for(1):
            raise RuntimeError("inside")
    assert numba.get_num_threads() == before


def test_a_fit_uses_one_thread_for_a_small_model_and_restores_the_count():
    with nbvi.Model() as model:
        nbvi.Normal("x", 0.0, 1.0)
    seen = []
    before = numba.get_num_threads()
    nbvi.ADVI(model=model, random_seed=1).fit(3, progressbar=False,
                                               callbacks=[lambda *args: seen.append(numba.get_num_threads())])
    assert seen == [1, 1, 1]
    assert numba.get_num_threads() == before


def test_svgd_work_counts_the_stein_force():
    with nbvi.Model() as model:
        nbvi.Normal("x", 0.0, 1.0, shape=4)
    svgd = nbvi.SVGD(n_particles=300, model=model, random_seed=1)
    assert svgd.work_per_step() == 300 * 4 + 300 * 300 * 4


def test_a_large_fit_inside_a_small_one_gets_the_threads_back():
    before = numba.get_num_threads()
    with threads_for(10):
        with threads_for(PARALLEL_MIN_ELEMENTS):
            assert numba.get_num_threads() == before
        assert numba.get_num_threads() == 1
        with threads_for(None):
            assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before
