"""OrderedLogistic, OrderedProbit and the ordered transform: log-probabilities against a 50-digit reference
(tails included), gradients against central differences, the tape against the graph walk, draws, a fit
that recovers known cutpoints, and the errors."""
import warnings

import mpmath
import numpy as np
import pytest
from density_checks import assert_matches_finite_differences, assert_tape_is_graph
from gradcheck import assert_grad_close, numeric_grad

import nbvi
from nbvi.distributions.ordered import (
    logistic_log_probs,
    logistic_log_probs_array,
    probit_log_probs,
    probit_log_probs_array,
)
from nbvi.graph.node import Constant
from nbvi.model import NotCompiledWarning

mpmath.mp.dps = 50

# (eta, cutpoints): ordinary values, categories far in both tails (|eta - c| ~ 50), close cutpoints
CASES = [
    (0.3, [-1.0, 0.5, 2.0]),
    (-2.0, [-1.5, -0.2, 0.1, 3.0]),
    (50.0, [-1.0, 0.0, 1.0]),
    (-50.0, [-1.0, 0.0, 1.0]),
    (48.0, [-2.0, 47.5, 47.9, 49.0, 52.0]),
    (-45.0, [-49.0, -48.0, -44.5, 0.0]),
    (0.0, [1e-3, 2e-3]),
    (10.0, [1.5]),
]


def reference_logistic(eta, c):
    """log p_k = log(sigmoid(eta - c_{k-1}) - sigmoid(eta - c_k)) in 50-digit arithmetic."""
    sig = lambda x: 1 / (1 + mpmath.exp(-x))  # noqa: E731
    cum = [mpmath.mpf(1)] + [sig(mpmath.mpf(eta) - mpmath.mpf(ck)) for ck in c] + [mpmath.mpf(0)]
    return np.array([float(mpmath.log(cum[k] - cum[k + 1])) for k in range(len(c) + 1)])


def reference_probit(eta, c, sigma):
    """log(Phi(z_{k-1}) - Phi(z_k)), z_k = (eta - c_k) / sigma, in 50-digit arithmetic; the pair is reflected
    into the lower tail (Phi(a) - Phi(b) = Phi(-b) - Phi(-a)), where 50 digits hold Phi(-50) ~ 1e-545."""
    z = [mpmath.inf] + [(mpmath.mpf(eta) - mpmath.mpf(ck)) / mpmath.mpf(sigma) for ck in c] + [-mpmath.inf]
    out = []
    for a, b in zip(z[:-1], z[1:]):
        p = mpmath.ncdf(-b) - mpmath.ncdf(-a) if a + b > 0 else mpmath.ncdf(a) - mpmath.ncdf(b)
        out.append(float(mpmath.log(p)))
    return np.array(out)


# log p near 0 (a category with p ~ 1) is itself tiny, so it is compared relatively; 1e-12 relative
# leaves room for the few roundings of each formula (the cutpoint gaps, erfc) and no more
RTOL = 1e-11


@pytest.mark.parametrize("eta, c", CASES)
def test_logistic_log_probs_match_the_reference(eta, c):
    c = np.array(c)
    expected = reference_logistic(eta, c)
    graph = logistic_log_probs(Constant(np.array(eta)), Constant(c)).eval()
    np.testing.assert_allclose(graph, expected, rtol=RTOL, atol=0)
    np.testing.assert_allclose(logistic_log_probs_array(np.array(eta), c), expected, rtol=RTOL, atol=0)


@pytest.mark.parametrize("sigma", [1.0, 0.7])
@pytest.mark.parametrize("eta, c", CASES)
def test_probit_log_probs_match_the_reference(eta, c, sigma):
    c = np.array(c)
    expected = reference_probit(eta, c, sigma)
    graph = probit_log_probs(Constant(np.array(eta)), Constant(c), Constant(np.array(sigma))).eval()
    # the asymptotic series of log Phi below -30 is good to ~3e-16 relative; erfc's to a few ulps
    np.testing.assert_allclose(graph, expected, rtol=1e-10, atol=0)
    np.testing.assert_allclose(probit_log_probs_array(np.array(eta), c, np.array(sigma)), expected, rtol=1e-10, atol=0)


@pytest.mark.parametrize("z", [-60.0, -30.0 - 1e-9, -30.0, -29.9, -5.0, -1e-3, 0.0, 1e-3, 3.0, 9.0, 40.0])
def test_log_ndtr_branches_meet(z):
    from scipy.special import log_ndtr

    from nbvi.distributions.ordered import _log_ndtr

    value = _log_ndtr(Constant(np.array(z))).eval()
    np.testing.assert_allclose(value, float(mpmath.log(mpmath.ncdf(z))), rtol=1e-12)
    np.testing.assert_allclose(value, log_ndtr(z), rtol=1e-12)


def _term(family, y, *params):
    return float(family.dist(*params).logp(np.asarray(y, dtype=np.float64)).eval())


@pytest.mark.parametrize("eta, c", CASES)
def test_term_is_the_sum_of_the_observed_log_probabilities(eta, c):
    k = len(c) + 1
    y = np.arange(k)
    np.testing.assert_allclose(_term(nbvi.OrderedLogistic, y, eta, c), reference_logistic(eta, c).sum(), rtol=1e-11)
    np.testing.assert_allclose(_term(nbvi.OrderedProbit, y, eta, c, 1.3), reference_probit(eta, c, 1.3).sum(),
                               rtol=1e-10)


def test_batched_eta_and_cutpoints():
    eta = np.array([[-1.0, 0.5, 2.0], [0.0, 49.0, -49.0]])
    c = np.array([[-0.5, 0.5, 1.5], [-1.0, 0.0, 3.0]])[:, None, :]  # (2, 1, 3): one row of cutpoints per row
    y = np.array([[0, 1, 3], [2, 3, 0]])
    expected = sum(reference_logistic(eta[i, j], c[i, 0])[y[i, j]] for i in range(2) for j in range(3))
    np.testing.assert_allclose(_term(nbvi.OrderedLogistic, y, eta[..., None][..., 0], c[:, 0][:, None]),
                               expected, rtol=1e-11)
    # pointwise: one number per element, summing to the term
    dist = nbvi.OrderedLogistic.dist(eta, c[:, 0][:, None])
    pointwise = dist.logp_elementwise(y[None].astype(float), eta=eta[None], cutpoints=c[:, 0][:, None][None])
    assert pointwise.shape == (1, 2, 3)
    np.testing.assert_allclose(pointwise.sum(), expected, rtol=1e-11)


def _model(family, transform, n=40, seed=0, extreme=False, **kwargs):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = rng.integers(0, 4, size=n)
    if extreme:
        x = x + 50.0 * np.sign(x)  # |eta - c| ~ 50
    with nbvi.Model() as model:
        c = nbvi.Normal("c", 0.0, 5.0, shape=3, transform=transform, initval=[-1.0, 0.2, 1.5])
        b = nbvi.Normal("b", 1.0, 1.0)
        family("y", b * x, c, observed=y, **kwargs)
    return model


FAMILIES = [(nbvi.OrderedLogistic, {}), (nbvi.OrderedProbit, {}), (nbvi.OrderedProbit, {"sigma": 1.7})]


@pytest.mark.parametrize("extreme", [False, True])
@pytest.mark.parametrize("family, kwargs", FAMILIES)
def test_model_runs_on_the_tape_and_equals_the_graph_walk(family, kwargs, extreme):
    model = _model(family, None, extreme=extreme, **kwargs)
    assert nbvi.explain(model).path == "tape", str(nbvi.explain(model))
    assert_tape_is_graph(model, spread=0.1)
    assert_matches_finite_differences(model)


@pytest.mark.parametrize("family, kwargs", FAMILIES)
def test_free_sigma_and_batched_cutpoints_on_the_tape(family, kwargs):
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, size=(2, 6))
    with nbvi.Model() as model:
        c = nbvi.Normal("c", [-1.0, 1.0], 0.1, shape=(2, 1, 2))
        eta = nbvi.Normal("eta", 0.0, 1.0, shape=(2, 6))
        extra = {"sigma": nbvi.HalfNormal("s", 1.0)} if family is nbvi.OrderedProbit else {}
        family("y", eta, c, observed=y, **extra)
    assert nbvi.explain(model).path == "tape"
    assert_tape_is_graph(model, spread=0.05)
    assert_matches_finite_differences(model)


@pytest.mark.parametrize("extreme", [False, True])
@pytest.mark.parametrize("family, kwargs", FAMILIES)
def test_ordered_transform_model_runs_on_the_tape(family, kwargs, extreme):
    """The ordered transform is the tape's ORDERED instruction: the tape equals the graph walk, and both
    central differences."""
    model = _model(family, nbvi.transforms.ordered, extreme=extreme, **kwargs)
    assert nbvi.explain(model).path == "tape"
    assert_tape_is_graph(model, spread=0.1)
    theta = model.initial_point_flat() + 0.2 * np.random.default_rng(1).standard_normal(model.ndim)
    logp, grad = model.logp_dlogp(theta[None])
    assert np.isfinite(logp[0])
    assert_grad_close(lambda t: float(model._graph_logp_dlogp(t[None])[0][0]), grad[0], theta,
                      rtol=1e-6, atol=1e-6 * max(1.0, float(np.abs(grad).max())))


def test_unordered_free_cutpoints_give_minus_infinity():
    with nbvi.Model() as model:
        c = nbvi.Normal("c", 0.0, 1.0, shape=3)
        nbvi.OrderedLogistic("y", 0.0, c, observed=[0, 1, 2, 3])
    theta = np.array([[-1.0, 1.0, 0.5], [-1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    logp, grad = model.logp_dlogp(theta)
    assert logp[0] == -np.inf and np.isfinite(logp[1]) and logp[2] == -np.inf
    assert np.all(np.isfinite(grad))
    logp_graph, _ = model._graph_logp_dlogp(theta)
    np.testing.assert_array_equal(logp_graph[[0, 2]], -np.inf)


# -- the ordered transform -----------------------------------------------------------------------------------

def test_ordered_transform_round_trip():
    rng = np.random.default_rng(0)
    u = rng.normal(size=(3, 2, 5))
    x = nbvi.transforms.ordered.backward(u)
    assert np.all(np.diff(x, axis=-1) > 0)
    np.testing.assert_allclose(nbvi.transforms.ordered.forward(x), u, rtol=1e-12, atol=1e-12)
    x = np.sort(rng.normal(size=(4, 3)), axis=-1)
    np.testing.assert_allclose(nbvi.transforms.ordered.backward(nbvi.transforms.ordered.forward(x)), x, rtol=1e-12)


def test_ordered_transform_jacobian_against_finite_differences():
    t = nbvi.transforms.ordered
    u = np.random.default_rng(1).normal(size=5)
    jac = np.stack([numeric_grad(lambda v, i=i: float(t.backward(v[None])[0, i]), u) for i in range(5)])
    np.testing.assert_allclose(t.log_jac_det(u[None])[0], np.log(abs(np.linalg.det(jac))), rtol=1e-7)
    assert_grad_close(lambda v: float(t.log_jac_det(v[None])[0]), t.log_jac_det_grad(u[None])[0], u)
    g = np.random.default_rng(2).normal(size=5)
    np.testing.assert_allclose(t.backward_vjp(u[None], g[None])[0], jac.T @ g, rtol=1e-6, atol=1e-8)
    log_jac, g_u = t.density_terms(u[None], t.backward(u[None]), g[None])
    np.testing.assert_allclose(g_u[0], jac.T @ g + t.log_jac_det_grad(u[None])[0], rtol=1e-6, atol=1e-8)


def test_ordered_transform_shapes_and_initval():
    assert nbvi.transforms.ordered.unconstrained_shape((2, 4)) == (2, 4)
    with pytest.raises(ValueError, match="last axis"):
        nbvi.transforms.ordered.unconstrained_shape(())
    with nbvi.Model() as model:
        nbvi.Normal("c", 0, 5, shape=4, transform=nbvi.transforms.ordered, initval=[-2, -1, 1, 2])
    np.testing.assert_allclose(model.initial_point_flat(), [-2.0, 0.0, np.log(2.0), 0.0])
    with pytest.raises(ValueError, match="initval of 'd'"):
        with nbvi.Model():
            nbvi.Normal("d", 0, 5, shape=3, transform=nbvi.transforms.ordered, initval=[0.0, -1.0, 1.0])


# -- draws ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("family, extra", [(nbvi.OrderedLogistic, ()), (nbvi.OrderedProbit, (0.8,))])
def test_random_draws_have_the_right_proportions(family, extra):
    eta, c = 0.4, np.array([-1.0, 0.0, 1.2])
    draws = family.dist(eta, c, *extra).random(size=40000, rng=5)
    p = np.exp(reference_logistic(eta, c) if not extra else reference_probit(eta, c, *extra))
    freq = np.bincount(draws, minlength=4) / draws.size
    # 4 binomial standard errors per class
    np.testing.assert_array_less(np.abs(freq - p), 4 * np.sqrt(p * (1 - p) / draws.size))


def test_prior_predictive_and_probs_deterministic():
    x = np.array([-3.0, 0.0, 3.0])
    with nbvi.Model() as model:
        c = nbvi.Normal("c", [-1.0, 1.0], 0.01, shape=2)
        nbvi.OrderedLogistic("y", x, c, observed=np.zeros(3))
    prior = nbvi.sample_prior_predictive(20000, model=model, random_seed=3)
    y = np.asarray(prior["y"] if not hasattr(prior, "prior") else prior.prior["y"]).reshape(-1, 3)
    probs = np.asarray(prior["y_probs"] if not hasattr(prior, "prior") else prior.prior["y_probs"]).reshape(-1, 3, 3)
    p = probs.mean(axis=0)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-12)
    for j in range(3):
        freq = np.bincount(y[:, j], minlength=3) / y.shape[0]
        np.testing.assert_array_less(np.abs(freq - p[j]), 4 * np.sqrt(p[j] * (1 - p[j]) / y.shape[0]) + 1e-3)


def test_compute_p():
    with nbvi.Model() as model:
        nbvi.OrderedProbit("y", np.array([0.0, 2.0]), np.array([-1.0, 1.0]), observed=[0, 2])
        nbvi.OrderedLogistic("z", 0.0, np.array([-1.0, 1.0]), observed=[1], compute_p=False)
    assert "y_probs" in model.named_vars and "z_probs" not in model.named_vars
    probs = model["y_probs"].eval()
    np.testing.assert_allclose(probs[1], np.exp(reference_probit(2.0, [-1.0, 1.0], 1.0)), rtol=1e-12)


# -- a fit ---------------------------------------------------------------------------------------------------

def _simulate(n, beta, cutpoints, seed, link):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    latent = beta * x + (rng.logistic(size=n) if link == "logistic" else rng.normal(size=n))
    return x, np.searchsorted(cutpoints, latent)  # y = number of cutpoints below the latent value


def test_nuts_recovers_cutpoints_with_the_ordered_transform():
    true_c = np.array([-1.5, -0.3, 0.8, 2.0])
    x, y = _simulate(600, 1.2, true_c, 0, "logistic")
    with nbvi.Model() as model:
        c = nbvi.Normal("c", 0.0, 5.0, shape=4, transform=nbvi.transforms.ordered, initval=[-2, -1, 1, 2])
        b = nbvi.Normal("b", 0.0, 2.0)
        nbvi.OrderedLogistic("y", b * x, c, observed=y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotCompiledWarning)
        trace = nbvi.sample(300, tune=300, chains=2, random_seed=1, progressbar=False, model=model,
                             compute_convergence_checks=False)
    draws = np.asarray(trace["c"]).reshape(-1, 4)
    assert np.all(np.diff(draws, axis=-1) > 0)
    mean, sd = draws.mean(axis=0), draws.std(axis=0)
    # the truth within 4 posterior standard deviations (each sd ~ 0.1-0.15 here)
    np.testing.assert_array_less(np.abs(mean - true_c), 4 * sd)
    assert abs(np.asarray(trace["b"]).mean() - 1.2) < 4 * np.asarray(trace["b"]).std()
    post = nbvi.sample_posterior_predictive(trace, model=model, random_seed=2, progressbar=False)
    y_rep = np.asarray(post["y"] if not hasattr(post, "posterior_predictive") else post.posterior_predictive["y"])
    freq_rep = np.bincount(y_rep.reshape(-1), minlength=5) / y_rep.size
    freq = np.bincount(y, minlength=5) / y.size
    np.testing.assert_allclose(freq_rep, freq, atol=0.03)  # the fitted model reproduces the class shares


def test_advi_recovers_probit_cutpoints_on_the_tape():
    """The ordered construction written with ops (the first cutpoint and the logs of the gaps free) runs on
    the tape as the ordered transform does."""
    true_c = np.array([-1.0, 0.0, 1.2])
    x, y = _simulate(1000, 0.8, true_c, 4, "normal")
    with nbvi.Model() as model:
        first = nbvi.Normal("first", 0.0, 5.0, shape=1)
        log_gaps = nbvi.Normal("log_gaps", 0.0, 2.0, shape=2)
        c = nbvi.Deterministic("c", nbvi.math.concatenate(
            [first, first + nbvi.math.cumsum(nbvi.math.exp(log_gaps))], axis=0))
        b = nbvi.Normal("b", 0.0, 2.0)
        nbvi.OrderedProbit("y", b * x, c, observed=y)
    assert nbvi.explain(model).path == "tape"
    approx = nbvi.fit(4000, method="advi", model=model, random_seed=0, progressbar=False,
                      obj_optimizer=nbvi.adam(learning_rate=0.02))
    mean = np.asarray(approx.sample(2000, random_seed=1)["c"]).mean(axis=0)
    # the posterior sd of each cutpoint is ~0.06 with 1000 rows; 0.15 allows for ADVI's bias and noise
    np.testing.assert_allclose(mean, true_c, atol=0.15)


# -- errors --------------------------------------------------------------------------------------------------

def test_errors():
    with nbvi.Model():
        with pytest.raises(ValueError, match="OrderedLogistic variable 'y'.*cutpoints must be a vector"):
            nbvi.OrderedLogistic("y", 0.0, 1.5, observed=[0, 1])
        with pytest.raises(ValueError, match="OrderedProbit variable 'y'.*cutpoints must be strictly increasing"):
            nbvi.OrderedProbit("y", 0.0, [1.0, 0.5], observed=[0, 1])
        with pytest.raises(ValueError, match="OrderedProbit variable 'y'.*sigma must be > 0"):
            nbvi.OrderedProbit("y", 0.0, [0.0, 0.5], sigma=-1.0, observed=[0, 1])
        with pytest.raises(ValueError, match=r"observed value 3.0 .* class indices in 0..K-1 \(K = 3"):
            nbvi.OrderedLogistic("y", 0.0, [-1.0, 1.0], observed=[0, 3, 1])
        with pytest.raises(ValueError, match="outside the support"):
            nbvi.OrderedLogistic("y", 0.0, [-1.0, 1.0], observed=[0, 1.5])
        with pytest.raises(ValueError, match="outside the support"):
            nbvi.OrderedProbit("y", 0.0, [-1.0, 1.0], observed=[-1, 1])
        with pytest.raises(TypeError, match="name first"):
            nbvi.OrderedLogistic(0.0, [-1.0, 1.0])
    with nbvi.Model():
        with pytest.raises(TypeError, match="'c'"):  # observed only
            nbvi.OrderedLogistic("c", 0.0, [-1.0, 1.0])
