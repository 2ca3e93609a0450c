"""Bernoulli, Binomial and ZeroInflatedBinomial with p = sigmoid(eta) (or invlogit): evaluated as logit_p = eta,
finite and exact where sigmoid(eta) rounds to 0 or 1, against scipy, the same family given logit_p, central
differences, the compiled density and predictive draws; Binomial's and ZeroInflatedBinomial's logit_p."""
import numpy as np
import pytest
from density_checks import assert_matches_finite_differences, assert_tape_is_graph
from gradcheck import assert_grad_close
from scipy import special, stats

import nbvi
from nbvi.distributions.binomial import binomial_logit_logp_grad
from nbvi.distributions.zeroinflatedbinomial import zeroinflatedbinomial_logit_logp_grad
from nbvi.graph import Constant, Placeholder, Program

N = np.array([1.0, 5.0, 5.0, 5.0])
Y = np.array([0.0, 5.0, 0.0, 2.0])
PSI = 0.7
ETAS = [-800.0, -40.0, -3.0, 0.3, 40.0, 800.0]  # |eta| > 37: sigmoid(eta) rounds to 0 or 1


def make(family, p=None, logit_p=None):
    if family == "Bernoulli":
        return nbvi.Bernoulli.dist(p=p, logit_p=logit_p, shape=2)
    if family == "Binomial":
        return nbvi.Binomial.dist(N, p=p, logit_p=logit_p)
    return nbvi.ZeroInflatedBinomial.dist(PSI, N, p=p, logit_p=logit_p)


def observed(family):
    return np.array([0.0, 1.0]) if family == "Bernoulli" else Y


def trials(family):
    return np.ones(2) if family == "Bernoulli" else N


def exact_logp(family, eta):
    """sum_j log C(n_j, y_j) + y_j log sigmoid(eta) + (n_j - y_j) log sigmoid(-eta), with scipy's log_expit
    (and the zero inflation log((1 - psi) [y = 0] + psi Binomial(y)))."""
    y = observed(family)
    n = trials(family)
    log_c = special.gammaln(n + 1) - special.gammaln(y + 1) - special.gammaln(n - y + 1)
    each = log_c + y * special.log_expit(eta) + (n - y) * special.log_expit(-eta)
    if family == "ZeroInflatedBinomial":
        each = np.where(y == 0, np.logaddexp(np.log1p(-PSI), np.log(PSI) + each), np.log(PSI) + each)
    return each.sum()


def logp_program(family, how):
    eta = Placeholder((), "eta")
    p = {"sigmoid": dict(p=nbvi.math.sigmoid(eta)), "invlogit": dict(p=nbvi.math.invlogit(eta)),
         "logit_p": dict(logit_p=eta)}[how]
    dist = make(family, **p)
    program = Program([dist.logp(Constant(observed(family)))], [eta])
    return dist, lambda e: program.value_and_grad([np.array([e])])


FAMILIES = ["Bernoulli", "Binomial", "ZeroInflatedBinomial"]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("how", ["sigmoid", "invlogit"])
def test_sigmoid_p_is_taken_as_logit_p(family, how):
    dist, run = logp_program(family, how)
    assert dist.params[-1] == "logit_p" and dist.family.name.endswith("_logit")
    assert dist.param_nodes["logit_p"].name == "eta"  # the sigmoid's input itself
    _, reference = logp_program(family, "logit_p")
    for eta in ETAS:
        logp, (grad,) = run(eta)
        assert np.isfinite(logp[0]), (family, eta)
        np.testing.assert_allclose(logp[0], exact_logp(family, eta), rtol=1e-13)
        want_logp, (want_grad,) = reference(eta)
        np.testing.assert_array_equal(logp, want_logp)
        np.testing.assert_array_equal(grad, want_grad)
        assert_grad_close(lambda e: run(float(e[0]))[0][0], grad, np.array([eta]), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("family", FAMILIES)
def test_matches_the_p_form_where_that_is_accurate(family):
    _, run = logp_program(family, "sigmoid")
    for eta in (-3.0, 0.3, 2.0):
        p = special.expit(eta)
        dist = make(family, p=p)
        assert dist.params[-1] == "p"  # a constant p stays as it is
        np.testing.assert_allclose(run(eta)[0][0], dist.logp(Constant(observed(family))).eval(), rtol=1e-13)
    if family == "Binomial":
        np.testing.assert_allclose(run(0.3)[0][0], stats.binom.logpmf(Y, N, special.expit(0.3)).sum(), rtol=1e-13)


def test_the_report_model():
    with nbvi.Model() as model:
        b = nbvi.Normal("b", 0, 100)
        y = nbvi.Bernoulli("y", p=nbvi.math.sigmoid(b), observed=[0, 1])
    assert y.dist.params == ("logit_p",)
    prior = stats.norm.logpdf(40.0, 0, 100)
    np.testing.assert_allclose(model.logp({"b": 40.0}), prior + special.log_expit(-40.0) + special.log_expit(40.0),
                               rtol=1e-13)  # -45.6
    logp, grad = model.logp_dlogp(np.array([[40.0], [-40.0]]))
    assert np.all(np.isfinite(logp)) and np.all(np.isfinite(grad))


def test_other_p_nodes_keep_p():
    with nbvi.Model():
        b = nbvi.Normal("b", 0, 1)
        y = nbvi.Bernoulli("y", p=0.5 * nbvi.math.sigmoid(b), observed=[0, 1])
    assert y.dist.params == ("p",)


@pytest.mark.parametrize("family", FAMILIES)
def test_compiled_density_and_finite_differences(family):
    with nbvi.Model() as model:
        b = nbvi.Normal("b", 0.0, 3.0, shape=len(observed(family)))
        kwargs = dict(p=nbvi.math.sigmoid(2.0 * b - 1.0))
        if family == "Bernoulli":
            nbvi.Bernoulli("y", observed=observed(family), **kwargs)
        elif family == "Binomial":
            nbvi.Binomial("y", N, observed=Y, **kwargs)
        else:
            nbvi.ZeroInflatedBinomial("y", PSI, N, observed=Y, **kwargs)
    assert nbvi.explain(model).path in ("fused", "tape")
    assert_tape_is_graph(model, spread=2.0)
    assert_matches_finite_differences(model)
    far = np.full((1, model.ndim), 25.0)  # sigmoid(49) rounds to 1; each observed 0 adds about -49
    logp, grad = model.logp_dlogp(far)
    np.testing.assert_allclose(logp, model._graph_logp_dlogp(far)[0], rtol=1e-12)
    assert np.isfinite(logp[0]) and np.all(np.isfinite(grad))


def test_binomial_logit_p_edges():
    assert binomial_logit_logp_grad(6.0, 5.0, 0.3) == (-np.inf, 0.0)  # y > n
    assert binomial_logit_logp_grad(1.5, 5.0, 0.3) == (-np.inf, 0.0)
    assert binomial_logit_logp_grad(1.0, 5.0, np.nan) == (-np.inf, 0.0)
    assert binomial_logit_logp_grad(5.0, 5.0, np.inf) == (0.0, 0.0)  # p = 1: all successes are certain
    assert binomial_logit_logp_grad(1.0, 5.0, np.inf) == (-np.inf, 0.0)
    assert zeroinflatedbinomial_logit_logp_grad(0.0, 1.5, 5.0, 0.3) == (-np.inf, 0.0, 0.0)  # psi > 1
    with pytest.raises(ValueError, match="exactly one of p and logit_p"):
        nbvi.Binomial.dist(5, p=0.3, logit_p=0.1)
    with pytest.raises(ValueError, match="exactly one of p and logit_p"):
        nbvi.ZeroInflatedBinomial.dist(0.5, 5)


@pytest.mark.parametrize("family", FAMILIES)
def test_random_and_moment_with_logit_p(family):
    eta = 1.0  # p = 0.731
    dist = make(family, logit_p=np.full(len(observed(family)), eta))
    n = trials(family)
    mean = n * special.expit(eta) * (PSI if family == "ZeroInflatedBinomial" else 1.0)
    draws = dist.random(size=20000, rng=5)
    assert draws.shape == (20000,) + dist.shape
    # the sample mean within 4 standard errors (the standard deviation is below sqrt(n) / 2 + n / 2)
    np.testing.assert_array_less(np.abs(draws.mean(axis=0) - mean), 4 * (np.sqrt(n) / 2 + n / 2) / np.sqrt(20000))
    moment = dist.initial_value()
    assert moment.shape == dist.shape
    np.testing.assert_array_equal(dist.random(size=3, rng=1), dist.random(size=3, rng=1))
    assert np.all(np.isfinite(make(family, logit_p=np.full(len(observed(family)), -900.0)).random(size=3, rng=1)))


def test_predictive_draws_of_a_sigmoid_p():
    with nbvi.Model() as model:
        b = nbvi.Normal("b", 0.0, 1.0)
        nbvi.Binomial("y", np.array([20, 20, 20]), p=nbvi.math.sigmoid(b), observed=np.array([3, 15, 20]))
    trace = {"b": np.full(4000, 1.0)}
    draws = nbvi.sample_posterior_predictive(trace, model=model, random_seed=3, progressbar=False)["y"]
    assert draws.shape == (4000, 3)
    # binomial(20, 0.731): mean 14.62, sd 1.98; 4 standard errors of the mean of 12000 draws: 0.073
    assert abs(draws.mean() - 20 * special.expit(1.0)) < 0.073
    prior = nbvi.sample_prior_predictive(500, model=model, random_seed=4)
    assert prior["y"].shape == (500, 3) and np.all((prior["y"] >= 0) & (prior["y"] <= 20))
