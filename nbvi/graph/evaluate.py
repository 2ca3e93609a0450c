"""Evaluating a graph and pushing gradients back through it: a tiny reverse-mode autodiff.

A :class:`Program` plans the walk once: the nodes needed for some outputs, in topological order, each
with the slots of its inputs. Running it is then a plain loop over that list: forward in order, backward
in reverse, every op applying its own hand-written VJP.
"""
import numpy as np

from nbvi.graph.node import Leaf, Node
from nbvi.graph.op import NonDifferentiableError, unbroadcast


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
        self._needs_cache = {}
        self._all_inputs = tuple(range(len(self.inputs)))
        self._reversed_steps = list(reversed(self.steps))
        # slots of ops that return their output's gradient with the value (log-density terms)
        self._scalar_ops = {k for k, node, _ in self.steps if hasattr(node.op, "value_and_partials")}
        # a model with one log-density term and nothing else (e.g. one variable with constant parameters)
        # skips the generic walk: its value and gradient come from the term itself
        self._single_term = _single_term_plan(self)

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
                if isinstance(node, Leaf) and node.value() is None:
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
        for k, leaf in self.leaves:
            values[k] = leaf.value()
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

    def _single_term_value_and_grad(self, feed, wrt, needs):
        """``value_and_grad`` when the output is one scalar term over inputs and leaves."""
        k, op, ins = self._single_term
        values = list(feed) + [None] * (self.n_slots - len(feed))
        for slot, leaf in self.leaves:
            values[slot] = leaf.value()
        args = [values[i] for i in ins]
        out, partials = op.value_and_partials(args, [needs[i] for i in ins])
        result = []
        for slot in wrt:
            g = None
            for position, i in enumerate(ins):
                if i == slot and partials[position] is not None:
                    part = unbroadcast(partials[position], args[position].shape)
                    g = part if g is None else g + part
            if g is None:
                g = np.zeros_like(values[slot], dtype=float)
            result.append(g if g.flags.c_contiguous else np.ascontiguousarray(g))
        return out, result

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
        if self._single_term is not None and len(feed) == len(self.inputs):
            return self._single_term_value_and_grad(feed, wrt, needs)
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


def _single_term_plan(program):
    """For a program whose only step is a scalar log-density term: (slot, op, input slots), else None."""
    if len(program.steps) != 1 or program.output_slots[0] != program.steps[0][0]:
        return None
    k, node, ins = program.steps[0]
    if k not in program._scalar_ops:
        return None
    return k, node.op, ins


def eval_node(node, replacements=None):
    """Evaluate one node once, with ``replacements`` (node -> array without draw axis, or node).

    Returns the value without its draw axis (when it has one draw).
    """
    replacements = dict(replacements or {})
    node_swaps = {k: v for k, v in replacements.items() if isinstance(v, Node)}
    fixed = [(k, v) for k, v in replacements.items() if not isinstance(v, Node)]
    program = Program([node], [k for k, _ in fixed], node_swaps)
    (out,) = program.run([_batched(v) for _, v in fixed])
    # a copy: the result may be a leaf's own storage (a Constant or Data value), which must stay private
    return np.array(out[0] if out.shape[0] == 1 else out)
