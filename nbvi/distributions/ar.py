"""AR(rho, sigma, constant, init_dist, ar_order, steps): an autoregressive process of order p, time on the last axis.

    x_0 .. x_{p-1} ~ init_dist,
    x_t ~ Normal(c + sum_{k=1}^p rho_k x_{t-k}, sigma)    for t = p .. T-1   (T = steps + p)

    log p(x) = sum_{t<p} log p_init(x_t) + sum_{t>=p} log Normal(x_t | mu_t, sigma)

with c = rho[0] and rho_k = rho[k] when ``constant=True``, else c = 0 and rho_k = rho[k-1]. The process has no
kernel of its own: its log-density is two terms of other families, the initial values' and a Normal term
whose mean is a graph expression of shifted slices of the value,

    mu = c + sum_k rho[..., k-1:k] * x[..., p-k : T-k],

so the compiled tape runs it as it runs those families, and the gradients are the ops' VJPs. With
r_t = (x_t - mu_t) / sigma^2 the innovation's scaled residual:

    d/drho_k = sum_t r_t x_{t-k},    d/dc = sum_t r_t,
    d/dx_s   = -r_s [s >= p] + sum_k rho_k r_{s+k} [s+k >= p]   (+ the initial term's for s < p),
    d/dsigma = sum_t ((x_t - mu_t)^2 / sigma^2 - 1) / sigma.
"""

import numpy as np

from nbvi import arguments
from nbvi.distributions.distribution import LogpTerm, resolve_sigma
from nbvi.distributions.normal import Normal
from nbvi.distributions.timeseries import TimeSeries, scalar_init_dist
from nbvi.graph.ops import add_n, reshape


class AR(TimeSeries):
    """An autoregressive process of order p along the last axis, as PyMC v5's ``pm.AR``.

    Parameters
    ----------
    rho : float, array or node, shape (..., p) or (..., p + 1) with ``constant``
        The coefficients along the last axis (rho[..., 0] multiplies x_{t-1}); the leading axes are (part of)
        the batch shape. A scalar is one coefficient.
    sigma : float, array or node, > 0
        Standard deviation of the innovations (or the precision ``tau``); batch shape, no time axis.
    constant : bool
        Whether rho[..., 0] is a constant term c added to every mean (PyMC's ``constant``).
    init_dist : Distribution, optional
        The distribution of the first p values, a scalar family made with ``.dist(...)``; its parameters
        broadcast against ``(*batch, p)``. By default ``Normal.dist(0, 100)``, with a UserWarning as PyMC gives.
    ar_order : int, optional
        p; by default the last axis of rho (minus one with ``constant``). Given, it must agree with rho.
    steps : int, optional
        Number of values after the first p; the variable has ``steps + p`` values along its last axis. By
        default from ``shape``.

    Notes
    -----
    A free process is unconstrained (real). ``total_size`` is refused: the values are one event.
    """

    def __init__(self, rho, sigma=None, constant=False, init_dist=None, ar_order=None, steps=None, tau=None):
        if not isinstance(constant, (bool, np.bool_)):
            raise TypeError(f"{self.describe()}: constant must be True or False, got {constant!r}")
        self.constant = bool(constant)
        self.init_dist = init_dist = scalar_init_dist(init_dist, self.describe())
        sigma = resolve_sigma(sigma, None, tau, default=1.0, family=self.describe())
        self.init_params = tuple(f"init_{p}" for p in init_dist.params)
        self.params = ("rho", "sigma") + self.init_params  # (this instance's parameters)
        # rho's last axis holds the coefficients; the initial values' parameters broadcast against (*batch, p)
        self.ndims_params = (1, 0) + (1,) * len(self.init_params)
        self.set_params(rho=rho, sigma=sigma, **dict(zip(self.init_params, init_dist.param_nodes.values())))
        if self.param_nodes["rho"].ndim == 0:
            self.param_nodes["rho"] = reshape(self.param_nodes["rho"], (1,))
        n_rho = self.param_nodes["rho"].shape[-1]
        inferred = n_rho - int(self.constant)
        if ar_order is None:
            if inferred < 1:
                raise ValueError(f"{self.describe()}: the inferred ar_order is {inferred} (rho has {n_rho} values"
                                 f"{', one of them the constant' if self.constant else ''}); give rho at least one "
                                 f"coefficient")
            self.ar_order = inferred
        else:
            self.ar_order = arguments.integer(ar_order, f"{self.describe()}: ar_order")
            if self.ar_order < 1 or self.ar_order != inferred:
                raise ValueError(f"{self.describe()}: ar_order = {self.ar_order} does not match rho's last axis of "
                                 f"length {n_rho} (it should be ar_order{' + 1 with constant' if self.constant else ''})")
        self.steps = None if steps is None else arguments.integer(steps, f"{self.describe()}: steps")
        if self.steps is not None and self.steps < 1:
            raise ValueError(f"{self.describe()}: steps must be >= 1, got {self.steps}")

    def _finish(self, shape, size=None):
        if self.steps is None:
            if shape is None:
                raise ValueError(f"{self.describe()}: give steps or a shape (its last axis is steps + ar_order)")
            last = shape if np.ndim(shape) == 0 else tuple(shape)[-1]
            self.steps = arguments.integer(last, f"{self.describe()}: shape") - self.ar_order
            if self.steps < 1:
                raise ValueError(f"{self.describe()}: the last axis of shape must be at least ar_order + 1 = "
                                 f"{self.ar_order + 1} (the initial values and one step), got shape {shape!r}")
        super()._finish(shape, size)
        batch = tuple(self.shape[:-1])
        for name in self.init_params:
            node_shape = tuple(self.param_nodes[name].shape)
            try:
                fits = np.broadcast_shapes(node_shape, batch + (self.ar_order,)) == batch + (self.ar_order,)
            except ValueError:
                fits = False
            if not fits:
                raise ValueError(f"{self.describe()}: init_dist's parameter '{name[5:]}' has shape {node_shape}, "
                                 f"which does not broadcast against (*batch, ar_order) = {batch + (self.ar_order,)}")

    def event_shape(self):
        return (self.steps + self.ar_order,)

    def check(self, rho, sigma, **init):
        if not np.all(sigma > 0):
            raise ValueError(f"sigma must be > 0, got {sigma}")

    def conditional_mean(self, value):
        """The Normal conditionals' means mu_t, t = p .. T-1, as a node (*batch, steps)."""
        rho, p, T = self.param_nodes["rho"], self.ar_order, self.steps + self.ar_order
        first = int(self.constant)
        parts = [rho[..., first + k - 1:first + k] * value[..., p - k:T - k] for k in range(1, p + 1)]
        mu = parts[0] if len(parts) == 1 else add_n(*parts)
        return mu + rho[..., 0:1] if self.constant else mu

    def logp_terms(self, value, scale=None):
        """The initial values' term and the Normal conditionals' term (mean: shifted slices times rho)."""
        p = self.ar_order
        init = LogpTerm(self.init_dist)(value[..., :p], *[self.param_nodes[q] for q in self.init_params])
        sigma = self.param_nodes["sigma"]
        conditionals = Normal.dist(self.conditional_mean(value), reshape(sigma, tuple(sigma.shape) + (1,)))
        steps = LogpTerm(conditionals)(value[..., p:], *conditionals.param_nodes.values())
        return [init, steps]

    def _means(self, x, rho):
        """NumPy mu_t for t = p .. T-1: x (..., T), rho (..., p [+ 1]) broadcasting; returns (..., steps)."""
        p, T, first = self.ar_order, x.shape[-1], int(self.constant)
        mu = rho[..., :1] if self.constant else 0.0
        for k in range(1, p + 1):
            mu = mu + rho[..., first + k - 1:first + k] * x[..., p - k:T - k]
        return mu

    def logp_elementwise(self, value, **params):
        """log p of each series: value (S, *batch, T), params batched; returns (S, *batch)."""
        x = np.asarray(value, dtype=np.float64)
        p = self.ar_order
        init = self.init_dist.logp_elementwise(x[..., :p], **{q[5:]: params[q] for q in self.init_params})
        rho = _lifted(np.asarray(params["rho"], dtype=np.float64), x.ndim)
        sigma = _lifted(np.asarray(params["sigma"], dtype=np.float64), x.ndim - 1)[..., None]
        z = (x[..., p:] - self._means(x, rho)) / sigma
        steps = -0.5 * z ** 2 - np.log(sigma) - 0.5 * np.log(2.0 * np.pi)
        return init.sum(axis=-1) + steps.sum(axis=-1)

    def moment(self, rho, sigma, **init):
        """PyMC's: every value at the initial distribution's moment of the last initial value."""
        start = np.asarray(self.init_dist.moment(**{q[5:]: v for q, v in init.items()}), dtype=np.float64)
        return start[..., -1:] if start.ndim else start

    def sample(self, rng, size, rho, sigma, **init):
        """Forward simulation: x_t = c + sum_k rho_k x_{t-k} + sigma eps_t after the initial values."""
        size = tuple(size)
        batch, p = size[:-1], self.ar_order
        init = {q[5:]: np.asarray(v, dtype=np.float64) for q, v in init.items()}
        x = np.empty(size)
        x[..., :p] = self.init_dist.sample(rng, batch + (p,), **init)
        rho = np.broadcast_to(np.asarray(rho, dtype=np.float64), batch + (np.shape(rho)[-1],))
        sigma = np.broadcast_to(np.asarray(sigma, dtype=np.float64), batch)
        noise = rng.standard_normal(batch + (self.steps,)) * sigma[..., None]
        first = int(self.constant)
        for t in range(p, size[-1]):
            mean = rho[..., 0] if self.constant else 0.0
            for k in range(1, p + 1):
                mean = mean + rho[..., first + k - 1] * x[..., t - k]
            x[..., t] = mean + noise[..., t - p]
        return x


def _lifted(param, ndim):
    """A batched parameter (S_i, *s_i) with axes of length 1 inserted after the draw axis, to ``ndim`` axes."""
    return param.reshape(param.shape[:1] + (1,) * (ndim - param.ndim) + param.shape[1:])


__all__ = ["AR"]
