"""Observed data outside a family's support is refused when the variable is built, naming the variable and
the first offending index (issue "Reliability"); values on the support's edge that the density allows pass."""
import numpy as np
import pytest

import nbvi

OUTSIDE = [("Beta", (2.0, 2.0), [0.5, 1.5], (1,)), ("Beta", (2.0, 2.0), [0.0], (0,)),
           ("Exponential", (1.0,), [1.0, -1.0], (1,)), ("HalfNormal", (1.0,), [[0.5, -1.0]], (0, 1)),
           ("HalfCauchy", (1.0,), [-0.1], (0,)), ("Gamma", (2.0, 1.0), [1.0, 0.0], (1,)),
           ("InverseGamma", (3.0, 1.0), [-1.0], (0,)), ("LogNormal", (0.0, 1.0), [2.0, -2.0], (1,)),
           ("Uniform", (0.0, 1.0), [0.5, 2.0], (1,))]


@pytest.mark.parametrize("family, params, data, index", OUTSIDE)
def test_continuous_data_outside_the_support_is_refused(family, params, data, index):
    with nbvi.Model():
        with pytest.raises(ValueError, match=rf"{family} variable 'y': observed value .* at index \({index[0]},"):
            getattr(nbvi, family)("y", *params, observed=np.array(data))


@pytest.mark.parametrize("family, params, data", [("Exponential", (1.0,), [0.0, 2.0]), ("HalfNormal", (1.0,), [0.0]),
                                                  ("Uniform", (0.0, 1.0), [0.0, 1.0]), ("Beta", (2.0, 2.0), [0.3])])
def test_data_the_density_allows_is_accepted(family, params, data):
    with nbvi.Model() as model:
        getattr(nbvi, family)("y", *params, observed=np.array(data))
    assert np.isfinite(model.logp({}))


def test_a_uniform_with_bounds_from_the_graph_leaves_the_check_to_the_density():
    with nbvi.Model() as model:
        upper = nbvi.HalfNormal("upper", 1.0)
        nbvi.Uniform("y", 0.0, upper + 1.0, observed=np.array([0.5, 5.0]))
    assert model.logp({"upper": 1.0}) == -np.inf


DISCRETE = [("Bernoulli", {"p": 0.5}, [0, 1, 2], "0 or 1"), ("Binomial", {"n": 3, "p": 0.5}, [1, 4], "0..n"),
            ("Poisson", {"mu": 2.0}, [0, 1.5], "non-negative integers"),
            ("Categorical", {"p": [0.5, 0.5]}, [0, 1, 2], "class indices")]


@pytest.mark.parametrize("family, params, data, rule", DISCRETE)
def test_discrete_data_outside_the_support_names_the_first_index(family, params, data, rule):
    first = len(data) - 1
    with nbvi.Model():
        with pytest.raises(ValueError, match=rf"{family} variable 'y': observed value .* at index \({first},\).*{rule}"):
            getattr(nbvi, family)("y", **params, observed=np.array(data))


@pytest.mark.parametrize("family, params, good, bad", [
    ("Exponential", {"lam": 1.0}, [0.5, 2.0, 3.0], [0.5, -2.0]),
    ("Binomial", {"n": 3, "p": 0.5}, [0, 3, 1], [1, 4]),
    ("Poisson", {"mu": 2.0}, [0, 7], [1, 2, 3.5]),
    ("Bernoulli", {"p": 0.5}, [1, 1, 0], [0, 2]),
])
def test_set_value_outside_the_support_of_a_variable_reading_the_data_is_refused(family, params, good, bad):
    dtype = np.float64 if family in ("Exponential", "Poisson") else np.int64  # (float counts may be 3.5)
    data = nbvi.Data(np.array(good[:2], dtype=dtype), name="D")
    with nbvi.Model() as model:  # (kept: the Data checks the variables of models still alive)
        getattr(nbvi, family)("y", **params, observed=data)
    data.set_value(np.array(good, dtype=dtype))  # new rows inside the support are fine
    with pytest.raises(ValueError, match=rf"Data D: the new value does not fit {family} variable 'y'.*at index "
                                         rf"\({len(bad) - 1},\).*old value is kept"):
        data.set_value(np.array(bad, dtype=dtype))
    np.testing.assert_array_equal(data.get_value(), good)
    assert model.observed_RVs[0].name == "y"


def test_a_minibatch_checks_all_its_data_not_only_the_batch():
    data = np.ones((50, 2))
    data[30, 1] = -1.0
    with nbvi.Model():
        with pytest.raises(ValueError, match=r"'y': observed value -1.0 at index \(30, 1\)"):
            nbvi.Exponential("y", 1.0, observed=nbvi.Minibatch(data, batch_size=5), total_size=data.shape)
    batch = nbvi.Minibatch(np.ones((50, 2)), batch_size=5, name="M")
    with nbvi.Model() as model:
        nbvi.Exponential("z", 1.0, observed=batch, total_size=(50, 2))
    with pytest.raises(ValueError, match=r"Data M: the new value does not fit Exponential variable 'z'.*\(30, 1\)"):
        batch.set_value(data)
    np.testing.assert_array_equal(batch.get_value(), np.ones((50, 2)))
    assert model.observed_RVs[0].name == "z"
