"""Approximations q(theta) over a model's flat unconstrained space: MeanField, FullRank and Empirical.

Every approximation keeps all its variational parameters in ONE flat float64 vector (``approx.params``),
so that an optimizer updates them with a single kernel call; ``shared_params`` gives named views into it
(``mu``, ``rho``; ``mu``, ``L_tril``; ``histogram``).

What an approximation offers a user:

* ``mean`` and ``std``: graph nodes in unconstrained space, ``approx.mean.eval()``;
* ``sample(draws)``: a :class:`~nbvi.trace.Trace` of constrained draws, deterministics included;
* ``sample_node(node, size=None, more_replacements=None)``: ``node`` with the model's free variables
  replaced by draws from q, drawn afresh at every ``.eval()``.
"""
import math

import numpy as np
from numba import njit

from nbvi import arguments
from nbvi.graph.clone import clone
from nbvi.graph.evaluate import Program
from nbvi.graph.node import Leaf, Node
from nbvi.model import pymc_name
from nbvi.trace import Trace

HALF_LOG_2PI_E = 0.5 * (1.0 + math.log(2.0 * math.pi))  # entropy of N(0, 1)


@njit(cache=True)
def softplus(x):
    """log(1 + e^x) elementwise, stable for large |x|; a new array."""
    out = np.empty_like(x)
    for i in range(x.size):
        v = x[i]
        out[i] = v + math.log1p(math.exp(-v)) if v > 0 else math.log1p(math.exp(v))
    return out


def softplus_inverse(sigma):
    """rho with softplus(rho) = sigma > 0: log(e^sigma - 1) = sigma + log(1 - e^-sigma), stable for any sigma."""
    return sigma + np.log(-np.expm1(-sigma))


class ParamView(Leaf):
    """A leaf whose value is computed from an approximation's current parameters (``approx.mean`` ...).

    ``eval()`` without replacements skips graph planning, so ``Tracker(mean=approx.mean.eval)`` costs
    about a microsecond per step.
    """

    def __init__(self, shape, compute, name):
        super().__init__(shape, np.float64, name=name)
        self.compute = compute

    def value(self):
        return self.compute()[None]

    def eval(self, replacements=None):
        if replacements:
            return super().eval(replacements)
        return self.compute()

    def __call__(self):
        """The value, as :meth:`eval`: ``approx.cov()`` (nbvi's) and ``approx.cov.eval()`` (PyMC's) alike."""
        return self.compute()


class SampledNode(Leaf):
    """``node`` evaluated at fresh draws from an approximation each time its value is asked for.

    Static shape: ``(size, *node.shape)`` with ``size``, else ``node.shape``.
    """

    def __init__(self, approx, node, size=None):
        shape = ((int(size),) if size is not None else ()) + node.shape
        super().__init__(shape, node.dtype, name=f"sample_node({node.name or node.op or 'node'})")
        self.approx = approx
        self.node = node
        self.n_draws = size
        model = approx.model
        swaps = {rv: rv.observed for rv in model.observed_RVs if not isinstance(rv.observed, Leaf)}
        self.program = Program([node], list(model.free_RVs), swaps)

    def value(self):
        draws = 1 if self.n_draws is None else int(self.n_draws)
        xs = self.approx.constrained_draws(draws)
        (out,) = self.program.run(xs)
        if out.shape[0] != draws:
            out = np.broadcast_to(out, (draws,) + out.shape[1:])
        return out if self.n_draws is None else out[None]


class Approximation:
    """Base class: a distribution q over the flat unconstrained space of ``model``.

    Parameters
    ----------
    model : Model
    params : dict
        name -> initial array; laid out one after another in ``self.params``.
    random_seed : int or None
        Seeds the generator used by ``sample``, ``sample_node`` and, unless the inference has its own,
        the noise of each fitting step.
    """

    def __init__(self, model, params, random_seed=None):
        self.model = model
        self.ndim = model.ndim
        sizes = [np.asarray(v).size for v in params.values()]
        self.params = np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in params.values()])
        self.shared_params = {}
        start = 0
        for (name, value), size in zip(params.items(), sizes):
            self.shared_params[name] = self.params[start:start + size].reshape(np.shape(value))
            start += size
        self.rng = np.random.default_rng(random_seed)
        self.hist = np.empty(0)
        self.khat = None  # the Pareto k-hat of the last deterministic fit's q (nbvi.psis_diagnostic), if any
        self.mean = ParamView((self.ndim,), self.mean_array, "mean")
        self.std = ParamView((self.ndim,), self.std_array, "std")
        if hasattr(self, "cov_array"):  # the Gaussians' covariance, (ndim, ndim)
            self.cov = ParamView((self.ndim, self.ndim), self.cov_array, "cov")

    # -- drawing ------------------------------------------------------------------------------------------
    def constrained_draws(self, draws, rng=None):
        """Constrained values of each free variable at ``draws`` points drawn from q, as a list."""
        theta = self.draw(draws, self.rng if rng is None else rng)
        return self.model.constrained_values(theta)

    def sample(self, draws=500, random_seed=None, psis=False, return_inferencedata=False, idata_kwargs=None,
               include_transformed=False):
        """Draw from q and map to the model's variables.

        Parameters
        ----------
        draws : int
        random_seed : int, optional
            A fresh generator for these draws; by default the approximation's own generator.
        psis : bool
            Resample ``draws`` points from max(4 draws, 1000) draws of q by their Pareto-smoothed importance
            weights p / q (systematic resampling; ``nbvi.variational.psis.psis_resample``), which moves them
            toward the posterior; a ``PSISWarning`` when k-hat > 0.7. MeanField and FullRank only.
        return_inferencedata : bool
            Return an ``arviz.InferenceData`` whose posterior holds the draws as one chain (see
            :meth:`~nbvi.trace.Trace.to_inference_data`). Needs arviz.
        idata_kwargs : dict, optional
            ``log_likelihood``, ``coords`` and ``dims`` for the InferenceData, as for ``nbvi.sample``.
        include_transformed : bool
            Also the unconstrained draws of each transformed variable, under PyMC's name ``<name>_<transform>__``
            (``sigma_log__``), as ``find_MAP`` reports them.

        Returns
        -------
        Trace with every free variable and deterministic, draws on the leading axis, or InferenceData.
        """
        from nbvi.inference_data import idata_request

        draws = arguments.integer(draws, "draws", minimum=1)
        idata_kwargs = idata_request(return_inferencedata, idata_kwargs)
        rng = self.rng if random_seed is None else np.random.default_rng(arguments.seed(random_seed))
        include_transformed = arguments.flag(include_transformed, "include_transformed")
        if arguments.flag(psis, "psis"):
            from nbvi.variational.psis import psis_resample  # psis imports this module

            theta = psis_resample(self, draws, rng)
        else:
            theta = self.draw(draws, rng)
        values = self.model.unravel(theta)
        if include_transformed:
            for rv, where, shape in getattr(self.model, "variable_layout", list)():
                if rv.transform is not None:
                    values[pymc_name(rv)] = theta[:, where].reshape((draws,) + tuple(shape))
        trace = Trace(values)
        return trace if idata_kwargs is None else trace.to_inference_data(model=self.model, **idata_kwargs)

    def sample_node(self, node, size=None, more_replacements=None):
        """``node`` with the model's free variables replaced by fresh draws from q at every ``.eval()``.

        Parameters
        ----------
        node : Node
        size : int, optional
            Number of draws; they become the leading axis of the result.
        more_replacements : dict, optional
            Further replacements (e.g. ``{X_data: X_test}``) applied to ``node`` first.

        Returns
        -------
        Node
        """
        if not isinstance(node, Node):
            raise TypeError(f"sample_node needs a graph node, got {type(node).__name__}")
        if size is not None:
            size = arguments.integer(size, "size", minimum=1)
        if more_replacements is not None:
            if not isinstance(more_replacements, dict):
                raise TypeError(f"more_replacements must be a dict {{node: replacement}}, got "
                                f"{type(more_replacements).__name__}")
            reachable = _ancestors(node)
            for key, value in more_replacements.items():
                if not isinstance(key, Node):
                    raise TypeError(f"more_replacements: the key {key!r} must be a graph node (e.g. the Data to "
                                    f"replace), not {type(key).__name__}")
                if id(key) not in reachable:
                    raise ValueError(f"more_replacements: {key!r} is not in the graph of the node to sample")
                _check_replacement(key, value)
            if more_replacements:
                node = clone(node, more_replacements)
        return SampledNode(self, node, size)

    def variables_with_bad_params(self):
        """Names of free variables whose variational parameters are not all finite."""
        return [name for name, values in self.per_variable(self.params).items() if not np.all(np.isfinite(values))]

    def per_variable(self, flat):
        """Split an array laid out like ``params`` (e.g. a change of the parameters) by free variable:
        {name: 1-d array of the entries that belong to it}."""
        views, start = {}, 0
        for name, param in self.shared_params.items():
            views[name] = flat[start:start + param.size].reshape(param.shape)
            start += param.size
        layout = self.model.variable_layout()
        return {rv.name: np.concatenate([np.ravel(self.param_slice(name, where, views[name])) for name in views])
                for rv, where, _ in layout}

    def param_slice(self, name, where, values=None):
        """The part of parameter ``name`` (or of ``values``, shaped like it) that belongs to the variable at
        ``where`` of theta."""
        values = self.shared_params[name] if values is None else values
        return values[..., where] if values.ndim else values

    def __repr__(self):
        return f"<{type(self).__name__} over {self.ndim} unconstrained dimensions>"


class MeanField(Approximation):
    """Independent Gaussians: theta = mu + softplus(rho) * eps, eps ~ N(0, I).

    ``mu`` starts at the model's initial point (or ``start``) and ``rho`` at 0, so each std starts at
    log 2 (Kucukelbir et al. 2017, "Automatic Differentiation Variational Inference", sec. 2.5).
    """

    def __init__(self, model, start=None, random_seed=None):
        mu = model.initial_point_flat() if start is None else _flat_start(model, start)
        super().__init__(model, {"mu": mu, "rho": np.zeros(model.ndim)}, random_seed)

    def mean_array(self):
        return self.shared_params["mu"].copy()

    def std_array(self):
        return softplus(self.shared_params["rho"])

    def draw(self, draws, rng):
        eps = rng.standard_normal((draws, self.ndim))
        return self.shared_params["mu"] + self.std_array() * eps

    def entropy(self):
        """H[q] = sum_i log sigma_i + ndim (1 + log 2 pi) / 2."""
        return float(np.sum(np.log(self.std_array()))) + self.ndim * HALF_LOG_2PI_E

    def logq(self, theta):
        """log q(theta) for theta (D, ndim) -> (D,)."""
        sigma = self.std_array()
        z = (np.atleast_2d(theta) - self.shared_params["mu"]) / sigma
        return -0.5 * np.sum(z * z, axis=1) - np.sum(np.log(sigma)) - 0.5 * self.ndim * math.log(2 * math.pi)


class FullRank(Approximation):
    """A correlated Gaussian: theta = mu + L eps with L lower triangular, packed row-major in ``L_tril``.

    The diagonal of L is kept positive: the diagonal entries of ``L_tril`` are lambda_i, with
    L_ii = softplus(lambda_i) (as mean-field's rho); the others are L's own entries. ``mu`` starts at the
    initial point and L at the identity. :meth:`L` unpacks L; :meth:`set_L` packs one.
    """

    def __init__(self, model, start=None, random_seed=None):
        ndim = model.ndim
        mu = model.initial_point_flat() if start is None else _flat_start(model, start)
        rows, cols = np.tril_indices(ndim)  # the packed lower triangle, row-major
        packed = np.where(rows == cols, softplus_inverse(1.0), 0.0)
        super().__init__(model, {"mu": mu, "L_tril": packed}, random_seed)
        self.rows, self.cols = rows, cols

    def L(self):
        """The lower-triangular factor, (ndim, ndim), with its positive diagonal."""
        out = np.zeros((self.ndim, self.ndim))
        packed = self.shared_params["L_tril"]
        out[self.rows, self.cols] = np.where(self.rows == self.cols, softplus(packed), packed)
        return out

    def set_L(self, L):
        """Set q's factor to the lower triangle of ``L`` (ndim, ndim), whose diagonal must be positive
        (ValueError otherwise, and nothing is changed)."""
        L = np.asarray(L, dtype=np.float64)
        if L.shape != (self.ndim, self.ndim):
            raise ValueError(f"L must have shape ({self.ndim}, {self.ndim}), got {L.shape}")
        diagonal = np.diag(L)
        if not np.all(diagonal > 0.0):
            raise ValueError(f"the diagonal of L must be positive, got {diagonal}")
        packed = L[self.rows, self.cols]
        diagonal = self.rows == self.cols
        packed[diagonal] = softplus_inverse(packed[diagonal])
        self.shared_params["L_tril"][:] = packed

    def cov_array(self):
        """L L^T, (ndim, ndim) (``approx.cov()`` or ``approx.cov.eval()``)."""
        L = self.L()
        return L @ L.T

    def mean_array(self):
        return self.shared_params["mu"].copy()

    def std_array(self):
        return np.sqrt(np.einsum("ij,ij->i", self.L(), self.L()))

    def draw(self, draws, rng):
        eps = rng.standard_normal((draws, self.ndim))
        return self.shared_params["mu"] + eps @ self.L().T

    def entropy(self):
        """``H[q] = sum_i log L_ii + ndim (1 + log 2 pi) / 2``."""
        return float(np.sum(np.log(np.diag(self.L())))) + self.ndim * HALF_LOG_2PI_E

    def logq(self, theta):
        """log q(theta) for theta (D, ndim) -> (D,)."""
        L = self.L()
        z = np.linalg.solve(L, (np.atleast_2d(theta) - self.shared_params["mu"]).T).T
        return -0.5 * np.sum(z * z, axis=1) - np.sum(np.log(np.diag(L))) - 0.5 * self.ndim * math.log(2 * math.pi)

    def param_slice(self, name, where, values=None):
        if name == "L_tril":
            values = self.shared_params[name] if values is None else values
            return values[np.isin(self.rows, np.arange(self.ndim)[where])]  # the rows of L of this variable
        return super().param_slice(name, where, values)


class Empirical(Approximation):
    """A set of particles, (n_particles, ndim) in ``histogram`` (SVGD moves them).

    ``sample`` and ``sample_node`` draw particles uniformly at random with replacement, as PyMC3 does.
    """

    def __init__(self, model, particles, random_seed=None):
        particles = arguments.real_array(particles, "particles").astype(np.float64)
        if particles.ndim != 2 or particles.shape[1] != model.ndim or not len(particles):
            raise ValueError(f"particles must have shape (n, {model.ndim}) with n >= 1, got {particles.shape}")
        if not np.all(np.isfinite(particles)):
            raise ValueError("particles contain NaN or inf")
        super().__init__(model, {"histogram": particles}, random_seed)

    @property
    def histogram(self):
        return self.shared_params["histogram"]

    def mean_array(self):
        return self.histogram.mean(axis=0)

    def std_array(self):
        return self.histogram.std(axis=0)

    def draw(self, draws, rng):
        return self.histogram[rng.integers(0, len(self.histogram), size=draws)]

    def kde_bandwidth(self):
        """Per-dimension bandwidth of the Gaussian kernel density estimate (Scott's rule): (ndim,)."""
        n = len(self.histogram)
        spread = self.histogram.std(axis=0, ddof=1) if n > 1 else np.ones(self.ndim)
        spread = np.where(spread > 0, spread, 1.0)
        return spread * n ** (-1.0 / (self.ndim + 4))

    def logq(self, theta):
        """log q(theta) for theta (D, ndim) -> (D,), q being the particles' Gaussian kernel density estimate.

        A set of particles has no density of its own; this is the density most users mean by it: the
        average of N(theta | particle, diag(bw^2)) over the particles, with Scott's bandwidth bw.
        """
        bw = self.kde_bandwidth()
        z = (np.atleast_2d(theta)[:, None, :] - self.histogram[None]) / bw  # (D, n, ndim)
        log_kernels = -0.5 * np.sum(z * z, axis=2) - np.sum(np.log(bw)) - 0.5 * self.ndim * math.log(2 * math.pi)
        top = log_kernels.max(axis=1, keepdims=True)
        return (top + np.log(np.mean(np.exp(log_kernels - top), axis=1, keepdims=True)))[:, 0]

    def entropy(self):
        """H[q] estimated as -mean log q(particle) under the kernel density estimate (see ``logq``)."""
        return -float(np.mean(self.logq(self.histogram)))


def _flat_start(model, start):
    """``start`` as a new flat unconstrained point (ndim,) of finite real numbers, else an error naming it."""
    flat = arguments.real_array(start, "start (a flat unconstrained point)").astype(np.float64).copy()
    if flat.shape != (model.ndim,):
        raise ValueError(f"start must have shape ({model.ndim},) (the model's unconstrained dimensions), got "
                         f"{flat.shape}")
    if not np.all(np.isfinite(flat)):
        raise ValueError(f"start contains NaN or inf at positions {np.flatnonzero(~np.isfinite(flat)).tolist()}")
    return flat


def _check_replacement(key, value):
    """Refuse a replacement for ``key`` that is not real numbers (or a node), holds NaN or inf, or has
    another rank or other sizes past the first axis (only the number of rows may change, as in
    ``Data.set_value``)."""
    what = f"more_replacements: the value for {key!r}"
    shape = value.shape if isinstance(value, Node) else None
    if shape is None:
        array = arguments.real_array(value, what)
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{what} contains NaN or inf")
        shape = array.shape
    if len(shape) != len(key.shape) or shape[1:] != key.shape[1:]:
        raise ValueError(f"{what} has shape {shape}; it must have the rank and the sizes past the first axis of "
                         f"the node it replaces, {key.shape} (only the number of rows may change)")


def _ancestors(node):
    """ids of ``node`` and of every node it is computed from (an observed variable's data and a minibatch's
    array included)."""
    seen, stack = set(), [node]
    while stack:
        current = stack.pop()
        if id(current) not in seen:
            seen.add(id(current))
            stack.extend(current.inputs)
            stack.extend(x for x in (getattr(current, "observed", None), getattr(current, "shared", None))
                         if isinstance(x, Node))
    return seen
