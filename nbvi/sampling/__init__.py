"""NUTS reference sampler (same ``logp_dlogp`` contract as the variational algorithms) and diagnostics.

``nbvi.sample`` is the function :func:`nbvi.sampling.sample.sample`; it is not re-exported here, so that
``nbvi.sampling.sample`` stays the module.
"""
from nbvi.sampling.diagnostics import Summary, effective_sample_size, ess_bulk, ess_tail, hdi, rhat, summary
from nbvi.sampling.sample import SamplingError

__all__ = ["SamplingError", "Summary", "effective_sample_size", "ess_bulk", "ess_tail", "hdi", "rhat", "summary"]
