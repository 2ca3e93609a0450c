"""PyMC v5's model methods and module functions: compile_logp, compile_dlogp, point_logps, debug, the variable
lists, initval=, nbvi.draw and nbvi.logp; values against scipy.stats and finite differences."""
import numpy as np
import pytest
from gradcheck import assert_grad_close
from scipy import stats

import nbvi

Y = np.array([0.1, -0.3, 1.2, 0.7])


def regression_model():
    """mu ~ N(0, 1), sigma ~ HalfNormal(2), w ~ Dirichlet(1, 2, 3), y ~ N(mu, sigma), a potential and a
    deterministic."""
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0)
        sigma = nbvi.HalfNormal("sigma", 2.0)
        nbvi.Dirichlet("w", np.array([1.0, 2.0, 3.0]))
        nbvi.Normal("y", mu, sigma, observed=Y)
        nbvi.Deterministic("twice", mu * 2.0)
        nbvi.Potential("pen", -(mu ** 2))
    return model


POINT = {"mu": 0.3, "sigma": 1.7, "w": np.array([0.2, 0.3, 0.5])}


def by_hand(point, jacobian):
    """Each term of regression_model at ``point``, from scipy; the log-Jacobians of log(sigma) and the
    stick-breaking of w when asked."""
    mu, sigma, w = point["mu"], point["sigma"], point["w"]
    terms = {"mu": stats.norm(0, 1).logpdf(mu),
             "sigma": stats.halfnorm(scale=2.0).logpdf(sigma),
             "w": stats.dirichlet([1.0, 2.0, 3.0]).logpdf(w),
             "y": stats.norm(mu, sigma).logpdf(Y).sum(),
             "pen": -mu ** 2}
    if jacobian:
        terms["sigma"] += np.log(sigma)  # x = exp(u): log|dx/du| = u = log(sigma)
        terms["w"] += stick_breaking_log_jacobian(w)
    return terms


def stick_breaking_log_jacobian(w):
    """log|det dx/du| of nbvi's stick-breaking transform, by finite differences of its backward map."""
    from nbvi.transforms import StickBreaking

    t = StickBreaking()
    u = t.forward(w[None])[0]
    eps = 1e-6
    jac = np.empty((len(w) - 1, len(w) - 1))
    for j in range(len(u)):
        du = np.zeros_like(u)
        du[j] = eps
        jac[:, j] = (t.backward((u + du)[None])[0] - t.backward((u - du)[None])[0])[:-1] / (2 * eps)
    return np.linalg.slogdet(jac)[1]


# -- variable lists --------------------------------------------------------------------------------------------
def test_variable_lists():
    model = regression_model()
    names = lambda nodes: [n.name for n in nodes]  # noqa: E731
    assert names(model.value_vars) == ["mu", "sigma", "w"]
    assert names(model.basic_RVs) == ["mu", "sigma", "w", "y"]
    assert names(model.unobserved_RVs) == ["mu", "sigma", "w", "twice"]
    assert names(model.continuous_value_vars) == ["mu", "sigma", "w"]
    assert model.discrete_value_vars == []


# -- compile_logp ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("jacobian", [True, False])
def test_compile_logp_matches_scipy(jacobian):
    model = regression_model()
    expected = sum(by_hand(POINT, jacobian).values())
    assert model.compile_logp(jacobian=jacobian)(POINT) == pytest.approx(expected, rel=1e-6)
    # the same value as the density the samplers see (with the Jacobians) and as model.logp
    assert model.logp(POINT, jacobian=jacobian) == pytest.approx(model.compile_logp(jacobian=jacobian)(POINT), rel=1e-12)


def test_compile_logp_vars_selects_terms():
    model = regression_model()
    terms = by_hand(POINT, True)
    assert model.compile_logp(vars=["y"])(POINT) == pytest.approx(terms["y"], rel=1e-10)
    assert model.compile_logp(vars=[model["sigma"], "pen"])(POINT) == pytest.approx(terms["sigma"] + terms["pen"],
                                                                                     rel=1e-10)
    assert model.compile_logp(vars="mu")(POINT) == pytest.approx(terms["mu"], rel=1e-10)


def test_compile_logp_takes_pymc_transformed_names():
    model = regression_model()
    pymc_point = {"mu": 0.3, "sigma_log__": np.log(1.7), "w": POINT["w"], "twice": 0.6}  # extra entries ignored
    assert model.compile_logp()(pymc_point) == pytest.approx(model.compile_logp()(POINT), rel=1e-12)


def test_compile_logp_elementwise():
    model = regression_model()
    mu, sigma = POINT["mu"], POINT["sigma"]
    mu_lp, sigma_lp, w_lp, y_lp, pen = model.compile_logp(sum=False, jacobian=True)(POINT)
    np.testing.assert_allclose(y_lp, stats.norm(mu, sigma).logpdf(Y), rtol=1e-10)
    assert y_lp.shape == (4,)
    np.testing.assert_allclose(sigma_lp, stats.halfnorm(scale=2.0).logpdf(sigma) + np.log(sigma), rtol=1e-10)
    np.testing.assert_allclose(w_lp, by_hand(POINT, True)["w"], rtol=1e-6)
    np.testing.assert_allclose(pen, -mu ** 2)
    np.testing.assert_allclose(model.compile_logp(sum=False, jacobian=False)(POINT)[1],
                               stats.halfnorm(scale=2.0).logpdf(sigma), rtol=1e-10)


def test_compile_logp_outside_support_is_minus_inf():
    model = regression_model()
    assert model.compile_logp()({**POINT, "sigma": -1.0}) == -np.inf


def test_compile_logp_bad_input():
    model = regression_model()
    with pytest.raises(ValueError, match=r"no value of the free variable\(s\) \['sigma'\]"):
        model.compile_logp()({"mu": 0.0, "w": POINT["w"]})
    with pytest.raises(ValueError, match="value of 'w' has shape"):
        model.compile_logp()({**POINT, "w": np.ones(2) / 2})
    with pytest.raises(ValueError, match="'nope' is not a free or observed variable"):
        model.compile_logp(vars=["nope"])
    with pytest.raises(ValueError, match="'twice' is not a free or observed variable"):
        model.compile_logp(vars=["twice"])
    with pytest.raises(TypeError, match="the point must be a dict"):
        model.compile_logp()([0.3, 1.7])
    with pytest.raises(TypeError, match="jacobian"):
        model.compile_logp(jacobian="yes")


# -- compile_dlogp -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("jacobian", [True, False])
def test_compile_dlogp_matches_finite_differences(jacobian):
    """The gradient with respect to the unconstrained values, against central differences of compile_logp."""
    model = regression_model()
    theta = model.flat_from_point(POINT)
    grad = model.compile_dlogp(jacobian=jacobian)(POINT)
    assert grad.shape == (model.ndim,)
    logp = model.compile_logp(jacobian=jacobian)

    def logp_at(t):
        return logp({name: value[0] for name, value in model.unravel(t[None]).items() if name != "twice"})

    assert_grad_close(logp_at, grad, theta, rtol=1e-5, atol=1e-6)


def test_compile_dlogp_vars_order():
    model = regression_model()
    full = model.compile_dlogp()(POINT)  # mu, log sigma, w (2 unconstrained coordinates)
    np.testing.assert_allclose(model.compile_dlogp(vars=["w", "mu"])(POINT), np.r_[full[2:4], full[0]])
    with pytest.raises(ValueError, match=r"\['y'\] are not free variables"):
        model.compile_dlogp(vars=["y"])
    with pytest.raises(ValueError, match="outside its support"):
        model.compile_dlogp()({**POINT, "sigma": -1.0})


# -- point_logps and debug ---------------------------------------------------------------------------------------
def test_point_logps():
    model = regression_model()
    expected = by_hand(POINT, True)
    logps = model.point_logps(POINT, round_vals=6)
    assert list(logps) == ["mu", "sigma", "w", "y", "pen"]
    for name, value in expected.items():
        assert logps[name] == pytest.approx(value, abs=2e-6)
    assert model.point_logps(POINT)["y"] == round(expected["y"], 2)
    initial = model.point_logps()  # at the initial point: mu = 0, sigma = 2 sqrt(2/pi) (the mean)
    assert initial["mu"] == round(stats.norm.logpdf(0.0), 2)
    with pytest.raises(ValueError, match="round_vals"):
        model.point_logps(POINT, round_vals=1.5)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_debug_names_the_variable(capsys):
    model = regression_model()
    model.debug(POINT)
    assert "No problems found" in capsys.readouterr().out
    model.debug({**POINT, "sigma": -1.0})
    out = capsys.readouterr().out
    assert "outside the support" in out and "'sigma'" in out and "-1.0" in out
    with nbvi.Model() as broken:
        x = nbvi.Normal("x", 0.0, 1.0)
        nbvi.Potential("p", nbvi.math.log(x))  # -inf (log 0) at the initial point x = 0
    broken.debug()
    out = capsys.readouterr().out
    assert "-inf" in out
    with pytest.raises(ValueError, match="fn must be"):
        model.debug(fn="random")


# -- initval -----------------------------------------------------------------------------------------------------
def test_initval_sets_the_initial_point():
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0, initval=0.5)
        nbvi.HalfNormal("s", 1.0, shape=3, initval=[0.5, 1.0, 2.0])
        nbvi.Normal("child", mu, 1.0)  # its moment is mu's initial value
        nbvi.Exponential("e", 1.0, initval="support_point")  # PyMC's default: the family's moment
    point = model.initial_point()
    assert point["mu"] == 0.5 and point["child"] == 0.5 and point["e"] == 1.0
    np.testing.assert_array_equal(point["s"], [0.5, 1.0, 2.0])
    np.testing.assert_allclose(model.initial_point_flat(), [0.5, *np.log([0.5, 1.0, 2.0]), 0.5, 0.0])
    with nbvi.Model() as model:
        nbvi.Normal("v", 0.0, 1.0, shape=3, initval=2.0)  # broadcast to the shape
    np.testing.assert_array_equal(model.initial_point()["v"], [2.0, 2.0, 2.0])


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning", "ignore:.*divergent:RuntimeWarning")
def test_initval_is_where_the_algorithms_start():
    """log(x) is -inf at the default start x = 0: every algorithm starts only from initval."""
    def model_with(initval):
        with nbvi.Model() as model:
            x = nbvi.Normal("x", 0.0, 1.0, initval=initval)
            nbvi.Potential("p", nbvi.math.log(x))
        return model

    with pytest.raises(nbvi.SamplingError):
        nbvi.find_MAP(model=model_with(None), progressbar=False)
    found = nbvi.find_MAP(model=model_with(0.5), progressbar=False)
    assert float(found["x"]) == pytest.approx(1.0, rel=1e-5)  # d/dx (-x^2/2 + log x) = 1/x - x = 0 at x = 1
    advi = nbvi.ADVI(model=model_with(0.75), random_seed=0)
    np.testing.assert_allclose(advi.approx.mean.eval(), [0.75])
    trace = nbvi.sample(5, tune=5, chains=1, model=model_with(1.0), random_seed=0, progressbar=False)
    assert np.all(trace["x"] > 0)


def test_initval_errors_name_the_variable():
    with nbvi.Model():
        with pytest.raises(ValueError, match="initval of 's'.*outside the support"):
            nbvi.HalfNormal("s", 1.0, initval=-1.0)
        with pytest.raises(ValueError, match="initval of 'b'.*outside the support"):
            nbvi.Beta("b", 2.0, 2.0, initval=1.0)  # on the boundary: no unconstrained image
        with pytest.raises(ValueError, match="initval of 'w'.*outside the support"):
            nbvi.Dirichlet("w", np.ones(3), initval=[0.5, 0.5, 0.5])  # not on the simplex
        with pytest.raises(ValueError, match=r"initval of 'v' has shape \(2,\).*shape \(3,\)"):
            nbvi.Normal("v", 0.0, 1.0, shape=3, initval=[1.0, 2.0])
        with pytest.raises(ValueError, match="initval of 'n' contains NaN"):
            nbvi.Normal("n", 0.0, 1.0, initval=np.nan)
        with pytest.raises(ValueError, match="initval of .t. must be numbers"):
            nbvi.Normal("t", 0.0, 1.0, initval="abc")
        with pytest.raises(ValueError, match="initval of 'y' applies to free variables only"):
            nbvi.Normal("y", 0.0, 1.0, observed=Y, initval=0.0)


# -- nbvi.draw ---------------------------------------------------------------------------------------------------
def test_draw_prior_moments():
    with nbvi.Model():
        mu = nbvi.Normal("mu", 1.0, 2.0)
        y = nbvi.Normal("y", mu, 1.0, observed=Y)
        total = mu + y.sum()
    mu_draws, y_draws, total_draws = nbvi.draw([mu, y, total], draws=20000, random_seed=1)
    assert mu_draws.shape == (20000,) and y_draws.shape == (20000, 4)
    # 4 Monte Carlo standard errors: sd(mu) = 2 over sqrt(20000); y_i = mu + e_i has var 4 + 1
    assert abs(mu_draws.mean() - 1.0) < 4 * 2 / np.sqrt(20000)
    assert np.all(np.abs(y_draws.mean(axis=0) - 1.0) < 4 * np.sqrt(5) / np.sqrt(20000))
    np.testing.assert_allclose(np.var(y_draws[:, 0]), 5.0, rtol=0.05)  # sd of a variance estimate ~ 1 %
    np.testing.assert_allclose(np.cov(y_draws[:, 0], y_draws[:, 1])[0, 1], 4.0, rtol=0.06)  # shared mu
    np.testing.assert_allclose(total_draws, mu_draws + y_draws.sum(axis=1))  # one set of draws for all


def test_draw_shapes_seed_and_distributions():
    with nbvi.Model():
        x = nbvi.Normal("x", 0.0, 1.0, shape=3)
        d = nbvi.Deterministic("d", x * 2.0)
    single = nbvi.draw(x, random_seed=3)
    assert single.shape == (3,)
    np.testing.assert_array_equal(single, nbvi.draw(x, random_seed=3))
    assert nbvi.draw(d, draws=5, random_seed=0).shape == (5, 3)
    gamma = nbvi.draw(nbvi.Gamma.dist(alpha=3.0, beta=2.0), draws=20000, random_seed=2)
    assert abs(gamma.mean() - 1.5) < 4 * np.sqrt(3.0) / 2.0 / np.sqrt(20000)
    with pytest.raises(TypeError, match="draw: vars"):
        nbvi.draw("x")
    with pytest.raises(ValueError, match="draws"):
        nbvi.draw(x, draws=0)


def test_draw_refuses_two_models():
    with nbvi.Model():
        a = nbvi.Normal("a", 0.0, 1.0)
    with nbvi.Model():
        b = nbvi.Normal("b", 0.0, 1.0)
    with pytest.raises(ValueError, match="more than one model"):
        nbvi.draw([a, b])


# -- nbvi.logp ---------------------------------------------------------------------------------------------------
def test_logp_of_dist_and_variable():
    value = np.array([0.2, 1.4])
    node = nbvi.logp(nbvi.Gamma.dist(alpha=2.0, beta=3.0), value)  # per element, as PyMC's
    np.testing.assert_allclose(node.eval(), stats.gamma(2.0, scale=1 / 3.0).logpdf(value), rtol=1e-10)
    event = nbvi.logp(nbvi.Dirichlet.dist(np.array([1.0, 2.0, 3.0])), np.array([0.2, 0.3, 0.5]))  # one event
    assert event.eval() == pytest.approx(stats.dirichlet([1.0, 2.0, 3.0]).logpdf([0.2, 0.3, 0.5]), rel=1e-10)
    with nbvi.Model():
        s = nbvi.HalfNormal("s", 2.0)
    assert nbvi.logp(s, 0.7).eval() == pytest.approx(stats.halfnorm(scale=2.0).logpdf(0.7), rel=1e-10)
    with pytest.raises(TypeError, match="rv_or_dist"):
        nbvi.logp("s", 0.7)
    with pytest.raises(TypeError, match="logp: value"):
        nbvi.logp(s, "a")


def test_logp_in_a_potential_has_its_gradient():
    """Potential("p", logp(dist, x)) adds that log-density: the model equals x ~ Normal(1, 2) written out."""
    with nbvi.Model() as model:
        x = nbvi.Flat("x")
        nbvi.Potential("p", nbvi.logp(nbvi.Normal.dist(1.0, 2.0), x))
    logp, grad = model.logp_dlogp(np.array([[0.3]]))
    assert logp[0] == pytest.approx(stats.norm(1.0, 2.0).logpdf(0.3), rel=1e-10)
    assert grad[0, 0] == pytest.approx(-(0.3 - 1.0) / 4.0, rel=1e-10)


def test_compile_logp_per_element_gives_each_simplex_its_own_log_jacobian():
    rows = np.array([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])
    with nbvi.Model() as model:
        nbvi.Dirichlet("w", np.array([1.0, 2.0, 3.0]), shape=(2, 3))
    (w_lp,) = model.compile_logp(sum=False, jacobian=True)({"w": rows})
    expected = [stats.dirichlet([1.0, 2.0, 3.0]).logpdf(row) + stick_breaking_log_jacobian(row) for row in rows]
    np.testing.assert_allclose(w_lp, expected, rtol=1e-6)
    np.testing.assert_allclose(w_lp.sum(), model.compile_logp()({"w": rows}), rtol=1e-12)
