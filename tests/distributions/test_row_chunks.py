"""Sets of random rows regrouped by chunk of the array: the sort, when it is used, and the Normal statistics
summed that way against the set-by-set sums."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nbvi.distributions import row_chunks
from nbvi.distributions.normal import normal_column_statistics, normal_set_statistics
from nbvi.distributions.row_chunks import chunk_bits, chunking_pays, pairs_by_chunk
from nbvi.threads import threads_for


@given(st.integers(1, 20), st.integers(1, 40), st.integers(1, 300), st.integers(0, 6), st.integers(0, 2**31))
def test_pairs_by_chunk_is_a_stable_sort_by_chunk(n_sets, n_rows, n_data, bits, seed):
    rows = np.random.default_rng(seed).integers(0, n_data, (n_sets, n_rows))
    n_chunks = ((n_data - 1) >> bits) + 1
    start, row_of, set_of = pairs_by_chunk(rows, bits, n_chunks)
    # the expected order: by chunk, then set, then position in the set
    s, i = np.divmod(np.arange(rows.size), n_rows)
    order = np.lexsort((i, s, rows.ravel() >> bits))
    np.testing.assert_array_equal(row_of, rows.ravel()[order])
    np.testing.assert_array_equal(set_of, s[order])
    np.testing.assert_array_equal(start, np.searchsorted(rows.ravel()[order] >> bits, np.arange(n_chunks + 1)))


@pytest.mark.parametrize("n_sets", [3, 37])
def test_pairs_by_chunk_does_not_depend_on_the_number_of_counting_groups(monkeypatch, n_sets):
    rows = np.random.default_rng(3).integers(0, 1000, (n_sets, 50))
    compiled = pairs_by_chunk(rows, 5, 32)  # min(n_sets, 8) groups
    monkeypatch.setattr(row_chunks, "MAX_GROUPS", 1)  # the plain-Python function reads it at the call
    for a, b in zip(compiled, pairs_by_chunk.py_func(rows, 5, 32)):
        np.testing.assert_array_equal(a, b)


def test_chunk_bits_fit_chunk_bytes():
    assert chunk_bits(100) == 11  # 2048 rows of 800 bytes: 1.6 MB
    assert (1 << chunk_bits(7)) * 7 * 8 <= row_chunks.CHUNK_BYTES < (2 << chunk_bits(7)) * 7 * 8
    assert chunk_bits(10**7) == 0  # rows larger than a chunk: one row per chunk


def test_chunking_pays_for_many_rows_per_chunk_of_a_large_array_only():
    assert chunking_pays(40_000, 500, 100)  # W6: 20 chunks, 25 rows of a batch per chunk
    assert not chunking_pays(40_000, 40_000, 100)  # every row: streams in order anyway
    assert not chunking_pays(10_000_000, 500, 100)  # a batch has 0.1 rows per chunk
    assert not chunking_pays(10_000, 100, 10)  # 0.6 chunks: stays in the cache, summed set by set
    assert not chunking_pays(5000, 50, 50)
    assert not chunking_pays(100, 0, 3)


def use_small_chunks(monkeypatch, n_data, n_cols):
    """Chunks of at most an eighth of the array (a power of two of rows), so that small arrays take the
    chunked path when their sets are long enough."""
    rows_per_chunk = 1 << ((n_data // row_chunks.MIN_CHUNKS).bit_length() - 1)
    monkeypatch.setattr(row_chunks, "CHUNK_BYTES", rows_per_chunk * n_cols * 8)


@pytest.mark.parametrize("n_data, n_cols, n_sets, n_rows", [(40_000, 100, 16, 500), (3000, 3, 7, 300),
                                                            (100_000, 1, 3, 2000), (1000, 60, 5, 900)])
def test_chunked_statistics_match_the_set_by_set_ones(monkeypatch, n_data, n_cols, n_sets, n_rows):
    use_small_chunks(monkeypatch, n_data, n_cols)
    rng = np.random.default_rng(n_cols)
    data = rng.normal(size=(n_data, n_cols)) * 3.0 + 1e4  # far from 0: the shift matters
    rows = rng.integers(0, n_data, (n_sets, n_rows))
    assert chunking_pays(n_data, n_rows, n_cols)
    chunked = normal_column_statistics(data, rows)
    by_set = normal_set_statistics(data, rows)
    np.testing.assert_allclose(chunked[:, 0], by_set[:, 0], rtol=1e-14)
    np.testing.assert_allclose(chunked[:, 1], by_set[:, 1], rtol=1e-10)
    batch = data[rows[1]]
    np.testing.assert_allclose(chunked[1, 0], batch.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(chunked[1, 1], ((batch - batch.mean(axis=0)) ** 2).sum(axis=0), rtol=1e-9)


def sets_of_rows(monkeypatch, chunked, n_sets, seed):
    """A 20,000 x 10 array and ``n_sets`` sets of 400 of its rows, summed by chunk or set by set."""
    if chunked:
        use_small_chunks(monkeypatch, 20_000, 10)
    rng = np.random.default_rng(seed)
    assert chunking_pays(20_000, 400, 10) == chunked
    return rng.normal(size=(20_000, 10)), rng.integers(0, 20_000, (n_sets, 400))


@pytest.mark.parametrize("chunked", [True, False])
def test_a_set_gets_the_same_statistics_whatever_sets_come_with_it(monkeypatch, chunked):
    data, rows = sets_of_rows(monkeypatch, chunked, 9, seed=5)
    together = normal_column_statistics(data, rows)
    for s in (0, 4, 8):
        np.testing.assert_array_equal(normal_column_statistics(data, rows[s:s + 1])[0], together[s])
        np.testing.assert_array_equal(normal_column_statistics(data, rows[s:])[0], together[s])


@pytest.mark.parametrize("chunked", [True, False])
def test_statistics_do_not_depend_on_the_number_of_threads(monkeypatch, chunked):
    data, rows = sets_of_rows(monkeypatch, chunked, 33, seed=6)
    both = normal_column_statistics(data, rows)
    with threads_for(0):  # one thread
        one = normal_column_statistics(data, rows)
    np.testing.assert_array_equal(one, both)


def test_chunked_statistics_of_integer_data(monkeypatch):
    use_small_chunks(monkeypatch, 5000, 4)
    rng = np.random.default_rng(2)
    data = rng.integers(-50, 50, (5000, 4))
    rows = rng.integers(0, 5000, (3, 1000))
    assert chunking_pays(5000, 1000, 4, data.itemsize)
    stats = normal_column_statistics(data, rows)
    batch = data[rows[2]].astype(float)
    np.testing.assert_allclose(stats[2, 0], batch.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(stats[2, 1], ((batch - batch.mean(axis=0)) ** 2).sum(axis=0), rtol=1e-12)
