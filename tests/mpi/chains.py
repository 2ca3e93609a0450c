"""The NUTS runs that tests/mpi/test_mpi_chains.py compares: run by ``mpiexec -n 2 python chains.py OUT`` (each
rank writes OUT/rank<r>.npz) and imported by the test, which runs ``runs()`` in its own process for the
1-process traces.

2 ranks run chains=2 (one chain each) and chains=3 (chains 0 and 2 on rank 0, chain 1 on rank 1), and two
chains with the dense metric; every rank returns all the chains. A funnel sampled at a low target_accept diverges, so that its warning (rank 0 only)
can be counted. Then a shard of the data with total_size, which NUTS across ranks refuses. The models are small
so that their kernels compile in seconds (the ranks then load them from numba's cache).
"""
import os
import sys
import warnings

import numpy as np

import nbvi

ROWS = 40
DRAWS, TUNE = 200, 200


def data():
    return np.random.default_rng(0).normal(1.0, 0.5, size=ROWS)


def normal_model(y, total_size=None):
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 10.0)
        sigma = nbvi.HalfNormal("sigma", 1.0)
        nbvi.Normal("y", mu, sigma, observed=y, total_size=total_size)
    return model


def funnel():
    with nbvi.Model() as model:
        v = nbvi.Normal("v", 0.0, 3.0)
        nbvi.Normal("x", 0.0, nbvi.math.exp(v / 2), shape=2)
    return model


def keep(out, name, trace):
    for key in trace.varnames:
        out[f"{name}.{key}"] = np.asarray(trace[key])
    for key, value in trace.sample_stats.items():
        out[f"{name}.stats.{key}"] = np.asarray(value)
    out[f"{name}.chain"] = trace.chain


def runs():
    """{name: array}: the draws, stats and chain of each trace (the same on every rank), the number of
    divergence warnings this process raised, and whether the shard was refused."""
    y = data()
    out = {}
    with normal_model(y):
        for chains in (2, 3):
            keep(out, f"chains{chains}", nbvi.sample(DRAWS, tune=TUNE, chains=chains, random_seed=7,
                                                    progressbar=chains == 3))
        keep(out, "dense", nbvi.sample(DRAWS, tune=TUNE, chains=2, random_seed=5, init="jitter+adapt_full",
                                       progressbar=False))
    with funnel(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        keep(out, "funnel", nbvi.sample(DRAWS, tune=TUNE, chains=2, random_seed=3, target_accept=0.6,
                                        progressbar=False))
    out["funnel.warnings"] = np.array([sum("divergent transitions" in str(w.message) for w in caught)])
    # a shard with total_size: data-parallel NUTS, refused on every rank (one process: the shard is all of y)
    with normal_model(nbvi.mpi.shard(y), total_size=ROWS):
        try:
            nbvi.sample(10, tune=10, chains=2, random_seed=1, progressbar=False)
            out["shard.refused"] = np.array([0])
        except ValueError as err:
            out["shard.refused"] = np.array([int("same model and data on every rank" in str(err))])
    return out


if __name__ == "__main__":
    results = runs()
    results["rank"] = np.array([nbvi.mpi.rank(), nbvi.mpi.size()])
    np.savez(os.path.join(sys.argv[1], f"rank{nbvi.mpi.rank()}.npz"), **results)
