"""ZeroSumNormal and its zerosum transform: the log-density against an independent computation (a Normal on
an orthonormal basis of the zero-sum subspace), gradients by central differences, the tape against the
graph walk for observed values, the transform's round trip and log-Jacobian, draws that sum to zero with
variance sigma^2 (n-1)/n, and clear errors."""
import numpy as np
import pytest
from density_checks import assert_matches_finite_differences, assert_tape_is_graph
from gradcheck import assert_grad_close
from scipy import stats

import nbvi
from nbvi.transforms import ZeroSumTransform


def basis(n):
    """An orthonormal basis (n, n-1) of the vectors of length n summing to zero, from an SVD (not the
    Householder construction the transform uses)."""
    centering = np.eye(n) - 1.0 / n
    u, s, _ = np.linalg.svd(centering)
    return u[:, s > 0.5]


def reference_logp(x, sigma, n_axes):
    """log N(0, sigma^2 I_K) of the coordinates of each event on an orthonormal basis of the subspace."""
    shape = x.shape[x.ndim - n_axes:]
    q = basis(shape[-1])
    coords = x @ q
    if n_axes == 2:
        coords = np.swapaxes(np.swapaxes(coords, -1, -2) @ basis(shape[-2]), -1, -2)
    coords = coords.reshape(coords.shape[:coords.ndim - n_axes] + (-1,))
    return stats.norm.logpdf(coords, 0.0, np.asarray(sigma)[..., None]).sum(axis=-1)


def zero_sum(rng, shape, n_axes):
    x = rng.normal(size=shape)
    for k in range(1, n_axes + 1):
        x = x - x.mean(axis=-k, keepdims=True)
    return x


@pytest.mark.parametrize("shape, n_axes", [((5,), 1), ((3, 4), 1), ((3, 4), 2), ((2, 3, 4), 2)])
def test_logp_is_a_normal_on_the_subspace(shape, n_axes):
    rng = np.random.default_rng(0)
    x = zero_sum(rng, shape, n_axes)
    dist = nbvi.ZeroSumNormal.dist(sigma=1.7, n_zerosum_axes=n_axes, shape=shape)
    expected = reference_logp(x, 1.7, n_axes)
    np.testing.assert_allclose(dist.logp(x).eval(), expected.sum(), rtol=1e-12)
    pointwise = dist.logp_elementwise(x[None], sigma=np.array([1.7]))
    np.testing.assert_allclose(pointwise[0], expected, rtol=1e-12)


def test_a_batched_sigma_scales_each_event():
    rng = np.random.default_rng(1)
    x = zero_sum(rng, (3, 4), 1)
    sigma = np.array([[0.5], [1.0], [2.0]])
    dist = nbvi.ZeroSumNormal.dist(sigma=sigma, shape=(3, 4))
    np.testing.assert_allclose(dist.logp(x).eval(), reference_logp(x, sigma[:, 0], 1).sum(), rtol=1e-12)


def free_model(shape=(3, 4), n_axes=1):
    with nbvi.Model() as model:
        sigma = nbvi.HalfNormal("sigma", 1.0)
        nbvi.ZeroSumNormal("x", sigma=sigma, n_zerosum_axes=n_axes, shape=shape)
    return model


@pytest.mark.parametrize("n_axes", [1, 2])
def test_gradient_of_the_free_model_matches_central_differences(n_axes):
    model = free_model(n_axes=n_axes)
    assert model.ndim == 1 + (3 * 3 if n_axes == 1 else 2 * 3)
    theta = model.initial_point_flat() + 0.3 * np.random.default_rng(2).standard_normal(model.ndim)
    _, grad = model.logp_dlogp(theta[None])
    assert_grad_close(lambda t: float(model.logp_dlogp(t[None])[0][0]), grad[0], theta, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("n_axes", [1, 2])
def test_density_of_the_coordinates_is_a_standard_normal_times_sigma(n_axes):
    """The transform is an isometry with log-Jacobian 0: the free model's density at u is that of the
    coordinates u ~ N(0, sigma) (plus sigma's own prior and log-Jacobian)."""
    model = free_model(n_axes=n_axes)
    theta = 0.4 * np.random.default_rng(3).standard_normal(model.ndim)
    logp, _ = model.logp_dlogp(theta[None])
    log_sigma, u = theta[0], theta[1:]
    sigma = np.exp(log_sigma)
    expected = (stats.halfnorm.logpdf(sigma) + log_sigma + stats.norm.logpdf(u, 0.0, sigma).sum())
    np.testing.assert_allclose(logp[0], expected, rtol=1e-12)


def test_the_free_variable_runs_on_the_tape():
    """The zero-sum transform is linear: on the tape, x = u A^T is one matrix product (log-Jacobian 0)."""
    model = free_model()
    assert nbvi.explain(model).path == "tape"
    assert_tape_is_graph(model)
    assert_matches_finite_differences(model)


@pytest.mark.parametrize("shape, axes", [((5,), 1), ((3, 4), 1), ((3, 4), 2), ((2, 3, 4), 2)])
def test_free_variables_of_every_layout_run_on_the_tape(shape, axes):
    rng = np.random.default_rng(2)
    with nbvi.Model() as model:
        s = nbvi.HalfNormal("s", 1.0)
        z = nbvi.ZeroSumNormal("z", sigma=s, shape=shape, n_zerosum_axes=axes)
        nbvi.Normal("y", z + 0.5, 1.0, observed=rng.normal(size=shape))
    assert nbvi.explain(model).path == "tape"
    assert_tape_is_graph(model)


def test_observed_values_run_on_the_tape():
    rng = np.random.default_rng(4)
    with nbvi.Model() as model:
        sigma = nbvi.HalfNormal("sigma", 1.0)
        nbvi.ZeroSumNormal("y", sigma=sigma, n_zerosum_axes=2, observed=zero_sum(rng, (3, 4, 5), 2))
    assert nbvi.explain(model).path == "tape"
    assert_tape_is_graph(model)
    assert_matches_finite_differences(model)


@pytest.mark.parametrize("axes, shape", [((-1,), (4, 5)), ((-2, -1), (4, 5)), ((0,), (4, 5)), ((-2, -1), (2, 3, 4))])
def test_transform_round_trip_log_jacobian_and_vjp(axes, shape):
    t = ZeroSumTransform(axes)
    rng = np.random.default_rng(5)
    ushape = t.unconstrained_shape(shape)
    assert t.constrained_shape(ushape) == shape
    u = rng.normal(size=(2,) + ushape)
    x = t.backward(u)
    assert x.shape == (2,) + shape
    for a in axes:
        np.testing.assert_allclose(x.sum(axis=a + 1 if a >= 0 else a), 0.0, atol=1e-12)
    np.testing.assert_allclose(t.forward(x), u, atol=1e-12)
    # an isometry: |x| = |u|, and the log-Jacobian on the subspace is 0
    np.testing.assert_allclose((x ** 2).reshape(2, -1).sum(1), (u ** 2).reshape(2, -1).sum(1), rtol=1e-12)
    np.testing.assert_array_equal(t.log_jac_det(u), 0.0)
    np.testing.assert_array_equal(t.log_jac_det_grad(u), 0.0)
    # the columns of dx/du are orthonormal: J^T J = I
    flat = lambda v: t.backward(v.reshape((1,) + ushape)).ravel()  # noqa: E731
    jac = np.stack([flat(e) for e in np.eye(int(np.prod(ushape)))], axis=1)
    np.testing.assert_allclose(jac.T @ jac, np.eye(jac.shape[1]), atol=1e-12)
    g = rng.normal(size=(2,) + shape)
    np.testing.assert_allclose(t.backward_vjp(u, g)[0].ravel(), jac.T @ g[0].ravel(), atol=1e-12)
    for d in range(2):
        assert_grad_close(lambda v, d=d: float(np.sum(g[d] * t.backward(v[None])[0])), t.backward_vjp(u, g)[d], u[d])


def test_forward_is_pymcs_extend_axis_rev():
    x = np.array([[1.0, -3.0, 0.5, 1.5]])
    n = 4.0
    expected = x[:, :-1] - x[:, -1:] * np.sqrt(n) / (np.sqrt(n) + n)
    np.testing.assert_allclose(ZeroSumTransform((-1,)).forward(x), expected, rtol=1e-14)


@pytest.mark.parametrize("shape, n_axes", [((6,), 1), ((3, 5), 2)])
def test_draws_sum_to_zero_with_the_right_marginal_variance(shape, n_axes):
    sigma = 2.0
    draws = nbvi.ZeroSumNormal.dist(sigma=sigma, n_zerosum_axes=n_axes, shape=shape).random(size=20000, rng=6)
    for k in range(1, n_axes + 1):
        np.testing.assert_allclose(draws.sum(axis=-k), 0.0, atol=1e-12)
    factor = np.prod([(n - 1) / n for n in shape[len(shape) - n_axes:]])
    variance = draws.var(axis=0)
    # the variance estimate's relative standard error is sqrt(2 / 20000) = 0.01: 5 standard errors
    np.testing.assert_allclose(variance, sigma ** 2 * factor, rtol=0.05)


def test_prior_predictive_with_a_free_sigma_sums_to_zero():
    with free_model(shape=(2, 5)):
        prior = nbvi.sample_prior_predictive(50, random_seed=7)
    x = np.asarray(prior["x"] if not hasattr(prior, "prior") else prior.prior["x"])
    np.testing.assert_allclose(x.sum(axis=-1), 0.0, atol=1e-12)


def test_initial_point_is_zero_and_fit_keeps_the_constraint():
    model = free_model()
    np.testing.assert_array_equal(model.initial_point_flat(), np.zeros(model.ndim))
    with model:
        trace = nbvi.fit(200, random_seed=8, progressbar=False).sample(20, random_seed=9)
    np.testing.assert_allclose(np.asarray(trace["x"]).sum(axis=-1), 0.0, atol=1e-12)


def test_bad_inputs_are_clear_errors():
    with nbvi.Model():
        with pytest.raises(ValueError, match="'x'.*shape, dims or observed"):
            nbvi.ZeroSumNormal("x", sigma=1.0)
        with pytest.raises(ValueError, match="'x'.*sigma must have length one across the zero-sum axes"):
            nbvi.ZeroSumNormal("x", sigma=np.ones(4), shape=(3, 4))
        with pytest.raises(ValueError, match="'x'.*n_zerosum_axes must be >= 1"):
            nbvi.ZeroSumNormal("x", n_zerosum_axes=0, shape=(3,))
        with pytest.raises(TypeError, match="'x'.*n_zerosum_axes must be an integer"):
            nbvi.ZeroSumNormal("x", n_zerosum_axes=1.5, shape=(3,))
        with pytest.raises(ValueError, match="'x'.*fewer axes than n_zerosum_axes"):
            nbvi.ZeroSumNormal("x", n_zerosum_axes=2, shape=(3,))
        with pytest.raises(ValueError, match="'x'.*at least 2 values"):
            nbvi.ZeroSumNormal("x", shape=(3, 1))
        with pytest.raises(ValueError, match="'x'.*sigma must be > 0"):
            nbvi.ZeroSumNormal("x", sigma=-1.0, shape=(3,))
        with pytest.raises(ValueError, match="sum to zero"):
            nbvi.ZeroSumNormal("y", observed=np.array([1.0, 2.0, 3.0]))


def test_size_with_support_shape():
    dist = nbvi.ZeroSumNormal.dist(sigma=1.0, size=(2,), support_shape=(4,))
    assert dist.shape == (2, 4)
