"""``nbvi.Potential``: an arbitrary term added to a model's joint log-density (PyMC's ``pm.Potential``).

A potential is an expression of the model's variables, ``phi(x)``; the model's log-density becomes

    log p(x) + sum(phi(x)),

so ``exp(sum phi)`` multiplies the density: a soft constraint (``-(sum(x) ** 2) / (2 * 0.01 ** 2)`` keeps
``sum(x)`` near 0), a penalty, or a likelihood written by hand. A potential is not a random variable: it is
not sampled, has no value in traces and no prior or posterior draws. Its gradient flows through the graph
(each op's hand-written VJP): d sum(phi) / d phi_i = 1, then back through the ops that computed phi.
"""
import numpy as np

from nbvi import arguments
from nbvi.graph.node import Constant, Node
from nbvi.graph.ops import reshape
from nbvi.graph.ops.reductions import Sum


class PotentialTerm(Sum):
    """``sum(phi)`` over every axis, as a term of the joint log-density: node shape ``()``, float64.

    The tape (:mod:`nbvi.compiled`) lowers it as a SUM whose output adds to logp with adjoint 1.
    """

    name = "potential"

    def __init__(self):
        super().__init__(axis=None, keepdims=False)

    def out_dtype(self, x):
        return np.float64

    def forward(self, x):
        # sum over the node axes (value axis 0 is the draw axis)
        return np.asarray(x.sum(axis=self.value_axes), dtype=np.float64)


def Potential(name, expr, model=None):
    """Add ``sum(expr)`` to the joint log-density of a model.

    Parameters
    ----------
    name : str
        A new name in the model; ``model[name]`` and ``model.potentials`` hold the expression.
    expr : Node or array_like, any shape
        Real values; usually an expression of the model's variables (``nbvi.math`` and operators).
    model : Model, optional
        By default the model of the innermost ``with`` block.

    Returns
    -------
    Node
        The expression, named ``name`` (a new node when ``expr`` is a variable or already named).

    Notes
    -----
    The term is ``sum(expr)`` per point; its gradient is that of ``expr``'s graph with the adjoint 1 at
    every element. It is evaluated on every path of ``logp_dlogp`` but the fused kernel: the tape and
    the graph walk (see docs/compiled.md). Traces do not record it (as in PyMC).
    """
    from nbvi.model import Model, modelcontext

    model = Model.get_context(f"Potential '{name}'") if model is None else modelcontext(model)
    model._check_name(name)
    if not isinstance(expr, Node):
        array = arguments.real_array(expr, f"Potential '{name}': the expression (a graph node or numbers)")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"Potential '{name}': the expression contains NaN or inf")
        expr = Constant(array.astype(np.float64))
    elif expr.dtype.kind not in "biuf":
        raise TypeError(f"Potential '{name}': the expression must have real values, got dtype {expr.dtype}")
    if expr.op is None or expr.name is not None:  # a variable, data or a named expression: name a new node
        expr = reshape(expr, expr.shape)
    expr.name = name
    expr.is_potential = True  # (model graphs label it "Potential")
    model.potentials.append(expr)
    model.named_vars[name] = expr
    model._plan = model._density = None
    return expr


__all__ = ["Potential", "PotentialTerm"]
