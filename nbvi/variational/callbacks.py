"""Callbacks: callables ``(approx, losses, i)`` run after every step of a fit.

``losses`` holds the losses of the current fit so far; ``i`` counts steps over all fits of the inference
(1 after the first step). Raising ``StopIteration`` ends the fit cleanly, keeping everything.
"""
import inspect
import numbers
from collections import defaultdict, deque

import numpy as np

from nbvi import arguments


def relative(current, previous, eps=1e-6):
    """Elementwise relative change ``(|current - previous| + eps) / (|previous| + eps)``, as PyMC3."""
    return (np.abs(current - previous) + eps) / (np.abs(previous) + eps)


def absolute(current, previous):
    """Elementwise absolute change ``|current - previous|``."""
    return np.abs(current - previous)


class CheckParametersConvergence:
    """Stop when the variational parameters stop moving.

    Every ``every`` steps the parameters are compared with those of the previous check; when the
    ``ord``-norm of the change (``diff="relative"`` or ``"absolute"``) is below ``tolerance`` the fit
    stops with "Convergence achieved at N".

    Parameters
    ----------
    every : int >= 1
    tolerance : float > 0
    diff : {"relative", "absolute"}
    ord : None or a number, as ``numpy.linalg.norm``'s ``ord`` for vectors (default inf: the largest change)
    """

    def __init__(self, every=100, tolerance=1e-3, diff="relative", ord=np.inf):
        arguments.choice(diff, "diff", ("relative", "absolute"))
        self.every = arguments.integer(every, "every", minimum=1)
        self.tolerance = arguments.number(tolerance, "tolerance", minimum=0.0, strictly=True)
        if ord is not None and (isinstance(ord, (bool, np.bool_)) or not isinstance(ord, numbers.Real)):
            raise TypeError(f"ord must be None or a number (a vector norm's order, e.g. 2 or np.inf), got {ord!r}")
        self.diff = relative if diff == "relative" else absolute
        self.ord = ord
        self.previous = None

    def __call__(self, approx, losses, i):
        if self.previous is None:
            self.previous = approx.params.copy()
            return
        if i % self.every or i < self.every:
            return
        current = approx.params.copy()
        change = np.linalg.norm(self.diff(current, self.previous), self.ord)
        self.previous = current
        if change < self.tolerance:
            raise StopIteration(f"Convergence achieved at {i}")


class CheckLossConvergence:
    r"""Stop when the loss stops improving: Stan's ADVI convergence rule (``tol_rel_obj``, ``eval_elbo``).

    Every ``every`` steps, the mean loss of those steps, :math:`\bar L_k`, is compared with the previous
    check's: :math:`r_k = |\bar L_{k-1} - \bar L_k| / \max(|\bar L_k|, 1)` (Stan's relative ELBO decrease, made
    absolute where the loss is near 0, as it is for a model whose density is normalised and fits well:
    there Stan's ratio is noise over almost nothing and never falls below the tolerance). The last
    ``window`` changes are kept; once there are ``window`` of them, the fit stops with "Convergence achieved
    at N" when their mean or median (``statistic``) is below ``tolerance``.

    Stan estimates the ELBO afresh at each check and keeps :math:`\max(0.1\, n / \text{every}, 2)` changes
    (10 for its 10,000 iterations by 100, this ``window``'s default); nbvi averages the losses the fit has
    computed, and decides only on a full window (Stan's first change is 1, its first ELBO being compared with
    0, which keeps its mean from converging until that change leaves the window).

    Parameters
    ----------
    every : int >= 1
        Steps between checks (Stan's ``eval_elbo``, 100).
    tolerance : float > 0
        Stan's ``tol_rel_obj`` (0.01).
    window : int >= 1
        How many relative changes are kept.
    statistic : {"either", "mean", "median"}
        Which statistic of the window must be below ``tolerance``: "either" (Stan's rule), "mean" or "median".

    Attributes
    ----------
    changes : deque of float, at most ``window`` long
        The latest relative changes :math:`r_k`, oldest first.
    """

    def __init__(self, every=100, tolerance=0.01, window=10, statistic="either"):
        self.every = arguments.integer(every, "every", minimum=1)
        self.tolerance = arguments.number(tolerance, "tolerance", minimum=0.0, strictly=True)
        self.window = arguments.integer(window, "window", minimum=1)
        self.statistic = arguments.choice(statistic, "statistic", ("either", "mean", "median"))
        self.changes = deque(maxlen=self.window)
        self.previous = None  # the mean loss at the last check
        self._sum, self._count = 0.0, 0  # the losses since the last check
        self._last_step = 0  # the step of the last call

    def __call__(self, approx, losses, i):
        if i != self._last_step + 1:  # another fit (not this one's next step, nor its refine): start afresh
            self.changes.clear()
            self.previous, self._sum, self._count = None, 0.0, 0
        self._last_step = i
        self._sum += float(losses[-1])
        self._count += 1
        if self._count < self.every:
            return
        current = self._sum / self._count
        self._sum, self._count = 0.0, 0
        if self.previous is not None:
            self.changes.append(relative_decrease(self.previous, current))
        self.previous = current
        if len(self.changes) == self.window and self._below_tolerance():
            raise StopIteration(f"Convergence achieved at {i}")

    def _below_tolerance(self):
        changes = np.fromiter(self.changes, dtype=np.float64)
        mean_ok = self.statistic != "median" and np.mean(changes) < self.tolerance
        median_ok = self.statistic != "mean" and np.median(changes) < self.tolerance
        return bool(mean_ok or median_ok)


def relative_decrease(previous, current):
    """The change of the objective relative to its size, ``|previous - current| / max(|current|, 1)``."""
    return abs(previous - current) / max(abs(current), 1.0)


class Tracker:
    """Record the values of callables during a fit: ``Tracker(mean=approx.mean.eval, std=approx.std.eval)``.

    Each callable takes no argument, or ``(approx, losses, i)``. ``tracker["mean"]`` is the list of
    recorded values. Recording every step can use a lot of memory: ``every=k`` records every k-th step.

    Parameters
    ----------
    every : int, keyword only
    **callables
    """

    def __init__(self, every=1, **callables):
        every = arguments.integer(every, "Tracker: every", minimum=1)
        for name, fn in callables.items():
            if not callable(fn):
                raise TypeError(f"Tracker: '{name}' must be callable, got {type(fn).__name__}")
        self.every = every
        self.callables = callables
        self.takes_args = {name: _takes_arguments(fn) for name, fn in callables.items()}
        self.hist = defaultdict(list)

    def __call__(self, approx, losses, i):
        if i % self.every:
            return
        for name, fn in self.callables.items():
            self.hist[name].append(fn(approx, losses, i) if self.takes_args[name] else fn())

    def __getitem__(self, name):
        return self.hist[name]

    def keys(self):
        return self.callables.keys()

    def clear(self):
        self.hist.clear()


def _takes_arguments(fn):
    """Whether ``fn`` needs the callback arguments (approx, losses, i)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    required = [p for p in params if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(required) > 0 or any(p.kind == p.VAR_POSITIONAL for p in params)
