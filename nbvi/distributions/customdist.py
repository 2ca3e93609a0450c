"""``nbvi.CustomDist``: a family from the user's own log-density and its hand-written gradient.

In the spirit of nbvi (no autodiff), the user gives both::

    def logp(value, mu, sigma):             # elementwise log-density, numpy broadcasting
        z = (value - mu) / sigma
        return -0.5 * z**2 - np.log(sigma) - 0.5 * np.log(2 * np.pi)

    def logp_grad(value, mu, sigma):        # d logp / d value, d logp / d mu, d logp / d sigma, elementwise
        z = (value - mu) / sigma
        return -z / sigma, z / sigma, (z**2 - 1) / sigma

    y = nbvi.CustomDist("y", mu, sigma, logp=logp, logp_grad=logp_grad, observed=data)

Both are called with numpy arrays that broadcast together (each with a leading draw axis, which an
elementwise function need not know about). The term adds ``sum(logp)`` over the elements; the partial of
a parameter that was broadcast (one sigma for every element) is summed over the axes it was broadcast
along, as every op's VJP does. ``nbvi.testing.check_gradient`` checks ``logp_grad`` against finite
differences; CustomDist does not check it itself (the parameters may be expressions with no value yet).

The term runs on the graph walk: the compiled tape cannot call Python (``nbvi.explain`` says so).
"""
import numpy as np

from nbvi.distributions.distribution import Distribution
from nbvi.graph.op import lift, unbroadcast


class CustomDist(Distribution):
    """A scalar family from ``logp(value, *params)`` and ``logp_grad(value, *params)`` (PyMC v5's name and
    argument order).

    Parameters
    ----------
    name : str
    *params : numbers, arrays or nodes
        The parameters, passed to ``logp`` and ``logp_grad`` in this order (they broadcast with the value).
    logp : callable
        ``logp(value, *params) -> array``: the log-density of each element (broadcast shape of the arguments).
    logp_grad : callable
        ``logp_grad(value, *params) -> sequence of 1 + len(params) arrays``: the elementwise partial
        derivatives of ``logp`` with respect to the value and to each parameter, each broadcastable to the
        shape of ``logp``'s result.
    random : callable, optional
        ``random(*params, rng=Generator, size=tuple) -> array`` for prior predictive draws.
    support_point : callable or array_like, optional
        Initial value of a free variable (``support_point(*params)`` or numbers); by default the value that
        ``transform`` maps to 0 (0 without a transform).
    shape, observed, total_size : as every family
    transform : Transform or None, optional
        A free CustomDist is unconstrained (real) unless given one, e.g. ``nbvi.transforms.log`` for a
        positive support.
    """

    def __new__(cls, name, *params, transform=None, **kwargs):
        rv = super().__new__(cls, name, *params, transform=transform, **kwargs)
        rv.dist.transform = rv.transform  # (its initial point is the value the transform maps to 0)
        return rv

    def __init__(self, *params, logp=None, logp_grad=None, random=None, support_point=None):
        for what, function in (("logp", logp), ("logp_grad", logp_grad)):
            if not callable(function):
                raise TypeError(f"{self.describe()}: {what} must be a function of (value, *params), got "
                                f"{function!r}")
        if random is not None and not callable(random):
            raise TypeError(f"{self.describe()}: random must be a function of (*params, rng, size), got {random!r}")
        self.logp_function, self.grad_function = logp, logp_grad
        self.random_function, self.support_point = random, support_point
        self.transform = None
        self.params = tuple(f"param{i}" for i in range(len(params)))  # (this instance's parameters)
        self.set_params(**dict(zip(self.params, params)))

    def moment(self, **values):
        if self.support_point is not None:
            point = self.support_point(*values.values()) if callable(self.support_point) else self.support_point
            return np.asarray(point, dtype=np.float64)
        if self.transform is not None:
            u = np.zeros((1,) + tuple(self.transform.unconstrained_shape(self.shape)))
            return np.asarray(self.transform.backward(u))[0]
        return np.zeros(self.shape)

    def sample(self, rng, size, **values):
        if self.random_function is None:
            raise ValueError(f"{self.describe()} has no random function: pass random=f(*params, rng, size) "
                             f"to CustomDist to draw from it")
        return self.random_function(*values.values(), rng=rng, size=size)

    def logp_partials(self, values, needs):
        """Sum of the user's elementwise ``logp`` per draw and the partials, summed back to each argument.

        Parameters
        ----------
        values : list of ndarray, each (D_i, *s_i)
        needs : list of bool

        Returns
        -------
        logp : (D,)
        partials : list of ndarray (D_i, *s_i) or None
            d sum(logp) / d argument = the elementwise partial, summed over the axes the argument was
            broadcast along (``unbroadcast``).
        """
        rank = max(v.ndim for v in values) - 1
        args = [lift(v, rank) for v in values]  # node axes aligned; the draw axis stays first
        full = np.broadcast_shapes(*[a.shape for a in args])
        lp = self._call(self.logp_function, "logp", args, full)
        logp = lp.reshape(full[0], -1).sum(axis=1)
        if not any(needs):
            return logp, [None] * len(values)
        grads = self.grad_function(*args)
        if not isinstance(grads, (tuple, list)) or len(grads) != len(values):
            count = f"{len(grads)} arrays" if isinstance(grads, (tuple, list)) else type(grads).__name__
            raise ValueError(f"{self.describe()}: logp_grad must return a tuple of {len(values)} partial derivatives "
                             f"(value and {len(values) - 1} parameters), got {count}")
        partials = []
        for position, (grad, value, need) in enumerate(zip(grads, values, needs)):
            if not need:
                partials.append(None)
                continue
            what = "d logp / d value" if position == 0 else f"d logp / d parameter {position - 1}"
            g = self._broadcast(grad, full, f"logp_grad's {what}")
            partials.append(unbroadcast(g, value.shape))
        return logp, partials

    def logp_elementwise(self, value, **params):
        """The user's ``logp`` of each element: value (S, *shape), params (S_i, *s_i); returns (S, *shape)."""
        values = [np.asarray(value, dtype=np.float64)] + [np.asarray(params[name], dtype=np.float64)
                                                           for name in self.params]
        rank = max(v.ndim for v in values) - 1
        args = [lift(v, rank) for v in values]
        full = np.broadcast_shapes(*[a.shape for a in args])
        return np.array(self._call(self.logp_function, "logp", args, full))

    def _call(self, function, what, args, full):
        return self._broadcast(function(*args), full, what)

    def _broadcast(self, result, full, what):
        """``result`` as float64 of the full broadcast shape (D, *shape); ValueError naming ``what``."""
        array = np.asarray(result, dtype=np.float64)
        try:
            return np.broadcast_to(array, full)
        except ValueError:
            raise ValueError(f"{self.describe()}: {what} returned shape {array.shape}, which does not broadcast "
                             f"to the arguments' shape {full[1:]} (with a draw axis of {full[0]})") from None


__all__ = ["CustomDist"]
