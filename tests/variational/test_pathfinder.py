"""Single-path Pathfinder, fit(method="pathfinder"): the exact posterior of a Gaussian model, the inverse-Hessian
factors against dense BFGS updates, log q / entropy / draws of the factored Gaussian against dense algebra,
sampling and PSIS, badly scaled regressions against NUTS, the options (each shown to act) and their errors."""
import json
import os
import signal
import sys
import warnings

import numpy as np
import pytest
from conjugate import gaussian_regression

import nbvi
from nbvi.variational.pathfinder import (
    LBFGSHistory,
    PathfinderApproximation,
    PathfinderInference,
    draw_from,
    gaussian_factors,
    inverse_hessian_factors,
    log_density,
    update_diagonal,
)

SCRIPTS = os.path.join(os.path.dirname(__file__), "..", "..", "scripts")
REFERENCE = os.path.join(os.path.dirname(__file__), "..", "data", "reference_posteriors.json")




class GaussianModel:
    """The inference contract for log p = -(theta - m)^T A (theta - m) / 2 in ``ndim`` dimensions, recording the
    number of points D of each ``logp_dlogp`` call in ``calls``."""

    def __init__(self, ndim=6, seed=0):
        rng = np.random.default_rng(seed)
        root = rng.normal(size=(ndim, ndim))
        self.ndim, self.m, self.A = ndim, rng.normal(size=ndim), root @ root.T + 0.5 * np.eye(ndim)
        self.calls = []

    def initial_point_flat(self):
        return np.zeros(self.ndim)

    def logp_dlogp(self, theta):
        self.calls.append(len(theta))
        v = theta - self.m
        return -0.5 * np.einsum("di,ij,dj->d", v, self.A, v), -v @ self.A

    def unravel(self, theta):
        return {"theta": theta}


def dense_bfgs(alpha, pairs):
    """H from diag(alpha) by the BFGS updates H <- (I - rho s y^T) H (I - rho y s^T) + rho s s^T, oldest first."""
    H = np.diag(alpha)
    for s, y in pairs:
        rho = 1.0 / (s @ y)
        V = np.eye(len(s)) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    return H


def random_factors(ndim, pairs, seed):
    """alpha, beta, gamma and the dense H of ``pairs`` (s, y) pairs of a random convex quadratic, with a point
    x and a gradient g."""
    rng = np.random.default_rng(seed)
    root = rng.normal(size=(ndim, ndim))
    A = root @ root.T + 0.1 * np.eye(ndim)
    history = LBFGSHistory(np.zeros(ndim), np.zeros(ndim), history_size=pairs)
    for _ in range(pairs):
        x = rng.normal(size=ndim)
        history.append(x, -A @ x)  # grad log p of N(0, A^-1)
    alpha, beta, gamma = history.factors()
    return alpha, beta, gamma, dense_bfgs(alpha, history.pairs), rng.normal(size=ndim), rng.normal(size=ndim)


def test_a_gaussian_posterior_is_recovered():
    model, mean, precision = gaussian_regression()
    approx = nbvi.fit(method="pathfinder", model=model, random_seed=0, progressbar=False, jitter=0.0)
    assert isinstance(approx, PathfinderApproximation)
    cov = np.linalg.inv(precision)
    sd = np.sqrt(np.diag(cov))
    # L-BFGS reaches the mode, and its inverse Hessian there is the posterior covariance up to ~1e-7 (the (s, y)
    # pairs of a quadratic are exact; the line searches are not, so BFGS's hereditary property holds only nearly)
    np.testing.assert_allclose(approx.mean.eval(), mean, rtol=0, atol=1e-8 * sd.min())
    np.testing.assert_allclose(approx.cov(), cov, rtol=0, atol=1e-5 * np.abs(cov).max())
    np.testing.assert_allclose(approx.std.eval(), sd, rtol=1e-5)
    _, logdet = np.linalg.slogdet(cov)
    assert approx.entropy() == pytest.approx(0.5 * logdet + 1.5 * (1.0 + np.log(2.0 * np.pi)), abs=1e-5)
    # hist: -ELBO of q_l per L-BFGS iteration; at the exact q log p - log q is the constant log Z
    assert 1 <= approx.iteration <= len(approx.hist) and approx.hist[approx.iteration - 1] == -approx.elbo
    assert np.min(approx.hist) == pytest.approx(-approx.elbo, abs=1e-6) and approx.hist[0] > approx.hist[-1] + 1
    assert nbvi.psis_diagnostic(approx, random_seed=0).khat < 0.5


def test_the_inverse_hessian_factors_equal_dense_bfgs_updates():
    for ndim, pairs in ((9, 3), (4, 6)):  # 2m < ndim (a thin QR) and 2m > ndim
        alpha, beta, gamma, H, _, _ = random_factors(ndim, pairs, seed=ndim)
        assert beta.shape == (ndim, 2 * pairs) and gamma.shape == (2 * pairs, 2 * pairs)
        np.testing.assert_allclose(np.diag(alpha) + beta @ gamma @ beta.T, H, rtol=1e-9, atol=1e-12 * np.abs(H).max())
    beta, gamma = inverse_hessian_factors(np.ones(3), np.zeros((3, 0)), np.zeros((3, 0)))  # no pairs: H = diag
    assert beta.shape == (3, 0) and gamma.shape == (0, 0)


def test_the_diagonal_update_is_the_diagonal_of_a_scaled_bfgs_update():
    rng = np.random.default_rng(1)
    alpha, s, y = rng.uniform(0.5, 2.0, 5), rng.normal(size=5), rng.normal(size=5)
    y += 3.0 * s  # s^T y > 0
    a, b = y @ (alpha * y), y @ s
    B = np.diag(a / (b * alpha))  # the Hessian diag(1 / alpha) scaled by a / b
    updated = B - B @ np.outer(s, s) @ B / (s @ B @ s) + np.outer(y, y) / b
    np.testing.assert_allclose(1.0 / update_diagonal(alpha, s, y), np.diag(updated), rtol=1e-12)
    assert update_diagonal(np.array([2.0]), np.array([0.3]), np.array([0.6]))[0] == pytest.approx(0.5)  # s / y


def test_a_pair_that_fails_the_curvature_condition_is_skipped():
    history = LBFGSHistory(np.zeros(2), np.zeros(2), history_size=6)
    history.append(np.array([1.0, 0.0]), np.array([-2.0, 0.0]))  # s^T y = 2 > 0: kept
    alpha = history.alpha.copy()
    history.append(np.array([2.0, 0.0]), np.array([-1.0, 0.0]))  # grad f falls along s: s^T y = -1, skipped
    assert len(history.pairs) == 1 and history.rejected == 1
    np.testing.assert_array_equal(history.alpha, alpha)
    np.testing.assert_array_equal(history.x, [2.0, 0.0])  # the path moves on all the same


def test_logq_entropy_and_draws_of_the_factored_gaussian_equal_dense_algebra():
    for ndim, pairs in ((9, 3), (4, 6)):
        alpha, beta, gamma, H, x, g = random_factors(ndim, pairs, seed=10 + ndim)
        gaussian = gaussian_factors(x, g, alpha, beta, gamma)
        np.testing.assert_allclose(gaussian.mu, x + H @ g, rtol=1e-9, atol=1e-12)
        # the draw is mu + M u with M M^T = H: the rows u = e_i give M's columns
        M = (draw_from(gaussian, np.eye(ndim)) - gaussian.mu).T
        np.testing.assert_allclose(M @ M.T, H, rtol=1e-9, atol=1e-12 * np.abs(H).max())
        theta = gaussian.mu + np.random.default_rng(0).normal(size=(4, ndim))
        v = theta - gaussian.mu
        _, logdet = np.linalg.slogdet(H)
        dense = -0.5 * np.einsum("di,ij,dj->d", v, np.linalg.inv(H), v) - 0.5 * logdet - 0.5 * ndim * np.log(2 * np.pi)
        np.testing.assert_allclose(log_density(gaussian, theta), dense, rtol=1e-9)
        approx = PathfinderApproximation(GaussianModel(ndim), random_seed=0)
        approx.set_gaussian(gaussian)
        np.testing.assert_allclose(approx.cov(), H, rtol=1e-9, atol=1e-12 * np.abs(H).max())
        np.testing.assert_allclose(approx.std.eval(), np.sqrt(np.diag(H)), rtol=1e-9)
        np.testing.assert_allclose(approx.logq(theta), dense, rtol=1e-9)
        assert approx.entropy() == pytest.approx(0.5 * logdet + ndim * 0.5 * (1.0 + np.log(2.0 * np.pi)), rel=1e-10)


def test_sample_sample_node_and_psis():
    model, mean, precision = gaussian_regression()
    approx = nbvi.fit(method="pathfinder", model=model, random_seed=1, progressbar=False)
    trace = approx.sample(4000, random_seed=2)
    assert trace["beta"].shape == (4000, 3)
    sd = np.sqrt(np.diag(np.linalg.inv(precision)))
    assert np.all(np.abs(trace["beta"].mean(axis=0) - mean) < 0.1 * sd)
    node = approx.sample_node(model["beta"].sum(), size=50)
    first, second = node.eval(), node.eval()
    assert first.shape == (50,) and not np.array_equal(first, second)  # fresh draws at every eval
    resampled = approx.sample(200, random_seed=3, psis=True)["beta"]
    assert resampled.shape == (200, 3) and np.all(np.abs(resampled.mean(axis=0) - mean) < 0.3 * sd)


@pytest.fixture(scope="module")
def bench_models():
    sys.path.insert(0, SCRIPTS)
    try:
        import bench_models
    finally:
        sys.path.remove(SCRIPTS)
    return bench_models


@pytest.mark.parametrize("name", ["kid_iq", "log_earnings"])
def test_badly_scaled_regressions_are_within_half_a_posterior_sd_of_nuts(bench_models, name):
    """Predictors near 66 and 100 and an interaction: every posterior mean within 0.5 sd of 4 x 20,000 NUTS
    draws (tests/data/reference_posteriors.json)."""
    model = bench_models.MODELS[name]()
    approx = nbvi.fit(method="pathfinder", model=model, random_seed=1, progressbar=False)
    with open(REFERENCE) as f:
        reference = json.load(f)[name]["variables"]
    values = model.unravel(approx.draw(20_000, np.random.default_rng(5)))
    for var, ref in reference.items():
        error = np.abs(values[var].reshape(20_000, -1).mean(axis=0) - ref["mean"]) / np.asarray(ref["sd"])
        assert np.all(error < 0.5), (var, error)


def test_each_iterate_costs_one_call_of_num_elbo_draws_points():
    model = GaussianModel()
    approx = nbvi.fit(method="pathfinder", model=model, num_elbo_draws=7, random_seed=0, progressbar=False)
    assert model.calls.count(7) == len(approx.hist) and set(model.calls) == {1, 7}
    assert approx.hist[approx.iteration - 1] == approx.hist.min()  # the best ELBO estimate is kept
    sd = np.sqrt(np.diag(np.linalg.inv(model.A)))
    assert np.all(np.abs(approx.mean.eval() - model.m) < 0.05 * sd)


def test_history_size_sets_the_pairs_kept():
    model = GaussianModel(ndim=8)
    for history_size in (1, 4):
        approx = nbvi.fit(method="pathfinder", model=model, history_size=history_size, random_seed=0,
                          progressbar=False)
        alpha, beta, gamma = approx.factors
        assert beta.shape == (8, 2 * history_size) and approx.Q.shape[1] == 2 * history_size


def test_maxiter_n_refine_random_seed_and_start():
    model, mean, precision = gaussian_regression()
    inference = PathfinderInference(model=model, random_seed=3)
    inference.fit(maxiter=2, progressbar=False)
    assert len(inference.hist) == 2
    inference.refine(100, progressbar=False)
    assert len(inference.hist) > 2
    sd = np.sqrt(np.diag(np.linalg.inv(precision)))
    assert np.all(np.abs(inference.approx.mean.eval() - mean) < 0.05 * sd)  # (K = 5 draws: a noisy selection)
    assert len(nbvi.fit(3, method="pathfinder", model=model, progressbar=False).hist) == 3
    draws = [nbvi.fit(method="pathfinder", model=model, random_seed=seed, progressbar=False).sample(5)["beta"]
             for seed in (4, 4, 5)]
    assert np.array_equal(draws[0], draws[1]) and not np.array_equal(draws[0], draws[2])
    started = PathfinderInference(model=model, start={"beta": np.array([5.0, 1.0, -1.0])})
    np.testing.assert_array_equal(started.approx.mean.eval(), [5.0, 1.0, -1.0])  # q = N(start, I) before a fit
    started.fit(1, progressbar=False)
    assert started.approx.iteration == 1


def test_callbacks_see_the_best_q_so_far_and_can_stop():
    model, _, _ = gaussian_regression()
    seen = []

    def stop_at_three(approx, losses, i):
        seen.append((i, approx.iteration, len(losses)))
        if i == 3:
            raise StopIteration

    approx = nbvi.fit(method="pathfinder", model=model, callbacks=[stop_at_three], random_seed=0, progressbar=False)
    assert [i for i, _, _ in seen] == [1, 2, 3] and all(best <= i == n for i, best, n in seen)
    assert len(approx.hist) == 3 and approx.hist[approx.iteration - 1] == approx.hist.min()


def test_ctrl_c_ends_the_path_with_the_best_q_so_far():
    model, _, _ = gaussian_regression()

    def interrupt_at_two(approx, losses, i):
        if i == 2:
            os.kill(os.getpid(), signal.SIGINT)

    approx = nbvi.fit(method="pathfinder", model=model, callbacks=[interrupt_at_two], random_seed=0,
                      progressbar=False)
    assert len(approx.hist) == 2 and approx.hist[approx.iteration - 1] == approx.hist.min()


def test_a_stationary_start_without_jitter_warns_and_keeps_the_unit_gaussian():
    with nbvi.Model() as model:
        nbvi.Normal("x", 0.0, 3.0)  # the start, 0, is the mode
    with pytest.warns(UserWarning, match="ended at the start"):
        inference = nbvi.PathfinderInference(model=model)
        approx = inference.fit(progressbar=False, jitter=0.0)
    assert approx.iteration == 0 and len(approx.hist) == 0
    np.testing.assert_array_equal(approx.cov(), [[1.0]])
    with pytest.raises(ValueError, match="ended at its start"):
        inference.refine(10, progressbar=False)
    # with the default jitter the path starts off the mode and learns its curvature
    approx = nbvi.fit(method="pathfinder", model=model, random_seed=1, progressbar=False)
    assert abs(approx.mean.eval()[0]) < 0.3 and approx.std.eval()[0] == pytest.approx(3.0, rel=0.05)


def test_a_density_that_is_never_finite_at_the_draws_is_an_error():
    model = GaussianModel(ndim=2)
    exact = model.logp_dlogp

    def finite_only_at_one_point(theta):
        logp, grad = exact(theta)
        return (logp if len(theta) == 1 else np.full(len(theta), -np.inf)), grad

    model.logp_dlogp = finite_only_at_one_point
    with warnings.catch_warnings(), pytest.raises(ValueError, match="no Gaussian along the path"):
        nbvi.fit(method="pathfinder", model=model, progressbar=False)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"obj_optimizer": nbvi.adam()}, ValueError, "obj_optimizer configures the stochastic optimizer"),
    ({"total_grad_norm_constraint": 1.0}, ValueError, "total_grad_norm_constraint configures"),
    ({"obj_n_mc": 2}, TypeError, "unexpected options"),
    ({"n": 0}, ValueError, "n must be >= 1"),
    ({"maxiter": 2.5}, ValueError, "maxiter must be an integer"),
    ({"n": 5, "maxiter": 5}, ValueError, "give one"),
    ({"history_size": 0}, ValueError, "history_size must be >= 1"),
    ({"num_elbo_draws": "5"}, TypeError, "num_elbo_draws must be an integer"),
    ({"callbacks": [1]}, TypeError, "callbacks"),
    ({"progressbar": "no"}, TypeError, "progressbar"),
    ({"random_seed": "abc"}, TypeError, "random_seed"),
    ({"start": {"betaa": 1.0}}, ValueError, "betaa"),
])
def test_options_are_checked(kwargs, error, match):
    model, _, _ = gaussian_regression()
    with pytest.raises(error, match=match):
        nbvi.fit(method="pathfinder", model=model, progressbar=False, **kwargs)


def test_a_start_where_the_density_is_not_finite_names_the_variable():
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0)
        nbvi.Uniform("y", mu - 0.5, mu + 0.5, observed=np.array([3.0]))
    with pytest.raises(nbvi.SamplingError, match="Pathfinder cannot start.*observed 'y'"):
        nbvi.fit(method="pathfinder", model=model, progressbar=False)


def test_a_minibatch_model_is_refused():
    data = np.random.default_rng(0).normal(size=100)
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0)
        nbvi.Normal("y", mu, 1.0, observed=nbvi.Minibatch(data, batch_size=10), total_size=100)
    with pytest.raises(ValueError, match="Minibatch"):
        nbvi.fit(method="pathfinder", model=model, progressbar=False)
