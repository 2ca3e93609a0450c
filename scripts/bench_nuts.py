"""NUTS side by side: nbvi, PyMC (numba backend) and nutpie on the small models of ``bench_models.py``.

Usage
-----
::

    python scripts/bench_nuts.py [NAME ...]
    python scripts/bench_nuts.py --peers /work/venv312/bin/python [NAME ...]

NAME selects models of ``bench_models.MODELS`` (default: all). Each model is sampled with 2 chains x 2000
draws after 1000 tuning steps, seed 42, chains one after the other on one core, and gives one JSON line:

* ``model``, ``system``;
* ``total_s``: end to end, model construction and compilation included;
* ``compile_s``: for nbvi, building the model and a throwaway ``nbvi.sample(5, tune=5, chains=1)`` on it
  (planning, numba compilation or cache load, first calls); for the peers see
  ``peers/pymc_models.py`` (PyMC: ``pm.sample`` less its own sampling clock; nutpie:
  ``nutpie.compile_pymc_model``);
* ``sampling_s``: the real run, ``nbvi.sample(2000, tune=1000, chains=2, random_seed=42)``;
* ``min_ess_bulk``: the smallest bulk ESS over every scalar element of every free variable (constrained
  values, deterministics left out), from ``nbvi.effective_sample_size`` for nbvi and ``arviz.ess`` for
  the peers (the same rank-normalised split-chain estimator);
* ``ess_per_s``: ``min_ess_bulk / total_s``;
* ``divergences``: divergent transitions after tuning, both chains.

With ``--peers PYTHON`` the script then runs ``peers/pymc_models.py --sampler pymc`` and ``--sampler
nutpie`` on the same models as subprocesses of PYTHON (a Python >= 3.12 with ``pymc`` and ``nutpie``,
e.g. a virtualenv made with ``python3.12 -m venv /work/venv312 && /work/venv312/bin/pip install
pymc==6.4.0 nutpie``), echoes their lines, and ends with one line per model with ``"summary": true``
and the ratios nbvi / peer of ``total_s``, ``sampling_s`` and ``ess_per_s`` (``total_s_vs_pymc`` < 1:
nbvi is faster end to end; ``ess_per_s_vs_pymc`` > 1: nbvi gives more effective draws per second).
The peers' log (PyMC's progress messages and warnings) goes to stderr.

Notes
-----
* All three compile to machine code through numba and keep what they compiled on disk (numba's
  ``cache=True`` files for nbvi, pytensor's compile directory for PyMC and nutpie): ``compile_s`` and
  ``total_s`` of a model run for the first time on a machine are much larger than on later runs.
* One core per system: PyMC's ``cores=1`` samples the chains sequentially, nutpie's ``cores=1`` uses one
  thread; nbvi samples its chains one after the other. Nothing else should run meanwhile.
* The runs are single samples with one seed: ``min_ess_bulk`` varies from seed to seed (by tens of per
  cent on the small models), and so does ``ess_per_s``. The mixture's components can swap labels between
  chains, which makes its ESS tiny for whichever system it happens to.
* The three samplers do not draw the same chains: their warm-up schedules, initialisation and random
  streams differ, and the mixture's weights live on a different unconstrained space in PyMC (simplex
  transform) than in nbvi (stick-breaking).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import bench_models
import numpy as np

import nbvi

RANDOM_SEED = 42
DRAWS, TUNE, CHAINS = 2000, 1000, 2
FIELDS = ("model", "system", "total_s", "compile_s", "sampling_s", "min_ess_bulk", "ess_per_s", "divergences")
PEERS_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers", "pymc_models.py")


def min_ess_bulk(trace, model):
    """Smallest bulk ESS over the scalar elements of the model's free variables."""
    chains = [np.flatnonzero(trace.chain == c) for c in range(trace.n_chains)]
    smallest = np.inf
    for rv in model.free_RVs:
        draws = np.asarray(trace[rv.name], dtype=np.float64)
        by_chain = np.stack([draws[idx] for idx in chains])  # (chains, draws, *shape)
        for element in np.ndindex(*draws.shape[1:]):
            x = by_chain[(slice(None), slice(None)) + element]
            smallest = min(smallest, nbvi.effective_sample_size(x, method="bulk"))
    return float(smallest)


def run_nbvi(name):
    """The JSON line of nbvi's NUTS on one model."""
    start = time.perf_counter()
    model = bench_models.MODELS[name]()
    nbvi.sample(5, tune=5, chains=1, random_seed=0, model=model, progressbar=False)  # compile or cache load
    compiled = time.perf_counter()
    trace = nbvi.sample(DRAWS, tune=TUNE, chains=CHAINS, random_seed=RANDOM_SEED, model=model, progressbar=False)
    end = time.perf_counter()
    ess = min_ess_bulk(trace, model)
    return line(model=name, system=f"nbvi {getattr(nbvi, '__version__', '')}".strip(), total_s=end - start,
                compile_s=compiled - start, sampling_s=end - compiled, min_ess_bulk=ess,
                ess_per_s=ess / (end - start), divergences=int(trace.sample_stats["diverging"].sum()))


def line(**fields):
    return {k: round(fields[k], 4) if isinstance(fields[k], float) else fields[k] for k in FIELDS}


def emit(record):
    print(json.dumps(record), flush=True)


def run_peer(python, sampler, names):
    """Run ``peers/pymc_models.py --sampler SAMPLER`` under ``python``; echo and return its JSON lines."""
    records = []
    proc = subprocess.Popen([python, PEERS_SCRIPT, "--sampler", sampler, *names], stdout=subprocess.PIPE,
                            text=True)
    for text in proc.stdout:
        text = text.strip()
        if text.startswith("{"):
            record = json.loads(text)
            records.append(record)
            emit(record)
    if proc.wait():
        print(f"bench_nuts: {sampler} peer exited with status {proc.returncode}", file=sys.stderr)
    return {r["model"]: r for r in records}


def summary(name, ours, peers):
    """nbvi / peer ratios of total_s, sampling_s and ess_per_s for one model."""
    out = {"model": name, "summary": True}
    for peer, records in peers.items():
        theirs = records.get(name)
        if theirs is None:
            continue
        for key in ("total_s", "sampling_s", "ess_per_s"):
            out[f"{key}_vs_{peer}"] = round(ours[key] / theirs[key], 3) if theirs[key] else None
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", metavar="PYTHON", help="a Python with pymc and nutpie: run them too")
    parser.add_argument("names", nargs="*", help="models to run (default: all)")
    args = parser.parse_args(argv)
    names = args.names or list(bench_models.MODELS)
    unknown = [n for n in names if n not in bench_models.MODELS]
    if unknown:
        parser.error(f"unknown models {unknown}; choose from {list(bench_models.MODELS)}")
    ours = {}
    for name in names:
        ours[name] = run_nbvi(name)
        emit(ours[name])
    if not args.peers:
        return 0
    peers = {sampler: run_peer(args.peers, sampler, names) for sampler in ("pymc", "nutpie")}
    for name in names:
        emit(summary(name, ours[name], peers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
