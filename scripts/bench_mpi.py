"""Data-parallel ADVI steps over MPI ranks (issue 17): a logistic regression whose data every step reads.

    mpiexec -n K python scripts/bench_mpi.py [--rows N] [--steps S] [--cols P]

Defaults: N = 4,000,000 rows, P = 100 columns (X is 3.2 GB of float64), S = 30 timed steps. The model is

    alpha ~ Normal(0, 1),  beta ~ Normal(0, 1) (P,),  y ~ Bernoulli(logit_p = alpha + X beta),  total_size=N

A logistic likelihood has no sufficient statistics, so each ``logp_dlogp`` reads all of this rank's rows. Each
rank generates its own rows (``nbvi.mpi.shard_rows(N)``), block by block from the seed and the block's index,
so the data are the same whatever K is and no rank ever holds the full X.

Every rank runs one numba thread (this script sets ``NUMBA_NUM_THREADS=1`` before numba is imported), so
K = 1 and K = 2 compare compute per core. Timings exclude compilation: a throwaway ``ADVI.fit`` of a few
steps runs first, then a fresh ``ADVI(random_seed=42).fit(S, obj_optimizer=nbvi.adam(0.01))`` is timed
between two barriers. Rank 0 prints one JSON line:

- ``s_per_step``, ``steps_per_s``: the timed fit (the slowest rank's clock; one allreduce per step);
- ``logp_dlogp_s``: seconds of one ``model.logp_dlogp`` on this rank's shard, no communication (median of
  5 calls; the max over ranks), the compute part of a step;
- ``allreduce_us``: microseconds of one ``Allreduce`` of the step's (ndim + 1) float64 buffer, timed alone
  (mean of 2,000 calls between barriers; 0 at K = 1);
- ``peak_rss_gb``: the largest peak resident memory of a rank (``ru_maxrss``); ``explain``: the path
  ``nbvi.explain`` reports for the model (``"tape"``: the compiled tape, whose matrix-vector products read a
  row-major float64 copy of X in its workspace).

Memory: today a rank peaks at about 9 times its shard of X while the model is built (the compiled tape keeps
several copies of X), so the default 4,000,000 rows need about 29 GB on one rank; on a 23 GB machine use
``--rows 2000000`` (14.6 GB at K = 1). Figures and the cost model at K = 16 - 1,024: docs/hpc.md, "Scaling
model".

Parallel efficiency at K ranks is E = t_1 / (K t_K) from the ``s_per_step`` of two runs.
"""
import os

os.environ["NUMBA_NUM_THREADS"] = "1"  # before numba (nbvi) is imported: one core per rank

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import nbvi  # noqa: E402

SEED = 20261203
BLOCK = 65_536  # rows generated from one seed; the data do not depend on K


def true_coefficients(cols):
    """(alpha, beta) that generate y, the same on every rank."""
    rng = np.random.default_rng([SEED, 0])
    return 0.3, rng.normal(0.0, 0.2, size=cols)


def local_rows(rows, cols):
    """This rank's (X, y): rows shard_rows(rows) of the data set, generated block by block, each block from
    its own seed, so that rank k's rows are the rows a single process would generate there."""
    start, stop = nbvi.mpi.shard_rows(rows)
    alpha, beta = true_coefficients(cols)
    X = np.empty((stop - start, cols))
    y = np.empty(stop - start, dtype=np.int64)
    for block in range(start // BLOCK, (stop - 1) // BLOCK + 1):
        lo, hi = block * BLOCK, min((block + 1) * BLOCK, rows)
        rng = np.random.default_rng([SEED, 1, block])
        Xb = rng.standard_normal((hi - lo, cols))
        yb = rng.random(hi - lo) < 1.0 / (1.0 + np.exp(-(alpha + Xb @ beta)))
        a, b = max(lo, start), min(hi, stop)
        X[a - start:b - start] = Xb[a - lo:b - lo]
        y[a - start:b - start] = yb[a - lo:b - lo]
    return X, y


def build_model(X, y, rows):
    with nbvi.Model() as model:
        alpha = nbvi.Normal("alpha", 0.0, 1.0)
        beta = nbvi.Normal("beta", 0.0, 1.0, shape=X.shape[1])
        nbvi.Bernoulli("y", logit_p=alpha + nbvi.math.dot(X, beta), observed=y, total_size=rows)
    return model


def allreduce_us(comm, ndim, calls=2000):
    """Microseconds of one in-place Allreduce (sum) of ndim + 1 float64, as a step does."""
    if comm is None or comm.Get_size() == 1:
        return 0.0
    from mpi4py import MPI

    buffer = np.ones(ndim + 1)
    for _ in range(50):
        comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
    comm.Barrier()
    start = time.perf_counter()
    for _ in range(calls):
        comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
    seconds = time.perf_counter() - start
    return comm.allreduce(seconds, op=MPI.MAX) / calls * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--cols", type=int, default=100)
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    comm = nbvi.mpi.comm()
    k, me = nbvi.mpi.size(), nbvi.mpi.rank()

    def slowest(value):
        return comm.allreduce(value, op=_max()) if comm is not None else value

    start = time.perf_counter()
    X, y = local_rows(args.rows, args.cols)
    generate_s = slowest(time.perf_counter() - start)
    start = time.perf_counter()
    model = build_model(X, y, args.rows)
    del X  # the model keeps its own copy
    theta = np.zeros((1, model.ndim))
    model.logp_dlogp(theta)  # builds (and compiles or loads) the compiled density
    build_s = slowest(time.perf_counter() - start)
    path = nbvi.explain(model).path

    calls = []
    for _ in range(5):
        start = time.perf_counter()
        model.logp_dlogp(theta)
        calls.append(time.perf_counter() - start)
    logp_dlogp_s = slowest(float(np.median(calls)))

    optimizer = nbvi.adam(learning_rate=0.01)
    nbvi.ADVI(model=model, random_seed=0).fit(3, obj_optimizer=optimizer, progressbar=False)  # warm-up
    advi = nbvi.ADVI(model=model, random_seed=42)
    if comm is not None:
        comm.Barrier()
    start = time.perf_counter()
    advi.fit(args.steps, obj_optimizer=nbvi.adam(learning_rate=0.01), progressbar=False)
    if comm is not None:
        comm.Barrier()
    seconds = slowest(time.perf_counter() - start)
    reduce_us = allreduce_us(comm, model.ndim)
    peak_gb = slowest(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6)  # Linux: kB
    if me == 0:
        print(json.dumps({
            "workload": "mpi logistic-advi", "K": k, "N": args.rows, "P": args.cols, "ndim": int(model.ndim),
            "numba_threads": int(os.environ["NUMBA_NUM_THREADS"]), "explain": path, "steps": args.steps,
            "seconds": seconds, "s_per_step": seconds / args.steps, "steps_per_s": args.steps / seconds,
            "logp_dlogp_s": logp_dlogp_s, "ns_per_row": logp_dlogp_s / (args.rows / k) * 1e9,
            "allreduce_us": reduce_us, "generate_s": generate_s, "build_s": build_s, "peak_rss_gb": peak_gb,
            "final_loss": float(advi.hist[-1]), "time": time.strftime("%Y-%m-%d %H:%M:%S")}), flush=True)


def _max():
    from mpi4py import MPI

    return MPI.MAX


if __name__ == "__main__":
    main()
