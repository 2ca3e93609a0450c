"""PyMC v5's module functions over variables and distributions: ``draw`` (forward sampling) and ``logp``.

``draw`` samples ancestrally, as ``sample_prior_predictive`` does (one vectorised draw per variable, in the
model's order), then evaluates the requested expressions at those draws. ``logp`` is a distribution's
log-density at a value as a graph node, with the family's hand-written gradient (the ``Potential`` idiom
``nbvi.Potential("p", nbvi.logp(dist, x))``).
"""
import numpy as np

from nbvi import arguments
from nbvi.distributions.distribution import Distribution
from nbvi.distributions.pointwise import pointwise_logp
from nbvi.graph.evaluate import Program
from nbvi.graph.node import Leaf, Node, as_node
from nbvi.model import RandomVariable
from nbvi.predictive import _draw_in_order, _random_variables, _reads

__all__ = ["draw", "logp"]


def _model_of(nodes):
    """The one model whose variables ``nodes`` read (None when they read none), and the ids of those variables
    together with every variable their parameters read."""
    read = _reads(nodes)
    models = []
    for node in read.values():
        if isinstance(node, RandomVariable) and not any(node.model is m for m in models):
            models.append(node.model)
    if len(models) > 1:
        raise ValueError("draw: vars read variables of more than one model; draw each model's separately")
    return (models[0] if models else None), set(read)


def draw(vars, draws=1, random_seed=None):
    """Forward draws of variables or expressions of them, as PyMC's ``pm.draw``.

    Every variable the requested ones read is drawn from its prior in the model's order (observed
    variables too: their data is not used); Potentials are ignored.

    Parameters
    ----------
    vars : Node, Distribution, or list of them
        Model variables, deterministics, expressions of them (``x + y``), or distributions made with
        ``Family.dist(...)``.
    draws : int >= 1
    random_seed : int, Generator or SeedSequence, optional

    Returns
    -------
    ndarray or list of ndarray
        ``(*shape)`` when ``draws == 1``, else ``(draws, *shape)``; a list when ``vars`` is a list or tuple.
    """
    single = not isinstance(vars, (list, tuple))
    targets = [vars] if single else list(vars)
    for var in targets:
        if not isinstance(var, (Node, Distribution)):
            raise TypeError(f"draw: vars must be model variables, expressions or distributions (Family.dist(...)), "
                            f"got {type(var).__name__}")
    n = arguments.integer(draws, "draws", minimum=1)
    rng = np.random.default_rng(arguments.seed(random_seed))
    nodes = [var for var in targets if isinstance(var, Node)]
    model, needed = _model_of(nodes)
    known = {}
    if model is not None:
        known = _draw_in_order(model, [rv for rv in _random_variables(model) if id(rv) in needed], {}, rng, n)
    inputs = [model.named_vars[name] for name in known] if model is not None else []
    swaps = {} if model is None else {o: o.observed for o in model.observed_RVs
                                      if not isinstance(o.observed, Leaf) and o.name not in known}
    values = iter(Program(nodes, inputs, swaps).run([known[name] for name in known]) if nodes else [])
    out = []
    for var in targets:
        if isinstance(var, Distribution):
            value = var.random(size=n, rng=rng)
        else:
            value = np.broadcast_to(next(values), (n,) + var.shape).copy()
        out.append(value[0] if n == 1 else value)
    return out[0] if single else out


def logp(rv_or_dist, value):
    """The log-density of a distribution at ``value``, as PyMC's ``pm.logp``: a graph node.

    Parameters
    ----------
    rv_or_dist : RandomVariable or Distribution
        A model variable (its distribution is used) or ``Family.dist(...)``.
    value : number, array_like or Node
        Values of the distribution's shape (or broadcasting with its parameters).

    Returns
    -------
    Node
        For a scalar family, each element's log-density (the shape of value and parameters broadcast), as
        PyMC; for a family with an event axis (Dirichlet, MvNormal, ...), their sum, shape (). In a
        ``Potential`` or an expression its gradient flows to ``value`` and to the parameters through the
        family's hand-written kernels (a Potential adds the sum either way).
    """
    if isinstance(rv_or_dist, RandomVariable):
        dist = rv_or_dist.dist
    elif isinstance(rv_or_dist, Distribution):
        dist = rv_or_dist
    else:
        raise TypeError(f"logp: rv_or_dist must be a model variable or a distribution (Family.dist(...)), got "
                        f"{type(rv_or_dist).__name__}")
    if not isinstance(value, Node):
        value = arguments.real_array(value, "logp: value").astype(np.float64)
    if dist.family is not None and type(dist).logp_partials is Distribution.logp_partials:
        return pointwise_logp(dist, as_node(value))  # (a scalar family: per element)
    return dist.logp(as_node(value))
