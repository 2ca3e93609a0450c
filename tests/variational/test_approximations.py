"""Approximations: their parameters and initial values, draws and densities, ``sample`` (a Trace with
deterministics) and ``sample_node`` (fresh draws at every eval, ``size``, ``more_replacements``), on the
quickstart notebook's mixture and iris models."""
import math
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

import nbvi
from nbvi.variational.approximations import Empirical, FullRank, MeanField, softplus


def small_model():
    """mu ~ N(0, 1), s ~ HalfNormal(1) (log-transformed), a deterministic, 20 observations."""
    y = np.random.default_rng(0).normal(1.0, 1.0, size=20)
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0)
        s = nbvi.HalfNormal("s", 1.0)
        nbvi.Deterministic("ratio", mu / s)
        nbvi.Normal("y", mu, s, observed=y)
    return model


MODEL = small_model()


def mixture_model():
    """The quickstart's bimodal target."""
    with nbvi.Model() as model:
        x = nbvi.NormalMixture("x", w=nbvi.floatX([0.2, 0.8]), mu=nbvi.floatX([-0.3, 0.5]),
                               sigma=nbvi.floatX([0.1, 0.1]))
    return model, x


# ---------------------------------------------------------------------------------------------------------
# Parameters and initial values
# ---------------------------------------------------------------------------------------------------------

def test_quickstart_advi_starts_at_the_initial_point_with_std_log_2():
    model, _ = mixture_model()
    with model:
        advi = nbvi.ADVI()
    approx = advi.approx
    assert isinstance(approx, MeanField)
    assert set(approx.shared_params) == {"mu", "rho"}
    np.testing.assert_allclose(approx.mean.eval(), [0.34])  # 0.2 * -0.3 + 0.8 * 0.5
    np.testing.assert_allclose(approx.std.eval(), [math.log(2.0)])  # softplus(0)
    np.testing.assert_array_equal(approx.shared_params["rho"], [0.0])


def test_shared_params_are_views_of_the_flat_parameters():
    approx = MeanField(MODEL)
    assert approx.params.shape == (4,)
    approx.params[:] = [1.0, 2.0, 0.5, -0.5]
    np.testing.assert_array_equal(approx.shared_params["mu"], [1.0, 2.0])
    np.testing.assert_array_equal(approx.shared_params["rho"], [0.5, -0.5])
    np.testing.assert_array_equal(approx.mean.eval(), [1.0, 2.0])
    np.testing.assert_allclose(approx.std.eval(), np.log1p(np.exp([0.5, -0.5])))
    approx.shared_params["mu"][0] = 7.0
    assert approx.params[0] == 7.0
    # mean.eval() returns a copy: changing it does not change the approximation
    approx.mean.eval()[0] = -1.0
    assert approx.params[0] == 7.0


def test_fullrank_parameters():
    approx = FullRank(MODEL, start=np.array([0.5, -0.5]))
    assert set(approx.shared_params) == {"mu", "L_tril"}
    np.testing.assert_allclose(approx.L(), np.eye(2), rtol=1e-15)
    # row-major packing: lambda_0, L10, lambda_1, with L_ii = softplus(lambda_i)
    approx.shared_params["L_tril"][:] = [2.0, 0.6, -0.5]
    L = np.array([[np.log1p(np.exp(2.0)), 0.0], [0.6, np.log1p(np.exp(-0.5))]])
    np.testing.assert_allclose(approx.L(), L, rtol=1e-15)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (a negative entry off the diagonal is no log's business)
        approx.set_L(np.array([[1.5, 9.0], [-0.3, 0.2]]))  # (the upper triangle is ignored)
    np.testing.assert_allclose(approx.L(), [[1.5, 0.0], [-0.3, 0.2]], rtol=1e-14)
    with pytest.raises(ValueError, match="diagonal of L must be positive"):
        approx.set_L(np.array([[1.5, 0.0], [-0.3, -0.2]]))
    np.testing.assert_allclose(approx.L(), [[1.5, 0.0], [-0.3, 0.2]], rtol=1e-14)  # unchanged
    approx.set_L(L)
    np.testing.assert_allclose(approx.cov(), L @ L.T)
    np.testing.assert_allclose(approx.std.eval(), np.sqrt(np.diag(L @ L.T)))
    np.testing.assert_array_equal(approx.mean.eval(), [0.5, -0.5])


def test_empirical_parameters():
    particles = np.arange(10.0).reshape(5, 2)
    approx = Empirical(MODEL, particles)
    assert set(approx.shared_params) == {"histogram"}
    np.testing.assert_array_equal(approx.histogram, particles)
    np.testing.assert_allclose(approx.mean.eval(), particles.mean(axis=0))
    np.testing.assert_allclose(approx.std.eval(), particles.std(axis=0))
    particles[0, 0] = 99.0  # the approximation holds a copy
    assert approx.histogram[0, 0] == 0.0
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        Empirical(MODEL, np.zeros((5, 3)))


def test_softplus_is_stable():
    x = np.array([-800.0, -30.0, 0.0, 30.0, 800.0])
    np.testing.assert_allclose(softplus(x), [0.0, np.exp(-30.0), math.log(2.0), 30.0, 800.0], rtol=1e-12, atol=1e-300)


# ---------------------------------------------------------------------------------------------------------
# Draws and densities
# ---------------------------------------------------------------------------------------------------------

def set_meanfield(approx, mu, sigma):
    approx.shared_params["mu"][:] = mu
    approx.shared_params["rho"][:] = np.log(np.expm1(sigma))


def test_meanfield_draws_logq_and_entropy():
    approx = MeanField(MODEL)
    mu, sigma = np.array([0.5, -1.0]), np.array([0.3, 2.0])
    set_meanfield(approx, mu, sigma)
    draws = approx.draw(20000, np.random.default_rng(0))
    # 4 standard errors: of the mean sigma / sqrt(n), of the sd about sigma / sqrt(2 n)
    assert np.all(np.abs(draws.mean(axis=0) - mu) < 4 * sigma / math.sqrt(20000))
    assert np.all(np.abs(draws.std(axis=0) / sigma - 1) < 4 / math.sqrt(2 * 20000))
    np.testing.assert_allclose(approx.logq(draws[:5]), stats.norm(mu, sigma).logpdf(draws[:5]).sum(axis=1))
    np.testing.assert_allclose(approx.entropy(), stats.norm(mu, sigma).entropy().sum())


def test_fullrank_draws_logq_and_entropy():
    approx = FullRank(MODEL)
    mu = np.array([0.5, -1.0])
    approx.shared_params["mu"][:] = mu
    approx.set_L(np.array([[0.8, 0.0], [-0.9, 0.4]]))
    cov = approx.cov()
    draws = approx.draw(20000, np.random.default_rng(0))
    # sample covariance entries have standard errors below sqrt(2 / n) max|cov| ~ 0.01; 4 of them
    np.testing.assert_allclose(np.cov(draws.T), cov, atol=4 * math.sqrt(2 / 20000) * np.abs(cov).max())
    assert np.all(np.abs(draws.mean(axis=0) - mu) < 4 * np.sqrt(np.diag(cov) / 20000))
    normal = stats.multivariate_normal(mu, cov)
    np.testing.assert_allclose(approx.logq(draws[:5]), normal.logpdf(draws[:5]))
    np.testing.assert_allclose(approx.entropy(), normal.entropy())


def test_empirical_draws_particles_uniformly():
    particles = np.arange(8.0).reshape(4, 2)
    approx = Empirical(MODEL, particles)
    draws = approx.draw(8000, np.random.default_rng(0))
    rows = draws[:, 0] / 2
    assert set(rows) == {0.0, 1.0, 2.0, 3.0}
    np.testing.assert_array_equal(draws[:, 1], draws[:, 0] + 1)
    counts = np.bincount(rows.astype(int))
    # each count is Binomial(8000, 1/4): sd 39; 4 of them
    assert np.all(np.abs(counts - 2000) < 4 * math.sqrt(8000 * 0.25 * 0.75))


# ---------------------------------------------------------------------------------------------------------
# sample: a Trace of constrained values
# ---------------------------------------------------------------------------------------------------------

def test_sample_gives_constrained_draws_and_deterministics():
    approx = MeanField(MODEL, random_seed=0)
    set_meanfield(approx, [1.0, math.log(0.5)], [0.2, 0.1])
    trace = approx.sample(4000)
    assert isinstance(trace, nbvi.Trace)
    assert set(trace.varnames) == {"mu", "s", "ratio"} and trace.n_draws == 4000
    assert trace["mu"].shape == trace["s"].shape == trace["ratio"].shape == (4000,)
    assert np.all(trace["s"] > 0)
    np.testing.assert_allclose(trace["ratio"], trace["mu"] / trace["s"])
    # s = exp(u), u ~ N(log 0.5, 0.1): its median is 0.5; the sample median's sd is ~0.5 * 0.1 * 1.25 / 63
    assert abs(np.median(trace["s"]) - 0.5) < 4 * 0.5 * 0.1 * 1.2533 / math.sqrt(4000)
    assert abs(trace["mu"].mean() - 1.0) < 4 * 0.2 / math.sqrt(4000)


def test_sample_seeds():
    approx = MeanField(MODEL, random_seed=3)
    np.testing.assert_array_equal(approx.sample(5, random_seed=1)["mu"], approx.sample(5, random_seed=1)["mu"])
    # without a seed the approximation's own generator advances
    assert not np.array_equal(approx.sample(5)["mu"], approx.sample(5)["mu"])
    np.testing.assert_array_equal(MeanField(MODEL, random_seed=3).sample(5)["mu"],
                                  MeanField(MODEL, random_seed=3).sample(5)["mu"])


def test_sample_of_an_empirical_approximation_returns_particles():
    particles = np.array([[0.1, 0.0], [0.2, math.log(3.0)]])
    trace = Empirical(MODEL, particles, random_seed=0).sample(50)
    assert set(np.round(trace["s"], 12)) == {1.0, 3.0}
    for mu, s in zip(trace["mu"], trace["s"]):
        assert (mu, round(s, 12)) in {(0.1, 1.0), (0.2, 3.0)}


def test_variables_with_bad_params_by_approximation():
    meanfield = MeanField(MODEL)
    assert meanfield.variables_with_bad_params() == []
    meanfield.shared_params["rho"][1] = np.nan
    assert meanfield.variables_with_bad_params() == ["s"]

    fullrank = FullRank(MODEL)
    fullrank.shared_params["L_tril"][1] = np.inf  # L10: the row of s
    assert fullrank.variables_with_bad_params() == ["s"]
    fullrank.shared_params["L_tril"][1] = 0.0
    fullrank.shared_params["L_tril"][0] = np.inf  # L00: the row of mu
    assert fullrank.variables_with_bad_params() == ["mu"]

    empirical = Empirical(MODEL, np.zeros((3, 2)))
    empirical.histogram[2, 0] = np.nan
    assert empirical.variables_with_bad_params() == ["mu"]
    assert "2 unconstrained" in repr(empirical)


# ---------------------------------------------------------------------------------------------------------
# sample_node
# ---------------------------------------------------------------------------------------------------------

def test_sample_node_on_the_quickstart_mixture():
    model, x = mixture_model()
    with model:
        approx = nbvi.fit(50, method="svgd", inf_kwargs=dict(n_particles=200), random_seed=0,
                          obj_optimizer=nbvi.sgd(learning_rate=0.01), progressbar=False)
    a = x**2
    a_sample = approx.sample_node(a)
    values = [a_sample.eval() for _ in range(5)]
    assert all(np.shape(v) == () for v in values)
    assert len(set(float(v) for v in values)) > 1  # fresh draws at every eval
    assert a.shape == () and a_sample.shape == ()

    a_samples = approx.sample_node(a, size=1000)
    assert a_samples.shape == (1000,)
    assert a_samples.eval().shape == (1000,)
    mean, var = a_samples.mean(axis=0).eval(), a_samples.var(axis=0).eval()
    assert np.shape(mean) == () and np.shape(var) == ()
    # E[x^2] and Var[x^2] over the particles; 1000 draws: within 4 standard errors of the particle values
    squares = approx.histogram[:, 0] ** 2
    assert abs(mean - squares.mean()) < 4 * squares.std() / math.sqrt(1000)
    assert abs(var / squares.var() - 1) < 0.25  # the sample variance of a skewed variable: loose
    b = approx.sample_node(nbvi.math.sin(x), size=10).eval()
    assert b.shape == (10,) and np.all(np.isin(b, np.sin(approx.histogram[:, 0])))  # each draw is a particle


def test_sample_node_of_a_meanfield_matches_its_moments():
    approx = MeanField(MODEL, random_seed=0)
    set_meanfield(approx, [1.0, 0.0], [0.5, 0.1])
    mu = MODEL["mu"]
    draws = approx.sample_node(mu * 2 + 1, size=4000).eval()
    assert draws.shape == (4000,)
    assert abs(draws.mean() - 3.0) < 4 * 1.0 / math.sqrt(4000)  # sd of 2 mu + 1 is 1
    assert abs(draws.std() - 1.0) < 4 / math.sqrt(2 * 4000)
    # a node of several free variables: ratio = mu / s
    ratio = approx.sample_node(MODEL["ratio"], size=7).eval()
    assert ratio.shape == (7,)


def test_sample_node_of_a_node_without_free_variables():
    approx = MeanField(MODEL)
    node = approx.sample_node(nbvi.Constant(np.array([1.0, 2.0])) * 3, size=4)
    np.testing.assert_array_equal(node.eval(), np.tile([3.0, 6.0], (4, 1)))


def test_free_variables_have_no_value_without_sample_node():
    with pytest.raises(ValueError, match="sample_node"):
        (MODEL["mu"] * 2).eval()


# -- the quickstart's iris classifier: more_replacements --------------------------------------------------

def iris():
    from sklearn.datasets import load_iris
    from sklearn.model_selection import train_test_split

    X, y = load_iris(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=42)
    Xt = nbvi.Data(X_train)
    with nbvi.Model() as model:
        beta = nbvi.Normal("beta", 0, 100, shape=(4, 3))
        a = nbvi.Flat("a", shape=(3,))
        p = nbvi.math.softmax(Xt.dot(beta) + a)
        nbvi.Categorical("obs", p=p, observed=y_train)
    return SimpleNamespace(model=model, Xt=Xt, p=p, X_train=X_train, X_test=X_test, y_train=y_train,
                           y_test=y_test)


IRIS = iris()


def softmax_rows(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_more_replacements_swaps_the_data_and_leaves_the_graph_alone():
    """With a single particle the draws are deterministic, so the replaced node can be checked exactly."""
    d = IRIS
    particle = np.random.default_rng(0).normal(size=(1, d.model.ndim))
    point = d.model.unravel(particle)
    beta, a = point["beta"][0], point["a"][0]
    approx = Empirical(d.model, particle)
    test_probs = approx.sample_node(d.p, more_replacements={d.Xt: d.X_test}, size=3)
    train_probs = approx.sample_node(d.p)
    assert test_probs.shape == (3, 38, 3) and train_probs.shape == (112, 3)
    expected_test = softmax_rows(d.X_test @ beta + a)
    np.testing.assert_allclose(test_probs.eval(), np.broadcast_to(expected_test, (3, 38, 3)), rtol=1e-12)
    np.testing.assert_allclose(train_probs.eval(), softmax_rows(d.X_train @ beta + a), rtol=1e-12)
    # the original graph still reads the training data
    assert d.p.shape == (112, 3) and d.Xt.get_value().shape == (112, 4)
    assert approx.sample_node(d.p).eval().shape == (112, 3)


def test_iris_accuracy_tracked_during_svgd():
    """The quickstart's workflow: accuracy expressions on sampled probabilities, tracked while SVGD fits."""
    d = IRIS
    with d.model:
        inference = nbvi.SVGD(n_particles=100, jitter=1, random_seed=0)
        approx = inference.approx
        train_probs = approx.sample_node(d.p)
        test_probs = approx.sample_node(d.p, more_replacements={d.Xt: d.X_test}, size=100)
    test_ok = nbvi.math.eq(test_probs.argmax(-1), d.y_test)
    train_ok = nbvi.math.eq(train_probs.argmax(-1), d.y_train)
    test_accuracy = test_ok.mean(-1)
    train_accuracy = train_ok.mean(-1)
    assert test_accuracy.eval().shape == (100,)
    assert np.shape(train_accuracy.eval()) == ()

    tracker = nbvi.callbacks.Tracker(test_accuracy=test_accuracy.eval, train_accuracy=train_accuracy.eval)
    inference.fit(50, obj_optimizer=nbvi.adamax(learning_rate=0.1), callbacks=[tracker], progressbar=False)
    test_acc = np.array(tracker["test_accuracy"])
    train_acc = np.array(tracker["train_accuracy"])
    assert test_acc.shape == (50, 100) and train_acc.shape == (50,)
    assert np.all((test_acc >= 0) & (test_acc <= 1))
    # From chance (3 classes: 0.35 - 0.38 over the first 5 steps) to 0.87 - 0.89 on the test rows over the
    # last 5 (seeds 0-3); train accuracy is one draw per step, noisier: 0.68 - 0.91. The classifier must
    # clearly beat chance and improve.
    assert test_acc[-5:].mean() > 0.7 and test_acc[-5:].mean() > test_acc[:5].mean() + 0.2
    assert train_acc[-5:].mean() > 0.6
    # the training graph is unchanged: the replaced copy did not touch p or the data
    assert approx.sample_node(d.p).eval().shape == (112, 3)


def test_data_set_value_changes_what_sample_node_reads():
    d = IRIS
    approx = Empirical(d.model, np.zeros((1, d.model.ndim)))
    probs = approx.sample_node(d.p)
    d.Xt.set_value(d.X_test)
    try:
        np.testing.assert_allclose(probs.eval(), np.full((38, 3), 1 / 3))
    finally:
        d.Xt.set_value(d.X_train)
    assert probs.eval().shape == (112, 3)


def test_empirical_logq_is_a_kernel_density_estimate_and_entropy_matches_a_gaussian():
    from scipy import stats

    from nbvi.variational.approximations import Empirical

    with nbvi.Model() as model:
        nbvi.Normal("x", 0.0, 1.0, shape=2)
    particles = np.random.default_rng(0).normal(size=(2000, 2)) * [1.0, 2.0]
    approx = Empirical(model, particles)
    bw = approx.kde_bandwidth()
    theta = np.array([[0.0, 0.0], [1.0, -1.0]])
    expected = [np.log(np.mean(stats.norm.pdf(t[0], particles[:, 0], bw[0]) * stats.norm.pdf(t[1], particles[:, 1], bw[1])))
                for t in theta]
    np.testing.assert_allclose(approx.logq(theta), expected, rtol=1e-10)
    # the estimate of H for N(0, diag(1, 4)) = log(2 pi e) + log 2; the KDE's smoothing and the
    # resubstitution bias stay within 0.1 nats at n = 2000
    assert approx.entropy() == pytest.approx(np.log(2 * np.pi * np.e) + np.log(2.0), abs=0.1)


def test_cov_is_a_node_and_a_call():
    """PyMC's approx.cov.eval() and nbvi's approx.cov() give the same matrix, for every Gaussian q."""
    approx = FullRank(MODEL)
    approx.set_L(np.array([[0.8, 0.0], [-0.9, 0.4]]))
    L = approx.L()
    np.testing.assert_allclose(approx.cov.eval(), L @ L.T, rtol=1e-15)
    np.testing.assert_array_equal(approx.cov(), approx.cov.eval())
    assert approx.cov.shape == (2, 2)
    assert not hasattr(MeanField(MODEL), "cov")  # (its std is the whole story)


def test_sample_includes_the_transformed_draws_on_request():
    approx = MeanField(MODEL)
    trace = approx.sample(40, random_seed=3, include_transformed=True)
    assert [name for name in trace if name.endswith("__")] == ["s_log__"]  # (mu has no transform)
    np.testing.assert_allclose(np.exp(trace["s_log__"]), trace["s"], rtol=1e-14)
    assert "s_log__" not in list(approx.sample(40, random_seed=3))
    with pytest.raises(TypeError, match="include_transformed"):
        approx.sample(5, include_transformed="yes")
