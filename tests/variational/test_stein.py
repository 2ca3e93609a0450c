"""Tests of nbvi.variational.stein: SVGD's kernel force, median bandwidth and step."""
import math
import os
import subprocess
import sys

import numba
import numpy as np
import pytest
from gradcheck import assert_grad_close
from hypothesis import given
from hypothesis import strategies as st
from scipy.spatial.distance import pdist, squareform

from nbvi.variational import stein
from nbvi.variational.stein import median_bandwidth, stein_force, svgd_step


def reference_force(x, grad, h, temperature):
    """Liu & Wang (2016) eq. 8 with PyMC3's RBF kernel, by brute-force n x n x d broadcasting."""
    n = x.shape[0]
    diff = x[:, None, :] - x[None, :, :]  # diff[i, j] = x_i - x_j
    r2 = (diff ** 2).sum(-1)
    if h > 0:
        k = np.exp(-r2 / (2.0 * h))
        repulsion = (k[:, :, None] * diff / h).sum(1)  # sum_j grad_{x_j} k(x_j, x_i)
    else:  # the h -> 0+ limit
        k = (r2 == 0).astype(float)
        repulsion = np.zeros_like(x)
    return (k @ grad / temperature + repulsion) / n


def reference_bandwidth(x):
    """PyMC3's RBF bandwidth: 0.5 * median of the full n x n squared-distance matrix / log(n + 1)."""
    sq = squareform(pdist(x, "sqeuclidean"))
    return 0.5 * np.median(sq) / np.log(x.shape[0] + 1)


def cloud(seed, n, d, scale=1.0):
    rng = np.random.default_rng(seed)
    return scale * rng.standard_normal((n, d)), rng.standard_normal((n, d))


@given(n=st.integers(1, 30), d=st.integers(1, 5), seed=st.integers(0, 2**32 - 1),
       scale=st.floats(0.1, 3.0), h=st.floats(0.05, 10.0), temperature=st.floats(0.25, 4.0))
def test_stein_force_matches_reference(n, d, seed, scale, h, temperature):
    x, g = cloud(seed, n, d, scale)
    np.testing.assert_allclose(stein_force(x, g, h, temperature), reference_force(x, g, h, temperature),
                               rtol=1e-10, atol=1e-12)


@given(n=st.integers(1, 40), d=st.integers(1, 5), seed=st.integers(0, 2**32 - 1))
def test_median_bandwidth_matches_pdist(n, d, seed):
    x, _ = cloud(seed, n, d)
    assert median_bandwidth(x) == pytest.approx(reference_bandwidth(x), rel=1e-12, abs=0.0)


@given(n=st.integers(1, 25), d=st.integers(1, 3), seed=st.integers(0, 2**32 - 1))
def test_median_bandwidth_with_ties(n, d, seed):
    # particles on a coarse integer grid: many equal distances and coinciding particles
    x = np.random.default_rng(seed).integers(0, 3, size=(n, d)).astype(float)
    assert median_bandwidth(x) == pytest.approx(reference_bandwidth(x), rel=1e-12, abs=0.0)


@given(n=st.integers(1, 8), d=st.integers(1, 4), seed=st.integers(0, 2**32 - 1), h=st.floats(0.1, 5.0))
def test_repulsion_is_kernel_gradient(n, d, seed, h):
    # With grad log p = 0, n phi_i = sum_j grad_{x_j} k(x_j, x_i). k depends on x_j - y only, so this is
    # -grad_y sum_j k(x_j, y) at y = x_i: checked against central differences in y.
    x, _ = cloud(seed, n, d)
    repulsion = n * stein_force(x, np.zeros_like(x), h)

    def kernel_sum(y):
        return -np.exp(-((x - y) ** 2).sum(-1) / (2.0 * h)).sum()

    for i in range(n):
        assert_grad_close(kernel_sum, repulsion[i], x[i])


def test_parallel_and_serial_kernels_agree_bitwise():
    # n * n * (d + 4) above PARALLEL_MIN_WORK: stein_force takes the prange kernel
    x, g = cloud(7, 150, 10)
    assert 150 * 150 * 14 >= stein.PARALLEL_MIN_WORK
    h = median_bandwidth(x)
    phi = stein_force(x, g, h, 0.8)
    np.testing.assert_allclose(phi, reference_force(x, g, h, 0.8), rtol=1e-10, atol=1e-12)
    serial = np.empty_like(x)
    stein._stein_force_serial(np.ascontiguousarray(x.T), np.ascontiguousarray(g.T), h, 1.0 / 0.8, serial)  # (d, n) layout
    np.testing.assert_array_equal(phi, serial)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        np.testing.assert_array_equal(stein_force(x, g, h, 0.8), phi)  # independent of thread count
    finally:
        numba.set_num_threads(threads)


def test_temperature_scales_only_the_driving_term():
    x, g = cloud(0, 12, 3)
    h = median_bandwidth(x)
    zero = np.zeros_like(x)
    repulsion = stein_force(x, zero, h)
    driving = stein_force(x, g, h) - repulsion
    np.testing.assert_allclose(stein_force(x, g, h, temperature=2.5), driving / 2.5 + repulsion, atol=1e-14)


def test_svgd_step_is_minus_phi_with_median_bandwidth():
    x, g = cloud(1, 20, 4)
    direction, h = svgd_step(x, g, temperature=1.7)
    assert h == median_bandwidth(x)
    np.testing.assert_array_equal(direction, -stein_force(x, g, h, temperature=1.7))
    assert direction.shape == x.shape


def test_svgd_step_fixed_bandwidth_and_out():
    x, g = cloud(2, 15, 2)
    buffer = np.empty_like(x)
    direction, h = svgd_step(x, g, h=3.0, out=buffer)
    assert h == 3.0 and direction is buffer
    np.testing.assert_allclose(direction, -reference_force(x, g, 3.0, 1.0), rtol=1e-10, atol=1e-12)
    assert not np.allclose(direction, svgd_step(x, g)[0])  # the fixed h was used, not the median


def test_stein_force_out_and_layout():
    x, g = cloud(3, 10, 3)
    expected = reference_force(x, g, 0.7, 1.3)
    out = np.full_like(x, np.nan)
    assert stein_force(x, g, 0.7, 1.3, out=out) is out
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)
    # Fortran-ordered and float32 inputs are converted (the kernel sees C-contiguous float64 only)
    np.testing.assert_allclose(stein_force(np.asfortranarray(x), g.astype(np.float32), 0.7, 1.3),
                               reference_force(x, g.astype(np.float32).astype(float), 0.7, 1.3),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    (dict(h=-1.0), "h must be"),
    (dict(h=float("nan")), "h must be"),
    (dict(h=1.0, temperature=0.0), "temperature"),
    (dict(h=1.0, out=np.empty((3, 2))), "out must be"),
    (dict(h=1.0, out=np.empty((4, 2), dtype=np.float32)), "out must be"),
])
def test_stein_force_validates(kwargs, match):
    x, g = cloud(4, 4, 2)
    with pytest.raises(ValueError, match=match):
        stein_force(x, g, **kwargs)


def test_shape_validation():
    x, g = cloud(5, 4, 2)
    with pytest.raises(ValueError, match="grad_logp"):
        stein_force(x, g[:, :1], 1.0)
    with pytest.raises(ValueError, match="particles"):
        median_bandwidth(np.zeros(3))
    with pytest.raises(ValueError, match="particles"):
        median_bandwidth(np.zeros((0, 2)))


def test_single_particle_follows_the_gradient():
    x = np.array([[0.3, -1.2]])
    g = np.array([[1.5, 2.0]])
    assert median_bandwidth(x) == 0.0
    direction, h = svgd_step(x, g, temperature=2.0)
    assert h == 0.0
    np.testing.assert_array_equal(direction, -g / 2.0)  # k(x, x) = 1, no repulsion, for any h
    np.testing.assert_allclose(stein_force(x, g, 1.0), g)


def test_identical_particles_use_the_h_to_zero_limit():
    # PyMC3 would give 0/0 = NaN here; the limit h -> 0+ gives k = 1 between coinciding particles.
    x = np.tile([[1.0, 2.0, 3.0]], (5, 1))
    g = np.random.default_rng(6).standard_normal(x.shape)
    direction, h = svgd_step(x, g)
    assert h == 0.0
    np.testing.assert_allclose(direction, -np.tile(g.mean(0), (5, 1)), atol=1e-15)
    # more than half of the n^2 squared distances zero (3 of 4 particles coincide): h = 0 as well
    x = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [5.0, 1.0]])
    g = g[:4, :2]
    direction, h = svgd_step(x, g)
    assert h == 0.0 and np.isfinite(direction).all()
    np.testing.assert_allclose(direction, -reference_force(x, g, 0.0, 1.0), atol=1e-15)
    np.testing.assert_allclose(direction[3], -g[3] / 4)


def test_svgd_moves_particles_to_standard_normal():
    # 200 particles from N(3, 0.5^2 I) in 2-D, target N(0, I) (grad log p = -x), plain SVGD
    # x <- x + eps phi. Deterministic given the seed. The cloud's mean moves at rate ~ mean_ij k_ij (the
    # repulsion sums to zero), about 0.1 once the cloud has spread, so it needs an integrated time of
    # ~100: 500 steps of 0.1 still leave the mean at 0.13; 500 steps of 0.2 (stable, and the same
    # result as 1000 steps of 0.1 to 1e-3) bring it to 0.03-0.05 over seeds 0-3 (0.005 after 2000
    # steps of 0.1). SVGD's fixed point with finite n underestimates the variance a little (0.93-0.97
    # here, 0.94 at convergence); an i.i.d. sample of 200 would have mean s.e. 0.07 and variance s.e.
    # 0.1. Hence mean within 0.1 and variance within 0.25 of 1, with a margin for the step size.
    rng = np.random.default_rng(0)
    x = 3.0 + 0.5 * rng.standard_normal((200, 2))
    for _ in range(500):
        direction, h = svgd_step(x, -x)
        x -= 0.2 * direction  # the optimizer descends -phi
    assert np.isfinite(x).all() and h > 0
    np.testing.assert_allclose(x.mean(0), 0.0, atol=0.1)
    np.testing.assert_allclose(x.var(0), 1.0, atol=0.25)


def test_import_compiles_nothing():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    kernels = ["_stein_block", "_sum_blocks", "exp_in_range", "_stein_force_kernel", "_stein_force_serial",
               "_pairwise_sq_dists", "median_sq_distance", "_pair_gap_ranks", "svgd_direction"]
    code = ("import nbvi.variational.stein as s; "
            f"assert not any(getattr(s, k).signatures for k in {kernels!r})")
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_bandwidth_formula_by_hand():
    # n = 3 on a line at 0, 1, 3: H has entries 0 (x3), 1, 1, 4, 4, 9, 9; sorted, the median (5th of 9)
    # is 1, so h = 0.5 / log 4.
    x = np.array([[0.0], [1.0], [3.0]])
    assert median_bandwidth(x) == pytest.approx(0.5 / math.log(4.0), rel=1e-15)



def test_one_dimensional_median_selection_matches_pdist_reference():
    # 1-D particles take the sorted two-pointer selection instead of the pair array: same value exactly
    from scipy.spatial.distance import pdist

    rng = np.random.default_rng(5)
    for n in [2, 3, 4, 7, 100, 501]:
        for x in [rng.normal(size=(n, 1)), np.round(rng.normal(size=(n, 1))), np.zeros((n, 1))]:
            pairs = pdist(x, "sqeuclidean")
            reference = 0.5 * np.median(np.concatenate([np.zeros(n), pairs, pairs])) / np.log(n + 1)
            assert median_bandwidth(x) == pytest.approx(reference, rel=1e-12, abs=0.0)


@given(n=st.integers(1, 25), d=st.integers(1, 4), seed=st.integers(0, 2**32 - 1), h=st.floats(0.0, 5.0),
       temperature=st.floats(0.25, 4.0), cut=st.tuples(st.floats(0, 1), st.floats(0, 1)))
def test_stein_force_rows_are_rows_of_the_full_force(n, d, seed, h, temperature, cut):
    """Rows [start, stop) against all particles (particle-parallel SVGD): the full force's rows, to rounding
    (each row summed in order instead of in symmetric blocks), for any range, empty ones and h = 0 included."""
    x, g = cloud(seed, n, d)
    start, stop = sorted(int(c * n) for c in cut)
    full = stein_force(x, g, h, temperature)
    rows = stein.stein_force_rows(x, g, h, start, stop, temperature)
    assert rows.shape == (stop - start, d)
    np.testing.assert_allclose(rows, full[start:stop], rtol=1e-12, atol=1e-14)


def test_stein_force_rows_parallel_and_serial_agree_bitwise_and_validate():
    x, g = cloud(3, 300, 4)
    h = median_bandwidth(x)
    rows = stein.stein_force_rows(x, g, h, 100, 250)  # above PARALLEL_MIN_WORK: the prange kernel
    serial = np.empty_like(rows)
    stein._stein_rows_serial(np.ascontiguousarray(x.T), np.ascontiguousarray(g.T), 100, 250, h, 1.0, serial)
    np.testing.assert_array_equal(rows, serial)
    np.testing.assert_allclose(rows, stein_force(x, g, h)[100:250], rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="start and stop"):
        stein.stein_force_rows(x, g, h, 5, 301)
    with pytest.raises(ValueError, match="out must be"):
        stein.stein_force_rows(x, g, h, 0, 3, out=np.empty((4, 4)))


def full_median(x):
    """The median of the n x n squared distances, by brute force."""
    return np.median(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))


@given(n=st.integers(1, 120), d=st.integers(1, 3), seed=st.integers(0, 2**32 - 1),
       kind=st.sampled_from(["normal", "cauchy", "grid", "clusters"]))
def test_median_sq_distance_is_exact(n, d, seed, kind):
    # the selections (1-D: interpolation and bisection on the sorted values; otherwise numpy's partition)
    # return the exact order statistics, so the median equals the brute-force one bit for bit
    rng = np.random.default_rng(seed)
    x = {"normal": lambda: rng.normal(size=(n, d)), "cauchy": lambda: rng.standard_cauchy((n, d)),
         "grid": lambda: rng.integers(0, 4, size=(n, d)).astype(float),
         "clusters": lambda: rng.choice([0.0, 1e-9, 5.0, 1e6], size=(n, d)) + 1e-12 * rng.normal(size=(n, d))}[kind]()
    assert stein.median_sq_distance(x) == full_median(x)


@pytest.mark.parametrize("n", [64, 65, 400, 1001])
def test_one_dimensional_gap_ranks_on_uneven_spreads(n):
    # W3's two modes, a heavy tail and a cluster next to a far point: the band shrinks by interpolation
    # where the gaps are even and by bisection where they are not; the two ranks are the sorted gaps'
    rng = np.random.default_rng(n)
    for values in [np.r_[rng.normal(-0.3, 0.1, n // 5), rng.normal(0.5, 0.1, n - n // 5)], rng.standard_cauchy(n),
                   np.r_[np.zeros(n // 2), 1e-7 * rng.random(n - n // 2 - 1), [1e6]]]:
        xs = np.sort(values)
        gaps = np.sort(pdist(xs[:, None], "cityblock"))
        for r in [0, len(gaps) // 2 - 1, len(gaps) // 2, len(gaps) - 2]:
            assert stein._pair_gap_ranks(xs, r, r + 1) == (gaps[r], gaps[r + 1])
            assert stein._pair_gap_ranks(xs, r, r) == (gaps[r], gaps[r])


@pytest.mark.parametrize("n, d", [(1, 1), (2, 3), (30, 1), (90, 2), (300, 1)])
def test_svgd_direction_is_svgd_step_in_one_call(n, d):
    x, g = cloud(n + d, n, d)
    expected, h = svgd_step(x, g, temperature=2.0)
    out = np.empty_like(x)
    assert stein.svgd_direction(x, g, 0.5, np.empty((d, n)), np.empty((d, n)), out) == h
    np.testing.assert_array_equal(out, expected)
