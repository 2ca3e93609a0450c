"""NegativeBinomial (and ZeroInflatedNegativeBinomial) for very large alpha: accurate below the switch to the
Poisson limit at alpha = 1e10, the Poisson above it, continuous across it, and gradients (mu, log alpha)
against central differences for alpha up to 1e16."""
import math

import numpy as np
import pytest
from gradcheck import assert_grad_close
from scipy import stats

from nbvi.distributions.negativebinomial import POISSON_LIMIT, NegativeBinomial, negativebinomial_logp_grad
from nbvi.distributions.zeroinflatednegativebinomial import ZeroInflatedNegativeBinomial
from nbvi.graph import Constant, Placeholder, Program

Y = np.array([0.0, 3.0, 7.0, 10.0])  # the data of the report: mu = 3, exact -15.449 in the Poisson limit
MU = 3.0


def nb_program(dist_class, **constants):
    """A Program of ``dist.logp(Y)`` with mu and alpha as placeholders; returns run(mu, alpha) -> (logp,
    (d/dmu, d/dalpha))."""
    mu, alpha = Placeholder((), "mu"), Placeholder((), "alpha")
    program = Program([dist_class.dist(mu=mu, alpha=alpha, **constants).logp(Constant(Y))], [mu, alpha])

    def run(m, a):
        logp, grads = program.value_and_grad([np.array([m]), np.array([a])])
        return float(logp[0]), (float(grads[0][0]), float(grads[1][0]))

    return run


def reference_logp(y, mu, alpha):
    """log NegativeBinomial(y | mu, alpha) with log Gamma(y + alpha) - log Gamma(alpha) - y log alpha written
    as sum_{i < y} log(1 + i / alpha) (exact for counts; no cancellation of huge log-Gamma terms)."""
    rising = math.fsum(math.log1p(i / alpha) for i in range(int(y)))
    return rising - math.lgamma(y + 1.0) + y * math.log(mu) - (y + alpha) * math.log1p(mu / alpha)


@pytest.mark.parametrize("alpha", [0.5, 10.0, 99.0, 100.0, 1e3, 1e5, 1e6])
def test_below_the_switch_matches_scipy(alpha):
    run = nb_program(NegativeBinomial)
    want = stats.nbinom.logpmf(Y, alpha, alpha / (alpha + MU)).sum()
    # scipy's own log-Gamma difference loses about 1e-16 alpha log alpha (1e-9 at 1e6): rtol 1e-9
    np.testing.assert_allclose(run(MU, alpha)[0], want, rtol=1e-9)


@pytest.mark.parametrize("alpha", [0.5, 99.0, 100.0, 1e3, 1e6, 1e8, 1e9, 5e9, POISSON_LIMIT])
def test_below_the_switch_is_accurate_to_rounding(alpha):
    """Where scipy itself is off (it gives -15.44 at 1e12, -48 at 1e16), against the cancellation-free sum."""
    run = nb_program(NegativeBinomial)
    want = sum(reference_logp(y, MU, alpha) for y in Y)
    np.testing.assert_allclose(run(MU, alpha)[0], want, rtol=1e-13)
    assert negativebinomial_logp_grad(1e6, 50.0, alpha)[0] == pytest.approx(reference_logp(1e6, 50.0, alpha),
                                                                            rel=1e-12)


@pytest.mark.parametrize("alpha", [np.nextafter(POISSON_LIMIT, np.inf), 1e12, 1e14, 1e15, 1e16, 1e300])
def test_above_the_switch_is_the_poisson(alpha):
    run = nb_program(NegativeBinomial)
    logp, (d_mu, d_alpha) = run(MU, alpha)
    np.testing.assert_allclose(logp, stats.poisson.logpmf(Y, MU).sum(), rtol=1e-14)
    np.testing.assert_allclose(d_mu, np.sum(Y / MU - 1.0), rtol=1e-14)
    assert d_alpha == 0.0


def test_continuous_at_the_switch():
    run = nb_program(NegativeBinomial)
    below, (d_mu_below, _) = run(MU, POISSON_LIMIT)  # the last alpha of the negative binomial
    above, (d_mu_above, d_alpha) = run(MU, np.nextafter(POISSON_LIMIT, np.inf))
    assert d_alpha == 0.0
    # they differ by about sum((y - mu)^2 - y) / (2 alpha) = 2.7e-9 against a logp of -15.4
    assert abs(below - above) / abs(above) < 1e-9
    assert abs(d_mu_below - d_mu_above) / abs(d_mu_above) < 1e-9


@pytest.mark.parametrize("alpha", [0.5, 50.0, 100.0, 1e3, 1e6, 1e9, 9.9e9, 1.1e10, 1e12, 1e16])
def test_gradient_matches_finite_differences(alpha):
    """In (mu, log alpha), the coordinates a sampler moves in: d/dlog alpha = alpha d/dalpha is about
    -sum((y - mu)^2 - y) / (2 alpha), so atol 1e-10 keeps the check meaningful up to alpha ~ 1e9; the step
    1e-4 in log alpha keeps the rounding of logp (1e-15) below 1e-12 in the estimate and stays on one side
    of the switch."""
    run = nb_program(NegativeBinomial)

    def f(x):
        return run(x[0], math.exp(x[1]))[0]

    x = np.array([MU, math.log(alpha)])
    d_mu, d_alpha = run(MU, alpha)[1]
    assert_grad_close(f, np.array([d_mu, alpha * d_alpha]), x, rtol=1e-5, atol=1e-10, eps=1e-4)


@pytest.mark.parametrize("alpha", [1e12, 1e16])
def test_zero_inflated_shares_the_switch(alpha):
    psi = 0.7
    mu, a = Placeholder((), "mu"), Placeholder((), "alpha")
    program = Program([ZeroInflatedNegativeBinomial.dist(psi, mu=mu, alpha=a).logp(Constant(Y))], [mu, a])
    logp, (d_mu, d_alpha) = program.value_and_grad([np.array([MU]), np.array([alpha])])
    count = np.log(psi) + stats.poisson.logpmf(Y, MU)
    want = np.where(Y == 0, np.logaddexp(np.log1p(-psi), count), count).sum()
    np.testing.assert_allclose(logp[0], want, rtol=1e-14)
    np.testing.assert_array_equal(d_alpha, 0.0)
    assert np.isfinite(d_mu[0])
