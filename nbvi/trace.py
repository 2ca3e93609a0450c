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
        name -> ndarray (n_draws, ...) of per-draw sampler statistics. A boolean ``tune`` marks warm-up draws
        (``nbvi.sample(discard_tuned_samples=False)``).

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

    def to_inference_data(self, model=None, log_likelihood=False, coords=None, dims=None):
        """An ``arviz.InferenceData`` (arviz 0.x) or ``DataTree`` (arviz 1.x) of these draws.

        Groups: ``posterior`` (chains kept: ``(chain, draw, *shape)``, chains cut to the shortest),
        ``sample_stats`` (NUTS statistics under arviz's names: ``acceptance_rate`` for nbvi's
        ``mean_tree_accept``), and with a model ``observed_data``, ``constant_data`` (its named Data that
        are not observed values) and, on request, ``log_likelihood``. Warm-up draws kept by
        ``nbvi.sample(discard_tuned_samples=False)`` (sample stat ``tune`` True) go to ``warmup_posterior``
        and ``warmup_sample_stats`` instead, as in PyMC.

        Parameters
        ----------
        model : Model, optional
            Gives coords, dims and the data groups. Default: the model of the ``with`` block, if any;
            outside one, the draws alone.
        log_likelihood : bool or list of str
            Add the pointwise log-likelihood of every observed variable (True) or of those named.
        coords, dims : dict, optional
            Add to or replace the model's ``coords`` and ``named_vars_to_dims``.

        Raises
        ------
        ImportError
            When arviz is not installed (it is an optional extra: ``pip install "nbvi[arviz]"``).
        """
        from nbvi.inference_data import trace_to_inference_data

        return trace_to_inference_data(self, model, log_likelihood, coords, dims)
