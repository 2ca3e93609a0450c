"""Normal: log-density against scipy, every gradient against central differences, both kernels agree."""
import numpy as np
import pytest
from gradcheck import assert_grad_close
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from nbvi.distributions.elementwise import normal_kernel
from nbvi.distributions.normal import Normal, normal_rows_kernel
from nbvi.graph import Constant, Placeholder, Program


@st.composite
def normal_case(draw):
    """A value shape, parameter shapes that broadcast against it, draw counts and in-support values."""
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=2)))
    def param_shape():
        k = draw(st.integers(0, len(shape)))
        return tuple(1 if draw(st.booleans()) else n for n in shape[len(shape) - k:])
    mu_shape, sigma_shape = param_shape(), param_shape()
    draws = [draw(st.sampled_from([1, 3])) for _ in range(3)]
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(draws[0],) + shape)
    mu = rng.normal(size=(draws[1],) + mu_shape)
    sigma = rng.uniform(0.3, 3.0, size=(draws[2],) + sigma_shape)
    return x, mu, sigma


def logp_program(x, mu, sigma):
    nodes = [Placeholder(v.shape[1:], name) for v, name in zip((x, mu, sigma), "xms")]
    return Program([Normal.dist(nodes[1], nodes[2]).logp(nodes[0])], nodes)


@given(normal_case())
def test_logp_matches_scipy(case):
    x, mu, sigma = case
    logp, _ = logp_program(x, mu, sigma).value_and_grad([x, mu, sigma])
    draws = max(len(x), len(mu), len(sigma))
    rank = x.ndim - 1
    lift = lambda v: v.reshape(v.shape[:1] + (1,) * (rank - (v.ndim - 1)) + v.shape[1:])  # noqa: E731
    expected = stats.norm.logpdf(lift(x), lift(mu), lift(sigma))
    expected = np.broadcast_to(expected, (draws,) + expected.shape[1:]).reshape(draws, -1).sum(axis=1)
    np.testing.assert_allclose(logp, expected, rtol=1e-10, atol=1e-10)


@given(normal_case())
def test_gradients_match_finite_differences(case):
    values = list(case)
    program = logp_program(*values)
    _, grads = program.value_and_grad(values)
    for k in range(3):
        def total(v, k=k):
            args = list(values)
            args[k] = v
            return program.value_and_grad(args)[0].sum()
        assert_grad_close(total, grads[k], values[k])


@pytest.mark.parametrize("draws", [1, 2])
@pytest.mark.parametrize("param_shape", [(), (9,), (1,)])
def test_rows_kernel_matches_closed_form(draws, param_shape):
    rng = np.random.default_rng(0)
    data = rng.normal(size=(2000, 9)) * 2.0 + 0.5  # 18000 elements: large enough for the rows kernel
    mu = rng.normal(size=(draws,) + param_shape)
    sigma = rng.uniform(0.5, 2.0, size=(draws,) + param_shape)
    m, s = Placeholder(param_shape, "mu"), Placeholder(param_shape, "sigma")
    program = Program([Normal.dist(m, s).logp(Constant(data))], [m, s])
    logp, (g_mu, g_sigma) = program.value_and_grad([mu, sigma])
    dist = program.steps[-1][1].op.dist
    assert all(plan.rows for plan in dist._layouts.values())  # the fused kernel did the work

    mu_b, sigma_b = mu.reshape(draws, 1, -1), sigma.reshape(draws, 1, -1)  # broadcast against (rows, 9)
    z = (data[None] - mu_b) / sigma_b
    expected = stats.norm.logpdf(data[None], mu_b, sigma_b).reshape(draws, -1).sum(1)
    # d/dmu = sum (x - mu) / sigma^2, d/dsigma = sum ((x - mu)^2 / sigma^3 - 1 / sigma), over broadcast axes
    reduce_to = lambda g: g.sum(axis=1) if param_shape == (9,) else g.reshape(draws, -1).sum(1)  # noqa: E731
    np.testing.assert_allclose(logp, expected, rtol=1e-10)
    np.testing.assert_allclose(g_mu.reshape(draws, -1).ravel(), reduce_to(z / sigma_b).ravel(), rtol=1e-8)
    np.testing.assert_allclose(g_sigma.reshape(draws, -1).ravel(), reduce_to((z * z - 1) / sigma_b).ravel(), rtol=1e-8)

    # the elementwise kernel on the same (materialised) arguments agrees
    full = lambda v: np.ascontiguousarray(np.broadcast_to(v, (draws, 2000, 9)).reshape(draws, -1))  # noqa: E731
    lp_e, _, gm_e, gs_e = normal_kernel(data.reshape(1, -1), full(mu_b), full(sigma_b))
    np.testing.assert_allclose(lp_e, logp, rtol=1e-10)
    lp_r, gm_r, gs_r = normal_rows_kernel(data, np.arange(2000), mu.reshape(draws, -1), sigma.reshape(draws, -1))
    np.testing.assert_allclose(lp_r, logp, rtol=1e-10)
    np.testing.assert_allclose(gm_r.ravel(), reduce_to(gm_e.reshape(draws, 2000, 9)).ravel(), rtol=1e-8)
    np.testing.assert_allclose(gs_r.ravel(), reduce_to(gs_e.reshape(draws, 2000, 9)).ravel(), rtol=1e-8)


def test_nonpositive_sigma_at_runtime_gives_minus_inf_not_nan():
    lp, g_x, g_mu, g_sigma = normal_kernel(np.zeros((1, 2)), np.zeros((1, 1)), np.array([[-1.0]]))
    assert lp[0] == -np.inf
    assert np.all(np.isfinite(g_x)) and np.all(np.isfinite(g_mu)) and np.all(np.isfinite(g_sigma))


def test_parameter_aliases_and_validation():
    assert Normal.dist(0.0, sd=2.0).param_values()["sigma"] == 2.0
    np.testing.assert_allclose(Normal.dist(0.0, tau=4.0).param_values()["sigma"], 0.5)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        Normal.dist(0.0, 0.0)
    with pytest.raises(ValueError, match="only one"):
        Normal.dist(0.0, sigma=1.0, sd=1.0)
    with pytest.raises(ValueError, match="NaN"):
        Normal.dist(np.nan, 1.0)


def test_random_shape_and_moments():
    dist = Normal.dist(np.array([1.0, -2.0]), np.array([0.5, 2.0]))
    draws = dist.random(size=20000, rng=1)
    assert draws.shape == (20000, 2)
    # 5 standard errors of the mean: sigma / sqrt(n)
    np.testing.assert_allclose(draws.mean(0), [1.0, -2.0], atol=5 * 2.0 / np.sqrt(20000))
    np.testing.assert_allclose(draws.std(0), [0.5, 2.0], rtol=0.05)
    assert np.array_equal(dist.random(size=3, rng=7), dist.random(size=3, rng=7))


def test_moment_is_mu():
    np.testing.assert_allclose(Normal.dist(np.array([1.0, 2.0]), 1.0).initial_value(), [1.0, 2.0])


@given(st.floats(-5.0, 5.0), st.floats(0.0, 50.0), st.integers(1, 500), st.floats(-5.0, 5.0), st.floats(0.1, 5.0))
def test_column_statistics_gradient_matches_finite_differences(mean, spread, n_rows, mu, sigma):
    """normal_column_logp_grad: the log-likelihood of a column from its mean and sum of squared deviations,
    equal to the sum over rows, with d/dmu and d/dsigma checked by central differences."""
    from nbvi.distributions.normal import normal_column_logp_grad

    logp, d_mu, d_sigma = normal_column_logp_grad(mean, spread, n_rows, mu, sigma)
    want = -(spread + n_rows * (mean - mu) ** 2) / (2 * sigma**2) - n_rows * np.log(sigma * np.sqrt(2 * np.pi))
    np.testing.assert_allclose(logp, want, rtol=1e-12)
    params = np.array([mu, sigma])
    assert_grad_close(lambda p: normal_column_logp_grad(mean, spread, n_rows, p[0], p[1])[0],
                      np.array([d_mu, d_sigma]), params)
    assert normal_column_logp_grad(mean, spread, n_rows, mu, 0.0) == (-np.inf, 0.0, 0.0)
