"""Plots of a fit and of its draws: the loss, tracked parameters, traces and densities (matplotlib).

matplotlib is an optional extra (``pip install nbvi[plots]``); ``import nbvi`` does not load it, and
``nbvi.plots`` loads it on first access. Every function returns the matplotlib Figure; those that take
``ax=`` draw into that Axes and return ``ax.figure``. Nothing is shown: call ``fig.savefig(path)`` (or
``plt.show()`` yourself). Figures are made with ``pyplot``, so they display in notebooks; close them with
``plt.close(fig)`` when you make many.

* ``plot_hist``: the loss per step (``approx.hist``), with a moving average and a log axis on request.
* ``plot_tracker``: one panel per quantity recorded by a ``callbacks.Tracker``, and the loss.
* ``plot_trace``: per variable, the density of its draws and the draws against their index, per chain.
* ``plot_densities``: several sets of draws of one variable (NUTS, ADVI, SVGD...) on one axis.
* ``plot_lines``: labelled series (accuracy over steps...), with a moving average on request.

Densities are Gaussian kernel density estimates with Scott's bandwidth (``gaussian_kde``); integer draws
are shown as histograms in ``plot_trace``.
"""
import numpy as np

from nbvi import arguments

try:
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator
except ImportError:
    raise ImportError("nbvi.plots needs matplotlib: pip install matplotlib (or pip install nbvi[plots])") from None

__all__ = ["gaussian_kde", "moving_average", "plot_densities", "plot_hist", "plot_lines", "plot_trace",
           "plot_tracker", "scott_bandwidth"]

MAX_LINES = 20  # plot_tracker draws at most this many elements of a non-scalar quantity
RAW_ALPHA = 0.3  # the faint raw curve under a moving average


# ---------------------------------------------------------------------------------------------------------
# Helpers: moving average and kernel density estimate
# ---------------------------------------------------------------------------------------------------------

def moving_average(x, window):
    """Centred moving average, the window shrinking at both ends so the output keeps the input's length.

    ``y[i] = mean(x[i - (window - 1) // 2 : i + window // 2 + 1])``, clipped to the array: centred, so a
    smoothed loss does not lag behind the raw one.

    Parameters
    ----------
    x : array_like, shape (n,)
    window : int >= 1

    Returns
    -------
    ndarray, shape (n,)
    """
    window = arguments.integer(window, "window", minimum=1)
    x = _as_series(x, "moving_average: x")
    n = len(x)
    csum = np.concatenate([[0.0], np.cumsum(x)])
    i = np.arange(n)
    lo = np.maximum(i - (window - 1) // 2, 0)
    hi = np.minimum(i + window // 2 + 1, n)
    return (csum[hi] - csum[lo]) / (hi - lo)


def scott_bandwidth(draws):
    """Scott's rule for a 1-D Gaussian kernel: ``h = std(draws) * n ** (-1/5)``, as scipy's gaussian_kde.

    ``std`` is the sample standard deviation (ddof=1). A single draw or constant draws (std 0) get
    ``h = 1e-3 * max(|x|, 1)``, so their density is a narrow spike.

    Parameters
    ----------
    draws : array_like, shape (n,)

    Returns
    -------
    float
    """
    draws = np.asarray(draws, dtype=np.float64)
    h = np.std(draws, ddof=1) * len(draws) ** -0.2 if len(draws) > 1 else 0.0
    return float(h) if h > 0 else 1e-3 * max(abs(float(draws[0])), 1.0)


def gaussian_kde(draws, n_points=256):
    """Gaussian kernel density estimate of 1-D draws with Scott's bandwidth, on a regular grid.

    ``p(x) = 1 / (n h) * sum_j phi((x - x_j) / h)`` with ``phi`` the standard normal density, evaluated on
    ``n_points`` points from ``min - 3h`` to ``max + 3h``. The draws are summed over in chunks, so memory
    stays ``O(n_points * 4096)`` for any number of draws.

    Parameters
    ----------
    draws : array_like, shape (n,)
        Finite values, n >= 1.
    n_points : int >= 2

    Returns
    -------
    grid : ndarray, shape (n_points,)
    density : ndarray, shape (n_points,)
    """
    n_points = arguments.integer(n_points, "n_points", minimum=2)
    draws = arguments.real_array(draws, "gaussian_kde: draws").astype(np.float64)
    if draws.ndim != 1 or len(draws) == 0:
        raise ValueError(f"gaussian_kde: draws must be a non-empty 1-D array, got shape {draws.shape}")
    if not np.all(np.isfinite(draws)):
        raise ValueError("gaussian_kde: draws contain NaN or inf")
    h = scott_bandwidth(draws)
    grid = np.linspace(draws.min() - 3 * h, draws.max() + 3 * h, n_points)
    density = np.zeros(n_points)
    for start in range(0, len(draws), 4096):
        z = (grid[:, None] - draws[None, start:start + 4096]) / h
        density += np.exp(-0.5 * z * z).sum(axis=1)
    return grid, density / (len(draws) * h * np.sqrt(2 * np.pi))


# ---------------------------------------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------------------------------------

def _check_smooth(smooth):
    """None, or an integer window >= 1 (a float such as 10.0 is accepted)."""
    if smooth is None:
        return None
    if isinstance(smooth, bool) or not np.isscalar(smooth) or int(smooth) != smooth or smooth < 1:
        raise ValueError(f"smooth must be None or an integer window >= 1, got {smooth!r}")
    return int(smooth)


def _as_series(values, what):
    """A non-empty 1-D float array (a copy: the caller's array is never touched)."""
    values = np.array(arguments.real_array(values, what), dtype=np.float64)
    if values.ndim != 1 or len(values) == 0:
        raise ValueError(f"{what} must be a non-empty 1-D array, got shape {values.shape}")
    return values


def _check_labelled(mapping, what):
    """A non-empty dict label -> values."""
    if not hasattr(mapping, "items") or len(mapping) == 0:
        raise ValueError(f"{what} must be a non-empty dict label -> array, got {type(mapping).__name__}")


def _new_axes(ax, figsize):
    """The given Axes, or the Axes of a new Figure."""
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _draw_smoothed(ax, x, y, smooth, label):
    """y against x; with ``smooth``, faint raw y under its moving average in the same colour (labelled)."""
    if smooth is None:
        ax.plot(x, y, label=label)
        return
    (raw,) = ax.plot(x, y, alpha=RAW_ALPHA, linewidth=0.8)
    ax.plot(x, moving_average(y, smooth), color=raw.get_color(), label=label)


# ---------------------------------------------------------------------------------------------------------
# Loss and series
# ---------------------------------------------------------------------------------------------------------

def plot_hist(hist, smooth=None, log=False, ax=None, label=None, title=None):
    """The loss per step of a fit.

    Parameters
    ----------
    hist : array_like, shape (n_steps,)
        Loss per step, ``approx.hist``: the negative ELBO for ADVI, FullRankADVI and ASVGD, the particles'
        mean negative log-density for SVGD. Step 1 is the first step.
    smooth : int, optional
        Window of a centred moving average, drawn over the faint raw curve.
    log : bool
        A log y axis. Losses can be negative or zero (the negative ELBO of a model whose density exceeds 1
        somewhere), and a log axis cannot show those: when any loss is <= 0 the axis is ``"symlog"``
        instead, linear within [-1, 1] and logarithmic beyond.
    ax : matplotlib Axes, optional
        Draw into this Axes (to overlay several fits, pass the same one with a ``label`` each).
    label : str, optional
        Legend entry of this curve.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    hist = _as_series(hist, "hist")
    smooth = _check_smooth(smooth)
    arguments.flag(log, "log")
    ax = _new_axes(ax, figsize=(6, 3.5))
    _draw_smoothed(ax, np.arange(1, len(hist) + 1), hist, smooth, label)
    if log and np.all(hist > 0):
        ax.set_yscale("log")
    elif log:
        ax.set_yscale("symlog", linthresh=1.0)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if title is not None:
        ax.set_title(title)
    if label is not None:
        ax.legend()
    return ax.figure


def plot_lines(series, smooth=None, title=None, xlabel="step", ylabel=None, ax=None):
    """Labelled series against their index 1..n, e.g. ``{"train": acc_train, "test": acc_test}``.

    Parameters
    ----------
    series : dict
        label -> array_like of shape (n,); the lengths may differ.
    smooth : int, optional
        Window of a centred moving average drawn over each faint raw line.
    title, xlabel, ylabel : str, optional
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check_labelled(series, "series")
    smooth = _check_smooth(smooth)
    arrays = {label: _as_series(values, f"series[{label!r}]") for label, values in series.items()}
    ax = _new_axes(ax, figsize=(6, 3.5))
    for label, values in arrays.items():
        _draw_smoothed(ax, np.arange(1, len(values) + 1), values, smooth, str(label))
    return _labelled(ax, xlabel, ylabel, title)


# ---------------------------------------------------------------------------------------------------------
# Tracker
# ---------------------------------------------------------------------------------------------------------

def _tracked_values(tracker, name):
    """The values recorded for ``name`` as an array (n_records, n_elements), each value flattened."""
    records = [np.asarray(value, dtype=np.float64).ravel() for value in tracker[name]]
    if len(records) == 0:
        raise ValueError(f"plot_tracker: nothing was recorded for '{name}' (was the tracker passed to fit?)")
    sizes = {len(r) for r in records}
    if len(sizes) > 1:
        raise ValueError(f"plot_tracker: the values recorded for '{name}' change size: {sorted(sizes)}")
    return np.stack(records)


def _draw_tracked(ax, name, values, every):
    """One line per element (the first MAX_LINES) of a tracked quantity against the step."""
    steps = every * np.arange(1, len(values) + 1)
    n_elements = values.shape[1]
    shown = min(n_elements, MAX_LINES)
    for j in range(shown):
        ax.plot(steps, values[:, j], label=f"{name}[{j}]" if n_elements > 1 else name)
    ax.set_title(name if shown == n_elements else f"{name} (first {shown} of {n_elements})")
    ax.set_xlabel("step")
    if 1 < shown <= 10:  # a legend of more lines than this covers the data and says little
        ax.legend(fontsize="small")


def plot_tracker(tracker, hist=None, smooth=None, names=None):
    """One panel per tracked quantity, and a last panel with the loss, as PyMC3's means / stds / ELBO.

    Parameters
    ----------
    tracker : callbacks.Tracker or dict
        ``tracker[name]`` is the list of recorded values (scalars or arrays of any fixed shape); a plain dict
        name -> list (or array with the records on the first axis) works too. Each element of a non-scalar
        value is its own line, at most the first 20 (the panel title says when some are left out).
    hist : array_like, shape (n_steps,), optional
        The loss per step (``approx.hist``), drawn in a last panel as ``plot_hist``.
    smooth : int, optional
        Moving-average window for the loss panel.
    names : list of str, optional
        The quantities to draw, in this order; default all of them.

    Returns
    -------
    matplotlib.figure.Figure
        Panels in rows of at most three.

    Notes
    -----
    Record k is placed at step ``k * tracker.every`` (``every`` is 1 for a dict): the steps at which the
    Tracker records when it was passed to the first fit.
    """
    available = list(tracker.keys())
    names = available if names is None else list(names)
    if len(names) == 0:
        raise ValueError("plot_tracker: nothing to plot (the tracker has no quantities, or names is empty)")
    for name in names:
        if name not in available:  # checked first: a Tracker's tracker[name] adds the unknown name
            raise ValueError(f"plot_tracker: no tracked quantity '{name}'; the tracker has {available}")
    smooth = _check_smooth(smooth)
    values = {name: _tracked_values(tracker, name) for name in names}
    hist = None if hist is None else _as_series(hist, "hist")
    every = getattr(tracker, "every", 1)

    n_panels = len(names) + (hist is not None)
    n_cols = min(n_panels, 3)
    n_rows = -(-n_panels // n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(4.5 * n_cols, 3.2 * n_rows), squeeze=False,
                             layout="constrained")
    axes = axes.ravel()
    for ax, name in zip(axes, names):
        _draw_tracked(ax, name, values[name], every)
    if hist is not None:
        plot_hist(hist, smooth=smooth, ax=axes[len(names)], title="loss")
    for ax in axes[n_panels:]:
        fig.delaxes(ax)
    for ax in axes[:n_panels]:  # step counts run to 100,000s: few ticks, so their labels do not collide
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    return fig


# ---------------------------------------------------------------------------------------------------------
# Draws
# ---------------------------------------------------------------------------------------------------------

def _trace_draws(trace, name):
    """The draws of ``name`` as (n_draws, n_elements) and whether they are integers."""
    draws = np.asarray(trace[name])
    if draws.ndim == 0 or len(draws) == 0:
        raise ValueError(f"plot_trace: '{name}' has no draws (shape {draws.shape})")
    is_integer = np.issubdtype(draws.dtype, np.integer) or draws.dtype == bool
    flat = draws.reshape(len(draws), -1).astype(np.float64)
    if not np.all(np.isfinite(flat)):
        raise ValueError(f"plot_trace: '{name}' has NaN or inf draws")
    return flat, is_integer


def _draw_density(ax, draws, is_integer, color):
    """A KDE curve of 1-D draws, or a step histogram with one bin per integer."""
    if is_integer:
        bins = np.arange(draws.min(), draws.max() + 2) - 0.5
        ax.hist(draws, bins=bins, density=True, histtype="step", color=color)
    else:
        ax.plot(*gaussian_kde(draws), color=color, linewidth=1.0)


def plot_trace(trace, var_names=None, max_elements=10):
    """Per variable, the density of its draws (left) and the draws against their index (right), as arviz.

    Parameters
    ----------
    trace : Trace, InferenceData or dict
        ``trace[name]`` has shape ``(n_draws, *shape)``. A Trace's ``trace.chain`` splits the draws into
        chains, one colour each (the draw index counts within the chain); an InferenceData gives its
        posterior's chains; a dict is one chain.
    var_names : str or list of str, optional
        The variables to draw, in this order; default all (deterministics included).
    max_elements : int
        A vector variable is drawn as one line per element, at most its first ``max_elements``.

    Returns
    -------
    matplotlib.figure.Figure
        ``2 * len(var_names)`` Axes, one row per variable. Densities are Gaussian KDEs with Scott's
        bandwidth; integer draws are histograms with one bin per value.
    """
    from nbvi.inference_data import as_trace
    from nbvi.sampling.diagnostics import trace_names

    if not isinstance(trace, dict):  # (a dict's draws are checked below, one chain)
        trace = as_trace(trace, "plot_trace")
    var_names = trace_names(trace, var_names, "plot_trace")
    if len(var_names) == 0:
        raise ValueError("plot_trace: no variables to plot")
    max_elements = arguments.integer(max_elements, "max_elements", minimum=1)
    draws = {name: _trace_draws(trace, name) for name in var_names}
    sizes = {name: len(flat) for name, (flat, _) in draws.items()}
    n_draws = sizes[var_names[0]]
    if len(set(sizes.values())) > 1:
        raise ValueError(f"plot_trace: the variables have different numbers of draws: {sizes}")
    chain = np.asarray(getattr(trace, "chain", np.zeros(n_draws, dtype=np.int64)))
    chains = np.unique(chain)

    fig, axes = plt.subplots(len(var_names), 2, figsize=(10, 2.4 * len(var_names) + 0.4), squeeze=False,
                             layout="constrained", gridspec_kw={"width_ratios": [1, 1.6]})
    for (ax_density, ax_trace), name in zip(axes, var_names):
        flat, is_integer = draws[name]
        shown = min(flat.shape[1], int(max_elements))
        for k, c in enumerate(chains):
            color = f"C{k % 10}"
            in_chain = flat[chain == c]
            for j in range(shown):
                _draw_density(ax_density, in_chain[:, j], is_integer, color)
                ax_trace.plot(in_chain[:, j], color=color, linewidth=0.6, alpha=0.7)
        title = name if shown == flat.shape[1] else f"{name} (first {shown} of {flat.shape[1]})"
        ax_density.set_title(title)
        ax_density.set_ylabel("density")
        ax_trace.set_title(title)
        ax_trace.set_ylabel("value")
    axes[-1, 0].set_xlabel("value")
    axes[-1, 1].set_xlabel("draw")
    if len(chains) > 1:
        handles = [Line2D([], [], color=f"C{k % 10}") for k in range(len(chains))]
        fig.legend(handles, [f"chain {c}" for c in chains], loc="outside upper right", ncols=len(chains))
    return fig


def plot_densities(samples, title=None, ax=None, xlabel=None):
    """Several sets of draws of one variable, a labelled KDE curve each: ``{"NUTS": ..., "ADVI": ...}``.

    Parameters
    ----------
    samples : dict
        label -> array_like of shape (n_draws,): draws of one scalar variable (``trace["x"]`` of a scalar
        x, or ``trace["w"][:, 0]`` for one element).
    title, xlabel : str, optional
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        Gaussian KDEs with Scott's bandwidth, one per label, with a legend.
    """
    _check_labelled(samples, "samples")
    arrays = {}
    for label, draws in samples.items():
        draws = np.array(draws, dtype=np.float64)
        if draws.ndim != 1 or len(draws) == 0:
            raise ValueError(f"samples[{label!r}] must be non-empty 1-D draws of one variable, "
                             f"got shape {draws.shape}")
        if not np.all(np.isfinite(draws)):
            raise ValueError(f"samples[{label!r}] contains NaN or inf")
        arrays[label] = draws
    ax = _new_axes(ax, figsize=(6, 3.5))
    for label, draws in arrays.items():
        ax.plot(*gaussian_kde(draws), label=str(label))
    return _labelled(ax, xlabel, "density", title)


def _labelled(ax, xlabel, ylabel, title):
    """Set the axis labels and title that are given, add the legend; return the Figure."""
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.legend()
    return ax.figure
