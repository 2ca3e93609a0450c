"""CompiledDensity: any model's log-density and gradient from one call of the tape interpreter.

:class:`CompiledDensity` lowers a model once (:mod:`nbvi.compiled.lowering`) and evaluates it with
:func:`~nbvi.compiled.interpreter.tape_logp_dlogp`, which is compiled once for every model (no per-model
compile). A model outside what the tape runs gets a :class:`~nbvi.fused.density.Refusal` with the reason.
"""
import time
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from nbvi.compiled import advi_steps, svgd_steps
from nbvi.compiled.axis_ops import axis_ops_address
from nbvi.compiled.interpreter import interpreter_address, needs_axis_ops, tape_logp_dlogp
from nbvi.compiled.lowering import Tape, Unsupported
from nbvi.fused.density import Refusal
from nbvi.fused.optimizers import optimizer_code

# Points per call from which they may be evaluated in parallel, one part per thread: when their serial call
# would last at least PARALLEL_MIN_SECONDS (handing parts to the pool's threads and taking them back costs
# about 0.1 ms; a point costs 1 - 100 us)
PARALLEL_MIN_DRAWS = 64
PARALLEL_MIN_SECONDS = 5e-4


class CompiledDensity:
    """The tape of one model and the call that runs it; build it with :meth:`build`.

    Attributes
    ----------
    ndim : int
    tape : :class:`~nbvi.compiled.lowering.Tape`
    watched : dict id -> (Data, value array): the data values the tape copied (see :meth:`is_current`)
    """

    kind = "compiled tape"

    def __init__(self, tape):
        self.tape = tape
        self.ndim = tape.ndim
        self.watched = tape.watched
        self._watched_values = tuple(tape.watched.values())  # (Data, the array the tape copied)
        # the tape's workspace becomes this density's (every call overwrites its computed part before reading it,
        # so no pristine copy is needed, and a model with large data holds its constants once)
        self._workspace = tape.workspace
        self._workspaces = None  # one workspace per thread, made at the first call with many points
        self._point_seconds = None  # the least seconds a point took in a serial call of many points (not the first)
        self._serial_calls = 0
        # (the addresses of the C functions that run the tape first: the compiled callers take them as the plan's
        # first entry; the second is compiled only for a model that has its instructions)
        functions = np.array([interpreter_address(), axis_ops_address() if needs_axis_ops(tape.code) else 0], dtype=np.int64)
        self._plan = (functions, tape.transform, tape.lower, tape.upper, tape.code, tape.fparams,
                      tape.micro, tape.mparams, tape.index, tape.n_registers)

    @classmethod
    def build(cls, model):
        """The compiled density of ``model``, or a :class:`~nbvi.fused.density.Refusal` (false in a test)
        saying why the tape cannot run it."""
        tape = Tape.__new__(Tape)
        tape.watched = {}
        try:
            tape.__init__(model)
        except Unsupported as why:  # (a set_value of the data seen so far makes the model look again)
            return Refusal(str(why), tape.watched, expected=why.expected)
        return cls(tape)

    def is_current(self):
        """Whether every data value the tape copied is still the data's value (no ``set_value`` since). (Asked
        before every call: a plain loop, no generator.)"""
        for data, value in self._watched_values:
            if data._value is not value:
                return False
        return True

    def _refresh(self):
        """Recompute the values that read a Minibatch (its batch changes between calls); their terms' sum."""
        program, places = self.tape.refresh
        outputs = program.run()
        w = self._workspace
        for offset, value in zip(places, outputs):
            flat = value[0].ravel()
            w[offset:offset + flat.size] = flat
        return float(sum(value[0] for value in outputs[len(places):]))

    @property
    def runs_blocks(self):
        """Whether :meth:`advi_steps` can run blocks of steps (not when a Minibatch must be read every step)."""
        return self.tape.refresh is None

    @property
    def runs_svgd_blocks(self):
        """Whether :meth:`svgd_steps` can run blocks of SVGD steps (as :attr:`runs_blocks`)."""
        return self.tape.refresh is None

    def _plan_with_workspace(self):
        return (*self._plan, self._workspace, self.tape.n_dynamic)

    def meanfield_step(self, params, eps, theta, grad, stl=False):
        """One mean-field ADVI step, as :func:`~nbvi.variational.advi.meanfield_step` (loss returned,
        gradient in ``grad``), in one kernel call. (Terms without free variables add a constant to the loss
        only, which the steps leave out, as its gradient is zero.)"""
        constant = self._refresh() if self.tape.refresh is not None else 0.0
        loss = advi_steps.tape_meanfield_step(params, eps, stl, theta, *self._plan_with_workspace(), grad)
        return loss - (self.tape.constant_logp + constant)

    def fullrank_step(self, params, eps, theta, grad, stl=False):
        """One full-rank ADVI step, as :func:`~nbvi.variational.advi.fullrank_step`, in one kernel call."""
        constant = self._refresh() if self.tape.refresh is not None else 0.0
        loss = advi_steps.tape_fullrank_step(params, eps, stl, theta, *self._plan_with_workspace(), grad)
        return loss - (self.tape.constant_logp + constant)

    def runs_optimizer(self, optimizer):
        """Whether :meth:`advi_steps` can run ``optimizer`` (an nbvi optimizer with a fixed learning rate) in its
        blocks."""
        return optimizer_code(optimizer) is not None

    def advi_steps(self, method, params, eps, stl, theta, optimizer, state, grad, previous, losses):
        """A block of ADVI steps with their ``optimizer`` updates (see
        :func:`~nbvi.compiled.advi_steps.tape_meanfield_steps`); only when :attr:`runs_blocks`. ``method``:
        "meanfield" or "fullrank". Returns the steps whose loss was finite."""
        steps = advi_steps.tape_meanfield_steps if method == "meanfield" else advi_steps.tape_fullrank_steps
        finite = steps(params, eps, stl, theta, *self._plan_with_workspace(), optimizer_code(optimizer), state,
                       optimizer.hyper, grad, previous, losses)
        losses[:finite] -= self.tape.constant_logp
        return finite

    def nuts_trajectory(self):
        """A function ``run(ws, uniforms)`` that runs a begun NUTS trajectory to its end in one compiled call
        (:func:`~nbvi.compiled.trajectory.tape_trajectory`), or None when a Minibatch must be read at every
        gradient."""
        if self.tape.refresh is not None:
            return None
        from nbvi.compiled.trajectory import tape_trajectory

        logp, grad = np.empty(1), np.empty((1, self.ndim))

        def run(ws, uniforms):
            tape_trajectory(ws.vecs, ws.stack_v, ws.stack_s, ws.fs, ws.ints, ws.q_eval, uniforms,
                            *self._plan_with_workspace(), self.tape.constant_logp, logp, grad)

        return run

    def nuts_draws(self):
        """A function ``run(ws, q, logp, grad, step_size, inv_mass, normals, row, uniforms, pos, need, theta,
        stats, averaging, target_accept)`` that makes NUTS transitions in one compiled call
        (:func:`~nbvi.compiled.trajectory.tape_draws`, which also says what it returns), or None when a
        Minibatch must be read at every gradient."""
        if self.tape.refresh is not None:
            return None
        from nbvi.compiled.trajectory import tape_draws

        logp_scratch, grad_scratch = np.empty(1), np.empty((1, self.ndim))

        def run(ws, q, logp, grad, step_size, inv_mass, normals, row, uniforms, pos, need, theta, stats, averaging,
                target_accept):
            return tape_draws(ws.vecs, ws.stack_v, ws.stack_s, ws.fs, ws.ints, ws.q_eval, q, logp, grad, step_size,
                              inv_mass, normals, row, uniforms, pos, need, theta, stats, averaging, target_accept,
                              *self._plan_with_workspace(), self.tape.constant_logp, logp_scratch, grad_scratch)

        return run

    def _parts(self, draws):
        """How many threads share ``draws`` points: one unless the points are many and their serial call, at the
        least time a point took in the serial calls measured, would last PARALLEL_MIN_SECONDS (handing parts
        to threads costs a good part of that)."""
        threads = numba.get_num_threads()
        if threads == 1 or self._point_seconds is None or self._point_seconds * draws < PARALLEL_MIN_SECONDS:
            return 1
        return threads

    def _workspaces_for(self, parts):
        """(parts, W): one copy of the workspace per part (the tape's values of this call's batch included)."""
        if self._workspaces is None or len(self._workspaces) < parts:
            self._workspaces = np.tile(self._workspace, (max(parts, numba.config.NUMBA_NUM_THREADS), 1))
        if self.tape.refresh is not None:  # this call's batch values
            self._workspaces[:parts] = self._workspace
        return self._workspaces[:parts]

    def logp_dlogp(self, theta):
        """logp (D,) and its gradient (D, ndim) at theta (D, ndim), as ``Model.logp_dlogp``."""
        tape = self.tape
        constant = tape.constant_logp
        if tape.refresh is not None:
            constant += self._refresh()
        draws = theta.shape[0]
        logp = np.empty(draws)
        grad = np.empty((draws, self.ndim))
        theta = theta if theta.flags.c_contiguous else np.ascontiguousarray(theta)
        if draws < PARALLEL_MIN_DRAWS:  # (the common case of one point, with as little Python as possible)
            tape_logp_dlogp(theta, *self._plan, self._workspace, tape.n_dynamic, logp, grad)
        elif (parts := self._parts(draws)) > 1:  # many costly points (SVGD's particles): in parallel
            _in_parts(theta, self._plan, self._workspaces_for(parts), tape.n_dynamic, logp, grad)
        else:  # serially, measuring the time a point takes
            start = time.perf_counter()
            tape_logp_dlogp(theta, *self._plan, self._workspace, tape.n_dynamic, logp, grad)
            seconds = (time.perf_counter() - start) / draws
            # the least time seen decides, and not that of the first call, which is slow (memory touched for the
            # first time) and would send every later call to the threads
            if self._point_seconds is not None or self._serial_calls:
                self._point_seconds = min(seconds, self._point_seconds or seconds)
            self._serial_calls += 1
        if constant != 0.0:
            logp += constant
        return logp, grad

    def svgd_step(self, particles, temperature, direction):
        """One SVGD step in one kernel call (:func:`~nbvi.compiled.svgd_steps.tape_svgd_step`): the particles'
        (n, ndim) log-density, the median bandwidth and -phi into ``direction`` (n, ndim); returns the loss."""
        constant = self.tape.constant_logp + (self._refresh() if self.tape.refresh is not None else 0.0)
        n = particles.shape[0]
        return svgd_steps.tape_svgd_step(particles, 1.0 / temperature, *self._plan_with_workspace(), constant,
                                         *_svgd_work_arrays(n, self.ndim), direction)

    def svgd_steps(self, params, temperature, optimizer, state, grad, previous, losses):
        """A block of SVGD steps with their ``optimizer`` updates (:func:`~nbvi.compiled.svgd_steps.tape_svgd_steps`;
        ``params`` holds the particles row by row); only when :attr:`runs_svgd_blocks`. Returns the steps whose loss
        was finite."""
        n = params.size // self.ndim
        return svgd_steps.tape_svgd_steps(params, self.ndim, 1.0 / temperature, *self._plan_with_workspace(),
                                          self.tape.constant_logp,
                                          *_svgd_work_arrays(n, self.ndim), optimizer_code(optimizer), state,
                                          optimizer.hyper, grad, previous, losses)


_POOL = []  # the threads that run parts of many points (made at the first such call)


def _in_parts(theta, plan, workspaces, n_dynamic, logp, grad):
    """:func:`~nbvi.compiled.interpreter.tape_logp_dlogp` at theta (D, ndim), in ``len(workspaces)`` contiguous
    parts of the points run by as many threads at once, each part on its own workspace (the kernel releases
    the GIL). Each point is computed as in one call, so the numbers do not depend on the thread count."""
    parts, draws = len(workspaces), theta.shape[0]
    bounds = [part * draws // parts for part in range(parts + 1)]

    def run(part):
        first, stop = bounds[part], bounds[part + 1]
        tape_logp_dlogp(theta[first:stop], *plan, workspaces[part], n_dynamic, logp[first:stop], grad[first:stop])

    if not _POOL:
        _POOL.append(ThreadPoolExecutor(max_workers=max(1, numba.config.NUMBA_NUM_THREADS - 1),
                                        thread_name_prefix="nbvi-density"))
    others = [_POOL[0].submit(run, part) for part in range(1, parts)]
    run(0)
    for other in others:
        other.result()


def _svgd_work_arrays(n, ndim):
    """logp (n,), dlogp (n, ndim), and the particles and scores transposed (ndim, n), for an SVGD step."""
    return np.empty(n), np.empty((n, ndim)), np.empty((ndim, n)), np.empty((ndim, n))
