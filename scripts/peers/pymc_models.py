"""The models of ``bench_models.py`` in PyMC 6.4, sampled with NUTS by PyMC (numba backend) or nutpie.

Run with a Python that has PyMC and nutpie (PyMC 6 needs Python >= 3.12; nbvi is not needed)::

    python scripts/peers/pymc_models.py --sampler pymc [NAME ...]
    python scripts/peers/pymc_models.py --sampler nutpie [NAME ...]

Each model has the same data (``bench_data.py``, imported by path) and the same priors and
parameterisation as its nbvi version; ``MODELS`` maps a name to a function returning a ``pm.Model``.
Per model: 2 chains x 2000 draws after 1000 tuning steps, ``random_seed`` 42, one core (chains run one
after the other), no progress bar; one JSON line on stdout.

* ``total_s``: model construction, compilation and sampling, end to end.
* ``compile_s``, ``sampling_s``: for PyMC, ``sampling_s`` is PyMC's own clock
  (``posterior.attrs["sampling_time"]``) and ``compile_s`` the rest of ``pm.sample`` (building and
  compiling the log-density and its gradient, initialisation); for nutpie, ``compile_s`` is
  ``nutpie.compile_pymc_model`` and ``sampling_s`` is ``nutpie.sample``.
* ``min_ess_bulk``: the smallest ArviZ bulk ESS over every scalar element of every free variable
  (constrained values; deterministics left out); ``ess_per_s`` = ``min_ess_bulk / total_s``.
* ``divergences``: divergent transitions after tuning, both chains.

Notes
-----
Compile times depend on pytensor's on-disk cache (``pytensor.config.compiledir``), which holds the numba
code of the graphs it has compiled before: a second run of the same model compiles faster than the first.
The mixture's weights are Dirichlet(1, 1) on PyMC's simplex transform (nbvi uses stick-breaking): the same
posterior on another unconstrained space, so the samplers do not see the same geometry there.
"""
import argparse
import importlib.util
import json
import os
import sys
import time

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("bench_data", os.path.join(_HERE, os.pardir, "bench_data.py"))
bench_data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_data)

RANDOM_SEED = 42
DRAWS, TUNE, CHAINS = 2000, 1000, 2


def ar5():
    """AR(5) on 200 points: rho ~ Normal(0, 1) (5), sigma ~ HalfNormal(1); mean of y[t] from the 5 lags."""
    import pymc as pm

    y = bench_data.ar5_data()
    p, n = 5, y.size
    with pm.Model() as model:
        rho = pm.Normal("rho", 0.0, 1.0, shape=p)
        sigma = pm.HalfNormal("sigma", 1.0)
        mu = sum(rho[k] * y[p - k - 1:n - k - 1] for k in range(p))
        pm.Normal("y", mu, sigma, observed=y[p:])
    return model


def log_earnings():
    """Log earnings on height, male and height x male, 1,192 rows, predictors not standardised."""
    import pymc as pm

    height, male, log_earn = bench_data.log_earnings_data()
    with pm.Model() as model:
        a = pm.Normal("a", 0.0, 10.0)
        b_height = pm.Normal("b_height", 0.0, 10.0)
        b_male = pm.Normal("b_male", 0.0, 10.0)
        b_inter = pm.Normal("b_inter", 0.0, 10.0)
        sigma = pm.HalfNormal("sigma", 2.0)
        mu = a + b_height * height + b_male * male + b_inter * height * male
        pm.Normal("log_earn", mu, sigma, observed=log_earn)
    return model


def eight_schools_centered():
    """Eight schools, centred: theta ~ Normal(mu, tau) (8), mu ~ Normal(0, 5), tau ~ HalfCauchy(5)."""
    import pymc as pm

    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 5.0)
        tau = pm.HalfCauchy("tau", 5.0)
        theta = pm.Normal("theta", mu, tau, shape=8)
        pm.Normal("y", theta, bench_data.EIGHT_SCHOOLS_SIGMA, observed=bench_data.EIGHT_SCHOOLS_Y)
    return model


def eight_schools_noncentered():
    """Eight schools, non-centred: theta = mu + tau eta with eta ~ Normal(0, 1) (8)."""
    import pymc as pm

    with pm.Model() as model:
        mu = pm.Normal("mu", 0.0, 5.0)
        tau = pm.HalfCauchy("tau", 5.0)
        eta = pm.Normal("eta", 0.0, 1.0, shape=8)
        theta = pm.Deterministic("theta", mu + tau * eta)
        pm.Normal("y", theta, bench_data.EIGHT_SCHOOLS_SIGMA, observed=bench_data.EIGHT_SCHOOLS_Y)
    return model


def gp():
    """GP regression on 11 points: squared-exponential kernel, y ~ MvNormal(0, eta^2 k(ell) + sigma^2 I)."""
    import pymc as pm
    import pytensor.tensor as pt

    x, sq_dist, y = bench_data.gp_data()
    with pm.Model() as model:
        ell = pm.Gamma("ell", alpha=2.0, beta=1.0)
        eta = pm.HalfNormal("eta", 2.0)
        sigma = pm.HalfNormal("sigma", 1.0)
        K = eta ** 2 * pt.exp(-0.5 * sq_dist / ell ** 2) + sigma ** 2 * np.eye(x.size)
        pm.MvNormal("y", mu=np.zeros(x.size), cov=K, observed=y)
    return model


def kid_iq():
    """Kid's score on mom_hs, mom_iq (unstandardised) and their interaction, 434 rows."""
    import pymc as pm

    mom_hs, mom_iq, kid_score = bench_data.kid_iq_data()
    priors = {"a": 100.0, "b_hs": 100.0, "b_iq": 10.0, "b_inter": 10.0}  # bench_models.KID_IQ_PRIORS
    with pm.Model() as model:
        a, b_hs, b_iq, b_inter = (pm.Normal(name, 0.0, scale) for name, scale in priors.items())
        sigma = pm.HalfCauchy("sigma", 5.0)  # bench_models.KID_IQ_SIGMA_BETA
        mu = a + b_hs * mom_hs + b_iq * mom_iq + b_inter * mom_hs * mom_iq
        pm.Normal("kid_score", mu, sigma, observed=kid_score)
    return model


def mixture():
    """Two-component Gaussian mixture on 1,000 points: w ~ Dirichlet(1, 1), mu, sigma per component."""
    import pymc as pm

    y = bench_data.mixture_data()
    with pm.Model() as model:
        w = pm.Dirichlet("w", a=np.ones(2))
        mu = pm.Normal("mu", 0.0, 10.0, shape=2)  # bench_models.MIXTURE_MU_SIGMA
        sigma = pm.HalfNormal("sigma", 2.0, shape=2)  # bench_models.MIXTURE_SIGMA_SIGMA
        pm.NormalMixture("y", w=w, mu=mu, sigma=sigma, observed=y)
    return model


def linreg():
    """Bayesian linear regression, 100 x 5: y ~ Normal(alpha + X beta, sigma)."""
    import pymc as pm

    X, y = bench_data.linreg_data()
    with pm.Model() as model:
        alpha = pm.Normal("alpha", 0.0, 10.0)
        beta = pm.Normal("beta", 0.0, 10.0, shape=X.shape[1])
        sigma = pm.HalfNormal("sigma", 1.0)
        pm.Normal("y", alpha + pm.math.dot(X, beta), sigma, observed=y)
    return model


def hierarchical():
    """Radon-like varying intercepts, 919 rows in 85 counties: y ~ Normal(a[county] + b floor, sigma)."""
    import pymc as pm

    county, floor, log_radon = bench_data.radon_data()
    with pm.Model() as model:
        mu_a = pm.Normal("mu_a", 0.0, 10.0)
        sigma_a = pm.Exponential("sigma_a", 1.0)
        a = pm.Normal("a", mu_a, sigma_a, shape=85)
        b = pm.Normal("b", 0.0, 10.0)
        sigma_y = pm.Exponential("sigma_y", 1.0)
        pm.Normal("y", a[county] + b * floor, sigma_y, observed=log_radon)
    return model


def logistic():
    """Logistic regression, 1,000 x 10: y ~ Bernoulli(logit_p = alpha + X beta)."""
    import pymc as pm

    X, y = bench_data.logistic_data()
    with pm.Model() as model:
        alpha = pm.Normal("alpha", 0.0, 2.5)
        beta = pm.Normal("beta", 0.0, 2.5, shape=X.shape[1])
        pm.Bernoulli("y", logit_p=alpha + pm.math.dot(X, beta), observed=y)
    return model


def poisson_glm():
    """Poisson GLM with log link, 500 rows, 3 predictors: y ~ Poisson(exp(alpha + X beta))."""
    import pymc as pm

    X, y = bench_data.poisson_data()
    with pm.Model() as model:
        alpha = pm.Normal("alpha", 0.0, 5.0)
        beta = pm.Normal("beta", 0.0, 1.0, shape=X.shape[1])
        pm.Poisson("y", pm.math.exp(alpha + pm.math.dot(X, beta)), observed=y)
    return model


MODELS = {f.__name__: f for f in (ar5, log_earnings, eight_schools_centered, eight_schools_noncentered, gp,
                                  kid_iq, mixture, linreg, hierarchical, logistic, poisson_glm)}


def min_ess_bulk(posterior, names):
    """Smallest ArviZ bulk ESS over the scalar elements of the variables ``names`` of ``posterior``."""
    import arviz

    ess = arviz.ess(posterior, var_names=list(names), method="bulk")
    return float(min(np.min(np.asarray(ess[name])) for name in names))


def _posterior(result):
    """The posterior group (a Dataset with chain and draw dimensions) of a DataTree or InferenceData."""
    return result["posterior"] if not hasattr(result, "posterior") else result.posterior


def _divergences(result):
    stats = result["sample_stats"] if not hasattr(result, "sample_stats") else result.sample_stats
    return int(np.asarray(stats["diverging"]).sum())


def run_pymc(name):
    """NUTS by PyMC on the numba backend; returns the JSON fields.

    ``nuts_sampler="pymc"`` is explicit: PyMC 6 hands NUTS to nutpie by default when nutpie is installed.
    """
    import pymc as pm

    start = time.perf_counter()
    model = MODELS[name]()
    with model:
        result = pm.sample(DRAWS, tune=TUNE, chains=CHAINS, cores=1, random_seed=RANDOM_SEED, progressbar=False,
                           compute_convergence_checks=False, backend="numba", nuts_sampler="pymc")
    total = time.perf_counter() - start
    posterior = _posterior(result)
    sampling = float(posterior.attrs["sampling_time"])
    free = [rv.name for rv in model.free_RVs]
    return {"compile_s": total - sampling, "sampling_s": sampling, "total_s": total,
            "min_ess_bulk": min_ess_bulk(posterior, free), "divergences": _divergences(result)}


def run_nutpie(name):
    """NUTS by nutpie on the numba backend; returns the JSON fields."""
    import nutpie

    start = time.perf_counter()
    model = MODELS[name]()
    compiled = nutpie.compile_pymc_model(model, backend="numba")
    compiled_at = time.perf_counter()
    result = nutpie.sample(compiled, draws=DRAWS, tune=TUNE, chains=CHAINS, cores=1, seed=RANDOM_SEED,
                           progress_bar=False)
    end = time.perf_counter()
    free = [rv.name for rv in model.free_RVs]
    return {"compile_s": compiled_at - start, "sampling_s": end - compiled_at, "total_s": end - start,
            "min_ess_bulk": min_ess_bulk(_posterior(result), free), "divergences": _divergences(result)}


def system_name(sampler):
    import pymc
    import pytensor

    if sampler == "nutpie":
        import nutpie

        return f"nutpie {nutpie.__version__} (pymc {pymc.__version__}, numba)"
    return f"pymc {pymc.__version__} pytensor {pytensor.__version__} numba"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sampler", choices=("pymc", "nutpie"), required=True)
    parser.add_argument("names", nargs="*", help="models to run (default: all)")
    args = parser.parse_args(argv)
    names = args.names or list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        parser.error(f"unknown models {unknown}; choose from {list(MODELS)}")
    run = run_nutpie if args.sampler == "nutpie" else run_pymc
    system = system_name(args.sampler)
    for name in names:
        fields = run(name)
        line = {"model": name, "system": system, **fields, "ess_per_s": fields["min_ess_bulk"] / fields["total_s"]}
        order = ("model", "system", "total_s", "compile_s", "sampling_s", "min_ess_bulk", "ess_per_s",
                 "divergences")
        print(json.dumps({k: round(line[k], 4) if isinstance(line[k], float) else line[k] for k in order}),
              flush=True)


if __name__ == "__main__":
    sys.exit(main())
