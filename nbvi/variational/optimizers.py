"""Stochastic gradient optimizers, as PyMC3 defines them (``pymc3/variational/updates.py``, from Lasagne).

Variational inference minimises a loss (the negative ELBO), so every optimizer *descends*. The inference
loop keeps all variational parameters in one flat float64 vector, and one step is one call::

    opt = adagrad_window(learning_rate=0.01)
    state = opt.init(params.size)        # one flat float64 array: counters, then accumulators
    for _ in range(n):
        grad = loss_gradient(params)
        opt.step(params, grad, state)    # updates params and state in place; grad is left alone

Each rule is one numba kernel with the same signature, ``kernel(params, grad, state, hyper)``:

* ``params``, ``grad``: 1-D float64 arrays of length n; ``params`` is updated in place.
* ``state``: 1-D float64 array from ``init(n)``, the scalar counters first (Adam's step t, the window
  position), then the per-element accumulators, each n long (``Optimizer.unpack`` names them).
* ``hyper``: the settings as a float64 array, ``(max_norm, learning_rate, *others)``; max_norm is inf
  without a gradient-norm constraint.

Four array arguments is all numba has to unbox per call (each argument costs about a quarter of a
microsecond), the kernels allocate nothing, and a compiled fit loop can call ``optimizer.kernel``
with ``optimizer.hyper`` directly. Kernels compile on first use. ``error_model="numpy"`` makes a
division by zero give inf/nan instead of raising, which also lets LLVM vectorise the loops.

Every optimizer takes ``max_grad_norm``: when set, the gradient is first rescaled so that its total L2
norm is at most that value, g <- g min(1, max_grad_norm / ||g||_2). This is PyMC3's
``total_norm_constraint`` without its 1e-7 in the denominator, so a gradient already within the bound is
left exactly as it is.

Every optimizer's ``learning_rate`` may also be a schedule, as in optax: a callable ``t -> eta_t`` of the
number t of steps the optimizer has taken (0 at the first step), such as :func:`exponential_decay` or
:func:`step_decay`. Its state then starts with that count, so ``refine`` goes on with the schedule where the
fit left it and a fresh state (a new ``fit``) starts it again.
"""
import math
import numbers
import operator
import warnings

import numpy as np
from numba import njit

from nbvi import arguments

__all__ = [
    "SGD", "AdaDelta", "Adagrad", "AdagradWindow", "Adam", "Adamax", "Momentum", "NesterovMomentum",
    "Optimizer", "RMSProp", "adadelta", "adagrad", "adagrad_window", "adam", "adamax", "momentum",
    "nesterov_momentum", "rmsprop", "sgd", "AveragedAdam", "averaged_adam", "ExponentialDecay", "StepDecay", "exponential_decay", "step_decay",
]


# ---------------------------------------------------------------------------------------------
# Kernels: one per rule, in place over the flat arrays
# ---------------------------------------------------------------------------------------------

@njit(cache=True, fastmath={"reassoc"})  # reassociation only (a vectorised sum); NaN and inf propagate
def grad_scale(grad, max_norm):
    """The factor min(1, max_norm / ||grad||_2) applied to the gradient; exactly 1 when max_norm is inf."""
    if max_norm == np.inf:
        return 1.0
    total = 0.0
    for i in range(grad.size):
        total += grad[i] * grad[i]
    norm = math.sqrt(total)
    if norm > max_norm:
        return max_norm / norm
    return 1.0


@njit(cache=True)
def check_sizes(params, grad, state, state_size):
    """Kernels run without bounds checks, so mismatched arrays are refused before any loop."""
    if grad.size != params.size:
        raise ValueError("grad must have the same size as params")
    if state.size != state_size:
        raise ValueError("state does not match params: make it with optimizer.init(params.size)")


@njit(cache=True, error_model="numpy")
def sgd_kernel(params, grad, state, hyper):
    """p <- p - lr g.  state: empty.  hyper: (max_norm, lr)."""
    check_sizes(params, grad, state, 0)
    step = hyper[1] * grad_scale(grad, hyper[0])
    for i in range(params.size):
        params[i] -= step * grad[i]


@njit(cache=True, error_model="numpy")
def momentum_kernel(params, grad, state, hyper):
    """v <- mu v - lr g;  p <- p + v.  state: (velocity,).  hyper: (max_norm, lr, mu)."""
    n = params.size
    check_sizes(params, grad, state, n)
    step = hyper[1] * grad_scale(grad, hyper[0])
    mu = hyper[2]
    for i in range(n):
        v = mu * state[i] - step * grad[i]
        state[i] = v
        params[i] += v


@njit(cache=True, error_model="numpy")
def nesterov_momentum_kernel(params, grad, state, hyper):
    """v <- mu v - lr g;  p <- p + mu v - lr g (with the new v).  state: (velocity,).  hyper: (max_norm, lr, mu)."""
    n = params.size
    check_sizes(params, grad, state, n)
    step = hyper[1] * grad_scale(grad, hyper[0])
    mu = hyper[2]
    for i in range(n):
        descent = step * grad[i]
        v = mu * state[i] - descent
        state[i] = v
        params[i] += mu * v - descent


@njit(cache=True, error_model="numpy")
def adagrad_kernel(params, grad, state, hyper):
    """a <- a + g^2;  p <- p - lr g / sqrt(a + eps).  state: (a,).  hyper: (max_norm, lr, eps)."""
    n = params.size
    check_sizes(params, grad, state, n)
    scale = grad_scale(grad, hyper[0])
    learning_rate, epsilon = hyper[1], hyper[2]
    for i in range(n):
        g = scale * grad[i]
        a = state[i] + g * g
        state[i] = a
        params[i] -= learning_rate * g / math.sqrt(a + epsilon)


@njit(cache=True, error_model="numpy")
def adagrad_window_kernel(params, grad, state, hyper):
    """w[k] <- g^2, k cycling through the n_win rows;  p <- p - lr g / sqrt(sum_k w[k] + eps).

    state: (position; window, n_win rows of n; total, n, scratch).  hyper: (max_norm, lr, eps, n_win).
    The window is summed row by row into ``total`` at every step (exact, and every loop contiguous).
    """
    n = params.size
    n_win = int(hyper[3])
    check_sizes(params, grad, state, 1 + (n_win + 1) * n)
    scale = grad_scale(grad, hyper[0])
    learning_rate, epsilon = hyper[1], hyper[2]
    k = int(state[0])
    newest = state[1 + k * n:1 + (k + 1) * n]
    total = state[1 + n_win * n:]
    for i in range(n):
        g = scale * grad[i]
        newest[i] = g * g
    for i in range(n):
        total[i] = state[1 + i]
    for r in range(1, n_win):
        row = state[1 + r * n:1 + (r + 1) * n]
        for i in range(n):
            total[i] += row[i]
    step = learning_rate * scale
    for i in range(n):
        params[i] -= step * grad[i] / math.sqrt(total[i] + epsilon)
    state[0] = k + 1 if k + 1 < n_win else 0


@njit(cache=True, error_model="numpy")
def rmsprop_kernel(params, grad, state, hyper):
    """a <- rho a + (1 - rho) g^2;  p <- p - lr g / sqrt(a + eps).  state: (a,).  hyper: (max_norm, lr, rho, eps)."""
    n = params.size
    check_sizes(params, grad, state, n)
    scale = grad_scale(grad, hyper[0])
    learning_rate, rho, epsilon = hyper[1], hyper[2], hyper[3]
    for i in range(n):
        g = scale * grad[i]
        a = rho * state[i] + (1.0 - rho) * g * g
        state[i] = a
        params[i] -= learning_rate * g / math.sqrt(a + epsilon)


@njit(cache=True, error_model="numpy")
def adadelta_kernel(params, grad, state, hyper):
    """a <- rho a + (1 - rho) g^2;  u = g sqrt(s + eps) / sqrt(a + eps);  p <- p - lr u;
    s <- rho s + (1 - rho) u^2.  state: (a, s).  hyper: (max_norm, lr, rho, eps)."""
    n = params.size
    check_sizes(params, grad, state, 2 * n)
    scale = grad_scale(grad, hyper[0])
    learning_rate, rho, epsilon = hyper[1], hyper[2], hyper[3]
    accu = state[:n]
    delta_accu = state[n:]
    for i in range(n):
        g = scale * grad[i]
        a = rho * accu[i] + (1.0 - rho) * g * g
        accu[i] = a
        u = g * math.sqrt(delta_accu[i] + epsilon) / math.sqrt(a + epsilon)
        params[i] -= learning_rate * u
        delta_accu[i] = rho * delta_accu[i] + (1.0 - rho) * u * u


@njit(cache=True, error_model="numpy")
def adam_kernel(params, grad, state, hyper):
    """t <- t + 1;  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
    p <- p - lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps).
    state: (t; m, v).  hyper: (max_norm, lr, b1, b2, eps)."""
    n = params.size
    check_sizes(params, grad, state, 1 + 2 * n)
    scale = grad_scale(grad, hyper[0])
    learning_rate, beta1, beta2, epsilon = hyper[1], hyper[2], hyper[3], hyper[4]
    t = state[0] + 1.0
    state[0] = t
    step = learning_rate * math.sqrt(1.0 - beta2 ** t) / (1.0 - beta1 ** t)
    m = state[1:1 + n]
    v = state[1 + n:]
    for i in range(n):
        g = scale * grad[i]
        m_i = beta1 * m[i] + (1.0 - beta1) * g
        v_i = beta2 * v[i] + (1.0 - beta2) * g * g
        m[i] = m_i
        v[i] = v_i
        params[i] -= step * m_i / (math.sqrt(v_i) + epsilon)


@njit(cache=True, error_model="numpy")
def adamax_kernel(params, grad, state, hyper):
    """t <- t + 1;  m <- b1 m + (1 - b1) g;  ``u <- max(b2 u, |g|)``;  p <- p - lr / (1 - b1^t) m / (u + eps).
    state: (t; m, u).  hyper: (max_norm, lr, b1, b2, eps)."""
    n = params.size
    check_sizes(params, grad, state, 1 + 2 * n)
    scale = grad_scale(grad, hyper[0])
    learning_rate, beta1, beta2, epsilon = hyper[1], hyper[2], hyper[3], hyper[4]
    t = state[0] + 1.0
    state[0] = t
    step = learning_rate / (1.0 - beta1 ** t)
    m = state[1:1 + n]
    u = state[1 + n:]
    for i in range(n):
        g = scale * grad[i]
        m_i = beta1 * m[i] + (1.0 - beta1) * g
        decayed, size = beta2 * u[i], abs(g)
        u_i = decayed if decayed > size else size
        m[i] = m_i
        u[i] = u_i
        params[i] -= step * m_i / (u_i + epsilon)


@njit(cache=True, error_model="numpy")
def averaged_adam_kernel(params, grad, state, hyper):
    """Adam whose step size decays as eta t_d / t after step t_d, and the running mean of the iterates after
    step t_a:  t <- t + 1;  eta_t = eta min(1, t_d / t);  Adam's update with eta_t;
    if t > t_a: k <- k + 1, a <- a + (p - a) / k.
    state: (t, k; m, v, a).  hyper: (max_norm, lr, b1, b2, eps, t_d, t_a)."""
    n = params.size
    check_sizes(params, grad, state, 2 + 3 * n)
    scale = grad_scale(grad, hyper[0])
    learning_rate, beta1, beta2, epsilon = hyper[1], hyper[2], hyper[3], hyper[4]
    decay_after, average_after = hyper[5], hyper[6]
    t = state[0] + 1.0
    state[0] = t
    if t > decay_after:
        learning_rate *= decay_after / t
    step = learning_rate * math.sqrt(1.0 - beta2 ** t) / (1.0 - beta1 ** t)
    m = state[2:2 + n]
    v = state[2 + n:2 + 2 * n]
    for i in range(n):
        g = scale * grad[i]
        m_i = beta1 * m[i] + (1.0 - beta1) * g
        v_i = beta2 * v[i] + (1.0 - beta2) * g * g
        m[i] = m_i
        v[i] = v_i
        params[i] -= step * m_i / (math.sqrt(v_i) + epsilon)
    if t > average_after:
        k = state[1] + 1.0
        state[1] = k
        average = state[2 + 2 * n:]
        for i in range(n):
            average[i] += (params[i] - average[i]) / k


# ---------------------------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------------------------

def _number(name, value):
    """A real number as a float; strings ("0.1"), booleans and None are refused, not converted."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number; got {value!r}")
    return float(value)


def _positive(name, value):
    x = _number(name, value)
    if not 0.0 < x < math.inf:
        raise ValueError(f"{name} must be positive and finite; got {name}={value!r}")
    return x


def _fraction(name, value):
    """A decay factor or momentum: 0 <= value < 1."""
    x = _number(name, value)
    if not 0.0 <= x < 1.0:
        raise ValueError(f"{name} must be in [0, 1); got {name}={value!r}")
    return x


def _count(name, value, minimum=1):
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer; got {value!r}")
    try:
        k = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer; got {value!r}") from None
    if k < minimum:
        raise ValueError(f"{name} must be at least {minimum}; got {name}={value!r}")
    return k


# ---------------------------------------------------------------------------------------------
# Optimizers
# ---------------------------------------------------------------------------------------------

class Optimizer:
    """Base class: settings, state layout and the one-call step.

    A subclass names its ``kernel``, its ``settings`` (in the order they follow max_norm and the
    learning rate in ``hyper``), the scalar ``counters`` at the start of its state and the per-element
    ``slots`` after them. Settings are fixed once the optimizer is made (``hyper`` is built from them);
    make a new optimizer to change them.

    ``learning_rate`` is a number > 0 or a schedule, a callable ``t -> eta_t >= 0`` of the steps taken
    (:class:`ExponentialDecay`, :class:`StepDecay` or one's own); ``schedule`` holds it (None for a fixed rate).
    """

    kernel = None
    settings = ()
    counters = ()
    slots = ()

    def __init__(self, learning_rate, max_grad_norm=None, **settings):
        # a callable learning rate is a schedule t -> eta_t (the rate then comes from it at every step)
        schedule = learning_rate if callable(learning_rate) else None
        if schedule is None:
            learning_rate = _positive("learning_rate", learning_rate)
        values = {"learning_rate": learning_rate, **settings}
        if max_grad_norm is not None:
            max_grad_norm = _positive("max_grad_norm", max_grad_norm)
        for name, value in values.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "max_grad_norm", max_grad_norm)
        object.__setattr__(self, "schedule", schedule)
        # with a schedule, hyper's rate is NaN: step() passes the kernel a copy holding eta_t
        hyper = [math.inf if max_grad_norm is None else max_grad_norm, math.nan if schedule else learning_rate]
        hyper += [float(values[name]) for name in self.settings]
        hyper = np.array(hyper, dtype=np.float64)
        hyper.flags.writeable = False
        object.__setattr__(self, "hyper", hyper)

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} settings are fixed; make a new optimizer to change {name}")

    def _rows(self):
        """How many length-n vectors the state holds after its counters."""
        return len(self.slots)

    def _counters(self):
        """The scalar counters at the start of the state: with a schedule, its step count t comes first."""
        return ("step", *self.counters) if self.schedule is not None else self.counters

    def init(self, size):
        """A fresh state for a parameter vector of length ``size``: zeros, float64, laid out as
        counters (the schedule's ``step`` first, when there is a schedule) then ``slots`` (see ``unpack``)."""
        n = _count("size", size, minimum=0)
        return np.zeros(len(self._counters()) + self._rows() * n, dtype=np.float64)

    def step(self, params, grad, state):
        """One descent step on the loss: update ``params`` (1-D float64, contiguous) and ``state`` in
        place from ``grad`` (same shape, left unchanged)."""
        if self.schedule is None:
            self.kernel(params, grad, state, self.hyper)
            return
        if state.size == 0:
            raise ValueError("state does not match params: make it with optimizer.init(params.size)")
        t = state[0]  # steps taken so far
        hyper = self.hyper.copy()
        hyper[1] = self.learning_rate_at(t)
        self.kernel(params, grad, state[1:], hyper)
        state[0] = t + 1.0

    def finish(self, params, state):
        """Called when a fit (or refine) ends, with its last parameters: nothing to do for most optimizers;
        an averaging one writes its average of the iterates into ``params``."""

    def learning_rate_at(self, t):
        """The learning rate eta_t of step t (counted from 0): the schedule's value, checked, or the fixed rate."""
        if self.schedule is None:
            return self.learning_rate
        rate = self.schedule(int(t))
        if isinstance(rate, (bool, np.bool_)) or not isinstance(rate, numbers.Real) or not 0.0 <= rate < math.inf:
            raise ValueError(f"the learning_rate schedule {self.schedule!r} gave {rate!r} at step {int(t)}; "
                             f"a learning rate must be a finite number >= 0")
        return float(rate)

    def unpack(self, state):
        """Named views into ``state``: each counter as a length-1 array, each slot as a length-n array
        (a slot with several rows, like AdagradWindow's window, as an (rows, n) array)."""
        counters = self._counters()
        c = len(counters)
        n = (state.size - c) // self._rows() if self._rows() else 0
        views = {name: state[i:i + 1] for i, name in enumerate(counters)}
        for name, start, rows in self._slot_rows(n):
            block = state[c + start * n:c + (start + rows) * n]
            views[name] = block.reshape(rows, n) if rows > 1 else block
        return views

    def _slot_rows(self, n):
        return [(name, i, 1) for i, name in enumerate(self.slots)]

    def get_settings(self):
        """The constructor arguments, as a dict: ``type(opt)(**opt.get_settings())`` is an equal optimizer."""
        names = ["learning_rate", *self.settings, "max_grad_norm"]
        return {name: getattr(self, name) for name in names}

    def __repr__(self):
        settings = ", ".join(f"{name}={value!r}" for name, value in self.get_settings().items())
        return f"{type(self).__name__}({settings})"

    def __reduce__(self):
        # rebuild through the constructor (pickle, copy), so that hyper is read-only again
        return _rebuild, (type(self), self.get_settings())


def _rebuild(cls, settings):
    return cls(**settings)


class SGD(Optimizer):
    r"""Stochastic gradient descent.

    .. math:: p_t = p_{t-1} - \eta g_t

    Parameters
    ----------
    learning_rate : float or schedule, default 1e-3
        The step size :math:`\eta`.
    max_grad_norm : float, optional
        If set, gradients are rescaled to a total L2 norm of at most this value.
    """

    kernel = staticmethod(sgd_kernel)

    def __init__(self, learning_rate=1e-3, max_grad_norm=None):
        super().__init__(learning_rate, max_grad_norm)


class Momentum(Optimizer):
    r"""Stochastic gradient descent with (heavy-ball) momentum.

    .. math::
        v_t = \mu v_{t-1} - \eta g_t, \qquad p_t = p_{t-1} + v_t

    Parameters
    ----------
    learning_rate : float or schedule, default 1e-3
        The step size :math:`\eta`.
    momentum : float, default 0.9
        The velocity decay :math:`\mu`, in [0, 1). Steps grow to about :math:`\eta / (1 - \mu)`
        along a steady gradient; scale the learning rate by :math:`1 - \mu` to compensate.
    max_grad_norm : float, optional
        If set, gradients are rescaled to a total L2 norm of at most this value.

    References
    ----------
    Polyak, B. T. (1964). Some methods of speeding up the convergence of iteration methods.
    USSR Computational Mathematics and Mathematical Physics, 4(5), 1-17.
    """

    kernel = staticmethod(momentum_kernel)
    settings = ("momentum",)
    slots = ("velocity",)

    def __init__(self, learning_rate=1e-3, momentum=0.9, max_grad_norm=None):
        super().__init__(learning_rate, max_grad_norm, momentum=_fraction("momentum", momentum))


class NesterovMomentum(Optimizer):
    r"""Stochastic gradient descent with Nesterov momentum, in the form that takes the gradient at the
    current parameters (Sutskever et al. 2013; pylearn2 / Lasagne).

    .. math::
        v_t = \mu v_{t-1} - \eta g_t, \qquad p_t = p_{t-1} + \mu v_t - \eta g_t

    Parameters
    ----------
    learning_rate : float or schedule, default 1e-3
        The step size :math:`\eta`.
    momentum : float, default 0.9
        The velocity decay :math:`\mu`, in [0, 1).
    max_grad_norm : float, optional
        If set, gradients are rescaled to a total L2 norm of at most this value.

    References
    ----------
    Nesterov, Y. (1983). A method for unconstrained convex minimization problem with the rate of
    convergence O(1/k^2). Doklady AN SSSR, 269, 543-547.
    Sutskever, I., Martens, J., Dahl, G. and Hinton, G. (2013). On the importance of initialization and
    momentum in deep learning. ICML.
    """

    kernel = staticmethod(nesterov_momentum_kernel)
    settings = ("momentum",)
    slots = ("velocity",)

    def __init__(self, learning_rate=1e-3, momentum=0.9, max_grad_norm=None):
        super().__init__(learning_rate, max_grad_norm, momentum=_fraction("momentum", momentum))


class Adagrad(Optimizer):
    r"""Adagrad: each coordinate's step shrinks with the sum of all its squared gradients so far.

    .. math::
        a_t = a_{t-1} + g_t^2, \qquad p_t = p_{t-1} - \eta \frac{g_t}{\sqrt{a_t + \epsilon}}

    Parameters
    ----------
    learning_rate : float or schedule, default 1.0
        The step size :math:`\eta`.
    epsilon : float, default 1e-6
        Added under the square root for numerical stability (not in the paper; see Dyer's notes).
    max_grad_norm : float, optional
        If set, gradients are rescaled to a total L2 norm of at most this value.

    References
    ----------
    Duchi, J., Hazan, E. and Singer, Y. (2011). Adaptive subgradient methods for online learning and
    stochastic optimization. JMLR, 12, 2121-2159.
    """

    kernel = staticmethod(adagrad_kernel)
    settings = ("epsilon",)
    slots = ("accu",)

    def __init__(self, learning_rate=1.0, epsilon=1e-6, max_grad_norm=None):
        super().__init__(learning_rate, max_grad_norm, epsilon=_positive("epsilon", epsilon))


class AdagradWindow(Optimizer):
    r"""Adagrad over a moving window: the default optimizer of PyMC3's (and nbvi's) ``fit``.

    Only the squared gradients of the last ``n_win`` steps count, kept per coordinate in a ring buffer
    :math:`w`:

    .. math::
        w_{t \bmod n} = g_t^2, \qquad
        p_t = p_{t-1} - \eta \frac{g_t}{\sqrt{\sum_{k=0}^{n-1} w_k + \epsilon}}

    Before ``n_win`` steps have been taken, the empty slots of the window are zero.

    Parameters
    ----------
    learning_rate : float or schedule, default 1e-3
        The step size :math:`\eta`.
    epsilon : float, default 0.1
        Added to the windowed sum under the square root.
    n_win : int, default 10
        The window length :math:`n`.
    max_grad_norm : float, optional
        If set, gradients are rescaled to a total L2 norm of at most this value.

    References
    ----------
    Duchi, J., Hazan, E. and Singer, Y. (2011). Adaptive subgradient methods for online learning and
    stochastic optimization. JMLR, 12, 2121-2159.
    Kucukelbir, A., Tran, D., Ranganath, R., Gelman, A. and Blei, D. M. (2017). Automatic differentiation
    variational inference. JMLR, 18(14), 1-45 (a windowed adaptive step size for ADVI).
    """

    kernel = staticmethod(adagrad_window_kernel)
    settings = ("epsilon", "n_win")
    counters = ("position",)
    slots = ("window", "total")

    def __init__(self, learning_rate=1e-3, epsilon=0.1, n_win=10, max_grad_norm=None):
        super().__init__(learning_rate, max_grad_norm, epsilon=_positive("epsilon", epsilon),
                         n_win=_count("n_win", n_win))

    def _rows(self):
        return self.n_win + 1

    def _slot_rows(self, n):
        return [("window", 0, self.n_win), ("total", self.n_win, 1)]


class RMSProp(Optimizer):
    r"""RMSProp: divide each step by a moving root mean square of recent gradients.

    .. math::
        a_t = \rho a_{t-1} + (1 - \rho) g_t^2, \qquad
        p_t = p_{t-1} - \eta \frac{g_t}{\sqrt{a_t + \epsilon}}

    Parameters
    ----------
    learning_rate : float or schedule, default 1.0
        The step size :math:`\eta`.
    rho : float, default 0.9
        The decay :math:`\rho` of the moving average, in [0, 1).
    epsilon : float, default 1e-6
        Added under the square root for numerical stability.
    max_grad_norm : float, optional
        If set, gradients are rescaled to a total L2 norm of at most this value.

    References
    ----------
    Tieleman, T. and Hinton, G. (2012). Lecture 6.5 - RMSProp: divide the gradient by a running average
    of its recent magnitude. COURSERA: Neural Networks for Machine Learning.
    """

    kernel = staticmethod(rmsprop_kernel)
    settings = ("rho", "epsilon")
    slots = ("accu",)

    def __init__(self, learning_rate=1.0, rho=0.9, epsilon=1e-6, max_grad_norm=None):
        super().__init__(learning_rate, max_grad_norm, rho=_fraction("rho", rho),
                         epsilon=_positive("epsilon", epsilon))


class AdaDelta(Optimizer):
    r"""AdaDelta: RMSProp whose step size is the moving RMS of the past updates.

    .. math::
        a_t &= \rho a_{t-1} + (1 - \rho) g_t^2 \\
        u_t &= g_t \frac{\sqrt{s_{t-1} + \epsilon}}{\sqrt{a_t + \epsilon}}, \qquad
        p_t = p_{t-1} - \eta u_t \\
        s_t &= \rho s_{t-1} + (1 - \rho) u_t^2

    Parameters
    ----------
    learning_rate : float or schedule, default 1.0
        A factor :math:`\eta` on the step (the paper has none, i.e. 1).
    rho : float, default 0.95
        The decay :math:`\rho` of both moving averages, in [0, 1).
    epsilon : float, default 1e-6
        Added under both square roots; it sets the size of the very first steps.
    max_grad_norm : float, optional
        If set, gradients are rescaled to a total L2 norm of at most this value.

    References
    ----------
    Zeiler, M. D. (2012). ADADELTA: an adaptive learning rate method. arXiv:1212.5701.
    """

    kernel = staticmethod(adadelta_kernel)
    settings = ("rho", "epsilon")
    slots = ("accu", "delta_accu")

    def __init__(self, learning_rate=1.0, rho=0.95, epsilon=1e-6, max_grad_norm=None):
        super().__init__(learning_rate, max_grad_norm, rho=_fraction("rho", rho),
                         epsilon=_positive("epsilon", epsilon))


class Adam(Optimizer):
    r"""Adam: moving averages of the gradient and of its square, with bias correction.

    .. math::
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        p_t &= p_{t-1} - \eta \frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t} \frac{m_t}{\sqrt{v_t} + \epsilon}

    The bias correction is folded into the step size as in Section 2 of the paper (and Lasagne), so
    :math:`\epsilon` is added to :math:`\sqrt{v_t}`, not to the corrected :math:`\sqrt{\hat v_t}`.

    Parameters
    ----------
    learning_rate : float or schedule, default 1e-3
        The step size :math:`\eta`.
    beta1 : float, default 0.9
        Decay of the first-moment average, in [0, 1).
    beta2 : float, default 0.999
        Decay of the second-moment average, in [0, 1).
    epsilon : float, default 1e-8
        Added to the denominator for numerical stability.
    max_grad_norm : float, optional
        If set, gradients are rescaled to a total L2 norm of at most this value.

    References
    ----------
    Kingma, D. P. and Ba, J. (2015). Adam: a method for stochastic optimization. ICLR; arXiv:1412.6980.
    """

    kernel = staticmethod(adam_kernel)
    settings = ("beta1", "beta2", "epsilon")
    counters = ("t",)
    slots = ("m", "v")

    def __init__(self, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8, max_grad_norm=None):
        super().__init__(learning_rate, max_grad_norm, beta1=_fraction("beta1", beta1),
                         beta2=_fraction("beta2", beta2), epsilon=_positive("epsilon", epsilon))


class Adamax(Optimizer):
    r"""Adamax: Adam with the second moment replaced by an exponentially weighted infinity norm.

    .. math::
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad u_t = \max(\beta_2 u_{t-1}, |g_t|) \\
        p_t &= p_{t-1} - \frac{\eta}{1 - \beta_1^t} \frac{m_t}{u_t + \epsilon}

    Parameters
    ----------
    learning_rate : float or schedule, default 2e-3
        The step size :math:`\eta`.
    beta1 : float, default 0.9
        Decay of the first-moment average, in [0, 1).
    beta2 : float, default 0.999
        Decay of the infinity norm, in [0, 1).
    epsilon : float, default 1e-8
        Added to the denominator for numerical stability.
    max_grad_norm : float, optional
        If set, gradients are rescaled to a total L2 norm of at most this value.

    References
    ----------
    Kingma, D. P. and Ba, J. (2015). Adam: a method for stochastic optimization. ICLR; arXiv:1412.6980,
    Section 7.1.
    """

    kernel = staticmethod(adamax_kernel)
    settings = ("beta1", "beta2", "epsilon")
    counters = ("t",)
    slots = ("m", "u")

    def __init__(self, learning_rate=2e-3, beta1=0.9, beta2=0.999, epsilon=1e-8, max_grad_norm=None):
        super().__init__(learning_rate, max_grad_norm, beta1=_fraction("beta1", beta1),
                         beta2=_fraction("beta2", beta2), epsilon=_positive("epsilon", epsilon))


class AveragedAdam(Optimizer):
    r"""Adam with a step size that decays after ``decay_after`` steps and the mean of the iterates after
    ``average_after`` steps (Polyak-Ruppert averaging): the default of ``fit`` for a model with minibatches.

    .. math::
        \eta_t = \eta \min(1, t_d / t), \qquad
        p_t = \text{Adam}_{\eta_t}(p_{t-1}, g_t), \qquad
        \bar p = \frac{1}{t - t_a} \sum_{s = t_a + 1}^{t} p_s

    (t counts steps from 1, as Adam's bias correction.) A constant step size brings the parameters quickly
    near the optimum, where the noise of the minibatch gradients keeps them moving; the decay shrinks that
    motion and the average cancels what is left. ``finish`` (called by the fitting loop when a fit ends)
    writes :math:`\bar p` into the parameters; ``hist`` and callbacks see the iterates :math:`p_t`.

    Parameters
    ----------
    learning_rate : float or schedule, default 0.1
        The step size :math:`\eta` of the first ``decay_after`` steps.
    decay_after : int, default 5000
        :math:`t_d`: the step size is :math:`\eta t_d / t` after it.
    average_after : int, default 5000
        :math:`t_a`: the iterates after it are averaged.
    beta1, beta2, epsilon : float
        Adam's (see :class:`Adam`).
    max_grad_norm : float, optional
        If set, gradients are rescaled to a total L2 norm of at most this value.

    References
    ----------
    Polyak, B. T. and Juditsky, A. B. (1992). Acceleration of stochastic approximation by averaging. SIAM
    Journal on Control and Optimization, 30(4), 838-855.
    Dhaka, A. K., Catalina, A., Andersen, M. R., Magnusson, M., Huggins, J. H. and Vehtari, A. (2020).
    Robust, accurate stochastic optimization for variational inference. NeurIPS.
    Welandawe, M., Andersen, M. R., Vehtari, A. and Huggins, J. H. (2022). Robust, automated, and accurate
    black-box variational inference. arXiv:2203.15945.
    """

    kernel = staticmethod(averaged_adam_kernel)
    settings = ("beta1", "beta2", "epsilon", "decay_after", "average_after")
    counters = ("t", "averaged")
    slots = ("m", "v", "average")

    def __init__(self, learning_rate=0.1, decay_after=5000, average_after=5000, beta1=0.9, beta2=0.99,
                 epsilon=1e-8, max_grad_norm=None):
        super().__init__(learning_rate, max_grad_norm, decay_after=_count("decay_after", decay_after),
                         average_after=_count("average_after", average_after, minimum=0),
                         beta1=_fraction("beta1", beta1), beta2=_fraction("beta2", beta2),
                         epsilon=_positive("epsilon", epsilon))

    def finish(self, params, state):
        """params <- the average of the iterates after ``average_after``; a fit stopped before that step (a
        convergence callback, Ctrl-C) keeps its last iterate, with a warning: Adam's last iterate at a large
        step size is noisy."""
        views = self.unpack(state)
        if views["averaged"][0] > 0:
            params[:] = views["average"]
        elif views["t"][0] > 0:
            warnings.warn(f"the fit stopped at step {int(views['t'][0])}, before averaged_adam averages its "
                          f"iterates (from step {int(self.average_after) + 1}): the parameters are its last, noisy "
                          f"iterate. Let it run, or stop later", UserWarning, stacklevel=4)


# ---------------------------------------------------------------------------------------------
# Learning-rate schedules: eta_t of the step count t (0 at the first step)
# ---------------------------------------------------------------------------------------------

class _Decay:
    """A schedule eta_t = eta_0 r^e(t) with decay_steps k and decay_rate r (the exponent e in the subclass)."""

    def __init__(self, learning_rate, decay_steps, decay_rate):
        self.learning_rate = arguments.number(learning_rate, "learning_rate", minimum=0.0, strictly=True)
        self.decay_steps = arguments.integer(decay_steps, "decay_steps", minimum=1)
        self.decay_rate = arguments.number(decay_rate, "decay_rate", minimum=0.0)
        if self.decay_rate > 1.0:
            raise ValueError(f"decay_rate must be in [0, 1] (a decay), got {decay_rate!r}")

    def __call__(self, t):
        return self.learning_rate * self.decay_rate ** self.exponent(t)

    def _key(self):
        return type(self), self.learning_rate, self.decay_steps, self.decay_rate

    def __eq__(self, other):
        return isinstance(other, _Decay) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return (f"{type(self).__name__}(learning_rate={self.learning_rate!r}, decay_steps={self.decay_steps!r}, "
                f"decay_rate={self.decay_rate!r})")


class ExponentialDecay(_Decay):
    r"""Exponential decay of the learning rate, smooth in the step count t (optax's and Keras'
    ``exponential_decay`` without staircase).

    .. math:: \eta_t = \eta_0\, r^{t / k}

    Parameters
    ----------
    learning_rate : float > 0
        :math:`\eta_0`, the rate of the first step (t = 0).
    decay_steps : int >= 1
        :math:`k`: the rate is multiplied by r every k steps.
    decay_rate : float in [0, 1]
        :math:`r`.
    """

    def exponent(self, t):
        return t / self.decay_steps


class StepDecay(_Decay):
    r"""Step decay: the learning rate is constant for k steps at a time, then multiplied by r (PyTorch's
    ``StepLR``; optax's ``exponential_decay`` with ``staircase=True``).

    .. math:: \eta_t = \eta_0\, r^{\lfloor t / k \rfloor}

    Parameters
    ----------
    learning_rate : float > 0
        :math:`\eta_0`, the rate of steps 0 .. k - 1.
    decay_steps : int >= 1
        :math:`k`.
    decay_rate : float in [0, 1]
        :math:`r`; 0 stops the optimizer after the first k steps.
    """

    def exponent(self, t):
        return t // self.decay_steps


def exponential_decay(learning_rate, decay_steps, decay_rate):
    """An :class:`ExponentialDecay` schedule, for an optimizer's ``learning_rate``."""
    return ExponentialDecay(learning_rate, decay_steps, decay_rate)


def step_decay(learning_rate, decay_steps, decay_rate):
    """A :class:`StepDecay` schedule, for an optimizer's ``learning_rate``."""
    return StepDecay(learning_rate, decay_steps, decay_rate)


# ---------------------------------------------------------------------------------------------
# Factories, by PyMC3's names
# ---------------------------------------------------------------------------------------------

def sgd(learning_rate=1e-3, max_grad_norm=None):
    """An :class:`SGD` optimizer."""
    return SGD(learning_rate, max_grad_norm=max_grad_norm)


def momentum(learning_rate=1e-3, momentum=0.9, max_grad_norm=None):
    """A :class:`Momentum` optimizer."""
    return Momentum(learning_rate, momentum, max_grad_norm=max_grad_norm)


def nesterov_momentum(learning_rate=1e-3, momentum=0.9, max_grad_norm=None):
    """A :class:`NesterovMomentum` optimizer."""
    return NesterovMomentum(learning_rate, momentum, max_grad_norm=max_grad_norm)


def adagrad(learning_rate=1.0, epsilon=1e-6, max_grad_norm=None):
    """An :class:`Adagrad` optimizer."""
    return Adagrad(learning_rate, epsilon, max_grad_norm=max_grad_norm)


def adagrad_window(learning_rate=1e-3, epsilon=0.1, n_win=10, max_grad_norm=None):
    """An :class:`AdagradWindow` optimizer (the default of ``fit``)."""
    return AdagradWindow(learning_rate, epsilon, n_win, max_grad_norm=max_grad_norm)


def rmsprop(learning_rate=1.0, rho=0.9, epsilon=1e-6, max_grad_norm=None):
    """An :class:`RMSProp` optimizer."""
    return RMSProp(learning_rate, rho, epsilon, max_grad_norm=max_grad_norm)


def adadelta(learning_rate=1.0, rho=0.95, epsilon=1e-6, max_grad_norm=None):
    """An :class:`AdaDelta` optimizer."""
    return AdaDelta(learning_rate, rho, epsilon, max_grad_norm=max_grad_norm)


def adam(learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8, max_grad_norm=None):
    """An :class:`Adam` optimizer."""
    return Adam(learning_rate, beta1, beta2, epsilon, max_grad_norm=max_grad_norm)


def averaged_adam(learning_rate=0.1, steps=10_000, beta1=0.9, beta2=0.99, epsilon=1e-8, max_grad_norm=None):
    """An :class:`AveragedAdam` optimizer for a fit of ``steps`` steps: a constant step size for the first
    half, then eta t_d / t with the iterates of the second half averaged (the default of ``fit`` for a model
    with minibatches)."""
    half = _count("steps", steps) // 2
    return AveragedAdam(learning_rate, max(half, 1), half, beta1, beta2, epsilon, max_grad_norm=max_grad_norm)


def adamax(learning_rate=2e-3, beta1=0.9, beta2=0.999, epsilon=1e-8, max_grad_norm=None):
    """An :class:`Adamax` optimizer."""
    return Adamax(learning_rate, beta1, beta2, epsilon, max_grad_norm=max_grad_norm)
