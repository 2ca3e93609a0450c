"""Compiled densities: any model's joint log-density and gradient as one call of a compiled interpreter.

* :mod:`~nbvi.compiled.interpreter`: the numba interpreter of a tape (forward, then reverse-mode backward);
* :mod:`~nbvi.compiled.lowering`: a model's graph turned into a tape, constants folded;
* :mod:`~nbvi.compiled.density`: :class:`~nbvi.compiled.density.CompiledDensity`, which builds the tape of
  a model (or says why it cannot) and runs it.

Models of the fused class (:mod:`nbvi.fused`) keep their specialised kernel, which also runs whole ADVI
steps; every other model the tape can run uses the tape, and the rest walk the graph
(``nbvi.explain(model)`` says which and why). Importing this package registers both with
:data:`nbvi.model.DENSITY_BUILDERS`, the model's only way to them (their modules load on first use).
"""
from nbvi.model import register_density


def fused_density(model):
    """The model's :class:`~nbvi.fused.density.FusedDensity`, or a false Refusal saying why not."""
    from nbvi.fused.density import FusedDensity

    return FusedDensity.build(model)


def tape_density(model):
    """The model's :class:`~nbvi.compiled.density.CompiledDensity` (the tape), or a false Refusal."""
    from nbvi.compiled.density import CompiledDensity

    return CompiledDensity.build(model)


register_density(fused_density)
register_density(tape_density)
