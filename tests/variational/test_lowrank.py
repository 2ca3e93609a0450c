"""Low-rank plus diagonal Gaussian ADVI: the step's gradient against finite differences, the density and
entropy against dense linear algebra, STL, the deterministic default fit (exact on a Gaussian whose covariance
is diagonal + rank 1), the approximation's user API and the rank argument."""
import math

import numpy as np
import pytest
from gradcheck import numeric_grad

import nbvi
from nbvi.variational import deterministic, lowrank
from nbvi.variational.inference import METHODS

RNG = np.random.default_rng(0)
NDIM = 5
MEAN = RNG.normal(size=NDIM)
D_TRUE = RNG.uniform(0.5, 1.5, NDIM)
U_TRUE = RNG.normal(size=(NDIM, 1))
COV = np.diag(D_TRUE ** 2) + U_TRUE @ U_TRUE.T  # exactly diagonal + rank 1


def factor_gaussian(extra=False):
    """x ~ MvNormal(MEAN, COV) (ndim 5), with ``extra``: also s ~ HalfNormal(1) (log-transformed)."""
    with nbvi.Model() as model:
        nbvi.MvNormal("x", mu=MEAN, cov=COV)
        if extra:
            nbvi.HalfNormal("s", 1.0)
    return model


GAUSS = factor_gaussian()
GAUSS_EXTRA = factor_gaussian(extra=True)


def inv_softplus(y):
    return np.log(np.expm1(y))


def exact_params(rank=1):
    """[mu, rho, U] of q = the posterior of GAUSS (rank 1; extra columns of U are 0)."""
    U = np.zeros((NDIM, rank))
    U[:, :1] = U_TRUE
    return np.concatenate([MEAN, inv_softplus(D_TRUE), U.ravel()])


def step(model, params, eps, stl=False):
    theta = np.empty((eps.shape[0], model.ndim))
    grad = np.empty_like(params)
    loss = lowrank.lowrank_step(model.logp_dlogp, params, eps, theta, grad, stl=stl)
    return loss, grad


def per_draw_gradients(model, params, eps, stl):
    """The gradient estimate of each single draw eps[s]."""
    theta = np.empty((len(eps), model.ndim))
    lowrank.lowrank_theta(params, eps, theta)
    logp, dlogp = model.logp_dlogp(theta)
    grads = np.empty((len(eps), params.size))
    for s in range(len(eps)):
        lowrank.lowrank_loss_grad(params, eps[s:s + 1], logp[s:s + 1], dlogp[s:s + 1], stl, grads[s])
    return grads


def dense_logq_entropy(approx, theta):
    """log q and H[q] with the dense covariance: slogdet and solve."""
    cov, mu = approx.cov(), approx.mean.eval()
    _, log_det = np.linalg.slogdet(cov)
    v = theta - mu
    quad = np.einsum("si,si->s", v, np.linalg.solve(cov, v.T).T)
    logq = -0.5 * quad - 0.5 * log_det - 0.5 * approx.ndim * math.log(2 * math.pi)
    return logq, 0.5 * log_det + 0.5 * approx.ndim * (1 + math.log(2 * math.pi))


# ---------------------------------------------------------------------------------------------------------
# The stochastic step
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rank", [1, 2, 6])
def test_the_loss_gradient_equals_finite_differences(rank):
    rng = np.random.default_rng(rank)
    params = nbvi.LowRank(GAUSS_EXTRA, rank, random_seed=rank).params + 0.3 * rng.normal(size=6 * (2 + rank))
    eps = rng.standard_normal((3, 6 + rank))
    loss, grad = step(GAUSS_EXTRA, params, eps)
    numeric = numeric_grad(lambda p: step(GAUSS_EXTRA, p, eps)[0], params)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-6 * np.abs(numeric).max())


def test_the_loss_is_the_negative_elbo_estimate():
    approx = nbvi.LowRank(GAUSS_EXTRA, 2, random_seed=1)
    approx.params[:] += 0.2 * np.random.default_rng(1).normal(size=approx.params.size)
    eps = np.random.default_rng(2).standard_normal((4, 8))
    loss, _ = step(GAUSS_EXTRA, approx.params.copy(), eps)
    theta = lowrank.lowrank_points(approx.mean.eval(), approx.diagonal(), approx.shared_params["U"], eps)
    logp, _ = GAUSS_EXTRA.logp_dlogp(theta)
    assert loss == pytest.approx(-logp.mean() - approx.entropy(), rel=1e-12)


def test_stl_is_not_the_loss_gradient_but_has_the_same_expectation():
    params = exact_params(2) + 0.3 * np.random.default_rng(3).normal(size=NDIM * 4)
    eps = np.random.default_rng(4).standard_normal((5000, NDIM + 2))
    standard = per_draw_gradients(GAUSS, params, eps, stl=False)
    sticking = per_draw_gradients(GAUSS, params, eps, stl=True)
    assert not np.allclose(sticking[0], standard[0], rtol=1e-3)  # a different estimator for one draw
    diff = sticking - standard
    se = diff.std(axis=0) / math.sqrt(len(eps))
    # both are unbiased for the ELBO gradient: their difference has mean 0 (4 Monte Carlo standard errors)
    assert np.all(np.abs(diff.mean(axis=0)) < 4 * se + 1e-12)
    assert np.all(se < 0.05 * np.abs(standard).mean(axis=0))  # the check has power


def test_stl_has_zero_variance_at_the_exact_posterior():
    """q = p: grad log p = grad log q at every theta, so every STL draw is 0 (to rounding); the standard
    estimator still varies with the noise."""
    eps = np.random.default_rng(7).standard_normal((200, NDIM + 2))
    params = exact_params(2)
    sticking = per_draw_gradients(GAUSS, params, eps, stl=True)
    standard = per_draw_gradients(GAUSS, params, eps, stl=False)
    assert np.all(standard[:, :2 * NDIM + 2].std(axis=0) > 0.1)
    assert np.all(np.abs(sticking) < 1e-8)


def test_the_stl_option_changes_the_fit():
    def run(stl):
        return nbvi.LowRankADVI(rank=2, model=GAUSS, random_seed=3, stl=stl).fit(
            50, obj_optimizer=nbvi.adam(learning_rate=0.01), progressbar=False).params

    assert not np.allclose(run(True), run(False))


# ---------------------------------------------------------------------------------------------------------
# The approximation
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rank", [1, 3, 6])
def test_logq_entropy_std_and_draws_match_the_dense_covariance(rank):
    approx = nbvi.LowRank(GAUSS_EXTRA, rank, random_seed=5)
    approx.params[:] += np.random.default_rng(5).normal(size=approx.params.size)
    theta = np.random.default_rng(6).normal(size=(7, 6)) * 2
    logq, entropy = dense_logq_entropy(approx, theta)
    np.testing.assert_allclose(approx.logq(theta), logq, rtol=1e-12, atol=1e-12)
    assert approx.entropy() == pytest.approx(entropy, rel=1e-12)
    np.testing.assert_allclose(approx.std.eval(), np.sqrt(np.diag(approx.cov())), rtol=1e-14)
    draws = approx.draw(40_000, np.random.default_rng(7))
    # sample covariance of 40,000 draws: entries within 0.05 of cov (the sd of an entry is about
    # sqrt(Sigma_ii Sigma_jj / 40000) < 0.02 for these scales)
    np.testing.assert_allclose(np.cov(draws.T), approx.cov(), atol=0.05 * np.abs(approx.cov()).max())


def test_parameters_layout_and_per_variable():
    approx = nbvi.LowRank(GAUSS_EXTRA, 2, random_seed=0)
    assert approx.params.size == 6 * 4
    assert approx.shared_params["U"].shape == (6, 2)
    assert np.shares_memory(approx.shared_params["U"], approx.params)
    np.testing.assert_array_equal(approx.shared_params["rho"], 0.0)
    U = approx.shared_params["U"]
    assert np.all(U != 0) and np.abs(U).max() < 0.5  # small, not zero (a stationary point)
    U[5, 1] = np.nan  # a row of U belongs to the variable at that position of theta: s
    assert approx.variables_with_bad_params() == ["s"]
    parts = approx.per_variable(np.arange(approx.params.size, dtype=float))
    assert sorted(parts) == ["s", "x"] and parts["x"].size == 5 * 4 and parts["s"].size == 4


def test_sample_sample_node_and_psis_work_on_it():
    approx = nbvi.fit(method="lowrank_advi", model=GAUSS_EXTRA, random_seed=1, progressbar=False)
    trace = approx.sample(500, random_seed=2)
    assert trace["x"].shape == (500, NDIM) and trace["s"].shape == (500,) and np.all(trace["s"] > 0)
    node = approx.sample_node(GAUSS_EXTRA["x"].sum(), size=100)
    first, second = node.eval(), node.eval()
    assert first.shape == (100,) and not np.array_equal(first, second)
    result = nbvi.psis_diagnostic(approx, draws=1000, random_seed=3)
    # x is Gaussian (fitted exactly); log s's posterior is not Gaussian, q is close: reliable, k-hat < 0.7
    assert result.khat < 0.7 and result.ess > 300
    assert approx.sample(200, psis=True, random_seed=4)["x"].shape == (200, NDIM)


# ---------------------------------------------------------------------------------------------------------
# Deterministic ADVI (the default fit)
# ---------------------------------------------------------------------------------------------------------

def test_the_deterministic_loss_gradient_equals_finite_differences():
    approx = nbvi.LowRank(GAUSS_EXTRA, 2, random_seed=0)
    rng = np.random.default_rng(2)
    draws = deterministic.fixed_normal_draws(20, 8, rng, whiten=True)
    objective = lowrank.LowRankObjective(approx, GAUSS_EXTRA.logp_dlogp, draws)
    x = objective.x_from_approx() + 0.3 * rng.standard_normal(6 * 4)
    _, grad = objective.loss_grad(x)
    numeric = numeric_grad(lambda v: objective.loss_grad(v)[0], x)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-6 * np.abs(numeric).max())
    objective.write(x)
    np.testing.assert_allclose(objective.x_from_approx(), x, rtol=1e-12, atol=1e-12)


def test_u_zero_is_a_saddle_of_the_deterministic_loss():
    """At U = 0 (m, d at the mean-field optimum) the gradient in U vanishes exactly with whitened draws, yet
    L falls along a direction of U: why U starts small but not 0."""
    approx = nbvi.LowRank(GAUSS, 1, random_seed=0)
    draws = deterministic.fixed_normal_draws(2 * (NDIM + 2), NDIM + 1, np.random.default_rng(1), whiten=True)
    objective = lowrank.LowRankObjective(approx, GAUSS.logp_dlogp, draws)
    precision = np.linalg.inv(COV)
    x = np.concatenate([MEAN, -0.5 * np.log(np.diag(precision)), np.zeros(NDIM)])  # mean-field's optimum
    loss, grad = objective.loss_grad(x)
    assert np.abs(grad).max() < 1e-10  # stationary in every parameter
    top = np.linalg.eigh(-(precision - np.diag(np.diag(precision))))[1][:, -1]  # the ELBO rises along it
    step_along = x.copy()
    step_along[2 * NDIM:] = 0.1 * top / np.sqrt(np.diag(precision))
    assert objective.loss_grad(step_along)[0] < loss - 1e-4


def test_a_diagonal_plus_rank_one_gaussian_is_fitted_exactly():
    """The draws [z1, z2] are antithetic and whitened, so L is the true negative ELBO; the family holds the
    posterior, so the optimum is it."""
    approx = nbvi.fit(method="lowrank_advi", model=GAUSS, inf_kwargs={"rank": 1}, random_seed=4, progressbar=False)
    np.testing.assert_allclose(approx.mean.eval(), MEAN, atol=1e-5)
    np.testing.assert_allclose(approx.cov(), COV, atol=1e-5)
    assert len(approx.hist) > 1 and np.all(np.diff(approx.hist) <= 1e-12)


def correlated_regression(rows=40, seed=0):
    """y ~ Normal(X beta, 0.5), beta ~ Normal(0, 2) (4): a Gaussian posterior whose coefficients are strongly
    correlated (X has a column near 10); returns the model, posterior mean and covariance."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(rows), rng.normal(10.0, 1.0, rows), rng.normal(size=(rows, 2))])
    y = X @ np.array([1.0, -0.5, 2.0, 0.3]) + rng.normal(0.0, 0.5, rows)
    with nbvi.Model() as model:
        beta = nbvi.Normal("beta", 0.0, 2.0, shape=4)
        nbvi.Normal("y", nbvi.math.dot(X, beta), 0.5, observed=y)
    precision = X.T @ X / 0.25 + np.eye(4) / 4.0
    return model, np.linalg.solve(precision, X.T @ y / 0.25), np.linalg.inv(precision)


def test_rank_one_is_closer_to_a_correlated_posterior_than_mean_field():
    model, mean, cov = correlated_regression()
    mean_field = nbvi.fit(method="advi", model=model, random_seed=1, progressbar=False)
    low_rank = nbvi.fit(method="lowrank_advi", model=model, inf_kwargs={"rank": 1}, random_seed=1,
                        progressbar=False)
    error_mf = np.linalg.norm(np.diag(mean_field.std.eval() ** 2) - cov)
    error_lr = np.linalg.norm(low_rank.cov() - cov)
    assert error_lr < 0.01 * error_mf  # the intercept-slope correlation is one direction: rank 1 holds it
    np.testing.assert_allclose(low_rank.mean.eval(), mean, atol=1e-3 * np.sqrt(np.diag(cov)).min())
    full = nbvi.fit(method="lowrank_advi", model=model, inf_kwargs={"rank": 4}, random_seed=1, progressbar=False)
    np.testing.assert_allclose(full.cov(), cov, atol=1e-5 * np.abs(cov).max())  # rank = ndim: any covariance


def test_fit_without_n_is_deterministic_and_refine_goes_on():
    inference = nbvi.LowRankADVI(rank=2, model=GAUSS, random_seed=0)
    assert inference.converges_deterministically()
    inference.fit(progressbar=False)
    iterations = len(inference.hist)
    inference.refine(5, progressbar=False)
    assert iterations <= len(inference.hist) <= iterations + 5


# ---------------------------------------------------------------------------------------------------------
# The stochastic fit and the arguments
# ---------------------------------------------------------------------------------------------------------

def test_the_stochastic_fit_is_reproducible_and_approaches_the_posterior():
    def run(seed):
        return nbvi.fit(3000, method="lowrank_advi", model=GAUSS, inf_kwargs={"rank": 1}, random_seed=seed,
                        obj_optimizer=nbvi.adam(learning_rate=0.02), progressbar=False)

    first, again = run(5), run(5)
    np.testing.assert_array_equal(first.params, again.params)
    assert np.all(np.isfinite(first.hist)) and len(first.hist) == 3000
    # noisy steps with a fixed learning rate: within 0.25 posterior sd of the mean, 20% of the covariance
    assert np.all(np.abs(first.mean.eval() - MEAN) < 0.25 * np.sqrt(np.diag(COV)))
    assert np.linalg.norm(first.cov() - COV) < 0.2 * np.linalg.norm(COV)


def test_it_is_registered():
    assert METHODS["lowrank_advi"] is nbvi.LowRankADVI
    approx = nbvi.fit(3, method="lowrank_advi", model=GAUSS, random_seed=0, progressbar=False)
    assert type(approx) is nbvi.LowRank and approx.rank == 1


@pytest.mark.parametrize("rank, error, match", [
    (0, ValueError, "rank must be >= 1"),
    (2.5, ValueError, "rank must be an integer"),
    ("2", TypeError, "rank must be an integer"),
    (True, TypeError, "rank must be an integer"),
    (None, TypeError, "rank must be an integer"),
    (6, ValueError, "rank=6 is more than the model's 5 unconstrained dimensions"),
])
def test_a_rank_that_is_not_a_count_up_to_ndim_is_refused(rank, error, match):
    with pytest.raises(error, match=match):
        nbvi.LowRankADVI(rank=rank, model=GAUSS)
    with pytest.raises(error, match=match):
        nbvi.fit(method="lowrank_advi", model=GAUSS, inf_kwargs={"rank": rank}, progressbar=False)
    with pytest.raises(error, match=match):
        nbvi.LowRank(GAUSS, rank)
