"""Deterministic ADVI, the default of ``fit()``: exact on Gaussian posteriors, gradients equal to finite
differences, within 0.5 posterior sd of long NUTS runs on badly scaled regressions and a mixture, and the
fitting loop's contract (hist, callbacks, refine, Ctrl-C, PyMC's algorithm when n is given)."""
import json
import os
import signal
import sys
import warnings

import numpy as np
import pytest
from conjugate import gaussian_regression
from gradcheck import numeric_grad

import nbvi
from nbvi.variational import deterministic
from nbvi.variational.approximations import FullRank, MeanField

SCRIPTS = os.path.join(os.path.dirname(__file__), "..", "..", "scripts")
REFERENCE = os.path.join(os.path.dirname(__file__), "..", "data", "reference_posteriors.json")




def test_fixed_draws_have_the_moments_of_a_standard_normal():
    rng = np.random.default_rng(1)
    z = deterministic.fixed_normal_draws(31, 4, rng)
    assert z.shape == (32, 4)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-15)
    np.testing.assert_allclose((z * z).mean(axis=0), 1.0, rtol=1e-14)
    w = deterministic.fixed_normal_draws(20, 4, rng, whiten=True)
    np.testing.assert_allclose(w.mean(axis=0), 0.0, atol=1e-14)
    np.testing.assert_allclose(w.T @ w / 20, np.eye(4), atol=1e-12)


@pytest.mark.parametrize("kind", [MeanField, FullRank])
def test_the_loss_gradient_equals_finite_differences(kind):
    model, _, _ = gaussian_regression()
    with model:
        nbvi.HalfNormal("extra", 1.0)  # a transformed variable too
    approx = kind(model)
    rng = np.random.default_rng(2)
    draws = deterministic.fixed_normal_draws(2 * (model.ndim + 1), model.ndim, rng, whiten=kind is FullRank)
    objective = deterministic.DeterministicObjective(approx, model.logp_dlogp, draws)
    x = objective.x_from_approx() + 0.1 * rng.standard_normal(objective.x_from_approx().size)
    _, grad = objective.loss_grad(x)
    numeric = numeric_grad(lambda v: objective.loss_grad(v)[0], x)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-6 * np.abs(numeric).max())


def test_parameters_go_to_the_approximation_and_back():
    model, _, _ = gaussian_regression()
    for kind in (MeanField, FullRank):
        approx = kind(model)
        objective = deterministic.DeterministicObjective(approx, model.logp_dlogp, np.zeros((2, 3)))
        x = np.random.default_rng(3).normal(size=objective.x_from_approx().size)
        objective.write(x)
        np.testing.assert_allclose(objective.x_from_approx(), x, rtol=1e-12, atol=1e-12)


def test_a_gaussian_posterior_is_fitted_exactly():
    """The draws have exactly the moments the loss depends on, so the optimum is the true ELBO's: the
    posterior mean, the conditional variances 1 / P_ii (mean-field), the covariance P^-1 (full-rank)."""
    model, mean, precision = gaussian_regression()
    mean_field = nbvi.fit(method="advi", model=model, random_seed=4, progressbar=False)
    np.testing.assert_allclose(mean_field.mean.eval(), mean, rtol=1e-6)
    np.testing.assert_allclose(mean_field.std.eval(), 1.0 / np.sqrt(np.diag(precision)), rtol=1e-5)
    full_rank = nbvi.fit(method="fullrank_advi", model=model, random_seed=4, progressbar=False)
    np.testing.assert_allclose(full_rank.mean.eval(), mean, rtol=1e-6)
    np.testing.assert_allclose(full_rank.cov(), np.linalg.inv(precision), rtol=1e-5, atol=1e-12)


@pytest.fixture(scope="module")
def bench_models():
    sys.path.insert(0, SCRIPTS)
    try:
        import bench_models
    finally:
        sys.path.remove(SCRIPTS)
    return bench_models


def largest_error_in_sds(model, name, approx):
    """max over every element of every free variable of |mean_q - mean| / sd against the NUTS reference
    (the mixture's components sorted by mu, as the reference's)."""
    with open(REFERENCE) as f:
        reference = json.load(f)[name]["variables"]
    values = model.unravel(approx.draw(20_000, np.random.default_rng(5)))
    if name == "mixture":
        order = np.argsort(values["mu"], axis=1)
        values = {k: np.take_along_axis(v, order, axis=1) if k in ("mu", "w", "sigma") else v
                  for k, v in values.items()}
    errors = [np.abs(values[var].reshape(20_000, -1).mean(axis=0) - ref["mean"]) / ref["sd"]
              for var, ref in reference.items()]
    return float(np.max(np.concatenate(errors)))


@pytest.mark.parametrize("name", ["log_earnings", "kid_iq", "ar5", "mixture", "logistic"])
@pytest.mark.parametrize("method", ["advi", "fullrank_advi"])
def test_the_default_fit_is_within_half_a_posterior_sd_of_nuts(bench_models, name, method):
    """Badly scaled regressions (predictors near 66 and 100, an interaction), AR(5), a two-component mixture
    (several optima) and a logistic regression: every posterior mean within 0.5 sd of 4 x 20,000 NUTS
    draws (tests/data/reference_posteriors.json, scripts/reference_posteriors.py)."""
    model = bench_models.MODELS[name]()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # it converges: no warning ...
        warnings.simplefilter("ignore", nbvi.PSISWarning)  # ... but mean-field's sds may be flagged (below)
        approx = nbvi.fit(method=method, model=model, random_seed=6, progressbar=False)
    assert largest_error_in_sds(model, name, approx) < 0.5


def test_fit_without_n_converges_and_records_each_iteration():
    model, mean, _ = gaussian_regression()
    seen = []
    inference = nbvi.ADVI(model=model, random_seed=7)
    inference.fit(callbacks=[lambda approx, losses, i: seen.append((i, losses[-1]))], progressbar=False)
    assert len(inference.hist) == len(seen) > 0
    assert [i for i, _ in seen] == list(range(1, len(seen) + 1))
    np.testing.assert_array_equal([loss for _, loss in seen], inference.hist)
    # refine goes on with the same draws from the optimum: nothing left to do
    before = inference.approx.mean.eval()
    inference.refine(50, progressbar=False)
    assert len(inference.hist) - len(seen) <= 2
    np.testing.assert_allclose(inference.approx.mean.eval(), before, rtol=1e-8)


def test_a_callback_that_stops_leaves_the_parameters_it_saw():
    model, _, _ = gaussian_regression()
    seen = {}

    def stop_at_3(approx, losses, i):
        seen[i] = approx.params.copy()
        if i == 3:
            raise StopIteration

    approx = nbvi.fit(model=model, callbacks=[stop_at_3], random_seed=8, progressbar=False)
    assert len(approx.hist) == 3
    np.testing.assert_array_equal(approx.params, seen[3])


def test_ctrl_c_ends_the_fit_at_an_iterate_with_hist_in_step():
    model, _, _ = gaussian_regression()
    seen = {}

    def interrupt_at_4(approx, losses, i):
        seen[i] = approx.params.copy()
        if i == 4:
            signal.raise_signal(signal.SIGINT)

    approx = nbvi.fit(model=model, callbacks=[interrupt_at_4], random_seed=9, progressbar=False)
    assert len(approx.hist) == 4
    np.testing.assert_array_equal(approx.params, seen[4])


def test_n_or_an_optimizer_runs_pymcs_stochastic_algorithm():
    model, _, _ = gaussian_regression()
    assert len(nbvi.fit(300, model=model, random_seed=1, progressbar=False).hist) == 300
    approx = nbvi.fit(model=model, obj_optimizer=nbvi.adam(0.01), random_seed=1, progressbar=False,
                      callbacks=[nbvi.callbacks.CheckParametersConvergence(every=100, tolerance=1e9)])
    assert len(approx.hist) == 100  # stochastic steps, stopped by the callback at the first check
    same = nbvi.fit(300, model=model, random_seed=1, progressbar=False, obj_optimizer=nbvi.adagrad_window())
    again = nbvi.fit(300, model=model, random_seed=1, progressbar=False)
    np.testing.assert_array_equal(same.params, again.params)


def test_a_minibatch_model_and_svgd_keep_the_stochastic_steps():
    data = np.random.default_rng(0).normal(size=(200, 2))
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 10.0, shape=2)
        nbvi.Normal("y", mu, 1.0, observed=nbvi.Minibatch(data, batch_size=20), total_size=200)
    assert not nbvi.ADVI(model=model).converges_deterministically()
    assert not nbvi.SVGD(n_particles=5, model=model).converges_deterministically()
    assert not nbvi.ASVGD(model=model, obj_n_mc=5).converges_deterministically()
    approx = nbvi.fit(model=model, random_seed=2, progressbar=False,
                      callbacks=[nbvi.callbacks.CheckParametersConvergence(every=50, tolerance=1e9)])
    assert len(approx.hist) == 50


# -- what a review of the first version found ------------------------------------------------------------------

def unbounded_sigma_model():
    """y ~ Normal(1 + 2 x, 0.1) with sigma a Normal variable (no positivity transform): log p is -inf where
    sigma <= 0, which the draws of a wide q reach."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=100)
    with nbvi.Model() as model:
        b = nbvi.Normal("b", 0.0, 1.0, shape=2)
        s = nbvi.Normal("s", 1.0, 1.0)
        nbvi.Normal("y", b[0] + b[1] * x, s, observed=1.0 + 2.0 * x + rng.normal(0.0, 0.1, 100))
    return model


def test_points_outside_the_support_do_not_end_the_fit_early():
    """A line search that reaches sigma <= 0 steps back (an infinite loss used to end L-BFGS as converged),
    and a start whose draws leave the support shrinks its scales."""
    model = unbounded_sigma_model()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", nbvi.PSISWarning)
        approx = nbvi.fit(model=model, random_seed=1, progressbar=False)
    np.testing.assert_allclose(approx.mean.eval(), [1.0, 2.0, 0.1], atol=0.05)


def test_an_improper_posterior_warns_instead_of_claiming_convergence():
    with nbvi.Model() as model:
        nbvi.HalfFlat("scale")
    with pytest.warns(UserWarning, match="did not converge"):
        nbvi.fit(model=model, random_seed=1, progressbar=False)


def test_hist_ends_with_the_loss_of_the_kept_start():
    """Several optima (a ~ N(0, 3), y = a^3 - 3a observed 1.5): the starts end at different losses and the
    approximation keeps the smallest, which is also the last entry of hist."""
    with nbvi.Model() as model:
        a = nbvi.Normal("a", 0.0, 3.0)
        nbvi.Normal("y", a ** 3 - 3.0 * a, 0.3, observed=1.5)
    for seed in range(4):
        inference = nbvi.ADVI(model=model, random_seed=seed)
        inference.fit(progressbar=False)
        objective = deterministic.DeterministicObjective(inference.approx, model.logp_dlogp, inference._last[1])
        assert inference.hist[-1] == pytest.approx(objective.loss_grad(objective.x_from_approx())[0], rel=1e-12)
        assert inference.hist[-1] == pytest.approx(inference.hist.min(), rel=1e-12)


def test_ctrl_c_during_the_mean_field_start_of_a_full_rank_fit_stops_it():
    model, _, _ = gaussian_regression()
    inference = nbvi.FullRankADVI(model=model, random_seed=2)
    before = inference.approx.params.copy()
    calls = []
    density = model.logp_dlogp

    def interrupt_once(theta):
        calls.append(len(theta))
        if len(calls) == 3:  # in the mean-field start's first iterations (30 draws, not 2 (ndim + 1) = 8)
            assert len(theta) == 30
            signal.raise_signal(signal.SIGINT)
        return density(theta)

    model.logp_dlogp = interrupt_once
    inference.fit(progressbar=False)
    assert len(calls) < 20  # stopped right after the iteration under way
    np.testing.assert_array_equal(inference.approx.params, before)  # the full-rank parameters never moved
    assert len(inference.hist) == 0


def test_psis_flags_the_mean_field_funnel_and_passes_full_rank_regressions(bench_models):
    """The issue's targets for the default fits: k-hat >= 0.7 for mean-field on the centred eight schools,
    < 0.7 for full-rank on near-Gaussian posteriors."""
    funnel = bench_models.MODELS["eight_schools_centered"]()
    approx = nbvi.fit(method="advi", model=funnel, random_seed=3, progressbar=False)
    with pytest.warns(nbvi.PSISWarning):
        assert nbvi.psis_diagnostic(approx, draws=2000, random_seed=4).khat >= 0.7
    for name in ("log_earnings", "kid_iq", "linreg", "logistic"):
        model = bench_models.MODELS[name]()
        approx = nbvi.fit(method="fullrank_advi", model=model, random_seed=3, progressbar=False)
        assert nbvi.psis_diagnostic(approx, draws=2000, random_seed=4).khat < 0.7


def test_a_converged_fit_is_judged_by_psis_and_says_when_q_is_not_to_be_trusted(bench_models):
    """The default fit computes k-hat (1000 draws of q): the mean-field fit of the centred eight schools'
    funnel warns, a full-rank fit of a near-Gaussian posterior does not; approx.khat keeps the number."""
    funnel = bench_models.MODELS["eight_schools_centered"]()
    with pytest.warns(nbvi.PSISWarning, match="not reliable"):
        approx = nbvi.fit(model=funnel, random_seed=7, progressbar=False)
    assert approx.khat > 0.7
    model = bench_models.MODELS["kid_iq"]()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        approx = nbvi.fit(method="fullrank_advi", model=model, random_seed=7, progressbar=False)
    assert approx.khat < 0.7
    assert nbvi.fit(10, model=model, random_seed=7, progressbar=False).khat is None  # only the default fit


def test_khat_describes_the_current_q_only():
    model, _, _ = gaussian_regression()
    inference = nbvi.ADVI(model=model, random_seed=8)
    inference.fit(progressbar=False)
    assert inference.approx.khat is not None
    inference.fit(200, obj_optimizer=nbvi.adam(0.1), progressbar=False)
    assert inference.approx.khat is None
