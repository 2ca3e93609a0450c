"""Evaluating a graph and pushing gradients back through it: a tiny reverse-mode autodiff.

A :class:`Program` plans the walk once: the nodes needed for some outputs, in topological order, each
with the slots of its inputs. Running it is then a plain loop over that list: forward in order, backward
in reverse, every op applying its own hand-written VJP.
"""
import numpy as np

from nbvi.graph.node import Leaf, Node
from nbvi.graph.op import NonDifferentiableError, unbroadcast
from nbvi.graph.ops.elementwise import AddN


def _batched(value):
    """A value given without draw axis, as an array with a draw axis of length 1."""
    return np.asarray(value, dtype=float if np.asarray(value).dtype.kind in "fc" else None)[None]


class Program:
    """A planned evaluation of ``outputs`` given values fed for ``inputs``.

    Parameters
    ----------
    outputs : list of Node
    inputs : list of Node
        Nodes whose batched values are fed to :meth:`run`; the walk stops at them.
    replacements : dict, optional
        Node -> Node: evaluate the value node in place of the key (``more_replacements``).

    Notes
    -----
    Leaves that are not inputs supply their own value (constants, data, observed variables); a leaf
    that has none (a free random variable) is an error that names it.
    """

    def __init__(self, outputs, inputs=(), replacements=None):
        self.outputs = list(outputs)
        self.inputs = list(inputs)
        self.replacements = dict(replacements or {})
        slot = {}  # node id -> slot index
        self.leaves = []  # (slot, leaf) with values of their own
        self.steps = []  # (slot, node, input slots)
        self.nodes = []
        for k, node in enumerate(self.inputs):
            slot[id(node)] = k
            self.nodes.append(node)
        for out in self.outputs:
            self._visit(out, slot)
        self.output_slots = [slot[id(self._resolve(o))] for o in self.outputs]
        self.n_slots = len(self.nodes)
        self._read_in_place()
        self._needs_cache = {}
        self._all_inputs = tuple(range(len(self.inputs)))
        self._reversed_steps = list(reversed(self.steps))
        # slots of ops that return their output's gradient with the value (log-density terms)
        self._scalar_ops = {k for k, node, _ in self.steps if hasattr(node.op, "value_and_partials")}
        # a sum of log-density terms whose arguments are all inputs or leaves (most models) skips the
        # generic walk: each term gives its value and partials, which add up directly
        self._terms = _terms_plan(self)

    def _read_in_place(self):
        """Leaves that every op using them reads itself (``Op.in_place_inputs``) get the node as value."""
        in_place = {}  # leaf slot -> whether every use reads it in place
        for _k, node, ins in self.steps:
            reads = node.op.in_place_inputs([self.nodes[i] for i in ins])
            for position, i in enumerate(ins):
                in_place[i] = in_place.get(i, True) and position in reads
        if any(in_place.get(k, False) for k in self.output_slots):
            in_place = {}  # an output must be a value
        self.leaves_in_place = [(k, leaf) for k, leaf in self.leaves if in_place.get(k, False)]
        self.leaves = [(k, leaf) for k, leaf in self.leaves if not in_place.get(k, False)]

    def _leaf_values(self, values):
        """Fill in the values of the leaves (the node itself for those read in place)."""
        for k, leaf in self.leaves:
            values[k] = leaf.value()
        for k, leaf in self.leaves_in_place:
            values[k] = leaf

    def _resolve(self, node):
        seen = set()
        while node in self.replacements and id(node) not in seen:
            seen.add(id(node))
            node = self.replacements[node]
        return node

    def _visit(self, root, slot):
        # iterative depth-first post-order, so deep graphs do not hit the recursion limit
        stack = [(self._resolve(root), False)]
        while stack:
            node, expanded = stack.pop()
            if id(node) in slot:
                continue
            if node.op is None:
                if isinstance(node, Leaf) and not node.has_value():
                    raise ValueError(
                        f"{node!r} has no value here: it is a free random variable or a placeholder. "
                        f"Give it a value through replacements, or draw it with approx.sample_node(...)"
                    )
                slot[id(node)] = len(self.nodes)
                self.nodes.append(node)
                self.leaves.append((slot[id(node)], node))
                continue
            inputs = [self._resolve(x) for x in node.inputs]
            if expanded:
                slot[id(node)] = len(self.nodes)
                self.nodes.append(node)
                self.steps.append((slot[id(node)], node, [slot[id(x)] for x in inputs]))
                continue
            stack.append((node, True))
            for x in reversed(inputs):
                if id(x) not in slot:
                    stack.append((x, False))

    def forward(self, feed, keep_partials=False, needs=None):
        """Compute every planned value.

        Parameters
        ----------
        feed : list of ndarray
            Batched values of ``inputs``, each of shape ``(D_i, *node.shape)``.
        keep_partials : bool
            Ask ops that can to return their local gradients too (used by :meth:`value_and_grad`).
        needs : list of bool, optional
            Per slot, whether a gradient must reach it.

        Returns
        -------
        values : list of ndarray (one per slot), partials : dict slot -> list
        """
        values = list(feed) + [None] * (self.n_slots - len(feed))
        self._leaf_values(values)
        partials = {}
        for k, node, ins in self.steps:
            args = [values[i] for i in ins]
            op = node.op
            if keep_partials and needs[k] and k in self._scalar_ops:
                values[k], partials[k] = op.value_and_partials(args, [needs[i] for i in ins])
            else:
                values[k] = op.forward(*args)
        return values, partials

    def run(self, feed=()):
        """Batched values of the outputs."""
        values, _ = self.forward(list(feed))
        return [values[k] for k in self.output_slots]

    def _needs(self, wrt):
        key = tuple(wrt)
        if key in self._needs_cache:
            return self._needs_cache[key]
        needs = [False] * self.n_slots
        for k in wrt:
            needs[k] = True
        for k, _node, ins in self.steps:
            needs[k] = any(needs[i] for i in ins)
        self._needs_cache[key] = needs
        return needs

    def _terms_value_and_grad(self, feed, wrt, needs):
        """``value_and_grad`` of a sum of scalar terms over inputs and leaves (see :func:`_terms_plan`):
        d(sum_t term_t)/d input = sum over the terms and argument positions where the input appears."""
        values = list(feed) + [None] * (self.n_slots - len(feed))
        self._leaf_values(values)
        total = None
        grads = {k: None for k in wrt}
        for op, ins in self._terms:
            args = [values[i] for i in ins]
            value, partials = op.value_and_partials(args, [needs[i] for i in ins])
            total = value if total is None else total + value
            for i, arg, part in zip(ins, args, partials):
                if part is None or i not in grads:
                    continue
                if part.shape != arg.shape:
                    part = unbroadcast(part, arg.shape)
                grads[i] = part if grads[i] is None else grads[i] + part
        result = []
        for k in wrt:
            g = grads[k]
            if g is None:
                g = np.zeros_like(values[k], dtype=float)
            result.append(g if g.flags.c_contiguous else np.ascontiguousarray(g))
        return total, result

    def value_and_grad(self, feed, wrt=None):
        """Value of the first output (node shape ``()``) and its gradient with respect to inputs.

        Parameters
        ----------
        feed : list of ndarray
            Batched input values.
        wrt : list of int, optional
            Indices of the inputs to differentiate with respect to (all by default).

        Returns
        -------
        value : ndarray, shape (D,)
        grads : list of ndarray, the gradient of ``value[d]`` with respect to each input in ``wrt``,
            shaped like that input's fed value.
        """
        wrt = self._all_inputs if wrt is None else tuple(wrt)
        needs = self._needs(wrt)
        if self._terms is not None and len(feed) == len(self.inputs):
            return self._terms_value_and_grad(feed, wrt, needs)
        values, partials = self.forward(feed, keep_partials=True, needs=needs)
        out_slot = self.output_slots[0]
        out = values[out_slot]
        if out.ndim != 1:
            raise ValueError(f"value_and_grad needs a scalar output, got node shape {out.shape[1:]}")
        grads = [None] * self.n_slots
        for k, node, ins in self._reversed_steps:
            if k == out_slot:
                g = None  # the seed: d out / d out = 1, never materialised
            else:
                g = grads[k]
                if g is None or not needs[k]:
                    continue
            args = [values[i] for i in ins]
            if k in partials:  # scalar-valued op: its VJP is g times its gradient
                local = [
                    None if p is None else unbroadcast(p if g is None else g.reshape((-1,) + (1,) * (p.ndim - 1)) * p, a.shape)
                    for p, a in zip(partials[k], args)
                ]
            else:
                if not node.op.differentiable:
                    raise NonDifferentiableError(
                        f"cannot differentiate through '{node.op.name}' (node {node!r}): it is piecewise "
                        f"constant. Keep it out of the log-density."
                    )
                local = node.op.vjp(np.ones_like(out) if g is None else g, values[k], args, [needs[i] for i in ins])
            for i, gi in zip(ins, local):
                if gi is None or not needs[i]:
                    continue
                grads[i] = gi if grads[i] is None else grads[i] + gi
        result = []
        for k in wrt:
            g = grads[k]
            if g is None:
                g = np.ones_like(out) if k == out_slot else np.zeros_like(values[k], dtype=float)
            result.append(g if g.flags.c_contiguous else np.ascontiguousarray(g))
        return out, result


def _terms_plan(program):
    """For a program whose output is one scalar term, or the sum (add_n) of scalar terms, whose arguments
    are all inputs or leaves: the list of (op, input slots) of the terms; else None."""
    out = program.output_slots[0]
    steps = {k: (node, ins) for k, node, ins in program.steps}
    if out not in steps:
        return None
    node, ins = steps[out]
    if isinstance(node.op, AddN):
        term_slots, n_steps = ins, len(ins) + 1
    else:
        term_slots, n_steps = [out], 1
    if len(program.steps) != n_steps or any(k not in program._scalar_ops for k in term_slots):
        return None
    terms = [(steps[k][0].op, steps[k][1]) for k in term_slots]
    if any(i in steps for _op, ins in terms for i in ins):  # an argument computed by another op
        return None
    return terms


def eval_node(node, replacements=None):
    """Evaluate one node once, with ``replacements`` (node -> array without draw axis, or node).

    Returns the value without its draw axis (when it has one draw).
    """
    if replacements is not None and not isinstance(replacements, dict):
        raise TypeError(f"replacements must be a dict {{node: value}}, got {type(replacements).__name__}")
    replacements = dict(replacements or {})
    for key in replacements:
        if not isinstance(key, Node):
            raise TypeError(f"replacements: the key {key!r} must be a graph node, not {type(key).__name__}")
    node_swaps = {k: v for k, v in replacements.items() if isinstance(v, Node)}
    fixed = [(k, v) for k, v in replacements.items() if not isinstance(v, Node)]
    program = Program([node], [k for k, _ in fixed], node_swaps)
    (out,) = program.run([_batched(v) for _, v in fixed])
    # a copy: the result may be a leaf's own storage (a Constant or Data value), which must stay private
    return np.array(out[0] if out.shape[0] == 1 else out)
