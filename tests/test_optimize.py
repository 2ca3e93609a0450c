"""find_MAP (PyMC's pm.find_MAP): exact on a conjugate Gaussian, the mode of the constrained density (the
log-Jacobians left out, PyMC's convention) for a transformed variable, the returned names and shapes, and its
argument checks, start errors and non-convergence warning."""
import warnings

import numpy as np
import pytest
from conjugate import gaussian_regression
from gradcheck import numeric_grad

import nbvi
from nbvi.optimize import jacobian_free, maximise


def half_normal_scale(rows=20, seed=0):
    """sigma ~ HalfNormal(1), y ~ Normal(0, sigma): log p(sigma) = -sigma^2 / 2 - n log sigma - S / (2 sigma^2)
    + const with S = sum y^2, whose mode solves sigma^4 + n sigma^2 - S = 0."""
    y = np.random.default_rng(seed).normal(0.0, 2.0, rows)
    with nbvi.Model() as model:
        sigma = nbvi.HalfNormal("sigma", 1.0)
        nbvi.Normal("y", 0.0, sigma, observed=y)
    return model, rows, float(np.sum(y * y))


@pytest.mark.parametrize("method", ["L-BFGS-B", "BFGS", "cg"])
def test_the_map_of_a_gaussian_posterior_is_its_mean(method):
    model, mean, _ = gaussian_regression()
    with model:
        nbvi.Deterministic("beta_sum", model["beta"].sum())
    point, result = nbvi.find_MAP(model=model, method=method, progressbar=False, return_raw=True)
    assert ("hess_inv" in result) == (method != "cg")  # CG keeps no inverse Hessian: the method is scipy's
    # the optimisers stop at a gradient near round-off (|grad| <= 1e-6 |log p|); P's smallest eigenvalue
    # is about 1, so the point is within about 1e-6 |log p| / 1 ~ 1e-5 in the worst case, far less in practice
    np.testing.assert_allclose(point["beta"], mean, rtol=0, atol=1e-6)
    np.testing.assert_allclose(point["beta_sum"], mean.sum(), rtol=0, atol=3e-6)
    assert set(point) == {"beta", "beta_sum"}  # no transformed variables


def test_a_transformed_variable_gets_the_mode_of_its_own_density_as_pymc():
    model, n, S = half_normal_scale()
    point = nbvi.find_MAP(model=model, progressbar=False)
    mode = np.sqrt((-n + np.sqrt(n * n + 4.0 * S)) / 2.0)  # sigma^4 + n sigma^2 - S = 0
    with_jacobian = np.sqrt((-(n - 1) + np.sqrt((n - 1) ** 2 + 4.0 * S)) / 2.0)  # the mode of log sigma's density
    assert abs(with_jacobian - mode) > 1e-2  # the two conventions differ here
    np.testing.assert_allclose(point["sigma"], mode, rtol=1e-8)
    np.testing.assert_allclose(point["sigma_log__"], np.log(mode), rtol=1e-8)  # PyMC's name of the value variable
    assert isinstance(point["sigma"], np.ndarray) and point["sigma"].shape == ()
    assert set(nbvi.find_MAP(model=model, progressbar=False, include_transformed=False)) == {"sigma"}


def test_the_objective_is_the_density_without_the_jacobians_with_its_gradient():
    model, _, _ = half_normal_scale()
    with model:
        nbvi.Beta("p", 2.0, 3.0, shape=2)  # a logodds transform, a vector
    f = jacobian_free(model)
    theta = np.array([0.3, -0.4, 0.8])
    logp, grad = f(theta[None])
    point = {"sigma": np.exp(theta[0]), "p": 1.0 / (1.0 + np.exp(-theta[1:]))}
    assert logp[0] == pytest.approx(model.logp(point, jacobian=False), rel=1e-12)
    numeric = numeric_grad(lambda t: f(t[None])[0][0], theta)
    np.testing.assert_allclose(grad[0], numeric, rtol=1e-6)


def test_start_and_return_raw():
    model, n, S = half_normal_scale()
    point, result = nbvi.find_MAP(start={"sigma": 5.0}, model=model, return_raw=True, progressbar=False)
    assert result.success and result.nfev > 1
    np.testing.assert_allclose(point["sigma"], np.sqrt((-n + np.sqrt(n * n + 4.0 * S)) / 2.0), rtol=1e-8)
    with pytest.warns(UserWarning, match="did not converge"):  # one evaluation: the start itself
        assert nbvi.find_MAP(start={"sigma": 5.0}, model=model, maxeval=1, progressbar=False)["sigma"] == pytest.approx(5.0)
    with model:  # the model of the with block, and a flat unconstrained start
        assert nbvi.find_MAP(start=np.array([1.5]), progressbar=False)["sigma"] == pytest.approx(point["sigma"])


def test_a_run_out_of_evaluations_warns_and_returns_the_best_point():
    model, mean, _ = gaussian_regression()
    with pytest.warns(UserWarning, match="find_MAP did not converge .*3 evaluations"):
        point, result = nbvi.find_MAP(model=model, maxeval=3, return_raw=True, progressbar=False)
    assert not result.success and result.nfev == 3
    assert np.all(np.isfinite(point["beta"])) and np.abs(point["beta"] - mean).max() > 1e-3


def test_progressbar(capsys):
    model, _, _ = half_normal_scale()
    nbvi.find_MAP(model=model, progressbar=False)
    assert capsys.readouterr().err == ""
    nbvi.find_MAP(model=model, progressbar=True)
    assert "Loss = " in capsys.readouterr().err


def test_a_start_where_the_density_is_not_finite_names_the_variable():
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0)
        nbvi.Uniform("y", mu - 0.5, mu + 0.5, observed=np.array([3.0]))  # outside (-0.5, 0.5) at mu = 0
    with pytest.raises(nbvi.SamplingError, match="find_MAP cannot start.*observed 'y'"):
        nbvi.find_MAP(model=model, progressbar=False)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"method": "Powell"}, ValueError, "method must be one of"),
    ({"method": None}, ValueError, "method must be one of"),
    ({"maxeval": 0}, ValueError, "maxeval must be >= 1"),
    ({"maxeval": 2.5}, ValueError, "maxeval must be an integer"),
    ({"maxeval": "10"}, TypeError, "maxeval must be an integer"),
    ({"return_raw": "yes"}, TypeError, "return_raw must be True or False"),
    ({"progressbar": "no"}, TypeError, "progressbar must be True or False"),
    ({"include_transformed": 1}, TypeError, "include_transformed must be True or False"),
    ({"start": {"sigmaa": 1.0}}, ValueError, "sigmaa"),
    ({"start": {"sigma": -1.0}}, ValueError, "start: value of 'sigma'"),
    ({"start": np.zeros(2)}, ValueError, "start must be"),
    ({"model": "m"}, TypeError, "model must be an nbvi.Model"),
])
def test_arguments_are_checked(kwargs, error, match):
    model, _, _ = half_normal_scale()
    kwargs = {"model": model, "progressbar": False, **kwargs}
    with pytest.raises(error, match=match):
        nbvi.find_MAP(**kwargs)


def test_a_minibatch_model_is_refused():
    data = np.random.default_rng(0).normal(size=100)
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0)
        nbvi.Normal("y", mu, 1.0, observed=nbvi.Minibatch(data, batch_size=10), total_size=100)
    with pytest.raises(ValueError, match="Minibatch"):
        nbvi.find_MAP(model=model, progressbar=False)


def test_maximise_stops_when_asked_and_counts_iterations():
    def logp_dlogp(theta):  # log p = -sum (theta - 1)^2 / 2
        return -0.5 * np.sum((theta - 1.0) ** 2, axis=1), 1.0 - theta

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = maximise(logp_dlogp, np.zeros(3), on_iteration=lambda x, losses: len(losses) == 1)
    assert found.stopped and not found.converged and len(found.losses) == 1
    found = maximise(logp_dlogp, np.zeros(3))
    assert found.converged and not found.stopped
    np.testing.assert_allclose(found.x, 1.0, atol=1e-9)
    assert found.losses[-1] == pytest.approx(0.0, abs=1e-15)
