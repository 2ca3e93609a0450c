"""A variable with no elements is refused where it is declared, naming it (issue "Reliability"): PyMC
builds one, but there is nothing to fit in it and its shape is almost always a mistake."""
import numpy as np
import pytest

import nbvi


@pytest.mark.parametrize("shape", [0, (2, 0)])
def test_a_free_variable_of_no_elements_is_refused(shape):
    with nbvi.Model() as model:
        with pytest.raises(ValueError, match=r"Normal variable 'x': shape .* has no elements"):
            nbvi.Normal("x", 0.0, 1.0, shape=shape)
    assert not model.free_RVs


@pytest.mark.parametrize("family, params", [("Normal", (np.zeros(0), 1.0)), ("HalfNormal", (np.ones(0),)),
                                            ("Gamma", (2.0, np.ones((3, 0)))), ("Dirichlet", (np.ones(0),))])
def test_an_empty_parameter_array_is_refused_naming_the_parameter(family, params):
    with nbvi.Model():
        with pytest.raises(ValueError, match=f"{family} variable 'x': parameter '.*' is empty"):
            getattr(nbvi, family)("x", *params)


def test_empty_observed_data_is_refused_but_data_may_have_no_rows_yet():
    with nbvi.Model() as model:
        with pytest.raises(ValueError, match="observed data of 'y' is empty"):
            nbvi.Normal("y", 0.0, 1.0, observed=np.zeros((0, 3)))
        mu = nbvi.Normal("mu", 0.0, 1.0)
        rows = nbvi.Data(np.zeros((0, 3)))  # e.g. filled by set_value later
        nbvi.Normal("z", mu, 1.0, observed=rows)
    prior = -0.5 * np.log(2 * np.pi)  # log N(0 | 0, 1): the term of no rows adds nothing
    np.testing.assert_allclose(model.logp({"mu": 0.0}), prior)
    np.testing.assert_allclose(model._graph_logp_dlogp(np.zeros((2, 1)))[0], [prior, prior])
    np.testing.assert_allclose(model.logp_dlogp(np.zeros((2, 1)))[0], [prior, prior])


@pytest.mark.parametrize("value, error, match", [("a", TypeError, "must be real numbers"),
                                                 (True, TypeError, "must be real numbers, got dtype bool"),
                                                 (1j, TypeError, "must be real numbers"),
                                                 ([[1.0, 2.0], [3.0]], TypeError, "must be a rectangular array")])
def test_a_parameter_that_is_not_real_numbers_is_named(value, error, match):
    with nbvi.Model():
        with pytest.raises(error, match=f"Normal variable 'x': parameter 'mu' {match}"):
            nbvi.Normal("x", value, 1.0)
    with pytest.raises(error, match=f"Normal: parameter 'mu' {match}"):
        nbvi.Normal.dist(value, 1.0)
