"""Trace: draws by variable name, stacked on a leading axis, as ``trace["x"]`` works in PyMC3."""
from collections.abc import Mapping

import numpy as np


class Trace(Mapping):
    """Draws of every free variable and deterministic of a model.

    Parameters
    ----------
    samples : dict
        name -> ndarray of shape ``(n_draws, *shape)``; copied.
    chain : ndarray of int, shape (n_draws,), optional
        The chain each draw came from (MCMC); all zeros for draws from an approximation.
    sample_stats : dict, optional
        name -> ndarray (n_draws, ...) of per-draw sampler statistics.

    Notes
    -----
    A Trace is a read-only mapping: ``trace["x"]``, ``list(trace)`` (the names), ``trace.varnames``.
    ``len(trace)`` is the number of variables; ``trace.n_draws`` the number of draws.
    """

    def __init__(self, samples, chain=None, sample_stats=None):
        if not isinstance(samples, Mapping):
            raise TypeError(f"samples must be a dict name -> draws, got {type(samples).__name__}")
        self._samples = {name: np.array(value) for name, value in samples.items()}
        sizes = {len(v) for v in self._samples.values()}
        if len(sizes) > 1:
            raise ValueError(f"all variables need the same number of draws, got {sorted(sizes)}")
        self.n_draws = sizes.pop() if sizes else 0
        self.chain = np.zeros(self.n_draws, dtype=np.int64) if chain is None else np.asarray(chain, dtype=np.int64)
        if self.chain.shape != (self.n_draws,):
            raise ValueError(f"chain must have shape ({self.n_draws},), got {self.chain.shape}")
        self.sample_stats = {k: np.asarray(v) for k, v in (sample_stats or {}).items()}

    def __getitem__(self, name):
        try:
            return self._samples[name]
        except KeyError:
            raise KeyError(f"no variable '{name}' in this trace; it has {sorted(self._samples)}") from None

    def __iter__(self):
        return iter(self._samples)

    def __len__(self):
        return len(self._samples)

    @property
    def varnames(self):
        return list(self._samples)

    @property
    def n_chains(self):
        return int(self.chain.max()) + 1 if self.n_draws else 0

    def __repr__(self):
        shapes = ", ".join(f"{k}: {v.shape[1:]}" for k, v in self._samples.items())
        return f"<Trace {self.n_draws} draws, {self.n_chains} chain(s); {shapes}>"

    def to_inference_data(self):
        """An ``arviz.InferenceData`` with a posterior group (chains kept) and sample stats.

        Raises
        ------
        ImportError
            When arviz is not installed (it is an optional extra: ``pip install arviz``).
        """
        try:
            import arviz
        except ImportError:
            raise ImportError(
                "Trace.to_inference_data() needs arviz, an optional dependency of nbvi: pip install arviz"
            ) from None
        chains = self.n_chains
        per_chain = [np.flatnonzero(self.chain == c) for c in range(chains)]
        length = min(len(idx) for idx in per_chain)
        posterior = {k: np.stack([v[idx[:length]] for idx in per_chain]) for k, v in self._samples.items()}
        stats = {k: np.stack([v[idx[:length]] for idx in per_chain]) for k, v in self.sample_stats.items()}
        return arviz.from_dict(posterior=posterior, sample_stats=stats or None)
