"""The fits that tests/mpi/test_mpi.py compares: run by ``mpiexec -n 2 python fits.py OUT`` (each rank writes
OUT/rank<r>.npz) and imported by the test, which runs ``fits()`` in its own process for the 1-rank result of
the full data.

The sharded variable takes its rows through ``nbvi.mpi.shard`` (the whole array without MPI), with total_size
the full row count: 101 rows, so the shards of 2 ranks are uneven (51 and 50). The models are small so that
their kernels compile in seconds in a fresh clone (the ranks then load them from numba's cache).
"""
import os
import sys

import numpy as np

import nbvi

ROWS = 101


def data():
    rng = np.random.default_rng(0)
    y = rng.normal(1.0, 0.5, size=ROWS)
    z = rng.normal(3.0, 1.0, size=7)  # observed on every rank (no total_size): counted once
    return y, z


def normal_model(y, z):
    """(The simplest model with a sharded and a replicated observed variable: its kernels compile in seconds.)"""
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 10.0)
        sigma = nbvi.HalfNormal("sigma", 1.0)
        shift = nbvi.Normal("shift", 0.0, 5.0)
        nbvi.Normal("y", mu, sigma, observed=nbvi.mpi.shard(y), total_size=ROWS)
        nbvi.Normal("z", shift, 1.0, observed=z)
    return model


def priors_only():
    with nbvi.Model() as model:
        nbvi.Normal("m", 1.0, 2.0, shape=2)
        nbvi.Gamma("g", 2.0, 3.0)
    return model


def fits():
    """{name: array}: parameters, losses and k-hat of each fit (the same numbers on every rank)."""
    y, z = data()
    out = {"shard_rows": np.array(nbvi.mpi.shard_rows(ROWS))}

    def keep(name, approx):
        out[f"{name}.params"] = approx.params.copy()
        out[f"{name}.hist"] = np.asarray(approx.hist)
        if getattr(approx, "khat", None) is not None:
            out[f"{name}.khat"] = np.array([approx.khat])

    with normal_model(y, z):
        keep("default", nbvi.fit(random_seed=1, progressbar=False))
        keep("adam", nbvi.fit(500, random_seed=2, obj_optimizer=nbvi.adam(learning_rate=0.05), progressbar=False))
        keep("fullrank_default", nbvi.fit(method="fullrank_advi", random_seed=3, progressbar=False))
        keep("svgd", nbvi.fit(100, method="svgd", random_seed=4, inf_kwargs={"n_particles": 10}, progressbar=False))
    # minibatches: each rank draws its rows of its own shard from its own generator, so the ranks agree with
    # each other but not with one process (other rows are drawn); the test checks agreement and the posterior
    with nbvi.Model():
        mu = nbvi.Normal("mu", 0.0, 10.0)
        sigma = nbvi.HalfNormal("sigma", 1.0)
        nbvi.Normal("y", mu, sigma, observed=nbvi.Minibatch(nbvi.mpi.shard(y), batch_size=10), total_size=ROWS)
        keep("minibatch", nbvi.fit(2000, random_seed=7, progressbar=False))
    with priors_only():
        keep("priors", nbvi.fit(500, random_seed=5, obj_optimizer=nbvi.adam(learning_rate=0.05), progressbar=False))
        keep("priors_default", nbvi.fit(random_seed=6, progressbar=False))

    # a shard without total_size: refused on every rank (not on 1 rank, where the shard is all of y)
    with nbvi.Model():
        mu = nbvi.Normal("mu", 0.0, 10.0)
        nbvi.Normal("y", mu, 1.0, observed=nbvi.mpi.shard(y))
        try:
            nbvi.fit(10, progressbar=False)
            out["forgot_total_size.refused"] = np.array([0])
        except ValueError as err:
            out["forgot_total_size.refused"] = np.array([int("has no total_size" in str(err))])
    return out


if __name__ == "__main__":
    results = fits()
    results["rank"] = np.array([nbvi.mpi.rank(), nbvi.mpi.size()])
    np.savez(os.path.join(sys.argv[1], f"rank{nbvi.mpi.rank()}.npz"), **results)
