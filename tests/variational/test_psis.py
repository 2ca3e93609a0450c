"""Pareto smoothed importance sampling: the generalized Pareto fit, agreement with arviz's PSIS,
``psis_diagnostic`` on a poor and a good approximation, ``approx.sample(psis=True)``, argument errors."""
import math
import warnings

import numpy as np
import pytest

import nbvi
from nbvi.variational.approximations import Empirical, MeanField
from nbvi.variational.psis import PSISResult, PSISWarning, gpd_fit, psis_smooth, tail_length


def gpd_draws(k, sigma, size, rng):
    """Draws of GPD(0, sigma, k) by inversion: sigma ((1 - u)^(-k) - 1) / k."""
    return sigma * np.expm1(-k * np.log1p(-rng.random(size))) / k


# ---------------------------------------------------------------------------------------------------------
# The generalized Pareto fit and the smoothing
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("k", [0.3, 0.8])
def test_gpd_fit_recovers_the_shape(k):
    # n = 10,000: the estimate's standard error is about (1 + k) / sqrt(n) < 0.02, so 0.1 is > 5 of them
    x = np.sort(gpd_draws(k, 2.0, 10_000, np.random.default_rng(1)))
    k_hat, sigma_hat = gpd_fit(x)
    assert abs(k_hat - k) < 0.1
    assert abs(sigma_hat / 2.0 - 1.0) < 0.1


@pytest.mark.parametrize("k", [0.3, 0.8])
def test_psis_khat_recovers_the_tail_of_pareto_ratios(k):
    # ratios r = 1 + GPD(k): the tail fit sees the largest 3 sqrt(10,000) = 300, standard error ~ (1 + k) / 17
    log_ratios = np.log1p(gpd_draws(k, 1.0, 10_000, np.random.default_rng(2)))
    _, khat = psis_smooth(log_ratios)
    assert abs(khat - k) < 0.2


def test_prior_pulls_k_toward_one_half():
    # k <- (n k + 10 * 0.5) / (n + 10): on 20 exceedances the prior is a third of the estimate
    x = np.sort(gpd_draws(0.9, 1.0, 20, np.random.default_rng(3)))
    k_raw = float(np.mean(np.log1p(-_b_post(x) * x)))
    assert gpd_fit(x)[0] == pytest.approx((20 * k_raw + 5.0) / 30.0, rel=1e-12)


def _b_post(x):
    """The posterior mean of b = -k / sigma as gpd_fit computes it (written out again for the test above)."""
    n, m = len(x), 30 + int(math.sqrt(len(x)))
    b = 1 / x[-1] + (1 - np.sqrt(m / (np.arange(1, m + 1) - 0.5))) / (3 * x[int(n / 4 + 0.5) - 1])
    k_b = np.mean(np.log1p(-b[:, None] * x), axis=1)
    profile = n * (np.log(-b / k_b) - k_b - 1)
    w = np.exp(profile - profile.max())
    return np.sum(b * w) / np.sum(w)


def test_tail_length_is_min_of_a_fifth_and_three_root_s():
    assert [tail_length(s) for s in (25, 100, 225, 1000, 10_000)] == [5, 20, 45, 94, 300]


def test_smoothing_keeps_the_body_the_order_and_the_largest_weight():
    log_ratios = 1.5 * np.random.default_rng(4).standard_t(3, 1000)
    log_weights, _ = psis_smooth(log_ratios)
    assert np.exp(log_weights).sum() == pytest.approx(1.0, rel=1e-12)
    order = np.argsort(log_ratios)
    body, tail = order[:-94], order[-94:]
    shift = log_weights[body] - log_ratios[body]  # the body is only renormalised: one common shift
    np.testing.assert_allclose(shift, shift[0], atol=1e-12)
    assert np.all(np.diff(log_weights[tail]) >= 0)  # quantiles replace the tail in the same order
    assert log_weights.max() <= log_ratios.max() + shift[0] + 1e-12  # capped at the largest raw ratio


# Log ratios made with these seeds, and arviz's Pareto-smoothed log weights of them: arviz 1.3.0 with
# arviz-stats 1.3.3 (Python 3.12), `arviz_stats.base.array_stats.psislw(-log_ratios, r_eff=1)` (that
# function takes log-likelihoods, ratios exp(-ary)), which returns (log_weights, khat). Recorded: khat, the
# largest and the first log weight, and the effective sample size 1 / sum(exp(2 log_weights)).
def arviz_cases():
    rng = np.random.default_rng(20240601)
    return {
        "normal_1000": rng.normal(0, 0.5, 1000),
        "pareto06_2000": np.log(rng.pareto(1 / 0.6, 2000) + 1.0),
        "heavy_1000": 1.5 * rng.standard_t(2, 1000),
        "small_100": rng.normal(0, 1.0, 100),
    }


ARVIZ = {  # name: (khat, max log weight, first log weight, ess)
    "normal_1000": (0.15763692896644807, -5.293745433076892, -6.716627431247002, 785.9909049536236),
    "pareto06_2000": (0.6634360708156818, -3.2720079911048954, -8.487206315519504, 319.6289198269503),
    "heavy_1000": (4.243553017023578, -0.010903538785626665, -23.655614092183498, 1.0219541041800528),
    "small_100": (0.4904391223998215, -2.4933146656382186, -7.0598636286554015, 33.5266158524012),
}


@pytest.mark.parametrize("name", sorted(ARVIZ))
def test_matches_arviz(name):
    log_weights, khat = psis_smooth(arviz_cases()[name])
    ess = 1.0 / np.sum(np.exp(2 * log_weights))
    # the same arithmetic in another order: agreement to rounding (elementwise it was within 1.5e-14)
    np.testing.assert_allclose([khat, log_weights.max(), log_weights[0], ess], ARVIZ[name], rtol=1e-11)


def test_equal_largest_ratios_are_a_bounded_tail():
    log_weights, khat = psis_smooth(np.r_[np.zeros(500), -np.arange(1.0, 501.0)])
    assert khat == -math.inf
    assert np.exp(log_weights).sum() == pytest.approx(1.0)


# ---------------------------------------------------------------------------------------------------------
# psis_diagnostic on models
# ---------------------------------------------------------------------------------------------------------

def eight_schools():
    """The centered eight schools model (Rubin 1981), whose funnel a mean-field Gaussian cannot follow."""
    y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
    sigma = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 5.0)
        tau = nbvi.HalfCauchy("tau", 5.0)
        theta = nbvi.Normal("theta", mu, tau, shape=8)
        nbvi.Normal("obs", theta, sigma, observed=y)
    return model


def test_meanfield_on_centered_eight_schools_is_unreliable():
    with eight_schools():
        approx = nbvi.fit(30_000, method="advi", random_seed=0, progressbar=False)
    # over 20 seeds of the 10,000 draws, k-hat ranged 0.82-1.11 (Yao et al. 2018 report k > 0.7 too)
    with pytest.warns(PSISWarning, match=r"k-hat = \d\.\d\d > 0.7: q is not reliable") as record:
        result = nbvi.psis_diagnostic(approx, draws=10_000, random_seed=0)
    assert record[0].filename == __file__  # the warning points at the caller
    assert isinstance(result, PSISResult)
    assert result.khat >= 0.7
    assert result.log_weights.shape == (10_000,)
    assert 1.0 <= result.ess < 0.1 * 10_000


def linear_regression():
    """100 rows, 3 coefficients, known sigma = 1: the posterior is Gaussian, N(m, C) in closed form."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(size=100)
    with nbvi.Model() as model:
        b = nbvi.Normal("b", 0.0, 10.0, shape=3)
        nbvi.Normal("y", nbvi.math.dot(X, b), 1.0, observed=y)
    precision = X.T @ X + np.eye(3) / 100.0
    cov = np.linalg.inv(precision)
    return model, cov @ X.T @ y, cov


def test_converged_fullrank_on_a_gaussian_posterior_is_reliable():
    model, mean, cov = linear_regression()
    with model:
        # sticking the landing: the gradient's noise vanishes at the exact posterior, so Adam converges
        inference = nbvi.FullRankADVI(random_seed=1, stl=True)
        approx = inference.fit(2000, obj_optimizer=nbvi.adam(learning_rate=0.1), progressbar=False)
    np.testing.assert_allclose(approx.mean_array(), mean, atol=1e-5)
    np.testing.assert_allclose(approx.cov(), cov, atol=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PSISWarning)
        result = nbvi.psis_diagnostic(approx, draws=2000, random_seed=0)
    # q = p up to 1e-5: the ratios are flat; k-hat is the prior's pull on noise (0.0-0.2 over seeds)
    assert result.khat < 0.5
    assert result.ess > 0.95 * 2000


def test_default_generator_is_the_approximations():
    model, m, s = conjugate_normal()
    a, b = shifted_q(model, m, s), shifted_q(model, m, s)
    assert nbvi.psis_diagnostic(a).khat == nbvi.psis_diagnostic(b).khat
    assert nbvi.psis_diagnostic(a, random_seed=1).khat == nbvi.psis_diagnostic(b, random_seed=1).khat


# ---------------------------------------------------------------------------------------------------------
# approx.sample(psis=True)
# ---------------------------------------------------------------------------------------------------------

def conjugate_normal():
    """mu ~ N(0, 10^2), 20 observations ~ N(mu, 1): posterior N(m, s^2) in closed form."""
    y = np.random.default_rng(6).normal(2.0, 1.0, size=20)
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 10.0)
        nbvi.Deterministic("mu2", mu * 2.0)
        nbvi.Normal("y", mu, 1.0, observed=y)
    precision = 1.0 / 100.0 + 20.0
    return model, y.sum() / precision, 1.0 / math.sqrt(precision)


def shifted_q(model, m, s):
    """A mean-field q one posterior sd off, 1.5 times as wide (so p / q is bounded: k-hat < 0.5)."""
    approx = MeanField(model, random_seed=7)
    approx.shared_params["mu"][:] = m + s
    approx.shared_params["rho"][:] = math.log(math.expm1(1.5 * s))  # softplus(rho) = 1.5 s
    return approx


def test_psis_resampling_moves_a_shifted_q_to_the_posterior():
    model, m, s = conjugate_normal()
    approx = shifted_q(model, m, s)
    plain = approx.sample(1000, random_seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PSISWarning)
        reweighted = approx.sample(1000, random_seed=0, psis=True)
    # plain draws: mean m + s, standard error 1.5 s / sqrt(1000) = 0.05 s. Resampled: the importance
    # estimate's error (ESS ~ 2000 of 4000) plus resampling noise, below 0.05 s; 0.2 s is 4 of them
    assert abs(plain["mu"].mean() - (m + s)) < 0.2 * s
    assert abs(reweighted["mu"].mean() - m) < 0.2 * s
    assert abs(reweighted["mu"].std() / s - 1.0) < 0.1
    assert type(reweighted) is type(plain)
    assert reweighted.varnames == plain.varnames
    assert {k: v.shape for k, v in reweighted.items()} == {k: v.shape for k, v in plain.items()}
    np.testing.assert_array_equal(reweighted["mu2"], 2.0 * reweighted["mu"])


def test_sample_without_psis_is_unchanged():
    model, m, s = conjugate_normal()
    approx = shifted_q(model, m, s)
    eps = np.random.default_rng(3).standard_normal((50, 1))
    expected = m + s + 1.5 * s * eps[:, 0]
    np.testing.assert_array_equal(approx.sample(50, random_seed=3)["mu"], expected)
    np.testing.assert_array_equal(approx.sample(50, random_seed=3, psis=False)["mu"], expected)


def test_psis_resampling_warns_on_a_bad_q():
    with eight_schools():
        approx = nbvi.fit(30_000, method="advi", random_seed=0, progressbar=False)
    with pytest.warns(PSISWarning, match="not reliable") as record:
        trace = approx.sample(2500, random_seed=0, psis=True)  # 10,000 proposals
    assert record[0].filename == __file__
    assert trace["theta"].shape == (2500, 8)


# ---------------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------------

def test_empirical_has_no_density_for_psis():
    model, _, _ = conjugate_normal()
    approx = Empirical(model, np.random.default_rng(0).normal(size=(30, 1)))
    with pytest.raises(TypeError, match="Empirical approximation .* without one"):
        nbvi.psis_diagnostic(approx)
    with pytest.raises(TypeError, match=r"sample\(psis=True\) needs an approximation with a density"):
        approx.sample(10, psis=True)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"draws": 10}, ValueError, "draws must be >= 25"),
    ({"draws": 100.5}, ValueError, "draws must be an integer"),
    ({"draws": "100"}, TypeError, "draws must be an integer"),
    ({"draws": True}, TypeError, "draws must be an integer"),
    ({"random_seed": "abc"}, TypeError, "random_seed"),
    ({"random_seed": -1}, ValueError, "random_seed"),
])
def test_psis_diagnostic_arguments(kwargs, error, message):
    model, m, s = conjugate_normal()
    with pytest.raises(error, match=message):
        nbvi.psis_diagnostic(shifted_q(model, m, s), **kwargs)


def test_psis_diagnostic_needs_an_approximation():
    model, _, _ = conjugate_normal()
    with pytest.raises(TypeError, match="approx must be a MeanField or FullRank approximation .* got ADVI"):
        with model:
            nbvi.psis_diagnostic(nbvi.ADVI())


def test_sample_psis_must_be_a_flag():
    model, m, s = conjugate_normal()
    with pytest.raises(TypeError, match="psis must be True or False"):
        shifted_q(model, m, s).sample(10, psis="yes")


def test_minibatch_model_is_refused():
    data = np.random.default_rng(0).normal(size=200)
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0)
        nbvi.Normal("y", mu, 1.0, observed=nbvi.Minibatch(data, batch_size=20), total_size=200)
    with pytest.raises(ValueError, match="reads a Minibatch"):
        nbvi.psis_diagnostic(MeanField(model))


def test_the_warning_suggests_full_rank_only_to_a_mean_field_q():
    from nbvi.variational.approximations import FullRank
    from nbvi.variational.psis import warn_if_unreliable

    with nbvi.Model() as model:
        nbvi.Normal("x", 0.0, 1.0)
    with pytest.warns(PSISWarning, match=r"Try a richer approximation \(fullrank_advi\)"):
        warn_if_unreliable(0.9, MeanField(model))
    with pytest.warns(PSISWarning, match="Try a longer fit or NUTS") as caught:
        warn_if_unreliable(0.9, FullRank(model))
    assert "fullrank_advi" not in str(caught[0].message)
