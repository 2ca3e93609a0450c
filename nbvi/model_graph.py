"""A model's variables and their dependencies as a graph: Graphviz (DOT) source, or a matplotlib drawing.

As PyMC draws it: one node per named variable labelled ``name ~ Family`` (observed variables shaded,
deterministics as boxes, Data and Minibatch as rounded boxes), an edge from every variable that a node's
parameters or value depend on, and variables of the same non-scalar shape grouped in a plate labelled
with that shape (``"4 x 3"``; shape ``(1,)`` counts as a scalar, as in PyMC).

One walk over the model builds a :class:`ModelGraph` (nodes and edges); ``model_dot`` and
``model_to_graphviz`` render it here, ``draw_model_graph`` (:mod:`nbvi.model_graph_drawing`) with matplotlib.
"""
from typing import NamedTuple

from nbvi.data import Data, Minibatch
from nbvi.model import Model, RandomVariable, modelcontext


class GraphNode(NamedTuple):
    """One node of the drawing.

    ``key`` is unique in the graph (the name, or ``name_2`` ... when two data nodes share a name);
    ``kind`` is one of ``"free"``, ``"observed"``, ``"deterministic"``, ``"data"``; ``plate`` is the
    plate label (``"4 x 3"``), ``""`` outside any plate.
    """

    key: str
    name: str
    family: str
    kind: str
    plate: str


class ModelGraph(NamedTuple):
    """Nodes (data first, then the variables in the order they were defined) and edges ``(parent key,
    child key)``."""

    nodes: list
    edges: list

    def plates(self):
        """``{plate label: [GraphNode]}`` in order of first appearance, scalars left out."""
        plates = {}
        for node in self.nodes:
            if node.plate:
                plates.setdefault(node.plate, []).append(node)
        return plates


# -- walking the model ---------------------------------------------------------------------------------

def _direct_parents(sources, shown):
    """Shown nodes that ``sources`` are or depend on, walking up through unnamed intermediate nodes."""
    found, stack, seen = [], list(reversed(sources)), set()  # reversed: found in the order of the sources
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if id(current) in shown:
            found.append(shown[id(current)])
            continue
        stack.extend(reversed(current.inputs))
    return found


def _sources(rv_or_node):
    """The nodes a variable's definition reads: distribution parameters and observed data, or a
    deterministic's expression."""
    if isinstance(rv_or_node, RandomVariable):
        sources = list(rv_or_node.dist.param_nodes.values())
        if rv_or_node.observed is not None:
            sources.append(rv_or_node.observed)
        return sources
    return list(rv_or_node.inputs)


def _data_nodes(model):
    """Named Data and Minibatch leaves read anywhere in the model, in first-seen order."""
    found, seen, stack = [], set(), []
    for rv in model.free_RVs + model.observed_RVs + model.deterministics:
        stack.extend(reversed(_sources(rv)))
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, (Data, Minibatch)) and current.name:
            found.append(current)
        stack.extend(current.inputs)
    return found


def _family_and_kind(node):
    if isinstance(node, RandomVariable):
        return type(node.dist).__name__, "free" if node.observed is None else "observed"
    if isinstance(node, Minibatch):
        return "Minibatch", "data"
    if isinstance(node, Data):
        return "Data", "data"
    if getattr(node, "is_potential", False):  # (drawn as a deterministic, labelled as PyMC labels it)
        return "Potential", "deterministic"
    return "Deterministic", "deterministic"


def _plate_label(shape):
    """PyMC's plate label: ``"4 x 3"``, thousands separated (``"40,000 x 100"``); ``""`` for a scalar."""
    if shape == (1,):
        return ""
    return " x ".join(f"{n:,d}" for n in shape)


def _unique_key(name, taken):
    key, n = name, 1
    while key in taken:
        n += 1
        key = f"{name}_{n}"
    taken.add(key)
    return key


def describe_model(model=None):
    """The graph of ``model`` that every renderer draws.

    Parameters
    ----------
    model : Model, optional (default: the innermost ``with`` block's)

    Returns
    -------
    ModelGraph
    """
    model = modelcontext(model)
    if not isinstance(model, Model):
        raise TypeError(f"a model graph needs an nbvi.Model, got {type(model).__name__}")
    data = _data_nodes(model)
    variables = [v for v in model.named_vars.values() if all(v is not d for d in data)]
    taken, nodes, keys = set(), [], {}
    for var in data + variables:
        family, kind = _family_and_kind(var)
        keys[id(var)] = _unique_key(var.name, taken)
        nodes.append(GraphNode(keys[id(var)], var.name, family, kind, _plate_label(var.shape)))
    shown = {id(var): var for var in data + variables}
    edges = []
    for var in variables:
        parents = _direct_parents(_sources(var), shown)
        for parent_key in dict.fromkeys(keys[id(p)] for p in parents):
            edges.append((parent_key, keys[id(var)]))
    return ModelGraph(nodes, edges)


# -- DOT and graphviz ----------------------------------------------------------------------------------

_DOT_ATTRS = {
    "free": {"shape": "ellipse"},
    "observed": {"shape": "ellipse", "style": "filled", "fillcolor": "gray"},
    "deterministic": {"shape": "box"},
    "data": {"shape": "box", "style": "rounded"},
}
_PLATE_ATTRS = {"labeljust": "r", "labelloc": "b", "style": "rounded"}


def _cluster_name(plate):
    """Graphviz draws a box around a subgraph only when its name starts with ``cluster``."""
    return "cluster" + plate.replace(",", "").replace(" x ", "_")


def _quoted(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _dot_node(node):
    attrs = " ".join(f"{k}={v}" for k, v in _DOT_ATTRS[node.kind].items())
    return f"{_quoted(node.key)} [label={_quoted(_dot_label(node))} {attrs}]"


def _dot_label(node):
    return f"{node.name}\n~\n{node.family}"


def model_dot(model=None):
    """The DOT source of ``model``'s graph (see the module docstring).

    Parameters
    ----------
    model : Model, optional (default: the innermost ``with`` block's)

    Returns
    -------
    str
    """
    graph = describe_model(model)
    lines = ["digraph {"]
    lines += [f"\t{_dot_node(node)}" for node in graph.nodes if not node.plate]
    for plate, members in graph.plates().items():
        lines.append(f"\tsubgraph {_cluster_name(plate)} {{")
        lines += [f"\t\t{_dot_node(node)}" for node in members]
        attrs = " ".join(f"{k}={v}" for k, v in _PLATE_ATTRS.items())
        lines.append(f"\t\tlabel={_quoted(plate)} {attrs}")
        lines.append("\t}")
    lines += [f"\t{_quoted(parent)} -> {_quoted(child)}" for parent, child in graph.edges]
    lines.append("}")
    return "\n".join(lines)


def _digraph(graphviz, graph, name):
    """``graph`` as a ``graphviz.Digraph`` (what PyMC's ``model_to_graphviz`` returns)."""
    digraph = graphviz.Digraph(name)
    for node in graph.nodes:
        if not node.plate:
            digraph.node(node.key, _dot_label(node), **_DOT_ATTRS[node.kind])
    for plate, members in graph.plates().items():
        with digraph.subgraph(name=_cluster_name(plate)) as sub:
            for node in members:
                sub.node(node.key, _dot_label(node), **_DOT_ATTRS[node.kind])
            sub.attr(label=plate, **_PLATE_ATTRS)
    for parent, child in graph.edges:
        digraph.edge(parent, child)
    return digraph


def model_to_graphviz(model=None):
    """The model's graph: a ``graphviz.Digraph`` when the graphviz package is installed (it renders in
    notebooks and with ``.render()``), otherwise the DOT source text, which any Graphviz tool draws.

    Parameters
    ----------
    model : Model, optional (default: the innermost ``with`` block's)

    Returns
    -------
    graphviz.Digraph or str

    See Also
    --------
    draw_model_graph : the same graph drawn with matplotlib only.
    """
    model = modelcontext(model)
    try:
        import graphviz
    except ImportError:
        return model_dot(model)
    return _digraph(graphviz, describe_model(model), model.name)
