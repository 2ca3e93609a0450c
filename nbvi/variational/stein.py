"""Stein variational gradient descent (SVGD), as PyMC3's ``SVGD`` does it.

Liu & Wang (2016), "Stein Variational Gradient Descent: A General Purpose Bayesian Inference Algorithm",
NeurIPS, eq. (8) and Algorithm 1. A set of n particles x_1..x_n is moved along the direction that
decreases KL(q || p) fastest within the unit ball of an RBF kernel's RKHS:

    phi(x_i) = (1/n) sum_j [ k(x_j, x_i) grad log p(x_j) / T  +  grad_{x_j} k(x_j, x_i) ]      (eq. 8)
    x_i <- x_i + eps * phi(x_i)

The first term drives the particles toward high density (the kernel smooths the gradients); the second
pushes them apart so that they do not all collapse onto the mode. T is PyMC3's ``temperature``: it
divides the driving term only, so T > 1 gives a wider cloud (the target becomes p^(1/T)).

Kernel and bandwidth follow PyMC3 (``pymc3/variational/test_functions.py``, class ``RBF``) exactly:

    H_ij = ||x_i - x_j||^2                       (all n^2 entries, diagonal zeros included)
    med  = median of the n^2 entries of H         (mean of the two middle ones when n^2 is even)
    h    = 0.5 * med / log(n + 1)
    k(x, y) = exp(-||x - y||^2 / (2 h))
    grad_{x_j} k(x_j, x_i) = k(x_j, x_i) (x_i - x_j) / h

So in the form k = exp(-||x - y||^2 / h') of the paper, h' = 2 h = med / log(n + 1) (Liu & Wang's own
code writes h_theirs = sqrt(h), k = exp(-r^2 / (2 h_theirs^2)): the same kernel).
PyMC3's ``Stein.grad`` is ``(K @ dlogp / temperature + dxkxy) / n`` and its ``KSD`` operator hands the
optimizer ``-grad``, so the optimizer, which descends, moves the particles by +phi; ``svgd_step`` does
the same.

Degenerate bandwidth. PyMC3 does not guard h = 0 (one particle, identical particles, or more than half
of H zero): ``exp(-H / h / 2)`` is then 0/0 = NaN on the diagonal. Here h = 0 means the limit h -> 0+:
k(x, y) = 1 if x == y exactly and 0 otherwise, and the repulsive term is 0 (it is k (x_i - x_j) / h,
which tends to 0 both for x_j == x_i and for x_j != x_i). Identical particles therefore all move with
the mean of their gradients, and a single particle follows grad log p / T, as it does for any h.
"""
import math

import numba
import numpy as np
from numba import njit, prange

from nbvi.numerics import EXP_MIN_ARG, exp_in_range

COMPILED_SOURCES_DIGEST = "0868908fa0c45f77"  # of the njit sources compiled into this module's kernels: nbvi.numba_cache

__all__ = ["median_bandwidth", "median_sq_distance", "stein_force", "stein_force_rows", "svgd_direction",
           "svgd_step"]


@njit(cache=True)
def _pairwise_sq_dists(x, out):
    """Write ||x_i - x_j||^2 for all pairs i < j into ``out`` (n(n-1)/2,), row-major upper triangle."""
    n, d = x.shape
    for i in range(n):
        offset = i * (2 * n - i - 1) // 2 - i - 1  # out index of pair (i, j) is offset + j
        for j in range(i + 1, n):
            s = 0.0
            for k in range(d):
                t = x[i, k] - x[j, k]
                s += t * t
            out[offset + j] = s


@njit(cache=True)
def _pairs_within(xs, t):
    """Number of pairs i < j of sorted ``xs`` with xs[j] - xs[i] <= t (two pointers, O(n))."""
    count = 0
    i = 0
    for j in range(xs.size):
        while i < j and xs[j] - xs[i] > t:
            i += 1
        count += j - i
    return count


BAND_LIMIT = 64  # the 1-D selection ends by sorting a band of at most about this many gaps


@njit(cache=True)
def _pair_gap_ranks(xs, r1, r2):
    """The r1-th and r2-th smallest (0-based, r1 <= r2) of the n(n-1)/2 gaps xs[j] - xs[i], i < j, of sorted
    ``xs``; exact.

    Bisection on a value t, with the O(n) count of gaps <= t, narrows the answer to a band (low, high]
    holding both ranks and at most about BAND_LIMIT gaps (fewer halvings than bisecting to the last ulp);
    the band's gaps are then collected, sorted, and the two read off. O(n log) time, no n^2 memory.
    """
    n = xs.size
    low, high = -1.0, xs[-1] - xs[0]  # every gap is in (low, high]
    below, within = 0, n * (n - 1) // 2  # gaps <= low, gaps <= high
    interpolate = True
    while within - below > BAND_LIMIT:
        base = max(low, 0.0)
        if interpolate:  # where the ranks would sit were the band's gaps evenly spread (regula falsi)
            fraction = (r1 + 1.0 - below) / (within - below)
            middle = base + (high - base) * min(max(fraction, 0.01), 0.99)
        else:
            middle = 0.5 * (base + high)
        if middle <= low or middle >= high:
            break
        count = _pairs_within(xs, middle)
        band = within - below
        if count > r2:
            high, within = middle, count
        elif count <= r1:
            low, below = middle, count
        else:  # count = r1 + 1 = r2: gap r1 is the largest <= middle, gap r2 the smallest above it
            return _gaps_beside(xs, middle)
        # after an interpolation that kept more than half the band (unevenly spread gaps), bisect once:
        # the band at least halves every two counts
        interpolate = not interpolate or 2 * (within - below) <= band
    band = np.empty(within - below)
    m = 0
    i_high = 0  # the first i with xs[j] - xs[i] <= high
    for j in range(n):
        while i_high < j and xs[j] - xs[i_high] > high:
            i_high += 1
        i = i_high
        while i < j and xs[j] - xs[i] > low:
            band[m] = xs[j] - xs[i]
            m += 1
            i += 1
    band.sort()
    return band[r1 - below], band[r2 - below]


@njit(cache=True)
def _gaps_beside(xs, t):
    """(the largest gap <= t, the smallest gap > t) of sorted ``xs``, in one two-pointer pass: for each j the
    gaps xs[j] - xs[i] fall as i rises, so the first i with a gap <= t gives j's largest gap <= t and the
    i before it j's smallest gap > t."""
    below, above = -np.inf, np.inf
    i = 0
    for j in range(xs.size):
        while i < j and xs[j] - xs[i] > t:
            i += 1
        if i < j:
            below = max(below, xs[j] - xs[i])
        if i > 0:
            above = min(above, xs[j] - xs[i - 1])
    return below, above


@njit(cache=True)
def _order_statistics(values, r1, r2):
    """The r1-th and r2-th smallest (0-based, r2 = r1 or r1 + 1) of ``values`` (m,), reordered in place.

    numpy's ``partition`` (introselect, vectorised on x86) for rank r1 from compiled code, then the
    smallest value after it: numba's own ``np.partition`` and sort are several times slower on the
    ~10^5 - 10^6 pair distances of an SVGD step, and numpy's partition at two ranks at once is too.
    """
    with numba.objmode(low="float64"):
        values.partition(r1)  # rank r1 at index r1, larger values after it
        low = float(values[r1])
    high = low
    if r2 > r1:
        high = values[r1 + 1]
        for t in range(r1 + 2, values.size):
            high = min(high, values[t])
    return low, high


@njit(cache=True)
def median_sq_distance(x):
    """The median of the n^2 squared distances H_ij = ||x_i - x_j||^2 of the rows of ``x`` (n, d), n >= 1.

    Sorted, the n^2 entries are n zeros followed by each of the m = n(n-1)/2 pair distances twice, so the
    median (the mean of the two middle entries when n^2 is even) is read off one or two order statistics
    of the m pair distances: in 1-D by selection on the sorted values (``_pair_gap_ranks``, no pair array),
    otherwise by numpy's partition of the pair distances (``_pairwise_sq_dists``, ``_order_statistics``).
    """
    n, d = x.shape
    size = n * n
    middle_low = size // 2 - 1 if size % 2 == 0 else size // 2
    middle_high = size // 2  # both >= n for n >= 3
    if n == 1:
        return 0.0
    if n == 2:  # sorted: 0, 0, s, s
        s = 0.0
        for k in range(d):
            s += (x[0, k] - x[1, k]) ** 2
        return 0.5 * s
    r1, r2 = (middle_low - n) // 2, (middle_high - n) // 2  # sorted entry k >= n: the ((k - n) // 2)-th pair
    if d == 1:
        xs = np.empty(n)
        with numba.objmode():  # numpy's sort: numba's own is several times slower
            xs[:] = np.sort(x[:, 0])
        g1, g2 = _pair_gap_ranks(xs, r1, r2)
        a, b = g1 * g1, g2 * g2  # squaring keeps the order of the gaps
    else:
        pairs = np.empty(n * (n - 1) // 2)
        _pairwise_sq_dists(x, pairs)
        a, b = _order_statistics(pairs, r1, r2)
    return 0.5 * (a + b) if size % 2 == 0 else a


def _as_particles(particles, name="particles"):
    """Validate an (n, d) particle array and return it as C-contiguous float64 (one numba signature)."""
    x = np.ascontiguousarray(particles, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"{name} must be a 2-D array (n_particles >= 1, dim); got shape {np.shape(particles)}")
    return x


def median_bandwidth(particles):
    """PyMC3's median-heuristic bandwidth h = 0.5 * median(H) / log(n + 1).

    H is the full n x n matrix of squared distances H_ij = ||x_i - x_j||^2, diagonal zeros and both
    copies of every pair included, as PyMC3's ``RBF`` kernel takes it; with k = exp(-r^2 / (2 h)) this
    is Liu & Wang's (2016, Sec. 5) choice h' = med / log n with n + 1 in place of n.

    Sorted, the n^2 entries are n zeros followed by each of the m = n(n-1)/2 pair distances twice, so
    the median is read off one or two order statistics of the m pair distances, selected exactly by a
    compiled kernel (``median_sq_distance``): O(n^2 d) time, O(n^2) memory, no n x n x d temporary; for
    1-D particles O(n log n) time and no pair array.

    Parameters
    ----------
    particles : array_like, shape (n, d)

    Returns
    -------
    float
        h >= 0; 0 when the median squared distance is 0 (n = 1, identical particles, or more than half
        of the n^2 entries zero): see the module docstring for how ``stein_force`` treats h = 0.
    """
    x = _as_particles(particles)
    return 0.5 * median_sq_distance(x) / math.log(x.shape[0] + 1.0)


@njit(cache=True, fastmath={"reassoc", "contract"})
def _stein_block(xt, gt, block, blocks, h, inv_temperature, part, kernel_row, scratch):
    """Add the Stein terms of the pairs (i, j >= i) for the rows i = block, block + blocks, ... into ``part``.

    The kernel is symmetric, k_ij = k_ji, so each pair's kernel value is computed once and feeds both rows:

        row i gets k_ij (g_j / T + (x_i - x_j) / h),   row j gets k_ij (g_i / T + (x_j - x_i) / h),

    and the diagonal adds g_i / T (k_ii = 1, no repulsion). Rows are dealt out round-robin so that each
    block gets a fair share of the triangle. ``xt``, ``gt`` are (d, n) so every inner loop runs over
    contiguous j; ``part`` (d, n) is this block's own accumulator (zeros on entry). h <= 0 is the limit
    h -> 0+ (k_ij = 1 for x_j == x_i, else 0; no repulsion). fastmath only reassociates sums and fuses
    multiply-adds: NaN and infinities keep their meaning.
    """
    d, n = xt.shape
    inv_h = 1.0 / h if h > 0.0 else 0.0
    half_inv_h = 0.5 * inv_h
    for i in range(block, n, blocks):
        m = n - i - 1  # the pairs (i, j) with j > i
        row = kernel_row[:m]
        for j in range(m):
            row[j] = 0.0
        for k in range(d):  # squared distances ||x_i - x_j||^2, one coordinate at a time
            xik = xt[k, i]
            xk = xt[k, i + 1:]
            for j in range(m):
                t = xik - xk[j]
                row[j] += t * t
        if h > 0.0:  # k_ij = exp(-||x_i - x_j||^2 / (2 h)), clamped at exp(-708) ~ 3e-308 (one vectorised loop)
            kernel = scratch[:m]
            for j in range(m):
                kernel[j] = exp_in_range(max(row[j] * -half_inv_h, EXP_MIN_ARG))
            row = kernel
        else:
            for j in range(m):
                row[j] = 1.0 if row[j] == 0.0 else 0.0
        for k in range(d):
            xik = xt[k, i]
            gik = gt[k, i] * inv_temperature
            xk = xt[k, i + 1:]
            gk = gt[k, i + 1:]
            acc = gik  # the diagonal term
            for j in range(m):  # row i: driving term k g_j / T + repulsion k (x_i - x_j) / h
                acc += row[j] * (gk[j] * inv_temperature + (xik - xk[j]) * inv_h)
            target = part[k, i + 1:]
            for j in range(m):  # rows j: the same pairs seen from the other side
                target[j] += row[j] * (gik + (xk[j] - xik) * inv_h)
            part[k, i] += acc


ROW_BLOCKS = 32  # row sets handed to threads; fixed, so results do not depend on the thread count


@njit(cache=True)
def _sum_blocks(parts, out):
    """out[i, k] = (1/n) sum_b parts[b, k, i], the blocks summed in a fixed order."""
    blocks, d, n = parts.shape
    for i in range(n):
        for k in range(d):
            total = 0.0
            for b in range(blocks):
                total += parts[b, k, i]
            out[i, k] = total / n


@njit(cache=True, parallel=True)
def _stein_force_kernel(xt, gt, h, inv_temperature, out):
    """All rows of phi, the row sets in parallel: n(n-1)/2 kernel values, O(blocks n d) memory.
    ``xt``, ``gt``: particles and gradients transposed, (d, n)."""
    d, n = xt.shape
    blocks = min(n, ROW_BLOCKS)
    parts = np.zeros((blocks, d, n))
    for b in prange(blocks):
        _stein_block(xt, gt, b, blocks, h, inv_temperature, parts[b], np.empty(n), np.empty(n))
    _sum_blocks(parts, out)


@njit(cache=True)
def _stein_force_serial(xt, gt, h, inv_temperature, out):
    """The same row sets one after the other (small problems; bitwise equal to the parallel kernel)."""
    d, n = xt.shape
    blocks = min(n, ROW_BLOCKS)
    parts = np.zeros((blocks, d, n))
    kernel_row = np.empty(n)
    scratch = np.empty(n)
    for b in range(blocks):
        _stein_block(xt, gt, b, blocks, h, inv_temperature, parts[b], kernel_row, scratch)
    _sum_blocks(parts, out)


# Below about a millisecond of work, starting threads costs more than it saves (much more on a busy
# machine), so stein_force runs the serial loop; each row's arithmetic is the same either way.
PARALLEL_MIN_WORK = 2**18  # n * n * (d + 4)

@njit(cache=True)
def svgd_direction(x, g, inv_temperature, xt, gt, out):
    """-phi for a descending optimizer, in one compiled call: the median bandwidth of the particles ``x``
    (n, d), then the Stein force with the scores ``g`` (n, d) (``median_bandwidth`` and ``stein_force``
    with the same numbers). ``xt``, ``gt`` (d, n) are work arrays; ``out`` (n, d) receives -phi.
    Returns the bandwidth h."""
    n, d = x.shape
    h = 0.5 * median_sq_distance(x) / math.log(n + 1.0)
    for i in range(n):
        for k in range(d):
            xt[k, i] = x[i, k]
            gt[k, i] = g[i, k]
    if n * n * (d + 4) >= PARALLEL_MIN_WORK:
        _stein_force_kernel(xt, gt, h, inv_temperature, out)
    else:
        _stein_force_serial(xt, gt, h, inv_temperature, out)
    for i in range(n):
        for k in range(d):
            out[i, k] = -out[i, k]
    return h


def _force_inputs(particles, grad_logp, h, temperature):
    """The arguments of ``stein_force`` checked: particles and scores as C-contiguous float64 (n, d), h >= 0
    and temperature > 0 as floats; ValueError naming the one that is wrong."""
    x = _as_particles(particles)
    g = np.ascontiguousarray(grad_logp, dtype=np.float64)
    if g.shape != x.shape:
        raise ValueError(f"grad_logp must have the shape of particles {x.shape}; got {g.shape}")
    h = float(h)
    if not h >= 0.0:
        raise ValueError(f"h must be >= 0 (or inf); got {h}")
    temperature = float(temperature)
    if not (temperature > 0.0 and math.isfinite(temperature)):
        raise ValueError(f"temperature must be positive and finite; got {temperature}")
    return x, g, h, temperature


def _output(out, shape):
    """``out`` checked as a writeable C-contiguous float64 array of ``shape``, or a new one when None."""
    if out is None:
        return np.empty(shape)
    if not (isinstance(out, np.ndarray) and out.shape == shape and out.dtype == np.float64
            and out.flags.c_contiguous and out.flags.writeable):
        raise ValueError(f"out must be a writeable C-contiguous float64 array of shape {shape}")
    return out


def stein_force(particles, grad_logp, h, temperature=1.0, out=None):
    """The SVGD direction phi of Liu & Wang (2016), eq. (8), with PyMC3's RBF kernel and temperature.

        phi(x_i) = (1/n) sum_j [ k(x_j, x_i) grad_logp(x_j) / temperature + grad_{x_j} k(x_j, x_i) ]
        k(x, y)  = exp(-||x - y||^2 / (2 h)),   grad_{x_j} k(x_j, x_i) = k(x_j, x_i) (x_i - x_j) / h

    One numba ``prange`` kernel over sets of rows (a serial loop below ``PARALLEL_MIN_WORK``), each
    symmetric kernel value computed once: O(n^2 d) time, O(n d) memory per block (no n x n or
    n x n x d array), results independent of the thread count.

    Parameters
    ----------
    particles : array_like, shape (n, d)
    grad_logp : array_like, shape (n, d)
        grad log p at each particle (as returned by ``model.logp_dlogp``).
    h : float
        Bandwidth in PyMC3's convention (``median_bandwidth``); must be >= 0. h = 0 is the limit
        h -> 0+: each particle feels only the particles that coincide with it, and no repulsion.
    temperature : float
        > 0; divides the driving (density) term only, as in PyMC3's ``Stein.grad``.
    out : ndarray, shape (n, d), float64, C-contiguous, optional
        Written in place and returned; must not alias the inputs.

    Returns
    -------
    ndarray, shape (n, d)
        phi; the ascent direction (x <- x + eps * phi).
    """
    x, g, h, temperature = _force_inputs(particles, grad_logp, h, temperature)
    out = _output(out, x.shape)
    n, d = x.shape
    kernel = _stein_force_kernel if n * n * (d + 4) >= PARALLEL_MIN_WORK else _stein_force_serial
    kernel(np.ascontiguousarray(x.T), np.ascontiguousarray(g.T), h, 1.0 / temperature, out)
    return out


@njit(cache=True, fastmath={"reassoc", "contract"})
def _stein_row(xt, gt, i, h, inv_temperature, out_row, kernel_row, scratch):
    """phi(x_i) * n into ``out_row`` (d,): sum_j k_ij (g_j / T + (x_i - x_j) / h) over all n particles j.

    The row-at-a-time form of ``_stein_block`` (no symmetry: row i alone, against every particle), the same
    kernel values k_ij = exp(-||x_i - x_j||^2 / (2 h)), the same h <= 0 limit (k_ij = 1 for x_j == x_i, else 0;
    no repulsion). ``xt``, ``gt`` are (d, n).
    """
    d, n = xt.shape
    inv_h = 1.0 / h if h > 0.0 else 0.0
    for j in range(n):
        kernel_row[j] = 0.0
    for k in range(d):
        xik = xt[k, i]
        xk = xt[k]
        for j in range(n):
            t = xik - xk[j]
            kernel_row[j] += t * t
    if h > 0.0:
        for j in range(n):
            scratch[j] = exp_in_range(max(kernel_row[j] * (-0.5 * inv_h), EXP_MIN_ARG))
        kernel_row = scratch
    else:
        for j in range(n):
            kernel_row[j] = 1.0 if kernel_row[j] == 0.0 else 0.0
    for k in range(d):
        xik = xt[k, i]
        xk = xt[k]
        gk = gt[k]
        acc = gk[i] * inv_temperature  # the diagonal term (k_ii = 1, no repulsion: also when 1 / h overflows)
        for j in range(i):
            acc += kernel_row[j] * (gk[j] * inv_temperature + (xik - xk[j]) * inv_h)
        for j in range(i + 1, n):
            acc += kernel_row[j] * (gk[j] * inv_temperature + (xik - xk[j]) * inv_h)
        out_row[k] = acc


@njit(cache=True, parallel=True)
def _stein_rows_kernel(xt, gt, start, stop, h, inv_temperature, out):
    """Rows start..stop-1 of phi, in parallel over rows (each row's sum is independent of the threads)."""
    d, n = xt.shape
    for r in prange(stop - start):
        _stein_row(xt, gt, start + r, h, inv_temperature, out[r], np.empty(n), np.empty(n))
        for k in range(d):
            out[r, k] /= n


@njit(cache=True)
def _stein_rows_serial(xt, gt, start, stop, h, inv_temperature, out):
    """The same rows one after the other (small problems; bitwise equal to the parallel kernel)."""
    d, n = xt.shape
    kernel_row = np.empty(n)
    scratch = np.empty(n)
    for r in range(stop - start):
        _stein_row(xt, gt, start + r, h, inv_temperature, out[r], kernel_row, scratch)
        for k in range(d):
            out[r, k] /= n


def stein_force_rows(particles, grad_logp, h, start, stop, temperature=1.0, out=None):
    """Rows ``start:stop`` of ``stein_force(particles, grad_logp, h, temperature)``: phi(x_i) for the particles
    i in [start, stop), each against all n particles (Liu & Wang 2016, eq. 8; the same kernel and h = 0 limit).

    For particle-parallel SVGD under MPI (``nbvi.mpi.ParticleParallel``): each rank computes the force on its
    own particles, O((stop - start) n d). Each row is summed over j = 0..n-1 in order, not in the symmetric
    blocks of ``stein_force``, so the two agree to rounding (about 1e-15 relative), not bitwise.

    Parameters
    ----------
    particles, grad_logp : array_like, shape (n, d)
        All the particles and grad log p at each.
    h : float
        Bandwidth (PyMC3 convention, ``median_bandwidth`` of all the particles), >= 0.
    start, stop : int
        0 <= start <= stop <= n.
    temperature : float
        > 0; divides the driving term only.
    out : ndarray, shape (stop - start, d), float64, C-contiguous, optional

    Returns
    -------
    ndarray, shape (stop - start, d)
    """
    x, g, h, temperature = _force_inputs(particles, grad_logp, h, temperature)
    n, d = x.shape
    start, stop = int(start), int(stop)
    if not 0 <= start <= stop <= n:
        raise ValueError(f"start and stop must satisfy 0 <= start <= stop <= n_particles = {n}; got {start}, {stop}")
    out = _output(out, (stop - start, d))
    if stop > start:
        kernel = _stein_rows_kernel if (stop - start) * n * (d + 4) >= PARALLEL_MIN_WORK else _stein_rows_serial
        kernel(np.ascontiguousarray(x.T), np.ascontiguousarray(g.T), start, stop, h, 1.0 / temperature, out)
    return out


def svgd_step(particles, grad_logp, temperature=1.0, h=None, out=None):
    """One SVGD step's direction for a descending optimizer: (-phi, h).

    The ``SVGD`` Inference class calls this with ``particles`` (n, d) (the ``Empirical`` approximation's
    histogram, one row per particle, flat unconstrained space) and ``grad_logp`` from
    ``model.logp_dlogp(particles)``; the optimizer then applies x <- x - lr * (-phi), i.e. the plain
    SVGD update x <- x + lr * phi for SGD (Liu & Wang 2016, Algorithm 1), or its adaptive variants.
    As in PyMC3's ``KSD`` operator, the kernel is the RBF with the median bandwidth recomputed at every
    step from the current particles.

    Parameters
    ----------
    particles : array_like, shape (n, d)
    grad_logp : array_like, shape (n, d)
    temperature : float
        > 0, divides the driving term (PyMC3's ``temperature``).
    h : float, optional
        Fixed bandwidth (PyMC3 convention); default ``median_bandwidth(particles)``.
    out : ndarray, shape (n, d), optional
        Buffer for the returned direction.

    Returns
    -------
    direction : ndarray, shape (n, d)
        -phi, the gradient of the loss the optimizer descends (same shape as ``particles``).
    h : float
        The bandwidth used.
    """
    if h is None:
        h = median_bandwidth(particles)
    direction = stein_force(particles, grad_logp, h, temperature=temperature, out=out)
    np.negative(direction, out=direction)
    return direction, float(h)
