"""clone: a copy of an expression with some nodes replaced (Theano's ``theano.clone``)."""
import copy

from nbvi.graph.node import Node, as_node


def clone(node, replacements=None):
    """Return ``node`` rebuilt with ``replacements`` applied; the original graph is untouched.

    Parameters
    ----------
    node : Node
    replacements : dict
        Maps nodes of the graph to nodes, arrays or numbers (wrapped as constants).

    Returns
    -------
    Node
        A new node whose static shapes are inferred again, so a replacement may have other sizes than the
        node it replaces (e.g. test rows instead of training rows), as long as ranks fit the ops.

    Notes
    -----
    Op nodes downstream of a replacement are rebuilt with a shallow copy of their op (ops keep static facts
    about their inputs, such as lifted ranks); nodes that depend on no replacement are shared, not copied.
    """
    if not isinstance(node, Node):
        raise TypeError(f"clone needs a graph node, got {type(node).__name__}")
    if replacements is not None and not isinstance(replacements, dict):
        raise TypeError(f"replacements must be a dict {{node: replacement}}, got {type(replacements).__name__}")
    for key in replacements or {}:
        if not isinstance(key, Node):
            raise TypeError(f"replacements: the key {key!r} must be a graph node, not {type(key).__name__}")
    swaps = {key: as_node(value) for key, value in (replacements or {}).items()}
    if not swaps:
        return node
    rebuilt = {}
    stack = [(node, False)]
    while stack:
        current, expanded = stack.pop()
        if current in rebuilt:
            continue
        if current in swaps:
            rebuilt[current] = swaps[current]
            continue
        if current.op is None:
            rebuilt[current] = current
            continue
        if not expanded:
            stack.append((current, True))
            stack.extend((x, False) for x in current.inputs if x not in rebuilt)
            continue
        inputs = [rebuilt[x] for x in current.inputs]
        if all(new is old for new, old in zip(inputs, current.inputs)):
            rebuilt[current] = current
        else:
            fresh = copy.copy(current.op)(*inputs)
            fresh.name = current.name
            rebuilt[current] = fresh
    return rebuilt[node]


__all__ = ["Node", "clone"]
