"""Tests of Wald: logp against scipy.stats.invgauss (IG(mu, lam) = lam invgauss(mu / lam)), hand-written
gradients against central differences, PyMC's mu / lam / phi parameterisations, validation, initial point
and sampling (the checks of distributions/family_checks.py)."""
import numpy as np
import pytest
import scipy.stats as stats
from distributions.family_checks import (
    Family,
    cases,
    check_invalid_parameters,
    check_logp_and_grad,
    check_moment,
    check_random,
)
from distributions.scalar_checks import check_minus_inf
from hypothesis import given

import nbvi
from nbvi.distributions.wald import Wald

FAMILY = Family(
    cls=Wald,
    ranges={"mu": (0.3, 3.0), "lam": (0.3, 5.0)},
    values=(0.1, 5.0),
    scipy=lambda mu, lam: stats.invgauss(mu / lam, scale=lam),
    sample_params={"mu": np.array([1.0, 2.0]), "lam": np.array([3.0, 1.5])},
    outside=(0.0, -1.0),
    invalid=[({"mu": -1.0, "lam": 1.0}, "mu must be > 0"), ({"mu": 1.0, "lam": 0.0}, "lam must be > 0"),
             ({"mu": 1.0, "phi": -1.0}, "phi must be > 0"), ({"lam": 1.0}, "mu alone, mu and lam"),
             ({"mu": 1.0, "lam": 1.0, "phi": 1.0}, "mu alone, mu and lam")],
    bad_param=("lam", 0.0),
    transform="log",
)


@given(cases(FAMILY))
def test_logp_matches_scipy_and_gradients_match_differences(case):
    check_logp_and_grad(FAMILY, case)


def test_out_of_support_gives_minus_inf_not_nan():
    check_minus_inf(FAMILY)


def test_invalid_constant_parameters_raise():
    check_invalid_parameters(FAMILY)


def test_moment_is_in_support_and_default_transform():
    check_moment(FAMILY)


def test_random_shape_and_moments():
    check_random(FAMILY)


@pytest.mark.parametrize("kwargs, mu, lam", [({"mu": 2.0}, 2.0, 1.0), ({"mu": 2.0, "lam": 3.0}, 2.0, 3.0),
                                             ({"mu": 2.0, "phi": 3.0}, 2.0, 6.0), ({"lam": 3.0, "phi": 1.5}, 2.0, 3.0)])
def test_pymc_parameterisations(kwargs, mu, lam):
    values = Wald.dist(**kwargs).param_values()
    np.testing.assert_allclose([values["mu"], values["lam"]], [mu, lam])


def test_phi_from_a_free_variable_is_a_graph_expression():
    with nbvi.Model() as model:
        phi = nbvi.HalfNormal("phi", 1.0)
        nbvi.Wald("y", mu=2.0, phi=phi, observed=np.array([0.5, 1.5, 3.0]))
    expected = stats.invgauss(2.0 / 3.0, scale=3.0).logpdf([0.5, 1.5, 3.0]).sum() + stats.halfnorm.logpdf(1.5)
    np.testing.assert_allclose(model.logp({"phi": 1.5}), expected, rtol=1e-12)  # lam = mu phi = 3
