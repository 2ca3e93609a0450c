"""Binomial: log-probability against scipy, the gradient with respect to p against central differences,
the checks on n, validation, moment and sampling."""
import numpy as np
import pytest
from gradcheck import assert_grad_close
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from nbvi.distributions.binomial import Binomial
from nbvi.graph import Constant, Placeholder, Program


@st.composite
def binomial_case(draw):
    """A value shape; n and p shapes that broadcast against it; draw counts and values with y <= n."""
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=2)))
    def param_shape():
        k = draw(st.integers(0, len(shape)))
        return tuple(1 if draw(st.booleans()) else m for m in shape[len(shape) - k:])
    n_shape, p_shape = param_shape(), param_shape()
    n_draws = draw(st.sampled_from([1, 2, 3]))
    draws = [draw(st.sampled_from([1, n_draws])) for _ in range(2)]
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    n = rng.integers(0, 12, size=n_shape)
    y = rng.binomial(np.broadcast_to(n, shape), 0.4, size=(draws[0],) + shape).astype(float)
    p = rng.uniform(0.05, 0.95, size=(draws[1],) + p_shape)
    return y, n, p


@given(case=binomial_case())
def test_logp_matches_scipy_and_gradient_matches_finite_differences(case):
    y, n, p = case
    nodes = [Placeholder(y.shape[1:], "y"), Placeholder(p.shape[1:], "p")]
    prog = Program([Binomial.dist(n, nodes[1]).logp(nodes[0])], nodes)
    logp, (_, grad) = prog.value_and_grad([y, p])
    lifted = p.reshape(p.shape[:1] + (1,) * (y.ndim - p.ndim) + p.shape[1:])
    expected = stats.binom.logpmf(y, n, lifted)
    draws = max(len(y), len(p))
    expected = np.broadcast_to(expected, (draws,) + expected.shape[1:]).reshape(draws, -1).sum(axis=1)
    np.testing.assert_allclose(logp, expected, rtol=1e-10, atol=1e-10)
    assert grad.shape == p.shape
    assert_grad_close(lambda v: prog.value_and_grad([y, v])[0].sum(), grad, p)


def test_edge_cases_and_out_of_support():
    node = Placeholder((), "p")
    # p = 0 with no successes and p = 1 with all successes have probability 1
    prog = Program([Binomial.dist([3, 4], node).logp(Constant([0.0, 0.0]))], [node])
    assert prog.value_and_grad([np.array([0.0])])[0][0] == 0.0
    prog = Program([Binomial.dist([3, 4], node).logp(Constant([3.0, 4.0]))], [node])
    assert prog.value_and_grad([np.array([1.0])])[0][0] == 0.0
    for y, p in (([5.0], 0.5), ([-1.0], 0.5), ([1.5], 0.5), ([1.0], 0.0), ([1.0], 1.0), ([1.0], 1.2)):
        prog = Program([Binomial.dist(4, node).logp(Constant(y))], [node])
        logp, (grad,) = prog.value_and_grad([np.array([p])])
        assert logp[0] == -np.inf and np.all(np.isfinite(grad))


def test_validation():
    with pytest.raises(ValueError, match="p must be in"):
        Binomial.dist(5, [0.5, 1.5])
    with pytest.raises(ValueError, match="non-negative integers"):
        Binomial.dist([5, -1], 0.5)
    with pytest.raises(ValueError, match="non-negative integers"):
        Binomial.dist(2.5, 0.5)
    with pytest.raises(TypeError, match="constant"):
        Binomial.dist(Placeholder((), "n"), 0.5)
    Binomial.dist(Constant(np.array([3, 4])), 0.5)  # a constant node is fine
    with pytest.raises(ValueError, match="integers in 0..n"):
        Binomial.dist([3, 4], 0.5).check_observed(np.array([1, 5]))
    Binomial.dist([3, 4], 0.5).check_observed(np.array([3, 0]))


def test_moment_and_random():
    np.testing.assert_array_equal(Binomial.dist([10, 3], [0.25, 0.5]).initial_value(), [2, 1])
    draws = Binomial.dist([10, 3], [0.25, 0.5]).random(size=20_000, rng=1)
    assert draws.shape == (20_000, 2)
    # standard error of the mean: sqrt(n p (1 - p) / 20_000) <= 0.01; allow 4 of them
    np.testing.assert_allclose(draws.mean(axis=0), [2.5, 1.5], atol=0.04)


# -- the number of trials as Data ----------------------------------------------------------------------------

def _trials_model(trials, y, family="Binomial"):
    import nbvi

    with nbvi.Model() as model:
        n = nbvi.Data("n", trials)
        p = nbvi.Beta("p", 2.0, 2.0)
        if family == "Binomial":
            nbvi.Binomial("y", n=n, p=p, observed=y)
        elif family == "ZeroInflatedBinomial":
            nbvi.ZeroInflatedBinomial("y", psi=0.8, n=n, p=p, observed=y)
        else:
            nbvi.BetaBinomial("y", alpha=2.0 * p, beta=3.0, n=n, observed=y)
    return model, n


@pytest.mark.parametrize("family", ["Binomial", "ZeroInflatedBinomial", "BetaBinomial"])
def test_trials_from_data_give_the_same_density_as_constant_trials(family):
    import nbvi

    rng = np.random.default_rng(4)
    trials = rng.integers(3, 15, 25)
    y = rng.binomial(trials, 0.4)
    model, _ = _trials_model(trials, y, family)
    with nbvi.Model() as constant:
        p = nbvi.Beta("p", 2.0, 2.0)
        if family == "Binomial":
            nbvi.Binomial("y", n=trials, p=p, observed=y)
        elif family == "ZeroInflatedBinomial":
            nbvi.ZeroInflatedBinomial("y", psi=0.8, n=trials, p=p, observed=y)
        else:
            nbvi.BetaBinomial("y", alpha=2.0 * p, beta=3.0, n=trials, observed=y)
    theta = np.array([[-0.4], [0.3]])
    for a, b in zip(model.logp_dlogp(theta), constant.logp_dlogp(theta)):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    for a, b in zip(model.logp_dlogp(theta), model._graph_logp_dlogp(theta)):
        np.testing.assert_allclose(a, b, rtol=1e-10)


def test_trials_from_data_follow_set_value_and_predict_for_new_trials():
    import nbvi

    trials = np.array([10, 10, 10, 10])
    model, n = _trials_model(trials, np.array([3, 4, 2, 5]))
    theta = np.array([[0.2]])
    before = model.logp_dlogp(theta)[0]
    n.set_value(np.array([20, 20, 20, 20]))
    p = 1.0 / (1.0 + np.exp(-0.2))
    expected = (stats.binom.logpmf([3, 4, 2, 5], 20, p).sum() + stats.beta(2.0, 2.0).logpdf(p)
                + np.log(p * (1.0 - p)))  # the logit transform's Jacobian
    np.testing.assert_allclose(model.logp_dlogp(theta)[0], expected, rtol=1e-12)
    assert model.logp_dlogp(theta)[0] != before
    n.set_value(np.array([1000, 2000]))  # predictions for two new rows with other numbers of trials
    pp = nbvi.sample_posterior_predictive({"p": np.full(400, 0.25)}, model=model, random_seed=0, progressbar=False)
    assert pp["y"].shape == (400, 2)
    np.testing.assert_allclose(pp["y"].mean(axis=0) / [1000, 2000], 0.25, atol=0.005)


def test_trials_must_be_a_constant_or_a_data_of_counts():
    import nbvi

    with pytest.raises(ValueError, match="non-negative integers"):
        _trials_model(np.array([3.5, 4.0]), np.array([1, 2]))
    with nbvi.Model():
        k = nbvi.Poisson("k", 3.0, observed=np.array([2.0]))
        with pytest.raises(TypeError, match="constant array or a Data"):
            nbvi.Binomial("y", n=k + 1.0, p=0.3, observed=np.array([1]))
