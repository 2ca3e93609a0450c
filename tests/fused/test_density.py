"""FusedDensity: on every model it accepts, ``model.logp_dlogp`` (one kernel call) equals the generic graph
walk ``model._graph_logp_dlogp`` up to rounding; models outside its class get None and keep the graph path;
data replaced with ``set_value`` is followed."""
import numpy as np
import pytest
from density_checks import fused_density
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import nbvi
from nbvi import transforms
from nbvi.fused import kernel
from nbvi.fused.transforms import INTERVAL, LOWERBOUND, UPPERBOUND

# Fused and graph sum the same float64 terms in another order: agreement to ~1e-12 relative, 1e-9 leaves room
# for sums of many terms of both signs (a gradient near 0 is a difference of terms of size ~1)
RTOL, ATOL = 1e-9, 1e-9


def assert_same_density(model, theta, rtol=RTOL, atol=ATOL):
    """logp_dlogp (the fused density) equals the graph walk at every row of theta."""
    theta = np.ascontiguousarray(theta, dtype=np.float64)
    logp, grad = model.logp_dlogp(theta)
    logp_graph, grad_graph = model._graph_logp_dlogp(theta)
    assert logp.shape == (theta.shape[0],) and grad.shape == theta.shape
    assert np.all(np.isfinite(logp_graph)), "the test point should lie inside the support"
    np.testing.assert_allclose(logp, logp_graph, rtol=rtol, atol=atol)
    np.testing.assert_allclose(grad, grad_graph, rtol=rtol, atol=atol)


def points_near_start(model, draws, seed=0, spread=0.5):
    """``draws`` points of theta around the model's initial point."""
    rng = np.random.default_rng(seed)
    return model.initial_point_flat() + spread * rng.standard_normal((draws, model.ndim))


# -- random models of the fused class ----------------------------------------------------------------------
#
# A parameter has a domain: "real", "positive" or "unit" (0 < p < 1). It is a constant (drawn in its domain)
# or an earlier free variable whose support lies in the domain and whose shape broadcasts against the term's:
# one element (stride 0), the whole shape (stride 1) or some axes only (positions listed in ``index``).

REAL, POSITIVE, UNIT = "real", "positive", "unit"
INSIDE = {REAL: {REAL, POSITIVE, UNIT}, POSITIVE: {POSITIVE, UNIT}, UNIT: {UNIT}}  # supports that fit a domain

# name -> (family, parameter domains, support of the variable); Uniform's bounds are constants (see below)
FREE_FAMILIES = {
    "Normal": (nbvi.Normal, (REAL, POSITIVE), REAL),
    "HalfNormal": (nbvi.HalfNormal, (POSITIVE,), POSITIVE),
    "Exponential": (nbvi.Exponential, (POSITIVE,), POSITIVE),
    "Gamma": (nbvi.Gamma, (POSITIVE, POSITIVE), POSITIVE),
    "Beta": (nbvi.Beta, (POSITIVE, POSITIVE), UNIT),
    "LogNormal": (nbvi.LogNormal, (REAL, POSITIVE), POSITIVE),
    "StudentT": (nbvi.StudentT, (POSITIVE, REAL, POSITIVE), REAL),
    "Cauchy": (nbvi.Cauchy, (REAL, POSITIVE), REAL),
    "HalfCauchy": (nbvi.HalfCauchy, (POSITIVE,), POSITIVE),
    "Laplace": (nbvi.Laplace, (REAL, POSITIVE), REAL),
    "Uniform": (nbvi.Uniform, (), UNIT),
    "InverseGamma": (nbvi.InverseGamma, (POSITIVE, POSITIVE), POSITIVE),
    "HalfFlat": (nbvi.HalfFlat, (), POSITIVE),
    "Flat": (nbvi.Flat, (), REAL),
}

# name -> (how to make the variable from its name, parameters and keywords; parameter domains; data kind)
OBSERVED_FAMILIES = {
    "Normal": (nbvi.Normal, (REAL, POSITIVE), REAL),
    "StudentT": (nbvi.StudentT, (POSITIVE, REAL, POSITIVE), REAL),
    "Laplace": (nbvi.Laplace, (REAL, POSITIVE), REAL),
    "Cauchy": (nbvi.Cauchy, (REAL, POSITIVE), REAL),
    "HalfNormal": (nbvi.HalfNormal, (POSITIVE,), POSITIVE),
    "Exponential": (nbvi.Exponential, (POSITIVE,), POSITIVE),
    "Gamma": (nbvi.Gamma, (POSITIVE, POSITIVE), POSITIVE),
    "LogNormal": (nbvi.LogNormal, (REAL, POSITIVE), POSITIVE),
    "Beta": (nbvi.Beta, (POSITIVE, POSITIVE), UNIT),
    "Poisson": (nbvi.Poisson, (POSITIVE,), "count"),
    "Bernoulli": (nbvi.Bernoulli, (UNIT,), "binary"),
    "BernoulliLogit": (lambda name, logit_p, **kw: nbvi.Bernoulli(name, logit_p=logit_p, **kw), (REAL,), "binary"),
    "Binomial": (nbvi.Binomial, (UNIT,), "trials"),  # n: constant counts, drawn with the data
}

SHAPES = [(), (1,), (3,), (2, 1), (2, 3)]


def fits(param_shape, shape):
    """Whether a parameter of ``param_shape`` broadcasts to a term of ``shape`` (by NumPy's rules)."""
    try:
        return np.broadcast_shapes(tuple(param_shape), tuple(shape)) == tuple(shape)
    except ValueError:
        return False


def sub_shapes(shape):
    """The shapes a constant parameter of a term of ``shape`` may have: one element, trailing axes, ones."""
    found = {(), tuple(shape)}
    for k in range(1, len(shape) + 1):
        tail = tuple(shape[len(shape) - k:])
        found.add(tail)
        found.add((1,) * k)
        found.add(tuple(1 if i % 2 else n for i, n in enumerate(tail)))
        found.add(tuple(n if i % 2 else 1 for i, n in enumerate(tail)))
    return sorted(found)


def constant(rng, domain, shape):
    if domain == REAL:
        return rng.normal(size=shape)
    if domain == POSITIVE:
        return rng.uniform(0.5, 2.0, size=shape)
    return rng.uniform(0.2, 0.8, size=shape)


def data_of(rng, kind, shape):
    if kind == REAL:
        return rng.normal(size=shape)
    if kind == POSITIVE:
        return rng.uniform(0.2, 3.0, size=shape)
    if kind == UNIT:
        return rng.uniform(0.05, 0.95, size=shape)
    if kind == "count":
        return rng.poisson(2.0, size=shape)
    return rng.integers(0, 2, size=shape)  # binary


@st.composite
def random_models(draw):
    """A model of 1-3 free variables and 0-2 observed terms, every one inside the fused class."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    free = []  # (variable, shape, support)

    def parameter(domain, shape, allow_data=False):
        choices = [rv for rv, s, support in free if support in INSIDE[domain] and fits(s, shape)]
        if choices and draw(st.booleans()):
            return choices[draw(st.integers(0, len(choices) - 1))]
        value = constant(rng, domain, draw(st.sampled_from(sub_shapes(shape))))
        return nbvi.Data(value) if allow_data and draw(st.booleans()) else value

    with nbvi.Model() as model:
        for i in range(draw(st.integers(1, 3))):
            # the first variable has a term (a model of Flat variables alone has none to fuse)
            name = draw(st.sampled_from([n for n in FREE_FAMILIES if i or n != "Flat"]))
            family, domains, support = FREE_FAMILIES[name]
            shape = draw(st.sampled_from(SHAPES))
            if name == "Uniform":  # constant bounds: the Interval transform is fixed, broadcast per element
                bounds = [rng.uniform(0.1, 0.3, draw(st.sampled_from(sub_shapes(shape)))),
                          rng.uniform(0.6, 0.9, draw(st.sampled_from(sub_shapes(shape))))]
                rv = family(f"v{i}", *bounds, shape=shape)
            else:
                rv = family(f"v{i}", *[parameter(d, shape) for d in domains], shape=shape)
            free.append((rv, shape, support))
        for k in range(draw(st.integers(0, 2))):
            make, domains, kind = OBSERVED_FAMILIES[draw(st.sampled_from(sorted(OBSERVED_FAMILIES)))]
            shape = draw(st.sampled_from(SHAPES + [(5,)]))
            params = [parameter(d, shape, allow_data=True) for d in domains]
            if kind == "trials":  # Binomial(n, p): n a constant count, one or per element; 0 <= data <= n
                params.insert(0, rng.integers(1, 6, size=draw(st.sampled_from(sub_shapes(shape)))))
                data = rng.integers(0, params[0] + 1, size=shape)
            else:
                data = data_of(rng, kind, shape)
            if draw(st.booleans()):
                data = nbvi.Data(data)
            total_size = 3 * shape[0] + 1 if shape and draw(st.booleans()) else None  # scale (3 n + 1) / n
            make(f"obs{k}", *params, observed=data, total_size=total_size)
    return model


@settings(max_examples=40)  # each example builds a model and walks its graph: ~40 ms
@given(random_models(), st.integers(0, 1000))
def test_random_models_fused_equals_graph(model, seed):
    assert fused_density(model) is not None
    for draws in (1, 3):
        assert_same_density(model, points_near_start(model, draws, seed))


def free_parameter(name, domain, shape):
    """A free variable for a parameter of ``domain``: Normal, LogNormal or Beta."""
    if domain == REAL:
        return nbvi.Normal(name, 0.0, 1.0, shape=shape)
    if domain == POSITIVE:
        return nbvi.LogNormal(name, 0.0, 0.5, shape=shape)
    return nbvi.Beta(name, 2.0, 2.0, shape=shape)


@pytest.mark.parametrize("name", [n for n in FREE_FAMILIES if n not in ("Uniform", "HalfFlat", "Flat")])
def test_every_free_family_with_free_parameters(name):
    """Every parameter a free variable: each partial derivative reaches the right element of theta."""
    family, domains, _support = FREE_FAMILIES[name]
    with nbvi.Model() as model:
        params = [free_parameter(f"p{k}", d, (2,) if k % 2 else ()) for k, d in enumerate(domains)]
        family("x", *params, shape=2)
    assert fused_density(model) is not None
    assert_same_density(model, points_near_start(model, 3, seed=21))


@pytest.mark.parametrize("name", sorted(OBSERVED_FAMILIES))
def test_every_observed_family_with_free_parameters(name):
    make, domains, kind = OBSERVED_FAMILIES[name]
    rng = np.random.default_rng(22)
    with nbvi.Model() as model:
        params = [free_parameter(f"p{k}", d, (3,) if k % 2 else ()) for k, d in enumerate(domains)]
        if kind == "trials":
            n = np.array([3, 5, 8])
            make("y", n, *params, observed=rng.integers(0, n + 1), total_size=7)
        else:
            make("y", *params, observed=data_of(rng, kind, (3,)), total_size=7)
    assert fused_density(model) is not None
    assert_same_density(model, points_near_start(model, 3, seed=23))


# -- explicit transforms with array bounds -----------------------------------------------------------------

def test_explicit_transforms_with_array_bounds():
    rng = np.random.default_rng(1)
    lower = np.array([-1.0, 0.0, 2.0])
    with nbvi.Model() as model:
        a = nbvi.Normal("a", 0.0, 2.0, shape=(2, 3), transform=transforms.Interval(lower, lower + [1.0, 3.0, 0.5]))
        b = nbvi.Normal("b", 1.0, 1.0, shape=3, transform=transforms.LowerBound(lower))
        c = nbvi.Normal("c", 0.0, 1.0, shape=(2, 3), transform=transforms.UpperBound(np.array([[0.5], [2.0]])))
        d = nbvi.HalfNormal("d", 1.0, transform=transforms.LowerBound(0.5))
        scale = nbvi.Gamma("scale", 2.0, 2.0, transform=transforms.Interval(0.1, 5.0))
        nbvi.Normal("y", a, scale, observed=rng.normal(size=(2, 3)))
        nbvi.StudentT("z", d, b, scale, observed=rng.normal(size=3))
        nbvi.Normal("w", c, d, observed=rng.normal(size=(2, 3)))
    fd = fused_density(model)
    assert fd is not None
    assert set(fd.transform) == {INTERVAL, LOWERBOUND, UPPERBOUND}
    np.testing.assert_array_equal(fd.lower[:6], np.tile(lower, 2))  # the bound broadcast per element
    # the moments of these families lie outside some bounds: points drawn in unconstrained space instead
    theta = np.random.default_rng(2).standard_normal((3, model.ndim))
    theta[0] += 6.0  # x near the upper ends of the intervals
    assert_same_density(model, theta)


# -- large observed Normal data: per-column statistics -----------------------------------------------------

@pytest.mark.parametrize("data_shape, param_shape, total_size, as_data", [
    ((4000, 5), (5,), None, False),
    ((4000, 5), (), 10000, True),
    ((20000,), (), None, False),
    ((20000,), (), 50000, True),
])
def test_large_normal_data_uses_column_statistics(data_shape, param_shape, total_size, as_data):
    rng = np.random.default_rng(3)
    data = rng.normal(size=data_shape) * 2.0 + 1.5
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 10.0, shape=param_shape)
        sd = nbvi.HalfNormal("sd", 5.0, shape=param_shape)
        nbvi.Normal("y", mu, sd, observed=nbvi.Data(data) if as_data else data, total_size=total_size)
    fd = fused_density(model)
    assert fd is not None
    assert kernel.NORMAL_COLUMNS in fd.terms[:, 0]
    theta = points_near_start(model, 3, seed=4)
    # at the start mu = 0, sd ~ 4: terms of size ~1 per element, 20000 of them; the gradient sums them
    assert_same_density(model, theta, atol=1e-9 * data.size)
    if total_size is not None:  # the factor is used: without it the data's share of the density shrinks
        with nbvi.Model() as unscaled:
            nbvi.Normal("mu", 0.0, 10.0, shape=param_shape)
            nbvi.HalfNormal("sd", 5.0, shape=param_shape)
            nbvi.Normal("y", unscaled["mu"], unscaled["sd"], observed=data)
        assert not np.allclose(model.logp_dlogp(theta)[0], unscaled.logp_dlogp(theta)[0])


def test_large_normal_data_with_two_sided_params():
    """Large data whose mu is per column and sd shared: one statistic per column, mixed strides."""
    rng = np.random.default_rng(5)
    data = rng.normal(size=(3000, 8)) + np.arange(8)
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 10.0, shape=8)
        sd = nbvi.HalfCauchy("sd", 2.0)
        nbvi.Normal("y", mu, sd, observed=data)
        nbvi.Normal("prior_obs", mu, 1.0, observed=np.arange(8.0))  # a small term beside the large one
    fd = fused_density(model)
    assert fd is not None and list(fd.terms[:, 0]).count(kernel.NORMAL_COLUMNS) == 1
    assert_same_density(model, points_near_start(model, 3, seed=6), atol=1e-9 * data.size)


# -- models the fused density refuses ----------------------------------------------------------------------

def _deterministic_between():
    with nbvi.Model() as model:
        a = nbvi.Normal("a", 0.0, 1.0)
        b = nbvi.Normal("b", 0.0, 1.0)
        nbvi.Normal("y", a + b, 1.0, observed=np.array([0.3, -0.2]))
    return model


def _tau_of_a_free_variable():
    with nbvi.Model() as model:
        tau = nbvi.Gamma("tau", 2.0, 1.0)
        nbvi.Normal("y", 0.0, tau=tau, observed=np.array([0.3, -0.2]))  # sigma = tau ** -0.5, a node
    return model


def _dirichlet():
    with nbvi.Model() as model:
        nbvi.Dirichlet("p", np.ones(3))
        nbvi.Normal("y", 0.0, 1.0, observed=np.array([0.3]))
        nbvi.HalfNormal("s", 1.0)
    return model


def _mvnormal():
    with nbvi.Model() as model:
        nbvi.MvNormal("x", np.zeros(2), cov=np.array([[1.0, 0.3], [0.3, 2.0]]))
        nbvi.HalfNormal("s", 1.0)
    return model


def _normal_mixture():
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0, shape=2)
        nbvi.NormalMixture("y", w=np.array([0.4, 0.6]), mu=mu, sigma=np.ones(2), observed=np.array([0.5, -1.0, 2.0]))
    return model


def _large_normal_mean_per_row():
    """Large data whose mean varies by row (a regression on data): no per-column statistics."""
    rng = np.random.default_rng(0)
    with nbvi.Model() as model:
        sd = nbvi.HalfNormal("sd", 1.0)
        nbvi.Normal("y", nbvi.Data(rng.normal(size=20000)), sd, observed=rng.normal(size=20000))
    return model


def _large_poisson():
    with nbvi.Model() as model:
        rate = nbvi.Gamma("rate", 2.0, 1.0)
        nbvi.Poisson("n", rate, observed=np.random.default_rng(0).poisson(3.0, size=20000))
    return model


def _minibatch_of_poisson():
    """A minibatch read in place by a family without per-column statistics."""
    with nbvi.Model() as model:
        batch = nbvi.Minibatch(np.random.default_rng(0).poisson(2.0, size=500), batch_size=50)
        rate = nbvi.Gamma("rate", 2.0, 1.0)
        nbvi.Poisson("n", rate, observed=batch, total_size=500)
    return model


def _minibatch_of_columns():
    """A minibatch drawn along its columns: not read in place, a leaf the plan cannot copy once."""
    with nbvi.Model() as model:
        batch = nbvi.Minibatch(np.random.default_rng(0).normal(size=(4, 60)), batch_size=[None, 20])
        mu = nbvi.Normal("mu", 0.0, 1.0)
        nbvi.Normal("y", mu, 1.0, observed=batch, total_size=(None, 60))
    return model


REFUSED = [_deterministic_between, _tau_of_a_free_variable, _dirichlet, _mvnormal, _normal_mixture,
           _large_normal_mean_per_row, _large_poisson, _minibatch_of_poisson, _minibatch_of_columns]


@pytest.mark.parametrize("make", REFUSED, ids=lambda f: f.__name__.strip("_"))
def test_refused_models_keep_the_generic_path(make):
    """A model the fused kernel refuses runs on the tape (nbvi.compiled) or walks the graph: either way
    the graph walk's numbers, up to the order of the sums."""
    model = make()
    assert fused_density(model) is None
    theta = points_near_start(model, 3, seed=7)
    logp, grad = model.logp_dlogp(theta)
    logp_graph, grad_graph = model._graph_logp_dlogp(theta)
    assert np.all(np.isfinite(logp)) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(logp, logp_graph, rtol=1e-10)
    np.testing.assert_allclose(grad, grad_graph, rtol=1e-10, atol=1e-10 * np.abs(grad_graph).max())


@pytest.mark.parametrize("mu_shape, sd_shape", [((4,), ()), ((3, 1), (4,)), ((1, 4), (3, 1))])
def test_partial_broadcasting_is_fused(mu_shape, sd_shape):
    """Parameters broadcast along some axes of a small value: their positions are listed per element."""
    rng = np.random.default_rng(8)
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0, shape=mu_shape)
        sd = nbvi.HalfNormal("sd", 1.0, shape=sd_shape)
        nbvi.Normal("y", mu, sd, observed=rng.normal(size=(3, 4)))
    fd = fused_density(model)
    assert fd is not None
    maps = fd.terms[-1, kernel.FIRST_OPERAND + 3::4]  # where each operand's list of positions starts (0: none)
    assert np.any(maps > 0)
    assert_same_density(model, points_near_start(model, 3, seed=9))


def test_partial_broadcast_of_large_data_uses_column_statistics():
    """The same (rows, 4) value with a (4,) parameter, once the data is large: per-column statistics."""
    rng = np.random.default_rng(8)
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0, shape=4)
        nbvi.Normal("y", mu, 1.0, observed=rng.normal(size=(5000, 4)))
    fd = fused_density(model)
    assert fd is not None and kernel.NORMAL_COLUMNS in fd.terms[:, 0]
    assert_same_density(model, points_near_start(model, 3, seed=9), atol=1e-9 * 20000)


# -- data replaced by set_value ----------------------------------------------------------------------------

@pytest.mark.parametrize("rows, new_rows", [(6, 9), (6, 20000), (20000, 25000), (20000, 7)])
def test_set_value_rebuilds_the_plan(rows, new_rows):
    rng = np.random.default_rng(10)
    x = nbvi.Data(rng.normal(size=rows))
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 10.0)
        sd = nbvi.HalfNormal("sd", 5.0)
        y = nbvi.Data(rng.normal(size=rows) + 2.0)
        nbvi.Normal("y", mu, sd, observed=y)
        slope = nbvi.Normal("slope", 0.0, 1.0)
        nbvi.Normal("x", slope, 1.0, observed=x)
    theta = points_near_start(model, 3, seed=11)
    before = fused_density(model)
    logp_before, _ = model.logp_dlogp(theta)
    assert_same_density(model, theta, atol=1e-9 * max(rows, new_rows))
    y.set_value(rng.normal(size=new_rows) - 1.0)
    x.set_value(rng.normal(size=new_rows))
    after = fused_density(model)
    assert after is not None and after is not before
    # terms: the three priors, then y's likelihood, then x's
    assert after.terms[3, 0] == (kernel.NORMAL_COLUMNS if new_rows >= 16384 else kernel.ELEMENTWISE)
    assert not np.allclose(model.logp_dlogp(theta)[0], logp_before)
    assert_same_density(model, theta, atol=1e-9 * max(rows, new_rows))
    assert fused_density(model) is after  # nothing changed since: the plan is kept


def test_set_value_of_data_parameter_and_observed():
    """Data as a parameter of a term (a regression's inputs) and as its value, both replaced together."""
    rng = np.random.default_rng(12)
    inputs = nbvi.Data(rng.normal(size=8))
    with nbvi.Model() as model:
        sd = nbvi.HalfNormal("sd", 2.0)
        outputs = nbvi.Data(rng.normal(size=8))
        nbvi.Normal("y", inputs, sd, observed=outputs)
    theta = points_near_start(model, 3, seed=13)
    assert_same_density(model, theta)
    first = model.logp_dlogp(theta)[0]
    inputs.set_value(rng.normal(size=11))
    outputs.set_value(rng.normal(size=11))
    assert not np.allclose(model.logp_dlogp(theta)[0], first)
    assert_same_density(model, theta)


def test_observed_variable_as_parameter():
    """An observed variable used as another term's parameter stands for its data."""
    rng = np.random.default_rng(14)
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0, shape=4)
        first = nbvi.Normal("first", mu, 1.0, observed=rng.normal(size=4))
        sd = nbvi.HalfNormal("sd", 1.0)
        nbvi.Normal("second", first, sd, observed=rng.normal(size=4))
    assert fused_density(model) is not None
    assert_same_density(model, points_near_start(model, 3, seed=15))


# -- minibatches, points outside the support, the model growing, theta's memory layout ---------------------

def test_minibatch_follows_every_batch():
    """A Normal likelihood of a minibatch: this step's statistics at every call, equal to the graph's batch."""
    rng = np.random.default_rng(16)
    data = rng.normal(size=(500, 3)) + np.arange(3)
    with nbvi.Model() as model:
        batch = nbvi.Minibatch(data, batch_size=50)
        mu = nbvi.Normal("mu", 0.0, 10.0, shape=3)
        sd = nbvi.HalfNormal("sd", 2.0)
        nbvi.Normal("lik", mu, sd, observed=batch, total_size=data.shape)
    fd = fused_density(model)
    assert fd is not None and kernel.NORMAL_COLUMNS in fd.terms[:, 0]
    theta = points_near_start(model, 3, seed=17)
    seen = []
    for _ in range(3):
        batch.resample()
        assert_same_density(model, theta, atol=1e-9 * data.size)
        seen.append(model.logp_dlogp(theta)[0])
    assert not np.allclose(seen[0], seen[1])  # a new batch, a new density


def test_a_model_of_flat_variables_alone_is_fused_with_logp_zero():
    with nbvi.Model() as model:
        nbvi.Flat("x", shape=2)
    assert fused_density(model) is not None
    logp, grad = model.logp_dlogp(np.array([[0.3, -2.0], [5.0, 1.0]]))
    np.testing.assert_array_equal(logp, 0.0)
    np.testing.assert_array_equal(grad, 0.0)


def test_outside_the_support_both_give_minus_inf():
    """Untransformed positive variables and free bounds of an observed Uniform can leave the support."""
    with nbvi.Model() as model:
        x = nbvi.HalfNormal("x", 1.0, shape=2, transform=None)
        lower = nbvi.Normal("lower", 0.0, 1.0)
        nbvi.Normal("y", x, 1.0, observed=np.array([0.5, 1.0]))
        nbvi.Uniform("u", lower, 2.0, observed=np.array([0.5, 1.0]))
    assert fused_density(model) is not None
    theta = np.array([[0.5, 1.0, 0.0], [-0.5, 1.0, 0.0], [0.5, 1.0, 0.7], [0.3, 0.2, -1.0]])
    logp, grad = model.logp_dlogp(theta)
    logp_graph, grad_graph = model._graph_logp_dlogp(theta)
    np.testing.assert_array_equal(np.isfinite(logp), [True, False, False, True])
    np.testing.assert_allclose(logp, logp_graph, rtol=RTOL, atol=ATOL)
    assert np.all(np.isfinite(grad))  # no NaN where a term is -inf
    np.testing.assert_allclose(grad[[0, 3]], grad_graph[[0, 3]], rtol=RTOL, atol=ATOL)


def test_new_variable_after_a_call_rebuilds_the_plan():
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0)
    first = fused_density(model)
    assert first is not None and model.logp_dlogp(np.zeros((1, 1)))[1].shape == (1, 1)
    with model:
        sd = nbvi.HalfNormal("sd", 1.0, shape=2)
        nbvi.Normal("y", mu, sd, observed=np.array([0.3, -1.0]))
    assert fused_density(model) is not first
    assert_same_density(model, points_near_start(model, 3, seed=18))


def test_theta_of_any_memory_layout():
    """A Fortran-ordered or strided theta gives what its C-contiguous copy gives."""
    rng = np.random.default_rng(19)
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0, shape=3)
        sd = nbvi.Gamma("sd", 2.0, 2.0, shape=3)
        nbvi.Normal("y", mu, sd, observed=rng.normal(size=3))
    theta = points_near_start(model, 4, seed=20)
    expected = model._graph_logp_dlogp(theta)
    wide = np.zeros((4, 2 * model.ndim))
    wide[:, ::2] = theta
    for view in (np.asfortranarray(theta), wide[:, ::2]):
        logp, grad = model.logp_dlogp(view)
        np.testing.assert_allclose(logp, expected[0], rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(grad, expected[1], rtol=RTOL, atol=ATOL)


# -- review findings ------------------------------------------------------------------------------------------
class ShiftedLog(transforms.LogTransform):
    """A user's subclass of the log transform with its own map: x = exp(u) + 1."""

    def backward(self, u):
        return np.exp(u) + 1.0

    def forward(self, x):
        return np.log(x - 1.0)

    def density_terms(self, u, x, g_x):
        return u.reshape(u.shape[0], -1).sum(axis=1), (x - 1.0) * g_x + 1.0


def test_a_subclass_of_a_known_transform_keeps_the_graph_path():
    with nbvi.Model() as model:
        nbvi.Gamma("g", 3.0, 1.0, transform=ShiftedLog())
    with pytest.warns(nbvi.NotCompiledWarning):  # the tape does not know the subclass either
        assert fused_density(model) is None
    logp, _ = model.logp_dlogp(np.array([[0.3]]))
    want = stats.gamma(3.0).logpdf(np.exp(0.3) + 1.0) + 0.3
    np.testing.assert_allclose(logp, [want])


def test_an_underflowing_sigma_gives_the_graph_paths_gradient():
    data = np.random.default_rng(0).normal(size=(5000, 4))
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0, shape=4)
        sd = nbvi.HalfNormal("sd", 1.0)
        nbvi.Normal("y", mu, sd, observed=data)
    assert kernel.NORMAL_COLUMNS in fused_density(model).terms[:, 0]
    theta = np.array([[0.1, 0.2, 0.3, 0.4, np.log(1e-180)]])
    logp, grad = model.logp_dlogp(theta)
    logp_graph, grad_graph = model._graph_logp_dlogp(theta)
    assert logp[0] == logp_graph[0] == -np.inf
    np.testing.assert_array_equal(grad, grad_graph)


def test_a_refused_model_is_looked_at_again_after_set_value():
    counts = nbvi.Data(np.random.default_rng(1).poisson(3.0, size=20000))
    with nbvi.Model() as model:
        rate = nbvi.Gamma("rate", 2.0, 1.0)
        nbvi.Poisson("y", rate, observed=counts)
    assert fused_density(model) is None  # large data of a family without statistics
    counts.set_value(np.array([1, 4, 2]))
    assert fused_density(model) is not None
    assert_same_density(model, points_near_start(model, 2))
