"""Tests of Flat and HalfFlat: the improper uniform densities on the real line and on x > 0."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from nbvi.distributions.elementwise import flat_kernel, halfflat_kernel
from nbvi.distributions.flat import Flat, HalfFlat
from nbvi.graph import Placeholder, Program


def logp_and_grad(cls, value):
    x = Placeholder(value.shape[1:], name="x")
    logp, (grad,) = Program([cls.dist().logp(x)], [x]).value_and_grad([value])
    return logp, grad


@given(arrays(np.float64, array_shapes(min_dims=1, max_dims=3, max_side=3),
              elements=st.floats(-1e6, 1e6, allow_nan=False)))
def test_flat_logp_and_gradient_are_zero_everywhere(value):
    logp, grad = logp_and_grad(Flat, value)
    np.testing.assert_array_equal(logp, np.zeros(value.shape[0]))
    np.testing.assert_array_equal(grad, np.zeros_like(value))


@given(arrays(np.float64, array_shapes(min_dims=1, max_dims=3, max_side=3),
              elements=st.floats(-10.0, 10.0, allow_nan=False)))
def test_halfflat_is_zero_on_the_positive_values_only(value):
    logp, grad = logp_and_grad(HalfFlat, value)
    expected = np.where((value.reshape(value.shape[0], -1) > 0).all(axis=1), 0.0, -np.inf)
    np.testing.assert_array_equal(logp, expected)
    np.testing.assert_array_equal(grad, np.zeros_like(value))


def test_kernels_directly():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    logp, grad = flat_kernel(x)
    np.testing.assert_array_equal(logp, [0.0, 0.0])
    assert grad.shape == x.shape and not grad.any()
    logp, grad = halfflat_kernel(x)
    np.testing.assert_array_equal(logp, [-np.inf, 0.0])
    assert grad.shape == x.shape and not grad.any()
    assert halfflat_kernel(np.array([[0.0]]))[0][0] == -np.inf  # 0 is outside x > 0


@pytest.mark.parametrize("cls, start, transform", [(Flat, 0.0, None), (HalfFlat, 1.0, "log")])
def test_initial_point_transform_and_shape(cls, start, transform):
    dist = cls.dist(shape=(2, 3))
    assert dist.shape == (2, 3)
    np.testing.assert_array_equal(dist.initial_value(), np.full((2, 3), start))
    t = dist.default_transform()
    assert (t.name if t is not None else None) == transform


@pytest.mark.parametrize("cls", [Flat, HalfFlat])
def test_random_is_a_clear_error(cls):
    with pytest.raises(ValueError, match="improper"):
        cls.dist(shape=3).random(size=10, rng=0)
