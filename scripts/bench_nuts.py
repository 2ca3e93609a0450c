"""NUTS side by side: nbvi, PyMC (numba backend) and nutpie on the small models of ``bench_models.py``.

Usage
-----
::

    python scripts/bench_nuts.py [NAME ...]
    python scripts/bench_nuts.py --peers /work/venv312/bin/python [NAME ...]
    python scripts/bench_nuts.py --init jitter+adapt_diag --init jitter+adapt_full --seeds 1-6,42 [NAME ...]
    python scripts/bench_nuts.py --step-cost [NAME ...]

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
* ``divergences``: divergent transitions after tuning, both chains;
* ``init`` (nbvi's ``init``, default "auto") and ``steps_per_draw``: the mean number of leapfrog steps of a
  draw after tuning (nbvi only).

``--init`` (repeatable) runs nbvi with each ``init`` in turn on every model, one after the other per model so
that the variants see the same machine; ``--seeds`` runs each with several seeds (default 42; ``1-6,42``).

``--step-cost`` measures instead what a leapfrog step of nbvi's compiled NUTS draws costs with the diagonal
metric (ones) and with the dense one (L = I: the same trajectories), on the models with compiled blocks
of draws: one JSON line per model with ``ns_per_step_diag``, ``ns_per_step_dense`` (medians of 5
alternating runs of 3,000 transitions from the initial point, at half the first step size of Stan's
heuristic) and their ratio.

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
NBVI_FIELDS = FIELDS + ("init", "seed", "steps_per_draw")
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


def run_nbvi(name, init="auto", seed=RANDOM_SEED):
    """The JSON line of nbvi's NUTS on one model."""
    start = time.perf_counter()
    model = bench_models.MODELS[name]()
    nbvi.sample(5, tune=5, chains=1, random_seed=0, model=model, progressbar=False, init=init)  # compile or load
    compiled = time.perf_counter()
    trace = nbvi.sample(DRAWS, tune=TUNE, chains=CHAINS, random_seed=seed, model=model, progressbar=False,
                        init=init)
    end = time.perf_counter()
    ess = min_ess_bulk(trace, model)
    return line(NBVI_FIELDS, model=name, system=f"nbvi {getattr(nbvi, '__version__', '')}".strip(),
                total_s=end - start, compile_s=compiled - start, sampling_s=end - compiled, min_ess_bulk=ess,
                ess_per_s=ess / (end - start), divergences=int(trace.sample_stats["diverging"].sum()), init=init,
                seed=seed, steps_per_draw=float(np.mean(trace.sample_stats["n_steps"])))


def step_cost(name, transitions=3000, repeats=5):
    """The JSON line of ``--step-cost`` for one model, or None when it has no compiled blocks of draws."""
    from nbvi.sampling.adaptation import find_reasonable_step_size
    from nbvi.sampling.nuts import NUTSState, kernel_inv_mass, make_workspace
    from nbvi.sampling.sample import STAT_COLUMNS, _RandomStream

    model = bench_models.MODELS[name]()
    run = getattr(model.compiled_density(), "nuts_draws", lambda: None)()
    if run is None:
        return None
    q0 = model.initial_point_flat()
    logp0, grad0 = model.logp_dlogp(q0[None])
    step = 0.5 * find_reasonable_step_size(model.logp_dlogp, NUTSState(q0, float(logp0[0]), grad0[0]), 1.0,
                                           np.ones(model.ndim), np.random.default_rng(0))

    def ns_per_step(dense, k):
        ws = make_workspace(model.ndim, 10, dense=dense)
        inv_mass = kernel_inv_mass(ws, np.eye(model.ndim) if dense else np.ones(model.ndim))
        randoms = _RandomStream(np.random.default_rng(0), model.ndim, ws.n_uniforms, block=k + 1)
        theta, stats = np.empty((k, model.ndim)), np.empty((k, len(STAT_COLUMNS)))
        start = time.perf_counter()
        made = run(ws, q0.copy(), float(logp0[0]), grad0[0].copy(), step, inv_mass, randoms.normals, 0,
                   randoms.uniforms, 0, randoms.need, theta, stats, np.empty(0), 0.8)[0]
        return (time.perf_counter() - start) / stats[:made, 3].sum() * 1e9

    ns_per_step(False, 10), ns_per_step(True, 10)  # compile or cache load
    times = {False: [], True: []}
    for _ in range(repeats):
        for dense in (False, True):
            times[dense].append(ns_per_step(dense, transitions))
    diag, dense = float(np.median(times[False])), float(np.median(times[True]))
    return {"model": name, "ndim": model.ndim, "ns_per_step_diag": round(diag), "ns_per_step_dense": round(dense),
            "ratio": round(dense / diag, 3)}


def seed_list(text):
    """[1, 2, 3, 7] from "1-3,7"."""
    seeds = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        seeds.extend(range(int(first), int(last or first) + 1))
    return seeds


def line(fields=FIELDS, **values):
    return {k: round(values[k], 4) if isinstance(values[k], float) else values[k] for k in fields}


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
    parser.add_argument("--init", action="append", help="nbvi's init (repeat to compare; default auto)")
    parser.add_argument("--seeds", type=seed_list, default=[RANDOM_SEED],
                        help="random seeds of nbvi's runs: a comma-separated list of seeds and ranges, e.g. 1-20,42")
    parser.add_argument("--step-cost", action="store_true", help="time a leapfrog step, diagonal vs dense metric")
    parser.add_argument("names", nargs="*", help="models to run (default: all)")
    args = parser.parse_args(argv)
    names = args.names or list(bench_models.MODELS)
    unknown = [n for n in names if n not in bench_models.MODELS]
    if unknown:
        parser.error(f"unknown models {unknown}; choose from {list(bench_models.MODELS)}")
    if args.step_cost:
        for name in names:
            record = step_cost(name)
            if record is not None:
                emit(record)
        return 0
    ours = {}
    for name in names:
        for seed in args.seeds:
            for init in args.init or ["auto"]:
                ours[name] = run_nbvi(name, init, seed)
                emit(ours[name])
    if not args.peers:
        return 0
    peers = {sampler: run_peer(args.peers, sampler, names) for sampler in ("pymc", "nutpie")}
    for name in names:
        emit(summary(name, ours[name], peers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
