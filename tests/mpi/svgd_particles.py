"""The SVGD fits that tests/mpi/test_mpi_svgd.py compares: run by ``mpiexec -n 2 python svgd_particles.py OUT``
(each rank writes OUT/rank<r>.npz) and imported by the test, which runs ``fits()`` in its own process for the
1-process result.

Every rank builds the same model from all the data, so SVGD splits its 11 particles over the ranks (6 and 5:
uneven). A model whose rows are sharded with total_size stays data-parallel (recorded as ``sharded.mode``).
"""
import os
import sys

import numpy as np

import nbvi

ROWS = 40
N_PARTICLES = 11
STEPS = 30


def normal_model():
    y = np.random.default_rng(0).normal(1.0, 0.5, size=ROWS)
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 10.0)
        sigma = nbvi.HalfNormal("sigma", 1.0)
        nbvi.Normal("y", mu, sigma, observed=y)
    return model, y


def mode(inference):
    """0: one process or data-parallel; 1: particle-parallel."""
    return int(getattr(inference, "_particles", None) is not None)


def fits():
    """{name: array}: each fit's particles and losses (the same numbers on every rank)."""
    out = {}
    model, y = normal_model()
    optimizers = {"sgd": nbvi.sgd(learning_rate=0.003), "adam": nbvi.adam(learning_rate=0.05)}
    with model:
        for name, optimizer in optimizers.items():
            inference = nbvi.SVGD(n_particles=N_PARTICLES, random_seed=7)
            approx = inference.fit(STEPS, obj_optimizer=optimizer, progressbar=False)
            out[f"{name}.particles"] = approx.histogram.copy()
            out[f"{name}.hist"] = np.asarray(approx.hist)
            out[f"{name}.mode"] = np.array([mode(inference)])
        # fit(20) + refine(10) with a callback (it sees every particle): the same as fit(30)
        seen = []
        inference = nbvi.SVGD(n_particles=N_PARTICLES, random_seed=7)
        inference.fit(20, obj_optimizer=nbvi.adam(learning_rate=0.05), progressbar=False,
                      callbacks=[lambda approx, losses, i: seen.append(approx.histogram.sum())])
        approx = inference.refine(10, progressbar=False)
        out["refined.particles"] = approx.histogram.copy()
        out["refined.hist"] = np.asarray(approx.hist)
        out["refined.seen"] = np.array(seen)
        # nbvi.fit(method="svgd") takes the same path
        approx = nbvi.fit(STEPS, method="svgd", random_seed=8, inf_kwargs={"n_particles": N_PARTICLES},
                          obj_optimizer=nbvi.adam(learning_rate=0.05), progressbar=False)
        out["fit.particles"] = approx.histogram.copy()
        out["fit.hist"] = np.asarray(approx.hist)
        # a gradient clipped by its norm over all particles: not split (data-parallel), the same fit
        inference = nbvi.SVGD(n_particles=N_PARTICLES, random_seed=7)
        approx = inference.fit(STEPS, obj_optimizer=nbvi.adam(learning_rate=0.05), progressbar=False,
                               total_grad_norm_constraint=50.0)
        out["clipped.particles"] = approx.histogram.copy()
        out["clipped.hist"] = np.asarray(approx.hist)
        out["clipped.mode"] = np.array([mode(inference)])
        # a step too large: every rank fails at the same step, keeps the last finite particles (all of them)
        inference = nbvi.SVGD(n_particles=N_PARTICLES, random_seed=7)
        try:
            inference.fit(STEPS, obj_optimizer=nbvi.sgd(learning_rate=0.05), progressbar=False)
            out["diverged.hist"] = np.array([np.nan])
        except FloatingPointError:
            out["diverged.particles"] = inference.approx.histogram.copy()
            out["diverged.hist"] = np.asarray(inference.approx.hist)
    with nbvi.Model():  # shards with total_size: data-parallel, as before
        mu = nbvi.Normal("mu", 0.0, 10.0)
        nbvi.Normal("y", mu, 0.5, observed=nbvi.mpi.shard(y), total_size=ROWS)
        inference = nbvi.SVGD(n_particles=N_PARTICLES, random_seed=9)
        approx = inference.fit(STEPS, obj_optimizer=nbvi.sgd(learning_rate=0.003), progressbar=False)
        out["sharded.particles"] = approx.histogram.copy()
        out["sharded.hist"] = np.asarray(approx.hist)
        out["sharded.mode"] = np.array([mode(inference)])
    return out


if __name__ == "__main__":
    results = fits()
    results["rank"] = np.array([nbvi.mpi.rank(), nbvi.mpi.size()])
    np.savez(os.path.join(sys.argv[1], f"rank{nbvi.mpi.rank()}.npz"), **results)
