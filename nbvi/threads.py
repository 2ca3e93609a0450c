"""How many threads the numba kernels of a fit may use.

The fused kernels (rows kernels, the Stein force, Categorical over many draws) run their loops in parallel
with ``prange``. Starting and joining the threads costs a few microseconds on a quiet machine and up to
milliseconds on a busy one, where a thread waits for a core: below a few hundred thousand elements per call
one thread is faster. A fit knows its work per step, so it decides once, for the whole loop, rather than
every kernel paying for the decision at every call.
"""
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
