"""Plain-NumPy reference implementations, for reading: each file is the textbook version of an algorithm
that nbvi runs, fast, elsewhere. None uses numba; each cites the paper's equations and fits in one sitting.
The fast code is tested as an exact rewrite of these (same random draws in, the same numbers out, to
1e-10 relative): tests/reference/.

* :mod:`nbvi.reference.advi`: one step of mean-field and full-rank ADVI (reparameterised ELBO gradient
  with the closed-form entropy) and the SGD and AdagradWindow updates. Fast counterpart:
  :mod:`nbvi.variational.advi` (``meanfield_step``, ``fullrank_step``), the optimizer kernels of
  :mod:`nbvi.variational.optimizers`, and the compiled blocks of steps the ``ADVI`` and ``FullRankADVI``
  classes run.
* :mod:`nbvi.reference.svgd`: the Stein force of SVGD (Liu & Wang 2016, eq. 8) with the median bandwidth,
  and ASVGD's push-back of that force to a mean-field q. Fast counterpart: :mod:`nbvi.variational.stein`
  (``median_bandwidth``, ``stein_force``, ``svgd_step``) and the ``SVGD`` and ``ASVGD`` classes.
* :mod:`nbvi.reference.autodiff`: a reverse-mode pass over the model's graph (topological order, forward,
  backward with each op's VJP) and the change of variables to unconstrained space. Fast counterpart:
  :class:`nbvi.graph.evaluate.Program` (``model._graph_logp_dlogp``) and the compiled densities behind
  ``model.logp_dlogp``.
* :mod:`nbvi.reference.nuts` and :mod:`nbvi.reference.nuts_adaptation`: recursive NUTS and Stan's warm-up
  (their own docstrings say more). Fast counterpart: :mod:`nbvi.sampling`.

The algorithms take the model only through the contract of ARCHITECTURE.md (``model.ndim``,
``model.initial_point_flat()``, ``model.logp_dlogp(theta)``); the backward pass, which is what computes
``logp_dlogp``, reads the model's variables, their transforms and its graph.
"""
