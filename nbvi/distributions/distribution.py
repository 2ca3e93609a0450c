"""The Distribution base class and the graph op that evaluates a log-density term.

``nbvi.Normal("x", mu, sigma)`` inside a ``with nbvi.Model():`` block creates a distribution object and
registers a random variable with the model, which returns a :class:`~nbvi.model.RandomVariable` node.
``nbvi.Normal.dist(mu, sigma)`` creates the distribution alone (no model needed).

A family subclasses :class:`Distribution` and provides:

* ``params``: parameter names in order; ``__init__(self, ...)`` parses the user's arguments (aliases
  such as ``sd``) and calls ``self.set_params(name=value, ...)``;
* ``check(**values)``: validate parameters whose values are known (constants), raising ValueError;
* ``moment(**values)``: the initial point (mean, median or mode) for given parameter values;
* ``random(size, rng)`` via ``sample(rng, size, **values)``;
* ``support`` and ``default_transform()``;
* ``family``: the :class:`~nbvi.distributions.family.ScalarFamily` declaration of a scalar family, from
  which its elementwise kernel (``kernel``, see :mod:`nbvi.distributions.layout`) and the compiled
  interpreter's switch are generated; ``rows_kernel`` (a hand-written kernel for large observed data),
  optionally; or, for families whose values or parameters have core axes (vectors, matrices), overrides
  of ``logp_partials`` and ``logp_elementwise``.
"""
import numpy as np

from nbvi import arguments
from nbvi.distributions import layout
from nbvi.graph.evaluate import eval_node
from nbvi.graph.node import Constant, Node, as_node
from nbvi.graph.op import Op, broadcast_static


class Distribution:
    """Base class of probability distributions over float64 arrays.

    Attributes
    ----------
    params : tuple of str
    ndim_supp : int
        Number of trailing axes of one event (0 for scalar families, 1 for Dirichlet and MvNormal).
    ndims_params : tuple of int
        Number of core (event) axes of each parameter.
    support : str
        Human-readable support for messages ("real", "positive", "[0, 1]", "simplex", ...).
    discrete : bool
    observed_only : bool
        True for families that cannot be latent variables (the discrete ones).
    logp_is_zero : bool
        True when the log-density is 0 everywhere (Flat): a free variable of it adds no term to the model.
    """

    params = ()
    ndim_supp = 0
    ndims_params = ()
    support = "real"
    discrete = False
    observed_only = False
    logp_is_zero = False
    family = None
    rows_kernel = None

    @property
    def kernel(self):
        """The elementwise kernel generated from ``family``'s declaration (None without one)."""
        return None if self.family is None else self.family.kernel

    def __new__(cls, name, *args, shape=None, size=None, dims=None, observed=None, total_size=None,
                transform="default", model=None, initval=None, **kwargs):
        from nbvi.model import Model, modelcontext

        if not isinstance(name, str):
            raise TypeError(
                f"{cls.__name__}(...) inside a model takes the variable's name first, e.g. "
                f"{cls.__name__}('x', ...); use {cls.__name__}.dist(...) for a distribution without a model"
            )
        if model is None:
            model = Model.get_context(f"{cls.__name__} variable '{name}'")
        else:
            model = modelcontext(model)
        observed_shape = None
        if observed is not None:
            observed_shape = observed.shape if isinstance(observed, Node) else np.shape(observed)
        if shape is None and size is None and observed is not None:
            shape = observed_shape
            if 0 in shape and not isinstance(observed, Node):  # (Data may have no rows until set_value)
                raise ValueError(f"observed data of '{name}' is empty (shape {shape})")
        if dims is not None:  # PyMC's dims: the shape from the model's coords
            dims, dims_shape = model.shape_from_dims(dims, name, observed_shape)
            if shape is None and size is None:
                shape = dims_shape
        dist = cls.dist(*args, shape=shape, size=size, name=name, **kwargs)
        if dims is not None and dist.shape != dims_shape:
            raise ValueError(f"{cls.__name__} variable '{name}': dims {dims} give shape {dims_shape} (from the "
                             f"model's coords), but shape/size give {dist.shape}; give one of them, or make them agree")
        rv = model.register_rv(name, dist, observed=observed, total_size=total_size, transform=transform,
                               initval=initval)
        if dims is not None:
            model.named_vars_to_dims[name] = dims
        return rv

    def __reduce__(self):
        # pickling rebuilds the object from its state, not through __new__ (which registers a variable in the
        # model of the ``with`` block)
        return object.__new__, (type(self),), self.__dict__

    @classmethod
    def dist(cls, *args, shape=None, size=None, name=None, **kwargs):
        """Create the distribution without registering a variable.

        Parameters
        ----------
        *args, **kwargs
            The family's parameters (numbers, arrays or nodes).
        shape : int or tuple, optional
            Shape of the variable; by default the broadcast shape of the parameters.
        size : int or tuple, optional
            PyMC v5's batch shape: the shape without the event axes (the same as ``shape`` for scalar
            families). Given with ``shape``, the two must agree.
        name : str, optional
            Used in error messages.
        """
        dist = object.__new__(cls)
        dist.name = name
        dist._layouts = {}  # argument shapes -> KernelLayout
        dist.__init__(*args, **kwargs)
        dist._finish(shape, size)
        return dist

    # -- construction --------------------------------------------------------------------------------
    def set_params(self, **params):
        """Store the parameters as nodes, in the order of ``params``."""
        self.param_nodes = {}
        for key in self.params:
            value = params[key]
            if value is None:
                raise TypeError(f"{self.describe()}: parameter '{key}' is required")
            if not isinstance(value, Node):
                array = arguments.real_array(value, f"{self.describe()}: parameter '{key}'", booleans=False)
                array = array.astype(np.float64)
                if array.size == 0:
                    raise ValueError(f"{self.describe()}: parameter '{key}' is empty (shape {array.shape}); a "
                                     f"variable needs at least one element")
                if not np.all(np.isfinite(array)):
                    raise ValueError(f"{self.describe()}: parameter '{key}' contains NaN or inf")
                value = Constant(array)
            self.param_nodes[key] = value

    def describe(self):
        return f"{type(self).__name__} variable '{self.name}'" if self.name else type(self).__name__

    def event_shape(self):
        """Shape of one event (the trailing ``ndim_supp`` axes), from the parameters' static shapes."""
        return ()

    def batch_shapes(self):
        ndims = self.ndims_params or (0,) * len(self.params)
        return [node.shape[: node.ndim - k] if k else node.shape for node, k in zip(self.param_nodes.values(), ndims)]

    def _finish(self, shape, size=None):
        batch = broadcast_static(*self.batch_shapes(), what=f"parameters of {self.describe()}") if self.params else ()
        natural = tuple(batch) + tuple(self.event_shape())
        if size is not None:  # the batch shape: the event axes follow
            sizes = (size,) if np.ndim(size) == 0 else tuple(size)
            from_size = tuple(arguments.integer(n, f"{self.describe()}: size") for n in sizes) + tuple(self.event_shape())
            if shape is not None and ((shape,) if np.ndim(shape) == 0 else tuple(shape)) != from_size:
                raise ValueError(f"{self.describe()}: size {size!r} and shape {shape!r} disagree: size is the batch "
                                 f"shape, so the shape it gives is size + the event shape, {from_size}")
            shape = from_size
        if shape is None:
            self.shape = natural
        else:
            sizes = (shape,) if np.ndim(shape) == 0 else tuple(shape)
            self.shape = tuple(arguments.integer(n, f"{self.describe()}: shape") for n in sizes)
            try:
                fits = np.broadcast_shapes(natural, self.shape) == self.shape
            except ValueError:
                fits = False
            if not fits:
                raise ValueError(
                    f"{self.describe()}: shape {self.shape} does not fit the parameters, which broadcast to "
                    f"{natural} (parameter shapes: "
                    + ", ".join(f"{k} {n.shape}" for k, n in self.param_nodes.items())
                    + ")"
                )
        known = self.constant_values()
        if known is not None:
            try:
                self.check(**known)
            except ValueError as err:
                raise ValueError(f"{self.describe()}: {err}") from None

    def constant_values(self):
        """Parameter values when all are constants, else None."""
        if all(isinstance(n, Constant) for n in self.param_nodes.values()):
            return {k: n.data for k, n in self.param_nodes.items()}
        return None

    def check(self, **values):
        """Validate known parameter values; families override it. Raise ValueError with the reason."""

    def in_support(self, value):
        """A boolean array saying which elements of an observed ``value`` lie in the support, or None when
        the family has nothing to check beyond finite numbers; families with a bounded support override it."""
        return None

    def support_rule(self):
        """What the observed values must be, in words, added to the message of :meth:`check_observed`
        (e.g. "observed values must be integers in 0..n (n = 5)"); empty when the support says it all."""
        return ""

    def check_observed(self, value):
        """Raise ValueError naming the first element of an observed ``value`` outside the support."""
        value = np.asarray(value.eval() if isinstance(value, Node) else value, dtype=np.float64)
        inside = self.in_support(value)
        if inside is not None and not np.all(inside):
            inside = np.broadcast_to(inside, value.shape)
            first = tuple(int(i) for i in np.argwhere(~inside)[0])
            rule = self.support_rule()
            raise ValueError(f"observed value {float(value[first])} at index {first} is outside the support "
                             f"{self.support}{': ' + rule if rule else ''} "
                             f"({inside.size - np.count_nonzero(inside)} such values)")

    def check_observed_values(self, value):
        """:meth:`check_observed` of data that may have other sizes than the variable (all of a minibatch's
        rows, or a ``Data.set_value`` with new rows), where the parameters broadcast against it; data they
        do not broadcast against is left to the log-density."""
        value = np.asarray(value)
        batch = value.shape[:value.ndim - self.ndim_supp]
        try:
            np.broadcast_shapes(batch, *self.batch_shapes())
        except ValueError:
            return
        self.check_observed(value)

    # -- properties the model uses -------------------------------------------------------------------------
    def default_transform(self):
        """The transform to unconstrained space for a latent variable, or None for real support."""
        return None

    def param_values(self, replacements=None):
        """Evaluate the parameter nodes (with ``replacements``, node -> array)."""
        return {k: np.asarray(eval_node(n, replacements)) for k, n in self.param_nodes.items()}

    def initial_value(self, replacements=None):
        """Initial point of a latent variable, shape ``self.shape``."""
        moment = np.asarray(self.moment(**self.param_values(replacements)), dtype=np.float64)
        return np.array(np.broadcast_to(moment, self.shape))

    def random(self, size=None, rng=None):
        """Draw from the distribution with its current parameter values.

        Parameters
        ----------
        size : int or tuple, optional
            Leading axes of draws; the result has shape ``(*size, *self.shape)``.
        rng : numpy.random.Generator or int, optional

        Returns
        -------
        ndarray
        """
        rng = np.random.default_rng(rng)
        size = () if size is None else ((int(size),) if np.ndim(size) == 0 else tuple(size))
        values = self.param_values()
        return np.asarray(self.sample(rng, size + self.shape, **values))

    # -- log-density --------------------------------------------------------------------------------------
    def logp(self, value):
        """Log-density summed over all elements of ``value`` (a number, array or node), as a node."""
        terms = self.logp_terms(as_node(value))
        if len(terms) == 1:
            return terms[0]
        from nbvi.graph.ops import add_n

        return add_n(*terms)

    def logp_terms(self, value, scale=None):
        """The log-density terms of a variable of this family at ``value`` (a node): nodes (0-d) whose sum is
        log p(value), each a :class:`LogpTerm`. A family made of other families (GaussianRandomWalk: its
        initial value and its innovations) returns one per part; the model adds every term of every
        variable, which is what the compiled tape runs.

        ``scale`` is the observed variable's ``total_size`` factor (see :func:`nbvi.model.total_size_scale`).
        """
        return [LogpTerm(self, scale)(value, *self.param_nodes.values())]

    def logp_partials(self, values, needs):
        """Log-density per draw and its gradient with respect to each argument.

        Parameters
        ----------
        values : list of ndarray
            Batched value then parameters, each ``(D_i, *s_i)``.
        needs : list of bool
            Which gradients are wanted (others may be returned as None).

        Returns
        -------
        logp : ndarray (D,)
        partials : list of ndarray or None, each ``(D, *s_i)``: d logp[d] / d argument.
        """
        key = (tuple([v.shape for v in values]), needs[0])
        plan = self._layouts.get(key)
        if plan is None:
            plan = self._layouts[key] = layout.KernelLayout(list(key[0]), self.rows_kernel is not None and not needs[0])
        args = plan.to_kernel(values)
        if plan.rows:
            lp, *grads = self.rows_kernel(args[0], plan.all_rows, *args[1:])
            grads = [None] + grads
        else:
            lp, *grads = self.kernel(*args)
        return lp, plan.from_kernel(grads, needs)

    def logp_elementwise(self, value, **params):
        """The log-density of each element of ``value`` (of each event, for families with an event axis).

        What a pointwise log-likelihood (LOO, WAIC) needs: nothing is summed and no gradient is computed.

        Parameters
        ----------
        value : array_like ``(S, *shape)``
            Values with a leading draw axis, ``shape`` the variable's shape.
        **params : array_like ``(S_i, *s_i)``
            Each parameter by name, with a leading draw axis of length S or 1, ``s_i`` broadcasting with
            ``shape`` (as a graph Program evaluates them).

        Returns
        -------
        ndarray (S, *batch_shape)
            ``batch_shape`` is ``shape`` without the event axes (all of it for scalar families).
        """
        if self.family is None:
            raise TypeError(f"{self.describe()} has no elementwise log-density")
        args = scalar_columns([value] + [params[name] for name in self.params])
        return self.family.pointwise(*args[:-1]).reshape(args[-1])

    def reads_rows_in_place(self, value_node, param_nodes):
        """Whether a term of this family can read ``value_node`` in place: a Minibatch drawing only its rows,
        a family with a rows kernel, and parameters (the nodes the term reads) shared by all rows and of no
        higher rank than the value (checked on static shapes)."""
        from nbvi.data import Minibatch

        if self.rows_kernel is None or not isinstance(value_node, Minibatch) or not value_node.batches_rows_only():
            return False
        shapes = [(1,) + value_node.shape] + [(1,) + node.shape for node in param_nodes]
        return layout.KernelLayout(shapes, True, in_place=True).rows

    def logp_partials_in_place(self, minibatch, params, needs):
        """``logp_partials`` of a minibatch term, its rows read in place from the full data by the rows kernel.

        Parameters
        ----------
        minibatch : Minibatch
            One for which :meth:`reads_rows_in_place` holds.
        params : list of ndarray
            Batched parameter values ``(D_i, *s_i)``.
        needs : list of bool
            For the value (always False: the data has no gradient) then the parameters.
        """
        key = ("in place", minibatch.shape, *[p.shape for p in params])
        plan = self._layouts.get(key)
        if plan is None:
            shapes = [(1,) + minibatch.shape] + [p.shape for p in params]
            plan = self._layouts[key] = layout.KernelLayout(shapes, True, in_place=True)
        data, rows = minibatch.rows_in_place()
        args = plan.to_kernel([None, *params])
        lp, *grads = self.rows_kernel(data, rows, *args[1:])
        return lp, plan.from_kernel([None] + grads, needs)


class LogpTerm(Op):
    """A log-density term: ``sum(logp(value | params))`` per draw, node shape ``()``.

    Its gradient comes from the family's own kernels (see ``Distribution.logp_partials``), computed in the
    same pass as the value. ``scale`` multiplies the term (minibatch ``total_size`` scaling).
    """

    name = "logp"

    def __init__(self, dist, scale=None):
        self.dist = dist
        self.scale = scale
        self._factors = {}  # value shape -> total_size factor

    def infer(self, value, *params):
        return (), np.float64

    def in_place_inputs(self, input_nodes):
        """The value, when it is a minibatch the family's rows kernel reads in place (no gathered copy)."""
        return (0,) if self.dist.reads_rows_in_place(input_nodes[0], input_nodes[1:]) else ()

    def factor(self, value):
        """The total_size scale for a value of batched shape ``(D, *shape)`` (or the node read in place)."""
        if self.scale is None:
            return 1.0
        shape = value.shape if isinstance(value, Node) else value.shape[1:]
        factor = self._factors.get(shape)
        if factor is None:
            factor = self._factors[shape] = self.scale(shape)
        return factor

    def forward(self, value, *params):
        lp, _ = self.value_and_partials([value, *params], [False] * (1 + len(params)))
        return lp

    def value_and_partials(self, values, needs):
        if not isinstance(values[0], Node) and values[0].size == 0:  # data with no rows (yet): a term of 0
            draws = max(v.shape[0] for v in values)
            return np.zeros(draws), [np.zeros((draws,) + v.shape[1:]) if need else None
                                     for v, need in zip(values, needs)]
        if isinstance(values[0], Node):  # a minibatch read in place (see in_place_inputs)
            lp, partials = self.dist.logp_partials_in_place(values[0], values[1:], needs)
        else:
            lp, partials = self.dist.logp_partials(values, needs)
        c = self.factor(values[0])
        if c != 1.0:
            lp = lp * c
            partials = [p * c if p is not None else None for p in partials]
        return lp, partials

    def vjp(self, g, out, values, needs):
        from nbvi.graph.op import unbroadcast

        _, partials = self.value_and_partials(values, needs)
        return [
            unbroadcast(g.reshape((-1,) + (1,) * (p.ndim - 1)) * p, v.shape) if p is not None else None
            for p, v in zip(partials, values)
        ]


def scalar_columns(arrays):
    """Batched arrays ``(S_i, *s_i)`` of shapes that broadcast to ``(S, *B)``, laid out for a generated
    pointwise kernel: each as a contiguous float64 ``(S_i, 1)`` (one number per draw) or ``(S_i, n)``
    (n = prod(B), broadcast along the element axes only); the list ends with the result's shape (S, *B)."""
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    rank = max(a.ndim for a in arrays) - 1
    lifted = [a.reshape(a.shape[:1] + (1,) * (rank + 1 - a.ndim) + a.shape[1:]) for a in arrays]
    shape = tuple(np.broadcast_shapes(*[a.shape[1:] for a in lifted]))
    n = int(np.prod(shape, dtype=np.int64))
    columns = []
    for a in lifted:
        if a[0].size == 1:
            columns.append(np.ascontiguousarray(a.reshape(a.shape[0], 1)))
        else:
            columns.append(np.ascontiguousarray(np.broadcast_to(a, a.shape[:1] + shape)).reshape(a.shape[0], n))
    draws = max(a.shape[0] for a in lifted)
    return columns + [(draws,) + shape]


def made_with_dist(value, what, example="nbvi.Normal.dist(0, 10)"):
    """``value`` if it is a distribution made with ``Family.dist(...)`` (a model variable is a node, not one);
    TypeError naming ``what`` (e.g. "Mixture variable 'y': comp_dists[0]") otherwise."""
    if not isinstance(value, Distribution) or isinstance(value, Node):
        raise TypeError(f"{what} must be a distribution made with .dist(...), e.g. {example}, got "
                        f"{type(value).__name__}")
    return value


def positive_mean_and_sd(mu, sigma, family):
    """``mu`` and ``sigma`` of a positive family's mean-sd parametrisation: nodes as nodes, numbers as float
    arrays checked > 0 (ValueError naming ``family``)."""
    if isinstance(mu, Node) or isinstance(sigma, Node):
        return as_node(mu), as_node(sigma)
    mu, sigma = np.asarray(mu, dtype=np.float64), np.asarray(sigma, dtype=np.float64)
    require(mu > 0, f"{family}: mu must be > 0, got {mu}")
    require(sigma > 0, f"{family}: sigma must be > 0, got {sigma}")
    return mu, sigma


def resolve_sigma(sigma, sd, tau=None, default=None, family="Normal"):
    """The scale parameter from PyMC's aliases: ``sigma``, ``sd`` (old name) or precision ``tau``."""
    given = [x for x in (sigma, sd, tau) if x is not None]
    if len(given) > 1:
        raise ValueError(f"{family}: give only one of sigma, sd and tau")
    if tau is not None:
        if isinstance(tau, Node):
            return tau ** -0.5
        tau = np.asarray(tau, dtype=np.float64)
        if np.any(tau <= 0):
            raise ValueError(f"{family}: tau must be > 0, got {tau}")
        return tau ** -0.5
    if sigma is not None:
        return sigma
    if sd is not None:
        return sd
    return default


def require(condition, message):
    """Raise ValueError(message) unless every element of ``condition`` holds."""
    if not np.all(condition):
        raise ValueError(message)
