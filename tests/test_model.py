"""The Model: registration rules, the flat layout, logp_dlogp checked by finite differences on whole models."""
import copy

import numpy as np
import pytest
from gradcheck import assert_grad_close
from scipy import stats

import nbvi


def check_model_gradient(model, theta, rtol=1e-5, atol=1e-5):
    """logp_dlogp's gradient at every row of theta matches central differences of its logp."""
    logp, grad = model.logp_dlogp(theta)
    assert logp.shape == (theta.shape[0],) and grad.shape == theta.shape
    for d in range(theta.shape[0]):
        assert_grad_close(lambda t: model.logp_dlogp(t[None])[0][0], grad[d], theta[d], rtol=rtol, atol=atol)


def check_batched_equals_single(model, theta):
    """Evaluating D points at once equals D separate evaluations."""
    logp, grad = model.logp_dlogp(theta)
    for d in range(theta.shape[0]):
        lp1, g1 = model.logp_dlogp(theta[d:d + 1])
        np.testing.assert_allclose(lp1[0], logp[d], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(g1[0], grad[d], rtol=1e-12, atol=1e-12)


# -- the three models of the foundation issue ------------------------------------------------------------


def mixture_model():
    """The quickstart notebook's bimodal target: one scalar with no data."""
    with nbvi.Model() as model:
        nbvi.NormalMixture("x", w=np.array([0.2, 0.8]), mu=np.array([-0.3, 0.5]), sigma=np.ones(2) * 0.1)
    return model


def iris_model():
    """The notebook's multinomial logistic regression on iris (training split)."""
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    X, y = load_iris(return_X_y=True)
    X_train, _, y_train, _ = train_test_split(X, y, random_state=42)
    with nbvi.Model() as model:
        inputs = nbvi.Data(X_train)
        beta = nbvi.Normal("beta", mu=0, sigma=1e2, shape=(4, 3))
        a = nbvi.Flat("a", shape=(3,))
        p = nbvi.math.softmax(inputs.dot(beta) + a)
        nbvi.Categorical("obs", p=p, observed=y_train)
    return model, X_train, y_train


def hierarchical_model():
    """Group means with a HalfNormal scale, a Beta mixing weight and Dirichlet group proportions."""
    rng = np.random.default_rng(1)
    groups = rng.integers(0, 3, size=40)
    y = rng.normal(size=40) + groups
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 5.0)
        tau = nbvi.HalfNormal("tau", 2.0)
        theta = nbvi.Normal("theta", mu, tau, shape=3)
        rho = nbvi.Beta("rho", 2.0, 2.0)
        props = nbvi.Dirichlet("props", a=np.ones(3))
        sigma = nbvi.Deterministic("sigma", 0.5 + rho)
        nbvi.Normal("y", theta[groups] * (props[groups] * 3.0), sigma, observed=y)
    return model


def test_mixture_initial_point_and_gradient():
    model = mixture_model()
    assert model.ndim == 1
    np.testing.assert_allclose(model.initial_point_flat(), [0.34])
    theta = np.array([[-0.5], [-0.3], [0.0], [0.34], [0.6], [1.0], [2.0]])
    check_model_gradient(model, theta)
    check_batched_equals_single(model, theta)
    expected = np.log(0.2 * stats.norm.pdf(theta[:, 0], -0.3, 0.1) + 0.8 * stats.norm.pdf(theta[:, 0], 0.5, 0.1))
    np.testing.assert_allclose(model.logp_dlogp(theta)[0], expected, rtol=1e-10)


def test_iris_logp_matches_numpy_and_gradient():
    model, X, y = iris_model()
    assert model.ndim == 15
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(7, 15))
    logp, _ = model.logp_dlogp(theta)
    # the same density written directly in numpy: Normal(0, 100) prior on beta, flat a, categorical likelihood
    for d in range(7):
        beta, a = theta[d, :12].reshape(4, 3), theta[d, 12:]
        z = X @ beta + a
        log_p = z - np.logaddexp.reduce(z, axis=1, keepdims=True)
        expected = stats.norm.logpdf(beta, 0, 100).sum() + log_p[np.arange(len(y)), y].sum()
        np.testing.assert_allclose(logp[d], expected, rtol=1e-10)
    check_model_gradient(model, theta[:3])
    check_batched_equals_single(model, theta)


def test_hierarchical_model_gradient_includes_jacobians():
    model = hierarchical_model()
    # mu, tau (log), theta (3), rho (logodds), props (stick-breaking: 2)
    assert model.ndim == 1 + 1 + 3 + 1 + 2
    rng = np.random.default_rng(2)
    theta = rng.normal(scale=0.7, size=(7, model.ndim))
    check_model_gradient(model, theta[:3])
    check_batched_equals_single(model, theta)
    # the Jacobian terms: logp_dlogp = logp(point) + sum of log|dx/du|
    point = {k: v[0] for k, v in model.unravel(theta[:1]).items() if k != "sigma"}
    lp = model.logp_dlogp(theta[:1])[0][0]
    np.testing.assert_allclose(model.logp(point, jacobian=True), lp, rtol=1e-10)
    assert model.logp(point) != pytest.approx(lp)


def test_unravel_gives_constrained_draws_and_deterministics():
    model = hierarchical_model()
    theta = np.random.default_rng(3).normal(size=(5, model.ndim))
    draws = model.unravel(theta)
    assert set(draws) == {"mu", "tau", "theta", "rho", "props", "sigma"}
    assert draws["theta"].shape == (5, 3) and draws["props"].shape == (5, 3)
    assert np.all(draws["tau"] > 0) and np.all((draws["rho"] > 0) & (draws["rho"] < 1))
    np.testing.assert_allclose(draws["props"].sum(axis=1), 1.0)
    np.testing.assert_allclose(draws["sigma"], 0.5 + draws["rho"])


# -- registration rules ---------------------------------------------------------------------------------


def test_model_collections():
    with nbvi.Model() as model:
        a = nbvi.Normal("a", 0.0, 1.0)
        b = nbvi.HalfNormal("b", 1.0, shape=2)
        y = nbvi.Normal("y", a, b, observed=np.zeros((4, 2)))
        d = nbvi.Deterministic("d", a * 2.0)
    assert model.free_RVs == [a, b]
    assert model.observed_RVs == [y]
    assert model.deterministics == [d]
    assert model.named_vars == {"a": a, "b": b, "y": y, "d": d}
    assert model["b"] is b
    assert model.ndim == 3
    point = model.initial_point()
    assert set(point) == {"a", "b"} and point["b"].shape == (2,)
    assert model.initial_point_flat().shape == (3,)


def test_duplicate_names_rejected():
    with nbvi.Model():
        nbvi.Normal("x", 0.0, 1.0)
        with pytest.raises(ValueError, match="already has a variable named 'x'"):
            nbvi.Normal("x", 0.0, 1.0)


def test_distribution_outside_model_is_an_error():
    with pytest.raises(TypeError, match="outside a model"):
        nbvi.Normal("x", 0.0, 1.0)


def test_discrete_latent_variable_is_a_type_error_naming_it():
    with nbvi.Model():
        with pytest.raises(TypeError, match="'k'"):
            nbvi.Poisson("k", 3.0)
        with pytest.raises(TypeError, match="'c'"):
            nbvi.Categorical("c", p=np.array([0.5, 0.5]))


def test_observed_nan_names_the_variable():
    with nbvi.Model():
        with pytest.raises(ValueError, match="'y'.*NaN"):
            nbvi.Normal("y", 0.0, 1.0, observed=np.array([0.0, np.nan]))


def test_shape_mismatch_names_both_shapes():
    with nbvi.Model():
        with pytest.raises(ValueError, match=r"\(4,\).*\(3,\)|\(3,\).*\(4,\)"):
            nbvi.Normal("x", np.zeros(3), 1.0, shape=4)
        mu = nbvi.Normal("mu", 0.0, 1.0, shape=3)
        with pytest.raises(ValueError, match=r"\(5, 2\).*\(3,\)|\(3,\).*\(5, 2\)"):
            nbvi.Normal("y", mu, 1.0, observed=np.zeros((5, 2)))


def test_invalid_constant_parameter_names_the_variable():
    with nbvi.Model():
        with pytest.raises(ValueError, match="'s'.*sigma"):
            nbvi.Normal("s", 0.0, -1.0)


def test_user_arrays_are_not_modified():
    data = np.arange(6.0).reshape(3, 2)
    mu0 = np.zeros(2)
    keep_data, keep_mu = data.copy(), mu0.copy()
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", mu0, 1.0)
        nbvi.Normal("y", mu, 1.0, observed=data)
    theta = np.ones((2, 2))
    keep_theta = theta.copy()
    model.logp_dlogp(theta)
    model.unravel(theta)
    np.testing.assert_array_equal(data, keep_data)
    np.testing.assert_array_equal(mu0, keep_mu)
    np.testing.assert_array_equal(theta, keep_theta)
    lp_before = model.logp_dlogp(keep_theta)[0][0]
    data[:] = 100.0  # later changes to the caller's arrays do not reach the model
    mu0[:] = 100.0
    assert model.logp_dlogp(keep_theta)[0][0] == lp_before


def test_observed_data_node_and_set_value():
    values = np.array([0.5, 1.5])
    with nbvi.Model() as model:
        data = nbvi.Data(values)
        mu = nbvi.Normal("mu", 0.0, 1.0)
        nbvi.Normal("y", mu, 1.0, observed=data)
    theta = np.array([[0.2]])
    expected = stats.norm.logpdf(0.2) + stats.norm.logpdf(values, 0.2).sum()
    np.testing.assert_allclose(model.logp_dlogp(theta)[0][0], expected)
    data.set_value(np.array([1.0, 2.0, 3.0]))
    expected = stats.norm.logpdf(0.2) + stats.norm.logpdf([1.0, 2.0, 3.0], 0.2).sum()
    np.testing.assert_allclose(model.logp_dlogp(theta)[0][0], expected)


@pytest.mark.parametrize(
    "total_size, factor",
    [(None, 1.0), (100, 10.0), ((100, None), 10.0), ((100, 6), 20.0), ((Ellipsis, 6), 2.0), ((100, Ellipsis), 10.0),
     (Ellipsis, 1.0)],
)
def test_total_size_scales_the_observed_term(total_size, factor):
    batch = np.random.default_rng(4).normal(size=(10, 3))
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0, shape=3)
        nbvi.Normal("y", mu, 1.0, observed=batch, total_size=total_size)
    theta = np.array([[0.1, -0.2, 0.3]])
    expected = stats.norm.logpdf(theta[0]).sum() + factor * stats.norm.logpdf(batch, theta[0]).sum()
    np.testing.assert_allclose(model.logp_dlogp(theta)[0][0], expected, rtol=1e-12)
    check_model_gradient(model, theta)


def test_total_size_too_long_is_an_error():
    with nbvi.Model():
        with pytest.raises(ValueError, match="'y'"):
            nbvi.Normal("y", 0.0, 1.0, observed=np.zeros(5), total_size=(10, 10, 10))


def test_large_observed_term_uses_rows_kernel_and_matches_scipy():
    rng = np.random.default_rng(5)
    data = rng.normal(size=(3000, 8)) * 2.0 + 1.0
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 10.0, shape=8)
        sd = nbvi.HalfNormal("sd", 5.0, shape=8)
        nbvi.Normal("y", mu, sd, observed=data)
    theta = rng.normal(scale=0.3, size=(2, 16))
    logp, grad = model.logp_dlogp(theta)
    for d in range(2):
        m, s = theta[d, :8], np.exp(theta[d, 8:])
        expected = (stats.norm.logpdf(m, 0, 10).sum() + stats.halfnorm.logpdf(s, scale=5).sum()
                    + theta[d, 8:].sum() + stats.norm.logpdf(data, m, s).sum())
        np.testing.assert_allclose(logp[d], expected, rtol=1e-10)
    check_model_gradient(model, theta[:1], rtol=1e-4)


def test_flat_priors_add_no_term_and_a_flat_only_model_still_works():
    with nbvi.Model() as model:
        mu = nbvi.Flat("mu", shape=2)
        nbvi.Normal("y", mu, 1.0, observed=np.array([[0.5, -1.0]]))
    assert len(model._joint()[0].steps) == 1  # the Normal term alone: Flat adds 0 everywhere
    theta = np.array([[0.1, 0.2]])
    np.testing.assert_allclose(model.logp_dlogp(theta)[0], stats.norm.logpdf([0.5, -1.0], [0.1, 0.2]).sum())
    with nbvi.Model() as flat_only:
        nbvi.Flat("a", shape=3)
    logp, grad = flat_only.logp_dlogp(np.ones((2, 3)))
    np.testing.assert_array_equal(logp, [0.0, 0.0])
    np.testing.assert_array_equal(grad, np.zeros((2, 3)))


def test_sum_of_terms_fast_path_matches_the_generic_walk():
    rng = np.random.default_rng(8)
    data = rng.normal(size=(40, 3))
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 3.0, shape=3)
        sd = nbvi.HalfNormal("sd", 2.0)
        nbvi.Normal("y", mu, sd, observed=data)
    program = model._joint()[0]
    assert program._terms is not None
    theta = rng.normal(size=(4, 4))
    fast = model.logp_dlogp(theta)
    program._terms = None  # the generic planned walk
    generic = model.logp_dlogp(theta)
    np.testing.assert_allclose(fast[0], generic[0], rtol=1e-13)
    np.testing.assert_allclose(fast[1], generic[1], rtol=1e-12, atol=1e-12)


def test_work_per_draw_counts_observed_values_and_free_variables():
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0, shape=3)
        nbvi.Normal("y", mu, 1.0, observed=np.zeros((10, 3)))
        nbvi.Normal("z", mu, 1.0, observed=nbvi.Minibatch(np.zeros((100, 3)), batch_size=5), total_size=100)
    assert model.work_per_draw() == 30 + 15 + 3


def test_initial_point_reads_an_observed_variable_whose_data_is_an_expression():
    with nbvi.Model() as model:
        a = nbvi.Normal("a", 0.0, 1.0)
        obs = nbvi.Normal("obs", a, 2.0, observed=nbvi.Data(np.ones(5)) * 0.5)
        nbvi.Normal("level", obs.sum(), 3.0)
    assert model.initial_point()["level"] == pytest.approx(2.5)
    logp, grad = model.logp_dlogp(np.zeros((1, 2)))
    np.testing.assert_allclose(logp, model._graph_logp_dlogp(np.zeros((1, 2)))[0], rtol=1e-12)


# -- pickling -------------------------------------------------------------------------------------------------

def _pickled(obj):
    import pickle

    return pickle.loads(pickle.dumps(obj))


def _regression_with_data():
    x = np.linspace(0.0, 1.0, 20)
    with nbvi.Model(coords={"obs": range(20)}) as model:
        a = nbvi.Normal("a", 0.0, 1.0)
        sigma = nbvi.HalfNormal("sigma", 1.0)
        data = nbvi.Data("x", x, dims="obs")
        nbvi.Deterministic("mu", a * data, dims="obs")
        nbvi.Normal("y", a * data, sigma, observed=2.0 * x, dims="obs")
    return model


def test_a_pickled_model_has_the_same_density_and_is_a_separate_copy():
    model = _regression_with_data()
    theta = model.initial_point_flat()[None] + 0.3
    expected = model.logp_dlogp(theta)  # (its compiled density does not travel: it is made again)
    duplicate = _pickled(model)
    np.testing.assert_array_equal(duplicate.logp_dlogp(theta)[0], expected[0])
    np.testing.assert_array_equal(duplicate.logp_dlogp(theta)[1], expected[1])
    assert duplicate.named_vars_to_dims["y"] == ("obs",) and list(duplicate.coords) == ["obs"]
    duplicate["x"].set_value(np.linspace(0.0, 2.0, 20))
    assert not np.array_equal(duplicate.logp_dlogp(theta)[0], expected[0])
    np.testing.assert_array_equal(model.logp_dlogp(theta)[0], expected[0])  # the original keeps its data


@pytest.mark.parametrize("copied", [_pickled, copy.deepcopy])
def test_a_copied_models_data_still_checks_the_support_of_its_observed_variables(copied):
    with nbvi.Model() as model:
        counts = nbvi.Data("counts", np.array([1.0, 2.0, 0.0]))
        nbvi.Poisson("y", nbvi.HalfNormal("rate", 2.0), observed=counts)
    model.logp_dlogp(model.initial_point_flat()[None])
    duplicate = copied(model)
    with pytest.raises(ValueError, match="Poisson variable 'y'"):
        duplicate["counts"].set_value(np.array([1.0, -2.0, 0.0]))
    assert duplicate._density is None  # made again at the first call


def test_a_pickled_model_samples_and_fits_and_so_do_its_results():
    duplicate = _pickled(_regression_with_data())
    approx = nbvi.fit(200, model=duplicate, progressbar=False, random_seed=1)
    np.testing.assert_array_equal(_pickled(approx).params, approx.params)
    with pytest.warns(RuntimeWarning, match="divergent"):  # (a short warm-up)
        trace = nbvi.sample(50, tune=50, chains=1, model=duplicate, progressbar=False, random_seed=1)
    np.testing.assert_array_equal(_pickled(trace)["a"], trace["a"])


# -- the model in context ---------------------------------------------------------------------------------------

def test_a_variable_or_deterministic_takes_its_model_as_an_argument():
    model = nbvi.Model()
    x = nbvi.Normal("x", 0.0, 1.0, model=model)
    nbvi.Deterministic("double", 2.0 * x, model=model)
    assert model.free_RVs == [x] and "double" in model.named_vars
    with pytest.raises(TypeError, match="model must be an nbvi.Model"):
        nbvi.Normal("y", 0.0, 1.0, model="model")


def test_calls_outside_a_model_say_there_is_no_model():
    with pytest.raises(TypeError, match="no model given and none in context"):
        nbvi.fit(10, progressbar=False)
    with pytest.raises(TypeError, match="no model given and none in context"):
        nbvi.sample(10, tune=10, progressbar=False)
    with pytest.raises(TypeError, match="Normal variable 'x' was created outside a model"):
        nbvi.Normal("x", 0.0, 1.0)


def test_a_named_model_entered_inside_another_is_refused_rather_than_left_out():
    """PyMC makes it a submodel whose variables join the outer model; nbvi has none, and says so."""
    with nbvi.Model() as outer:
        nbvi.Normal("a", 0.0, 1.0)
        inner = nbvi.Model(name="inner")
        with pytest.raises(TypeError, match="no nested models"):
            with inner:
                pass
        with outer:  # entering the same model again is fine
            nbvi.Normal("b", 0.0, 1.0)
        with nbvi.Model() as separate:  # an unnamed one is a model of its own
            nbvi.Normal("c", 0.0, 1.0)
    assert [rv.name for rv in outer.free_RVs] == ["a", "b"]
    assert [rv.name for rv in separate.free_RVs] == ["c"]
