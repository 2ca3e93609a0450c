"""``model_to_graphviz``: a model's variables and their dependencies as a Graphviz (DOT) graph.

As PyMC draws it: one node per named variable labelled ``name ~ Family`` (observed variables shaded,
deterministics as boxes, data as rounded boxes), an edge from every variable a node's parameters or value
depend on, and variables of the same non-scalar shape grouped in a plate labelled with that shape.
"""
from nbvi.data import Data
from nbvi.model import Model, RandomVariable, modelcontext


def _direct_parents(node, named):
    """Named nodes that ``node``'s inputs depend on, walking up through unnamed intermediate nodes."""
    found, stack, seen = [], list(node.inputs), set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if id(current) in named:
            found.append(named[id(current)])
            continue
        stack.extend(current.inputs)
    return found


def _sources(model, rv_or_node):
    """The nodes a variable's definition reads: distribution parameters and observed data, or a
    deterministic's expression."""
    if isinstance(rv_or_node, RandomVariable):
        sources = list(rv_or_node.dist.param_nodes.values())
        if rv_or_node.observed is not None:
            sources.append(rv_or_node.observed)
        return sources
    return list(rv_or_node.inputs)


class _Holder:
    """A stand-in node whose inputs are given, so that ``_direct_parents`` can walk from it."""

    def __init__(self, inputs):
        self.inputs = inputs


def _data_nodes(model):
    """Named Data (and Minibatch) leaves read anywhere in the model, in first-seen order."""
    found, seen = [], set()
    stack = []
    for rv in model.free_RVs + model.observed_RVs + model.deterministics:
        stack.extend(reversed(_sources(model, rv)))
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, Data) and current.name:
            found.append(current)
        stack.extend(current.inputs)
    return found


def _shape_label(shape):
    return " x ".join(str(n) for n in shape)


def model_dot(model=None):
    """The DOT source of ``model``'s graph (see the module docstring).

    Parameters
    ----------
    model : Model, optional (default: the innermost ``with`` block's)

    Returns
    -------
    str
    """
    model = modelcontext(model)
    if not isinstance(model, Model):
        raise TypeError(f"model_to_graphviz needs an nbvi.Model, got {type(model).__name__}")
    data = _data_nodes(model)
    variables = list(model.named_vars.values())
    nodes = data + [v for v in variables if all(v is not d for d in data)]
    named = {id(node): node for node in nodes}

    def label(node):
        if isinstance(node, RandomVariable):
            kind = type(node.dist).__name__
            style = "shape=ellipse style=filled fillcolor=gray" if node.observed is not None else "shape=ellipse"
        elif isinstance(node, Data):
            kind, style = "Data", "shape=box style=rounded"
        else:
            kind, style = "Deterministic", "shape=box"
        return f'"{node.name}" [label="{node.name}\\n~\\n{kind}" {style}]'

    lines = ["digraph {"]
    plates = {}
    for node in nodes:
        if node.shape:
            plates.setdefault(node.shape, []).append(node)
        else:
            lines.append(f"\t{label(node)}")
    for shape, members in plates.items():
        lines.append(f"\tsubgraph cluster{_shape_label(shape).replace(' x ', '_')} {{")
        for node in members:
            lines.append(f"\t\t{label(node)}")
        lines.append(f'\t\tlabel="{_shape_label(shape)}" labeljust=r labelloc=b style=rounded')
        lines.append("\t}")
    for node in nodes:
        if isinstance(node, Data):
            continue
        parents = _direct_parents(_Holder(_sources(model, node)), named)
        for parent in dict.fromkeys(id(p) for p in parents):
            lines.append(f'\t"{named[parent].name}" -> "{node.name}"')
    lines.append("}")
    return "\n".join(lines)


def model_to_graphviz(model=None):
    """The model's graph: a ``graphviz.Source`` when the graphviz package is installed (it renders in
    notebooks and with ``.render()``), otherwise the DOT source text, which any Graphviz tool draws.

    Parameters
    ----------
    model : Model, optional (default: the innermost ``with`` block's)
    """
    source = model_dot(model)
    try:
        import graphviz
    except ImportError:
        return source
    return graphviz.Source(source)
