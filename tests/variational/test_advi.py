"""ADVI: the mean-field and full-rank step functions and the ADVI / FullRankADVI classes built on them.

* With the noise eps held fixed the loss is a deterministic function of the flat parameters, so the
  returned gradient must match central differences of the returned loss (property tests over params and
  noise, on a model with a transformed variable and observed data).
* The "sticking the landing" (STL) gradient is NOT the gradient of that loss: it must agree with the
  standard estimator in expectation, and have (near) zero variance at the exact optimum of a Gaussian
  posterior, where the standard one does not.
* The classes recover exact posteriors: a conjugate Normal mean (mean field) and a correlated 2-D Gaussian
  (full rank), and the ``stl`` option of the classes changes what they do.
"""
import math

import numpy as np
import pytest
from gradcheck import assert_grad_close
from hypothesis import given
from hypothesis import strategies as st

import nbvi
from nbvi.variational import advi

DRAWS = 3  # S, the draws per gradient estimate in the gradient checks


def transformed_model():
    """mu ~ N(0, 1), s ~ HalfNormal(1) (log-transformed), 20 observations y ~ N(mu, s): ndim = 2."""
    y = np.random.default_rng(0).normal(0.5, 1.2, size=20)
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0)
        s = nbvi.HalfNormal("s", 1.0)
        nbvi.Normal("y", mu, s, observed=y)
    return model


MODEL = transformed_model()

# The conjugate model: y_i ~ N(mu, SIGMA) with SIGMA known, mu ~ N(M0, S0); the posterior of mu is Normal.
Y_CONJ = np.random.default_rng(0).normal(1.5, 2.0, size=50)
M0, S0, SIGMA = 0.0, 10.0, 2.0
POST_PREC = 1.0 / S0**2 + len(Y_CONJ) / SIGMA**2
POST_MEAN = (M0 / S0**2 + Y_CONJ.sum() / SIGMA**2) / POST_PREC
POST_SD = POST_PREC**-0.5


def conjugate_model():
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", M0, S0)
        nbvi.Normal("y", mu, SIGMA, observed=Y_CONJ)
    return model


CONJ = conjugate_model()

COV = np.array([[1.0, 0.8], [0.8, 1.0]])  # the correlated 2-D Gaussian target of the full-rank tests


def gaussian_2d_model():
    with nbvi.Model() as model:
        nbvi.MvNormal("x", mu=np.zeros(2), cov=COV)
    return model


GAUSS2 = gaussian_2d_model()


def inv_softplus(y):
    return math.log(math.expm1(y))


def packed_cholesky(cov):
    """The lower Cholesky factor of cov packed row-major as FullRank stores L_tril: its diagonal entries as
    lambda with softplus(lambda) = L_ii."""
    rows, cols = np.tril_indices(len(cov))
    packed = np.linalg.cholesky(cov)[rows, cols]
    return np.where(rows == cols, np.log(np.expm1(packed)), packed)


def meanfield_loss_and_grad(model, params, eps, stl=False):
    theta = np.empty(eps.shape)
    grad = np.empty_like(params)
    loss = advi.meanfield_step(model.logp_dlogp, params, eps, theta, grad, stl=stl)
    return loss, grad


def fullrank_loss_and_grad(model, params, eps, stl=False):
    theta = np.empty(eps.shape)
    grad = np.empty_like(params)
    loss = advi.fullrank_step(model.logp_dlogp, params, eps, theta, grad, stl=stl)
    return loss, grad


def per_draw_gradients(loss_grad, theta_fn, model, params, eps, stl):
    """The gradient estimate of each single draw eps[s] (S = 1), with one batched call of the model."""
    theta = np.empty(eps.shape)
    theta_fn(params, eps, theta)
    logp, dlogp = model.logp_dlogp(theta)
    grads = np.empty((len(eps), params.size))
    for s in range(len(eps)):
        loss_grad(params, eps[s:s + 1], logp[s:s + 1], dlogp[s:s + 1], stl, grads[s])
    return grads


# ---------------------------------------------------------------------------------------------------------
# The loss and its gradient at fixed noise
# ---------------------------------------------------------------------------------------------------------

@given(
    mu=st.lists(st.floats(-1.0, 1.0), min_size=2, max_size=2),
    rho=st.lists(st.floats(-3.0, 0.5), min_size=2, max_size=2),
    seed=st.integers(0, 2**32 - 1),
)
def test_meanfield_gradient_matches_finite_differences(mu, rho, seed):
    params = np.array(mu + rho)
    eps = np.random.default_rng(seed).standard_normal((DRAWS, MODEL.ndim))
    loss, grad = meanfield_loss_and_grad(MODEL, params, eps)
    assert math.isfinite(loss)
    assert_grad_close(lambda p: meanfield_loss_and_grad(MODEL, p, eps)[0], grad, params, rtol=1e-5, atol=1e-5)


@given(
    mu=st.lists(st.floats(-1.0, 1.0), min_size=2, max_size=2),
    lam=st.lists(st.floats(-2.0, 1.0), min_size=2, max_size=2),
    off=st.floats(-0.8, 0.8),
    seed=st.integers(0, 2**32 - 1),
)
def test_fullrank_gradient_matches_finite_differences(mu, lam, off, seed):
    # L_tril = [lambda_0, L10, lambda_1], L_ii = softplus(lambda_i)
    params = np.array(mu + [lam[0], off, lam[1]])
    eps = np.random.default_rng(seed).standard_normal((DRAWS, MODEL.ndim))
    loss, grad = fullrank_loss_and_grad(MODEL, params, eps)
    assert math.isfinite(loss)
    assert_grad_close(lambda p: fullrank_loss_and_grad(MODEL, p, eps)[0], grad, params, rtol=1e-5, atol=1e-5)


def test_meanfield_loss_is_negative_elbo_estimate():
    """loss = -(1/S) sum_s log p(theta_s) - H[q], with theta_s = mu + softplus(rho) eps_s."""
    params = np.array([0.3, -0.2, -0.5, 0.4])
    eps = np.random.default_rng(3).standard_normal((DRAWS, 2))
    loss, _ = meanfield_loss_and_grad(MODEL, params, eps)
    sigma = np.log1p(np.exp(params[2:]))
    theta = params[:2] + sigma * eps
    entropy = np.sum(np.log(sigma)) + 2 * 0.5 * (1 + math.log(2 * math.pi))
    np.testing.assert_allclose(loss, -np.mean(MODEL.logp_dlogp(theta)[0]) - entropy, rtol=1e-12)


def test_fullrank_loss_is_negative_elbo_estimate():
    """loss = -(1/S) sum_s log p(theta_s) - H[q], theta_s = mu + L eps_s, L_ii = softplus(lambda_i)."""
    params = np.array([0.3, -0.2, 0.7, 0.3, -1.1])
    L = np.array([[np.log1p(np.exp(0.7)), 0.0], [0.3, np.log1p(np.exp(-1.1))]])
    eps = np.random.default_rng(4).standard_normal((DRAWS, 2))
    loss, _ = fullrank_loss_and_grad(MODEL, params, eps)
    theta = params[:2] + eps @ L.T
    entropy = np.sum(np.log(np.diag(L))) + 2 * 0.5 * (1 + math.log(2 * math.pi))
    np.testing.assert_allclose(loss, -np.mean(MODEL.logp_dlogp(theta)[0]) - entropy, rtol=1e-12)


def test_fullrank_with_diagonal_L_equals_meanfield():
    """A diagonal L = diag(softplus(rho)) is the mean-field q with the same rho: same loss, same gradient
    (the diagonal's lambda is mean-field's rho)."""
    rho = np.array([-0.4, 0.3])
    mu = np.array([0.2, -0.1])
    eps = np.random.default_rng(5).standard_normal((DRAWS, 2))
    for stl in (False, True):
        loss_mf, g_mf = meanfield_loss_and_grad(MODEL, np.concatenate([mu, rho]), eps, stl)
        loss_fr, g_fr = fullrank_loss_and_grad(MODEL, np.concatenate([mu, [rho[0], 0.0, rho[1]]]), eps, stl)
        np.testing.assert_allclose(loss_fr, loss_mf, rtol=1e-12)
        np.testing.assert_allclose(g_fr[:2], g_mf[:2], rtol=1e-10)
        np.testing.assert_allclose(g_fr[[2, 4]], g_mf[2:], rtol=1e-10)


# ---------------------------------------------------------------------------------------------------------
# Sticking the landing
# ---------------------------------------------------------------------------------------------------------

def stl_mean_difference(loss_grad, theta_fn, params, draws=20000, seed=11):
    """Mean over draws of (STL gradient - standard gradient) and its Monte Carlo standard error, using the
    same noise for both estimators."""
    eps = np.random.default_rng(seed).standard_normal((draws, MODEL.ndim))
    standard = per_draw_gradients(loss_grad, theta_fn, MODEL, params, eps, stl=False)
    sticking = per_draw_gradients(loss_grad, theta_fn, MODEL, params, eps, stl=True)
    diff = sticking - standard
    return diff.mean(axis=0), diff.std(axis=0) / math.sqrt(draws), np.abs(standard).mean(axis=0)


def test_meanfield_stl_is_not_the_loss_gradient_but_has_the_same_expectation():
    params = np.array([0.4, -0.3, -0.7, 0.2])
    eps = np.random.default_rng(2).standard_normal((DRAWS, 2))
    _, g_standard = meanfield_loss_and_grad(MODEL, params, eps, stl=False)
    _, g_stl = meanfield_loss_and_grad(MODEL, params, eps, stl=True)
    assert not np.allclose(g_stl, g_standard, rtol=1e-3)  # a different estimator for one draw of the noise
    mean, se, scale = stl_mean_difference(advi.meanfield_loss_grad, advi.meanfield_theta, params)
    # Both estimators are unbiased for the ELBO gradient, so their difference has mean 0: 4 Monte Carlo
    # standard errors (a false alarm about once in 16,000 per component; the seed is fixed anyway).
    assert np.all(np.abs(mean) < 4 * se + 1e-12), (mean, se)
    assert np.all(se < 0.05 * scale)  # the check has power: the errors are small next to the gradients


def test_fullrank_stl_is_not_the_loss_gradient_but_has_the_same_expectation():
    params = np.array([0.4, -0.3, inv_softplus(0.6), 0.25, inv_softplus(0.9)])  # L00 = 0.6, L11 = 0.9
    eps = np.random.default_rng(2).standard_normal((DRAWS, 2))
    _, g_standard = fullrank_loss_and_grad(MODEL, params, eps, stl=False)
    _, g_stl = fullrank_loss_and_grad(MODEL, params, eps, stl=True)
    assert not np.allclose(g_stl, g_standard, rtol=1e-3)
    mean, se, scale = stl_mean_difference(advi.fullrank_loss_grad, advi.fullrank_theta, params)
    assert np.all(np.abs(mean) < 4 * se + 1e-12), (mean, se)  # 4 standard errors, as above
    assert np.all(se < 0.05 * scale)


def test_meanfield_stl_has_zero_variance_at_the_exact_posterior():
    """q = the exact posterior of the conjugate model: grad log p = grad log q for every theta, so every
    STL draw is (to rounding) 0, while the standard estimator still varies with the noise."""
    params = np.array([POST_MEAN, inv_softplus(POST_SD)])
    eps = np.random.default_rng(7).standard_normal((200, 1))
    sticking = per_draw_gradients(advi.meanfield_loss_grad, advi.meanfield_theta, CONJ, params, eps, stl=True)
    standard = per_draw_gradients(advi.meanfield_loss_grad, advi.meanfield_theta, CONJ, params, eps, stl=False)
    assert np.all(standard.std(axis=0) > 0.1)  # d/dmu = eps / sigma has sd 1 / POST_SD ~ 3.5
    assert np.all(np.abs(sticking) < 1e-8)


def test_fullrank_stl_has_zero_variance_at_the_exact_posterior():
    params = np.concatenate([np.zeros(2), packed_cholesky(COV)])
    eps = np.random.default_rng(7).standard_normal((200, 2))
    sticking = per_draw_gradients(advi.fullrank_loss_grad, advi.fullrank_theta, GAUSS2, params, eps, stl=True)
    standard = per_draw_gradients(advi.fullrank_loss_grad, advi.fullrank_theta, GAUSS2, params, eps, stl=False)
    assert np.all(standard.std(axis=0) > 0.1)
    assert np.all(np.abs(sticking) < 1e-8)


# ---------------------------------------------------------------------------------------------------------
# ASVGD's pullback of a per-draw direction to q's parameters
# ---------------------------------------------------------------------------------------------------------

def test_meanfield_pullback_is_the_chain_rule():
    """grad = d/d params of sum_s direction_s . theta_s(params), the direction held fixed (PyMC3 sums)."""
    rng = np.random.default_rng(8)
    params = np.array([0.3, -0.6, -0.4, 1.1])
    eps = rng.standard_normal((5, 2))
    direction = rng.standard_normal((5, 2))
    grad = np.empty(4)
    advi.meanfield_pullback(params, eps, direction, grad)

    def objective(p):
        theta = np.empty((5, 2))
        advi.meanfield_theta(p, eps, theta)
        return np.sum(direction * theta)

    assert_grad_close(objective, grad, params)


# ---------------------------------------------------------------------------------------------------------
# The classes recover exact posteriors
# ---------------------------------------------------------------------------------------------------------

def tail_average(tracker, name, start):
    return np.mean(np.array(tracker[name])[start:], axis=0)


def test_advi_recovers_the_conjugate_normal_posterior():
    n = 4000
    inference = nbvi.ADVI(model=CONJ, random_seed=1)
    approx = inference.approx
    tracker = nbvi.callbacks.Tracker(mean=approx.mean.eval, std=approx.std.eval)
    inference.fit(n, obj_optimizer=nbvi.adam(learning_rate=0.01), callbacks=[tracker], progressbar=False)
    assert len(inference.hist) == n
    # Adam with a constant step keeps jittering around the optimum (a single iterate is off by up to
    # ~0.3 posterior sd), so the parameters are averaged over the last half of the run (Polyak). Over seeds
    # 0-4 those averages were within 0.03 posterior sd of the mean and 2% of the sd; the tolerances are
    # about 4 times that, and a wrong gradient (sign, missing entropy term) misses them by far.
    mean = tail_average(tracker, "mean", n // 2)[0]
    std = tail_average(tracker, "std", n // 2)[0]
    assert abs(mean - POST_MEAN) < 0.15 * POST_SD
    assert abs(std / POST_SD - 1) < 0.08
    # the samples of q tell the same: 4000 draws, 4 standard errors of the mean and of the sd
    draws = approx.sample(4000, random_seed=2)["mu"]
    sd_now = approx.std.eval()[0]
    assert abs(draws.mean() - approx.mean.eval()[0]) < 4 * sd_now / math.sqrt(4000)
    assert abs(draws.std() / sd_now - 1) < 4 / math.sqrt(2 * 4000)


def test_fullrank_advi_recovers_a_correlated_gaussian():
    n = 2000
    inference = nbvi.FullRankADVI(model=GAUSS2, random_seed=1, obj_n_mc=5)
    approx = inference.approx
    tracker = nbvi.callbacks.Tracker(cov=lambda a, losses, i: a.cov(), mean=approx.mean.eval)
    inference.fit(n, obj_optimizer=nbvi.adam(learning_rate=0.01), progressbar=False, callbacks=[tracker])
    # As above: averaged over the last half; over seeds 0-3 every entry of the averaged covariance was
    # within 0.05 of the target and the mean within 0.02 of 0. Tolerance 0.1 on each entry, so that the
    # correlation 0.8 is clearly recovered (a mean-field q would give 0).
    cov = tail_average(tracker, "cov", n // 2)
    np.testing.assert_allclose(cov, COV, atol=0.1)
    np.testing.assert_allclose(tail_average(tracker, "mean", n // 2), 0.0, atol=0.1)
    assert abs(approx.cov()[0, 1]) > 0.6


@pytest.mark.parametrize("method, model, exact_mean, exact_cov", [
    (nbvi.ADVI, CONJ, [POST_MEAN], [[POST_SD**2]]),
    (nbvi.FullRankADVI, GAUSS2, [0.0, 0.0], COV),
])
def test_stl_option_makes_the_fit_land_exactly(method, model, exact_mean, exact_cov):
    """With STL the gradient noise vanishes at the optimum, so constant-step Adam converges to it (to
    rounding: errors below 3e-15 over seeds 3-7) instead of jittering around it (errors 0.015 - 0.21 for the
    standard estimator, seeds 3-7): this test fails if the class ignores its ``stl`` option."""
    results = {}
    for stl in (False, True):
        approx = method(model=model, random_seed=3, stl=stl).fit(
            2000, obj_optimizer=nbvi.adam(learning_rate=0.02), progressbar=False)
        cov = approx.cov() if hasattr(approx, "cov") else np.diag(approx.std.eval() ** 2)
        results[stl] = max(np.max(np.abs(approx.mean.eval() - exact_mean)), np.max(np.abs(cov - exact_cov)))
    assert results[True] < 1e-6
    assert results[False] > 1e-3


def test_meanfield_sigma_matches_libm_softplus_sigmoid_and_log_over_every_rho():
    rho = np.concatenate([np.linspace(-40.0, 40.0, 801), [-745.5, -720.0, -708.5, -700.0, 0.0, 700.0, 720.0, 800.0]])
    params = np.concatenate([np.zeros_like(rho), rho])
    sigma, dsigma = np.empty_like(rho), np.empty_like(rho)
    sum_log = advi.meanfield_sigma(params, sigma, dsigma)
    expected = np.array([max(r, 0.0) + math.log1p(math.exp(-abs(r))) for r in rho])
    expected_d = np.array([1.0 / (1.0 + math.exp(-r)) if r >= 0 else math.exp(r) / (1.0 + math.exp(r)) for r in rho])
    np.testing.assert_allclose(sigma, expected, rtol=1e-15, atol=0)  # a few ulp; subnormal sigma too (rho < -708)
    np.testing.assert_allclose(dsigma, expected_d, rtol=1e-15, atol=0)
    eps = np.random.default_rng(0).standard_normal((3, rho.size))
    mu = np.linspace(-1.0, 1.0, rho.size)
    theta = np.empty_like(eps)
    advi.meanfield_theta(np.concatenate([mu, rho]), eps, theta)
    np.testing.assert_allclose(theta, mu + expected * eps, rtol=1e-15, atol=1e-15)
    for start in range(0, rho.size, 5):  # a few parameters at a time: libm per element
        few = rho[start:start + 5]
        assert few.size < advi.VECTORISE_FROM
        s, d = np.empty_like(few), np.empty_like(few)
        advi.meanfield_sigma(np.concatenate([np.zeros_like(few), few]), s, d)
        np.testing.assert_allclose(s, expected[start:start + 5], rtol=1e-15, atol=0)
        np.testing.assert_allclose(d, expected_d[start:start + 5], rtol=1e-15, atol=0)
    assert sum_log == -np.inf  # rho = -745.5: sigma underflows to 0, as with libm
    finite = rho > -745.0
    sum_finite = advi.meanfield_sigma(np.concatenate([np.zeros(finite.sum()), rho[finite]]), sigma[finite], dsigma[finite])
    np.testing.assert_allclose(sum_finite, sum(math.log(s) for s in expected[finite]), rtol=1e-14)


def test_fullrank_with_averaged_adam_finds_the_posterior_sd():
    """The diagonal of L stays positive (L_ii = softplus(lambda_i)): with a raw diagonal, Adam's steps,
    larger than a posterior sd of 0.009, flipped its sign back and forth and the averaged iterates
    shrank it to a quarter of the sd."""
    y = np.random.default_rng(0).normal(1.0, 0.5, 3000)
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 5.0)
        nbvi.Normal("y", mu, nbvi.HalfNormal("s", 1.0), observed=y)
    exact_sd = 0.5 / math.sqrt(len(y))  # ~0.0091; s's posterior sd on the log scale is ~ 1 / sqrt(2 n) = 0.0129
    approx = nbvi.fit(20000, method="fullrank_advi", model=model, random_seed=0, progressbar=False,
                      obj_optimizer=nbvi.averaged_adam())
    sd = approx.std_array()
    assert abs(sd[0] / exact_sd - 1.0) < 0.15, sd
    assert abs(sd[1] * math.sqrt(2 * len(y)) - 1.0) < 0.15, sd
    assert np.all(np.diag(approx.L()) > 0.0)
