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
