"""The one declaration of a scalar family, from which every kernel it needs is generated.

A scalar family (one number per element: Normal, Gamma, Poisson, ...) writes its log-density and partial
derivatives once, for one element, as a numba function ``<name>_logp_grad(x, *params)`` returning
``(logp, d/dx, d/dparam...)`` (``d/dx`` only for continuous families, and a partial only for the
parameters that have one), and declares it::

    HALFNORMAL = ScalarFamily("halfnormal", halfnormal_logp_grad, params=("sigma",))

``scripts/generate_families.py`` reads every declaration and writes

* :mod:`nbvi.distributions.elementwise`: the elementwise kernel of each family (log-density summed per
  draw with every argument's gradient, what the graph walk calls), its pointwise kernel (the
  log-density of each element, what a log-likelihood for LOO needs) and its pointwise gradient kernel
  (each element's log-density and partials, for a mixture's components);
* :mod:`nbvi.fused.families`: the family numbers and the one compiled switch over all scalar functions
  that the compiled interpreter and the fused kernel call.

numba does not cache closures or functions made at run time, so the generated code is checked in;
tests/distributions/test_generated.py fails when it is not what the generator writes now.
"""

DECLARED = {}  # name -> ScalarFamily, in the order the family modules are imported


class ScalarFamily:
    """A scalar family's declaration: its name, its scalar log-density-and-gradient and its parameters.

    Parameters
    ----------
    name : str
        Lower-case identifier; the generated kernels are ``<name>_kernel`` and ``<name>_pointwise``.
    logp_grad : numba function
        ``logp_grad(x, *params) -> (logp, d/dx?, d/dparam for each of gradients)``.
    params : tuple of str
        Parameter names in the order ``logp_grad`` takes them (at most 4).
    discrete : bool
        The value has no derivative (``logp_grad`` returns no d/dx).
    gradients : tuple of str, optional
        The parameters with a partial derivative, in ``params`` order; all of them by default.
    """

    def __init__(self, name, logp_grad, params, discrete=False, gradients=None):
        if name in DECLARED:
            raise ValueError(f"the scalar family '{name}' is declared twice")
        if len(params) > 4:
            raise ValueError(f"scalar family '{name}': at most 4 parameters, got {params}")
        gradients = tuple(params) if gradients is None else tuple(gradients)
        unknown = [g for g in gradients if g not in params]
        if unknown:
            raise ValueError(f"scalar family '{name}': gradients {unknown} are not parameters {params}")
        self.name = name
        self.logp_grad = logp_grad
        self.params = tuple(params)
        self.discrete = bool(discrete)
        self.gradients = tuple(p for p in params if p in gradients)
        DECLARED[name] = self

    @property
    def kernel(self):
        """The generated elementwise kernel (see :mod:`nbvi.distributions.elementwise`)."""
        from nbvi.distributions import elementwise

        return getattr(elementwise, f"{self.name}_kernel")

    @property
    def pointwise(self):
        """The generated pointwise kernel: arguments (D_i, n_i); the log-density of each element (D, n)."""
        from nbvi.distributions import elementwise

        return getattr(elementwise, f"{self.name}_pointwise")

    @property
    def pointwise_grad(self):
        """The generated kernel of each element's log-density and partial derivatives: arguments (D_i, n_i);
        returns (logp, d/dx, d/dparam...), each (D, n)."""
        from nbvi.distributions import elementwise

        return getattr(elementwise, f"{self.name}_pointwise_grad")

    def __repr__(self):
        return f"ScalarFamily({self.name!r}, params={self.params})"
