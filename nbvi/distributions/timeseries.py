"""GaussianRandomWalk(mu, sigma, init_dist, steps): a random walk with Normal innovations, time on the last axis.

    x_0 ~ init_dist,   x_t - x_{t-1} ~ Normal(mu, sigma)   for t = 1 .. steps

    log p(x) = log p_init(x_0) + sum_t log Normal(x_t - x_{t-1} | mu, sigma)

The walk has no kernel of its own: its log-density is two terms of other families, the initial value's
and the Normal innovations' (of the differences x[..., 1:] - x[..., :-1], a graph expression), so the
compiled tape runs it as it runs those families, and the gradient is theirs pushed back through the
slice and the difference (d/dx_t gets +g from the innovation ending at t and -g from the one starting at t).
"""
import warnings

import numpy as np

from nbvi import arguments
from nbvi.distributions.distribution import Distribution, LogpTerm, made_with_dist, resolve_sigma
from nbvi.distributions.normal import Normal
from nbvi.graph.ops import reshape


def scalar_init_dist(init_dist, family):
    """A time series' ``init_dist``, checked: a scalar family made with ``.dist(...)``; None gives PyMC's
    default Normal.dist(0, 100) with PyMC's warning. TypeError naming ``family`` otherwise."""
    if init_dist is None:
        warnings.warn("Initial distribution not specified, defaulting to `Normal.dist(0, 100)`. You can specify "
                      "an init_dist manually to suppress this warning.", UserWarning, stacklevel=5)
        return Normal.dist(0.0, 100.0)
    made_with_dist(init_dist, f"{family}: init_dist")
    if init_dist.family is None:
        raise TypeError(f"{family}: init_dist must be a scalar family (Normal, StudentT, ...), got "
                        f"{type(init_dist).__name__}")
    return init_dist


class TimeSeries(Distribution):
    """A family whose values along the last axis are one event (a walk, an autoregressive series): real,
    and no ``total_size`` (a minibatch of its values would not be a series)."""

    ndim_supp = 1
    support = "real"

    def __new__(cls, name, *args, total_size=None, **kwargs):
        if total_size is not None:
            raise ValueError(f"{cls.__name__} variable '{name}': total_size is not supported (the whole series is "
                             f"one event: a minibatch of its values would not be a series)")
        return super().__new__(cls, name, *args, **kwargs)


class GaussianRandomWalk(TimeSeries):
    """A Gaussian random walk along the last axis, as PyMC v5's ``pm.GaussianRandomWalk``.

    Parameters
    ----------
    mu : float, array or node
        Drift: the mean of each innovation; its shape is (part of) the batch shape (no time axis).
    sigma : float, array or node, > 0
        Standard deviation of each innovation (alias ``sd``; or the precision ``tau``).
    init_dist : Distribution, optional
        The distribution of the first value, made with ``.dist(...)`` (a scalar family, batch shape).
        By default ``Normal.dist(0, 100)``, with a UserWarning as PyMC gives.
    steps : int, optional
        Number of innovations; the variable has ``steps + 1`` values along its last axis. By default from
        ``shape`` (its last axis minus one).

    Notes
    -----
    A free walk is unconstrained (real). ``total_size`` is refused: the walk's values are one event.
    """

    def __init__(self, mu=0.0, sigma=None, init_dist=None, steps=None, sd=None, tau=None):
        init_dist = scalar_init_dist(init_dist, self.describe())
        self.steps = None if steps is None else arguments.integer(steps, f"{self.describe()}: steps")
        if self.steps is not None and self.steps < 1:
            raise ValueError(f"{self.describe()}: steps must be >= 1, got {self.steps}")
        self.init_dist = init_dist
        sigma = resolve_sigma(sigma, sd, tau, default=1.0, family=self.describe())
        self.init_params = tuple(f"init_{p}" for p in init_dist.params)
        self.params = ("mu", "sigma") + self.init_params  # (this instance's parameters)
        self.set_params(mu=mu, sigma=sigma, **dict(zip(self.init_params, init_dist.param_nodes.values())))

    def _finish(self, shape, size=None):
        if self.steps is None:
            if shape is None:
                raise ValueError(f"{self.describe()}: give steps or a shape (its last axis is steps + 1)")
            last = shape if np.ndim(shape) == 0 else tuple(shape)[-1]
            self.steps = arguments.integer(last, f"{self.describe()}: shape") - 1
            if self.steps < 1:
                raise ValueError(f"{self.describe()}: the last axis of shape must be at least 2 (an initial value "
                                 f"and one step), got shape {shape!r}")
        super()._finish(shape, size)
        batch = self.shape[:-1]
        if tuple(self.init_dist.shape) not in ((), tuple(batch)[len(batch) - len(self.init_dist.shape):]):
            raise ValueError(f"{self.describe()}: init_dist has shape {self.init_dist.shape}, which is not part of the "
                             f"walk's batch shape {batch}")
        # the innovations' Normal reads mu and sigma with a time axis of length 1 appended
        self.innovation = Normal.dist(_with_time_axis(self.param_nodes["mu"]),
                                      _with_time_axis(self.param_nodes["sigma"]))

    def event_shape(self):
        return (self.steps + 1,)

    def check(self, mu, sigma, **init):
        if not np.all(sigma > 0):
            raise ValueError(f"sigma must be > 0, got {sigma}")

    def logp_terms(self, value, scale=None):
        """The initial value's term and the innovations' term (the differences of consecutive values)."""
        init = LogpTerm(self.init_dist)(value[..., 0], *[self.param_nodes[p] for p in self.init_params])
        innovations = value[..., 1:] - value[..., :-1]
        steps = LogpTerm(self.innovation)(innovations, *self.innovation.param_nodes.values())
        return [init, steps]

    def logp_elementwise(self, value, **params):
        """log p of each walk: value (S, *batch, steps + 1), params batched; returns (S, *batch)."""
        x = np.asarray(value, dtype=np.float64)
        init = self.init_dist.logp_elementwise(x[..., 0], **{p[5:]: params[p] for p in self.init_params})
        mu, sigma = (_time_lifted(np.asarray(params[p], dtype=np.float64), x.ndim - 1) for p in ("mu", "sigma"))
        steps = self.innovation.logp_elementwise(np.diff(x, axis=-1), mu=mu, sigma=sigma)
        return init + steps.sum(axis=-1)

    def moment(self, mu, sigma, **init):
        start = np.asarray(self.init_dist.moment(**{p[5:]: v for p, v in init.items()}), dtype=np.float64)
        return start[..., None] + np.asarray(mu)[..., None] * np.arange(self.steps + 1)

    def sample(self, rng, size, mu, sigma, **init):
        size = tuple(size)
        batch = size[:-1]
        init = {p[5:]: _batch_shaped(v, len(batch)) for p, v in init.items()}
        start = self.init_dist.sample(rng, batch, **init)
        mu, sigma = _batch_shaped(mu, len(batch)), _batch_shaped(sigma, len(batch))
        step = rng.normal(mu[..., None], sigma[..., None], size=batch + (self.steps,))
        return np.concatenate([start[..., None], start[..., None] + np.cumsum(step, axis=-1)], axis=-1)


def _with_time_axis(node):
    """``node`` (a batch-shaped parameter) with a trailing axis of length 1, to broadcast along time."""
    return reshape(node, tuple(node.shape) + (1,))


def _batch_shaped(param, rank):
    """A parameter given with the walk's time axis (of length 1, as broadcasting against the variable's
    shape lifts it) without it: at most ``rank`` axes."""
    param = np.asarray(param, dtype=np.float64)
    while param.ndim > rank and param.shape[-1] == 1:
        param = param[..., 0]
    return param


def _time_lifted(param, rank):
    """A batched parameter (S_i, *s_i) lifted to the walk's batch rank, with a time axis of length 1."""
    param = param.reshape(param.shape[:1] + (1,) * (rank - param.ndim) + param.shape[1:])
    return param[..., None]


__all__ = ["GaussianRandomWalk"]
