"""FusedDensity: a model's joint log-density and gradient from one compiled kernel call.

Most models are a sum of log-density terms of scalar families whose values and parameters are free
variables, constants or data (``mu ~ Normal(0, 10); sd ~ HalfNormal(1); y ~ Normal(mu, sd, observed=...)``).
For those, the generic graph walk (:class:`~nbvi.graph.evaluate.Program`) spends most of its time in
Python around the kernels, more than the arithmetic of a whole ADVI step. A fused density describes such a model once, as arrays, and evaluates it with
:func:`~nbvi.fused.kernel.fused_logp_dlogp`: a single call does the transforms, every term and the
chain rule back to theta.

Large observed data of a Normal likelihood whose parameters are shared by its rows enters through
per-column statistics (mean and sum of squared deviations): computed once for full data, and for a
minibatch ahead of time for a whole block of upcoming batches in one parallel call
(:meth:`~nbvi.data.Minibatch.block_statistics`), so that a step reads no data at all.

:meth:`FusedDensity.build` returns a :class:`Refusal` (false in a test, with the reason) for a model
outside that class (a deterministic node between variables and terms, a vector family, a non-elementwise
transform, large data or a minibatch of a family without statistics): the model then keeps the generic
path. Broadcasting of any kind is fine: an operand
broadcast along some axes only reads its elements through an index array.
"""
import numpy as np

from nbvi.data import Data
from nbvi.distributions.distribution import Distribution
from nbvi.distributions.layout import ROWS_KERNEL_MIN_SIZE, KernelLayout
from nbvi.distributions.normal import normal_column_statistics
from nbvi.fused import advi_steps, families, kernel, svgd_steps
from nbvi.fused.optimizers import optimizer_code
from nbvi.fused.transforms import transform_plan
from nbvi.graph.node import Constant
from nbvi.model import RandomVariable

ADVI_METHODS = {"meanfield": advi_steps.MEANFIELD, "fullrank": advi_steps.FULLRANK}  # how a block draws theta


class _Unsupported(Exception):
    """The model is outside what the fused kernel evaluates (the message says why)."""


def data_unchanged(watched):
    """Whether every Data in ``watched`` (id -> (Data, the value array seen)) still holds that array."""
    return all(leaf._value is value for leaf, value in watched.values())


class Refusal:
    """What :meth:`FusedDensity.build` returns for a model outside the fused class: false in a test, with
    the reason, and the data values seen until then (after a ``set_value`` the model may fit: ask again)."""

    def __init__(self, reason, watched, expected=False):
        self.reason = reason
        self.watched = watched
        self.expected = expected  # a documented case that the graph walk runs well (no warning)

    def __bool__(self):
        return False

    def is_current(self):
        return data_unchanged(self.watched)

    def __repr__(self):
        return f"Refusal({self.reason!r})"


class FusedDensity:
    """The plan of :mod:`nbvi.fused.kernel` for one model, and the call that runs it.

    Build it with :meth:`build`. Attributes are the kernel's plan arrays (``plan``: all of them, in the
    order the kernels take them after theta); ``watched`` lists the data leaves whose current value the
    plan copied, and :meth:`is_current` says whether they still hold it.
    """

    def __init__(self, model):
        self.watched = {}  # id -> (Data, the value array the plan copied)
        program, layout, ndim = model._joint()
        if program._terms is None:
            raise _Unsupported("the log-density is not a sum of terms over variables and data")
        self.ndim = ndim
        plan, why = transform_plan(layout, ndim)
        if plan is None:
            raise _Unsupported(why)
        self.transform, self.lower, self.upper = plan
        offsets = {k: where.start for k, (_rv, where, _ushape) in enumerate(layout)}  # input slot -> theta offset
        self._free = {k: (program.inputs[k], offsets[k]) for k in offsets}
        self._leaves = dict(program.leaves)
        self._in_place = dict(program.leaves_in_place)
        self._consts = []
        self._n_consts = 0
        self._n_stats = 0
        self._index = [np.zeros(1, dtype=np.int64)]  # index[0] = 0: what operands without a list of positions read
        self._n_index = 1
        self._fixed_stats = []  # (offset, stats (2, C)) of full data
        self._step_stats = []  # (offset, minibatch, size) refreshed at every call
        rows, scales = zip(*[self._term(op, ins) for op, ins in program._terms])
        self.terms = np.array(rows, dtype=np.int64).reshape(len(rows), kernel.TERM_COLUMNS)
        self.scales = np.array(scales, dtype=np.float64)
        self.consts = np.concatenate(self._consts) if self._consts else np.zeros(1)
        self.index = np.concatenate(self._index).astype(np.int64)
        self.stats = np.zeros(max(self._n_stats, 1))
        for offset, stats in self._fixed_stats:
            self.stats[offset:offset + stats.size] = stats.ravel()
        # the kernels' plan arguments, in their order (``stats`` is updated in place, so the tuple stays valid)
        self.plan = (self.transform, self.lower, self.upper, self.terms, self.scales, self.consts, self.index,
                     self.stats)
        # where each minibatch term's statistics go in ``stats``: (offset, start in a row of step_stats, size)
        starts = np.cumsum([0] + [size for _offset, _minibatch, size in self._step_stats])
        self.segments = np.array([(offset, start, size) for (offset, _minibatch, size), start
                                  in zip(self._step_stats, starts)], dtype=np.int64).reshape(-1, 3)

    @classmethod
    def build(cls, model):
        """The fused density of ``model``, or a :class:`Refusal` (false in a test) when the model is outside its
        class (module docstring)."""
        density = cls.__new__(cls)
        density.watched = {}
        try:
            density.__init__(model)
        except _Unsupported as why:
            return Refusal(str(why), density.watched)
        return density

    # -- the plan -----------------------------------------------------------------------------------------
    def _term(self, op, ins):
        """The kernel's row for one log-density term and its scale."""
        dist = op.dist
        found = families.family_of(dist)
        if found is None or type(dist).logp_partials is not Distribution.logp_partials:
            raise _Unsupported(f"family {type(dist).__name__}")
        family, n_params = found
        if len(ins) != 1 + n_params:
            raise _Unsupported("unexpected number of parameters")
        if n_params > 3:  # (the plan has operands for a value and three parameters; the tape takes four)
            raise _Unsupported(f"family {type(dist).__name__} with {n_params} parameters")
        value_slot = ins[0]
        if value_slot in self._in_place:  # a minibatch the term reads in place: statistics at every step
            minibatch = self._in_place[value_slot]
            if family != families.NORMAL:
                raise _Unsupported(f"minibatch of {type(dist).__name__}")
            row, offset, layout = self._normal_columns(ins, minibatch.shape)
            self._step_stats.append((offset, minibatch, 2 * layout.columns))
            return row, op.factor(minibatch)
        value = self._array_of(value_slot)
        shapes = [self._shape_of(i) for i in ins]
        scale = op.factor(value[None]) if value is not None else 1.0
        if value is not None and value.size >= ROWS_KERNEL_MIN_SIZE:  # large observed data: statistics once
            if family != families.NORMAL:
                raise _Unsupported(f"large data of {type(dist).__name__}")
            row, offset, layout = self._normal_columns(ins, value.shape)
            data = np.ascontiguousarray(value, dtype=np.float64).reshape(layout.value_rows)
            every_row = np.arange(data.shape[0], dtype=np.int64)[None]
            self._fixed_stats.append((offset, normal_column_statistics(data, every_row)[0]))
            return row, scale
        target = np.broadcast_shapes(*shapes)
        row = [kernel.ELEMENTWISE, family, int(np.prod(target, dtype=np.int64)), 0]
        for i, shape in zip(ins, shapes):
            row += self._operand(i, *self._positions(shape, target))
        row += [kernel.UNUSED, 0, 0, 0] * (kernel.OPERANDS - len(ins))
        return row, scale

    def _positions(self, shape, target):
        """(stride, map) of an operand of ``shape`` read at every element of ``target``: (1, 0) for the whole
        shape, (0, 0) for one number, else (0, map) with its positions appended to ``index`` from ``map`` on."""
        if int(np.prod(shape, dtype=np.int64)) == 1:
            return 0, 0
        if (1,) * (len(target) - len(shape)) + tuple(shape) == tuple(target):
            return 1, 0
        positions = np.broadcast_to(np.arange(int(np.prod(shape, dtype=np.int64))).reshape(shape), target)
        start = self._n_index
        self._index.append(positions.ravel())
        self._n_index += positions.size
        return 0, start

    def _normal_columns(self, ins, value_shape):
        """A NORMAL_COLUMNS row for a value of ``value_shape`` read by rows, the offset of its statistics in
        ``stats`` and its KernelLayout."""
        shapes = [(1,) + tuple(value_shape)] + [(1,) + self._shape_of(i) for i in ins[1:]]
        layout = KernelLayout(shapes, True, in_place=True)
        if not layout.rows or any(kind == "partial" for kind, *_ in layout.specs[1:]):
            raise _Unsupported("Normal rows whose parameters are not shared by every row")
        offset = self._n_stats
        self._n_stats += 2 * layout.columns
        row = [kernel.NORMAL_COLUMNS, families.NORMAL, layout.columns, layout.value_rows[0], kernel.UNUSED, offset, 0, 0]
        for i, (kind, *_rest) in zip(ins[1:], layout.specs[1:]):
            row += self._operand(i, 0 if kind == "one" else 1, 0)
        row += [kernel.UNUSED, 0, 0, 0]
        return row, offset, layout

    def _operand(self, slot, stride, positions):
        """The kernel's four numbers for a free variable's value or a constant (copied into ``consts``)."""
        if slot in self._free:
            return [kernel.FREE, self._free[slot][1], stride, positions]
        array = self._array_of(slot)
        offset = self._n_consts
        self._consts.append(np.asarray(array, dtype=np.float64).ravel())
        self._n_consts += array.size
        return [kernel.CONST, offset, stride, positions]

    def _shape_of(self, slot):
        """The shape of a slot's value (a Data's current value: its rows may differ from the static shape)."""
        if slot in self._free:
            return tuple(self._free[slot][0].shape)
        return tuple(np.shape(self._array_of(slot)))

    def _leaf_node(self, slot):
        leaf = self._leaves.get(slot)
        if isinstance(leaf, RandomVariable) and leaf.observed is not None:
            leaf = leaf.observed  # a parameter that is an observed variable: its data
        return leaf

    def _array_of(self, slot):
        """The value (without draw axis) of a constant or data slot; None for a free variable."""
        if slot in self._free:
            return None
        leaf = self._leaf_node(slot)
        if isinstance(leaf, Constant):
            return leaf.data
        if type(leaf) is Data:
            self.watched[id(leaf)] = (leaf, leaf._value)
            return leaf._value
        raise _Unsupported(f"leaf {leaf!r}")

    # -- evaluation ---------------------------------------------------------------------------------------
    def is_current(self):
        """Whether every data value the plan copied is still the data's value (no ``set_value`` since)."""
        return data_unchanged(self.watched)

    def _refresh(self):
        """Copy this step's statistics of every minibatch term into ``stats``."""
        for offset, minibatch, _size in self._step_stats:
            stats = minibatch.block_statistics(normal_column_statistics)
            self.stats[offset:offset + stats.size] = stats.ravel()

    def logp_dlogp(self, theta):
        """logp (D,) and its gradient (D, ndim) at theta (D, ndim), as ``Model.logp_dlogp``."""
        self._refresh()
        draws = theta.shape[0]
        logp = np.empty(draws)
        grad = np.empty((draws, self.ndim))
        kernel.fused_logp_dlogp(np.ascontiguousarray(theta), *self.plan, logp, grad)
        return logp, grad

    def step_statistics(self, steps):
        """(steps, Q): the statistics of every minibatch term for each of the last ``steps`` steps, laid out
        as ``segments`` says (for :func:`~nbvi.fused.advi_steps.fused_advi_steps`)."""
        out = np.empty((steps, int(self.segments[:, 2].sum())))
        for (_offset, minibatch, _size), (_, start, size) in zip(self._step_stats, self.segments):
            stats = minibatch.block_statistics(normal_column_statistics, steps)
            out[:, start:start + size] = stats.reshape(steps, size)
        return out

    runs_blocks = True  # (minibatch statistics are drawn ahead for a whole block)

    def nuts_trajectory(self):
        """A function ``run(ws, uniforms)`` that runs a begun NUTS trajectory to its end in one compiled call
        (:func:`~nbvi.fused.trajectory.fused_trajectory`), or None for a model with minibatches."""
        if self._step_stats:
            return None
        from nbvi.fused.trajectory import fused_trajectory

        logp, grad = np.empty(1), np.empty((1, self.ndim))

        def run(ws, uniforms):
            fused_trajectory(ws.vecs, ws.stack_v, ws.stack_s, ws.fs, ws.ints, ws.q_eval, uniforms, *self.plan, logp,
                             grad)

        return run

    def nuts_draws(self):
        """A function ``run(ws, q, logp, grad, step_size, inv_mass, normals, row, uniforms, pos, need, theta,
        stats, averaging, target_accept)`` that makes NUTS transitions in one compiled call
        (:func:`~nbvi.fused.trajectory.fused_draws`), or None for a model with minibatches."""
        if self._step_stats:
            return None
        from nbvi.fused.trajectory import fused_draws

        logp_scratch, grad_scratch = np.empty(1), np.empty((1, self.ndim))

        def run(ws, q, logp, grad, step_size, inv_mass, normals, row, uniforms, pos, need, theta, stats, averaging,
                target_accept):
            return fused_draws(ws.vecs, ws.stack_v, ws.stack_s, ws.fs, ws.ints, ws.q_eval, q, logp, grad, step_size,
                               inv_mass, normals, row, uniforms, pos, need, theta, stats, averaging, target_accept,
                               *self.plan, logp_scratch, grad_scratch)

        return run

    def runs_optimizer(self, optimizer):
        """Whether :meth:`advi_steps` can run ``optimizer`` (an nbvi optimizer with a fixed learning rate) in its
        blocks."""
        return optimizer_code(optimizer) is not None

    def advi_steps(self, method, params, eps, stl, theta, optimizer, state, grad, previous, losses):
        """A block of ADVI steps with their ``optimizer`` updates (:func:`~nbvi.fused.advi_steps.fused_advi_steps`);
        ``method``: "meanfield" or "fullrank". The minibatches must have been advanced over the block's steps.
        Returns the steps whose loss was finite."""
        steps = len(eps)
        return advi_steps.fused_advi_steps(ADVI_METHODS[method], params, eps, stl, theta, *self.plan,
                                           self.step_statistics(steps), self.segments, optimizer_code(optimizer),
                                           state, optimizer.hyper, grad, previous, losses)

    def svgd_step(self, particles, temperature, direction):
        """One SVGD step in one kernel call (:func:`~nbvi.fused.svgd_steps.fused_svgd_step`): the particles'
        (n, ndim) log-density, the median bandwidth and -phi into ``direction`` (n, ndim); returns the loss."""
        self._refresh()
        n = particles.shape[0]
        return svgd_steps.fused_svgd_step(particles, 1.0 / temperature, *self.plan, np.empty(n),
                                          np.empty((n, self.ndim)), np.empty((self.ndim, n)), np.empty((self.ndim, n)),
                                          direction)

    @property
    def runs_svgd_blocks(self):
        """Whether :meth:`svgd_steps` can run blocks of SVGD steps (not with minibatches, read every step)."""
        return not self._step_stats

    def svgd_steps(self, params, temperature, optimizer, state, grad, previous, losses):
        """A block of SVGD steps with their ``optimizer`` updates (:func:`~nbvi.fused.svgd_steps.fused_svgd_steps`;
        ``params`` holds the particles row by row); only when :attr:`runs_svgd_blocks`. Returns the steps whose
        loss was finite."""
        n = params.size // self.ndim
        return svgd_steps.fused_svgd_steps(params, self.ndim, 1.0 / temperature, *self.plan, np.empty(n),
                                           np.empty((n, self.ndim)), np.empty((self.ndim, n)),
                                           np.empty((self.ndim, n)), optimizer_code(optimizer), state,
                                           optimizer.hyper, grad, previous, losses)

    def meanfield_step(self, params, eps, theta, grad, stl=False):
        """One mean-field ADVI step, as :func:`~nbvi.variational.advi.meanfield_step` (loss returned,
        gradient in ``grad``), in one kernel call."""
        self._refresh()
        return advi_steps.fused_meanfield_step(params, eps, stl, theta, *self.plan, grad)

    def fullrank_step(self, params, eps, theta, grad, stl=False):
        """One full-rank ADVI step, as :func:`~nbvi.variational.advi.fullrank_step`, in one kernel call."""
        self._refresh()
        return advi_steps.fused_fullrank_step(params, eps, stl, theta, *self.plan, grad)
