"""Data-parallel fits over MPI ranks (optional: ``pip install "nbvi[mpi]"`` brings mpi4py and MPICH).

Run the same script on K ranks (``mpiexec -n K python fit.py``, ``srun python fit.py``). Each rank builds the
same model from its own shard of the observed rows, with ``total_size`` the full row count::

    y_local = nbvi.mpi.shard(y)                       # this rank's rows of an array every rank has
    with nbvi.Model():
        ...
        nbvi.Normal("y", mu, sigma, observed=y_local, total_size=len(y))
        approx = nbvi.fit()                           # every rank returns the same approximation

``nbvi.fit`` then sums the log-density and its gradient over the ranks: one allreduce per step (per L-BFGS
evaluation for the default deterministic fit), every rank drawing the same noise from the same seed, so
every rank takes the same steps. ``import nbvi`` does not import mpi4py; this module imports it only when
the process was started by an MPI launcher (or the script imported mpi4py itself). ``NBVI_MPI=0`` turns the
reduction off: each rank then fits its own model alone.

The reduction, and why it is exact
----------------------------------
The log-density of rank k is ``logp_k = prior + s_k S_k``: ``prior`` holds every term that is the same on all
ranks (the free variables' priors, the Jacobians of their transforms, Potentials, observed variables without
``total_size``), ``S_k`` is the sum of the log-likelihood over the rank's rows and ``s_k = N / n_k`` is the
``total_size`` scale of a shard of n_k rows: like a minibatch, a shard stands for all N rows. Each rank
multiplies its log-density and gradient by the weight

    w_k = (1 / s_k) / sum_j (1 / s_j)   ( = n_k / N when the shards partition the N rows)

and the allreduce sums them::

    sum_k w_k logp_k = prior * sum_k w_k + sum_k w_k s_k S_k = prior + (N / sum_j n_j) sum_k S_k

The weights sum to 1, so the prior counts once; every row counts once, with the scale that ``total_size``
gives the concatenated rows in one process (1 when the shards hold all N rows). That is the 1-rank
log-density of the full data, whatever the shard sizes, up to the rounding of the weights and the order of
the sums (about 1e-16 relative per evaluation). A model without ``total_size`` anywhere has w_k = 1 / K:
all its terms are the same on every rank. The same weighting holds a rank's minibatch: the batch of b rows
drawn from its n_k has scale N / b, and w_k (N / b) = n_k / b is that rank's unbiased estimate of its shard.

:func:`DataParallel.check` refuses (ValueError, on every rank) what this cannot sum exactly: ranks with
different models, observed data without ``total_size`` that differs between ranks (a shard that forgot
``total_size``), and several variables with ``total_size`` split over the ranks in different proportions.

Particle-parallel SVGD
----------------------
When every rank holds the same model and data (no shards), ``SVGD.fit`` splits the particles instead:
:func:`particle_parallel` decides with one allgather of :func:`_fingerprint` (identical models: a
:class:`ParticleParallel`; shards: a :class:`DataParallel`, as for ADVI). Rank r owns a contiguous block of
the particles, evaluates the density at those only, and one allgather per step gives every rank all positions,
scores and log-densities.

NUTS chains across ranks
------------------------
``nbvi.sample(chains=K)`` under ``mpiexec -n R`` is chain parallelism, not data parallelism: every rank holds
the whole model and data, runs chains c = rank, rank + R, ... (each seeded as in one process), and an
allgather gives every rank every chain. :func:`same_model` refuses (ValueError, on every rank) ranks whose
models or data differ, e.g. shards with ``total_size``.
"""
import hashlib
import os
import sys
import warnings

import numpy as np

__all__ = ["DataParallel", "NotDistributedError", "ParticleParallel", "allreduce_sum", "comm", "data_parallel",
           "is_distributed", "particle_parallel", "rank", "refuse_distributed", "same_model", "shard", "shard_rows",
           "size", "split_rows"]

# variables an MPI launcher sets in the processes it starts (MPICH/Hydra and Slurm's PMI, Open MPI, MVAPICH)
_LAUNCHER_SIZE = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE", "MPI_LOCALNRANKS")
_LAUNCHER_RANK = ("PMI_RANK", "PMIX_RANK", "OMPI_COMM_WORLD_RANK")

_comm = None  # MPI.COMM_WORLD once found
_warned = False


def _launched_by_mpi():
    """Whether an MPI launcher started this process (its environment says so); importing mpi4py is not needed."""
    for name in _LAUNCHER_SIZE:
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value) > 1
    return any(name in os.environ for name in _LAUNCHER_RANK)


def comm():
    """``MPI.COMM_WORLD``, or None when this process is not one of several MPI ranks: not started by an MPI
    launcher (and mpi4py not imported by the script), ``NBVI_MPI=0``, or mpi4py not installed (with a
    warning when a launcher did start several processes)."""
    global _comm, _warned
    if os.environ.get("NBVI_MPI", "") == "0":
        return None
    if _comm is not None:
        return _comm
    if not (_launched_by_mpi() or "mpi4py" in sys.modules or os.environ.get("NBVI_MPI", "") == "1"):
        return None
    try:
        from mpi4py import MPI
    except ImportError:
        if not _warned:
            _warned = True
            warnings.warn("this process was started by an MPI launcher, but mpi4py is not installed: each rank "
                          "fits alone (pip install \"nbvi[mpi]\")", RuntimeWarning, stacklevel=3)
        return None
    _comm = MPI.COMM_WORLD
    return _comm


def rank():
    """This process's rank (0 without MPI)."""
    c = comm()
    return c.Get_rank() if c is not None else 0


def size():
    """The number of ranks (1 without MPI)."""
    c = comm()
    return c.Get_size() if c is not None else 1


def is_distributed():
    """True when this process is one of several MPI ranks (``mpiexec -n K``, K > 1): ``nbvi.fit`` then sums
    the log-density over the ranks."""
    return size() > 1


class NotDistributedError(RuntimeError):
    """A function that does not sum over MPI ranks was called under ``mpiexec`` with several ranks: each rank
    would work on its own shard alone, which is not what the script means."""


def refuse_distributed(what, why):
    """Raise :class:`NotDistributedError` for ``what`` (a function's name) when several ranks run, saying
    ``why``; nothing otherwise."""
    if is_distributed():
        raise NotDistributedError(f"{what} under mpiexec with {size()} ranks: {why} (docs/hpc.md)")


def shard_rows(n_rows):
    """``(start, stop)``: this rank's rows of ``n_rows``, split as evenly as possible (the first ``n_rows % K``
    ranks hold one more), for data that each rank loads itself (e.g. ``np.load(path, mmap_mode="r")[start:stop]``).
    """
    n_rows = int(n_rows)
    k, r = size(), rank()
    if n_rows < k:
        raise ValueError(f"cannot split {n_rows} rows over {k} ranks: every rank needs at least one row")
    base, extra = divmod(n_rows, k)
    start = r * base + min(r, extra)
    return start, start + base + (r < extra)


def shard(array):
    """This rank's rows (along axis 0) of an array every rank has; the whole array without MPI."""
    start, stop = shard_rows(len(array))
    return array[start:stop]


def allreduce_sum(buffer):
    """Sum a float64 array over the ranks, in place; returns it."""
    c = comm()
    if c is not None and c.Get_size() > 1:
        from mpi4py import MPI

        c.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
    return buffer


def data_parallel(model):
    """A :class:`DataParallel` summing ``model``'s density over the ranks (its checks run now, on every rank:
    a collective call), or None when not distributed."""
    return DataParallel(model, comm()) if is_distributed() else None


class DataParallel:
    """``logp_dlogp`` of a model summed over the ranks with each rank's weight (see the module's docstring).

    Parameters
    ----------
    model : Model
        This rank's model (the same model on every rank, built from this rank's shard).
    communicator : mpi4py communicator
    """

    def __init__(self, model, communicator, every=None):
        self.model, self.comm = model, communicator
        self.rank, self.size = communicator.Get_rank(), communicator.Get_size()
        self.weight = self.check(every)

    def logp_dlogp(self, theta):
        """(sum_k w_k logp_k (D,), sum_k w_k grad_k (D, ndim)): one allreduce of D (ndim + 1) numbers."""
        logp, grad = self.model.logp_dlogp(theta)
        draws, ndim = grad.shape
        buffer = np.empty(draws * (ndim + 1))
        np.multiply(grad.reshape(-1), self.weight, out=buffer[:draws * ndim])
        np.multiply(logp, self.weight, out=buffer[draws * ndim:])
        allreduce_sum(buffer)
        return buffer[draws * ndim:], buffer[:draws * ndim].reshape(draws, ndim)

    # -- the checks, and the weight ----------------------------------------------------------------------
    def check(self, every=None):
        """This rank's weight w_k, after one allgather of what each rank holds (``every``: the ranks'
        :func:`_summary`, when already gathered); ValueError (on every rank) when the ranks' log-densities
        cannot be summed exactly."""
        if every is None:
            every = self.comm.allgather(_summary(self.model))
        names = {tuple(sorted(s["observed"])) for s in every}
        if len({s["ndim"] for s in every}) > 1 or len(names) > 1:
            raise ValueError(f"the ranks built different models (free dimensions {[s['ndim'] for s in every]}, "
                             f"observed variables {sorted(names)}): every rank must build the same model from "
                             f"its own shard of the data")
        observed = every[0]["observed"]
        for name in sorted(observed):
            if observed[name][0] is None and len({s["observed"][name][1] for s in every}) > 1:
                raise ValueError(f"observed variable '{name}' differs between the ranks but has no total_size: "
                                 f"a shard stands for all the rows, so pass total_size=<the full row count>")
        # 1 / s_k of each variable with total_size, per rank; one weight per rank must serve them all
        inverse = [[s["observed"][name][0] for name in sorted(observed) if observed[name][0] is not None]
                   for s in every]
        scaled = [name for name in sorted(observed) if observed[name][0] is not None]
        if not scaled:
            return 1.0 / self.size
        totals = [sum(row[v] for row in inverse) for v in range(len(scaled))]
        shares = np.array([[row[v] / totals[v] for v in range(len(scaled))] for row in inverse])
        if not np.allclose(shares, shares[:, :1], rtol=1e-12, atol=0.0):
            raise ValueError(f"the observed variables {scaled} are split over the ranks in different proportions "
                             f"(shares of each rank: {shares.round(6).tolist()}): one allreduce sums them exactly "
                             f"only when every variable with total_size has the same share on each rank (e.g. "
                             f"shard arrays of the same length, or use nbvi.mpi.shard_rows of one count)")
        return float(shares[self.rank, 0])


def _summary(model):
    """What this rank holds: ndim and, per observed variable, (1 / s_k, or None without total_size, and a
    digest of its data)."""
    from nbvi.data import Minibatch
    from nbvi.graph.node import Leaf

    observed = {}
    for rv in model.observed_RVs:
        node = rv.observed
        if isinstance(node, Minibatch):
            value = node.shared.get_value()
        elif isinstance(node, Leaf) and node.value() is not None:
            value = node.value()[0]
        else:
            value = np.asarray(node.eval())
        scale = getattr(rv, "scale", None)
        if scale is None:
            digest = hashlib.blake2b(np.ascontiguousarray(value).reshape(-1).view(np.uint8), digest_size=16).hexdigest()
            observed[rv.name] = (None, (value.shape, str(value.dtype), digest))
        else:
            observed[rv.name] = (1.0 / scale(value.shape), None)
    return {"ndim": int(model.ndim), "observed": observed}


# -- particle-parallel SVGD ---------------------------------------------------------------------------------------
def split_rows(n_rows, parts):
    """[(start, stop)] of each of ``parts`` contiguous blocks of ``n_rows`` (the first ``n_rows % parts`` one
    longer): the split of :func:`shard_rows`, for every rank at once."""
    base, extra = divmod(int(n_rows), int(parts))
    starts = [r * base + min(r, extra) for r in range(parts + 1)]
    return list(zip(starts[:-1], starts[1:]))


def particle_parallel(model, n_particles, split=True):
    """How ``SVGD.fit`` runs over the ranks, decided with one allgather (a collective call): a
    :class:`ParticleParallel` when every rank holds the same model and data (the :func:`same_model`
    fingerprint) and ``split`` allows it, else a :class:`DataParallel` (shards with ``total_size``: the
    density is summed over the ranks, every rank moves all particles); None when not distributed.

    ``split`` is False where splitting would change the fit (a gradient clipped by its total norm over all
    particles); fewer particles than ranks are not split either.
    """
    if not is_distributed():
        return None
    communicator = comm()
    every = communicator.allgather(_fingerprint(model))
    if split and not _differences(every) and int(n_particles) >= communicator.Get_size():
        return ParticleParallel(communicator, int(n_particles))
    return DataParallel(model, communicator, every=[p["summary"] for p in every])


class ParticleParallel:
    """The particles of SVGD split over the ranks: rank r owns rows ``start:stop`` (:func:`split_rows`).

    Parameters
    ----------
    communicator : mpi4py communicator
    n_particles : int
        At least the number of ranks.
    """

    def __init__(self, communicator, n_particles):
        self.comm = communicator
        self.rank, self.size = communicator.Get_rank(), communicator.Get_size()
        self.n_particles = int(n_particles)
        self.blocks = split_rows(self.n_particles, self.size)
        self.start, self.stop = self.blocks[self.rank]

    def allgather_rows(self, mine, out):
        """Every rank's rows of an (n_particles, c) float64 array: this rank's ``mine`` (stop - start, c) in,
        all of them in ``out`` (n_particles, c), in rank order (one ``Allgatherv``)."""
        from mpi4py import MPI

        columns = out.shape[1]
        counts = [(stop - start) * columns for start, stop in self.blocks]
        displacements = [start * columns for start, _ in self.blocks]
        self.comm.Allgatherv(np.ascontiguousarray(mine, dtype=np.float64),
                             [out, counts, displacements, MPI.DOUBLE])
        return out


# -- chains across ranks (nbvi.sample) --------------------------------------------------------------------------
def same_model(model, communicator, call, shared=None):
    """Check, with one allgather, that every rank holds the same model and data and made the same ``call`` (a
    picklable summary of the arguments, compared with ==); ValueError on every rank otherwise. Returns rank 0's
    ``shared`` (e.g. its seeds: the same on every rank afterwards).

    For chain parallelism (``nbvi.sample``): each rank runs some of the chains of one model, so the ranks must
    not hold shards. The model is compared through :func:`_summary` (free dimensions, each observed variable's
    data or its ``total_size`` scale), its free variables' names and shapes, and log p and its gradient at two
    fixed points, which also tell apart data that is not observed (covariates, priors' parameters).
    """
    every = communicator.allgather({"model": _fingerprint(model), "call": call, "shared": shared})
    differs = _differences([s["model"] for s in every])
    if differs:
        raise ValueError(f"nbvi.sample across ranks needs the same model and data on every rank ({'; '.join(differs)} "
                         f"differ between the ranks); data-parallel NUTS is not available: sample in one process or "
                         f"give every rank all the data (docs/hpc.md)")
    if any(s["call"] != every[0]["call"] for s in every):
        raise ValueError("nbvi.sample across ranks needs the same arguments on every rank (draws, tune, chains, "
                         "random_seed, target_accept, init, max_treedepth, start)")
    return every[0]["shared"]


def _fingerprint(model):
    """What :func:`same_model` compares: the summary, the free variables' (name, shape) and log p with its
    gradient at the initial point and at a fixed point near it (or the error they raise: every rank must reach
    the allgather)."""
    layout = [(rv.name, tuple(ushape)) for rv, _, ushape in model.variable_layout()]
    base = model.initial_point_flat()
    points = np.stack([base, base + 0.5 * np.cos(np.arange(base.size))])
    try:
        logp, grad = model.logp_dlogp(points)
        probe = np.concatenate([np.asarray(logp, dtype=np.float64).reshape(-1), np.asarray(grad).reshape(-1)])
    except Exception as err:  # noqa: BLE001 (reported as a difference, or raised later by the sampler itself)
        probe = f"{type(err).__name__}: {err}"
    return {"summary": _summary(model), "layout": layout, "probe": probe}


def _differences(prints):
    """What differs between the ranks' fingerprints, in words (empty when nothing does)."""
    first, differs = prints[0], []
    if any(p["layout"] != first["layout"] or p["summary"]["ndim"] != first["summary"]["ndim"] for p in prints):
        differs.append(f"free variables {sorted({str(p['layout']) for p in prints})}")
    names = sorted(first["summary"]["observed"])
    if any(sorted(p["summary"]["observed"]) != names for p in prints):
        differs.append(f"observed variables {sorted({str(sorted(p['summary']['observed'])) for p in prints})}")
    else:
        for name in names:
            if any(p["summary"]["observed"][name] != first["summary"]["observed"][name] for p in prints):
                differs.append(f"observed '{name}' (its data or total_size)")
    if not differs and not all(_same_probe(p["probe"], first["probe"]) for p in prints):
        differs.append("the log-density at a test point (data that is not observed, or the priors?)")
    return differs


def _same_probe(a, b):
    """Equal log-densities and gradients (to 1e-12 relative, so that a reduction's rounding is no difference)."""
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-12, atol=0.0, equal_nan=True)
