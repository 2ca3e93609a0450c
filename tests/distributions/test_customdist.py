"""nbvi.CustomDist: a user's elementwise logp and hand-written logp_grad, run by the graph walk (the tape
refuses it without a warning); reproducing Normal gives Normal's logp_dlogp."""
import warnings

import numpy as np
import pytest

import nbvi
from nbvi import transforms
from nbvi.compiled.density import CompiledDensity

HALF_LOG_2PI = 0.5 * np.log(2 * np.pi)


def normal_logp(value, mu, sigma):
    z = (value - mu) / sigma
    return -0.5 * z ** 2 - np.log(sigma) - HALF_LOG_2PI


def normal_grad(value, mu, sigma):
    # d/dvalue = -z / sigma, d/dmu = z / sigma, d/dsigma = (z^2 - 1) / sigma
    z = (value - mu) / sigma
    return -z / sigma, z / sigma, (z ** 2 - 1.0) / sigma


Y = np.array([0.3, -1.2, 0.8, 2.0, -0.4])


def regression(custom):
    """A free mean per group, one scale, the likelihood as nbvi.Normal or as the same CustomDist."""
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0, shape=(1,))
        sigma = nbvi.HalfNormal("sigma", 1.0)
        if custom:
            nbvi.CustomDist("y", mu, sigma, logp=normal_logp, logp_grad=normal_grad, observed=Y)
        else:
            nbvi.Normal("y", mu, sigma, observed=Y)
    return model


def test_reproducing_normal_gives_the_same_logp_dlogp():
    theta = np.random.default_rng(0).normal(size=(4, 2))
    logp, grad = regression(True).logp_dlogp(theta)
    logp_normal, grad_normal = regression(False).logp_dlogp(theta)
    np.testing.assert_allclose(logp, logp_normal, rtol=1e-12)
    np.testing.assert_allclose(grad, grad_normal, rtol=1e-10, atol=1e-12)


def test_a_free_customdist_with_a_transform_and_broadcast_parameters():
    """A free CustomDist of shape (2, 3) made positive by the log transform, with parameters that broadcast
    (a free (3,) mean, one sigma): equal to nbvi.Normal with the same transform, on the graph walk."""
    def build(custom):
        with nbvi.Model() as model:
            mu = nbvi.Normal("mu", 0.0, 1.0, shape=3)
            sigma = nbvi.HalfNormal("sigma", 1.0)
            if custom:
                v = nbvi.CustomDist("v", mu, sigma, logp=normal_logp, logp_grad=normal_grad, shape=(2, 3),
                                    transform=transforms.log)
            else:
                v = nbvi.Normal("v", mu, sigma, shape=(2, 3), transform=transforms.log)
            nbvi.Normal("y", v.sum(axis=0), 1.0, observed=np.array([1.0, 2.0, 0.5]))
        return model

    custom, reference = build(True), build(False)
    assert custom.initial_point()["v"] == pytest.approx(np.ones((2, 3)))  # log maps 1 to 0
    theta = custom.initial_point_flat() + 0.3 * np.random.default_rng(1).normal(size=(3, custom.ndim))
    for a, b in zip(custom.logp_dlogp(theta), reference._graph_logp_dlogp(theta)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_the_tape_refuses_it_as_expected_without_a_warning_and_explain_says_why():
    model = regression(True)
    assert not CompiledDensity.build(model) and CompiledDensity.build(model).expected
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.logp_dlogp(np.zeros((1, 2)))
    explanation = nbvi.explain(model)
    assert explanation.path == "graph" and "CustomDist 'y'" in str(explanation)
    assert "user's Python" in str(explanation)


def test_fit_and_sample_run():
    model = regression(True)
    approx = nbvi.fit(200, method="advi", model=model, random_seed=0, progressbar=False)
    trace = nbvi.sample(50, tune=50, chains=1, model=model, random_seed=1, progressbar=False)
    assert np.all(np.isfinite(approx.mean.eval())) and np.all(np.isfinite(trace["mu"]))


def test_random_and_support_point():
    with nbvi.Model():
        v = nbvi.CustomDist("v", 1.5, logp=lambda x, m: -0.5 * (x - m) ** 2, logp_grad=lambda x, m: (m - x, x - m),
                            random=lambda m, rng, size: m + rng.standard_normal(size), support_point=lambda m: m)
        w = nbvi.CustomDist("w", 1.5, logp=lambda x, m: -0.5 * (x - m) ** 2, logp_grad=lambda x, m: (m - x, x - m))
    assert v.random(size=4, rng=0).shape == (4,)
    with pytest.raises(ValueError, match="no random function"):
        w.random()
    assert v.model.initial_point() == {"v": pytest.approx(1.5), "w": pytest.approx(0.0)}


def test_argument_errors():
    with nbvi.Model() as model:
        with pytest.raises(TypeError, match="logp must be a function"):
            nbvi.CustomDist("a", 0.0, logp_grad=normal_grad)
        with pytest.raises(TypeError, match="logp_grad must be a function"):
            nbvi.CustomDist("a", 0.0, logp=normal_logp, logp_grad=3)
        with pytest.raises(ValueError, match="contains NaN"):
            nbvi.CustomDist("a", np.nan, logp=normal_logp, logp_grad=normal_grad)
        with pytest.raises(ValueError, match="transform of 'b' applies to free variables only"):
            nbvi.CustomDist("b", 0.0, 1.0, logp=normal_logp, logp_grad=normal_grad, observed=Y,
                            transform=transforms.log)
        m = nbvi.Normal("m", 0.0, 1.0)
        nbvi.CustomDist("c", m, 1.0, logp=normal_logp, logp_grad=lambda v, m, s: (v, m), observed=Y)
    with pytest.raises(ValueError, match="CustomDist variable 'c': logp_grad must return a tuple of 3"):
        model.logp_dlogp(np.zeros((1, 1)))
    with nbvi.Model() as model:
        nbvi.CustomDist("c", 0.0, 1.0, logp=lambda v, m, s: np.zeros(2), logp_grad=normal_grad, observed=Y)
    with pytest.raises(ValueError, match="logp returned shape \\(2,\\)"):
        model.logp({})


def test_a_wrong_gradient_is_caught_by_check_gradient():
    def wrong(value, mu, sigma):
        g_value, g_mu, g_sigma = normal_grad(value, mu, sigma)
        return g_value, -g_mu, g_sigma

    nbvi.testing.check_gradient(normal_logp, normal_grad, Y, 0.2, 1.3)
    with pytest.raises(AssertionError, match="d logp / d mu"):
        nbvi.testing.check_gradient(normal_logp, wrong, Y, 0.2, 1.3)
