"""Helpers for users' own code: ``check_gradient`` tests a hand-written gradient by finite differences.

For a :class:`~nbvi.CustomDist` the user writes an elementwise ``logp(value, *params)`` and its partial
derivatives ``logp_grad(value, *params)``. With ``S = sum(logp(value, *params))`` over all elements, the
partial with respect to element i of an argument a is checked against the central difference::

    dS/da_i ~ (S(a + h e_i) - S(a - h e_i)) / (2 h),   h = step * max(1, |a_i|),

whose error is O(h^2). The user's elementwise partial of an argument that broadcasts (one sigma for every
element) is summed over the axes it was broadcast along before comparing.
"""
import inspect

import numpy as np


def _names(logp, count):
    """The names of logp's arguments (``value, mu, sigma``), or value, param 0, param 1 ..."""
    try:
        names = [p.name for p in inspect.signature(logp).parameters.values()
                 if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        names = []
    if len(names) != count:
        names = ["value"] + [f"param {i}" for i in range(count - 1)]
    return names


def _sum_to(g, shape):
    """Sum ``g`` (the broadcast shape) down to an argument's ``shape``: the reverse of broadcasting."""
    g = np.asarray(g, dtype=np.float64)
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape) if axes else g.reshape(shape)


def check_gradient(logp, logp_grad, value, *params, rtol=1e-5, atol=1e-8, step=1e-6):
    """Check ``logp_grad`` against central finite differences of ``sum(logp(value, *params))``.

    Parameters
    ----------
    logp : callable
        ``logp(value, *params) -> array``, elementwise (numpy broadcasting), as for ``nbvi.CustomDist``.
    logp_grad : callable
        ``logp_grad(value, *params) -> tuple`` of 1 + len(params) elementwise partial derivatives.
    value, *params : array_like
        A point inside the support (each any shape; they must broadcast together).
    rtol, atol : float
        Each partial must satisfy ``|analytic - numeric| <= atol + rtol * |numeric|`` element by element.
    step : float
        Relative step h of the differences.

    Returns
    -------
    None

    Raises
    ------
    AssertionError
        Naming the first wrong partial (``d logp / d sigma``), the element, both numbers and the
        relative error.
    ValueError
        When logp is not finite at the point or logp_grad returns the wrong number of partials.
    """
    args = [np.array(a, dtype=np.float64) for a in (value, *params)]
    names = _names(logp, len(args))
    full = np.broadcast_shapes(*[a.shape for a in args])

    def total(arguments):
        return float(np.sum(np.broadcast_to(np.asarray(logp(*arguments), dtype=np.float64), full)))

    with np.errstate(invalid="ignore", divide="ignore"):  # (a point outside the support is named below)
        at_point = total(args)
    if not np.isfinite(at_point):
        raise ValueError("check_gradient: logp is not finite at the given point; choose one inside the support")
    grads = logp_grad(*args)
    if not isinstance(grads, (tuple, list)) or len(grads) != len(args):
        count = f"{len(grads)} arrays" if isinstance(grads, (tuple, list)) else type(grads).__name__
        raise ValueError(f"check_gradient: logp_grad must return a tuple of {len(args)} partial derivatives "
                         f"(d logp / d {', '.join(names)}), got {count}")
    for position, (arg, grad) in enumerate(zip(args, grads)):
        analytic = _sum_to(np.broadcast_to(np.asarray(grad, dtype=np.float64), full), arg.shape)
        numeric = np.empty(arg.shape)
        for i in np.ndindex(arg.shape):
            h = step * max(1.0, abs(float(arg[i])))
            up, down = [a.copy() for a in args], [a.copy() for a in args]
            up[position][i] += h
            down[position][i] -= h
            numeric[i] = (total(up) - total(down)) / (2.0 * h)
        error = np.abs(analytic - numeric)
        bad = error > atol + rtol * np.abs(numeric)
        if np.any(bad):
            first = tuple(int(j) for j in np.argwhere(bad)[0])
            relative = float(error[first] / max(abs(float(numeric[first])), atol))
            where = f" at index {first}" if arg.ndim else ""
            raise AssertionError(
                f"d logp / d {names[position]} (partial {position} of logp_grad) is wrong{where}: logp_grad gives "
                f"{float(analytic[first])!r}, central finite differences give {float(numeric[first])!r} "
                f"(relative error {relative:.3g}; {int(bad.sum())} of {bad.size} elements differ)")


__all__ = ["check_gradient"]
