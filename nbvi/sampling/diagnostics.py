"""Convergence diagnostics of MCMC draws: rank-normalised split R-hat, bulk and tail ESS, HDI, ``summary``.

Vehtari, Gelman, Simpson, Carpenter & Buerkner (2021), "Rank-normalization, folding, and localization: An
improved R-hat for assessing convergence of MCMC", Bayesian Analysis 16(2). Arrays are (chains, draws).

* Split: each chain is cut into its first and second half (the middle draw of an odd chain is dropped),
  so that a chain that drifts looks like two chains that disagree.
* Rank normalisation (eq. 14): pool all S draws, rank them (ties get their mean rank r), and map
  z = Phi^-1((r - 3/8) / (S + 1/4)).
* R-hat (eqs. 3-4) of M chains of N draws: W = mean of the chain variances, B/N = variance of the chain
  means, var+ = (N - 1)/N W + B/N, R-hat = sqrt(var+ / W). The rank-normalised split R-hat is the larger
  of the bulk R-hat (of z) and the tail R-hat (of the z of the folded draws |x - median(x)|).
* ESS (eqs. 10-13): S / tau with tau = -1 + 2 sum_t rho_t, the autocorrelations rho_t = 1 - (W - mean of
  the chains' autocovariances at lag t) / var+, summed over Geyer's initial positive sequence of pairs
  rho_{2k} + rho_{2k+1} > 0 made monotone (each pair at most the one before). Autocovariances by FFT.
  Bulk ESS is the ESS of the rank-normalised split chains; tail ESS the smaller ESS of the indicators
  I(x <= q_5%) and I(x <= q_95%) of the split chains.
"""
import numpy as np

from nbvi import arguments

__all__ = ["Summary", "effective_sample_size", "ess_bulk", "ess_tail", "hdi", "rhat", "summary"]


def _as_chains(x):
    x = arguments.real_array(x, "draws").astype(np.float64)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2:
        raise ValueError(f"draws must have shape (chains, draws), got {x.shape}")
    return x


def split_chains(x):
    """(M, N) -> (2M, N // 2): first and last halves of each chain."""
    x = _as_chains(x)
    half = x.shape[1] // 2
    return np.concatenate([x[:, :half], x[:, x.shape[1] - half:]])


def rank_normalize(x):
    """z = Phi^-1((r - 3/8) / (S + 1/4)) of the pooled average ranks r of the S draws (eq. 14)."""
    # imported on use: scipy is slow to import and `import nbvi` must stay fast
    from scipy.special import ndtri
    from scipy.stats import rankdata

    ranks = rankdata(x, method="average", axis=None).reshape(x.shape)
    return ndtri((ranks - 0.375) / (x.size + 0.25))


def _rhat_basic(x):
    """Gelman-Rubin R-hat of (M, N) chains as they are (no split, no ranks)."""
    n = x.shape[1]
    within = np.mean(np.var(x, axis=1, ddof=1))
    between_n = np.var(np.mean(x, axis=1), ddof=1)  # B / N
    return np.sqrt(((n - 1) / n * within + between_n) / within)


def _autocov(x):
    """Autocovariances (biased, divided by N) of each chain at lags 0..N-1, by FFT: (M, N)."""
    n = x.shape[1]
    centred = x - x.mean(axis=1, keepdims=True)
    size = 1 << int(2 * n - 1).bit_length()  # zero-padding to >= 2N - 1 makes the circular sum linear
    f = np.fft.rfft(centred, size, axis=1)
    return np.fft.irfft(f * np.conj(f), size, axis=1)[:, :n] / n


def _ess_basic(x):
    """ESS of (M, N) chains as they are (eqs. 10-13, Geyer's initial monotone sequence)."""
    m, n = x.shape
    if n < 4 or not np.all(np.isfinite(x)):
        return np.nan
    if np.ptp(x) < np.finfo(float).resolution:  # constant draws: no autocorrelation to speak of
        return float(x.size)
    acov = _autocov(x)
    mean_var = acov[:, 0].mean() * n / (n - 1.0)  # W
    var_plus = mean_var * (n - 1.0) / n + (np.var(x.mean(axis=1), ddof=1) if m > 1 else 0.0)
    rho = 1.0 - (mean_var - acov.mean(axis=0)) / var_plus  # rho_t, t = 0..N-1; rho_0 = 1
    # Geyer's initial positive sequence: pairs P_k = rho_2k + rho_2k+1 kept while positive (Stan's loop)
    kept = np.zeros(n)
    kept[:2] = rho[:2]
    even, odd, t = 1.0, rho[1], 1
    while t < n - 3 and even + odd > 0.0:
        even, odd = rho[t + 1], rho[t + 2]
        if even + odd >= 0.0:
            kept[t + 1], kept[t + 2] = even, odd
        t += 2
    max_t = t - 2
    if even > 0.0:  # the first dropped pair's even term, when positive, still counts once (Stan)
        kept[max_t + 1] = even
    # ... made monotone: no pair larger than the one before
    for t in range(1, max_t - 1, 2):
        if kept[t + 1] + kept[t + 2] > kept[t - 1] + kept[t]:
            kept[t + 1] = kept[t + 2] = (kept[t - 1] + kept[t]) / 2.0
    tau = -1.0 + 2.0 * kept[:max_t + 1].sum() + kept[max_t + 1]
    tau = max(tau, 1.0 / np.log10(x.size))  # ESS at most S log10(S), as ArviZ caps it
    return x.size / tau


def effective_sample_size(x, method="bulk"):
    """Effective sample size of draws (chains, draws) or (draws,).

    Parameters
    ----------
    x : array_like
    method : {"bulk", "tail", "basic"}
        "bulk": of the rank-normalised split chains; "tail": the smaller of those of the 5% and 95%
        quantile indicators; "basic": of the split chains, without ranks (the ESS of the mean).
    """
    x = _as_chains(x)
    if method == "bulk":
        return ess_bulk(x)
    if method == "tail":
        return ess_tail(x)
    if method == "basic":
        return _ess_basic(split_chains(x))
    raise ValueError(f"method must be 'bulk', 'tail' or 'basic', got {method!r}")


def ess_bulk(x):
    """Bulk ESS: ESS of the rank-normalised split chains."""
    return _ess_basic(rank_normalize(split_chains(x)))


def ess_tail(x, prob=(0.05, 0.95)):
    """Tail ESS: min over q in ``prob`` of the ESS of I(x <= quantile q) on the split chains."""
    s = split_chains(x)
    return min(_ess_basic((s <= np.quantile(s, p)).astype(np.float64)) for p in prob)


def rhat(x):
    """Rank-normalised split R-hat: max(bulk R-hat, tail R-hat of the folded draws) (Vehtari et al. eq. 20)."""
    s = split_chains(x)
    if s.shape[1] < 2 or not np.all(np.isfinite(s)):
        return np.nan
    bulk = _rhat_basic(rank_normalize(s))
    tail = _rhat_basic(rank_normalize(np.abs(s - np.median(s))))
    return max(bulk, tail)


def hdi(x, prob=0.94):
    """Highest density interval of pooled draws: the narrowest interval holding ``prob`` of them."""
    x = np.sort(np.asarray(x, dtype=np.float64).ravel())
    n = x.size
    inside = int(np.floor(prob * n))
    widths = x[inside:] - x[:n - inside]
    i = int(np.argmin(widths))
    return x[i], x[i + inside]


class Summary:
    """Per-variable table of ``summary``: columns name -> array of the variable's shape (a plain dict).

    ``repr`` prints one row per scalar element, e.g. ``mu[0]``.
    """

    COLUMNS = ("mean", "sd", "hdi_3%", "hdi_97%", "ess_bulk", "ess_tail", "r_hat")

    def __init__(self, name, columns):
        self.name = name
        self.columns = columns

    def __getitem__(self, column):
        return self.columns[column]

    def keys(self):
        return self.columns.keys()

    def rows(self):
        """(label, values in COLUMNS order) for each scalar element, e.g. ("mu[0]", [...])."""
        shape = np.shape(self.columns["mean"])
        return [(self.name + "".join(f"[{i}]" for i in idx), [np.asarray(self.columns[c])[idx] for c in self.COLUMNS])
                for idx in np.ndindex(*shape)]

    def to_string(self):
        return _format_rows(self.rows(), self.COLUMNS)

    def __repr__(self):
        return self.to_string()


class SummaryTable(dict):
    """name -> :class:`Summary`, printed as one table (a row per scalar element, one header)."""

    def to_string(self):
        tables = list(self.values())
        if not tables:
            return "(no variables)"
        return _format_rows([row for table in tables for row in table.rows()], tables[0].COLUMNS)

    def __repr__(self):
        return self.to_string()


def _format_rows(rows, columns):
    """A text table: labels left-aligned, then the columns (ESS as integers, the rest with 3 decimals)."""
    width = max((len(label) for label, _ in rows), default=0)
    lines = [" " * width + "".join(f"{c:>10}" for c in columns)]
    for label, values in rows:
        cells = [f"{v:>10.3f}" for v in values[:4]] + [f"{v:>10.0f}" for v in values[4:6]] + [f"{values[6]:>10.3f}"]
        lines.append(f"{label:<{width}}" + "".join(cells))
    return "\n".join(lines)


def trace_names(trace, var_names, caller):
    """``var_names`` (None: all, a name, or a list of names) as a list of names of ``trace``; TypeError or
    ValueError naming ``caller`` and the unknown names (a single name is not split into letters)."""
    if var_names is None:
        return list(trace)
    names = [var_names] if isinstance(var_names, str) else var_names
    if not isinstance(names, (list, tuple)) or not all(isinstance(name, str) for name in names):
        raise TypeError(f"{caller}: var_names must be a name or a list of names, got {var_names!r}")
    unknown = [name for name in names if name not in trace]
    if unknown:
        raise ValueError(f"{caller}: no variable '{unknown[0]}' in the trace; it has {list(trace)}")
    return list(names)


def summary(trace, var_names=None, hdi_prob=0.94):
    """Posterior summary of a :class:`~nbvi.trace.Trace`, one table per variable (ArviZ's ``summary``).

    Parameters
    ----------
    trace : Trace, InferenceData or dict
        Its posterior draws (not the warm-up draws a Trace of ``discard_tuned_samples=False`` holds).
    var_names : str or list of str, optional
        The variables to summarise (default all).
    hdi_prob : float in (0, 1)
        Probability mass of the highest density interval.

    Returns
    -------
    SummaryTable (a dict name -> Summary, printed as one table)
        Columns mean, sd, hdi_3%, hdi_97% (94% HDI, over all chains), ess_bulk, ess_tail, r_hat, each an
        array of the variable's shape.
    """
    from nbvi.inference_data import as_trace

    trace = as_trace(trace, "summary")
    names = trace_names(trace, var_names, "summary")
    hdi_prob = arguments.number(hdi_prob, "hdi_prob")
    if not 0.0 < hdi_prob < 1.0:
        raise ValueError(f"hdi_prob must lie strictly between 0 and 1, got {hdi_prob!r}")
    chains = trace.n_chains
    per_chain = [np.flatnonzero(trace.chain == c) for c in range(chains)]
    length = min(len(idx) for idx in per_chain) if per_chain else 0
    lo, hi = f"hdi_{100 * (1 - hdi_prob) / 2:g}%", f"hdi_{100 * (1 + hdi_prob) / 2:g}%"
    out = SummaryTable()
    for name in names:
        draws = np.asarray(trace[name], dtype=np.float64)
        shape = draws.shape[1:]
        by_chain = np.stack([draws[idx[:length]] for idx in per_chain])  # (chains, n, *shape)
        cols = {c: np.empty(shape) for c in ("mean", "sd", lo, hi, "ess_bulk", "ess_tail", "r_hat")}
        for idx in np.ndindex(*shape):
            x = by_chain[(slice(None), slice(None)) + idx]
            cols["mean"][idx], cols["sd"][idx] = x.mean(), x.std(ddof=1)
            cols[lo][idx], cols[hi][idx] = hdi(x, hdi_prob)
            cols["ess_bulk"][idx], cols["ess_tail"][idx], cols["r_hat"][idx] = ess_bulk(x), ess_tail(x), rhat(x)
        table = Summary(name, cols)
        table.COLUMNS = ("mean", "sd", lo, hi, "ess_bulk", "ess_tail", "r_hat")
        out[name] = table
    return out
