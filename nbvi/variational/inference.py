"""Inference classes: ADVI, FullRankADVI, LowRankADVI, SVGD, ASVGD, and ``fit``.

Each class is a thin shell over a step function of :mod:`~nbvi.variational.advi` or
:mod:`~nbvi.variational.stein`: it owns the loop, the optimizer state, the callbacks, the progress bar and
the loss history. ``fit(n)`` runs n steps with a fresh optimizer (``obj_optimizer``, or the default:
AdagradWindow, or AveragedAdam for the ELBO of a model with minibatches) and appends the losses to ``hist``; calling it again continues from where the last
fit stopped. ``refine(n)`` continues the last fit with the same optimizer, its state and the same
callbacks (a Tracker keeps recording). ``fit()`` without ``n``, ``obj_optimizer`` and
``total_grad_norm_constraint`` runs deterministic ADVI (:mod:`~nbvi.variational.deterministic`) to
convergence where it applies.
"""
import math
import sys
import warnings

import numpy as np

from nbvi import arguments, mpi
from nbvi.data import BatchSchedule
from nbvi.interrupts import deferred_interrupt
from nbvi.model import modelcontext
from nbvi.progress import ProgressBar
from nbvi.threads import threads_following_load, threads_for
from nbvi.variational import advi, deterministic, stein
from nbvi.variational.approximations import Empirical, FullRank, MeanField
from nbvi.variational.lowrank import LowRank, lowrank_step
from nbvi.variational.optimizers import Optimizer, adagrad_window, averaged_adam

DEFAULT_STEPS = 10_000  # steps of the stochastic optimizer when n is not given (PyMC's default)
DETERMINISTIC_ITERATIONS = 10_000  # the most L-BFGS iterations of a deterministic fit, per start
DETERMINISTIC_STARTS = 4  # a deterministic fit's starts: the current parameters and 3 jittered copies
QUALITY_DRAWS = 1000  # draws of q whose importance ratios judge a converged deterministic fit (PSIS k-hat)


def _start_flat(model, start):
    """A start point (dict of constrained values, or a flat unconstrained array) as a flat array."""
    if model.ndim == 0:  # (a model that follows only the contract of ARCHITECTURE.md has no free_RVs)
        raise ValueError("the model has no free variables: there is nothing to fit")
    if start is None:
        return model.initial_point_flat()
    if isinstance(start, dict):
        unknown = sorted(set(start) - {rv.name for rv in model.free_RVs})
        if unknown:
            raise ValueError(f"start has values for {unknown}, which are not free variables of the model "
                             f"(those are {[rv.name for rv in model.free_RVs]})")
        point = model.initial_point()
        point.update(start)
        try:
            return model.flat_from_point(point)
        except (TypeError, ValueError) as err:
            raise type(err)(f"start: {err}") from None
    flat = arguments.real_array(start, "start (a dict of values or a flat unconstrained array)").astype(np.float64)
    if flat.shape != (model.ndim,):
        raise ValueError(f"start must be a dict of values or an array of shape ({model.ndim},), got {flat.shape}")
    if not np.all(np.isfinite(flat)):
        raise ValueError(f"start contains NaN or inf at positions {np.flatnonzero(~np.isfinite(flat)).tolist()}")
    return flat.copy()


def seeded_approximation(kind, model, random_seed, start, **options):
    """``(kind(model, start=..., random_seed=..., **options), generator)``: the inference's generator from
    ``random_seed``, and a new approximation at ``start`` (a dict of values or a flat array; None: the initial
    point) whose own seed is drawn from that generator, so that ``approx.sample()`` does not replay the
    normals of the first steps."""
    rng = np.random.default_rng(arguments.seed(random_seed))
    return kind(model, start=_start_flat(model, start), random_seed=rng.integers(2**63), **options), rng


class Inference:
    """Base class: the fitting loop around an approximation's step.

    Subclasses set ``self.approx`` and implement ``_step(params, grad) -> loss``, which writes the loss
    gradient with respect to ``approx.params`` into ``grad``.
    """

    uses_stein_force = False  # SVGD and ASVGD: each step also computes the O(draws^2 ndim) Stein force

    def __init__(self, approx, random_seed=None):
        if type(self).fit is not Inference.fit and mpi.is_distributed():
            raise mpi.NotDistributedError(f"{type(self).__name__} does not sum its log-density over MPI ranks: "
                                          f"under mpiexec each rank would fit its own shard alone; run it in one "
                                          f"process, or fit ADVI, full-rank ADVI or SVGD (docs/hpc.md)")
        self.approx = approx
        self.model = approx.model
        self.rng = np.random.default_rng(arguments.seed(random_seed))
        self._last = None  # (optimizer, state, callbacks) of the last fit, for refine
        self._batches = None  # (minibatch ids, BatchSchedule): kept across fits, so fit(a) + fit(b) = fit(a + b)
        # under MPI (nbvi.mpi): the density summed over the ranks, set at the start of every fit and refine
        self._parallel = None
        self._rank_rng = None  # each rank's own generator of minibatch positions within its shard

    def _logp_dlogp(self, theta):
        """The log-density the steps use: the model's, or under MPI its sum over the ranks (docs/hpc.md)."""
        if self._parallel is not None:
            return self._parallel.logp_dlogp(theta)
        return self.model.logp_dlogp(theta)

    def _fused(self):
        """The model's compiled density (the fused kernel or the tape), which runs a whole step in one kernel
        call, or None (a model that follows only the contract of ARCHITECTURE.md has none)."""
        if self._parallel is not None:  # under MPI: self._logp_dlogp, summed over the ranks
            return None
        find = getattr(self.model, "compiled_density", None)
        return find() if find is not None else None

    def _distribute(self, optimizer=None):
        """Sum the density over the MPI ranks in the fit that starts now (a collective call), or not.
        ``optimizer``: the fit's (SVGD decides by it whether to split its particles over the ranks)."""
        self._parallel = mpi.data_parallel(self.model)

    def _optimized_params(self):
        """The array the optimizer moves: ``approx.params`` (this rank's particles under particle-parallel SVGD)."""
        return self.approx.params

    def _synchronize(self):
        """Make ``approx`` whole on every rank after an update (particle-parallel SVGD gathers its particles)."""

    @property
    def hist(self):
        """Loss per step over all fits so far."""
        return self.approx.hist

    def fit(self, n=None, callbacks=None, obj_optimizer=None, progressbar=True, total_grad_norm_constraint=None,
            **kwargs):
        """Fit the approximation, continuing from its current parameters.

        With none of ``n``, ``obj_optimizer`` and ``total_grad_norm_constraint``, mean-field and full-rank ADVI
        of a model without minibatches run deterministic ADVI until it converges
        (:mod:`~nbvi.variational.deterministic`, at most DETERMINISTIC_ITERATIONS L-BFGS iterations); otherwise
        ``n`` steps (10,000 when None) of the stochastic optimizer: PyMC's algorithm, except that without
        ``obj_optimizer`` the ELBO of a model with minibatches is minimised by ``averaged_adam(0.1, n)``, whose
        step size decays and whose average of the second half's iterates is left in ``approx.params`` at the
        end (``hist`` and the callbacks see the iterates; see ``default_optimizer``).

        Parameters
        ----------
        n : int, optional
            Steps of the stochastic optimizer; None: converge (see above).
        callbacks : list of callables ``(approx, losses, i)``
            Called after every step (or iteration); raising StopIteration ends the fit.
        obj_optimizer : Optimizer, optional
            Default: ``adagrad_window()`` (PyMC3's default); for a model with minibatches (ADVI, FullRankADVI,
            LowRankADVI), ``averaged_adam(steps=n)``.
        progressbar : bool
        total_grad_norm_constraint : float > 0, optional
            The stochastic optimizer rescales each step's gradient to a total L2 norm of at most this value
            (its ``max_grad_norm``, PyMC's option of this name); refused when ``obj_optimizer`` has another
            ``max_grad_norm``.
        **kwargs
            Options of the method's step (e.g. ``obj_n_mc`` for ADVI).

        Returns
        -------
        The approximation.
        """
        if n is not None:
            arguments.integer(n, "n")
        callbacks = arguments.functions(callbacks, "callbacks")  # checked before any step moves anything
        arguments.flag(progressbar, "progressbar")
        if obj_optimizer is not None and not isinstance(obj_optimizer, Optimizer):
            raise TypeError(f"obj_optimizer must be an nbvi optimizer (e.g. nbvi.adam()), got {obj_optimizer!r}")
        steps = DEFAULT_STEPS if n is None else n
        optimizer = obj_optimizer if obj_optimizer is not None else self.default_optimizer(steps)
        if total_grad_norm_constraint is not None:
            optimizer = _clipped(optimizer, total_grad_norm_constraint)
        self.set_options(**kwargs)
        self._distribute(optimizer)
        self.approx.khat = None  # (a converged deterministic fit sets it again)
        if n is None and obj_optimizer is None and total_grad_norm_constraint is None \
                and self.converges_deterministically():
            return self._run_deterministic(DETERMINISTIC_ITERATIONS, DETERMINISTIC_STARTS, callbacks, progressbar)
        state = optimizer.init(self._optimized_params().size)
        self._last = (optimizer, state, callbacks)
        return self._run(steps, optimizer, state, self._last[2], progressbar)

    def default_optimizer(self, steps):
        """The optimizer of a stochastic fit of ``steps`` steps without ``obj_optimizer``: for the ELBO of a
        MeanField, FullRank or LowRank approximation of a model with minibatches, ``averaged_adam(0.1, steps)``
        (Adam with a decaying step size and the iterates of the second half averaged: docs/advi.md, "The
        default for minibatch models"); otherwise PyMC's ``adagrad_window()``."""
        find = getattr(self.model, "minibatches", None)
        if (isinstance(self.approx, (MeanField, FullRank, LowRank)) and not self.uses_stein_force
                and find is not None and find()):
            return averaged_adam(steps=steps)
        return adagrad_window()

    def converges_deterministically(self):
        """Whether ``fit()`` without ``n`` and ``obj_optimizer`` runs deterministic ADVI: a MeanField, FullRank
        or LowRank approximation fitted by its ELBO (not the Stein force), of a model without minibatches."""
        find = getattr(self.model, "minibatches", None)
        return (isinstance(self.approx, (MeanField, FullRank, LowRank)) and not self.uses_stein_force
                and not (find is not None and find()))

    def _run_deterministic(self, max_iterations, starts, callbacks, progressbar, draws=None):
        """Deterministic ADVI from the current parameters (on the fixed ``draws`` of the last fit, when
        given): hist gets the loss of each L-BFGS iteration and the callbacks are called after each; a
        StopIteration or Ctrl-C ends the fit at that iterate."""
        offset = len(self.approx.hist)
        losses, done = _LossHistory(sys.maxsize), [0]  # (one array for the callbacks, grown, not copied per call)
        bar = ProgressBar(max_iterations, enabled=progressbar and mpi.rank() == 0,
                          label=f"{type(self).__name__} (deterministic)")
        converged, stopped = False, [False]
        with deferred_interrupt() as interrupted:
            def on_iteration(loss):
                losses.room(done[0])[0] = loss
                done[0] += 1
                bar.update(done[0], loss)
                try:
                    for callback in callbacks:
                        callback(self.approx, losses.values[:done[0]], offset + done[0])
                except StopIteration as stop:
                    if str(stop) and mpi.rank() == 0:
                        print(str(stop), file=sys.stderr)
                    stopped[0] = True
                stopped[0] = stopped[0] or interrupted()
                return stopped[0]

            try:
                _, converged, draws = deterministic.minimise(self.approx, self._logp_dlogp, self.rng,
                                                             max_iterations, starts=starts, on_iteration=on_iteration,
                                                             draws=draws, should_stop=interrupted)
                if draws is not None:
                    self._last = (None, draws, callbacks)  # what refine() goes on with
            finally:
                self.approx.hist = np.concatenate([self.approx.hist, losses.values[:done[0]]])
                stopped[0] = stopped[0] or interrupted()
                bar.close(interrupted=stopped[0], converged=converged)
        if converged and not stopped[0]:
            self.approx.khat = self._pareto_khat(stacklevel=3)
        if not converged and not stopped[0] and mpi.rank() == 0:
            warnings.warn(f"deterministic ADVI did not converge in {done[0]} iterations (its gradient is not ~0 "
                          f"where it stopped: an improper posterior, or a log-density that is not finite near "
                          f"the answer?); refine(n) goes on from here", UserWarning, stacklevel=3)
        return self.approx

    def _pareto_khat(self, stacklevel):
        """The Pareto k-hat of log p - log q over QUALITY_DRAWS draws of the fitted q (nbvi.psis_diagnostic's
        estimate, drawn from this inference's generator), with a PSISWarning above 0.7; NaN where log p - log q
        is not finite at some draw."""
        from nbvi.variational import psis  # (psis imports the approximations, which import nothing of this)

        if self._parallel is not None:  # psis asks the model, which holds this rank's shard only
            theta = self.approx.draw(QUALITY_DRAWS, self.rng)
            log_ratios = self._logp_dlogp(theta)[0] - self.approx.logq(theta)
            if np.isnan(log_ratios).any() or np.isposinf(log_ratios).any() or np.isneginf(log_ratios).all():
                return math.nan
            khat = psis.psis_smooth(log_ratios)[1]
        else:
            try:
                khat = psis.importance_weights(self.approx, QUALITY_DRAWS, self.rng)[1].khat
            except FloatingPointError:
                return math.nan
        if mpi.rank() == 0:
            psis.warn_if_unreliable(khat, self.approx, stacklevel=stacklevel + 1)
        return khat

    def refine(self, n, progressbar=True):
        """Continue the last fit for ``n`` more steps with the same optimizer state and callbacks (after a
        deterministic fit: at most ``n`` more L-BFGS iterations from where it ended)."""
        arguments.integer(n, "n")
        arguments.flag(progressbar, "progressbar")
        if self._last is None:
            raise ValueError("refine() continues a previous fit(); call fit() first")
        self.approx.khat = None
        optimizer, state, callbacks = self._last
        self._distribute(optimizer)
        if optimizer is None:  # after a deterministic fit: at most n more iterations on its draws
            return self._run_deterministic(int(n), 1, callbacks, progressbar, draws=state)
        return self._run(n, optimizer, state, callbacks, progressbar)

    def _batch_schedule(self, minibatches):
        """The schedule of the last fit when it serves the same minibatches (its positions drawn ahead are
        used up first, as one longer fit would), else a new one."""
        key = tuple(id(mb) for mb in minibatches)
        if self._batches is None or self._batches[0] != key:
            self._batches = (key, BatchSchedule(minibatches))
        return self._batches[1]

    def draws_per_step(self):
        """Points at which one step evaluates the model (1 here; obj_n_mc or the particles in subclasses)."""
        return 1

    def work_per_step(self):
        """Elements the kernels of one step loop over (to decide on threads), or None when the model does not
        say (a model that follows only the contract of ARCHITECTURE.md): the model's work at every draw, plus
        the Stein force's draws^2 ndim for the methods that move draws by it."""
        per_draw = getattr(self.model, "work_per_draw", None)
        if per_draw is None:
            return None
        draws = self.draws_per_step()
        stein = draws * draws * self.model.ndim if self.uses_stein_force else 0
        return draws * per_draw() + stein

    def set_options(self, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}.fit() got unexpected options {sorted(kwargs)}")

    def _run(self, n, optimizer, state, callbacks, progressbar):
        n = arguments.integer(n, "n")
        params = self._optimized_params()
        grad = np.zeros_like(params)
        previous = params.copy()
        losses = _LossHistory(n)
        offset = len(self.approx.hist)
        bar = ProgressBar(n, enabled=progressbar and mpi.rank() == 0, label=type(self).__name__)
        done = 0
        step = self._step
        update = optimizer.step
        # minibatches: one new batch per step, drawn before it from this inference's generator (a model that
        # follows only the contract of ARCHITECTURE.md has none)
        find = getattr(self.model, "minibatches", None)
        minibatches = find() if find is not None else []
        schedule = self._batch_schedule(minibatches) if minibatches else None
        draw_batch = schedule.draw if schedule is not None else None
        rng = self.rng
        if self._parallel is not None and schedule is not None:
            # each rank draws its own rows of its shard, from its own generator: the inference's generator
            # must give the same noise on every rank, and the positions it would draw depend on the shard's
            # length
            if self._rank_rng is None:
                self._rank_rng = np.random.default_rng([int(self.rng.integers(2**63)), mpi.rank()])
            rng = self._rank_rng
        # without callbacks a fused model's ADVI runs blocks of steps in one kernel call (same steps, same draws);
        # under MPI every step's density goes through one allreduce, so steps go one at a time
        blocks = self._fused_blocks(optimizer, state, schedule) if not callbacks and self._parallel is None else None
        try:
            with (threads_for(self.work_per_step()), threads_following_load() as follow_load,
                  deferred_interrupt() as interrupted):
                # (one thread when the kernels' work is small; fewer while other processes hold cores; Ctrl-C
                # ends the fit after the step or block under way, with hist and the parameters in step)
                while blocks is not None and done < n and not interrupted():
                    follow_load()
                    drawn, finite = blocks(params, grad, previous, losses.room(done))
                    if finite:
                        bar.update_many(done + finite, losses.values[done:done + finite])
                    done += finite
                    if finite < drawn:  # the loss of step done + 1 is not finite
                        self._fail(offset + done + 1, params, previous, grad)
                for i in range(done, n):
                    if interrupted():
                        break
                    follow_load()
                    if draw_batch is not None:
                        draw_batch(rng)
                    loss = step(params, grad)
                    if not math.isfinite(loss):
                        self._fail(offset + i + 1, params, previous, grad)
                    previous[:] = params
                    update(params, grad, state)
                    if callbacks:
                        self._synchronize()  # (the callbacks see every particle of particle-parallel SVGD)
                    if i == len(losses.values):
                        losses.room(i)
                    losses.values[i] = loss
                    done = i + 1
                    for callback in callbacks:
                        callback(self.approx, losses.values[:done], offset + done)
                    bar.update(done, loss)
        except StopIteration as stop:
            if str(stop) and mpi.rank() == 0:
                print(str(stop), file=sys.stderr)
        except KeyboardInterrupt:
            pass
        finally:
            self.approx.hist = np.concatenate([self.approx.hist, losses.values[:done]])
            bar.close(interrupted=done < n)
        optimizer.finish(params, state)  # (an averaging optimizer leaves its average; not after a failure)
        self._synchronize()
        # the loop checks losses only: a last update with a NaN gradient (and a finite loss) would leave NaN
        # parameters, so check them once the loop is over (all of them: the same decision on every rank)
        if done and not np.all(np.isfinite(self.approx.params)):
            self._fail(offset + done + 1, params, previous, grad)
        return self.approx

    def _fused_blocks(self, optimizer, state, schedule):
        """A function running a block of steps in one kernel call, or None where steps go one at a time (see
        :class:`ADVI`)."""
        return None

    def _fail(self, iteration, params, previous, grad):
        """Keep the last parameters whose loss was finite and raise FloatingPointError naming variables."""
        bad = self.approx.variables_with_bad_params()
        if not bad:
            bad = self._variables_with_bad_gradient(grad)
        if not bad and iteration == len(self.approx.hist) + 1:  # the fit's first step: q as it started
            raise FloatingPointError(
                f"the loss is NaN or inf at iteration {iteration}, before any update of q: the model's "
                f"log-density is not finite at q's draws around its starting point. Check the model's support, "
                f"its potentials and its initial point (model.point_logps() gives each term, potentials included)."
            )
        if not bad:
            # parameters and gradient can all be finite while the loss is not (e.g. log sigma = -1e108 gives
            # sigma = 0): the last update caused it, so name the variable whose parameters it moved most
            bad = self._variables_that_moved_most(params, previous)
        params[:] = previous
        which = ", ".join(f"'{name}'" for name in bad) if bad else "(every parameter is finite)"
        raise FloatingPointError(
            f"the loss became NaN or inf at iteration {iteration}; variables with non-finite parameters or "
            f"gradients (when all are finite: the one the last update moved most): {which}. The approximation "
            f"keeps the parameters of the last finite step. Try a smaller learning rate or check the model's "
            f"support."
        )

    def _variables_that_moved_most(self, params, previous):
        moved = self.approx.per_variable(np.abs(params - previous))
        largest = {name: float(np.max(change, initial=0.0)) for name, change in moved.items()}
        top = max(largest.values(), default=0.0)
        return [name for name, change in largest.items() if change == top] if top > 0 else []

    def _variables_with_bad_gradient(self, grad):
        # the gradient has the layout of ``params`` (FullRank's L_tril entries included): split it the way the
        # parameters are split
        return [name for name, g in self.approx.per_variable(grad).items() if not np.all(np.isfinite(g))]


def _clipped(optimizer, max_norm):
    """``optimizer`` with ``max_grad_norm=max_norm`` (fit's ``total_grad_norm_constraint``): the same settings,
    a new optimizer; ValueError when it already has another bound."""
    max_norm = arguments.number(max_norm, "total_grad_norm_constraint", minimum=0.0, strictly=True)
    if optimizer.max_grad_norm == max_norm:
        return optimizer
    if optimizer.max_grad_norm is not None:
        raise ValueError(f"total_grad_norm_constraint={max_norm!r} conflicts with obj_optimizer's "
                         f"max_grad_norm={optimizer.max_grad_norm!r}; give the bound once")
    return type(optimizer)(**{**optimizer.get_settings(), "max_grad_norm": max_norm})


class _LossHistory:
    """The losses of a fit's steps, in an array that grows as the steps are taken (a fit of 10**12 steps
    that a callback stops early must not ask for terabytes up front)."""

    FIRST = 1 << 16  # losses held at first; the array doubles when full

    def __init__(self, n):
        self.n = n
        self.values = np.empty(min(n, self.FIRST))

    def room(self, done):
        """The array from step ``done`` on (at least one entry free when ``done < n``), grown as needed."""
        if done >= len(self.values) and len(self.values) < self.n:
            grown = np.empty(min(self.n, 2 * len(self.values)))
            grown[:done] = self.values[:done]
            self.values = grown
        return self.values[done:]


class _NoiseStream:
    """Standard normal noise for each step, drawn from the generator in blocks (the same stream)."""

    def __init__(self, rng, shape):
        self.rng = rng
        self.shape = shape
        per_step = int(np.prod(shape))
        # a power of two of steps, as the minibatch positions (from step 0): the shorter blocks' ends fall on
        # the longer ones', and a block of fused steps (ADVI._fused_blocks) runs to the nearer end in one call
        self.steps_per_block = BatchSchedule.steps_for(per_step)
        self.block = np.empty((0,) + shape)
        self.position = 0

    def next(self):
        if self.position == len(self.block):
            self.block = self.rng.standard_normal((self.steps_per_block,) + self.shape)
            self.position = 0
        eps = self.block[self.position]
        self.position += 1
        return eps

    def take(self, most):
        """The noise of the next steps, at most ``most`` and no further than the end of the drawn block:
        (k, *shape), the same numbers ``next()`` would give one step at a time."""
        if self.position == len(self.block):
            self.block = self.rng.standard_normal((self.steps_per_block,) + self.shape)
            self.position = 0
        eps = self.block[self.position:self.position + most]
        self.position += len(eps)
        return eps


class ADVI(Inference):
    """Mean-field ADVI (Kucukelbir et al. 2017): q is a diagonal Gaussian in unconstrained space.

    Parameters
    ----------
    model : Model, optional
    random_seed : int, optional
    start : dict or array, optional
        Where ``mu`` starts (default: the model's initial point).
    obj_n_mc : int
        Monte Carlo draws per gradient estimate.
    stl : bool
        Use the "sticking the landing" gradient estimator (Roeder et al. 2017).
    """

    approximation = MeanField
    fused_method = "meanfield"  # how a block of compiled steps draws theta (None: never in blocks)

    def __init__(self, model=None, random_seed=None, start=None, obj_n_mc=1, stl=False):
        model = modelcontext(model)
        super().__init__(*seeded_approximation(self.approximation, model, random_seed, start))
        self.stl = arguments.flag(stl, "stl")
        self.set_options(obj_n_mc=obj_n_mc)

    def set_options(self, obj_n_mc=None, **kwargs):
        super().set_options(**kwargs)
        if obj_n_mc is not None:
            self.obj_n_mc = arguments.integer(obj_n_mc, "obj_n_mc", minimum=1)
            self.noise = _NoiseStream(self.rng, (self.obj_n_mc, self.model.ndim))
            self.theta = np.empty((self.obj_n_mc, self.model.ndim))

    def draws_per_step(self):
        return self.obj_n_mc

    def _fused_blocks(self, optimizer, state, schedule):
        """Blocks of compiled steps (the model's compiled density's ``advi_steps``), or None.

        Only where a block takes exactly the steps ``_step`` and ``optimizer.step`` would: the model has a
        fused density, this class's ``_step`` is ADVI's or FullRankADVI's own (not a subclass's), and the
        optimizer is one of nbvi's with its own ``step`` and a fixed learning rate (the density's
        ``runs_optimizer``). A block ends where the drawn noise or the drawn
        minibatch positions end, so the generator is called in the same order as step by step.
        """
        fused = self._fused()
        own_step = {"meanfield": ADVI._step, "fullrank": FullRankADVI._step}.get(self.fused_method)
        if (fused is None or not fused.runs_blocks or not fused.runs_optimizer(optimizer)
                or type(self)._step is not own_step or type(optimizer).step is not Optimizer.step):
            return None
        rng, noise, method = self.rng, self.noise, self.fused_method

        def run(params, grad, previous, losses):
            """(steps drawn, steps whose loss was finite), the losses written into ``losses``. When a loss is
            not finite, the noise and positions drawn for the steps after it are handed back, so the
            generator stands where a step-by-step fit would stand."""
            most = len(losses) if schedule is None else schedule.steps_available(rng, len(losses))
            eps = noise.take(most)
            steps = len(eps)
            if schedule is not None:
                schedule.advance(steps)
            finite = fused.advi_steps(method, params, eps, self.stl, self.theta, optimizer, state, grad, previous,
                                      losses)
            unused = steps - finite - 1  # steps after the failing one
            if unused > 0:
                noise.position -= unused
                if schedule is not None:
                    schedule.rewind(unused)
            return steps, finite

        return run

    def _step(self, params, grad):
        fused = self._fused()
        if fused is not None:
            return fused.meanfield_step(params, self.noise.next(), self.theta, grad, self.stl)
        return advi.meanfield_step(self._logp_dlogp, params, self.noise.next(), self.theta, grad, self.stl)


class FullRankADVI(ADVI):
    """Full-rank ADVI: q is a correlated Gaussian mu + L eps (Kucukelbir et al. 2017, sec. 2.5)."""

    approximation = FullRank
    fused_method = "fullrank"

    def _step(self, params, grad):
        fused = self._fused()
        if fused is not None:
            return fused.fullrank_step(params, self.noise.next(), self.theta, grad, self.stl)
        return advi.fullrank_step(self._logp_dlogp, params, self.noise.next(), self.theta, grad, self.stl)


class SVGD(Inference):
    """Stein variational gradient descent (Liu & Wang 2016) on a set of particles.

    Parameters
    ----------
    n_particles : int
    jitter : float
        Particles start at ``start`` plus ``jitter`` times standard normal noise.
    model, random_seed, start : as ADVI
    temperature : float
        Divides the driving term of the Stein force (1: the posterior).
    """

    uses_stein_force = True

    def __init__(self, n_particles=100, jitter=1.0, model=None, random_seed=None, start=None, temperature=1.0):
        model = modelcontext(model)
        n_particles = arguments.integer(n_particles, "n_particles", minimum=1)
        jitter = arguments.number(jitter, "jitter", minimum=0.0)
        temperature = arguments.number(temperature, "temperature", minimum=0.0, strictly=True)
        rng = np.random.default_rng(arguments.seed(random_seed))
        center = _start_flat(model, start)
        particles = center + float(jitter) * rng.standard_normal((int(n_particles), model.ndim))
        super().__init__(Empirical(model, particles, random_seed=rng.integers(2**63)), rng)
        self.temperature = float(temperature)
        self._particles = None  # under MPI with the same model on every rank: an nbvi.mpi.ParticleParallel

    def draws_per_step(self):
        return self.approx.histogram.shape[0]

    def _distribute(self, optimizer=None):
        """Under MPI, one allgather decides: the same model and data on every rank -> particle-parallel (rank r
        moves its block of particles; docs/hpc.md); shards -> data-parallel (the density summed over the ranks,
        every rank moves all particles). A gradient clipped by its norm over all particles stays data-parallel."""
        self._parallel = self._particles = None
        clipped = optimizer is not None and optimizer.max_grad_norm is not None
        mode = mpi.particle_parallel(self.model, self.approx.histogram.shape[0], split=not clipped)
        if isinstance(mode, mpi.ParticleParallel):
            self._particles = mode
            n, d = self.approx.histogram.shape
            self._gathered = np.empty((n, 2 * d + 1))  # positions, scores, log p of every particle
        else:
            self._parallel = mode

    def _optimized_params(self):
        if self._particles is None:
            return self.approx.params
        d = self.approx.histogram.shape[1]
        return self.approx.params[self._particles.start * d:self._particles.stop * d]  # a view: rows start:stop

    def _synchronize(self):
        if self._particles is not None:  # every rank's particles into every rank's histogram
            d = self.approx.histogram.shape[1]
            mine = self._optimized_params().reshape(-1, d)
            self.approx.histogram[:] = self._particles.allgather_rows(mine, np.empty((len(self._gathered), d)))

    # a block of compiled steps holds about this much work (work_per_step), so that Ctrl-C and the progress bar
    # are seen within milliseconds
    BLOCK_WORK = 2**24

    def _fused(self):
        """As :meth:`Inference._fused`; None under particle-parallel SVGD too (steps over the ranks)."""
        return None if self._particles is not None else super()._fused()

    def _fused_blocks(self, optimizer, state, schedule):
        """Blocks of compiled steps (the compiled density's ``svgd_steps``), or None: only where a block takes
        exactly the steps ``_step`` and ``optimizer.step`` would (as :meth:`ADVI._fused_blocks`)."""
        compiled = self._fused()
        if (compiled is None or not compiled.runs_svgd_blocks or not compiled.runs_optimizer(optimizer)
                or type(self)._step is not SVGD._step or type(optimizer).step is not Optimizer.step):
            return None
        steps = int(min(256, max(1, 2 ** math.floor(math.log2(max(1.0, self.BLOCK_WORK / self.work_per_step()))))))

        def run(params, grad, previous, losses):
            """(steps run, steps whose loss was finite), the losses written into ``losses``."""
            block = losses[:steps]
            return len(block), compiled.svgd_steps(params, self.temperature, optimizer, state, grad, previous, block)

        return run

    def _step(self, params, grad):
        particles = self.approx.histogram
        if self._particles is not None:
            return self._particle_parallel_step(particles, grad)
        compiled = self._fused()
        if compiled is not None:  # one kernel call: density, bandwidth and force
            return compiled.svgd_step(particles, self.temperature, grad.reshape(particles.shape))
        logp, dlogp = self._logp_dlogp(particles)
        stein.svgd_step(particles, dlogp, self.temperature, out=grad.reshape(particles.shape))
        return -float(np.mean(logp))  # the recorded loss: the particles' mean negative log-density

    def _particle_parallel_step(self, particles, grad):
        """This rank's rows of the step: log p at its own particles, one allgather of (position, score, log p)
        rows, the median bandwidth of all particles and the Stein force on its own rows (``grad`` holds them)."""
        start, stop = self._particles.start, self._particles.stop
        n, d = particles.shape
        mine = particles[start:stop]
        logp, dlogp = self.model.logp_dlogp(mine)
        rows = np.empty((stop - start, 2 * d + 1))
        rows[:, :d], rows[:, d:2 * d], rows[:, 2 * d] = mine, dlogp, logp
        everyone = self._particles.allgather_rows(rows, self._gathered)
        particles[:] = everyone[:, :d]  # the other ranks' particles (this rank's own are unchanged)
        h = stein.median_bandwidth(particles)
        force = grad.reshape(stop - start, d)
        stein.stein_force_rows(particles, everyone[:, d:2 * d], h, start, stop, self.temperature, out=force)
        np.negative(force, out=force)
        return -float(np.mean(everyone[:, 2 * d]))  # as in one process: the mean over all particles

    def _fail(self, iteration, params, previous, grad):
        if self._particles is None:
            return super()._fail(iteration, params, previous, grad)
        # every rank fails at the same step (the loss is the same): gather the rows, then report as one process
        d = self.approx.histogram.shape[1]
        n = self.approx.histogram.shape[0]
        whole = [self._particles.allgather_rows(part.reshape(-1, d), np.empty((n, d))).reshape(-1)
                 for part in (params, previous, grad)]
        self.approx.params[:] = whole[0]
        return super()._fail(iteration, self.approx.params, whole[1], whole[2])


class ASVGD(ADVI):
    """Amortized SVGD (Feng, Wang & Liu 2017) as PyMC3 defines it: a mean-field q whose draws are moved by
    the Stein force, the force being pushed back to q's parameters through theta = mu + sigma eps.

    Parameters
    ----------
    model, random_seed, start : as ADVI
    obj_n_mc : int
        Draws from q per step (the particles; PyMC3's default for ASVGD.fit is 500).
    temperature : float
    """

    uses_stein_force = True
    fused_method = None  # its step moves the draws by the Stein force, not by the ELBO gradient

    def __init__(self, model=None, random_seed=None, start=None, obj_n_mc=500, temperature=1.0):
        temperature = arguments.number(temperature, "temperature", minimum=0.0, strictly=True)
        super().__init__(model=model, random_seed=random_seed, start=start, obj_n_mc=obj_n_mc)
        self.temperature = float(temperature)
        self.direction = np.empty((self.obj_n_mc, self.model.ndim))

    def set_options(self, obj_n_mc=None, **kwargs):
        super().set_options(obj_n_mc=obj_n_mc, **kwargs)
        if obj_n_mc is not None:
            self.direction = np.empty((self.obj_n_mc, self.model.ndim))

    def _step(self, params, grad):
        eps = self.noise.next()
        advi.meanfield_theta(params, eps, self.theta)
        logp, dlogp = self._logp_dlogp(self.theta)
        stein.svgd_step(self.theta, dlogp, self.temperature, out=self.direction)
        advi.meanfield_pullback(params, eps, self.direction, grad)
        return -float(np.mean(logp)) - self.approx.entropy()  # the negative ELBO estimate, for monitoring


class LowRankADVI(ADVI):
    """Low-rank ADVI: q is a Gaussian with covariance D^2 + U U^T, U of ``rank`` columns (Ong, Nott & Smith
    2018; :mod:`~nbvi.variational.lowrank`, docs/lowrank_advi.md).

    Parameters
    ----------
    rank : int
        Columns of U, 1 <= rank <= the model's unconstrained dimensions.
    model, random_seed, start, obj_n_mc, stl : as ADVI
    """

    fused_method = None  # its steps go one at a time through model.logp_dlogp

    def __init__(self, model=None, random_seed=None, start=None, obj_n_mc=1, stl=False, *, rank=1):
        model = modelcontext(model)
        Inference.__init__(self, *seeded_approximation(LowRank, model, random_seed, start, rank=rank))
        self.stl = arguments.flag(stl, "stl")
        self.set_options(obj_n_mc=obj_n_mc)

    def set_options(self, obj_n_mc=None, **kwargs):
        super().set_options(obj_n_mc=obj_n_mc, **kwargs)
        if obj_n_mc is not None:  # each step's noise is [z1, z2], (obj_n_mc, ndim + rank)
            self.noise = _NoiseStream(self.rng, (self.obj_n_mc, self.model.ndim + self.approx.rank))

    def _step(self, params, grad):
        return lowrank_step(self._logp_dlogp, params, self.noise.next(), self.theta, grad, self.stl)


METHODS = {"advi": ADVI, "fullrank_advi": FullRankADVI, "lowrank_advi": LowRankADVI, "svgd": SVGD, "asvgd": ASVGD}
# (and "laplace": nbvi.variational.laplace, which imports this module, adds its LaplaceInference)


def fit(n=None, method="advi", model=None, random_seed=None, inf_kwargs=None, callbacks=None,
        obj_optimizer=None, progressbar=True, start=None, total_grad_norm_constraint=None, **kwargs):
    """Fit an approximation to the posterior of ``model`` (PyMC3's ``pm.fit``).

    Parameters
    ----------
    n : int, optional
        Number of steps of the stochastic optimizer. Without ``n``, ``obj_optimizer`` and
        ``total_grad_norm_constraint``, "advi", "fullrank_advi" and "lowrank_advi" of a model without minibatches run
        deterministic ADVI until it converges (docs/advi.md, "The default fit"); every other case runs 10,000
        steps, as PyMC does (of ``averaged_adam`` for these methods on a model with minibatches, unless
        ``obj_optimizer`` is given: docs/advi.md, "The default for minibatch models").
    method : {"advi", "fullrank_advi", "lowrank_advi", "svgd", "asvgd", "laplace", "pathfinder"} or Inference
        "laplace": a Gaussian at the mode with the inverse negative Hessian as covariance
        (:mod:`~nbvi.variational.laplace`; ``n`` is then at most n L-BFGS iterations).
        "pathfinder": the Gaussian with the best ELBO along an L-BFGS path (:mod:`~nbvi.variational.pathfinder`;
        ``n`` or ``maxiter`` is at most that many L-BFGS iterations; ``history_size``, ``num_elbo_draws``).
    model : Model, optional (default: the innermost ``with`` block's)
    random_seed : int, optional
    inf_kwargs : dict, optional
        Options of the Inference class (e.g. ``{"n_particles": 1000}`` for SVGD).
    callbacks, obj_optimizer, progressbar : as ``Inference.fit``
    start : dict or array, optional
    total_grad_norm_constraint : float > 0, optional
        Clip the total L2 norm of each step's gradient to this value (as ``Inference.fit``).
    **kwargs : options of the step (e.g. ``obj_n_mc``)

    Returns
    -------
    Approximation (with ``hist``).
    """
    if isinstance(method, Inference):
        if inf_kwargs or start is not None or random_seed is not None:
            raise ValueError("inf_kwargs, start and random_seed configure a new Inference; "
                             "they cannot apply to the Inference instance passed as method")
        if model is not None and model is not method.model:
            raise ValueError("model is not the model of the Inference passed as method; leave model out")
        inference = method
    else:
        key = str(method).lower()
        if key not in METHODS:
            raise ValueError(f"method must be one of {sorted(METHODS)} or an Inference, got {method!r}")
        if inf_kwargs is not None and not isinstance(inf_kwargs, dict):
            raise TypeError(f"inf_kwargs must be a dict of options of the Inference class, got {inf_kwargs!r}")
        options = dict(inf_kwargs or {})
        options.setdefault("random_seed", random_seed)
        if start is not None:
            options.setdefault("start", start)
        inference = METHODS[key](model=modelcontext(model), **options)
    return inference.fit(n, callbacks=callbacks, obj_optimizer=obj_optimizer, progressbar=progressbar,
                         total_grad_norm_constraint=total_grad_norm_constraint, **kwargs)
