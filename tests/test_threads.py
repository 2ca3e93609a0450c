"""threads_for: one numba thread for small work per step, numba's threads otherwise, restored after;
FreeCores: fewer threads while other processes hold cores."""
import os
import subprocess
import sys
import time

import numba
import pytest

import nbvi
from nbvi.threads import (
    LOAD_INTERVAL,
    PARALLEL_MIN_ELEMENTS,
    FreeCores,
    _machine_busy_seconds,
    _others_running,
    threads_following_load,
    threads_for,
)


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


class FakeMachine:
    """Readings of a machine whose other processes keep ``others`` cores busy while this one uses ``own``, and
    have ``running`` threads running at the instant a fit starts."""

    def __init__(self, others, own=1.0, running=0):
        self.t, self.others, self.own, self.running = 0.0, others, own, running

    def advance(self, seconds):
        self.t += seconds

    def busy(self):
        return self.t * (self.others + self.own)

    def own_seconds(self):
        return self.t * self.own


def cores_on(machine, threads):
    return FreeCores(threads, busy_seconds=machine.busy, own_seconds=machine.own_seconds, clock=lambda: machine.t,
                     others_running=lambda: machine.running)


@pytest.mark.parametrize("others, expected", [(0.0, 2), (0.3, 2), (0.7, 1), (1.0, 1), (1.9, 1)])
def test_free_cores_leave_a_core_to_each_busy_process(others, expected, monkeypatch):
    monkeypatch.setattr("nbvi.threads._usable_cores", lambda: [0, 1])
    machine = FakeMachine(others)
    cores = cores_on(machine, 2)
    machine.advance(0.01)
    assert cores.check() == 2  # not measured again before LOAD_INTERVAL has passed
    machine.advance(LOAD_INTERVAL)
    assert cores.check() == expected


def test_free_cores_come_back_when_the_load_goes(monkeypatch):
    monkeypatch.setattr("nbvi.threads._usable_cores", lambda: [0, 1])
    machine = FakeMachine(1.0)
    cores = cores_on(machine, 2)
    machine.advance(LOAD_INTERVAL)
    assert cores.check() == 1
    machine.others = 0.0
    machine.advance(LOAD_INTERVAL)
    assert cores.check() == 2


@pytest.mark.parametrize("running, expected", [(0, 2), (1, 1), (3, 1)])
def test_free_cores_start_from_the_threads_running_at_the_start(running, expected, monkeypatch):
    monkeypatch.setattr("nbvi.threads._usable_cores", lambda: [0, 1])
    machine = FakeMachine(0.0, running=running)
    cores = cores_on(machine, 2)
    assert cores.check() == expected  # at once: no interval measured yet
    machine.advance(LOAD_INTERVAL)
    assert cores.check() == 2  # then the busy time over the interval decides (the load went)


@pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="reads /proc")
def test_another_process_running_is_seen_at_once():
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)  # (it has started its loop)
        assert _others_running() >= 1
    finally:
        busy.kill()
        busy.wait()


def test_without_proc_stat_the_threads_stay():
    cores = FreeCores(2, busy_seconds=lambda: None)
    assert cores.check() == 2


def test_following_the_load_restores_the_thread_count():
    before = numba.get_num_threads()
    with threads_following_load() as follow:
        follow()
    assert numba.get_num_threads() == before


def test_the_busy_time_of_this_machines_cores_is_read():
    busy = _machine_busy_seconds()
    assert busy is None or busy > 0.0
