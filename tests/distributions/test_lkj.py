"""LKJCorr and LKJCholeskyCov: the log-density of the correlation's coordinates against an independent
numpy port of Stan's lkj_corr_cholesky_lpdf (with LKJ's normalising constant as Stan writes it) plus the
log-Jacobian of the transform, that Jacobian against a finite-difference determinant, n = 2 against the
closed-form Beta; the compiled tape against the graph walk and finite differences; NUTS on the prior and
the vine-method draws against the known marginal moments; a covariance recovered from simulated data; the
names PyMC gives the variables; clear errors."""
import math

import numpy as np
import pytest
from density_checks import assert_matches_finite_differences, assert_tape_is_graph
from scipy import stats
from scipy.special import gammaln

import nbvi
from nbvi.distributions.lkj import cholesky_corr
from nbvi.graph.evaluate import Program


# -- an independent reference, written from Stan's sources -------------------------------------------------
def stan_cholesky_corr(z, n):
    """Stan's cholesky_corr_constrain: partial correlations tanh(z), row by row below the diagonal."""
    c = np.tanh(z)
    L = np.zeros((n, n))
    L[0, 0] = 1.0
    k = 0
    for i in range(1, n):
        sum_sqs = 0.0
        for j in range(i):
            L[i, j] = c[k] * math.sqrt(1.0 - sum_sqs)
            sum_sqs += L[i, j] ** 2
            k += 1
        L[i, i] = math.sqrt(1.0 - sum_sqs)
    return L


def stan_lkj_constant(eta, n):
    """Stan's do_lkj_constant (Lewandowski, Kurowicka & Joe 2009, theorem 5), both of its branches."""
    km1 = n - 1
    if eta == 1.0:
        constant = -sum(gammaln(2.0 * k) for k in range(1, km1 // 2 + 1))
        if n % 2 == 1:
            constant -= 0.25 * (n * n - 1) * math.log(math.pi) - 0.25 * km1 * km1 * math.log(2.0) \
                - km1 * gammaln(0.5 * (n + 1))
        else:
            constant -= 0.25 * n * (n - 2) * math.log(math.pi) + 0.25 * (3 * n * n - 4 * n) * math.log(2.0) \
                + n * gammaln(0.5 * n) - km1 * gammaln(float(n))
        return constant
    constant = km1 * gammaln(eta + 0.5 * km1)
    for k in range(1, km1 + 1):
        constant -= 0.5 * k * math.log(math.pi) + gammaln(eta + 0.5 * (km1 - k))
    return constant


def stan_lkj_corr_cholesky_lpdf(L, eta):
    n = L.shape[0]
    log_diag = np.log(np.diag(L)[1:])
    powers = (n - np.arange(2, n + 1)) + 2.0 * eta - 2.0  # (K - k + 2 eta - 2) for k = 2..K (1-based rows)
    return stan_lkj_constant(eta, n) + np.sum(powers * log_diag)


def analytic_log_jacobian(z, n):
    """log |det d(L below the diagonal) / dz|: the map is triangular per row, d L_ij / d c_ij is the stick
    left before column j, sqrt(1 - sum_{k<j} L_ik^2), and d c / d z = 1 - tanh(z)^2."""
    L = stan_cholesky_corr(z, n)
    total, k = 0.0, 0
    for i in range(1, n):
        for j in range(i):
            total += 0.5 * math.log(1.0 - np.sum(L[i, :j] ** 2)) + math.log(1.0 - math.tanh(z[k]) ** 2)
            k += 1
    return total


def numeric_log_jacobian(z, n, h=1e-6):
    """log |det J| with J the central-difference Jacobian of z -> L's entries below the diagonal."""
    rows, cols = np.tril_indices(n, -1)
    J = np.empty((z.size, z.size))
    for b in range(z.size):
        step = np.zeros(z.size)
        step[b] = h
        J[:, b] = (stan_cholesky_corr(z + step, n)[rows, cols] - stan_cholesky_corr(z - step, n)[rows, cols]) / (2 * h)
    return np.linalg.slogdet(J)[1]


def corr_model(n, eta, return_matrix=False):
    with nbvi.Model() as model:
        corr = nbvi.LKJCorr("c", n=n, eta=eta, return_matrix=return_matrix)
    return model, corr


def z_logp(model, z):
    """The model's log-density at coordinates z (S, m), by the graph walk and by logp_dlogp."""
    graph = model._graph_logp_dlogp(z)[0]
    compiled = model.logp_dlogp(z)[0]
    np.testing.assert_allclose(compiled, graph, rtol=1e-12)
    return graph


# -- the density ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 3, 5])
@pytest.mark.parametrize("eta", [0.7, 1.0, 2.5])
def test_logp_is_stans_lkj_density_of_the_cholesky_factor_plus_the_log_jacobian(n, eta):
    model, _ = corr_model(n, eta)
    z = np.random.default_rng(n).normal(0.0, 0.8, size=(4, n * (n - 1) // 2))
    expected = [stan_lkj_corr_cholesky_lpdf(stan_cholesky_corr(zi, n), eta) + analytic_log_jacobian(zi, n)
                for zi in z]
    np.testing.assert_allclose(z_logp(model, z), expected, rtol=1e-11)
    pointwise = model.free_RVs[0].dist.logp_elementwise(z, eta=np.array([eta]))
    np.testing.assert_allclose(pointwise, expected, rtol=1e-11)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_the_analytic_jacobian_is_the_finite_difference_determinant(n):
    rng = np.random.default_rng(10 + n)
    for z in rng.normal(0.0, 0.8, size=(3, n * (n - 1) // 2)):
        # (central differences with h = 1e-6 of an O(1) map: errors ~1e-9 in each entry of J)
        np.testing.assert_allclose(analytic_log_jacobian(z, n), numeric_log_jacobian(z, n), atol=1e-7)


@pytest.mark.parametrize("eta", [0.6, 1.0, 3.0])
def test_n2_correlation_is_beta_eta_eta_on_the_half_shifted_scale(eta):
    """For n = 2, r = tanh(z) and (r + 1)/2 ~ Beta(eta, eta): log p(z) = log Beta((r+1)/2) - log 2 + log(1 - r^2)."""
    model, _ = corr_model(2, eta)
    z = np.linspace(-3.0, 3.0, 7)[:, None]
    r = np.tanh(z[:, 0])
    expected = stats.beta.logpdf((r + 1) / 2, eta, eta) - math.log(2.0) + np.log1p(-r ** 2)
    np.testing.assert_allclose(z_logp(model, z), expected, rtol=1e-12)
    np.testing.assert_allclose(model.unravel(z)["c"][:, 0], r, rtol=1e-14)


def test_the_density_integrates_to_one_for_n3():
    """Importance sampling of exp(log p(z)) under a wide normal: the mean weight is 1 (4 standard errors)."""
    model, _ = corr_model(3, 1.5)
    rng = np.random.default_rng(3)
    z = rng.normal(0.0, 1.5, size=(200_000, 3))
    weights = np.exp(z_logp(model, z) - stats.norm.logpdf(z, 0.0, 1.5).sum(axis=1))
    assert abs(weights.mean() - 1.0) < 4 * weights.std() / math.sqrt(weights.size)


def test_the_correlations_and_the_cholesky_factor_follow_stans_construction():
    n = 4
    model, packed = corr_model(n, 2.0)
    z = np.random.default_rng(4).normal(size=(1, 6))
    L = stan_cholesky_corr(z[0], n)
    corr = L @ L.T
    np.testing.assert_allclose(model.unravel(z)["c"][0], corr[np.triu_indices(n, 1)], rtol=1e-12)
    node = cholesky_corr(model.free_RVs[0], n)
    (value,) = Program([node], inputs=model.free_RVs).run([z])
    np.testing.assert_allclose(value[0], L, rtol=1e-12, atol=1e-15)
    _, matrix = corr_model(n, 2.0, return_matrix=True)
    assert packed.shape == (6,) and matrix.shape == (n, n)


def test_return_matrix_gives_a_correlation_matrix():
    model, matrix = corr_model(3, 2.0, return_matrix=True)
    z = np.random.default_rng(5).normal(size=(5, 3))
    (value,) = Program([matrix], inputs=model.free_RVs).run([z])
    np.testing.assert_array_equal(np.diagonal(value, axis1=1, axis2=2), 1.0)
    np.testing.assert_allclose(value, np.swapaxes(value, 1, 2), rtol=1e-14)
    assert np.all(np.linalg.eigvalsh(value) > 0)
    assert "c" in model.named_vars  # the packed correlations are in traces either way, as in PyMC


# -- the compiled tape ---------------------------------------------------------------------------------------
def cov_model(n=3, eta=2.0, data=None, free_eta=False):
    with nbvi.Model() as model:
        if free_eta:
            eta = 1.0 + nbvi.Exponential("eta_minus_1", 1.0)
        chol, corr, stds = nbvi.LKJCholeskyCov("chol", eta=eta, n=n, sd_dist=nbvi.HalfNormal.dist(2.5))
        mu = nbvi.Normal("mu", 0.0, 5.0, shape=n)
        nbvi.MvNormal("y", mu, chol=chol, observed=data if data is not None else np.zeros((1, n)))
    return model


@pytest.mark.parametrize("free_eta", [False, True])
def test_the_tape_runs_lkjcorr_as_the_graph_does(free_eta):
    with nbvi.Model() as model:
        eta = 1.0 + nbvi.Exponential("eta_minus_1", 1.0) if free_eta else 2.0
        nbvi.LKJCorr("c", n=4, eta=eta)
    assert nbvi.explain(model).path not in ("graph", "own"), str(nbvi.explain(model))
    assert_tape_is_graph(model)
    assert_matches_finite_differences(model)


@pytest.mark.parametrize("free_eta", [False, True])
def test_the_tape_runs_an_mvnormal_with_an_lkj_cholesky_covariance_as_the_graph_does(free_eta):
    data = np.random.default_rng(6).normal(size=(8, 3))
    model = cov_model(data=data, free_eta=free_eta)
    assert nbvi.explain(model).path not in ("graph", "own"), str(nbvi.explain(model))
    assert_tape_is_graph(model)
    assert_matches_finite_differences(model)


# -- draws: NUTS on the prior, and the vine method -------------------------------------------------------------
def assert_lkj_marginal_moments(draws, eta, n, chains=None):
    """Each correlation: mean 0 and variance 1 / (2 eta + n - 1) (its marginal is Beta(b, b) on (r+1)/2,
    b = eta - 1 + n/2), within 4 Monte Carlo standard errors (independent draws, or the effective sample
    size of each statistic over ``chains`` chains of NUTS draws)."""
    variance = 1.0 / (2 * eta + n - 1)
    b = eta - 1 + n / 2
    fourth = 3.0 / ((2 * b + 1) * (2 * b + 3))  # E r^4 of r = 2 Beta(b, b) - 1

    def ess(x):
        return x.size if chains is None else float(nbvi.effective_sample_size(x.reshape(chains, -1)))

    for k in range(draws.shape[1]):
        r = draws[:, k]
        assert abs(r.mean()) < 4 * math.sqrt(variance / ess(r)), (k, r.mean())
        assert abs(np.mean(r ** 2) - variance) < 4 * math.sqrt((fourth - variance ** 2) / ess(r ** 2)), (k, np.mean(r ** 2))


def test_nuts_on_the_prior_recovers_the_marginal_moments_of_the_correlations():
    eta, n = 2.0, 3
    with nbvi.Model():
        nbvi.LKJCorr("c", n=n, eta=eta)
        trace = nbvi.sample(draws=2000, tune=500, chains=2, random_seed=7, progressbar=False)
    draws = np.asarray(trace["c"])
    assert min(nbvi.effective_sample_size(draws[:, k].reshape(2, -1)) for k in range(3)) > 1000
    assert_lkj_marginal_moments(draws, eta, n, chains=2)


@pytest.mark.parametrize("n, eta", [(2, 0.8), (4, 1.5)])
def test_prior_draws_have_the_lkj_marginal_moments(n, eta):
    size = 20_000
    with nbvi.Model() as model:
        nbvi.LKJCorr("c", n=n, eta=eta)
        prior = nbvi.sample_prior_predictive(size, random_seed=8)
    draws = np.asarray(prior["c"])
    assert draws.shape == (size, n * (n - 1) // 2)
    assert_lkj_marginal_moments(draws, eta, n)
    # and every draw is a correlation matrix (the vine method cannot make anything else)
    z = np.asarray(prior["c_cholesky_corr__"])
    L = np.array([stan_cholesky_corr(zi, n) for zi in z[:200]])
    np.testing.assert_allclose((L @ np.swapaxes(L, 1, 2))[(slice(None),) + np.triu_indices(n, 1)], draws[:200], rtol=1e-12)
    if n == 2:  # the whole marginal: (r + 1)/2 ~ Beta(eta, eta)
        assert stats.kstest((draws[:, 0] + 1) / 2, stats.beta(eta, eta).cdf).pvalue > 1e-3
    assert model["c_cholesky_corr__"].dist.random(size=3, rng=1).shape == (3, n * (n - 1) // 2)


def test_an_mvnormal_with_an_lkj_prior_recovers_the_covariance():
    true_sd = np.array([0.5, 1.0, 2.0])
    true_corr = np.array([[1.0, 0.6, -0.3], [0.6, 1.0, 0.2], [-0.3, 0.2, 1.0]])
    true_cov = true_corr * np.outer(true_sd, true_sd)
    data = np.random.default_rng(9).multivariate_normal(np.array([1.0, -1.0, 0.0]), true_cov, size=400)
    model = cov_model(data=data)
    with model:
        trace = nbvi.sample(draws=500, tune=500, chains=2, random_seed=9, progressbar=False)
    packed = np.asarray(trace["chol"])
    chol = np.zeros(packed.shape[:1] + (3, 3))
    chol[(slice(None),) + np.tril_indices(3)] = packed
    cov = np.mean(chol @ np.swapaxes(chol, 1, 2), axis=0)
    # the posterior mean is the data's covariance up to the prior's pull and Monte Carlo error (a few %),
    # and the data's covariance is the true one up to its sampling error (~ sd_i sd_j / sqrt(400) = 5%)
    np.testing.assert_allclose(cov, np.cov(data.T), rtol=0.05, atol=0.03)
    np.testing.assert_allclose(np.asarray(trace["chol_stds"]).mean(axis=0), true_sd, rtol=0.15)
    np.testing.assert_allclose(np.asarray(trace["chol_corr"]).mean(axis=0), true_corr, atol=0.1)


# -- names, shapes and what is returned ---------------------------------------------------------------------
def test_lkjcholeskycov_names_its_variables_as_pymc_does():
    n = 3
    with nbvi.Model() as model:
        chol, corr, stds = nbvi.LKJCholeskyCov("chol", eta=2.0, n=n, sd_dist=nbvi.Exponential.dist(1.0, shape=n))
    assert [rv.name for rv in model.free_RVs] == ["chol_cholesky_corr__", "chol_stds"]
    assert [node.name for node in model.deterministics] == ["chol", "chol_corr"]
    assert chol.shape == (n, n) and corr.shape == (n, n) and stds.shape == (n,)
    assert model["chol"].shape == (n * (n + 1) // 2,)
    assert stds is model["chol_stds"] and corr is model["chol_corr"]
    assert type(model["chol_stds"].dist).__name__ == "Exponential"
    assert model["chol_stds"].transform is not None  # log: the family's own transform
    theta = np.random.default_rng(10).normal(size=(2, model.ndim))
    values = model.unravel(theta)
    L = np.array([stan_cholesky_corr(z, n) for z in values["chol_cholesky_corr__"]])
    expected = values["chol_stds"][:, :, None] * L
    np.testing.assert_allclose(values["chol"], expected[(slice(None),) + np.tril_indices(n)], rtol=1e-12)
    np.testing.assert_allclose(values["chol_corr"], L @ np.swapaxes(L, 1, 2), rtol=1e-12)
    (chol_value,) = Program([chol], inputs=model.free_RVs).run(model.constrained_values(theta))
    np.testing.assert_allclose(chol_value, expected, rtol=1e-12)


def test_compute_corr_false_returns_the_packed_factor_and_store_in_trace_false_stores_no_corr():
    n = 3
    with nbvi.Model() as model:
        packed = nbvi.LKJCholeskyCov("a", eta=1.0, n=n, sd_dist=nbvi.HalfNormal.dist(1.0), compute_corr=False)
        chol, corr, stds = nbvi.LKJCholeskyCov("b", eta=1.0, n=n, sd_dist=nbvi.HalfNormal.dist(1.0),
                                               store_in_trace=False)
    assert packed is model["a"] and packed.shape == (6,)
    assert [node.name for node in model.deterministics] == ["a", "b"]
    theta = np.random.default_rng(11).normal(size=(1, model.ndim))
    expanded = nbvi.expand_packed_triangular(n, packed)
    values = Program([expanded, model["b"], chol], inputs=model.free_RVs).run(model.constrained_values(theta))
    assert np.all(np.triu(values[0][0], 1) == 0) and np.all(np.diag(values[0][0]) > 0)
    np.testing.assert_allclose(Program([nbvi.expand_packed_triangular(n, model["b"])], inputs=model.free_RVs)
                               .run(model.constrained_values(theta))[0], values[2], rtol=1e-14)
    upper = nbvi.expand_packed_triangular(n, np.arange(6.0), lower=False).eval()
    np.testing.assert_array_equal(upper, [[0, 1, 3], [0, 2, 4], [0, 0, 5]])


def test_a_scalar_sd_dist_is_left_as_it_was():
    sd_dist = nbvi.HalfNormal.dist(2.0)
    with nbvi.Model() as model:
        nbvi.LKJCholeskyCov("chol", eta=2.0, n=4, sd_dist=sd_dist)
    assert sd_dist.shape == () and model["chol_stds"].shape == (4,)


# -- errors --------------------------------------------------------------------------------------------------
def test_errors_name_the_problem():
    with nbvi.Model() as model:
        with pytest.raises(ValueError, match="n must be >= 2"):
            nbvi.LKJCorr("c", n=1, eta=1.0)
        with pytest.raises(ValueError, match="eta must be > 0"):
            nbvi.LKJCorr("c", n=3, eta=0.0)
        with pytest.raises(TypeError, match="made with .dist"):
            nbvi.LKJCholeskyCov("chol", eta=1.0, n=3, sd_dist=nbvi.HalfNormal("s", 1.0))
        with pytest.raises(ValueError, match="positive support"):
            nbvi.LKJCholeskyCov("chol", eta=1.0, n=3, sd_dist=nbvi.Normal.dist(0.0, 1.0))
        with pytest.raises(ValueError, match=r"shape \(3,\)"):
            nbvi.LKJCholeskyCov("chol", eta=1.0, n=3, sd_dist=nbvi.HalfNormal.dist(1.0, shape=2))
        with pytest.raises(TypeError, match="name first"):
            nbvi.LKJCorr(3, 2.0, 1.0)
        nbvi.Normal("chol_corr", 0.0, 1.0)
        with pytest.raises(ValueError, match="already has a variable named 'chol_corr'"):
            nbvi.LKJCholeskyCov("chol", eta=1.0, n=3, sd_dist=nbvi.HalfNormal.dist(1.0))
    assert [rv.name for rv in model.free_RVs] == ["s", "chol_corr"]  # nothing half-made
    with pytest.raises(TypeError, match="outside a model"):
        nbvi.LKJCorr("c", n=3, eta=1.0)


def test_lkj_takes_its_model_as_an_argument():
    model = nbvi.Model()
    chol, corr, stds = nbvi.LKJCholeskyCov("chol", eta=2.0, n=2, sd_dist=nbvi.HalfNormal.dist(1.0), model=model)
    nbvi.LKJCorr("c", n=3, eta=1.0, model=model)
    assert [rv.name for rv in model.free_RVs] == ["chol_cholesky_corr__", "chol_stds", "c_cholesky_corr__"]
    assert {"chol", "chol_corr", "c"} <= set(model.named_vars)
