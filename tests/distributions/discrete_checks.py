"""Shared checks for the discrete, observed-only scalar families (NegativeBinomial, Geometric, the zero-inflated
families, ...).

A test module describes its family once, as a :class:`Discrete` (the ranges of its differentiable parameters,
its constant parameters such as Binomial's n, a sampler of values inside the support, the scipy log-pmf), and
runs these checks on it:

* :func:`cases` draws shapes and batched values for hypothesis: a value of 0 to 2 axes, parameters of lower
  rank or with length-1 axes that broadcast against it, each argument with 1 or D draws (D in 1..3);
* :func:`check_logp_and_grad`: ``dist.logp(value)`` evaluated by a ``Program`` with placeholders equals the
  scipy log-pmf summed per draw, the value gets no gradient, and the gradient of every differentiable
  parameter matches central differences;
* :func:`evaluate` and :func:`assert_minus_inf`: one evaluation at given parameters, for the edge cases;
* :func:`check_random`: the mean and variance of ``random`` draws against those of the log-pmf.
"""
from dataclasses import dataclass

import numpy as np
from distributions.family_checks import per_draw
from gradcheck import assert_grad_close
from hypothesis import strategies as st

from nbvi.graph import Constant, Placeholder, Program


@dataclass
class Discrete:
    """What the shared checks need to know about one discrete family.

    Attributes
    ----------
    cls : Distribution subclass
    ranges : dict
        Differentiable parameter name -> (low, high) of valid values, far enough from the edges for central
        differences.
    logpmf : callable
        ``logpmf(y, **params)``: the reference log-pmf of each element (numpy broadcasting), params being
        those of ``ranges`` and of ``constants``.
    values : callable
        ``values(rng, size, constants)``: values inside the support for any parameters in ``ranges``.
    constants : callable, optional
        ``constants(rng, shape)``: {name: array} of the constant parameters, each broadcasting to ``shape``.
    """

    cls: type
    ranges: dict
    logpmf: object
    values: object
    constants: object = None


@st.composite
def cases(draw, family):
    """(value, params, constants): the value (1 or D, *shape), each differentiable parameter (1 or D, *own)."""
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=2)))
    n_draws = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))

    def own_shape():
        rank = draw(st.integers(0, len(shape)))
        return tuple(1 if draw(st.booleans()) else n for n in shape[len(shape) - rank:])

    constants = {} if family.constants is None else family.constants(rng, own_shape())
    params = []
    for lo, hi in family.ranges.values():
        params.append(rng.uniform(lo, hi, size=(draw(st.sampled_from([1, n_draws])),) + own_shape()))
    value = family.values(rng, (draw(st.sampled_from([1, n_draws])),) + shape, constants)
    return np.asarray(value, dtype=np.float64), params, constants


def program_for(family, value_shape, param_shapes, constants):
    """A Program computing ``logp(value)`` from placeholders for the value and every differentiable parameter."""
    nodes = [Placeholder(value_shape, name="y")] + [Placeholder(s, name=n) for s, n in zip(param_shapes, family.ranges)]
    dist = family.cls.dist(**constants, **dict(zip(family.ranges, nodes[1:])))
    return Program([dist.logp(nodes[0])], nodes)


def check_logp_and_grad(family, case):
    value, params, constants = case
    feed = [value] + params
    program = program_for(family, value.shape[1:], [p.shape[1:] for p in params], constants)
    logp, grads = program.value_and_grad(feed)
    names = list(family.ranges)
    draws = max(a.shape[0] for a in feed)
    expected = []
    for d in range(draws):
        y, *ps = per_draw(feed, d)
        expected.append(np.sum(family.logpmf(y, **dict(zip(names, ps)), **constants)))
    np.testing.assert_allclose(logp, expected, rtol=1e-10, atol=1e-10)
    np.testing.assert_array_equal(grads[0], 0.0)  # a discrete value has no derivative
    for k in range(1, len(feed)):
        def total(a, k=k):
            return program.run(feed[:k] + [a] + feed[k + 1:])[0].sum()

        assert grads[k].shape == feed[k].shape
        assert_grad_close(total, grads[k], feed[k])


def evaluate(family, y, constants=None, **params):
    """logp (1,) and the gradients of ``dist.logp(y)`` at one draw of the (scalar) differentiable ``params``."""
    names = list(family.ranges)
    nodes = [Placeholder((), name) for name in names]
    dist = family.cls.dist(**(constants or {}), **dict(zip(names, nodes)))
    program = Program([dist.logp(Constant(np.asarray(y, dtype=np.float64)))], nodes)
    return program.value_and_grad([np.array([params[name]], dtype=np.float64) for name in names])


def assert_minus_inf(logp, grads):
    assert np.all(logp == -np.inf), logp
    for g in grads:
        np.testing.assert_array_equal(g, 0.0)


def check_random(dist, logpmf, support, n=20_000, seed=2024):
    """Shapes and reproducibility of ``dist.random``, and per column the sample mean and variance against
    those of ``logpmf(support, column)`` (``support``: a grid of the support holding all but a negligible
    tail of the mass).

    The sample mean lies within 4 standard errors sqrt(var / n) of the mean, and the sample variance within
    4 standard errors sqrt((m4 - var^2) / n) of the variance (m4 the fourth central moment): a correct
    sampler fails such a check with probability < 1e-4, and the seed is fixed, so the test cannot flake, while
    a location or scale off by a few percent fails.
    """
    columns = dist.shape[-1]
    assert dist.random(size=(3, 4), rng=0).shape == (3, 4) + dist.shape
    np.testing.assert_array_equal(dist.random(size=5, rng=3), dist.random(size=5, rng=3))
    sample = dist.random(size=n, rng=np.random.default_rng(seed))
    assert sample.shape == (n,) + dist.shape
    assert np.all(sample == np.floor(sample))
    for c in range(columns):
        pmf = np.exp(logpmf(support, c))
        assert abs(pmf.sum() - 1.0) < 1e-9, "the grid misses some of the mass"
        mean = np.sum(support * pmf)
        var = np.sum((support - mean) ** 2 * pmf)
        m4 = np.sum((support - mean) ** 4 * pmf)
        x = sample[:, c]
        assert abs(x.mean() - mean) <= 4 * np.sqrt(var / n), (c, x.mean(), mean)
        assert abs(x.var() - var) <= 4 * np.sqrt((m4 - var**2) / n), (c, x.var(), var)
