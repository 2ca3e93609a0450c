"""Bijections from a constrained space to unconstrained R^n.

A model keeps each constrained variable x (positive, in an interval, on a simplex...) as an
unconstrained u with x = backward(u), so that variational families on R^n apply. The density of u is

    log p_u(u) = log p_x(backward(u)) + log|det d backward(u) / du|,

so every transform supplies ``backward``, its log-Jacobian ``log_jac_det``, and the two gradients the
model needs to differentiate that expression by hand: ``log_jac_det_grad`` (gradient of the second
term) and ``backward_vjp`` (the chain rule through x = backward(u) for the first term).

Every array carries a leading draw axis: a constrained value has shape ``(D, *shape)``, its unconstrained
image ``(D, *ushape)``, and ``log_jac_det`` returns one number per draw, shape (D,). Names follow PyMC
("log", "logodds", "interval", "lowerbound", "upperbound", "stickbreaking").

Bounds (``Interval``, ``LowerBound``, ``UpperBound``) are floats or arrays that broadcast against one
draw of the value, x[d], i.e. against its shape without the draw axis (trailing axes aligned, NumPy
rules); a bound may not enlarge that shape.
"""
import numpy as np

__all__ = [
    "ElementwiseTransform", "Interval", "LogOddsTransform", "LogTransform", "LowerBound",
    "StickBreaking", "Transform", "UpperBound", "ZeroSumTransform", "log", "logodds", "stick_breaking", "Ordered", "ordered",
]


# ---------------------------------------------------------------------------------------------
# Stable scalar helpers
# ---------------------------------------------------------------------------------------------

def _log_sigmoid(u):
    """log sigmoid(u) = -log(1 + exp(-u)) = -softplus(-u), finite for every finite u."""
    return -np.logaddexp(0.0, -u)


def _sigmoid(u):
    """sigmoid(u) = 1 / (1 + exp(-u)) via exp(log sigmoid(u)): no overflow, tiny values underflow to 0."""
    return np.exp(_log_sigmoid(u))


def _sum_event(a):
    """Sum an array of shape ``(D, *shape)`` over all non-draw axes, giving shape (D,)."""
    return a.reshape(a.shape[0], -1).sum(axis=1)


def _as_draws(a, name):
    """Convert to a float array and check that it has the leading draw axis."""
    a = np.asarray(a, dtype=float)
    if a.ndim < 1:
        raise ValueError(f"{name} must have a leading draw axis, shape (D, ...); got a scalar")
    return a


def _check_bound(bound, name):
    bound = np.asarray(bound, dtype=float)
    if not np.all(np.isfinite(bound)):
        raise ValueError(f"{name} must be finite; got {name}={bound}")
    return bound


# ---------------------------------------------------------------------------------------------
# Base classes
# ---------------------------------------------------------------------------------------------

class Transform:
    """A bijection x = backward(u) from unconstrained u to a constrained x, with its log-Jacobian.

    Shapes: x is ``(D, *shape)`` and u is ``(D, *ushape)``, with D >= 1 draws; see ``unconstrained_shape``.
    """

    name = "transform"

    def forward(self, x):
        """Map constrained x, shape ``(D, *shape)``, to unconstrained u, shape ``(D, *ushape)``."""
        raise NotImplementedError

    def backward(self, u):
        """Map unconstrained u, shape ``(D, *ushape)``, to constrained x, shape ``(D, *shape)``."""
        raise NotImplementedError

    def log_jac_det(self, u):
        """log|det d backward(u)[d] / du[d]| for each draw d, shape (D,)."""
        raise NotImplementedError

    def log_jac_det_grad(self, u):
        """Gradient of ``log_jac_det(u)[d]`` with respect to u[d], shape ``(D, *ushape)``."""
        raise NotImplementedError

    def backward_vjp(self, u, g_x):
        """Vector-Jacobian product g_u = (dx/du)^T g_x per draw.

        Parameters
        ----------
        u : ndarray, shape ``(D, *ushape)``
        g_x : ndarray, shape ``(D, *shape)``
            Gradient of some scalar with respect to x = backward(u).

        Returns
        -------
        ndarray, shape ``(D, *ushape)``
            Gradient of the same scalar with respect to u.
        """
        raise NotImplementedError

    def density_terms(self, u, x, g_x):
        """What the model's density in unconstrained space needs from the transform, in one call.

        Parameters
        ----------
        u : ndarray, shape ``(D, *ushape)``
        x : ndarray, shape ``(D, *shape)``, ``backward(u)``
        g_x : ndarray, shape ``(D, *shape)``, the gradient of log p with respect to x

        Returns
        -------
        log_jac : ndarray (D,), ``log_jac_det(u)``
        g_u : ndarray ``(D, *ushape)``, the gradient of log p(backward(u)) + log|det J(u)| with respect to u:
            ``backward_vjp(u, g_x) + log_jac_det_grad(u)``. Transforms may override this with a fused form.
        """
        return self.log_jac_det(u), self.backward_vjp(u, g_x) + self.log_jac_det_grad(u)

    def unconstrained_shape(self, shape):
        """Shape of u (no draw axis) for a variable of shape ``shape`` (no draw axis)."""
        raise NotImplementedError

    def constrained_shape(self, ushape):
        """Inverse of ``unconstrained_shape``."""
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"


class ElementwiseTransform(Transform):
    """A transform applied to each element on its own: shapes are unchanged, the Jacobian is diagonal.

    Subclasses give ``forward``, ``backward`` and the log of the diagonal entry, ``_log_dx_du(u)``,
    with its derivative ``_dlog_dx_du(u)``; the rest follows:

        log|det J| = sum_i log|dx_i/du_i|,   g_u = (dx/du) * g_x  (elementwise).
    """

    def _log_dx_du(self, u):
        raise NotImplementedError

    def _dlog_dx_du(self, u):
        raise NotImplementedError

    def _dx_du(self, u):
        raise NotImplementedError

    def log_jac_det(self, u):
        u = _as_draws(u, "u")
        return _sum_event(np.broadcast_to(self._log_dx_du(u), u.shape))

    def log_jac_det_grad(self, u):
        u = _as_draws(u, "u")
        return np.broadcast_to(self._dlog_dx_du(u), u.shape).copy()

    def backward_vjp(self, u, g_x):
        u = _as_draws(u, "u")
        return self._dx_du(u) * np.asarray(g_x, dtype=float)

    def unconstrained_shape(self, shape):
        return tuple(shape)

    def constrained_shape(self, ushape):
        return tuple(ushape)


class _Bounded(ElementwiseTransform):
    """Shared bound handling: broadcast a bound against one draw of the value and check it fits."""

    def _fit(self, bound, a, name):
        """Return ``bound`` after checking it broadcasts against a[d] (a has shape ``(D, *shape)``)."""
        event = a.shape[1:]
        try:
            fits = bound.ndim <= len(event) and np.broadcast_shapes(bound.shape, event) == event
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"{name} of shape {bound.shape} does not broadcast against a value of "
                             f"shape {event} (the shape of one draw)")
        return bound


# ---------------------------------------------------------------------------------------------
# Elementwise transforms
# ---------------------------------------------------------------------------------------------

class LogTransform(ElementwiseTransform):
    """x > 0 with x = exp(u), u = log(x)."""

    name = "log"

    def forward(self, x):
        return np.log(_as_draws(x, "x"))

    def backward(self, u):
        return np.exp(_as_draws(u, "u"))

    def _log_dx_du(self, u):
        return u  # dx/du = exp(u), so log|dx/du| = u

    def _dlog_dx_du(self, u):
        return np.ones_like(u)  # d/du u = 1

    def _dx_du(self, u):
        return np.exp(u)

    def density_terms(self, u, x, g_x):
        # log|det J| = sum_i u_i; g_u = (dx/du) g_x + d(sum u)/du = x g_x + 1, since dx/du = exp(u) = x
        return u.reshape(u.shape[0], -1).sum(axis=1), x * g_x + 1.0


class LogOddsTransform(ElementwiseTransform):
    """0 < x < 1 with x = sigmoid(u), u = logit(x) = log(x) - log(1 - x)."""

    name = "logodds"

    def forward(self, x):
        x = _as_draws(x, "x")
        return np.log(x) - np.log1p(-x)

    def backward(self, u):
        return _sigmoid(_as_draws(u, "u"))

    def _log_dx_du(self, u):
        # dx/du = s(u) (1 - s(u)) = s(u) s(-u)
        return _log_sigmoid(u) + _log_sigmoid(-u)

    def _dlog_dx_du(self, u):
        # d/du [log s(u) + log s(-u)] = s(-u) - s(u)
        return _sigmoid(-u) - _sigmoid(u)

    def _dx_du(self, u):
        return _sigmoid(u) * _sigmoid(-u)


class Interval(_Bounded):
    """lower < x < upper with x = lower + (upper - lower) sigmoid(u).

    Parameters
    ----------
    lower, upper : float or ndarray
        Finite bounds, broadcastable against the shape of one draw of the value; ``lower < upper``
        everywhere, else ``ValueError``.
    """

    name = "interval"

    def __init__(self, lower, upper):
        self.lower = _check_bound(lower, "lower")
        self.upper = _check_bound(upper, "upper")
        if np.any(self.lower >= self.upper):
            raise ValueError(f"Interval needs lower < upper; got lower={self.lower}, upper={self.upper}")
        self.width = self.upper - self.lower

    def _bounds(self, a):
        return (self._fit(self.lower, a, "lower"), self._fit(self.upper, a, "upper"),
                self._fit(self.width, a, "upper - lower"))

    def forward(self, x):
        x = _as_draws(x, "x")
        lo, hi, _ = self._bounds(x)
        return np.log(x - lo) - np.log(hi - x)  # logit((x - lower) / (upper - lower))

    def backward(self, u):
        u = _as_draws(u, "u")
        lo, hi, w = self._bounds(u)
        # measure from the nearer bound, so x stays strictly inside (lower, upper) for large |u|
        return np.where(u <= 0, lo + w * _sigmoid(u), hi - w * _sigmoid(-u))

    def _log_dx_du(self, u):
        # dx/du = w s(u) s(-u)
        _, _, w = self._bounds(u)
        return np.log(w) + _log_sigmoid(u) + _log_sigmoid(-u)

    def _dlog_dx_du(self, u):
        return _sigmoid(-u) - _sigmoid(u)  # the constant log w drops out

    def _dx_du(self, u):
        _, _, w = self._bounds(u)
        return w * _sigmoid(u) * _sigmoid(-u)

    def __repr__(self):
        return f"Interval(lower={self.lower}, upper={self.upper})"


class LowerBound(_Bounded):
    """x > lower with x = lower + exp(u), u = log(x - lower).

    Parameters
    ----------
    lower : float or ndarray
        Finite bound, broadcastable against the shape of one draw of the value.
    """

    name = "lowerbound"

    def __init__(self, lower):
        self.lower = _check_bound(lower, "lower")

    def forward(self, x):
        x = _as_draws(x, "x")
        return np.log(x - self._fit(self.lower, x, "lower"))

    def backward(self, u):
        u = _as_draws(u, "u")
        return self._fit(self.lower, u, "lower") + np.exp(u)

    def _log_dx_du(self, u):
        return u  # dx/du = exp(u)

    def _dlog_dx_du(self, u):
        return np.ones_like(u)

    def _dx_du(self, u):
        return np.exp(u)

    def __repr__(self):
        return f"LowerBound(lower={self.lower})"


class UpperBound(_Bounded):
    """x < upper with x = upper - exp(u), u = log(upper - x).

    Parameters
    ----------
    upper : float or ndarray
        Finite bound, broadcastable against the shape of one draw of the value.
    """

    name = "upperbound"

    def __init__(self, upper):
        self.upper = _check_bound(upper, "upper")

    def forward(self, x):
        x = _as_draws(x, "x")
        return np.log(self._fit(self.upper, x, "upper") - x)

    def backward(self, u):
        u = _as_draws(u, "u")
        return self._fit(self.upper, u, "upper") - np.exp(u)

    def _log_dx_du(self, u):
        return u  # dx/du = -exp(u), so log|dx/du| = u

    def _dlog_dx_du(self, u):
        return np.ones_like(u)

    def _dx_du(self, u):
        return -np.exp(u)

    def __repr__(self):
        return f"UpperBound(upper={self.upper})"


# ---------------------------------------------------------------------------------------------
# Simplex
# ---------------------------------------------------------------------------------------------

class StickBreaking(Transform):
    """The unit simplex along the last axis, shape (..., K), from R^(K-1), as in Stan and PyMC 3.

    With k = 0..K-2 (0-based) and the offset log(K-1-k) (log(K-k) in Stan's 1-based notation):

        z_k = sigmoid(u_k - log(K-1-k))        fraction of the remaining stick broken off at step k
        r_0 = 1,  r_{k+1} = r_k (1 - z_k)      stick left before step k+1
        x_k = r_k z_k,  x_{K-1} = r_{K-1}      so x > 0 and sum_k x_k = 1.

    The offset makes u = 0 the uniform simplex (z_k = 1/(K-k)). Since x_{K-1} is fixed by the others,
    the Jacobian is that of u -> (x_0, ..., x_{K-2}), which is lower triangular (x_k depends on u_0..u_k)
    with diagonal dx_k/du_k = r_k z_k (1 - z_k); see Stan Reference Manual, "Unit simplex".
    All quantities are computed on the log scale (log z, log(1 - z), log r), so nothing overflows.
    """

    name = "stickbreaking"

    @staticmethod
    def _offset(km1):
        """log(K-1-k) for k = 0..K-2, shape (K-1,)."""
        return np.log(np.arange(km1, 0, -1, dtype=float))

    def _log_sticks(self, u):
        """log z_k, log(1 - z_k) (shape (D, ..., K-1)) and log r_k for k = 0..K-1 (shape (D, ..., K))."""
        v = u - self._offset(u.shape[-1])
        log_z, log_1mz = _log_sigmoid(v), _log_sigmoid(-v)
        zero = np.zeros(u.shape[:-1] + (1,))
        log_r = np.concatenate([zero, np.cumsum(log_1mz, axis=-1)], axis=-1)  # log r_k = sum_{j<k} log(1-z_j)
        return log_z, log_1mz, log_r

    def forward(self, x):
        """Map x, shape (D, ..., K), on the simplex to u, shape (D, ..., K-1).

        u_k = logit(z_k) + log(K-1-k) with z_k = x_k / r_k, i.e. u_k = log x_k - log r_{k+1} + log(K-1-k);
        the remaining stick r_{k+1} = sum_{j>k} x_j is a tail sum of positive terms (no cancellation).
        """
        x = _as_draws(x, "x")
        if x.ndim < 2:
            raise ValueError("StickBreaking needs a last (simplex) axis: x of shape (D, ..., K)")
        tail = np.cumsum(x[..., ::-1], axis=-1)[..., ::-1]  # tail[..., k] = r_k = sum_{j>=k} x_j
        return np.log(x[..., :-1]) - np.log(tail[..., 1:]) + self._offset(x.shape[-1] - 1)

    def backward(self, u):
        """Map u, shape (D, ..., K-1), to x, shape (D, ..., K), on the simplex."""
        u = _as_draws(u, "u")
        if u.ndim < 2:
            raise ValueError("StickBreaking needs a last axis: u of shape (D, ..., K-1)")
        log_z, _, log_r = self._log_sticks(u)
        # x_k = r_k z_k (k < K-1), x_{K-1} = r_{K-1}
        return np.exp(np.concatenate([log_r[..., :-1] + log_z, log_r[..., -1:]], axis=-1))

    def log_jac_det(self, u):
        """sum_k [log z_k + (K-1-k) log(1 - z_k)], shape (D,).

        From log|det J| = sum_k log(r_k z_k (1 - z_k)) with log r_k = sum_{j<k} log(1 - z_j): the term
        log(1 - z_j) appears once on its own and once in each r_k with j < k <= K-2, K-1-j times in all.
        """
        u = _as_draws(u, "u")
        log_z, log_1mz, _ = self._log_sticks(u)
        count = np.arange(u.shape[-1], 0, -1, dtype=float)  # K-1-k
        return _sum_event(log_z + count * log_1mz)

    def log_jac_det_grad(self, u):
        """Gradient of ``log_jac_det``, shape (D, ..., K-1): 1 - (K-k) z_k.

        d/dv log sigmoid(v) = 1 - z and d/dv log(1 - sigmoid(v)) = -z, so the k-th term differentiates
        to (1 - z_k) - (K-1-k) z_k.
        """
        u = _as_draws(u, "u")
        log_z, _, _ = self._log_sticks(u)
        return 1.0 - np.arange(u.shape[-1] + 1, 1, -1, dtype=float) * np.exp(log_z)

    def backward_vjp(self, u, g_x):
        """g_u = (dx/du)^T g_x in O(K) per row, shape (D, ..., K-1).

        u_k moves x_k through z_k and scales every later x_j (j > k) by (1 - z_k)::

            dx_k/du_k = x_k (1 - z_k),   dx_j/du_k = -z_k x_j (j > k),   dx_j/du_k = 0 (j < k).

        Hence g_u_k = x_k (1 - z_k) g_k - z_k sum_{j>k} x_j g_j = x_k g_k - z_k S_k,
        with the reverse cumulative sum S_k = sum_{j>=k} x_j g_j.
        """
        u = _as_draws(u, "u")
        log_z, _, log_r = self._log_sticks(u)
        x = np.exp(np.concatenate([log_r[..., :-1] + log_z, log_r[..., -1:]], axis=-1))
        xg = x * np.asarray(g_x, dtype=float)
        s = np.cumsum(xg[..., ::-1], axis=-1)[..., ::-1]  # S_k = sum_{j>=k} x_j g_j
        return xg[..., :-1] - np.exp(log_z) * s[..., :-1]

    def unconstrained_shape(self, shape):
        shape = tuple(shape)
        if len(shape) == 0 or shape[-1] < 1:
            raise ValueError(f"StickBreaking needs a value with a non-empty last axis; got shape {shape}")
        return shape[:-1] + (shape[-1] - 1,)

    def constrained_shape(self, ushape):
        ushape = tuple(ushape)
        if len(ushape) == 0:
            raise ValueError("StickBreaking needs an unconstrained value with a last axis; got shape ()")
        return ushape[:-1] + (ushape[-1] + 1,)


# Module-level instances of the parameter-free transforms, as in PyMC.
log = LogTransform()
logodds = LogOddsTransform()
stick_breaking = StickBreaking()


# ---------------------------------------------------------------------------------------------
# Zero sum
# ---------------------------------------------------------------------------------------------

class ZeroSumTransform(Transform):
    """Values summing to zero along some axes, shape (..., n), from R^(n-1) per axis, as PyMC v5's ``zerosum``.

    Along one axis of length n, with u of length m = n - 1, s = sum_k u_k and c = 1 / (n + sqrt(n)):

        x_k = u_k - c s   (k < m),      x_m = -s / sqrt(n),

    which sums to zero since m c = 1 - 1/sqrt(n). This is x = H [u, 0] with the Householder reflection H
    that maps e_m to -1/sqrt(n): the n x m matrix A with x = A u has orthonormal columns, so |x| = |u|, and
    the map is an isometry onto the zero-sum hyperplane: its log-Jacobian (with respect to the hyperplane's
    own measure, as PyMC counts it) is 0. Several axes are done one after the other (the maps act on
    different axes, so they commute).

    Parameters
    ----------
    zerosum_axes : sequence of int
        The constrained axes of one value (no draw axis), e.g. ``(-1,)`` or ``(-2, -1)``; each must have
        length >= 2 in the value.
    """

    name = "zerosum"

    def __init__(self, zerosum_axes):
        axes = tuple(int(a) for a in zerosum_axes)
        if len(axes) == 0 or len(set(axes)) != len(axes):
            raise ValueError(f"ZeroSumTransform needs distinct axes, got zerosum_axes={zerosum_axes!r}")
        self.zerosum_axes = axes

    def _draw_axes(self, ndim):
        """The axes in an array with a leading draw axis and ``ndim`` axes in all."""
        axes = []
        for a in self.zerosum_axes:
            if not -(ndim - 1) <= a < ndim - 1:
                raise ValueError(f"ZeroSumTransform: axis {a} is out of range for a value of {ndim - 1} axes")
            axes.append(a + 1 if a >= 0 else a)
        return axes

    @staticmethod
    def _extend(u, axis):
        """x = A u along ``axis`` (length m -> m + 1)."""
        n = u.shape[axis] + 1.0
        s = u.sum(axis=axis, keepdims=True)
        return np.concatenate([u - s / (n + np.sqrt(n)), -s / np.sqrt(n)], axis=axis)

    @staticmethod
    def _extend_transpose(g, axis):
        """A^T g along ``axis`` (length n -> n - 1): (A^T g)_k = g_k - c sum_{i<m} g_i - g_m / sqrt(n)."""
        n = float(g.shape[axis])
        head = np.take(g, np.arange(g.shape[axis] - 1), axis=axis)
        last = np.take(g, [-1], axis=axis)
        return head - head.sum(axis=axis, keepdims=True) / (n + np.sqrt(n)) - last / np.sqrt(n)

    def forward(self, x):
        """u_k = x_k - x_m / (1 + sqrt(n)) along each axis (PyMC's ``extend_axis_rev``), shape (D, ..., n - 1).

        For a zero-sum x this is A^T x (there sum_{i<m} x_i = -x_m), the inverse of ``backward``.
        """
        x = _as_draws(x, "x")
        for axis in self._draw_axes(x.ndim):
            n = float(x.shape[axis])
            last = np.take(x, [-1], axis=axis)
            x = np.take(x, np.arange(x.shape[axis] - 1), axis=axis) - last / (1.0 + np.sqrt(n))
        return x

    def backward(self, u):
        u = _as_draws(u, "u")
        for axis in self._draw_axes(u.ndim):
            u = self._extend(u, axis)
        return u

    def log_jac_det(self, u):
        """0 per draw: the map is an isometry onto the zero-sum subspace (PyMC's log-Jacobian too)."""
        u = _as_draws(u, "u")
        return np.zeros(u.shape[0])

    def log_jac_det_grad(self, u):
        return np.zeros_like(_as_draws(u, "u"))

    def backward_vjp(self, u, g_x):
        """g_u = A^T g_x along each axis (in the reverse order of ``backward``), shape (D, ..., n - 1)."""
        g = np.asarray(g_x, dtype=float)
        for axis in reversed(self._draw_axes(g.ndim)):
            g = self._extend_transpose(g, axis)
        return g

    def unconstrained_shape(self, shape):
        shape = list(shape)
        for a in self.zerosum_axes:
            if not -len(shape) <= a < len(shape) or shape[a] < 2:
                raise ValueError(f"ZeroSumTransform needs axis {a} of length >= 2; got a value of shape "
                                 f"{tuple(shape)}")
            shape[a] -= 1
        return tuple(shape)

    def constrained_shape(self, ushape):
        shape = list(ushape)
        for a in self.zerosum_axes:
            shape[a] += 1
        return tuple(shape)

    def __repr__(self):
        return f"ZeroSumTransform(zerosum_axes={self.zerosum_axes})"


# ---------------------------------------------------------------------------------------------
# Increasing vectors
# ---------------------------------------------------------------------------------------------

class Ordered(Transform):
    """Strictly increasing vectors along the last axis, shape (..., K), from R^K, as PyMC's ``ordered``.

    The first coordinate is kept, each later one is the log of a gap::

        x_0 = u_0,   x_k = x_{k-1} + exp(u_k)   (k = 1..K-1),   so x_k = u_0 + sum_{j=1..k} exp(u_j)
        u_0 = x_0,   u_k = log(x_k - x_{k-1}).

    The Jacobian dx/du is lower triangular (x_k depends on u_0..u_k) with diagonal (1, e^{u_1}, ...,
    e^{u_{K-1}}), so log|det J| = sum_{k>=1} u_k. The usual prior on the cutpoints of an ordinal model
    (``OrderedLogistic``, ``OrderedProbit``); the variable needs an increasing initial value (``initval=``).
    Not an elementwise transform: on the tape, the ORDERED instruction (:mod:`nbvi.compiled.axis_ops`).
    """

    name = "ordered"

    def forward(self, x):
        """Map x, shape (D, ..., K), increasing along the last axis, to u, shape (D, ..., K).

        u_0 = x_0 and u_k = log(x_k - x_{k-1}); a gap <= 0 gives -inf or NaN (no image)."""
        x = _as_draws(x, "x")
        if x.ndim < 2:
            raise ValueError("Ordered needs a last (vector) axis: x of shape (D, ..., K)")
        return np.concatenate([x[..., :1], np.log(np.diff(x, axis=-1))], axis=-1)

    def backward(self, u):
        """Map u, shape (D, ..., K), to x, shape (D, ..., K): x_k = u_0 + sum_{j=1..k} exp(u_j)."""
        u = _as_draws(u, "u")
        if u.ndim < 2:
            raise ValueError("Ordered needs a last (vector) axis: u of shape (D, ..., K)")
        gaps = np.exp(u[..., 1:])
        return np.concatenate([u[..., :1], u[..., :1] + np.cumsum(gaps, axis=-1)], axis=-1)

    def log_jac_det(self, u):
        """sum_{k>=1} u_k, the log of the product of the diagonal (1, e^{u_1}, ...), shape (D,)."""
        u = _as_draws(u, "u")
        return _sum_event(u[..., 1:])

    def log_jac_det_grad(self, u):
        """Gradient of ``log_jac_det``, shape (D, ..., K): d/du_0 = 0, d/du_k = 1 for k >= 1."""
        u = _as_draws(u, "u")
        grad = np.ones_like(u)
        grad[..., 0] = 0.0
        return grad

    def backward_vjp(self, u, g_x):
        """g_u = (dx/du)^T g_x in O(K) per row, shape (D, ..., K).

        dx_j/du_0 = 1 for every j, and dx_j/du_k = e^{u_k} for j >= k >= 1 (0 for j < k); with the
        reverse cumulative sum S_k = sum_{j>=k} g_j::

            g_u_0 = S_0,   g_u_k = e^{u_k} S_k   (k >= 1).
        """
        u = _as_draws(u, "u")
        g_x = np.asarray(g_x, dtype=float)
        s = np.cumsum(g_x[..., ::-1], axis=-1)[..., ::-1]  # S_k = sum_{j>=k} g_j
        return np.concatenate([s[..., :1], np.exp(u[..., 1:]) * s[..., 1:]], axis=-1)

    def unconstrained_shape(self, shape):
        shape = tuple(shape)
        if len(shape) == 0 or shape[-1] < 1:
            raise ValueError(f"Ordered needs a value with a non-empty last axis (a vector); got shape {shape}")
        return shape

    def constrained_shape(self, ushape):
        return tuple(ushape)


ordered = Ordered()
