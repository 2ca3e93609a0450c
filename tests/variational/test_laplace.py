"""The Laplace approximation, fit(method="laplace"): exact mean and covariance on a Gaussian posterior, the mode
and curvature of the unconstrained density (Jacobians included) for a transformed variable, the Hessian by
central differences against analytic Hessians, PSIS on a near-Gaussian posterior, the fit's options and its
errors."""
import numpy as np
import pytest
from conjugate import gaussian_regression

import nbvi
from nbvi.variational.laplace import LaplaceApproximation, LaplaceInference, hessian


def half_normal_scale(rows=20, seed=0):
    """sigma ~ HalfNormal(1), y ~ Normal(0, sigma), u = log sigma. The density of u (Jacobian u included) is
    log p(u) = -s / 2 - n u - S / (2 s) + u + const with s = e^(2u) and S = sum y^2, so
    d/du = -s - n + S / s + 1 (mode: s^2 + (n - 1) s - S = 0) and d^2/du^2 = -2 s - 2 S / s."""
    y = np.random.default_rng(seed).normal(0.0, 2.0, rows)
    with nbvi.Model() as model:
        sigma = nbvi.HalfNormal("sigma", 1.0)
        nbvi.Normal("y", 0.0, sigma, observed=y)
    S = float(np.sum(y * y))
    s = (-(rows - 1) + np.sqrt((rows - 1) ** 2 + 4.0 * S)) / 2.0  # sigma^2 at the mode of u
    return model, np.log(s) / 2.0, -2.0 * s - 2.0 * S / s


def test_a_gaussian_posterior_is_recovered_exactly():
    model, mean, precision = gaussian_regression()
    approx = nbvi.fit(method="laplace", model=model, progressbar=False)
    assert isinstance(approx, LaplaceApproximation)
    np.testing.assert_allclose(approx.mean.eval(), mean, rtol=0, atol=1e-6)
    cov = np.linalg.inv(precision)
    np.testing.assert_allclose(approx.cov(), cov, rtol=1e-6, atol=1e-6 * np.abs(cov).max())
    np.testing.assert_allclose(approx.std.eval(), np.sqrt(np.diag(cov)), rtol=1e-6)
    np.testing.assert_allclose(approx.hessian, -precision, rtol=1e-7)
    # q equals the posterior: the entropy and log q are those of N(mean, P^-1)
    _, logdet = np.linalg.slogdet(cov)
    assert approx.entropy() == pytest.approx(0.5 * logdet + 1.5 * (1.0 + np.log(2.0 * np.pi)), rel=1e-9)
    theta = mean + np.array([[0.01, -0.02, 0.03]])
    expected = -0.5 * (theta - mean) @ precision @ (theta - mean).T - 0.5 * logdet - 1.5 * np.log(2.0 * np.pi)
    assert approx.logq(theta)[0] == pytest.approx(expected[0, 0], rel=1e-6)
    assert nbvi.psis_diagnostic(approx, random_seed=0).khat < 0.5  # the ratios p / q are constant


def test_a_transformed_variable_is_approximated_on_the_unconstrained_space():
    model, mode, curvature = half_normal_scale()
    approx = nbvi.fit(method="laplace", model=model, progressbar=False)
    np.testing.assert_allclose(approx.mean.eval(), [mode], rtol=1e-8)
    np.testing.assert_allclose(approx.cov(), [[-1.0 / curvature]], rtol=1e-7)
    draws = approx.sample(2000, random_seed=1)["sigma"]
    assert draws.shape == (2000,) and draws.min() > 0  # a scale stays positive
    assert np.all(np.isfinite(approx.hist)) and approx.hist[-1] <= approx.hist[0]  # -log p per iteration


def test_the_hessian_matches_an_analytic_hessian():
    # log p = sum_i (a_i x_i - e^{x_i}) + c x_0 x_1 - x_0^4 / 12: a non-quadratic density, so the central
    # differences carry a truncation error h^2 / 6 |d^3 g| as well as round-off; both are near eps^(2/3)
    a, c = np.array([1.0, 2.0, 0.5]), 0.7

    def logp_dlogp(theta):
        x0, x1 = theta[:, 0], theta[:, 1]
        logp = np.sum(a * theta - np.exp(theta), axis=1) + c * x0 * x1 - x0 ** 4 / 12.0
        grad = a - np.exp(theta)
        grad[:, 0] += c * x1 - x0 ** 3 / 3.0
        grad[:, 1] += c * x0
        return logp, grad

    theta = np.array([0.4, -1.3, 2.5])
    expected = np.diag(-np.exp(theta))
    expected[0, 0] -= theta[0] ** 2
    expected[0, 1] = expected[1, 0] = c
    H = hessian(logp_dlogp, theta)
    np.testing.assert_allclose(H, expected, rtol=1e-8, atol=1e-9)
    assert np.array_equal(H, H.T)


def test_the_hessian_of_a_model_uses_one_call_of_its_density():
    model, mode, curvature = half_normal_scale()
    calls = []

    def counted(theta):
        calls.append(theta.shape)
        return model.logp_dlogp(theta)

    H = hessian(counted, np.array([mode]))
    assert calls == [(2, 1)]
    assert H[0, 0] == pytest.approx(curvature, rel=1e-8)


def test_a_near_gaussian_posterior_passes_psis():
    y = np.random.default_rng(3).normal(1.0, 2.0, 200)
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 10.0)
        sigma = nbvi.HalfNormal("sigma", 5.0)
        nbvi.Normal("y", mu, sigma, observed=y)
    approx = nbvi.fit(method="laplace", model=model, random_seed=0, progressbar=False)
    assert nbvi.psis_diagnostic(approx, draws=2000, random_seed=0).khat < 0.7


def test_random_seed_start_and_n():
    model, mode, _ = half_normal_scale()
    first = nbvi.fit(method="laplace", model=model, random_seed=5, progressbar=False).sample(10)["sigma"]
    again = nbvi.fit(method="laplace", model=model, random_seed=5, progressbar=False).sample(10)["sigma"]
    other = nbvi.fit(method="laplace", model=model, random_seed=6, progressbar=False).sample(10)["sigma"]
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    # n=0: no iteration, q sits at the start (with the warning that it is not the mode)
    with pytest.warns(UserWarning, match="did not converge"):
        approx = nbvi.fit(0, method="laplace", model=model, start={"sigma": 3.0}, progressbar=False)
    np.testing.assert_allclose(approx.mean.eval(), [np.log(3.0)], rtol=1e-15)
    assert len(approx.hist) == 0


def test_non_convergence_warns_and_refine_goes_on():
    model, mean, _ = gaussian_regression()
    inference = LaplaceInference(model=model)
    with pytest.warns(UserWarning, match="did not converge within 1 iteration"):
        inference.fit(1, progressbar=False)
    assert len(inference.hist) == 1 and np.abs(inference.approx.mean.eval() - mean).max() > 1e-3
    inference.refine(1000, progressbar=False)
    np.testing.assert_allclose(inference.approx.mean.eval(), mean, rtol=0, atol=1e-6)
    assert len(inference.hist) > 2


def test_callbacks_see_each_iterate_and_can_stop():
    model, mean, _ = gaussian_regression()
    tracker = nbvi.callbacks.Tracker(mean=lambda approx, losses, i: approx.mean.eval())
    seen = []

    def stop_at_three(approx, losses, i):
        seen.append(i)
        if i == 3:
            raise StopIteration

    approx = nbvi.fit(method="laplace", model=model, callbacks=[tracker, stop_at_three], progressbar=False)
    assert seen == [1, 2, 3] and len(approx.hist) == 3
    np.testing.assert_array_equal(tracker["mean"][-1], approx.mean.eval())  # q is set at the stopping iterate


def test_a_flat_direction_is_an_error_naming_the_variable():
    with nbvi.Model() as model:
        nbvi.Flat("a")  # the density does not depend on it
        nbvi.Normal("b", 0.0, 1.0, shape=2)
    with pytest.raises(ValueError, match="negative definite Hessian.*'a'") as error:
        nbvi.fit(method="laplace", model=model, progressbar=False)
    assert "'b'" not in str(error.value)


def test_a_start_where_the_density_is_not_finite_names_the_variable():
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0)
        nbvi.Uniform("y", mu - 0.5, mu + 0.5, observed=np.array([3.0]))
    with pytest.raises(nbvi.SamplingError, match="Laplace approximation cannot start.*observed 'y'"):
        nbvi.fit(method="laplace", model=model, progressbar=False)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"obj_optimizer": nbvi.adam()}, ValueError, "obj_optimizer configures the stochastic optimizer"),
    ({"total_grad_norm_constraint": 1.0}, ValueError, "total_grad_norm_constraint configures"),
    ({"obj_n_mc": 2}, TypeError, "unexpected options"),
    ({"n": 2.5}, ValueError, "n must be an integer"),
    ({"n": -1}, ValueError, "n must be >= 0"),
    ({"callbacks": [1]}, TypeError, "callbacks"),
    ({"progressbar": "no"}, TypeError, "progressbar"),
    ({"random_seed": "abc"}, TypeError, "random_seed"),
    ({"start": {"sigmaa": 1.0}}, ValueError, "sigmaa"),
    ({"inf_kwargs": {"n_particles": 10}}, TypeError, "n_particles"),
])
def test_options_are_checked(kwargs, error, match):
    model, _, _ = half_normal_scale()
    with pytest.raises(error, match=match):
        nbvi.fit(method="laplace", model=model, progressbar=False, **kwargs)


def test_a_minibatch_model_is_refused():
    data = np.random.default_rng(0).normal(size=100)
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0)
        nbvi.Normal("y", mu, 1.0, observed=nbvi.Minibatch(data, batch_size=10), total_size=100)
    with pytest.raises(ValueError, match="Minibatch"):
        nbvi.fit(method="laplace", model=model, progressbar=False)
