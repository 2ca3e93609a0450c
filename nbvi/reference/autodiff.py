"""Reverse-mode differentiation of a model's log-density, in plain NumPy: the micrograd of nbvi.

A model's joint log-density is a graph: leaves (the free variables' values, data, constants) and nodes
each computed by an op from its inputs. Every op carries two hand-written rules (nbvi/graph/ops/):

    op.forward(*input_values)                 -> the node's value
    op.vjp(g, out, input_values, needs)       -> the gradient of a scalar with respect to each input,
                                                 given g, its gradient with respect to the node

Reverse mode is then three passes (Griewank & Walther 2008, "Evaluating Derivatives", ch. 3):

    1. order the nodes so that every node comes after its inputs (a depth-first post-order from the output);
    2. forward: compute the values in that order;
    3. backward: seed d logp / d logp = 1, then visit the nodes in reverse order, each handing g times its
       local Jacobian (its VJP) to its inputs, where the contributions add up (a node used twice gets both).

The sampler and the variational methods need the density of the *unconstrained* theta: each free variable
is x = backward(u), so (change of variables)

    log p(u) = log p_x(backward(u)) + log|det d backward(u) / du|
    d/du     = (dx/du)^T d log p_x/dx + d log|det J| / du      (transform.backward_vjp, transform.log_jac_det_grad)

Every value carries a leading draw axis of length D (D points at once) or 1 (constants, data), as in
the fast code. The fast version is :class:`nbvi.graph.evaluate.Program` (planned once, with a shortcut
for a plain sum of log-density terms), behind ``model._graph_logp_dlogp``, and the compiled densities
behind ``model.logp_dlogp``; tests/reference/test_autodiff.py binds them to this file.
"""
import numpy as np

from nbvi.graph.node import Leaf
from nbvi.potential import PotentialTerm


def joint_logp_terms(model):
    """The scalar nodes whose sum is the joint log-density of the constrained values: each free and observed
    variable's log-density terms, and each Potential's sum."""
    terms = [t for rv in model.free_RVs for t in rv.dist.logp_terms(rv)]
    terms += [t for rv in model.observed_RVs for t in rv.dist.logp_terms(rv.observed, rv.scale)]
    terms += [PotentialTerm()(node) for node in model.potentials]
    return terms


def topological_order(outputs, swaps):
    """Every node the outputs depend on, inputs before the nodes computed from them. ``swaps`` maps
    id(node) -> the node evaluated in its place (an observed variable whose data is an expression)."""
    order, seen = [], set()

    def visit(node):
        node = swaps.get(id(node), node)
        if id(node) not in seen:
            seen.add(id(node))
            for x in node.inputs:
                visit(x)
            order.append(node)
    for out in outputs:
        visit(out)
    return order


def value_and_grad(model, theta):
    """Joint log-density of the unconstrained theta (D, ndim) and its gradient: (logp (D,), grad (D, ndim))."""
    D = theta.shape[0]
    swaps = {id(rv): rv.observed for rv in model.observed_RVs if not isinstance(rv.observed, Leaf)}
    us, values = [], {}
    for rv, where, ushape in model.variable_layout():          # theta -> each variable's constrained value
        u = theta[:, where].reshape((D,) + ushape)
        us.append(u)
        values[id(rv)] = rv.transform.backward(u) if rv.transform is not None else u
    terms = joint_logp_terms(model)
    order = topological_order(terms, swaps)
    resolve = [[swaps.get(id(x), x) for x in node.inputs] for node in order]

    # forward: leaves supply their own value (data, constants, observed values), ops compute theirs
    for node, inputs in zip(order, resolve):
        if id(node) not in values:
            values[id(node)] = node.value() if node.op is None else node.op.forward(*[values[id(x)] for x in inputs])
    logp = sum(np.broadcast_to(values[id(t)], (D,)) for t in terms)

    # backward: only through nodes that depend on theta
    depends = {id(rv) for rv in model.free_RVs}
    for node, inputs in zip(order, resolve):
        if any(id(x) in depends for x in inputs):
            depends.add(id(node))
    grads = {id(t): np.ones(D) for t in terms}                 # d logp / d term = 1
    for node, inputs in zip(reversed(order), reversed(resolve)):
        if node.op is None or id(node) not in grads or id(node) not in depends:
            continue
        needs = [id(x) in depends for x in inputs]
        local = node.op.vjp(grads[id(node)], values[id(node)], [values[id(x)] for x in inputs], needs)
        for x, gx, need in zip(inputs, local, needs):
            if need:
                grads[id(x)] = grads[id(x)] + gx if id(x) in grads else gx

    # the change of variables, variable by variable
    grad = np.zeros_like(theta)
    for (rv, where, _ushape), u in zip(model.variable_layout(), us):
        g_x = np.broadcast_to(grads.get(id(rv), 0.0), values[id(rv)].shape)
        if rv.transform is None:
            grad[:, where] = g_x.reshape(D, -1)
            continue
        logp = logp + rv.transform.log_jac_det(u)
        g_u = rv.transform.backward_vjp(u, g_x) + rv.transform.log_jac_det_grad(u)
        grad[:, where] = g_u.reshape(D, -1)
    return logp, grad


def evaluate(model, theta, nodes):
    """The values of ``nodes`` (e.g. ``model.deterministics``) at the unconstrained theta (D, ndim): the
    forward pass alone, each (D or 1, *node.shape)."""
    D = theta.shape[0]
    swaps = {id(rv): rv.observed for rv in model.observed_RVs if not isinstance(rv.observed, Leaf)}
    values = {}
    for rv, where, ushape in model.variable_layout():
        u = theta[:, where].reshape((D,) + ushape)
        values[id(rv)] = rv.transform.backward(u) if rv.transform is not None else u
    for node in topological_order(nodes, swaps):
        if id(node) not in values:
            inputs = [values[id(swaps.get(id(x), x))] for x in node.inputs]
            values[id(node)] = node.value() if node.op is None else node.op.forward(*inputs)
    return [values[id(swaps.get(id(node), node))] for node in nodes]
