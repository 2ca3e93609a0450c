"""Shared checks for the scalar families (HalfNormal, Gamma, StudentT, ...).

A test module describes its family once, as a :class:`Family` (parameter ranges, a range of values inside
the support for every such parameter, the scipy.stats reference), and runs these checks on it:

* :func:`cases` draws shapes and batched values for hypothesis: a value of 0 to 3 axes, parameters of
  lower rank or with length-1 axes that broadcast against it, each argument with 1 or D draws (D in 1..3);
* :func:`check_logp_and_grad`: ``Family.dist(*params).logp(value)`` evaluated by a ``Program`` with
  placeholders equals scipy's logpdf summed per draw, and the gradient with respect to the value and every
  parameter matches central differences;
* :func:`check_rows_kernel`: the fused kernel for large observed data (a Constant of 2000 x 9) gives the
  logp and parameter gradients of the elementwise kernel, called directly over every row and through the
  graph; :func:`check_rows_index`: given an index of rows with repeats, longer or shorter than the data
  (a minibatch), it reads those rows in place exactly as it reads a gathered copy, and leaves the data be;
* :func:`check_out_of_support`: values outside the support and invalid (or NaN) parameters give -inf,
  never NaN, in both kernels; :func:`check_invalid_parameters`, :func:`check_moment`, :func:`check_random`.

Kernels are called with writable arrays (and read-only data for the rows kernel over all rows, as a Constant
holds it) so that each kernel compiles once per test run; the index check adds one compile per rows kernel
(writable data, so that a kernel writing into it could be seen).
"""
from dataclasses import dataclass, field

import numpy as np
import pytest
import scipy.stats as stats
from gradcheck import assert_grad_close
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from nbvi.graph import Constant, Placeholder, Program

ROWS, COLS = 2000, 9  # 18000 elements: above the rows kernel's threshold (16384)


@dataclass
class Family:
    """What the shared checks need to know about one family.

    Attributes
    ----------
    cls : Distribution subclass
    ranges : dict
        Parameter name -> (low, high) of valid values, in the order of ``cls.params``.
    values : tuple
        (low, high): values inside the support whatever the parameters in ``ranges``, and far enough from
        its edges for central differences.
    scipy : callable
        Parameters by name -> frozen scipy.stats distribution (parameters may be arrays).
    sample_params : dict
        Parameter name -> array of shape (2,) for the moment and sampling checks (chosen so the fourth
        moment is finite, where the family has one).
    outside : tuple
        Values outside the support (empty for real support).
    invalid : list
        (keyword arguments, message regex) pairs that ``cls.dist`` must reject with ValueError.
    bad_param : tuple
        (name, value) of an invalid parameter value, fed at runtime: logp must be -inf.
    transform : str or None
        Name of the default transform.
    valid : callable, optional
        (value, params) of one draw -> bool; False rejects a hypothesis case (e.g. values at a kink).
    """

    cls: type
    ranges: dict
    values: tuple
    scipy: object
    sample_params: dict
    outside: tuple = ()
    invalid: list = field(default_factory=list)
    bad_param: tuple = ()
    transform: str = None
    valid: object = None


def floats(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


@st.composite
def cases(draw, family):
    """(value, params): batched arrays, the value (1 or D, *shape), each parameter (1 or D, *own_shape)."""
    shape = draw(array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3))
    n_draws = draw(st.integers(1, 3))

    def batched(lo, hi, own_shape):
        draws = draw(st.sampled_from([1, n_draws]))
        return draw(arrays(np.float64, (draws,) + own_shape, elements=floats(lo, hi)))

    value = batched(*family.values, shape)
    params = []
    for lo, hi in family.ranges.values():
        rank = draw(st.integers(0, len(shape)))
        own = tuple(draw(st.sampled_from([1, n])) for n in shape[len(shape) - rank:])
        params.append(batched(lo, hi, own))
    return value, params


def lift(a, rank):
    """A batched array (D, *s) as (D, 1, ..., 1, *s) with ``rank`` axes after the draw axis."""
    return a.reshape(a.shape[:1] + (1,) * (rank + 1 - a.ndim) + a.shape[1:])


def per_draw(arrays_, d):
    """Draw d of each batched argument (those with one draw are shared), lifted to a common rank."""
    rank = max(a.ndim for a in arrays_) - 1
    return [lift(a, rank)[min(d, a.shape[0] - 1)] for a in arrays_]


def program_for(family, value_shape, param_shapes):
    """A Program computing ``logp(value)`` from placeholders for the value and every parameter."""
    nodes = [Placeholder(value_shape, name="x")] + [
        Placeholder(s, name=name) for s, name in zip(param_shapes, family.ranges)
    ]
    return Program([family.cls.dist(*nodes[1:]).logp(nodes[0])], nodes)


def check_logp_and_grad(family, case):
    value, params = case
    feed = [value] + params
    draws = max(a.shape[0] for a in feed)
    if family.valid is not None:
        for d in range(draws):
            x, *ps = per_draw(feed, d)
            assume(family.valid(x, ps))
    program = program_for(family, value.shape[1:], [p.shape[1:] for p in params])
    logp, grads = program.value_and_grad(feed)

    names = list(family.ranges)
    expected = []
    for d in range(draws):
        x, *ps = per_draw(feed, d)
        expected.append(family.scipy(**dict(zip(names, ps))).logpdf(x).sum())
    np.testing.assert_allclose(logp, expected, rtol=1e-10, atol=1e-10)

    for k in range(len(feed)):
        def total(a, k=k):
            return program.run(feed[:k] + [a] + feed[k + 1:])[0].sum()

        assert grads[k].shape == feed[k].shape
        assert_grad_close(total, grads[k], feed[k])


def rows_case(family, draws, layout, seed=0):
    """Observed data (ROWS, COLS) inside the support and parameters (D_i, COLS) or (D_i,).

    ``layout`` "columns": every parameter has one value per column; "mixed": every other parameter is a
    scalar and has a single draw.
    """
    rng = np.random.default_rng(seed)
    data = rng.uniform(*family.values, size=(ROWS, COLS))
    params = []
    for k, (lo, hi) in enumerate(family.ranges.values()):
        mixed = layout == "mixed" and k % 2 == 1
        params.append(rng.uniform(lo, hi, size=(1,) if mixed else (draws, COLS)))
    return data, params


def elementwise_reference(family, data, params):
    """logp and parameter gradients of the elementwise kernel, reduced to each parameter's batched shape."""
    x = np.ascontiguousarray(data.reshape(1, -1))
    columns = [np.tile(p, (1, ROWS)) if p.ndim == 2 else p.reshape(-1, 1) for p in params]
    logp, _, *grads = family.cls.family.kernel(x, *columns)
    out = []
    for g, p in zip(grads, params):
        g = g.reshape(g.shape[0], ROWS, COLS).sum(axis=1) if p.ndim == 2 else g.reshape(-1)
        out.append(g.sum(axis=0, keepdims=True) if p.shape[0] == 1 else g)
    return logp, out


def rows_through_graph(family, data, params):
    """logp and parameter gradients of ``dist.logp(Constant(data))``, checking that the rows kernel ran."""
    nodes = [Placeholder(p.shape[1:], name=name) for p, name in zip(params, family.ranges)]
    dist = family.cls.dist(*nodes)
    calls = []

    def spy(data_, rows, *params_):
        calls.append((data_.shape, rows.shape))
        assert np.array_equal(rows, np.arange(ROWS)), "a full-data term must cover every row once, in order"
        return type(dist).rows_kernel(data_, rows, *params_)

    dist.rows_kernel = spy
    logp, grads = Program([dist.logp(Constant(data))], nodes).value_and_grad(params)
    assert calls == [((ROWS, COLS), (ROWS,))], "the observed term did not use the rows kernel"
    return logp, grads


def kernel_params(params):
    """Parameters of :func:`rows_case` as the rows kernel takes them: (D_i, C_i), a scalar as (1, 1)."""
    return [p if p.ndim == 2 else p.reshape(-1, 1) for p in params]


def check_rows_kernel(family, draws, layout):
    data, params = rows_case(family, draws, layout)
    ref_logp, ref_grads = elementwise_reference(family, data, params)
    names = list(family.ranges)
    for d in range(draws):
        ps = [p[min(d, p.shape[0] - 1)] for p in params]
        expected = family.scipy(**dict(zip(names, ps))).logpdf(data).sum()
        np.testing.assert_allclose(ref_logp[d], expected, rtol=1e-10)

    readonly = data.copy()
    readonly.setflags(write=False)  # as a Constant holds it
    direct = family.cls.rows_kernel(readonly, np.arange(ROWS), *kernel_params(params))
    np.testing.assert_allclose(direct[0], ref_logp, rtol=1e-10)
    for g, r, p in zip(direct[1:], ref_grads, params):
        got = g.sum(axis=0, keepdims=True) if p.shape[0] == 1 else g  # a shared parameter: sum over draws
        np.testing.assert_allclose(got.reshape(r.shape), r, rtol=1e-8, atol=1e-7)

    logp, grads = rows_through_graph(family, data, params)
    np.testing.assert_allclose(logp, ref_logp, rtol=1e-10)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g, r, rtol=1e-8, atol=1e-7)


def check_rows_read_in_place(rows_kernel, data, params, logpdf, seed=1):
    """A rows kernel given an index of rows reads them in place, exactly as it reads a gathered copy.

    Two indices drawn with replacement (so with repeats), as a minibatch draws them: one shorter than the
    data (N // 3 + 7 rows) and one longer (2 N + 3). For each, the kernel on ``(data, rows)`` must give the
    same logp and gradients as on ``(data[rows], arange(R))`` up to rounding (the blocks and the order of
    the sums are the same, so only a kernel that reads other rows than it is told differs), its logp must
    be ``logpdf(data[rows])`` (D,), and ``data`` (writable here) must be left unchanged.
    """
    rng = np.random.default_rng(seed)
    n = data.shape[0]
    before = data.copy()
    for size in (n // 3 + 7, 2 * n + 3):
        rows = rng.integers(0, n, size=size)
        assert len(np.unique(rows)) < size  # repeats, as in a minibatch drawn with replacement
        in_place = rows_kernel(data, rows, *params)
        gathered = np.ascontiguousarray(data[rows])
        copied = rows_kernel(gathered, np.arange(size), *params)
        assert len(in_place) == len(copied)
        for got, want in zip(in_place, copied):
            np.testing.assert_allclose(got, want, rtol=1e-12)
        np.testing.assert_allclose(in_place[0], logpdf(gathered), rtol=1e-10)
        np.testing.assert_array_equal(data, before)


def check_rows_index(family):
    """:func:`check_rows_read_in_place` on :func:`rows_case` data, with a scalar parameter (if several)."""
    data, params = rows_case(family, 2, "mixed", seed=1)
    names = list(family.ranges)

    def logpdf(x):
        return np.array([
            family.scipy(**{k: p[min(d, p.shape[0] - 1)] for k, p in zip(names, params)}).logpdf(x).sum()
            for d in range(2)
        ])

    check_rows_read_in_place(family.cls.rows_kernel, data, kernel_params(params), logpdf)


def assert_minus_inf(logp, grads):
    assert np.all(logp == -np.inf), logp
    for g in grads:
        assert np.all(np.isfinite(g)), g


def check_out_of_support(family):
    mid = [np.array([0.5 * (lo + hi)]) for lo, hi in family.ranges.values()]
    inside = 0.5 * (family.values[0] + family.values[1])
    program = program_for(family, (3,), [()] * len(mid))
    for bad in family.outside:
        assert_minus_inf(*program.value_and_grad([np.array([[inside, bad, inside]])] + mid))
    if family.bad_param:
        k = list(family.ranges).index(family.bad_param[0])
        for bad in (family.bad_param[1], np.nan):
            params = mid[:k] + [np.array([bad])] + mid[k + 1:]
            assert_minus_inf(*program.value_and_grad([np.full((1, 3), inside)] + params))

    # the rows kernel: one value outside the support, or an invalid parameter, makes the whole term -inf
    data, params = rows_case(family, 2, "columns")
    for bad in family.outside:
        spoiled = data.copy()
        spoiled[1234, 5] = bad
        assert_minus_inf(*rows_through_graph(family, spoiled, params))
    if family.bad_param:
        k = list(family.ranges).index(family.bad_param[0])
        for bad in (family.bad_param[1], np.nan):
            params[k][1, 3] = bad
            logp, grads = rows_through_graph(family, data, params)
            assert np.isfinite(logp[0]) and logp[1] == -np.inf
            assert all(np.all(np.isfinite(g)) for g in grads)


def check_invalid_parameters(family):
    for kwargs, message in family.invalid:
        with pytest.raises(ValueError, match=message):
            family.cls.dist(**kwargs)


def check_moment(family):
    dist = family.cls.dist(**family.sample_params)
    start = dist.initial_value()
    assert start.shape == dist.shape == (2,)
    assert np.all(np.isfinite(family.scipy(**family.sample_params).logpdf(start)))
    program = program_for(family, (2,), [(2,)] * len(family.ranges))
    logp, _ = program.value_and_grad([start[None]] + [np.asarray(v)[None] for v in family.sample_params.values()])
    assert np.isfinite(logp[0])
    transform = dist.default_transform()
    assert (transform.name if transform is not None else None) == family.transform


def check_random(family, n=20000):
    """Shapes, reproducibility, and the sample against the distribution.

    The sample mean lies within 4 standard errors sqrt(var / n) of the mean and the sample variance within
    4 standard errors var sqrt((kurtosis + 2) / n) of the variance (kurtosis = excess kurtosis; both checked
    only where those moments are finite): a correct sampler fails such a check with probability < 1e-4, and
    the seed is fixed, so the test cannot flake, while a location or scale off by a few percent fails.
    A Kolmogorov-Smirnov test per column (p > 0.001) checks the whole shape, also for families without
    moments (Cauchy).
    """
    dist = family.cls.dist(**family.sample_params)
    assert dist.random(rng=0).shape == (2,)
    assert dist.random(size=(3, 4), rng=0).shape == (3, 4, 2)
    np.testing.assert_array_equal(dist.random(size=5, rng=3), dist.random(size=5, rng=3))
    sample = dist.random(size=n, rng=np.random.default_rng(2024))
    assert sample.shape == (n, 2)
    for c in range(2):
        ref = family.scipy(**{k: np.asarray(v)[c] for k, v in family.sample_params.items()})
        x = sample[:, c]
        mean, var, kurtosis = (float(m) for m in ref.stats(moments="mvk"))
        if np.isfinite(mean) and np.isfinite(var):
            assert abs(x.mean() - mean) <= 4 * np.sqrt(var / n), (c, x.mean(), mean)
        if np.isfinite(kurtosis):
            assert abs(x.var() - var) <= 4 * var * np.sqrt((kurtosis + 2) / n), (c, x.var(), var)
        assert stats.kstest(x, ref.cdf).pvalue > 1e-3
