"""Probability distributions: one module per family, each with numba log-density and gradient kernels."""
from nbvi.distributions.distribution import Distribution
from nbvi.distributions.normal import Normal

__all__ = ["Distribution", "Normal"]
