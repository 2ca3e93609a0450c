"""How right the variational fits are: each fit of ``bench_models.MODELS`` against long NUTS runs.

Usage
-----
::

    python scripts/bench_vi.py [NAME ...]

For every model (default: all) and every fit below, one JSON line: ``model``, ``fit``, ``seconds`` (the
fit alone, after a first fit that compiled the kernels), ``max_mean_error_sd`` (the largest
|mean under q - posterior mean| / posterior sd over every element of every free variable, constrained,
from 20,000 draws of q), ``max_log_sd_ratio`` (the largest |log(sd under q / posterior sd)|), ``steps``
(``len(approx.hist)``: L-BFGS iterations or optimizer steps) and ``khat`` (``nbvi.psis_diagnostic``, 1,000
draws). The posterior means and sds are ``tests/data/reference_posteriors.json`` (4 x 20,000 NUTS draws,
``reference_posteriors.py``; the mixture's components sorted by mu in every draw, as there).

The fits: ``advi`` and ``fullrank_advi`` with no other argument (the default: deterministic ADVI to
convergence), and ``advi_pymc`` = ``nbvi.fit(10_000, method="advi")`` (PyMC's default algorithm:
10,000 steps of adagrad_window). Seed 1 for every fit.
"""
import json
import os
import sys
import time
import warnings

import bench_models
import numpy as np

import nbvi

REFERENCE = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "reference_posteriors.json")
FITS = {"advi": {"method": "advi"}, "fullrank_advi": {"method": "fullrank_advi"},
        "advi_pymc": {"n": 10_000, "method": "advi"}}
DRAWS = 20_000


def errors(model, name, approx, reference):
    """(max |mean error| / sd, max |log sd ratio|) over every element of every free variable."""
    values = model.unravel(approx.draw(DRAWS, np.random.default_rng(5)))
    if name == "mixture":
        order = np.argsort(values["mu"], axis=1)
        values = {k: np.take_along_axis(v, order, axis=1) if k in ("mu", "w", "sigma") else v
                  for k, v in values.items()}
    mean_errors, sd_ratios = [], []
    for var, ref in reference.items():
        flat = values[var].reshape(DRAWS, -1)
        mean_errors.append(np.abs(flat.mean(axis=0) - ref["mean"]) / ref["sd"])
        sd_ratios.append(np.abs(np.log(flat.std(axis=0) / ref["sd"])))
    return float(np.max(np.concatenate(mean_errors))), float(np.max(np.concatenate(sd_ratios)))


def run(name, fit, reference):
    options = FITS[fit]
    model = bench_models.MODELS[name]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nbvi.fit(**options, model=model, random_seed=0, progressbar=False)  # compiles what the fit needs
        start = time.perf_counter()
        approx = nbvi.fit(**options, model=model, random_seed=1, progressbar=False)
        seconds = time.perf_counter() - start
        khat = nbvi.psis_diagnostic(approx, draws=1000, random_seed=2).khat
    mean_error, log_sd_ratio = errors(model, name, approx, reference)
    return {"model": name, "fit": fit, "seconds": round(seconds, 4), "max_mean_error_sd": round(mean_error, 3),
            "max_log_sd_ratio": round(log_sd_ratio, 3), "steps": len(approx.hist), "khat": round(float(khat), 2)}


def main(names):
    with open(REFERENCE) as f:
        references = json.load(f)
    for name in names or list(bench_models.MODELS):
        for fit in FITS:
            print(json.dumps(run(name, fit, references[name]["variables"])), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
