"""The recursive NUTS of nbvi/reference/nuts.py against nbvi's fast stack machine (nbvi/sampling/nuts.py).

Fed the same random numbers, both make the same tree decisions and return the same draws, one transition
at a time and over a whole warm-up, with a diagonal or a dense metric; and the reference alone samples a known
Gaussian correctly.
"""
import numpy as np
import pytest

import nbvi
from nbvi.reference import nuts as ref
from nbvi.reference.nuts_adaptation import (
    DualAverage,
    dual_average_init,
    dual_average_update,
    metric_windows,
    regularized_covariance,
    regularized_variance,
)
from nbvi.sampling import adaptation
from nbvi.sampling.diagnostics import effective_sample_size
from nbvi.sampling.nuts import NUTSState, make_workspace, transition
from nbvi.sampling.sample import _RandomStream, run_chain


def standard_normal():
    with nbvi.Model() as model:
        nbvi.Normal("x", 0.0, 1.0, shape=5)
    return model


def correlated_2d():
    with nbvi.Model() as model:
        nbvi.MvNormal("x", mu=np.array([1.0, -2.0]), cov=np.array([[4.0, 1.8], [1.8, 1.0]]), shape=2)
    return model


def eight_schools(centred=False):
    y = np.array([28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0])
    sigma = np.array([15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0])
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 5.0)
        tau = nbvi.HalfCauchy("tau", 5.0)
        if centred:
            theta = nbvi.Normal("theta", mu, tau, shape=8)
        else:
            theta = mu + tau * nbvi.Normal("eta", 0.0, 1.0, shape=8)
        nbvi.Normal("y", theta, sigma, observed=y)
    return model


def half_normal():
    y = np.random.default_rng(1).normal(1.0, 2.0, size=20)
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 10.0)
        sd = nbvi.HalfNormal("sd", 5.0)
        nbvi.Normal("y", mu, sd, observed=y)
    return model


def chol(cov):
    return np.linalg.cholesky(np.array(cov, dtype=float))


# (model, step size, inv_mass or None for ones, max_depth, what the case must exercise); a 2-d inv_mass is the
# Cholesky factor of a dense M^-1
CASES = {
    "standard_normal": (standard_normal, 0.3, None, 10, "plain"),
    "correlated_2d": (correlated_2d, 0.25, np.array([3.0, 0.8]), 10, "plain"),
    "correlated_2d_max_depth": (correlated_2d, 0.02, np.array([1.0, 1.0]), 4, "max_depth"),
    "eight_schools_noncentred": (eight_schools, 0.4, None, 10, "plain"),
    "eight_schools_centred": (lambda: eight_schools(centred=True), 0.5, None, 10, "divergence"),
    "half_normal": (half_normal, 0.2, np.array([0.2, 0.05]), 10, "plain"),
    "correlated_2d_dense": (correlated_2d, 0.8, chol([[4.0, 1.7], [1.7, 1.0]]), 10, "plain"),
    "correlated_2d_dense_max_depth": (correlated_2d, 0.05, chol([[4.0, 1.8], [1.8, 1.0]]), 4, "max_depth"),
    "eight_schools_centred_dense": (lambda: eight_schools(centred=True), 0.6,
                                    chol(np.eye(10) + 0.3 * np.ones((10, 10))), 10, "divergence"),
    "half_normal_dense": (half_normal, 0.3, chol([[0.2, -0.05], [-0.05, 0.05]]), 10, "plain"),
}


class Counting:
    """An iterator over an array of uniforms that counts how many were read."""

    def __init__(self, uniforms):
        self.uniforms, self.used = uniforms, 0

    def __iter__(self):
        return self

    def __next__(self):
        self.used += 1
        return self.uniforms[self.used - 1]


@pytest.mark.parametrize("compiled", [False, True], ids=["python_loop", "compiled_trajectory"])
@pytest.mark.parametrize("case", list(CASES))
def test_same_random_numbers_same_tree_and_draws(case, compiled):
    make_model, step_size, inv_mass, max_depth, exercises = CASES[case]
    model = make_model()
    inv_mass = np.ones(model.ndim) if inv_mass is None else inv_mass
    trajectory = model.compiled_density().nuts_trajectory() if compiled else None
    rng = np.random.default_rng(7)
    ws = make_workspace(model.ndim, max_depth, dense=inv_mass.ndim == 2)
    q = model.initial_point_flat() + rng.uniform(-1.0, 1.0, model.ndim)
    logp, grad = model.logp_dlogp(q[None])
    state, q_ref = NUTSState(q, float(logp[0]), grad[0]), q.copy()
    depths, steps, divergences = [], [], []
    for _ in range(50):
        normal, uniforms = rng.standard_normal(model.ndim), rng.random(ws.n_uniforms)
        state, fast = transition(ws, model.logp_dlogp, state, step_size, inv_mass, normal, uniforms, trajectory)
        counted = Counting(uniforms)
        q_ref, slow = ref.transition(model, q_ref, step_size, inv_mass, normal, counted, max_depth)
        assert (slow.tree_depth, slow.n_steps, slow.diverging, counted.used) == (
            fast.tree_depth, fast.n_steps, fast.diverging, fast.uniforms_used)
        np.testing.assert_allclose(q_ref, state.q, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose([slow.accept_stat, slow.energy, slow.energy_error, slow.logp],
                                   [fast.accept_stat, fast.energy, fast.energy_error, state.logp],
                                   rtol=1e-10, atol=1e-12)
        depths.append(fast.tree_depth)
        steps.append(fast.n_steps)
        divergences.append(fast.diverging)
    depths, steps = np.array(depths), np.array(steps)
    # each case does what it is there for, so that the comparisons above cannot pass vacuously
    assert len(set(depths)) > 1 or exercises == "max_depth"
    assert np.any(steps > 2 ** depths - 1) or exercises == "max_depth"  # a subtree was discarded
    if exercises == "max_depth":
        assert np.sum(depths == max_depth) > 25  # most transitions stop at the maximum depth
    if exercises == "divergence":
        assert any(divergences)
    else:
        assert not any(divergences)


def nbvi_stream(max_depth=10):
    """``randoms`` for ``ref.sample`` that reads nbvi's block stream as ``run_chain`` does."""

    def randoms(rng, ndim):
        stream = _RandomStream(rng, ndim, make_workspace(ndim, max_depth).n_uniforms)

        def normals():
            while True:
                yield stream.next()[0]  # (refills the blocks when a transition could run out, as nbvi)

        def uniforms():
            while True:
                u = stream.uniforms[stream.pos]
                stream.pos += 1  # what nbvi's ``consumed(info.uniforms_used)`` adds up
                yield u

        return normals(), uniforms()

    return randoms


@pytest.mark.parametrize("dense", [False, True], ids=["diag", "dense"])
@pytest.mark.parametrize("make_model, tune", [(eight_schools, 200), (correlated_2d, 120), (half_normal, 19)])
def test_warmup_adapts_as_nbvi_does(make_model, tune, dense):
    # tune 200: windows (75, 100), (100, 150), so a restart after the first and a plain metric update after
    # the second; 120: the short-warm-up buffers; 19: no metric windows at all
    model = make_model()
    start = model.initial_point_flat() + 0.3
    init = "jitter+adapt_full" if dense else "jitter+adapt_diag"
    theta, stats = run_chain(model, 100, tune, np.random.default_rng(11), init=init, start=start)
    chain = ref.sample(model, 100, tune, seed=11, start=start, randoms=nbvi_stream(), dense=dense)
    assert chain.inv_mass.ndim == (2 if dense else 1)
    assert chain.step_size == pytest.approx(stats["step_size"][0], rel=1e-10)
    np.testing.assert_allclose(chain.draws, theta, rtol=1e-10, atol=1e-12)
    for name in ("tree_depth", "n_steps", "diverging"):
        np.testing.assert_array_equal([getattr(info, name) for info in chain.infos], stats[name])
    np.testing.assert_allclose([info.accept_stat for info in chain.infos], stats["mean_tree_accept"], rtol=1e-10)
    assert len(set(stats["tree_depth"])) > 1


def test_adaptation_pieces_equal_nbvis():
    for tune in range(0, 2100):
        assert metric_windows(tune) == adaptation_windows_as_lists(tune), tune
    rng = np.random.default_rng(0)
    ours, theirs = dual_average_init(0.37), adaptation.dual_average_init(0.37)
    for _ in range(100):
        accept = rng.uniform(0.0, 1.3)
        ours, step = dual_average_update(ours, accept, 0.8)
        theirs, fast_step = adaptation.dual_average_update(theirs, accept, 0.8)
        assert step == fast_step and ours == DualAverage(*theirs)
    draws = rng.standard_normal((30, 4)) * [1.0, 2.0, 0.1, 5.0]
    np.testing.assert_array_equal(regularized_variance(draws), adaptation.regularized_variance(draws))
    np.testing.assert_array_equal(regularized_covariance(draws), adaptation.regularized_covariance(draws))
    # Stan's regularisation: n/(n+5) Sigma + 1e-3 * 5/(n+5) I, Sigma the sample covariance (ddof=1)
    np.testing.assert_allclose(regularized_covariance(draws),
                               30 / 35 * np.cov(draws.T) + 1e-3 * 5 / 35 * np.eye(4), rtol=1e-14, atol=1e-17)
    np.testing.assert_allclose(np.diag(regularized_covariance(draws)), regularized_variance(draws), rtol=1e-13)


def adaptation_windows_as_lists(tune):
    return [tuple(w) for w in adaptation.adaptation_windows(tune)]


class Gaussian:
    """A correlated 3-d Gaussian behind the bare model contract (no nbvi.Model)."""

    ndim = 3
    mean = np.array([1.0, -1.0, 3.0])
    cov = np.array([[2.0, 0.9, 0.0], [0.9, 1.0, -0.3], [0.0, -0.3, 0.25]])
    precision = np.linalg.inv(cov)

    def initial_point_flat(self):
        return np.zeros(3)

    def logp_dlogp(self, theta):
        r = theta - self.mean
        grad = -r @ self.precision
        return 0.5 * np.sum(r * grad, axis=1), grad


@pytest.mark.parametrize("dense", [False, True], ids=["diag", "dense"])
def test_reference_samples_a_known_gaussian(dense):
    model = Gaussian()
    chain = ref.sample(model, draws=2000, tune=500, seed=3, dense=dense)
    x = chain.draws
    for i in range(3):
        # 4 Monte Carlo standard errors (sd / sqrt(ESS)): a correct sampler fails with probability ~6e-5
        ess = effective_sample_size(x[None, :, i], method="basic")
        assert abs(x[:, i].mean() - model.mean[i]) < 4 * np.sqrt(model.cov[i, i] / ess), i
        sq = (x[:, i] - model.mean[i]) ** 2  # the variance is the mean of the squared deviation
        assert abs(sq.mean() - model.cov[i, i]) < 4 * sq.std() / np.sqrt(effective_sample_size(sq[None], method="basic"))
    # the adapted metric approximates the posterior variances, or the covariance (a window of ~250 draws:
    # within 30% of the variances; the correlations within 0.15, ~2.5 standard errors of 1/sqrt(250))
    if dense:
        inv_mass = chain.inv_mass @ chain.inv_mass.T
        np.testing.assert_allclose(np.diag(inv_mass), np.diag(model.cov), rtol=0.3)
        sd, true_sd = np.sqrt(np.diag(inv_mass)), np.sqrt(np.diag(model.cov))
        np.testing.assert_allclose(inv_mass / np.outer(sd, sd), model.cov / np.outer(true_sd, true_sd), atol=0.15)
    else:
        np.testing.assert_allclose(chain.inv_mass, np.diag(model.cov), rtol=0.3)
    assert not any(info.diverging for info in chain.infos)
    assert 0.65 < np.mean([info.accept_stat for info in chain.infos]) < 0.95  # target 0.8
