"""Normal(mu, sigma): the Gaussian, and the template every scalar family follows.

log p(x | mu, sigma) = -(x - mu)^2 / (2 sigma^2) - log sigma - log(2 pi) / 2
"""
import math

import numpy as np
from numba import njit, prange

from nbvi.distributions.distribution import Distribution, require, resolve_sigma
from nbvi.distributions.family import ScalarFamily
from nbvi.distributions.layout import at, row_blocks, spot
from nbvi.distributions.row_chunks import chunk_bits, chunking_pays, pairs_by_chunk

COMPILED_SOURCES_DIGEST = "0868908fa0c45f77"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache

HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@njit(cache=True)
def normal_logp_grad(x, mu, sigma):
    """log N(x | mu, sigma) and its partial derivatives with respect to x, mu and sigma."""
    if sigma <= 0.0:
        return -np.inf, 0.0, 0.0, 0.0
    z = (x - mu) / sigma
    logp = -0.5 * z * z - math.log(sigma) - HALF_LOG_2PI
    d_x = -z / sigma  # d/dx = -(x - mu) / sigma^2
    d_mu = z / sigma  # d/dmu = (x - mu) / sigma^2
    d_sigma = (z * z - 1.0) / sigma  # d/dsigma = (x - mu)^2 / sigma^3 - 1 / sigma
    return logp, d_x, d_mu, d_sigma


NORMAL = ScalarFamily("normal", normal_logp_grad, params=("mu", "sigma"))


@njit(cache=True)
def normal_row_sums(data, rows, lo, hi, shift, sums):
    """Add, over the rows ``rows[lo:hi]`` of ``data`` (N, C), the sums of y = x - shift and of y^2 per column
    into ``sums`` (2, C).

    Memory decides the loop. Consecutive rows (full data) stream best one row at a time. Rows drawn at
    random from a large array (a minibatch) come one by one from main memory, so eight are read per pass to
    keep eight in flight (docs/benchmarks.md has the measurements that chose this).
    """
    n_cols = data.shape[1]
    s1 = np.zeros(n_cols)  # local accumulators: the compiler knows they alias nothing
    s2 = np.zeros(n_cols)
    i = lo
    if hi > lo and rows[hi - 1] - rows[lo] == hi - 1 - lo:  # (also true of some shuffled blocks: still correct)
        for i in range(lo, hi):
            a = data[rows[i]]
            for j in range(n_cols):
                y = a[j] - shift[j]
                s1[j] += y
                s2[j] += y * y
        i = hi
    while i + 8 <= hi:
        a0, a1, a2, a3 = data[rows[i]], data[rows[i + 1]], data[rows[i + 2]], data[rows[i + 3]]
        a4, a5, a6, a7 = data[rows[i + 4]], data[rows[i + 5]], data[rows[i + 6]], data[rows[i + 7]]
        for j in range(n_cols):
            k = shift[j]
            y0, y1, y2, y3 = a0[j] - k, a1[j] - k, a2[j] - k, a3[j] - k
            y4, y5, y6, y7 = a4[j] - k, a5[j] - k, a6[j] - k, a7[j] - k
            s1[j] += ((y0 + y1) + (y2 + y3)) + ((y4 + y5) + (y6 + y7))
            s2[j] += ((y0 * y0 + y1 * y1) + (y2 * y2 + y3 * y3)) + ((y4 * y4 + y5 * y5) + (y6 * y6 + y7 * y7))
        i += 8
    while i < hi:
        a = data[rows[i]]
        for j in range(n_cols):
            y = a[j] - shift[j]
            s1[j] += y
            s2[j] += y * y
        i += 1
    for j in range(n_cols):
        sums[0, j] += s1[j]
        sums[1, j] += s2[j]


@njit(cache=True, parallel={"numpy": False})  # threads for the prange loop only: compiles ~2x faster
def normal_rows_kernel(data, rows, mu, sigma):
    """Fused kernel for the observed rows ``data[rows]`` (data (N, C), rows int64 (R,)) with parameters
    (D_i, C_i) shared by all rows; the rows are read in place (a minibatch is never copied out).

    The Normal log-likelihood depends on the data only through two sums per column, so one parallel pass
    over blocks of rows collects A_j = sum_i y_ij and Q_j = sum_i y_ij^2 of the shifted values
    y_ij = x_ij - K_j, with K_j the column's value in the first row (the shift keeps Q free of cancellation),
    each block in its own slot. :func:`normal_from_sums` does the rest in O(D C): the pass over the data is
    the same whatever the number of draws D.

    Returns logp (D,), d logp/d mu (D, C_mu), d logp/d sigma (D, C_sigma).
    """
    n_rows, n_cols = rows.shape[0], data.shape[1]
    shift = data[rows[0]].astype(np.float64) if n_rows else np.zeros(n_cols)  # (integer data too)
    n_blocks = max(1, min(n_rows // 64, 64))  # blocks of at least 64 rows
    bounds = row_blocks(n_rows, n_blocks)
    sums = np.zeros((n_blocks, 2, n_cols))
    for b in prange(n_blocks):
        normal_row_sums(data, rows, bounds[b], bounds[b + 1], shift, sums[b])
    return normal_from_sums(sums, shift, n_rows, mu, sigma)


# error_model="numpy": a sigma whose square underflows to 0 gives inf (then logp -inf), not ZeroDivisionError
@njit(cache=True, error_model="numpy")
def normal_column_logp_grad(mean, spread, n_rows, mu, sigma):
    """log-likelihood of one column of R rows with mean c and sum of squared deviations V, and its partial
    derivatives with respect to mu and sigma (-inf and zeros for sigma <= 0).

    The sum of squared z-scores is S2 = (V + R (c - mu)^2) / sigma^2 and the sum of z-scores
    S1 = R (c - mu) / sigma:

        logp       = -S2 / 2 - R log sigma - R log(2 pi) / 2
        d/dmu      = S1 / sigma = R (c - mu) / sigma^2
        d/dsigma   = (S2 - R) / sigma
    """
    if not sigma > 0.0:
        return -np.inf, 0.0, 0.0
    gap = mean - mu
    inv_var = 1.0 / (sigma * sigma)
    s2 = (spread + n_rows * gap * gap) * inv_var
    logp = -0.5 * s2 - n_rows * (math.log(sigma) + HALF_LOG_2PI)
    if logp == -np.inf:  # sigma^2 underflowed: no gradient, as for sigma <= 0 (not inf or NaN)
        return -np.inf, 0.0, 0.0
    return logp, n_rows * gap * inv_var, (s2 - n_rows) / sigma


@njit(cache=True)
def normal_from_sums(sums, shift, n_rows, mu, sigma):
    """logp (D,) and the gradients for mu and sigma from the block sums of :func:`normal_rows_kernel`.

    With A_j, Q_j the sums of the shifted values and their squares, the column mean is c_j = K_j + A_j / R
    and the sum of squared deviations V_j = Q_j - A_j^2 / R; :func:`normal_column_logp_grad` does the rest.
    A draw with some sigma_j <= 0 gets logp -inf and zero gradients.
    """
    n_cols = sums.shape[2]
    draws = max(mu.shape[0], sigma.shape[0])
    mean = np.empty(n_cols)
    spread = np.empty(n_cols)
    for j in range(n_cols):
        a = sums[:, 0, j].sum()
        mean[j] = shift[j] + (a / n_rows if n_rows else 0.0)
        spread[j] = max(sums[:, 1, j].sum() - (a * a / n_rows if n_rows else 0.0), 0.0)
    logp = np.zeros(draws)
    g_mu = np.zeros((draws, mu.shape[1]))
    g_sigma = np.zeros((draws, sigma.shape[1]))
    for d in range(draws):
        for j in range(n_cols):
            lp, dmu, dsigma = normal_column_logp_grad(mean[j], spread[j], n_rows, at(mu, d, j), at(sigma, d, j))
            if lp == -np.inf:
                logp[d] = -np.inf
                g_mu[d, :] = 0.0
                g_sigma[d, :] = 0.0
                break
            logp[d] += lp
            g_mu[d, spot(mu, j)] += dmu
            g_sigma[d, spot(sigma, j)] += dsigma
    return logp, g_mu, g_sigma


def normal_column_statistics(data, rows):
    """For each of S sets of rows (rows int64 (S, R), indexes into data (N, C)), the column means and sums
    of squared deviations: out (S, 2, C) with out[s, 0] = c and out[s, 1] = V.

    Computed ahead for a block of upcoming minibatches (each row of ``rows`` one step's batch), in one
    parallel call long enough to pay for its threads; or once for all rows of full data (S = 1). Sets of
    many random rows of a large array are summed by chunk of the array (:func:`normal_chunk_statistics`,
    see :mod:`nbvi.distributions.row_chunks`), others set by set (:func:`normal_set_statistics`). The
    choice depends on the shapes only, and each set's values are shifted by its first row's (as in
    :func:`normal_rows_kernel`), so a set gets the same numbers whichever other sets come with it.
    """
    n_data, n_cols = data.shape
    n_rows = rows.shape[1]
    if chunking_pays(n_data, n_rows, n_cols, data.itemsize):
        bits = chunk_bits(n_cols, data.itemsize)
        n_chunks = ((n_data - 1) >> bits) + 1
        return normal_chunk_statistics(data, rows, *pairs_by_chunk(rows, bits, n_chunks), min(n_chunks, CHUNK_PARTS))
    return normal_set_statistics(data, rows)


@njit(cache=True)
def set_shifts(data, rows):
    """The first row of each set, (S, C) float64 (zeros for empty sets): the shift that keeps the sums of
    squares free of cancellation (integer data too)."""
    shifts = np.zeros((rows.shape[0], data.shape[1]))
    if rows.shape[1]:
        for s in range(rows.shape[0]):
            shifts[s] = data[rows[s, 0]]
    return shifts


CHUNK_PARTS = 4  # the chunks are summed in this many parts, in parallel, each into its own sums


@njit(cache=True, parallel={"numpy": False})
def normal_chunk_statistics(data, rows, start, row_of, set_of, n_parts):
    """:func:`normal_column_statistics` from the pairs (set, row) sorted by chunk of data rows
    (:func:`~nbvi.distributions.row_chunks.pairs_by_chunk`: ``start`` (n_chunks + 1,), ``row_of``, ``set_of``).

    The chunks are cut into ``n_parts`` parts of consecutive chunks, summed in parallel, each into its own
    (S, 2, C) sums; within a chunk, each set's run of rows is summed by :func:`normal_row_sums`. A set's
    sums are thus taken in an order fixed by its own rows and the data's shape: part by part, chunk by
    chunk, its rows in the order drawn.
    """
    n_sets, n_rows = rows.shape
    n_cols = data.shape[1]
    n_chunks = start.shape[0] - 1
    shift = set_shifts(data, rows)
    sums = np.zeros((n_parts, n_sets, 2, n_cols))
    for part in prange(n_parts):
        for c in range(n_chunks * part // n_parts, n_chunks * (part + 1) // n_parts):
            i = start[c]
            while i < start[c + 1]:  # the run of set s's rows in chunk c
                s = set_of[i]
                end = i + 1
                while end < start[c + 1] and set_of[end] == s:
                    end += 1
                normal_row_sums(data, row_of, i, end, shift[s], sums[part, s])
                i = end
    out = np.empty((n_sets, 2, n_cols))
    for s in prange(n_sets):
        for j in range(n_cols):
            a = 0.0
            q = 0.0
            for part in range(n_parts):
                a += sums[part, s, 0, j]
                q += sums[part, s, 1, j]
            out[s, 0, j] = shift[s, j] + a / n_rows
            out[s, 1, j] = max(q - a * a / n_rows, 0.0)
    return out


@njit(cache=True, parallel={"numpy": False})
def normal_set_statistics(data, rows):
    """:func:`normal_column_statistics` set by set: each set is cut into blocks of at least 256 rows so that
    one long set (full data) also runs in parallel. With one block per set (a minibatch) the sums are
    turned into the statistics in place: no (S, 2, C) temporary besides the result.
    """
    n_sets, n_rows = rows.shape
    n_cols = data.shape[1]
    n_blocks = max(1, min(n_rows // 256, 64))
    bounds = row_blocks(n_rows, n_blocks)
    shift = set_shifts(data, rows)
    sums = np.zeros((n_sets * n_blocks, 2, n_cols))
    for task in prange(n_sets * n_blocks):
        s, b = task // n_blocks, task % n_blocks
        normal_row_sums(data, rows[s], bounds[b], bounds[b + 1], shift[s], sums[task])
    out = sums if n_blocks == 1 else np.zeros((n_sets, 2, n_cols))
    for s in range(n_sets):
        for j in range(n_cols):
            a = 0.0
            q = 0.0
            for b in range(n_blocks):
                a += sums[s * n_blocks + b, 0, j]
                q += sums[s * n_blocks + b, 1, j]
            out[s, 0, j] = shift[s, j] + (a / n_rows if n_rows else 0.0)
            out[s, 1, j] = max(q - (a * a / n_rows if n_rows else 0.0), 0.0)
    return out


class Normal(Distribution):
    """Normal distribution with mean ``mu`` and standard deviation ``sigma`` (alias ``sd``) or precision ``tau``.

    Parameters
    ----------
    mu : float, array or node
    sigma : float, array or node, > 0
    """

    params = ("mu", "sigma")
    support = "real"
    family = NORMAL
    rows_kernel = staticmethod(normal_rows_kernel)

    def __init__(self, mu=0.0, sigma=None, sd=None, tau=None):
        self.set_params(mu=mu, sigma=resolve_sigma(sigma, sd, tau, default=1.0, family=self.describe()))

    def check(self, mu, sigma):
        require(sigma > 0, f"sigma must be > 0, got {sigma}")

    def moment(self, mu, sigma):
        return mu

    def sample(self, rng, size, mu, sigma):
        return rng.normal(mu, sigma, size=size)
