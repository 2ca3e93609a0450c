"""How many threads the numba kernels of a fit may use.

Two decisions. Small work per step runs on one thread (below). Large work uses as many threads as there
are cores that other processes leave free: a ``prange`` region waits for all its threads at every call,
so a thread whose core another process holds makes every call wait for the scheduler (on 2 cores with one
busy, the SVGD workloads ran 5 - 25 times slower on 2 threads than on 1). :class:`FreeCores` measures the
other processes' load from ``/proc/stat`` while the fit runs and moves the thread count with it.

The fused kernels (rows kernels, the Stein force, Categorical over many draws) run their loops in parallel
with ``prange``. Starting and joining the threads costs a few microseconds on a quiet machine and up to
milliseconds on a busy one, where a thread waits for a core: below a few hundred thousand elements per call
one thread is faster. A fit knows its work per step, so it decides once, for the whole loop, rather than
every kernel paying for the decision at every call.
"""
import os
import time
from contextlib import contextmanager

import numba

# Work per step (elements a kernel loops over) from which threads pay for themselves; measured on 2 cores
# with scripts/bench.py W5 (4e6 elements: 2 threads faster) and W6 (5e4: 1 thread faster).
PARALLEL_MIN_ELEMENTS = 1 << 18


_replaced = []  # the thread counts that enclosing small fits replaced by 1 (innermost last)


@contextmanager
def threads_for(work):
    """Run the block with numba's threads, or with one thread when ``work`` (elements per step) is small.

    A large fit started inside a small one (e.g. from a callback) gets back the threads the small fit put
    aside, for as long as it runs.

    Parameters
    ----------
    work : int or None
        Elements the kernels of one step loop over; None when unknown (the threads stay as they are).
    """
    if work is None or (work >= PARALLEL_MIN_ELEMENTS and not _replaced):
        yield
        return
    previous = numba.get_num_threads()
    small = work < PARALLEL_MIN_ELEMENTS
    numba.set_num_threads(1 if small else _replaced[-1])
    if small:
        _replaced.append(previous)
    try:
        yield
    finally:
        if small:
            _replaced.pop()
        numba.set_num_threads(previous)


# How often a fit looks at the machine's load (seconds), and the load of other processes (in cores) that
# takes a core away from the fit.
LOAD_INTERVAL = 0.1
BUSY_CORE = 0.5


def _usable_cores():
    """The cores this process may run on (its affinity where the system says, else all)."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return list(range(os.cpu_count() or 1))


def _machine_busy_seconds(cores=None):
    """CPU seconds the given cores (by default those this process may use) spent busy since boot, from
    /proc/stat, or None where there is none."""
    wanted = {f"cpu{k}" for k in (_usable_cores() if cores is None else cores)}
    busy = 0
    try:
        with open("/proc/stat") as stat:
            for line in stat:
                fields = line.split()
                if fields and fields[0] in wanted:
                    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[1:9])
                    busy += user + nice + system + irq + softirq + steal
    except (OSError, ValueError):
        return None
    return busy / os.sysconf("SC_CLK_TCK") if busy else None


def _others_running():
    """How many threads of other processes are running or waiting for a core right now: /proc/stat's
    ``procs_running`` less this process's own threads in state R; None where there is no /proc. (One
    instant: a first guess, until :class:`FreeCores` has measured busy time over an interval.)"""
    try:
        with open("/proc/stat") as stat:
            running = next(int(line.split()[1]) for line in stat if line.startswith("procs_running"))
        own = 0
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/stat") as task_stat:
                own += task_stat.read().rsplit(")", 1)[1].split()[0] == "R"  # (the name may hold spaces)
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return max(0, running - own)


class FreeCores:
    """The thread count a parallel fit should use now: numba's threads, fewer while other processes keep
    cores busy.

    Every ``LOAD_INTERVAL`` seconds (at most), :meth:`check` compares the machine's busy CPU time with this
    process's own: the difference, per second of wall time, is the load of other processes in cores, and
    each full core of it (rounded from ``BUSY_CORE``) takes a thread away, down to one. Until the first
    interval has passed, the count follows the other processes' threads running at the start (a fit of a
    fraction of a second would otherwise run all of it on a core that another process holds).

    Parameters
    ----------
    threads : int
        The most threads to use.
    busy_seconds, own_seconds, clock, others_running : callables, optional
        The machine's busy CPU seconds, this process's CPU seconds, the wall clock and the other processes'
        threads running now (for tests).
    """

    def __init__(self, threads, busy_seconds=_machine_busy_seconds, own_seconds=time.process_time,
                 clock=time.perf_counter, others_running=_others_running):
        self.most = threads
        self.threads = threads
        self._busy, self._own, self._clock = busy_seconds, own_seconds, clock
        self._last = self._reading()
        others = others_running() if self._last is not None and threads > 1 else None
        if others is not None:
            self.threads = self._free(others)

    def _free(self, others):
        """The threads to use while other processes keep ``others`` cores busy."""
        return max(1, min(self.most, len(_usable_cores()) - int(others + 1.0 - BUSY_CORE)))

    def _reading(self):
        busy = self._busy()
        return None if busy is None else (self._clock(), busy, self._own())

    def check(self):
        """The thread count to use now (re-measured when ``LOAD_INTERVAL`` has passed)."""
        if self._last is None or self.most == 1:
            return self.threads
        now = self._clock()
        if now - self._last[0] < LOAD_INTERVAL:
            return self.threads
        reading = self._reading()
        wall, busy, own = (b - a for a, b in zip(self._last, reading))
        self._last = reading
        self.threads = self._free(max(0.0, (busy - own) / wall))  # (cores other processes kept busy)
        return self.threads


@contextmanager
def threads_following_load():
    """Within the block, call the yielded function now and then (e.g. every step): it sets numba's thread
    count to the cores other processes leave free (see :class:`FreeCores`); the count is restored after.
    On one thread the function does nothing."""
    previous = numba.get_num_threads()
    if previous == 1:
        yield lambda: None
        return
    cores = FreeCores(previous)

    def follow():
        threads = cores.check()
        if threads != numba.get_num_threads():
            numba.set_num_threads(threads)

    try:
        yield follow
    finally:
        numba.set_num_threads(previous)
