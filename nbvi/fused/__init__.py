"""Fused densities: a model's joint log-density, its gradient and whole ADVI steps as single kernel calls.

* :mod:`~nbvi.fused.families` and :mod:`~nbvi.fused.transforms`: the scalar families and elementwise
  transforms behind numbered switches (a compiled kernel cannot take functions and stay cached);
* :mod:`~nbvi.fused.kernel`: the joint density of a plan described by arrays;
* :mod:`~nbvi.fused.advi_steps`: mean-field and full-rank ADVI steps around it;
* :mod:`~nbvi.fused.density`: :class:`~nbvi.fused.density.FusedDensity`, which builds the plan of a model
  (or says it cannot) and runs it. ``Model.logp_dlogp`` and the ADVI classes use it when they can.
"""
