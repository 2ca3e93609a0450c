"""Many sets of random rows of a large array, regrouped by where the rows lie in it.

A block of upcoming minibatches is S sets of R rows drawn at random from an (N, C) array. Summing them set
by set reads S R rows from main memory in random order (W6: 128,000 rows of 800 bytes per block of 256
steps, 100 MB from a 32 MB array), and the processor waits on every row. Sorted by *chunk* (a power of
two of consecutive rows, about 2 MB), the same sums read each chunk while it is in the cache: one pass over
the parts of the array the block uses, for every set at once (the measurements are in docs/benchmarks.md).

:func:`pairs_by_chunk` is the sort: a counting sort of the pairs (set s, row) by chunk, stable, so that
within a chunk the pairs keep the order of s, then of the rows within the set. The order does not depend on
the number of threads, so sums taken in it are the same on every machine.
"""
import numpy as np
from numba import njit, prange

CHUNK_BYTES = 2**21  # chunks of at most this many bytes of data (L2 / L3 sized; 2048 rows of 100 float64)
ROWS_PER_RUN = 8  # chunking pays when a set has about this many rows per chunk (a set's rows are read 8 at once)
MIN_CHUNKS = 8  # and when the array spans this many chunks (a smaller one stays in the cache anyway)
MAX_GROUPS = 8  # the sort counts in parallel over at most this many groups of sets


def chunk_bits(n_cols, itemsize=8):
    """log2 of the rows per chunk for rows of ``n_cols`` items: the largest power of two of rows that fits in
    CHUNK_BYTES (at least one row)."""
    rows = max(1, CHUNK_BYTES // max(1, n_cols * itemsize))
    return rows.bit_length() - 1


def chunking_pays(n_data, n_rows, n_cols, itemsize=8):
    """Whether sets of ``n_rows`` random rows of an (n_data, n_cols) array are better summed by chunk: the
    array spans at least MIN_CHUNKS chunks (a smaller one stays in the cache, and summing set by set runs
    on every thread: 10,000 x 10, one chunk, took 2 - 3 times as long by chunk), a set has at least
    ROWS_PER_RUN rows in a chunk on average, and is not the whole array (which streams in order anyway)."""
    bits = chunk_bits(n_cols, itemsize)
    return (0 < n_rows < n_data and n_data >= MIN_CHUNKS << bits
            and n_rows << bits >= ROWS_PER_RUN * n_data)


@njit(cache=True, parallel={"numpy": False})
def pairs_by_chunk(rows, bits, n_chunks):
    """The pairs (set s, rows[s, i]) of rows int64 (S, R) sorted by chunk ``rows[s, i] >> bits``.

    Returns
    -------
    start : int64 (n_chunks + 1,)
        The pairs of chunk c are ``start[c]:start[c + 1]``.
    row_of, set_of : int64 (S R,)
        Each pair's row and set; within a chunk in order of s, then i (a stable sort).
    """
    n_sets, n_rows = rows.shape
    groups = max(1, min(n_sets, MAX_GROUPS))
    counts = np.zeros((groups, n_chunks), dtype=np.int64)
    for g in prange(groups):  # each group of sets counts its pairs per chunk
        for s in range(n_sets * g // groups, n_sets * (g + 1) // groups):
            for i in range(n_rows):
                counts[g, rows[s, i] >> bits] += 1
    start = np.empty(n_chunks + 1, dtype=np.int64)
    place = np.empty((groups, n_chunks), dtype=np.int64)  # where group g writes its next pair of chunk c
    total = 0
    for c in range(n_chunks):  # chunk by chunk, and within a chunk group by group: the order of s
        start[c] = total
        for g in range(groups):
            place[g, c] = total
            total += counts[g, c]
    start[n_chunks] = total
    row_of = np.empty(n_sets * n_rows, dtype=np.int64)
    set_of = np.empty(n_sets * n_rows, dtype=np.int64)
    for g in prange(groups):
        for s in range(n_sets * g // groups, n_sets * (g + 1) // groups):
            for i in range(n_rows):
                r = rows[s, i]
                c = r >> bits
                k = place[g, c]
                row_of[k] = r
                set_of[k] = s
                place[g, c] = k + 1
    return start, row_of, set_of
