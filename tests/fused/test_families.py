"""The generated switch over scalar families: ``family_logp_grad(number, x, a, b, c, e)`` is each family's own
``<family>_logp_grad`` with its outputs mapped as documented, and ``family_of`` knows exactly the scalar
families (vector families and mixtures have instructions of their own)."""
import numpy as np
import pytest
from gradcheck import numeric_grad

import nbvi
from nbvi import distributions as d
from nbvi.fused import families
from nbvi.fused.families import NUMBERS, family_logp_grad, family_of

UNUSED = 7.25  # fed to the parameter slots a family does not read: it must change nothing


def _continuous(scalar):
    """(lp, d/dx, d/dparam_1, ...) -> (lp, d/dx, d/da, d/db, d/dc, d/de)."""
    def mapped(x, *params):
        out = tuple(scalar(x, *params))
        return out + (0.0,) * (6 - len(out))
    return mapped


def _discrete(scalar):
    """(lp, d/dparam) -> (lp, 0, d/da, 0, 0, 0): the data of a discrete family has no derivative."""
    def mapped(y, a):
        lp, d_a = scalar(y, a)
        return lp, 0.0, d_a, 0.0, 0.0, 0.0
    return mapped


def _binomial(y, n, p):
    """binomial_logp_grad gives d/dp only; p is the second parameter (slot b), n has none."""
    lp, d_p = d.binomial.binomial_logp_grad(y, n, p)
    return lp, 0.0, 0.0, d_p, 0.0, 0.0


def _discrete_slots(scalar, slots):
    """(lp, partial...) -> (lp, 0, d/da, d/db, d/dc), the partials at the argument ``slots`` (1 = a, 2 = b, 3 = c)."""
    def mapped(y, *params):
        lp, *partials = scalar(y, *params)
        out = [lp, 0.0, 0.0, 0.0, 0.0, 0.0]
        for slot, partial in zip(slots, partials):
            out[1 + slot] = partial
        return tuple(out)
    return mapped


def _halfflat(x):
    """HalfFlat's log-density written out: 0 on x > 0, -inf elsewhere; no derivative."""
    return (0.0 if x > 0 else -np.inf), 0.0, 0.0, 0.0, 0.0, 0.0


# family name -> (reference in family_logp_grad's layout, points (x, *params) inside the support, one point
# outside the support or with an invalid parameter (None where there is none), the argument slots whose derivative is reported)
CASES = {
    "normal": (_continuous(d.normal.normal_logp_grad),
                           [(0.3, -0.2, 1.5), (-2.0, 1.0, 0.4), (5.0, 5.0, 3.0)], (0.3, 0.0, -1.0), (0, 1, 2)),
    "halfnormal": (_continuous(d.halfnormal.halfnormal_logp_grad),
                                   [(0.3, 1.5), (2.0, 0.4), (0.05, 1.0)], (-0.5, 1.0), (0, 1)),
    "exponential": (_continuous(d.exponential.exponential_logp_grad),
                                     [(0.3, 1.5), (2.0, 0.4)], (-0.5, 1.0), (0, 1)),
    "gamma": (_continuous(d.gamma.gamma_logp_grad),
                         [(0.3, 2.0, 1.5), (4.0, 0.5, 0.3)], (-0.5, 2.0, 1.0), (0, 1, 2)),
    "beta": (_continuous(d.beta.beta_logp_grad),
                       [(0.3, 2.0, 1.5), (0.9, 0.5, 0.3)], (1.5, 2.0, 2.0), (0, 1, 2)),
    "lognormal": (_continuous(d.lognormal.lognormal_logp_grad),
                                 [(0.3, 0.1, 1.2), (4.0, -1.0, 0.5)], (-0.5, 0.0, 1.0), (0, 1, 2)),
    "studentt": (_continuous(d.studentt.studentt_logp_grad),
                               [(0.3, 3.0, -0.2, 1.5), (-4.0, 0.7, 1.0, 0.4)], (0.3, 3.0, 0.0, 0.0), (0, 1, 2, 3)),
    "cauchy": (_continuous(d.cauchy.cauchy_logp_grad),
                           [(0.3, -0.2, 1.5), (-4.0, 1.0, 0.4)], (0.3, 0.0, -1.0), (0, 1, 2)),
    "halfcauchy": (_continuous(d.halfcauchy.halfcauchy_logp_grad),
                                   [(0.3, 1.5), (4.0, 0.4)], (-0.5, 1.0), (0, 1)),
    "laplace": (_continuous(d.laplace.laplace_logp_grad),
                             [(0.3, -0.2, 1.5), (-4.0, 1.0, 0.4)], (0.3, 0.0, 0.0), (0, 1, 2)),
    "uniform": (_continuous(d.uniform.uniform_logp_grad),
                             [(0.3, -1.0, 2.0), (-0.9, -1.0, 0.5)], (3.0, -1.0, 2.0), (0, 1, 2)),
    "inversegamma": (_continuous(d.inversegamma.inversegamma_logp_grad),
                                       [(0.3, 2.0, 1.5), (4.0, 0.5, 0.3)], (-0.5, 2.0, 1.0), (0, 1, 2)),
    "halfflat": (_halfflat, [(0.3,), (10.0,)], (-0.5,), (0,)),
    "flat": (lambda x: (0.0, 0.0, 0.0, 0.0, 0.0, 0.0), [(0.3,), (-10.0,)], None, (0,)),
    "poisson": (_discrete(d.poisson.poisson_logp_grad),
                             [(0.0, 2.5), (3.0, 2.5), (7.0, 0.4)], (1.5, 2.0), (1,)),
    "bernoulli": (_discrete(d.bernoulli.bernoulli_logp_grad),
                                 [(0.0, 0.3), (1.0, 0.3)], (2.0, 0.3), (1,)),
    "bernoulli_logit": (_discrete(d.bernoulli.bernoulli_logit_logp_grad),
                                       [(0.0, -1.2), (1.0, 2.0)], (2.0, 0.5), (1,)),
    "binomial": (_binomial, [(3.0, 10.0, 0.4), (0.0, 5.0, 0.2), (5.0, 5.0, 0.7)],
                               (6.0, 5.0, 0.5), (2,)),
    "negativebinomial": (_discrete_slots(d.negativebinomial.negativebinomial_logp_grad, (1, 2)),
                         [(0.0, 2.5, 1.5), (3.0, 2.5, 1.5), (7.0, 0.4, 10.0)], (1.5, 2.0, 1.0), (1, 2)),
    "zeroinflatedpoisson": (_discrete_slots(d.zeroinflatedpoisson.zeroinflatedpoisson_logp_grad, (1, 2)),
                            [(0.0, 0.7, 2.5), (3.0, 0.7, 2.5), (0.0, 0.2, 0.4)], (0.0, 1.5, 2.0), (1, 2)),
    "zeroinflatednegativebinomial": (
        _discrete_slots(d.zeroinflatednegativebinomial.zeroinflatednegativebinomial_logp_grad, (1, 2, 3)),
        [(0.0, 0.7, 2.5, 1.5), (3.0, 0.7, 2.5, 1.5)], (0.0, 0.5, -2.0, 1.0), (1, 2, 3)),
    "zeroinflatedbinomial": (_discrete_slots(d.zeroinflatedbinomial.zeroinflatedbinomial_logp_grad, (1, 3)),
                             [(0.0, 0.7, 10.0, 0.3), (4.0, 0.7, 10.0, 0.3)], (11.0, 0.5, 10.0, 0.3), (1, 3)),
    "binomial_logit": (_discrete_slots(d.binomial.binomial_logit_logp_grad, (2,)),
                       [(3.0, 10.0, -0.4), (0.0, 5.0, -40.0), (5.0, 5.0, 40.0)], (6.0, 5.0, 0.5), (2,)),
    "zeroinflatedbinomial_logit": (
        _discrete_slots(d.zeroinflatedbinomial.zeroinflatedbinomial_logit_logp_grad, (1, 3)),
        [(0.0, 0.7, 10.0, -0.8), (4.0, 0.7, 10.0, -0.8)], (11.0, 0.5, 10.0, -0.8), (1, 3)),
    "geometric": (_discrete_slots(d.geometric.geometric_logp_grad, (1,)), [(1.0, 0.3), (4.0, 0.3)], (0.0, 0.3), (1,)),
    "discreteuniform": (_discrete_slots(d.discreteuniform.discreteuniform_logp_grad, ()),
                        [(0.0, -2.0, 5.0), (5.0, -2.0, 5.0)], (6.0, -2.0, 5.0), ()),
    "betabinomial": (_discrete_slots(d.betabinomial.betabinomial_logp_grad, (1, 2)),
                     [(0.0, 2.0, 3.0, 10.0), (4.0, 2.0, 3.0, 10.0)], (11.0, 2.0, 3.0, 10.0), (1, 2)),
    "weibull": (_continuous(d.weibull.weibull_logp_grad), [(0.3, 1.5, 2.0), (4.0, 0.7, 1.0)], (-0.5, 1.5, 1.0), (0, 1, 2)),
    "halfstudentt": (_continuous(d.halfstudentt.halfstudentt_logp_grad), [(0.3, 3.0, 1.5), (4.0, 0.7, 0.4)],
                     (-0.5, 3.0, 1.0), (0, 1, 2)),
    "logistic": (_continuous(d.logistic.logistic_logp_grad), [(0.3, -0.2, 1.5), (-4.0, 1.0, 0.4)], (0.3, 0.0, -1.0),
                 (0, 1, 2)),
    "gumbel": (_continuous(d.gumbel.gumbel_logp_grad), [(0.3, -0.2, 1.5), (-1.0, 1.0, 0.4)], (0.3, 0.0, 0.0), (0, 1, 2)),
    "exgaussian": (_continuous(d.exgaussian.exgaussian_logp_grad), [(0.3, -0.2, 1.5, 0.7), (-4.0, 1.0, 0.4, 2.0)],
                   (0.3, 0.0, 1.0, -1.0), (0, 1, 2, 3)),
    "skewnormal": (_continuous(d.skewnormal.skewnormal_logp_grad), [(0.3, 2.0, -0.2, 1.5), (-4.0, -3.0, 1.0, 0.4)],
                   (0.3, 1.0, 0.0, 0.0), (0, 1, 2, 3)),
    "kumaraswamy": (_continuous(d.kumaraswamy.kumaraswamy_logp_grad), [(0.3, 2.0, 1.5), (0.9, 0.5, 0.3)],
                    (1.5, 2.0, 2.0), (0, 1, 2)),
    "wald": (_continuous(d.wald.wald_logp_grad), [(0.3, 1.0, 2.0), (4.0, 2.5, 0.4)], (-0.5, 1.0, 1.0), (0, 1, 2)),
    "asymmetriclaplace": (_continuous(d.asymmetriclaplace.asymmetriclaplace_logp_grad),
                          [(0.3, 1.5, 0.7, -0.2), (-4.0, 0.4, 2.0, 1.0)], (0.3, 1.0, 0.0, 0.0), (0, 1, 2, 3)),
    "truncatednormal": (_continuous(d.truncatednormal.truncatednormal_logp_grad),
                        [(0.3, 0.5, 1.3, -1.0, 2.0), (2.5, -1.0, 0.7, 1.0, 6.0)], (3.0, 0.5, 1.3, -1.0, 2.0),
                        (0, 1, 2, 3, 4)),
    "pareto": (_continuous(d.pareto.pareto_logp_grad), [(2.5, 3.0, 1.5), (4.0, 0.7, 0.4)], (1.0, 3.0, 1.5), (0, 1, 2)),
}

ENTRIES = list(NUMBERS.items())
IDS = [name for name, _ in ENTRIES]


def fused(number, point):
    """family_logp_grad at (x, *params), the unused parameter slots filled with UNUSED."""
    args = tuple(point) + (UNUSED,) * (5 - len(point))
    return np.array(family_logp_grad(number, *args))


def test_every_family_has_a_case():
    assert set(CASES) == set(NUMBERS)
    assert len({number for number, _ in NUMBERS.values()}) == len(NUMBERS)  # one number per family


@pytest.mark.parametrize("name, entry", ENTRIES, ids=IDS)
def test_matches_the_family_scalar_function(name, entry):
    number, n_params = entry
    reference, points, _outside, _slots = CASES[name]
    for point in points:
        assert len(point) == 1 + n_params
        # the same compiled scalar functions: equal up to the last bits the compiler may reorder
        np.testing.assert_allclose(fused(number, point), reference(*point), rtol=1e-13, atol=0)


@pytest.mark.parametrize("name, entry", ENTRIES, ids=IDS)
def test_outside_the_support_is_minus_inf_with_zero_derivatives(name, entry):
    number, _n_params = entry
    _reference, _points, outside, _slots = CASES[name]
    if outside is None:  # Flat: every real number is in its support
        return
    out = fused(number, outside)
    assert out[0] == -np.inf
    np.testing.assert_array_equal(out[1:], 0.0)


@pytest.mark.parametrize("name, entry", ENTRIES, ids=IDS)
def test_reported_derivatives_match_finite_differences(name, entry):
    """Independent of the mapping table: each reported slot is d logp / d that argument, the others are 0."""
    number, n_params = entry
    _reference, points, _outside, slots = CASES[name]
    for point in points:
        out = fused(number, point)
        full = np.array(point + (UNUSED,) * (4 - n_params))
        expected = numeric_grad(lambda v: family_logp_grad(number, *v)[0], full)
        for slot in range(5):
            if slot in slots:
                np.testing.assert_allclose(out[1 + slot], expected[slot], rtol=1e-6, atol=1e-7)
            else:  # the data of a discrete family, Binomial's n, parameters the family does not have
                assert out[1 + slot] == 0.0


@pytest.mark.parametrize("dist, number", [
    (nbvi.Normal.dist(0.0, 1.0), families.NORMAL),
    (nbvi.HalfNormal.dist(1.0), families.HALFNORMAL),
    (nbvi.Exponential.dist(1.0), families.EXPONENTIAL),
    (nbvi.Gamma.dist(mu=2.0, sigma=1.0), families.GAMMA),
    (nbvi.Beta.dist(2.0, 3.0), families.BETA),
    (nbvi.LogNormal.dist(0.0, 1.0), families.LOGNORMAL),
    (nbvi.StudentT.dist(3.0, 0.0, 1.0), families.STUDENTT),
    (nbvi.Cauchy.dist(0.0, 1.0), families.CAUCHY),
    (nbvi.HalfCauchy.dist(1.0), families.HALFCAUCHY),
    (nbvi.Laplace.dist(0.0, 1.0), families.LAPLACE),
    (nbvi.Uniform.dist(0.0, 1.0), families.UNIFORM),
    (nbvi.InverseGamma.dist(2.0, 1.0), families.INVERSEGAMMA),
    (nbvi.HalfFlat.dist(), families.HALFFLAT),
    (nbvi.Flat.dist(), families.FLAT),
    (nbvi.Poisson.dist(2.0), families.POISSON),
    (nbvi.Bernoulli.dist(0.3), families.BERNOULLI),
    (nbvi.Bernoulli.dist(logit_p=0.3), families.BERNOULLI_LOGIT),
    (nbvi.Binomial.dist(5, 0.3), families.BINOMIAL),
], ids=lambda v: type(v).__name__ if isinstance(v, nbvi.Distribution) else str(v))
def test_family_of_scalar_families(dist, number):
    assert family_of(dist) == (number, len(dist.params))


@pytest.mark.parametrize("dist", [
    nbvi.Dirichlet.dist(np.ones(3)),
    nbvi.MvNormal.dist(np.zeros(2), cov=np.eye(2)),
    nbvi.NormalMixture.dist(w=np.array([0.3, 0.7]), mu=np.array([-1.0, 1.0]), sigma=np.ones(2)),
    nbvi.Categorical.dist(p=np.array([0.2, 0.3, 0.5])),
], ids=lambda d: type(d).__name__)
def test_family_of_other_families_is_none(dist):
    assert family_of(dist) is None
