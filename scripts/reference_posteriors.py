"""Reference posteriors of the benchmark models (``bench_models.MODELS``) from long NUTS runs of nbvi.

Usage
-----
::

    python scripts/reference_posteriors.py [NAME ...]

Each model is sampled with 4 chains x 20,000 draws after 2,000 tuning steps (seed 20261203); the posterior
mean and standard deviation of every element of every free variable (constrained values), the largest
R-hat and the smallest bulk ESS go to ``tests/data/reference_posteriors.json``, which the tests of the
variational fits read (an approximation's error in posterior standard deviations: |mean_q - mean| / sd).

The two-component mixture's labels can swap between chains, so its draws are relabelled first: in every
draw the components are sorted by their mean ``mu`` (and ``w``, ``sigma`` follow). NUTS does not sample the
centred eight schools' funnel reliably (thousands of divergences, R-hat > 1.1), so its reference comes
from the non-centred model, the same posterior: theta = mu + tau * eta draw by draw.
"""
import json
import os
import sys
import warnings

import bench_models
import numpy as np

import nbvi

DRAWS, TUNE, CHAINS, SEED = 20_000, 2_000, 4, 20261203
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "reference_posteriors.json")


def relabel_mixture(values):
    """Sort each draw's components by mu (draws, 2) and reorder w and sigma alike."""
    order = np.argsort(values["mu"], axis=1)
    return {name: np.take_along_axis(v, order, axis=1) if name in ("mu", "w", "sigma") else v
            for name, v in values.items()}


def reference(name):
    model = bench_models.MODELS["eight_schools_noncentered" if name == "eight_schools_centered" else name]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        trace = nbvi.sample(DRAWS, tune=TUNE, chains=CHAINS, random_seed=SEED, progressbar=False, model=model)
    values = {rv.name: np.asarray(trace[rv.name]) for rv in model.free_RVs}
    if name == "mixture":
        values = relabel_mixture(values)
    if name == "eight_schools_centered":
        theta = values["mu"][:, None] + values["tau"][:, None] * values.pop("eta")
        values = {"mu": values["mu"], "tau": values["tau"], "theta": theta}
    summary, worst_rhat, least_ess = {}, 0.0, np.inf
    for var, draws in values.items():
        flat = draws.reshape(draws.shape[0], -1)
        summary[var] = {"shape": list(draws.shape[1:]), "mean": flat.mean(axis=0).tolist(),
                        "sd": flat.std(axis=0, ddof=1).tolist()}
        for column in flat.T:
            chains = column.reshape(CHAINS, DRAWS)
            worst_rhat = max(worst_rhat, float(nbvi.rhat(chains)))
            least_ess = min(least_ess, float(nbvi.effective_sample_size(chains, method="bulk")))
    divergences = int(trace.sample_stats["diverging"].sum())
    return {"variables": summary, "max_rhat": worst_rhat, "min_ess_bulk": least_ess, "divergences": divergences,
            "draws": DRAWS, "chains": CHAINS, "tune": TUNE, "seed": SEED}


def main(names):
    results = {}
    if os.path.exists(OUT):
        with open(OUT) as f:
            results = json.load(f)
    for name in names or list(bench_models.MODELS):
        results[name] = reference(name)
        print(name, {k: results[name][k] for k in ("max_rhat", "min_ess_bulk", "divergences")}, flush=True)
    with open(OUT, "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
