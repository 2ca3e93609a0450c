"""``nbvi.sample``: NUTS chains with Stan's warm-up, returned as a :class:`~nbvi.trace.Trace`.

Each chain: start from the model's initial point plus Uniform(-1, 1) jitter in unconstrained space
(PyMC's ``init="jitter+adapt_diag"`` or ``"jitter+adapt_full"``), find a first step size (Stan's
heuristic), run ``tune`` warm-up transitions that adapt the step size and the diagonal or dense metric
(``adaptation.py``), then ``draws`` transitions with both frozen (``nuts.py``). Chains run one after the other, each with its own
``numpy.random.Generator`` spawned from ``random_seed``, so a seed gives the same draws every time. PyMC's ADVI
inits start the chains at draws from a mean-field ADVI fit, with its variances as the metric (``advi_init.py``).

After sampling, PyMC's convergence checks: a RuntimeWarning when the largest rank-normalised split R-hat of the
free variables exceeds 1.01, or their smallest bulk ESS is under 100 per chain (``diagnostics.py``).

Under ``mpiexec -n R`` the chains run across the ranks: chain c on rank c % R, seeded as in one process, then
one allgather gives every rank every chain, so every rank returns the trace of one process (bit for bit).
"""
import pickle
import warnings
from collections.abc import Mapping

import numpy as np

from nbvi import arguments, mpi
from nbvi.graph.evaluate import Program
from nbvi.graph.node import Leaf
from nbvi.inference_data import idata_request
from nbvi.interrupts import deferred_interrupt
from nbvi.model import modelcontext, pymc_name, value_from_pymc_name
from nbvi.optimize import refuse_minibatches
from nbvi.progress import ProgressBar
from nbvi.sampling.adaptation import (
    DualAverageState,
    adaptation_windows,
    dense_metric,
    dual_average_final,
    dual_average_init,
    dual_average_update,
    find_reasonable_step_size,
    regularized_covariance,
    regularized_variance,
)
from nbvi.sampling.advi_init import ADVI_INITS, advi_start
from nbvi.sampling.diagnostics import ess_bulk, rhat
from nbvi.sampling.nuts import NUTSState, kernel_inv_mass, make_workspace, transition
from nbvi.trace import Trace

__all__ = ["SamplingError", "sample"]

INITS = ("auto", "jitter+adapt_diag", "adapt_diag", "jitter+adapt_full", "adapt_full") + ADVI_INITS
NUTS_OPTIONS = ("target_accept", "max_treedepth")  # the keys of ``nuts=`` (PyMC's NUTS options nbvi has)
SAMPLERS = ("pymc", "nbvi")  # values of nuts_sampler: both mean nbvi's own NUTS
OTHER_SAMPLERS = ("nutpie", "numpyro", "blackjax")  # PyMC's external samplers, not called by nbvi
RHAT_MAX = 1.01  # PyMC's convergence checks: largest R-hat, smallest bulk ESS per chain, fewest draws per chain
ESS_PER_CHAIN_MIN = 100
CHECK_MIN_DRAWS = 100
DENSE_MAX_NDIM = 16  # init="auto" may turn to a dense metric up to this many unconstrained parameters,
DENSE_MIN_CONDITION = 40.0  # after a window (not the first) whose correlations have a larger condition number
STAT_COLUMNS = ("step_size", "lp", "tree_depth", "n_steps", "diverging", "energy", "energy_error",
                "mean_tree_accept")  # (the columns of nbvi.compiled.trajectory's statistics, in this order)
STAT_DTYPES = {"step_size": np.float64, "tree_depth": np.int64, "n_steps": np.int64, "diverging": bool,
               "energy": np.float64, "energy_error": np.float64, "mean_tree_accept": np.float64,
               "lp": np.float64}


class SamplingError(ValueError):
    """The sampler cannot start or go on (e.g. the log-density is not finite at the initial point)."""


def sample(draws=1000, tune=1000, chains=2, random_seed=None, target_accept=None, init="auto",
           progressbar=True, model=None, max_treedepth=None, start=None, return_inferencedata=False, idata_kwargs=None,
           cores=None, initvals=None, discard_tuned_samples=True, compute_convergence_checks=True,
           nuts_sampler="pymc", step=None, nuts=None, keep_warning_stat=False):
    """Draw from the posterior with the No-U-Turn Sampler, as ``pm.sample`` does.

    Parameters
    ----------
    draws : int
        Draws kept per chain, after warm-up.
    tune : int
        Warm-up transitions per chain (adapting step size and metric); discarded unless
        ``discard_tuned_samples=False``.
    chains : int
    random_seed : int, sequence of int, numpy Generator, RandomState, SeedSequence or None
        One seed for all chains (each chain gets a child of ``np.random.SeedSequence(random_seed)``; a
        Generator or RandomState gives one seed drawn from it, and moves on), or a
        list of one seed per chain.
    target_accept : float in (0, 1), optional
        Mean acceptance statistic that the step-size adaptation aims for; default 0.8.
    init : str
        Start at the initial point plus Uniform(-1, 1) jitter ("jitter+...": retried up to 10 times when
        the log-density is not finite there), or at the initial point itself; adapt a diagonal metric (the
        posterior variances, "adapt_diag") or a dense one (their covariance, "adapt_full", Stan's
        ``dense_e``). "auto" (jittered) adapts the diagonal metric and turns to the dense one, for good,
        after a metric window (not the first) whose draws are strongly correlated (:func:`wants_dense`;
        models of at most 16 unconstrained parameters): where they are not, it draws exactly what
        "jitter+adapt_diag" draws. docs/nuts.md, section 6, says why.
        PyMC's ADVI inits fit mean-field ADVI first (nbvi's default deterministic fit; ``advi_init.py``) and
        start each chain at one draw from it: "advi" uses its variances as a fixed diagonal metric (only the
        step size is adapted), "advi+adapt_diag" as the first metric of the adapted one, "advi_map" is "advi"
        with ADVI started at the MAP.
    progressbar : bool
    model : Model, optional
        The model of the ``with`` block when None.
    max_treedepth : int, optional
        At most ``2**max_treedepth - 1`` leapfrog steps per transition; default 10.
    start, initvals : dict or list of dict, optional
        {name: constrained value} of free variables (the others at the initial point), or one such dict
        per chain: where the chains start, without jitter (PyMC3's ``start``; ``initvals`` is PyMC's name;
        give one of them). A transformed variable may be given unconstrained under PyMC's name
        (``sigma_log__``). With an ADVI init, one dict: where ADVI starts.
    return_inferencedata : bool
        Return an ``arviz.InferenceData`` (see :meth:`~nbvi.trace.Trace.to_inference_data`) rather than a
        Trace. Needs arviz.
    idata_kwargs : dict, optional
        For the InferenceData: ``log_likelihood`` (True, or a list of observed variable names) adds the
        pointwise log-likelihood group; ``coords`` and ``dims`` add to or replace the model's.
    cores : int, optional
        Taken as PyMC takes it (a positive int), so ported calls run: the chains run one after another in this
        process, each transition a compiled call using numba's threads; to run chains in parallel, run them
        across MPI ranks (docs/hpc.md).
    discard_tuned_samples : bool
        False: each chain's ``tune`` warm-up draws are kept too, before its draws, with the boolean stat
        ``tune`` True for them (the InferenceData puts them in the ``warmup_posterior`` and
        ``warmup_sample_stats`` groups, as PyMC).
    compute_convergence_checks : bool
        After sampling, warn (RuntimeWarning, PyMC's messages) when the rank-normalised split R-hat of some
        free variable exceeds 1.01 or its bulk ESS is under 100 per chain; skipped, as in PyMC, with one
        chain or fewer than 100 draws per chain.
    nuts_sampler : {"pymc", "nbvi"}
        Both mean nbvi's own NUTS; PyMC's external samplers ("nutpie", "numpyro", "blackjax") are a ValueError.
    step : None
        nbvi has NUTS only: any other step method is a TypeError.
    nuts : dict, optional
        PyMC's options of its NUTS step: ``target_accept`` and ``max_treedepth`` (each given here or as a
        keyword, not both).
    keep_warning_stat : bool
        Add the stat ``warning``: for each divergent transition a message (its energy error), else None.

    Returns
    -------
    Trace or InferenceData
        Draws of every free variable and deterministic, chains stacked on the leading axis (chain 0
        first), ``trace.chain`` the chain of each draw, and ``trace.sample_stats``: step_size, tree_depth,
        n_steps, diverging, energy, energy_error, mean_tree_accept (Stan's accept_stat) and lp (and tune,
        warning when asked for).

    Raises
    ------
    ValueError
        The model reads a Minibatch (its log-density is then a one-batch estimate, which NUTS cannot sample),
        an unknown ``init`` or ``nuts_sampler``, an option given twice.

    Notes
    -----
    Under ``mpiexec -n R`` (``nbvi.mpi``), chain c runs on rank c % R and every rank returns the whole trace,
    equal bit for bit to this call in one process (with ``random_seed=None``, rank 0's seeds). Every rank must
    hold the same model and data (no shards: ValueError on every rank) and make the same call. Only rank 0
    shows the bar and warns. The ADVI inits do not run there (ADVI would sum the density over the ranks).
    """
    if cores is not None:
        arguments.integer(cores, "cores", minimum=1)
    model = modelcontext(model)
    _check_sampler(nuts_sampler, step)
    target_accept, max_treedepth = _nuts_options(nuts, target_accept, max_treedepth)
    for name, value in (("draws", draws), ("tune", tune)):
        arguments.integer(value, name)
    arguments.integer(chains, "chains", minimum=1)
    if not 0.0 < arguments.number(target_accept, "target_accept") < 1.0:
        raise ValueError(f"target_accept must lie strictly between 0 and 1, got {target_accept!r}")
    for name, value in (("progressbar", progressbar), ("discard_tuned_samples", discard_tuned_samples),
                        ("compute_convergence_checks", compute_convergence_checks),
                        ("keep_warning_stat", keep_warning_stat)):
        arguments.flag(value, name)
    keep_warmup = not discard_tuned_samples
    if isinstance(random_seed, np.random.RandomState):  # (PyMC takes one: a seed drawn from it, as from a Generator)
        random_seed = int(random_seed.randint(0, 2**63 - 1, dtype=np.int64))
    if not isinstance(random_seed, (list, tuple)):
        arguments.seed(random_seed)
    if isinstance(random_seed, np.random.Generator):  # the chains' seeds drawn from it (it moves on)
        random_seed = int(random_seed.integers(2**63))
    _check_init(init)
    max_treedepth = arguments.integer(max_treedepth, "max_treedepth", minimum=1)
    idata_kwargs = idata_request(return_inferencedata, idata_kwargs)
    if not model.free_RVs or model.ndim == 0:
        raise ValueError("the model has no free variables: there is nothing to sample")
    refuse_minibatches(model, "nbvi.sample", why="that changes with every batch, and NUTS needs the full-data "
                       "density (its draws would be biased)", remedy="sample a model built on the full data "
                       "(nbvi.Data), or fit this one with ADVI (nbvi.fit)")
    draws, tune, chains = int(draws), int(tune), int(chains)
    if isinstance(random_seed, (list, tuple)):
        if len(random_seed) != chains:
            raise ValueError(f"random_seed has {len(random_seed)} seeds for {chains} chains")
        seeds = [np.random.SeedSequence(arguments.seed(s, f"random_seed[{i}]")) for i, s in enumerate(random_seed)]
    elif isinstance(random_seed, np.random.SeedSequence):
        seeds = random_seed.spawn(chains)
    else:
        seeds = np.random.SeedSequence(random_seed).spawn(chains)
    if initvals is not None and start is not None:
        raise ValueError("initvals and start are both given: initvals is PyMC's name for start; give one")
    where = "start" if initvals is None else "initvals"
    start = start if initvals is None else initvals
    advi = init in ADVI_INITS
    if advi and isinstance(start, (list, tuple)):
        raise ValueError(f"init={init!r} starts the chains at draws from ADVI: {where} may be one dict (where ADVI "
                         f"starts), not one per chain")
    starts = list(start) if isinstance(start, (list, tuple)) else [start] * chains
    if len(starts) != chains:
        raise ValueError(f"{where} has {len(starts)} points for {chains} chains")
    for point in starts:
        if point is not None and not isinstance(point, dict):
            raise TypeError(f"{where} must be a dict {{name: value}} or a list of them (one per chain), got {point!r}")
        known = {rv.name for rv in model.free_RVs} | {pymc_name(rv) for rv in model.free_RVs}  # (sigma_log__)
        unknown = sorted(set(point or ()) - known)
        if unknown:
            raise ValueError(f"{where} has values for {unknown}, which are not free variables of the model "
                             f"(those are {[rv.name for rv in model.free_RVs]})")
    starts = [None if s is None else _start_point(model, s, where) for s in starts]
    communicator = _chain_communicator()
    if advi and communicator is not None:
        raise ValueError(f"init={init!r} does not run under mpiexec with several ranks (ADVI would sum the "
                         f"density over the ranks): fit ADVI in one process and pass its draws as initvals")
    mine = range(chains)  # the chains this process runs
    if communicator is not None:  # chains across ranks: chain c on rank c % R, seeded as in one process
        call = (draws, tune, chains, target_accept, init, max_treedepth, keep_warmup,
                None if random_seed is None else [(s.entropy, s.spawn_key) for s in seeds],
                [None if s is None else s.tolist() for s in starts])
        seeds = mpi.same_model(model, communicator, call, shared=seeds)  # (rank 0's seeds when random_seed=None)
        mine = range(communicator.Get_rank(), chains, communicator.Get_size())
    root = communicator is None or communicator.Get_rank() == 0  # the rank that shows the bar and warns
    inv_metric = None
    if advi:
        points, inv_metric = advi_start(model, init, chains, _advi_seed(seeds[0]), starts[0], progressbar)
        starts = list(points)
    ran, failure = [], None  # (chain, theta, stats) of each chain run here; (chain, error) of one that failed
    with deferred_interrupt() as interrupted:  # Ctrl-C: stop after the transition under way, keep the draws
        for c in mine:
            label = f"NUTS chain {c + 1}/{chains}"
            try:
                with ProgressBar(tune + draws, enabled=progressbar and root, label=label) as bar:
                    theta, chain_stats = run_chain(model, draws, tune, np.random.default_rng(seeds[c]),
                                                   target_accept, init, max_treedepth, bar, starts[c], interrupted,
                                                   inv_metric=inv_metric, keep_warmup=keep_warmup)
            except Exception as err:
                if communicator is None:
                    raise
                failure = (c, err)  # raised on every rank after the gather (the others would wait for it)
                break
            ran.append((c, theta, chain_stats))
            if interrupted():
                break
        stopped = interrupted()
    if communicator is not None:
        ran, stopped = _gather_chains(communicator, ran, stopped, failure)
    thetas = [theta for _, theta, _ in ran]
    stats = [chain_stats for _, _, chain_stats in ran]
    lengths = [len(theta) for theta in thetas]
    if stopped and root:
        warnings.warn(f"sampling interrupted: returning the {sum(lengths)} draws made (per chain: {lengths})",
                      UserWarning, stacklevel=2)
    samples = model.unravel(np.concatenate(thetas)) if sum(lengths) else _empty_samples(model)
    names = [*STAT_DTYPES, *(["tune"] if keep_warmup else [])]
    sample_stats = {k: np.concatenate([s[k] for s in stats]) for k in names}
    chain = np.repeat(np.arange(len(lengths)), lengths)
    kept = ~sample_stats["tune"] if keep_warmup else np.ones(len(chain), dtype=bool)
    n_div = int(sample_stats["diverging"][kept].sum())
    if n_div and root:
        warnings.warn(f"{n_div} divergent transitions after tuning: the draws may be biased. Increase "
                      f"target_accept or reparameterise the model", RuntimeWarning, stacklevel=2)
    if compute_convergence_checks and root:
        free = {rv.name: samples[rv.name][kept] for rv in model.free_RVs}
        for message in convergence_warnings(free, chain[kept]):
            warnings.warn(message, RuntimeWarning, stacklevel=2)
    if keep_warning_stat:
        sample_stats["warning"] = warning_stat(sample_stats)
    trace = Trace(samples, chain=chain, sample_stats=sample_stats)
    return trace if idata_kwargs is None else trace.to_inference_data(model=model, **idata_kwargs)


# -- PyMC's keywords -----------------------------------------------------------------------------------------
def _check_sampler(nuts_sampler, step):
    """TypeError for a ``step`` (nbvi has NUTS only); ValueError for a ``nuts_sampler`` other than nbvi's own."""
    if step is not None:
        raise TypeError(f"step must be None: nbvi.sample runs its own NUTS on every free variable and has no other "
                        f"step methods (got {type(step).__name__})")
    if isinstance(nuts_sampler, str) and nuts_sampler.lower() in OTHER_SAMPLERS:
        raise ValueError(f"nuts_sampler={nuts_sampler!r}: nbvi runs its own NUTS and does not call {nuts_sampler}; "
                         f"leave nuts_sampler out (or pass 'pymc' or 'nbvi')")
    if nuts_sampler not in SAMPLERS:
        raise ValueError(f"nuts_sampler must be one of {SAMPLERS} (both nbvi's own NUTS), got {nuts_sampler!r}")


def _nuts_options(nuts, target_accept, max_treedepth):
    """(target_accept, max_treedepth) from the keywords and PyMC's ``nuts`` dict (defaults 0.8 and 10);
    TypeError for an unknown key of ``nuts``, ValueError for an option given in both places."""
    options = {}
    if nuts is not None:
        if not isinstance(nuts, Mapping):
            raise TypeError(f"nuts must be a dict of NUTS options {list(NUTS_OPTIONS)}, got {type(nuts).__name__}")
        unknown = sorted((str(key) for key in nuts if key not in NUTS_OPTIONS))
        if unknown:
            raise TypeError(f"nuts: unknown options {unknown}; nbvi's NUTS takes {list(NUTS_OPTIONS)}")
        options.update(nuts)
    for name, value in (("target_accept", target_accept), ("max_treedepth", max_treedepth)):
        if value is not None:
            if name in options:
                raise ValueError(f"{name} is given twice, as a keyword and in nuts: give it once")
            options[name] = value
    return options.get("target_accept", 0.8), options.get("max_treedepth", 10)


def _check_init(init):
    """ValueError for an ``init`` not in :data:`INITS`, saying what to use for PyMC's inits nbvi lacks."""
    if init in INITS:
        return
    instead = {"jitter+adapt_diag_grad": " (PyMC's experimental gradient-based adaptation is not in nbvi: use "
                                         "\"jitter+adapt_diag\")",
               "map": " (to start at the MAP, pass initvals=nbvi.find_MAP(include_transformed=False))"}
    hint = instead.get(init, "") if isinstance(init, str) else ""
    raise ValueError(f"init must be one of {INITS}, got {init!r}{hint}")


def _advi_seed(seed):
    """The seed of an ADVI init: a child of chain 0's SeedSequence (independent of chain 0's own stream)."""
    return np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, 0), pool_size=seed.pool_size)


def convergence_warnings(samples, chain):
    """PyMC's convergence messages for draws of the free variables (dict name -> (S, *shape), chain (S,)).

    Like PyMC: nothing with one chain or fewer than :data:`CHECK_MIN_DRAWS` draws per chain (chains are cut to
    the shortest); else a message when the largest rank-normalised split R-hat exceeds :data:`RHAT_MAX`, and
    one when the smallest bulk ESS is under :data:`ESS_PER_CHAIN_MIN` per chain.
    """
    chains = int(chain.max()) + 1 if len(chain) else 0
    per_chain = [np.flatnonzero(chain == c) for c in range(chains)]
    length = min((len(idx) for idx in per_chain), default=0)
    if chains < 2 or length < CHECK_MIN_DRAWS:
        return []
    worst_rhat, worst_ess = (-np.inf, None), (np.inf, None)
    for name, draws in samples.items():
        by_chain = np.stack([np.asarray(draws, dtype=np.float64)[idx[:length]] for idx in per_chain])
        flat = by_chain.reshape(chains, length, -1)
        for k in range(flat.shape[2]):
            label = name if flat.shape[2] == 1 else f"{name}[{k}]"
            r, e = rhat(flat[:, :, k]), ess_bulk(flat[:, :, k])
            if not r <= worst_rhat[0]:  # (NaN counts as the worst)
                worst_rhat = (r, label)
            if not e >= worst_ess[0]:
                worst_ess = (e, label)
    messages = []
    if not worst_rhat[0] <= RHAT_MAX:
        messages.append(f"The rhat statistic is larger than {RHAT_MAX} for some parameters (largest: "
                        f"{worst_rhat[0]:.4f}, {worst_rhat[1]}). This indicates problems during sampling. See "
                        f"https://arxiv.org/abs/1903.08008 for details")
    if not worst_ess[0] >= ESS_PER_CHAIN_MIN * chains:
        messages.append(f"The effective sample size per chain is smaller than {ESS_PER_CHAIN_MIN} for some "
                        f"parameters (smallest bulk ESS: {worst_ess[0]:.0f} over {chains} chains, {worst_ess[1]}). "
                        f"A higher number is needed for reliable rhat and ess computation. See "
                        f"https://arxiv.org/abs/1903.08008 for details")
    return messages


def warning_stat(sample_stats):
    """PyMC's ``warning`` stat: for each divergent transition a message, else None."""
    out = np.full(len(sample_stats["diverging"]), None, dtype=object)
    out[np.asarray(sample_stats["diverging"], dtype=bool)] = ("Divergence: the energy change of a leapfrog step was "
                                                              "too large (over 1000) or not finite")
    return out


# -- chains across MPI ranks -------------------------------------------------------------------------------
def _chain_communicator():
    """The MPI communicator when this process is one of several ranks (``nbvi.mpi``), else None."""
    communicator = mpi.comm()
    return communicator if communicator is not None and communicator.Get_size() > 1 else None


def _gather_chains(communicator, ran, stopped, failure):
    """Every rank's chains on every rank, in chain order, and whether any rank was interrupted (one allgather).
    When a chain failed on some rank, every rank raises the error of the first chain that failed."""
    if failure is not None:
        try:
            pickle.dumps(failure[1])
        except Exception:  # an error that cannot travel: its words do
            failure = (failure[0], RuntimeError(f"{type(failure[1]).__name__}: {failure[1]}"))
    every = communicator.allgather((ran, stopped, failure))
    failures = sorted((f for _, _, f in every if f is not None), key=lambda f: f[0])
    if failures:
        c, err = failures[0]
        raise err if failure is None or failure[0] != c else failure[1]
    ran = sorted((run for runs, _, _ in every for run in runs), key=lambda run: run[0])
    return ran, any(s for _, s, _ in every)



def run_chain(model, draws, tune, rng, target_accept=0.8, init="jitter+adapt_diag", max_treedepth=10,
              bar=None, start=None, interrupted=None, inv_metric=None, keep_warmup=False):
    """One chain: warm-up then sampling. Returns theta (draws, ndim) and a dict of per-draw stats.

    ``start`` (ndim,), when given, is the flat unconstrained starting point (no jitter). ``interrupted``, a
    function, is asked between transitions (and blocks of them); when it says True the chain stops and
    returns the draws made so far. ``inv_metric`` (ndim,), when given, is the first diagonal inverse metric
    (the only one for the inits "advi" and "advi_map"). With ``keep_warmup`` the warm-up draws come first, and
    the stat ``tune`` says which draws they are.
    """
    logp_dlogp = model.logp_dlogp
    jitter, kind = init_options(init)
    state = initial_state(model, rng, jitter=jitter, base=start)
    trajectory = _compiled_trajectory(model)
    ndim = state.q.shape[0]
    metric = np.eye(ndim) if kind == "full" else np.ones(ndim)  # diag(M^-1), or L with M^-1 = L L^T
    if inv_metric is not None:
        metric = np.array(inv_metric, dtype=np.float64).reshape(ndim)
    workspaces = {}  # the trajectory's workspace, by metric.ndim (1: diagonal, 2: dense)
    ws = _workspace(workspaces, metric, max_treedepth)
    inv_mass = kernel_inv_mass(ws, metric)  # what the compiled blocks take
    step_size = find_reasonable_step_size(logp_dlogp, state, 1.0, metric, rng)
    averaging = dual_average_init(step_size)
    windows = adaptation_windows(tune)
    window_start = {stop - 1: start for start, stop in windows}  # last index -> first
    first_window = windows[0][0] if windows else -1
    warmup = np.empty((tune, ndim))
    theta = np.empty((draws, ndim))
    table = np.empty((draws, len(STAT_COLUMNS)))  # each draw's statistics, columns STAT_COLUMNS
    warm_table = np.empty((tune, len(STAT_COLUMNS)))  # the same of each warm-up transition
    randoms = _RandomStream(rng, ndim, ws.n_uniforms)
    blocks = _compiled_draws(model)
    i = 0
    while i < tune + draws and not (interrupted is not None and interrupted()):
        if blocks is not None:  # transitions in compiled blocks, up to where Python must adapt the metric
            if i < tune:  # to the end of warm-up or of the metric window
                stop = min(k + 1 for k in [*window_start, tune - 1] if k >= i)
            else:
                stop = tune + draws
            state, step_size, averaging, lps = _block(blocks, ws, state, step_size, averaging, inv_mass, randoms,
                                                      target_accept, i, min(stop, i + DRAWS_PER_BLOCK), tune, warmup,
                                                      theta, table, warm_table)
            i += len(lps)
            if bar is not None and len(lps):
                bar.update_many(i, -lps)
        else:
            used_step = step_size
            state, info = transition(ws, logp_dlogp, state, step_size, metric, *randoms.next(), trajectory=trajectory)
            randoms.consumed(info.uniforms_used)
            row = (used_step, state.logp, info.tree_depth, info.n_steps, info.diverging, info.energy,
                   info.energy_error, info.accept_stat)
            if i < tune:
                warmup[i], warm_table[i] = state.q, row
                averaging, step_size = dual_average_update(averaging, info.accept_stat, target_accept)
            else:
                table[i - tune], theta[i - tune] = row, state.q
            i += 1
            if bar is not None:
                bar.update(i, -state.logp)  # the "loss" shown is -log p of the current draw
        last = i - 1
        if last < tune and last in window_start and kind != "fixed":  # end of a metric window: a new metric
            window, first = warmup[window_start[last]:last + 1], window_start[last] == first_window
            switch = kind == "auto" and not first and wants_dense(window)  # "auto" turns dense for good
            kind = "full" if switch else kind
            metric = window_metric(window, kind)
            ws = _workspace(workspaces, metric, max_treedepth)
            inv_mass = kernel_inv_mass(ws, metric)
            if first or switch:  # the first metric, or the first dense one: a new step size, averaging restarted
                step_size = find_reasonable_step_size(logp_dlogp, state, step_size, metric, rng)
                averaging = dual_average_init(step_size)
        if last == tune - 1 and tune:
            step_size = dual_average_final(averaging)
    made, warmed = max(0, i - tune), min(i, tune) if keep_warmup else 0
    rows = np.concatenate([warm_table[:warmed], table[:made]])
    stats = {name: rows[:, column].astype(STAT_DTYPES[name]) for column, name in enumerate(STAT_COLUMNS)}
    if keep_warmup:
        stats["tune"] = np.arange(warmed + made) < warmed
    return np.concatenate([warmup[:warmed], theta[:made]]), stats


def init_options(init):
    """(jitter, metric kind) of an ``init`` of :data:`INITS`; the kind is "diag", "full", "auto" or "fixed"
    (the first metric kept: "advi", "advi_map")."""
    if init == "auto":
        return True, "auto"
    if init in ("advi", "advi_map"):
        return False, "fixed"
    return init.startswith("jitter"), "full" if init.endswith("adapt_full") else "diag"


def wants_dense(draws):
    """Whether init="auto" turns to the dense metric after a window of warm-up draws (n, ndim): at most
    :data:`DENSE_MAX_NDIM` parameters, and their correlation matrix R = D^-1/2 C D^-1/2 (C the regularised
    covariance, D its diagonal) has a condition number above :data:`DENSE_MIN_CONDITION`.

    With the diagonal metric a trajectory sees R, and NUTS needs about sqrt(cond(R)) times the leapfrog steps
    that the dense metric needs (docs/nuts.md, section 6).
    """
    if draws.shape[1] > DENSE_MAX_NDIM or not np.all(np.isfinite(draws)):
        return False
    cov = regularized_covariance(draws)
    scale = 1.0 / np.sqrt(np.diag(cov))
    return bool(np.linalg.cond(cov * np.outer(scale, scale)) > DENSE_MIN_CONDITION)


def window_metric(draws, kind):
    """The metric of a window's warm-up draws (n, ndim) for a metric ``kind`` of :func:`init_options`: the
    regularised variances (ndim,) ("diag", "auto"), or the Cholesky factor L (ndim, ndim) of the regularised
    covariance ("full"); SamplingError when not finite."""
    if kind == "full":
        metric = dense_metric(draws)
        if metric is None:
            raise SamplingError("the covariance estimated during warm-up is not finite (or not positive definite)")
        return metric
    metric = regularized_variance(draws)
    if not np.all(np.isfinite(metric)):
        raise SamplingError("the variance estimated during warm-up is not finite")
    return metric


def _workspace(workspaces, metric, max_treedepth):
    """The workspace of ``metric`` (diagonal (ndim,) or dense (ndim, ndim)) from ``workspaces``, made once."""
    if metric.ndim not in workspaces:
        workspaces[metric.ndim] = make_workspace(metric.shape[0], max_treedepth, dense=metric.ndim == 2)
    return workspaces[metric.ndim]


def _compiled_density(model):
    """The model's compiled density, or None (a model that follows only the contract of ARCHITECTURE.md has
    none)."""
    find = getattr(model, "compiled_density", None)
    return find() if find is not None else None


def _compiled_trajectory(model):
    """The model's whole-trajectory entry point (its compiled density's ``nuts_trajectory()``), or None."""
    density = _compiled_density(model)
    return density.nuts_trajectory() if density is not None else None


def _compiled_draws(model):
    """The model's compiled runner of NUTS draws (its compiled density's ``nuts_draws()``), or None."""
    runner = getattr(_compiled_density(model), "nuts_draws", None)
    return runner() if runner is not None else None


DRAWS_PER_BLOCK = 256  # at most this many transitions per compiled call (the progress bar moves between)


def _block(run, ws, state, step_size, averaging, inv_mass, randoms, target_accept, i, stop, tune, warmup, theta,
           table, warm_table):
    """Transitions ``i`` to at most ``stop - 1`` (all of warm-up or all of sampling) in one compiled call of
    ``run`` (a density's ``nuts_draws()``), from the random numbers the loop of :func:`run_chain` would use;
    during warm-up the step size follows the dual averaging after each transition. Returns (state, step size,
    averaging, the log-densities of the transitions made)."""
    warming = i < tune
    rows = warmup[i:stop] if warming else theta[i - tune:stop - tune]
    stats = warm_table[i:stop] if warming else table[i - tune:stop - tune]
    averaged = np.array(averaging[:4], dtype=np.float64) if warming else np.empty(0)
    q, grad = state.q.copy(), state.grad.copy()
    randoms.refill()
    made, randoms.row, randoms.pos, logp, step = run(ws, q, state.logp, grad, step_size, inv_mass, randoms.normals,
                                                     randoms.row, randoms.uniforms, randoms.pos, randoms.need, rows,
                                                     stats, averaged, target_accept)
    if warming:
        averaging = DualAverageState(int(averaged[0]), float(averaged[1]), float(averaged[2]), float(averaged[3]))
        step_size = step
    return NUTSState(q, float(logp), grad), step_size, averaging, stats[:made, 1].copy()


class _RandomStream:
    """Momentum normals and uniforms drawn from ``rng`` in blocks (one call per block, not per transition).

    The uniforms a transition did not use are handed to the next one, so the stream is the same whatever
    the block size; only the draws differ from drawing them one transition at a time.
    """

    def __init__(self, rng, ndim, n_uniforms, block=4096):
        self.rng, self.ndim, self.need, self.block = rng, ndim, n_uniforms, block
        self.normals, self.row = rng.standard_normal((block, ndim)), 0
        self.uniforms, self.pos = rng.random(max(block, 4 * n_uniforms)), 0

    def refill(self):
        """Draw new blocks where the next transition would run out (as :meth:`next` does first)."""
        if self.row == self.block:
            self.normals, self.row = self.rng.standard_normal((self.block, self.ndim)), 0
        if self.pos + self.need > self.uniforms.shape[0]:
            self.uniforms, self.pos = self.rng.random(self.uniforms.shape[0]), 0

    def next(self):
        """(normal (ndim,), uniforms) for one transition."""
        self.refill()
        self.row += 1
        return self.normals[self.row - 1], self.uniforms[self.pos:]

    def consumed(self, n):
        self.pos += n


def _start_point(model, point, where="start"):
    """A chain's ``start`` (values of some free variables, the others at the initial point) as a flat array;
    TypeError or ValueError naming ``where`` (the argument) and the variable. A transformed variable may be
    given unconstrained under PyMC's name ``<name>_<transform>__`` (``sigma_log__``)."""
    full = model.initial_point()
    point = dict(point)
    for rv in getattr(model, "free_RVs", []):
        name = pymc_name(rv)
        if name in point and rv.name not in point:
            point[rv.name] = value_from_pymc_name(rv, point.pop(name), where)[0]
    full.update(point)
    try:
        return model.flat_from_point(full)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{where}: {err}") from None


# -- the starting point ------------------------------------------------------------------------------------
def initial_state(model, rng, jitter=True, retries=10, base=None):
    """The model's initial point, plus Uniform(-1, 1) jitter when ``jitter``, where logp and grad are finite.

    Up to ``retries`` jittered points are tried, then the initial point itself. When none is usable, a
    :class:`SamplingError` names the variables at fault (see :func:`support_report`). A given ``base``
    (ndim,) is used as it is.
    """
    if base is not None:
        jitter = False
    else:
        base = model.initial_point_flat()
    candidates = [base + rng.uniform(-1.0, 1.0, size=base.shape) for _ in range(retries)] if jitter else []
    for q in candidates + [base]:
        logp, grad = model.logp_dlogp(q[None])
        if np.isfinite(logp[0]) and np.all(np.isfinite(grad)):
            return NUTSState(q, float(logp[0]), grad[0].copy())
    tried = f" (and at {retries} jittered points around it)" if jitter else ""
    raise SamplingError(f"NUTS cannot start: the log-density or its gradient is not finite at the initial "
                        f"point {_show(base)}{tried}. {support_report(model, base)}")


def support_report(model, theta):
    """Name the variables whose term makes the log-density or its gradient non-finite at ``theta`` (ndim,).

    Each free variable's constrained value is checked for NaN/inf, then each variable's own log-density
    term (free and observed) is evaluated on its own, and each transform's log-Jacobian; finally the
    gradient is checked slice by slice.
    """
    from nbvi.distributions.distribution import LogpTerm

    values = model.unravel(theta[None])
    xs = [values[rv.name] for rv in model.free_RVs]
    swaps = {rv: rv.observed for rv in model.observed_RVs if not isinstance(rv.observed, Leaf)}
    bad = []
    observed = {id(rv) for rv in model.observed_RVs}  # ids: `in` would compare nodes with ==, an op
    for rv in model.free_RVs + model.observed_RVs:
        kind = "observed " if id(rv) in observed else ""
        node = rv.observed if kind else rv
        x = values[rv.name][0] if not kind else None
        if x is not None and not np.all(np.isfinite(x)):
            bad.append(f"'{rv.name}' has a non-finite value {_show(x)}")
            continue
        term = LogpTerm(rv.dist, getattr(rv, "scale", None))(node, *rv.dist.param_nodes.values())
        try:
            (lp,) = Program([term], list(model.free_RVs), swaps).run(xs)
            lp = float(np.asarray(lp).reshape(-1)[0])
        except (ValueError, FloatingPointError, ZeroDivisionError) as err:
            bad.append(f"{kind}'{rv.name}' (its log-density raised: {err})")
            continue
        if not np.isfinite(lp):
            at = f" at value {_show(x)}" if x is not None else ""
            bad.append(f"{kind}'{rv.name}' has log-density {lp}{at}")
    for rv, where, ushape in model.variable_layout():
        if rv.transform is not None:
            u = theta[where].reshape((1,) + ushape)
            if not np.all(np.isfinite(rv.transform.log_jac_det(u))):
                bad.append(f"'{rv.name}' has a non-finite log-Jacobian of its {type(rv.transform).__name__}")
    if not bad:
        _, grad = model.logp_dlogp(theta[None])
        for rv, where, _ in model.variable_layout():
            if not np.all(np.isfinite(grad[0, where])):
                bad.append(f"'{rv.name}' has a non-finite gradient")
    if not bad:
        return "No single variable is at fault; check the model's parameters and data."
    return "Out of support or undefined: " + "; ".join(bad) + "."


def _show(x):
    x = np.asarray(x)
    return repr(float(x)) if x.ndim == 0 else np.array2string(x, threshold=6, precision=4)


def _empty_samples(model):
    """A trace with no draws: every variable with a leading axis of length 0."""
    values = model.unravel(model.initial_point_flat()[None])
    return {name: value[:0] for name, value in values.items()}
