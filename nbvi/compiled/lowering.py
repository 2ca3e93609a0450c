"""Lowering a model's log-density graph to a tape for :mod:`nbvi.compiled.interpreter`.

The model's planned graph walk (``Model._joint()``: a :class:`~nbvi.graph.evaluate.Program` whose output
is the sum of the log-density terms) is read step by step:

* a node that does not depend on the free variables is *folded*: its value is computed once, by the graph
  walk itself, and copied into the constant part of the workspace (nodes reading a Minibatch are
  recomputed before every call instead, as the batch changes);
* elementwise nodes that depend on them (arithmetic, functions, comparisons, where) and the log-density
  terms of scalar families are gathered into *loops*, one per shape: a loop reads its inputs once per
  element, keeps every intermediate value in a register and stores only the values that other
  instructions read (a regression's mean and its Normal term are one pass over the rows, with nothing
  stored);
* any other node that depends on them becomes one or a few instructions writing its own region of the
  workspace; ``reshape`` moves no element and shares its input's region.

A loop is emitted when an instruction needs one of its values (or at the end), so every loop comes after
what it reads and before what reads it.

A graph outside what the tape can run raises :class:`Unsupported` with the reason; the model then walks its
graph. Shapes come from the values of one walk at the initial point, so data whose rows changed since the
model was built (``set_value``) is laid out as it is now.
"""
import numpy as np

from nbvi.compiled import interpreter as ins
from nbvi.data import Data, Minibatch, depends_on_minibatch
from nbvi.distributions.categorical import Categorical
from nbvi.distributions.customdist import CustomDist
from nbvi.distributions.dirichlet import Dirichlet
from nbvi.distributions.distribution import Distribution, LogpTerm
from nbvi.distributions.mixture import NormalMixture
from nbvi.distributions.mvnormal import MvNormal
from nbvi.distributions.pointwise import PointwiseLogp
from nbvi.fused.families import NORMAL, POISSON, family_of
from nbvi.fused.transforms import transform_plan
from nbvi.graph.evaluate import Program
from nbvi.graph.ops import elementwise as ew
from nbvi.graph.ops import reductions as red
from nbvi.graph.ops import special as sf
from nbvi.graph.ops.cumulative import CumProd, CumSum, Diff
from nbvi.graph.ops.linalg import Dot
from nbvi.graph.ops.shape import Concatenate, GetItem, Reshape, Stack, Transpose
from nbvi.potential import PotentialTerm
from nbvi.transforms import Ordered, StickBreaking, ZeroSumTransform


class Unsupported(Exception):
    """The graph holds something the tape cannot run (the message says what). ``expected``: a documented
    case that the graph walk runs well, about which the model need not warn."""

    def __init__(self, reason, expected=False):
        super().__init__(reason)
        self.expected = expected


UNARY = {ew.Neg: ins.NEG, ew.Exp: ins.EXP, ew.Log: ins.LOG, ew.Log1p: ins.LOG1P, ew.Expm1: ins.EXPM1,
         ew.Sqrt: ins.SQRT, ew.Square: ins.SQUARE, ew.Abs: ins.ABS, ew.Sin: ins.SIN, ew.Cos: ins.COS,
         ew.Tan: ins.TAN, ew.Tanh: ins.TANH, ew.Sigmoid: ins.SIGMOID, ew.Softplus: ins.SOFTPLUS,
         ew.Erf: ins.ERF, ew.Sinh: ins.SINH, ew.Cosh: ins.COSH, ew.Arcsin: ins.ARCSIN, ew.Arccos: ins.ARCCOS,
         ew.Arctan: ins.ARCTAN, ew.Arcsinh: ins.ARCSINH, ew.Arccosh: ins.ARCCOSH, ew.Arctanh: ins.ARCTANH,
         ew.Floor: ins.FLOOR, ew.Ceil: ins.CEIL, ew.Round: ins.ROUND, ew.Sign: ins.SIGN,
         sf.Erfc: ins.ERFC, sf.Erfinv: ins.ERFINV, sf.Gammaln: ins.GAMMALN, sf.Digamma: ins.DIGAMMA,
         sf.Log1mexp: ins.LOG1MEXP, sf.LogSigmoid: ins.LOG_SIGMOID}
BINARY = {ew.Add: ins.ADD, ew.Sub: ins.SUB, ew.Mul: ins.MUL, ew.Div: ins.DIV, ew.Pow: ins.POW,
          ew.Maximum: ins.MAXIMUM, ew.Minimum: ins.MINIMUM, sf.LogAddExp: ins.LOGADDEXP,
          sf.LogDiffExp: ins.LOGDIFFEXP}
# an affine combination of scalars (a regression's mean) becomes a matrix-vector product from this many
# scalars and elements on (below, the loop's operations are as fast)
AFFINE_MIN_TERMS, AFFINE_MIN_SIZE = 2, 64
# up to this many scalars a loop computes the product block by block (a block's BLOCK x K numbers of the arrays
# are still in the cache for its backward sweep: one read of the data per call instead of two); more as one
# matrix-vector product before the loop
AFFINE_BLOCK_MAX_TERMS = 128
# a Normal term with an affine mean of K scalars over n elements runs from the data's statistics (O(K^2)
# per call) instead of over its elements (O(n K)) when K^2 <= GRAM_MAX_RATIO n
GRAM_MAX_RATIO = 1.0
GATHER_MAX_ELEMENTS = 4_000_000  # the indicator columns of v[index] in an affine form, at most
DENSE_FIT_MAX_ELEMENTS = 2_000_000  # a NORMAL_GRAM's least-squares fit is dense up to this many column entries
COMPARE = {"eq": ins.EQ, "neq": ins.NEQ, "lt": ins.LT, "le": ins.LE, "gt": ins.GT, "ge": ins.GE}


def _size(shape):
    return int(np.prod(shape, dtype=np.int64))


class Operand:
    """Where an instruction reads or writes element j: region ``key`` at ``stride * j`` plus, when ``positions``
    is given, ``positions[j]`` (see the interpreter's module docstring)."""

    def __init__(self, key, stride=1, positions=None, shift=0):
        self.key, self.stride, self.positions, self.shift = key, stride, positions, shift


class Loop:
    """A LOOP instruction being built: micro rows over the elements of one shape, values in registers.

    Attributes
    ----------
    shape : tuple, n : int
    rows : list of (opcode, dst, [a, b, c, e, f], Operand or None, flags, family, mparams, (scalars key, count,
        uniform) of an AFFINE row or None)
    registers : dict key -> register: the loop's values (graph slots) and loaded operands (("load", key))
    """

    def __init__(self, shape):
        self.shape, self.n = tuple(shape), _size(shape)
        self.rows = []
        self.registers = {}
        self.n_registers = 0
        self.terms = set()  # slots of the log-density terms the loop adds up
        self.open = True

    def new_register(self, key):
        self.registers[key] = self.n_registers
        self.n_registers += 1
        return self.registers[key]

    def add(self, opcode, dst=0, sources=(), operand=None, flags=0, family=0, mparams=(0.0, 0.0), scalars=None):
        sources = list(sources) + [sources[0] if sources else 0] * (5 - len(sources))  # unused: any register
        self.rows.append((opcode, dst, sources, operand, flags, family, mparams, scalars))


ZERO_SUM_MAX_ENTRIES = 4_000_000  # the largest matrix of a zero-sum transform the tape holds (32 MB)


def _zero_sum_matrix(rv):
    """The matrix A (n, m) of ``rv``'s ZeroSumTransform over its zero-sum axes (which must be its last ones),
    flattened in C order: x = A u with n = prod n_i, m = prod (n_i - 1); along one axis of length n,
    A = [I - c 1 1^T; -1^T / sqrt(n)] with c = 1 / (n + sqrt(n)) (:class:`~nbvi.transforms.ZeroSumTransform`),
    and over several the Kronecker product of theirs. Unsupported when the axes are not the last ones or the
    matrix would be too large."""
    axes = sorted(a if a < 0 else a - len(rv.shape) for a in rv.transform.zerosum_axes)
    if axes != list(range(-len(axes), 0)):
        raise Unsupported(f"the zero-sum axes {rv.transform.zerosum_axes} of '{rv.name}' are not its last axes")
    lengths = rv.shape[len(rv.shape) - len(axes):]
    if np.prod(lengths, dtype=np.float64) * np.prod([n - 1 for n in lengths], dtype=np.float64) > ZERO_SUM_MAX_ENTRIES:
        raise Unsupported(f"the zero-sum transform of '{rv.name}' over axes of lengths {lengths} needs a matrix of "
                          f"over {ZERO_SUM_MAX_ENTRIES} numbers")
    matrix = np.ones((1, 1))
    for n in lengths:
        m = n - 1
        one_axis = np.vstack([np.eye(m) - np.full((m, m), 1.0 / (n + np.sqrt(n))), np.full((1, m), -1.0 / np.sqrt(n))])
        matrix = np.kron(matrix, one_axis)
    return matrix


class Tape:
    """The lowered form of one model.

    Attributes (after construction)
    -------------------------------
    ndim : int
    transform, lower, upper : per-element transforms of theta
    code : int64 (I, CODE_COLUMNS), fparams : (I, 2): the instructions
    micro : int64 (U, MICRO_COLUMNS), mparams : (U, 2): the loops' micro rows; ``n_registers``: the most
        registers a loop uses (scratch rows included)
    index : int64 (P,): the positions of operands laid out otherwise than contiguously
    workspace : (W,) the computed part (``n_dynamic`` numbers), the constants in place, then the scratch of a
        call (:func:`~nbvi.compiled.interpreter.call_scratch_size`)
    watched : dict id -> (Data, value array): the data values the tape copied
    refresh : (Program, [offset]) or None: values reading a Minibatch, recomputed before each call; the
        program's outputs are those values (copied to the offsets), then the terms that read a Minibatch
        but no free variable (added to logp)
    constant_logp : float, the sum of the other terms that do not depend on the free variables
    """

    def __init__(self, model):
        program, layout, ndim = model._joint()
        self.watched = {}  # first: a refusal keeps the data it saw (a set_value makes the model look again)
        self._watch_leaves(program)
        self.ndim = ndim
        # elementwise transforms run element by element before the tape; stick-breaking is an instruction, the
        # zero-sum transform (linear) a matrix product
        simplexes = [k for k, (rv, _where, _ushape) in enumerate(layout)
                     if type(rv.transform) in (StickBreaking, Ordered)]  # (instructions of a row at a time)
        zero_sums = [k for k, (rv, _where, _ushape) in enumerate(layout) if type(rv.transform) is ZeroSumTransform]
        plan, why = transform_plan([entry for k, entry in enumerate(layout) if k not in simplexes + zero_sums], ndim)
        if plan is None:
            raise Unsupported(why)
        self.transform, self.lower, self.upper = plan
        self.program = program

        # one walk at the initial point gives every slot's value (the folded constants) and shape
        xs = model.constrained_values(model.initial_point_flat()[None]) if model.free_RVs else []
        self.values, _ = program.forward(xs)
        for slot, leaf in program.leaves_in_place:  # a minibatch read in place by its term: its batch
            self.values[slot] = leaf.value()
        self.depends = [False] * program.n_slots
        for k in range(len(program.inputs)):
            self.depends[k] = True
        for k, _node, inputs in program.steps:
            self.depends[k] = any(self.depends[i] for i in inputs)

        self.regions = {}  # key -> (part, offset, size): part "x", "dynamic" or "const"
        self._dynamic_size = ndim
        self._consts = {}  # slot -> its folded value, flat
        self._const_size = 0
        self.instructions = []  # (opcode, n, out, [a, b], flags, aux, fparams); a LOOP's aux is its Loop
        self._open_loops = {}  # shape -> the open Loop of that shape
        self._registers_needed = 0  # rows of the register file an instruction other than a loop uses
        self._in_loop = {}  # slot -> the open Loop computing it
        self._steps = {k: (node, inputs) for k, node, inputs in program.steps}
        self.consumers = {}  # slot -> slots of the steps that read it
        for k, _node, inputs in program.steps:
            for i in inputs:
                self.consumers.setdefault(i, set()).add(k)
        self._refresh_nodes = []  # (slot, node) of folded values that read a Minibatch
        self.constant_logp = 0.0
        self._constant_terms = []  # nodes of folded terms that read a Minibatch
        self._gathered = set()  # nodes whose affine form reads a vector through an index array (a[group])
        self._affine_roots, self._affine_inside = self._affine_forms()
        self._gram_means = set(self._gram_terms.values())
        self._place_free_variables(layout, simplexes, zero_sums)
        self._lower_program()
        self._finish()
        # the walk's values and the affine forms' coefficients (the columns of a regression's data): the
        # folded ones are in the workspace now, and a model with large data should not hold them twice
        del self.values
        self._affine_roots = self._affine_inside = self._statistics = None

    def _place_free_variables(self, layout, simplexes, zero_sums):
        """The constrained free variables at the start of the workspace, where theta has them; a simplex
        (stick-breaking), an ordered vector or a zero-sum variable gets a region of its own, which its
        instruction fills from u in theta: STICKBREAKING, ORDERED, or x = u A^T (DOT) with A the zero-sum
        transform's matrix (its log-Jacobian is 0)."""
        for k, (rv, where, _ushape) in enumerate(layout):
            if k in simplexes or k in zero_sums:
                self.regions[("u", k)] = ("x", where.start, where.stop - where.start)
                self._new_region(k, rv.size)
            else:
                self.regions[k] = ("x", where.start, where.stop - where.start)
            if k in simplexes:
                n_comp = rv.shape[-1]
                opcode = ins.STICKBREAKING if type(rv.transform) is StickBreaking else ins.ORDERED
                self._emit(opcode, rv.size // n_comp, Operand(k), [Operand(("u", k))], aux=(n_comp, 0, 0))
            elif k in zero_sums:
                matrix = _zero_sum_matrix(rv)  # (n, m): x = A u over the zero-sum axes, flattened
                rows = rv.size // matrix.shape[0]  # the batch
                key = self._constant(("zerosum", k), matrix.T)
                self._emit(ins.DOT, rv.size, Operand(k), [Operand(("u", k)), Operand(key)],
                           aux=(rows, matrix.shape[1], matrix.shape[0]))

    def _lower_program(self):
        """Every step that depends on the free variables, then the terms; the open loops last."""
        program = self.program
        terms = self._terms()
        steps = {k: (node, inputs) for k, node, inputs in program.steps}
        total = program.output_slots[0]  # the sum of the terms, added up by the interpreter itself
        for k, node, inputs in program.steps:
            if self.depends[k] and k not in terms and k != total and k not in self._potentials_of_terms:
                self._lower(k, node, inputs)
        for k in terms:
            node, inputs = steps[k]
            if self.depends[k] and type(node.op) is PotentialTerm:
                self._potential(k, inputs)
            elif self.depends[k]:
                self._term(k, node.op, inputs)
            elif depends_on_minibatch(node):
                self._constant_terms.append(node)
            else:
                self.constant_logp += float(self.values[k][0])
        for loop in list(self._open_loops.values()):
            self._close(loop)

    # -- what the tape reads --------------------------------------------------------------------------------
    def _watch_leaves(self, program):
        for _slot, leaf in program.leaves + program.leaves_in_place:
            for node in (leaf, getattr(leaf, "observed", None), getattr(leaf, "shared", None)):
                if type(node) is Data or isinstance(node, Minibatch):
                    data = node.shared if isinstance(node, Minibatch) else node
                    self.watched[id(data)] = (data, data._value)

    def _terms(self):
        """Slots of the log-density terms (distribution terms and potentials): the output, or the inputs of
        the output's add_n."""
        program = self.program
        out = program.output_slots[0]
        steps = {k: (node, inputs) for k, node, inputs in program.steps}
        if out not in steps:
            raise Unsupported("the log-density is not computed by any op")
        node, inputs = steps[out]
        slots = list(inputs) if isinstance(node.op, ew.AddN) else [out]
        self._potentials_of_terms = set()  # potentials of one distribution term (dist.logp(x)): the term itself
        for position, k in enumerate(slots):
            if k in steps and type(steps[k][0].op) is PotentialTerm:
                (i,) = steps[k][1]
                if i in steps and isinstance(steps[i][0].op, LogpTerm) and self.consumers.get(i) == {k}:
                    self._potentials_of_terms.add(k)
                    slots[position] = i  # (the sum of one number is that number)
        for k in slots:
            if k not in steps or not isinstance(steps[k][0].op, (LogpTerm, PotentialTerm)):
                raise Unsupported("the log-density is not a sum of distribution terms")
            if isinstance(steps[k][0].op, LogpTerm) and isinstance(steps[k][0].op.dist, CustomDist):
                raise Unsupported(f"CustomDist '{steps[k][0].op.dist.name}' (its log-density is the user's Python "
                                  f"code, which runs on the graph walk)", expected=True)
        for k, _node, inputs in program.steps:
            if k != out and k not in self._potentials_of_terms and any(i in slots for i in inputs):
                raise Unsupported("a log-density term is used inside another expression")
        return slots

    # -- regions -----------------------------------------------------------------------------------------------
    def _shape(self, slot):
        value = self.values[slot]
        return tuple(value.shape[1:])

    def _region(self, slot):
        """The region key of a slot's value, folding (copying) it into the constants the first time; a value
        of an open loop is stored by closing the loop."""
        if slot in self._in_loop:
            self._close(self._in_loop[slot])
        if slot in self.regions:
            return slot
        if self.depends[slot]:
            raise Unsupported("internal: a computed value was read before it was written")
        value = self.values[slot]
        if value.shape[0] != 1:
            raise Unsupported("a constant with a draw axis")
        if value.dtype.kind not in "fiub":
            raise Unsupported(f"a value of dtype {value.dtype}")
        array = np.ascontiguousarray(value[0], dtype=np.float64).ravel()
        self.regions[slot] = ("const", self._const_size, array.size)
        self._consts[slot] = array
        self._const_size += array.size
        node = self.program.nodes[slot]
        if depends_on_minibatch(node):
            self._refresh_nodes.append((slot, node))
        return slot

    def _new_region(self, key, size):
        self.regions[key] = ("dynamic", self._dynamic_size, size)
        self._dynamic_size += size
        return key

    def _broadcast(self, slot, target):
        """The operand reading ``slot`` at every element of shape ``target`` (numpy broadcasting)."""
        key = self._region(slot)
        shape = self._shape(slot)
        if _size(shape) == 1:
            return Operand(key, 0)
        if (1,) * (len(target) - len(shape)) + shape == tuple(target):
            return Operand(key, 1)
        positions = np.broadcast_to(np.arange(_size(shape)).reshape(shape), target)
        return Operand(key, 0, positions.ravel())

    def _emit(self, opcode, n, out, operands, aux=(0, 0, 0), fparams=(0.0, 0.0)):
        """Append an instruction; input operands that carry a gradient get their bit in ``flags``."""
        flags = 0
        for i, operand in enumerate(operands):
            if operand is not None and self._needs_gradient(operand.key):
                flags |= 1 << i
        self.instructions.append((opcode, n, out, list(operands), flags, aux, fparams))

    def _needs_gradient(self, key):
        """Whether d logp / d(region ``key``) is wanted: free variables and computed values, not constants or
        scratch (intermediate regions of a node's instructions are keyed by tuples)."""
        if key in self.regions and self.regions[key][0] == "const":
            return False
        if isinstance(key, tuple):
            return key[0] != "scratch"
        return self.depends[key]

    def _constant(self, key, array):
        """A constant region of the tape's own (not a graph slot's value)."""
        array = np.ascontiguousarray(array, dtype=np.float64).ravel()
        self.regions[key] = ("const", self._const_size, array.size)
        self._consts[key] = array
        self._const_size += array.size
        return key

    # -- ops -------------------------------------------------------------------------------------------------
    def _lower(self, k, node, inputs):
        if k in self._affine_inside or k in self._gram_means:  # computed within what reads it
            return
        if k in self._affine_roots:
            self._affine(k, *self._affine_roots[k])
            return
        op = node.op
        shape = self._shape(k)
        n = _size(shape)
        kind = type(op)
        if node.dtype.kind != "f" and not isinstance(op, ew.Compare):
            raise Unsupported(f"'{op.name}' gives {node.dtype} values that depend on the free variables")
        for i in inputs:
            if self.depends[i] and self.program.nodes[i].dtype.kind != "f" and not (
                    kind is ew.Where and i == inputs[0]):
                raise Unsupported(f"'{op.name}' takes a non-differentiable value of the free variables "
                                  f"(the graph walk says why)")
        if kind is Reshape:  # moves no element: the same region
            self._region(inputs[0])
            self.regions[k] = self.regions[inputs[0]]
            return
        if kind in UNARY or kind in BINARY or kind in (ew.Clip, ew.Compare, ew.Where, ew.AddN):
            self._elementwise(k, op, inputs, shape)
            return
        if kind in (red.Sum, red.Mean, red.Max, red.Min, red.LogSumExp):
            source = self._shape(inputs[0])
            self._reduce(k, op, self._broadcast(inputs[0], source), source)
            return
        if kind in (red.Var, red.Std):
            self._var(k, op, inputs[0])
            return
        if kind in (red.Prod, CumSum, CumProd):
            self._along_lines(k, op, inputs[0])
            return
        if kind is Diff:
            self._diff(k, op, inputs[0], shape)
            return
        if kind in (red.Softmax, red.LogSoftmax):
            self._softmax(k, op, inputs[0])
            return
        if kind is Dot:
            self._dot(k, op, inputs, shape)
            return
        if kind is GetItem:
            positions = self._gathered_positions(op, inputs)
            if positions is None:
                readers = ", ".join(label for node, label, _axis, _n in op.index_checks if depends_on_minibatch(node))
                raise Unsupported(f"{op.x_label}[...] indexed by {readers}: its positions change at every call, "
                                  f"and the tape lays out the positions it reads once")
            out = self._new_region(k, n)
            self._emit(ins.COPY, n, Operand(out), [Operand(self._region(inputs[0]), 0, positions)])
            return
        if kind is Transpose:
            source = self._shape(inputs[0])
            perm = tuple(a - 1 for a in op.perm[1:])
            positions = np.arange(_size(source)).reshape(source).transpose(perm).ravel()
            out = self._new_region(k, n)
            self._emit(ins.COPY, n, Operand(out), [Operand(self._region(inputs[0]), 0, positions)])
            return
        if kind in (Concatenate, Stack):
            self._join(k, op, inputs, shape)
            return
        if kind is PointwiseLogp:
            self._pointwise_logp(k, op, inputs, shape)
            return
        raise Unsupported(f"op '{op.name}' ({kind.__name__})")

    # -- affine combinations: a regression's mean as one matrix-vector product ------------------------------
    def _affine_forms(self):
        """The nodes that are affine combinations c + sum_k s_k C_k of scalar values s_k that depend on the free
        variables (scalars, or elements of a vector v in ``X @ v``) and arrays C_k, c that do not
        (``a + b1 * x1 + b2 * x1 * x2``, ``alpha + X @ beta``), with at least
        AFFINE_MIN_TERMS scalars and AFFINE_MIN_SIZE elements; with a vector read through an index array
        (``a[group] + b * x``), only as the mean of a Normal term from its data's statistics. Returns
        ({root: (coefficients, constant)}, the nodes inside the roots' combinations that nothing else reads),
        and sets ``self._gram_terms``."""
        forms = {}
        for k, _node, _inputs in self.program.steps:
            if self.depends[k]:
                forms[k] = self._affine_form(k, forms)
        linear = {k for k, form in forms.items() if form is not None and _size(self._shape(k)) >= AFFINE_MIN_SIZE}
        # an element of a vector (b[1]) read only by combinations: the combination reads the vector itself
        elements = {k for k, form in forms.items()
                    if form is not None and _size(self._shape(k)) == 1 and isinstance(self._scalar_key(k), tuple)}
        roots, inside = {}, set()
        for k in linear | elements:
            if all(c in linear for c in self.consumers.get(k, ())):
                inside.add(k)
            elif k in linear and len(forms[k][0]) >= AFFINE_MIN_TERMS:
                roots[k] = forms[k]
        # a mean that reads a vector through an index array is worth it only from its data's statistics
        # (as a product with stacked indicator columns it would cost groups x rows): keep it only there
        self._gram_terms = self._linear_normal_terms(roots)  # term slot -> the slot of its affine mean
        means = set(self._gram_terms.values())
        roots = {k: form for k, form in roots.items() if k not in self._gathered or k in means}
        # a node is left inside its roots' combinations only if every consumer is a root or inside as well
        while True:
            dropped = {k for k in inside if any(c not in inside and c not in roots for c in self.consumers[k])}
            if not dropped:
                return roots, inside
            inside -= dropped

    def _affine_form(self, k, forms):
        """({scalar slot: coefficient array}, constant array) of node k, or None (see :meth:`_affine_forms`)."""
        if not self.depends[k]:
            value = self.values[k]
            node = self.program.nodes[k]
            if value.shape[0] != 1 or value.dtype.kind not in "fiub" or depends_on_minibatch(node):
                return None
            return {}, np.asarray(value[0], dtype=np.float64)
        if k in forms:
            return forms[k]
        if _size(self._shape(k)) == 1 and self.program.nodes[k].dtype.kind == "f":
            return {self._scalar_key(k): np.ones(())}, np.zeros(())
        steps = self._steps
        if k not in steps:
            return None
        node, inputs = steps[k]
        kind = type(node.op)
        if kind is Dot:
            return self._affine_dot(k, inputs)
        if kind is GetItem:
            return self._affine_gather(k, node.op, inputs[0])
        if kind not in (ew.Add, ew.Sub, ew.Mul, ew.Div, ew.Neg):
            return None
        parts = [self._affine_form(i, forms) for i in inputs]
        if any(part is None for part in parts):
            return None
        if any(i in self._gathered for i in inputs):
            self._gathered.add(k)
        if kind is ew.Neg:
            (coefficients, constant), = parts
            return {slot: -c for slot, c in coefficients.items()}, -constant
        (ca, a), (cb, b) = parts
        if kind in (ew.Add, ew.Sub):
            sign = 1.0 if kind is ew.Add else -1.0
            coefficients = dict(ca)
            for slot, c in cb.items():  # (c itself when added: a column of a large matrix is not copied here)
                if slot in coefficients:
                    coefficients[slot] = coefficients[slot] + sign * c
                else:
                    coefficients[slot] = c if sign == 1.0 else -c
            return coefficients, a + sign * b
        if kind is ew.Mul and not cb:  # (c + sum s C) b
            return {slot: c * b for slot, c in ca.items()}, a * b
        if kind is ew.Mul and not ca:
            return {slot: a * c for slot, c in cb.items()}, a * b
        if kind is ew.Div and not cb:
            return {slot: c / b for slot, c in ca.items()}, a / b
        return None

    def _scalar_key(self, k):
        """The key of scalar node k in an affine form: (v, e) when it is element e of a vector v that depends on
        the free variables (``b[1]``: the form reads b itself), else k."""
        step = self._steps.get(k)
        if step is None or type(step[0].op) is not GetItem or not self.depends[step[1][0]]:
            return k
        positions = self._gathered_positions(step[0].op, step[1])
        return k if positions is None else (step[1][0], int(positions[0]))

    def _gathered_positions(self, op, inputs):
        """The flat positions in x = ``inputs[0]`` that the GetItem ``op`` reads, in the order of its output;
        integer nodes in the index (``a[group]``, group a Data) give their values of the walk (the tape is
        built again after their ``set_value``). None when such a node reads a Minibatch: its positions are
        drawn anew at every call, and the tape's index map is laid out once."""
        if any(depends_on_minibatch(self.program.nodes[i]) for i in inputs[1:]):
            return None
        source = self._shape(inputs[0])
        flat = np.arange(_size(source)).reshape((1,) + source)
        return flat[op.batched_index_of(flat, [self.values[i] for i in inputs[1:]])].ravel()

    def _affine_gather(self, k, op, source):
        """The form of ``v[index]`` of a vector v that depends on the free variables: element p of v (the key
        (v, p)) times the indicator of the positions that read it; None when that would be more than
        GATHER_MAX_ELEMENTS numbers."""
        if not self.depends[source] or self.program.nodes[source].dtype.kind != "f":
            return None
        shape = self._shape(k)
        positions = self._gathered_positions(op, self._steps[k][1])
        if positions is None:
            return None
        read = np.unique(positions)
        if len(read) * positions.size > GATHER_MAX_ELEMENTS:
            return None
        self._gathered.add(k)
        return {(source, int(p)): (positions == p).astype(np.float64).reshape(shape) for p in read}, np.zeros(shape)

    def _affine_dot(self, k, inputs):
        """The form of ``A @ v`` with A (n, K) fixed and v (K,) depending on the free variables: element e of v
        (the key (v, e)) times column e of A."""
        a, v = inputs
        if self.depends[a] or not self.depends[v] or depends_on_minibatch(self.program.nodes[a]):
            return None
        matrix = self.values[a]
        if matrix.shape[0] != 1 or matrix.dtype.kind not in "fiub" or self.program.nodes[v].dtype.kind != "f":
            return None
        matrix = np.asarray(matrix[0], dtype=np.float64)
        if matrix.ndim != 2 or self._shape(v) != (matrix.shape[1],) or self._shape(k) != (matrix.shape[0],):
            return None
        return {(v, e): matrix[:, e] for e in range(matrix.shape[1])}, np.zeros(matrix.shape[0])

    def _affine(self, k, coefficients, constant):
        """Node k = constant + sum_s s C_s as the product of the stacked arrays (stored transposed: one
        contiguous row per scalar) with the vector of scalars, then, in the loop of its shape, the constant
        added. Up to AFFINE_BLOCK_MAX_TERMS scalars the loop computes the product block by block (an AFFINE
        row: each block of C is read once from memory, forward and backward; the scalars whose C_s is one
        number everywhere, an intercept, come first and are kept as that number); more as a DOT before it."""
        shape = self._shape(k)
        n = _size(shape)
        loop = self._loop_of(shape)
        if len(coefficients) <= AFFINE_BLOCK_MAX_TERMS:
            full = {key: np.broadcast_to(c, shape) for key, c in coefficients.items()}  # (views, no copies)
            uniform = [key for key, c in full.items() if n and np.all(c == c.flat[0])]
            rows = [key for key in full if key not in uniform]
            scalars, _ = self._gather_scalars(k, {key: coefficients[key] for key in uniform + rows}, stack=False)
            columns = np.empty(len(uniform) + len(rows) * n)  # the uniform rows' numbers, then the other rows
            columns[:len(uniform)] = [full[key].flat[0] for key in uniform]
            for position, key in enumerate(rows):
                start = len(uniform) + position * n
                columns[start:start + n] = full[key].ravel()
            matrix = self._constant(("affine_columns", k), columns)
            total = loop.new_register(("affine", k))
            loop.add(ins.AFFINE, total, operand=Operand(matrix, n), flags=1,
                     scalars=(scalars, len(rows), len(uniform)))
        else:
            scalars, columns = self._gather_scalars(k, coefficients)
            matrix = self._constant(("affine_columns", k), columns)
            product = self._new_region(("affine", k), n)
            self._emit(ins.DOT, n, Operand(product), [Operand(matrix), Operand(scalars)], aux=(n, len(columns), 1))
            opcode, count, out, operands, flags, aux, fparams = self.instructions[-1]
            self.instructions[-1] = (opcode, count, out, operands, flags | ins.A_TRANSPOSED, aux, fparams)
            total = self._load(loop, ("load", ("affine", k)), Operand(product))
        if np.any(constant != 0.0):
            key = self._constant(("affine_constant", k), np.broadcast_to(constant, shape))
            dst = loop.new_register(("affine_sum", k))
            loop.add(ins.ADD, dst, [total, self._load(loop, ("load", key), Operand(key))])
            total = dst
        loop.registers[k] = total
        self._in_loop[k] = loop

    def _gather_scalars(self, k, coefficients, stack=True):
        """COPY the scalars of node k's affine form into one vector region; returns (its key, their arrays
        C_s stacked (K, n), broadcast to node k's shape; None unless ``stack``)."""
        shape = self._shape(k)
        scalars = self._new_region(("affine_scalars", k), len(coefficients))
        runs = []  # [slot, first element, count]: consecutive elements of one region gathered by one COPY
        for key in coefficients:  # a scalar's slot, or (a vector's slot, an element)
            slot, element = key if isinstance(key, tuple) else (key, 0)
            if runs and runs[-1][0] == slot and runs[-1][1] + runs[-1][2] == element:
                runs[-1][2] += 1
            else:
                runs.append([slot, element, 1])
        position = 0
        for slot, element, count in runs:
            self._emit(ins.COPY, count, Operand(scalars, 1, shift=position),
                       [Operand(self._region(slot), 1, shift=element)])
            position += count
        if not stack:
            return scalars, None
        columns = np.stack([np.broadcast_to(c, shape).ravel() for c in coefficients.values()])
        return scalars, columns

    # -- linear regressions with a Normal likelihood: a term from the data's statistics -------------------
    def _linear_normal_terms(self, roots):
        """{term slot: mean slot} of the Normal terms that :meth:`_gram_term` runs: fixed finite values (no
        Minibatch), a mean among ``roots`` that nothing else reads, of the term's shape and with finite
        arrays, one sigma, and statistics cheaper than the rows: the nonzero entries of the upper triangle
        of G = C C^T, plus K, at most GRAM_MAX_RATIO n. The statistics are computed here
        (``self._statistics``)."""
        from scipy import sparse  # (on first use: scipy.sparse is slow to import, and few models need it)

        found, self._statistics = {}, {}
        for k in self._terms():
            node, inputs = self._steps[k]
            if type(node.op) is PotentialTerm:
                continue
            dist = node.op.dist
            if family_of(dist) != (NORMAL, 2) or type(dist).logp_partials is not Distribution.logp_partials:
                continue
            if len(inputs) != 3:
                continue
            value, mu, sigma = inputs
            if mu not in roots or self.consumers.get(mu) != {k}:
                continue
            if self.depends[value] or depends_on_minibatch(self.program.nodes[value]):
                continue
            shape = self._shape(mu)
            if (_size(self._shape(sigma)) != 1 or self.values[value].shape[0] != 1
                    or np.broadcast_shapes(self._shape(value), shape) != shape
                    or not np.all(np.isfinite(self.values[value]))):
                continue
            coefficients, constant = roots[mu]
            if len(coefficients) > GRAM_MAX_RATIO * _size(shape):
                continue
            columns = np.stack([np.broadcast_to(c, shape).ravel() for c in coefficients.values()])
            if not (np.all(np.isfinite(columns)) and np.all(np.isfinite(constant))):
                continue
            with np.errstate(over="ignore", invalid="ignore"):
                gram = sparse.csr_matrix(columns) @ sparse.csr_matrix(columns).T
            upper = sparse.triu(gram).tocoo()
            if not np.all(np.isfinite(upper.data)) or upper.nnz + len(coefficients) > GRAM_MAX_RATIO * _size(shape):
                continue
            found[k] = mu
            self._statistics[k] = (columns, upper)
        return found

    def _gram_term(self, k, op, inputs):
        """A NORMAL_GRAM instruction for term k (:func:`~nbvi.compiled.interpreter._normal_gram`): b = C r,
        s0 and the nonzero entries of the upper triangle of G = C C^T, around the least-squares fit s0 of
        y - c on C (r its residual, q = r^T r)."""
        from scipy import sparse
        from scipy.sparse import linalg as _sparse_linalg  # noqa: F401  (sparse.linalg.lsqr)

        value, mu, sigma = inputs
        coefficients, constant = self._affine_roots[mu]
        columns, upper = self._statistics[k]
        shape = self._shape(mu)
        scalars, _ = self._gather_scalars(mu, coefficients)
        residual = (np.broadcast_to(self.values[value][0], shape).astype(np.float64).ravel()
                    - np.broadcast_to(constant, shape).ravel())
        if columns.size <= DENSE_FIT_MAX_ELEMENTS:
            fit = np.linalg.lstsq(columns.T, residual, rcond=None)[0]
        else:  # (many indicator columns: an iterative least-squares fit of the sparse design)
            fit = sparse.linalg.lsqr(sparse.csr_matrix(columns.T), residual, atol=1e-14, btol=1e-14,
                                     iter_lim=10 * len(columns))[0]
        residual = residual - columns.T @ fit
        stats = self._constant(("gram", k), np.concatenate([columns @ residual, fit, upper.data,
                                                            upper.row.astype(np.float64), upper.col.astype(np.float64)]))
        scale = float(op.factor(self.values[value]))
        scratch = self._new_region(("scratch", ("gram", k)), len(columns))
        self._emit(ins.NORMAL_GRAM, _size(shape), Operand(scratch),
                   [Operand(scalars), self._broadcast(sigma, (1,)), Operand(stats)],
                   aux=(len(columns), upper.nnz, 0), fparams=(scale, float(residual @ residual)))

    # -- loops -------------------------------------------------------------------------------------------------
    def _loop_of(self, shape):
        """The open loop over ``shape``, opened if there is none."""
        loop = self._open_loops.get(tuple(shape))
        if loop is None:
            loop = self._open_loops[tuple(shape)] = Loop(shape)
        return loop

    def _in_register(self, loop, slot):
        """The register of ``loop`` holding ``slot``'s value at each element: the loop's own, or a LOAD."""
        if slot in loop.registers:
            return loop.registers[slot]
        if ("load", slot) in loop.registers:
            return loop.registers[("load", slot)]
        operand = self._broadcast(slot, loop.shape)  # (stores it first when another open loop computes it)
        return self._load(loop, ("load", slot), operand)

    def _load(self, loop, key, operand):
        register = loop.new_register(key)
        loop.add(ins.LOAD, register, operand=operand, flags=int(self._needs_gradient(operand.key)))
        return register

    def _clip_to_arrays(self, k, op, loop, x, shape):
        """clip(x, lower, upper) with array bounds, as numpy's min(max(x, lower), upper):

            r = where(x < lower, lower, x);   clip = where(r > upper, upper, r)

        with each bound a constant of the tape broadcast to ``shape``. d clip / dx passes where neither
        where takes its bound: lower <= x <= upper, bounds included, as the graph's clip."""
        result = x
        for which, bound, test in (("lower", op.lower, ins.LT), ("upper", op.upper, ins.GT)):
            if bound is None:
                continue
            key = self._constant(("clip", k, which), np.broadcast_to(np.asarray(bound, dtype=np.float64), shape))
            limit = self._load(loop, ("load", key), Operand(key, 1))
            outside = loop.new_register(("clip", k, which, "outside"))
            loop.add(test, outside, [result if which == "upper" else x, limit])
            chosen = loop.new_register(k if which == "upper" or op.upper is None else ("clip", k, which))
            loop.add(ins.WHERE, chosen, [outside, limit, result])
            result = chosen
        self._in_loop[k] = loop

    def _elementwise(self, k, op, inputs, shape):
        """An elementwise node as micro rows of the open loop of its shape."""
        loop = self._loop_of(shape)
        sources = [self._in_register(loop, i) for i in inputs]
        kind = type(op)
        if kind is ew.AddN:  # x_1 + ... + x_m as a chain of additions in registers
            total = sources[0]
            for position, source in enumerate(sources[1:], start=1):
                dst = loop.new_register(k if position == len(sources) - 1 else ("add_n", k, position))
                loop.add(ins.ADD, dst, [total, source])
                total = dst
            if len(sources) == 1:
                loop.registers[k] = total
            self._in_loop[k] = loop
            return
        if kind is ew.Clip and any(bound is not None and np.ndim(bound) for bound in (op.lower, op.upper)):
            self._clip_to_arrays(k, op, loop, sources[0], shape)
            return
        dst = loop.new_register(k)
        if kind is ew.Clip:
            lo = -np.inf if op.lower is None else float(op.lower)
            hi = np.inf if op.upper is None else float(op.upper)
            loop.add(ins.CLIP, dst, sources, mparams=(lo, hi))
        elif kind is ew.Compare:
            loop.add(COMPARE[op.name], dst, sources)
        elif kind is ew.Where:
            loop.add(ins.WHERE, dst, sources)
        else:
            loop.add(UNARY[kind] if kind in UNARY else BINARY[kind], dst, sources)
        self._in_loop[k] = loop

    def _pointwise_logp(self, k, op, inputs, shape):
        """Each element's log-density of a scalar family: one LOGPDF micro row of the open loop of its shape."""
        found = family_of(op.dist)
        if found is None or len(inputs) != 1 + found[1]:
            raise Unsupported(f"the log-density of each element of {type(op.dist).__name__}")
        loop = self._loop_of(shape)
        sources = [self._in_register(loop, i) for i in inputs]
        loop.add(ins.LOGPDF, loop.new_register(k), sources, family=found[0])
        self._in_loop[k] = loop

    def _close(self, loop):
        """Emit ``loop``: its values that other instructions read are stored into regions of their own."""
        if not loop.open:
            return
        loop.open = False
        del self._open_loops[loop.shape]
        for key, register in list(loop.registers.items()):
            if isinstance(key, tuple):
                continue  # loaded operands and intermediate sums
            del self._in_loop[key]
            if any(c not in loop.registers and c not in loop.terms for c in self.consumers.get(key, ())):
                self._new_region(key, loop.n)
                loop.add(ins.STORE, 0, [register], operand=Operand(key, 1))
        self.instructions.append((ins.LOOP, loop.n, None, [], 1, loop, (0.0, 0.0)))

    def _standalone(self, key, opcode, shape, operands):
        """``key = opcode(operands)`` over ``shape`` as a loop of its own (the steps of var and softmax)."""
        loop = Loop(shape)
        sources = [self._load(loop, ("load", position), operand) for position, operand in enumerate(operands)]
        dst = loop.new_register(("value",))
        loop.add(opcode, dst, sources)
        self._new_region(key, loop.n)
        loop.add(ins.STORE, 0, [dst], operand=Operand(key, 1))
        loop.open = False
        self.instructions.append((ins.LOOP, loop.n, None, [], 1, loop, (0.0, 0.0)))
        return key

    def _reduce_positions(self, op, source):
        """For each input element, the position of its reduction's output (within the output)."""
        kept = tuple(1 if i in op.axes else m for i, m in enumerate(source))
        return np.broadcast_to(np.arange(_size(kept)).reshape(kept), source).ravel(), _size(kept)

    def _reduce(self, key, op, operand, source):
        """Reduce ``operand`` (read at every element of shape ``source``) along ``op.axes`` into region ``key``."""
        positions, m = self._reduce_positions(op, source)
        count = _size(source) // max(m, 1)
        out = self._new_region(key, m)
        kind = type(op)
        if kind in (red.Sum, red.Mean, red.Var, red.Std):  # (var and std reduce as means)
            scale = 1.0 if kind is red.Sum else 1.0 / max(count, 1)
            self._emit(ins.SUM, _size(source), Operand(out, 0, positions), [operand], aux=(m, 0, 0),
                       fparams=(scale, 0.0))
            return out
        scratch = self._new_region(("scratch", key), m)
        opcode = {red.Max: ins.MAX, red.Min: ins.MIN, red.LogSumExp: ins.LOGSUMEXP}[kind]
        self._emit(opcode, _size(source), Operand(out, 0, positions), [operand, Operand(scratch)], aux=(m, 0, 0))
        return out

    def _var(self, k, op, slot):
        """var x = mean((x - mean x)^2) over the axes: four instructions (a Var reduces as a mean); std x =
        sqrt(var x), one more."""
        source = self._shape(slot)
        mean = self._reduce(("var_mean", k), op, self._broadcast(slot, source), source)
        positions, _m = self._reduce_positions(op, source)
        centered = self._standalone(("var_centered", k), ins.SUB, source,
                                    [self._broadcast(slot, source), Operand(mean, 0, positions)])
        squared = self._standalone(("var_squared", k), ins.SQUARE, source, [Operand(centered)])
        if type(op) is red.Std:
            variance = self._reduce(("std_var", k), op, Operand(squared), source)
            self._standalone(k, ins.SQRT, self._shape(k), [Operand(variance)])
        else:
            self._reduce(k, op, Operand(squared), source)

    def _along_lines(self, k, op, slot):
        """prod, cumsum or cumprod as one instruction over lines: the elements of ``slot`` reordered so that
        each line (what one output reduces, or one cumulative run) is consecutive, lines in the output's
        order."""
        source = self._shape(slot)
        if type(op) is red.Prod:
            along = list(op.axes)
        elif op.axis_arg is None:
            along = list(range(len(source)))  # the flattened node is one line
        else:
            along = [op.value_axis - 1]
        across = [i for i in range(len(source)) if i not in along]
        order = across + along
        positions = np.arange(_size(source)).reshape(source).transpose(order).ravel()
        identity = np.array_equal(positions, np.arange(positions.size))
        length = _size([source[i] for i in along])
        lines = _size([source[i] for i in across])
        key = self._region(slot)
        operand = Operand(key, 1) if identity else Operand(key, 0, positions)
        out = self._new_region(k, _size(self._shape(k)))
        if type(op) is red.Prod:
            scratch = self._new_region(("scratch", k), max(length, 1))
            self._emit(ins.PROD, _size(source), Operand(out, 1), [operand, Operand(scratch)], aux=(lines, length, 0))
        else:
            opcode = ins.CUMSUM if type(op) is CumSum else ins.CUMPROD
            self._emit(opcode, _size(source), Operand(out, 1) if identity else Operand(out, 0, positions), [operand],
                       aux=(lines, length, 0))

    def _diff(self, k, op, slot, shape):
        """diff x = x[1:] - x[:-1] along the axis: a subtraction of two gathered loads in the loop of its shape."""
        source = self._shape(slot)
        axis = op.value_axis - 1
        grid = np.arange(_size(source)).reshape(source)
        upper = np.take(grid, np.arange(1, source[axis]), axis=axis).ravel()
        lower = np.take(grid, np.arange(source[axis] - 1), axis=axis).ravel()
        key = self._region(slot)
        loop = self._loop_of(shape)
        sources = [self._load(loop, ("load", ("diff", k, part)), Operand(key, 0, positions))
                   for part, positions in enumerate((upper, lower))]
        loop.add(ins.SUB, loop.new_register(k), sources)
        self._in_loop[k] = loop

    def _softmax(self, k, op, slot):
        """log_softmax x = x - logsumexp(x) along the axis; softmax = exp(log_softmax)."""
        source = self._shape(slot)
        axis = op.value_axis - 1
        lse_op = red.LogSumExp(axis, keepdims=True)
        lse_op.axes = (axis,)
        lse = self._reduce(("lse", k), lse_op, self._broadcast(slot, source), source)
        positions, _m = self._reduce_positions(lse_op, source)
        log_soft = ("log_softmax", k) if type(op) is red.Softmax else k
        self._standalone(log_soft, ins.SUB, source, [self._broadcast(slot, source), Operand(lse, 0, positions)])
        if type(op) is red.Softmax:
            self._standalone(k, ins.EXP, source, [Operand(log_soft)])

    def _dot(self, k, op, inputs, shape):
        a_shape, b_shape = self._shape(inputs[0]), self._shape(inputs[1])
        a_mat = (1,) + a_shape if op.a_vec else a_shape
        b_mat = b_shape + (1,) if op.b_vec else b_shape
        rows, inner, cols = a_mat[-2], a_mat[-1], b_mat[-1]
        batch = np.broadcast_shapes(a_mat[:-2], b_mat[:-2])
        out = self._new_region(k, _size(shape))
        a_node = self.program.nodes[inputs[0]]
        if (not self.depends[inputs[0]] and len(a_mat) == 2 and len(b_mat) == 2 and not op.a_vec
                and not depends_on_minibatch(a_node)):
            # data times parameters (X @ beta): X stored transposed, so the product runs along its columns
            key = self._constant(("transposed", inputs[0]), self.values[inputs[0]][0].T)
            self._emit(ins.DOT, rows * cols, Operand(out), [Operand(key), self._broadcast(inputs[1], b_shape)],
                       aux=(rows, inner, cols))
            opcode, n, out_operand, operands, flags, aux, fparams = self.instructions[-1]
            self.instructions[-1] = (opcode, n, out_operand, operands, flags | ins.A_TRANSPOSED, aux, fparams)
            return
        a_key, b_key = self._region(inputs[0]), self._region(inputs[1])
        a_index = np.broadcast_to(np.arange(_size(a_mat[:-2])).reshape(a_mat[:-2]), batch).ravel()
        b_index = np.broadcast_to(np.arange(_size(b_mat[:-2])).reshape(b_mat[:-2]), batch).ravel()
        for s, (i, j) in enumerate(zip(a_index, b_index)):  # one product per stacked matrix
            self._emit(ins.DOT, rows * cols, Operand(out, 1, shift=s * rows * cols),
                       [Operand(a_key, 1, shift=int(i) * rows * inner), Operand(b_key, 1, shift=int(j) * inner * cols)],
                       aux=(rows, inner, cols))

    def _join(self, k, op, inputs, shape):
        out = self._new_region(k, _size(shape))
        grid = np.arange(_size(shape)).reshape(shape)
        axis = op.value_axis - 1
        start = 0
        for position, slot in enumerate(inputs):
            part_shape = self._shape(slot)
            if type(op) is Stack:
                where = np.take(grid, position, axis=axis)
            else:
                width = part_shape[axis]
                where = np.take(grid, np.arange(start, start + width), axis=axis)
                start += width
            self._emit(ins.COPY, where.size, Operand(out, 0, where.ravel()), [self._broadcast(slot, where.shape)])

    # -- terms -----------------------------------------------------------------------------------------------
    def _term(self, k, op, inputs):
        dist = op.dist
        if dist.logp_is_zero:  # Flat: the term of a model of Flat variables only, which adds nothing
            return
        if type(dist) in (NormalMixture, Dirichlet):
            self._vector_term(op, inputs)
            return
        if type(dist) is MvNormal:
            self._mvnormal_term(op, inputs)
            return
        if type(dist) is Categorical:
            self._categorical_term(op, inputs)
            return
        if k in self._gram_terms:
            self._gram_term(k, op, inputs)
            return
        found = family_of(dist)
        if found is None or type(dist).logp_partials is not Distribution.logp_partials:
            raise Unsupported(f"family {type(dist).__name__}")
        family, n_params = found
        if len(inputs) != 1 + n_params:
            raise Unsupported(f"{type(dist).__name__} with {len(inputs) - 1} parameters")
        target = np.broadcast_shapes(*[self._shape(i) for i in inputs])
        loop = self._loop_of(target)
        sources = [self._in_register(loop, i) for i in inputs]
        scale = float(op.factor(self.values[inputs[0]]))
        # the interpreter's fast paths: a Normal term whose sigma is one number for every element, and a
        # Poisson term of fixed counts, whose lgamma(y + 1) is computed here once
        flags = int(family == NORMAL and _size(self._shape(inputs[2])) == 1)
        value = self.program.nodes[inputs[0]]
        if family == POISSON and not self.depends[inputs[0]] and not depends_on_minibatch(value):
            from scipy.special import gammaln
            y = np.broadcast_to(self.values[inputs[0]][0], target).astype(np.float64)
            counts = (y >= 0) & (y == np.floor(y)) & np.isfinite(y)
            log_factorial = np.where(counts, gammaln(np.where(counts, y, 0.0) + 1.0), np.inf)
            key = self._constant(("lgamma", k), log_factorial)
            sources = sources[:1] + [sources[1], sources[0], self._load(loop, key, Operand(key, 1))]
            flags |= 2
        loop.add(ins.TERM, 0, sources, family=family, flags=flags, mparams=(scale, 0.0))
        loop.terms.add(k)

    def _potential(self, k, inputs):
        """A potential, sum(phi) over all of phi's elements: a SUM into one number that is a term (flag
        aux1): the interpreter adds it to logp and gives it the adjoint 1, so backward every element of phi
        receives d logp / d phi_j = 1."""
        source = self._shape(inputs[0])
        out = self._new_region(k, 1)
        self._emit(ins.SUM, _size(source), Operand(out, 0), [self._broadcast(inputs[0], source)],
                   aux=(1, ins.TERM_OUTPUT, 0), fparams=(1.0, 0.0))

    def _vector_term(self, op, inputs):
        """A term of a family whose parameters have a core axis of K components (the last one): element j,
        component k of every operand read at j K + k (the value of a mixture at j)."""
        dist = op.dist
        shapes = [self._shape(i) for i in inputs]
        n_comp = max(shape[-1] if shape else 1 for shape in shapes[1:])
        if type(dist) is NormalMixture:
            batch = np.broadcast_shapes(shapes[0], *[shape[:-1] for shape in shapes[1:]])
            operands = [self._broadcast(inputs[0], batch)]
            opcode = ins.MIXTURE
        else:
            batch = np.broadcast_shapes(*[shape[:-1] for shape in shapes])
            operands = []
            opcode = ins.DIRICHLET
        target = tuple(batch) + (n_comp,)
        # a mixture whose parameters are the same K numbers for every element reads them once
        # (and has enough elements for blocks to pay: a single x per point keeps the element-wise loop)
        shared = opcode == ins.MIXTURE and all(len(shape) <= 1 for shape in shapes[1:]) and _size(batch) >= 16
        if shared:
            operands += [self._broadcast(i, (n_comp,)) for i in inputs[1:]]
        else:
            operands += [self._broadcast(i, target) for i in inputs[len(operands):]]
        scratch = self._new_region(("scratch", len(self.instructions)), 8 * n_comp + 2)
        self._registers_needed = max(self._registers_needed, 2 * n_comp + 6)  # the shared mixture's rows
        scale = float(op.factor(self.values[inputs[0]]))
        self._emit(opcode, _size(batch), Operand(scratch), operands, aux=(n_comp, int(shared), 0),
                   fparams=(scale, 0.0))

    def _mvnormal_term(self, op, inputs):
        """A MvNormal term: rows of K coordinates (value and mean) and K x K matrices, broadcast over rows."""
        x_shape, mu_shape, m_shape = [self._shape(i) for i in inputs]
        k_dim = m_shape[-1]
        batch = np.broadcast_shapes(x_shape[:-1], mu_shape[:-1], m_shape[:-2])
        operands = [self._broadcast(inputs[0], batch + (k_dim,)), self._broadcast(inputs[1], batch + (k_dim,)),
                    self._broadcast(inputs[2], batch + (k_dim, k_dim))]
        scratch = self._new_region(("scratch", len(self.instructions)), 2 * k_dim * k_dim + 3 * k_dim)
        kind = {"cov": ins.COV, "chol": ins.CHOL, "tau": ins.PRECISION}[op.dist.kind]
        scale = float(op.factor(self.values[inputs[0]]))
        self._emit(ins.MVNORMAL, _size(batch), Operand(scratch), operands, aux=(k_dim, kind, 0), fparams=(scale, 0.0))

    def _categorical_term(self, op, inputs):
        """A Categorical term: a class per element and a row of K probabilities or log-odds, broadcast."""
        kind = op.dist.params[0]
        if kind == "X":
            raise Unsupported("Categorical softmax regression (its own kernel in the graph walk, fast at many "
                              "points)", expected=True)
        y_shape, p_shape = self._shape(inputs[0]), self._shape(inputs[1])
        n_classes = p_shape[-1]
        batch = np.broadcast_shapes(y_shape, p_shape[:-1])
        operands = [self._broadcast(inputs[0], batch), self._broadcast(inputs[1], batch + (n_classes,))]
        scale = float(op.factor(self.values[inputs[0]]))
        self._emit(ins.CATEGORICAL, _size(batch), None, operands,
                   aux=(n_classes, ins.PROBABILITIES if kind == "p" else ins.LOGITS, 0), fparams=(scale, 0.0))

    # -- the arrays ------------------------------------------------------------------------------------------
    def _finish(self):
        n_dynamic = max(self._dynamic_size, 1)  # (w[0] exists: operands an instruction does not read point there)
        self.n_dynamic = n_dynamic
        offsets = {key: offset + (n_dynamic if part == "const" else 0)
                   for key, (part, offset, _size) in self.regions.items()}
        index = [np.zeros(1, dtype=np.int64)]

        def encode(operand):
            """(offset, stride, map) of an operand; its positions, if any, appended to ``index``."""
            if operand is None:
                return 0, 0, 0
            start = 0
            if operand.positions is not None:
                start = sum(len(part) for part in index)
                index.append(np.asarray(operand.positions, dtype=np.int64))
            return offsets[operand.key] + operand.shift, operand.stride, start

        code = np.zeros((len(self.instructions), ins.CODE_COLUMNS), dtype=np.int64)
        fparams = np.zeros((len(self.instructions), 2))
        micro, mparams = [], []
        self.n_registers = 0
        for t, (opcode, n, out, operands, flags, aux, fp) in enumerate(self.instructions):
            code[t, 0], code[t, 1], code[t, ins.FLAGS] = opcode, n, flags
            fparams[t] = fp
            if opcode == ins.LOOP:
                loop = aux
                stored = any(row[0] == ins.STORE for row in loop.rows)
                aux = (len(micro), len(micro) + len(loop.rows), ins.STORED if stored else ins.SINK)
                for row_opcode, dst, sources, operand, row_flags, family, row_params, scalars in loop.rows:
                    scalars = (offsets[scalars[0]], *scalars[1:]) if scalars is not None else (0, 0, 0)
                    micro.append([row_opcode, dst, *sources[:4], *encode(operand), row_flags, family, sources[4],
                                  *scalars])
                    mparams.append(row_params)
                self.n_registers = max(self.n_registers, loop.n_registers)
            code[t, ins.AUX0:ins.AUX2 + 1] = aux
            for column, operand in zip((ins.OUT, ins.A, ins.B, ins.C, ins.E), [out] + operands):
                code[t, column:column + 3] = encode(operand)
        self.n_registers += 3  # three scratch registers for the vectorised exp and log of terms and EXP
        self.n_registers = max(self.n_registers, self._registers_needed)
        # the workspace: the computed part, the constants, then the scratch of a call (ins.call_scratch_size)
        self.workspace = np.zeros(n_dynamic + self._const_size
                                  + ins.call_scratch_size(n_dynamic, self.ndim, self.n_registers))
        while self._consts:  # (each folded array is let go once it is in the workspace: not held twice)
            slot, array = self._consts.popitem()
            self.workspace[offsets[slot]:offsets[slot] + array.size] = array
            del array
        self._consts = None
        self.code, self.fparams = code, fparams
        self.micro = np.array(micro, dtype=np.int64).reshape(-1, ins.MICRO_COLUMNS)
        self.mparams = np.array(mparams, dtype=np.float64).reshape(-1, 2)
        if not len(self.micro):  # numba wants one array type: keep a row
            self.micro = np.zeros((1, ins.MICRO_COLUMNS), dtype=np.int64)
            self.mparams = np.zeros((1, 2))
        self.index = np.concatenate(index)
        self.refresh = None  # nodes reading a Minibatch: (Program, where their values go in the workspace)
        nodes = [node for _slot, node in self._refresh_nodes] + self._constant_terms
        if nodes:
            places = [offsets[slot] for slot, _node in self._refresh_nodes]
            self.refresh = (Program(nodes, [], self.program.replacements), places)
