"""``nbvi.explain(model)``: which way a model's log-density is computed, and why.

Three paths, fastest first:

* ``"fused"``: a sum of scalar-family terms over free variables, constants, data and minibatches, run by
  the specialised kernel of :mod:`nbvi.fused` (ADVI also runs whole blocks of steps in one call);
* ``"tape"``: any other model the tape interpreter runs (:mod:`nbvi.compiled`), one compiled call for
  logp and gradient;
* ``"graph"``: the graph walk of :mod:`nbvi.graph.evaluate`, op by op from Python. The explanation names
  what kept the model off the tape.
"""
from nbvi.model import Model, modelcontext


class Explanation:
    """What :func:`explain` found.

    Attributes
    ----------
    path : str
        ``"fused"``, ``"tape"``, ``"graph"``, or ``"own"`` (a model whose ``logp_dlogp`` is overridden).
    reason : str
        Why the faster paths were not taken (empty for ``"fused"``).
    """

    def __init__(self, path, reason, detail=""):
        self.path = path
        self.reason = reason
        self.detail = detail

    def __str__(self):
        text = {
            "fused": "fused kernel (nbvi.fused): the log-density is a sum of scalar-family terms over variables "
                     "and data; logp_dlogp and whole ADVI steps are single compiled calls",
            "tape": "compiled tape (nbvi.compiled): logp_dlogp is one compiled call",
            "graph": "graph walk (slow): logp_dlogp evaluates the graph op by op from Python",
            "own": "the model's own logp_dlogp (it is overridden): nbvi computes nothing itself",
        }[self.path]
        if self.detail:
            text += f" ({self.detail})"
        if self.reason:
            text += f"; {self.reason}"
        return text

    def __repr__(self):
        return f"Explanation(path={self.path!r}, reason={self.reason!r})"


def explain(model=None):
    """Say how ``model.logp_dlogp`` computes the log-density, and why not faster.

    Parameters
    ----------
    model : Model, optional
        By default the model of the innermost ``with`` block.

    Returns
    -------
    Explanation
        ``str()`` of it is a sentence; ``.path`` is ``"fused"``, ``"tape"``, ``"graph"`` or ``"own"``.
    """
    from nbvi.compiled.density import CompiledDensity
    from nbvi.compiled.interpreter import LOOP
    from nbvi.fused.density import FusedDensity

    model = modelcontext(model)
    if not isinstance(model, Model):
        raise TypeError(f"explain needs an nbvi.Model, got {type(model).__name__}")
    if type(model).logp_dlogp is not Model.logp_dlogp or "logp_dlogp" in vars(model):
        return Explanation("own", "")
    fused = FusedDensity.build(model)
    if fused:
        return Explanation("fused", "")
    compiled = CompiledDensity.build(model)
    if compiled:
        tape = compiled.tape
        loops = int((tape.code[:, 0] == LOOP).sum())
        detail = f"{len(tape.code)} instructions, {loops} loops"
        return Explanation("tape", f"not fused: {fused.reason}", detail)
    return Explanation("graph", f"not fused: {fused.reason}; not on the tape: {compiled.reason}")
