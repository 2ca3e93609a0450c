"""The Model: registers random variables and turns them into one joint log-density with its gradient.

Inference algorithms see a model only through a small contract (see ARCHITECTURE.md)::

    model.ndim                     size of the flat unconstrained parameter vector
    model.initial_point_flat()     (ndim,)
    model.logp_dlogp(theta)        theta (D, ndim) -> logp (D,), grad (D, ndim), log-Jacobians included
    model.unravel(theta)           theta (D, ndim) -> {name: constrained draws (D, *shape)}

A free variable with a transform lives in unconstrained space u; its constrained value is
x = T^{-1}(u) and the density in u is p(x) |dx/du|, so

    log p(u) = log p(x(u)) + log|det dx/du|,
    d log p(u)/du = (dx/du)^T d log p/dx + d log|det dx/du| / du.
"""
import threading
import warnings
import weakref

import numpy as np

from nbvi import arguments
from nbvi.data import Data, Minibatch, depends_on_minibatch
from nbvi.graph.evaluate import Program, eval_node
from nbvi.graph.node import Constant, Leaf, Node
from nbvi.graph.ops import add_n, reshape
from nbvi.transforms import Transform

_context = threading.local()


class NotCompiledWarning(UserWarning):
    """A model's log-density runs on the slow graph walk (see ``nbvi.explain``)."""


# The compiled densities that ``Model.logp_dlogp`` tries before walking the graph, fastest first. Each is a
# function of a model returning a density (``logp_dlogp(theta)``, ``is_current()``) or a false refusal
# (``reason``, ``expected``, ``is_current()``). nbvi.compiled registers the fused kernel's and the tape's
# when nbvi is imported, so this module imports neither: the model knows only the contract.
DENSITY_BUILDERS = []


def register_density(build):
    """Add ``build`` (model -> density or a false refusal) to the compiled densities models try, last."""
    DENSITY_BUILDERS.append(build)


class NoCompiledDensity:
    """False: no compiled density takes the model. ``reason`` is the last refusal's (the most general
    path's); it stays current while the data every refusal looked at is unchanged (after a ``set_value``
    the model may fit: ask again)."""

    def __init__(self, refusals):
        self.refusals = refusals
        self.reason = refusals[-1].reason if refusals else "no compiled density is registered"
        self.expected = bool(refusals) and refusals[-1].expected

    def __bool__(self):
        return False

    def is_current(self):
        return all(refusal.is_current() for refusal in self.refusals)


class RandomVariable(Leaf):
    """A model variable: free (its value comes from the inference algorithm) or observed (its value is data).

    Attributes
    ----------
    name : str
    dist : Distribution
    observed : Node or None
    transform : Transform or None
    total_size : int, tuple or None
    initval : ndarray of shape ``shape`` or None
        The initial (constrained) value given with ``initval=``; None: the family's moment.
    """

    initval = None

    def __init__(self, name, dist, model, observed=None, transform=None, total_size=None):
        super().__init__(dist.shape, np.float64, name=name)
        self.dist = dist
        self.model = model
        self.observed = observed
        self.transform = transform
        self.total_size = total_size

    def value(self):
        if isinstance(self.observed, Leaf):
            return self.observed.value()
        return None

    def has_value(self):
        return isinstance(self.observed, Leaf) and self.observed.has_value()

    def random(self, size=None, rng=None):
        """Draws from this variable's distribution (parameters must not depend on free variables).

        Parameters
        ----------
        size : int or tuple, optional
            Leading axes of draws; the result has shape ``(*size, *self.shape)``.
        rng : numpy.random.Generator or int, optional

        Raises
        ------
        ValueError
            When a parameter reads a free variable, which has no value of its own: draw the variables
            together with ``nbvi.sample_prior_predictive``.
        """
        from nbvi.predictive import free_parents

        parents = free_parents(list(self.dist.param_nodes.values()))
        if parents:
            raise ValueError(
                f"'{self.name}'.random(): its parameters depend on the free variable(s) {parents}, which have no "
                f"value to draw from; draw them all together with nbvi.sample_prior_predictive(draws, "
                f"var_names=['{self.name}']) inside the model's `with` block")
        return self.dist.random(size=size, rng=rng)


def total_size_scale(total_size, name, shape, batched=None):
    """A function of the observed value's shape giving the factor total / batch that scales its log-density.

    ``total_size`` is an int (the number of rows of the full data) or a tuple of ints and None (no
    scaling along that axis), which may contain one Ellipsis: entries before it match leading axes,
    entries after it trailing axes (PyMC3's Minibatch convention). ``batched``, for an observed Minibatch,
    maps each axis it draws at random to the data's length there: those axes need a size, the others none
    or their own length.
    """
    if total_size is None:
        return None
    if total_size is Ellipsis:
        spec = (Ellipsis,)  # every axis as it is: no scaling
    elif np.ndim(total_size) == 0:
        spec = (total_size,)
    else:
        spec = tuple(total_size)
    if sum(s is Ellipsis for s in spec) > 1:
        raise ValueError(f"total_size of '{name}' may contain at most one Ellipsis, got {total_size}")
    if Ellipsis in spec:
        k = spec.index(Ellipsis)
        head, tail = spec[:k], spec[k + 1:]
    else:
        head, tail = spec, ()
    if len(head) + len(tail) > len(shape):
        raise ValueError(
            f"total_size {total_size} of '{name}' has {len(head) + len(tail)} entries but the observed "
            f"value has {len(shape)} axes (shape {shape})"
        )
    what = f"total_size {total_size!r} of '{name}': each entry"
    head = tuple(None if s is None else arguments.integer(s, what, minimum=1) for s in head)
    tail = tuple(None if s is None else arguments.integer(s, what, minimum=1) for s in tail)
    axes = [(i, s) for i, s in enumerate(head) if s is not None]
    axes += [(len(shape) - len(tail) + i, s) for i, s in enumerate(tail) if s is not None]
    for axis, total in axes:
        if total < shape[axis]:
            raise ValueError(
                f"total_size {total_size} of '{name}' is smaller than the observed value along axis {axis} "
                f"({shape[axis]} of shape {shape}): total_size is the size of the full data, which the "
                f"batch is drawn from"
            )
    if batched is not None:
        _check_batched_axes(total_size, name, shape, dict(axes), batched)

    def scale(value_shape):
        factor = 1.0
        for axis, total in axes:
            factor *= total / value_shape[axis]
        return factor

    return scale


def _checked_initval(rv, initval, what=None):
    """``initval`` of the free variable ``rv`` as a float64 array of its shape, or None (the family's moment).
    ``what`` names it in errors (default: "initval of '<name>'").

    PyMC's ``initval="support_point"`` (or ``"moment"``) is the default, None. A value must broadcast to the
    variable's shape and lie inside its support: the family's own check, and a round trip through the
    variable's transform (a value outside the support has no unconstrained image)."""
    if initval is None or (isinstance(initval, str) and initval in ("support_point", "moment")):
        return None
    what = what or f"initval of '{rv.name}'"
    if isinstance(initval, str):
        raise ValueError(f"{what} must be numbers, None or \"support_point\", got {initval!r}")
    if isinstance(initval, Node):
        raise TypeError(f"{what} must be numbers, not a graph node (evaluate it first with .eval())")
    value = arguments.real_array(initval, what).astype(np.float64)
    try:
        value = np.array(np.broadcast_to(value, rv.shape))
    except ValueError:
        raise ValueError(f"{what} has shape {value.shape}, which does not broadcast to the variable's shape "
                         f"{rv.shape}") from None
    if not np.all(np.isfinite(value)):
        raise ValueError(f"{what} contains NaN or inf")
    inside = rv.dist.in_support(value)
    if inside is not None and not np.all(inside):
        first = tuple(int(i) for i in np.argwhere(~np.broadcast_to(inside, value.shape))[0])
        raise ValueError(f"{what}: {float(value[first])} at index {first} is outside the support {rv.dist.support} "
                         f"of {rv.dist.describe()}")
    if rv.transform is not None:
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            u = np.asarray(rv.transform.forward(value[None]))
            back = np.asarray(rv.transform.backward(u)) if np.all(np.isfinite(u)) else None
        if back is None or not np.allclose(back[0], value, rtol=1e-6, atol=1e-12):
            raise ValueError(f"{what} lies outside the support {rv.dist.support} of {rv.dist.describe()} (got "
                             f"{value.tolist()}): its {type(rv.transform).__name__} has no unconstrained image of it")
    return value


def _check_batched_axes(total_size, name, shape, totals, batched):
    """Refuse a total_size of an observed Minibatch that leaves an axis it draws at random unscaled, or that
    scales an axis it holds whole (by a size other than that axis's length)."""
    for axis, size in enumerate(shape):
        total = totals.get(axis)
        if axis in batched and total is None:
            raise ValueError(
                f"total_size {total_size!r} of '{name}' gives no size for axis {axis}, which its minibatch draws "
                f"at random ({size} of {batched[axis]} entries): give the full data's length there "
                f"(e.g. total_size=data.shape)")
        if axis not in batched and total is not None and total != size:
            raise ValueError(
                f"total_size {total_size!r} of '{name}' gives {total} for axis {axis}, which its minibatch does "
                f"not batch (it holds all {size} entries there): give {size} or None for that axis")


def _coord_values(name, values):
    """The values of coord ``name`` as a tuple; TypeError or ValueError for something that is not 1-d."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"a coord name must be a non-empty string, got {name!r}")
    if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__iter__"):
        raise TypeError(f"coord '{name}': values must be a sequence (a list, tuple, range or 1-d array), "
                        f"got {values!r}")
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise ValueError(f"coord '{name}': values must be 1-d, got an array of shape {values.shape}")
        values = values.tolist()
    return tuple(values)


class Model:
    """A container of random variables, used as a context manager::

        with nbvi.Model() as model:
            x = nbvi.Normal("x", 0.0, 1.0)

    Attributes
    ----------
    free_RVs, observed_RVs, deterministics : list
    potentials : list
        Expressions whose sums add to the log-density (``nbvi.Potential``).
    named_vars : dict name -> node
        Variables, deterministics and the named Data created inside the model (``model["name"]``).
    coords : dict name -> tuple
        The values along each named dimension (PyMC's ``coords``); ``dims=`` of a variable or Data reads them.
    named_vars_to_dims : dict name -> tuple of str
        The dims of every variable and Data created with ``dims=``.

    Parameters
    ----------
    name : str
    coords : dict name -> values, optional
        E.g. ``{"county": names, "obs_id": range(n)}``; see :meth:`add_coord`.
    """

    def __init__(self, name="", coords=None):
        if not isinstance(name, str):
            raise TypeError(f"Model name must be a string, got {name!r}")
        self.name = name
        self.free_RVs = []
        self.observed_RVs = []
        self.deterministics = []
        self.potentials = []  # expressions whose sum adds to the log-density (nbvi.Potential)
        self.named_vars = {}
        self.coords = {}
        self.named_vars_to_dims = {}
        self._index_dims = set()  # dims whose values a Data or observed variable made up as 0..n-1
        if coords is not None:
            if not isinstance(coords, dict):
                raise TypeError(f"Model coords must be a dict name -> values, got {type(coords).__name__}")
            for dim, values in coords.items():
                self.add_coord(dim, values)
        self._plan = None
        self._density = None  # the compiled density logp_dlogp runs, a false NoCompiledDensity, None before

    # -- pickling ---------------------------------------------------------------------------------------
    def __getstate__(self):
        state = self.__dict__.copy()
        # the plan and the compiled density are made again at the first call: a compiled density holds
        # addresses of compiled code valid in this process only
        state["_plan"] = state["_density"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        for rv in self.observed_RVs:  # a copy's Data checks new values against the copy's variables again
            storage = rv.observed.shared if isinstance(rv.observed, Minibatch) else rv.observed
            if isinstance(storage, Data):
                storage._readers.append(weakref.ref(rv))

    # -- context ----------------------------------------------------------------------------------------
    def __enter__(self):
        stack = getattr(_context, "stack", None)
        if stack is None:
            stack = _context.stack = []
        if stack and stack[-1] is not self and self.name:
            # PyMC makes a named model entered inside another a submodel, whose variables join the outer model
            # as "inner::name"; here they would silently be left out of the outer model's density. (An unnamed
            # model entered inside another is a model of its own, e.g. one a helper function builds.)
            raise TypeError(
                f"model {self.name!r} is entered inside the `with` block of another model: nbvi has no nested "
                f"models (submodels). Create the variables in the outer model, with prefixed names (e.g. "
                f"'{self.name}::y') if you want them"
            )
        stack.append(self)
        return self

    def __exit__(self, *exc):
        _context.stack.pop()

    @staticmethod
    def get_context(what="this"):
        """The innermost model of the ``with`` blocks in force, for creating ``what`` in it; TypeError when
        there is none."""
        stack = getattr(_context, "stack", None)
        if not stack:
            raise TypeError(
                f"{what} was created outside a model: create variables inside `with nbvi.Model():` (or pass "
                f"model=...), or use Family.dist(...) for a distribution without a variable"
            )
        return stack[-1]

    def __getitem__(self, name):
        return self.named_vars[name]

    # -- coords and dims --------------------------------------------------------------------------------
    def add_coord(self, name, values):
        """Add a named dimension and its values (PyMC's ``model.add_coord``).

        Parameters
        ----------
        name : str
        values : sequence
            One value per position along the dimension (names, years, ``range(n)`` ...); kept as a tuple.
            Adding a coord the model has with the same values does nothing; other values are refused.
        """
        values = _coord_values(name, values)
        if name in self.coords and self.coords[name] != values:
            raise ValueError(f"the model already has a coord '{name}' with other values "
                             f"({len(self.coords[name])} of them); use nbvi.set_data(..., coords=) to change it")
        self.coords[name] = values

    def add_coords(self, coords):
        """:meth:`add_coord` for each entry of a dict name -> values."""
        for name, values in coords.items():
            self.add_coord(name, values)

    def shape_from_dims(self, dims, name, value_shape=None):
        """The dims of variable or Data ``name`` as a tuple and the shape the coords give them.

        Parameters
        ----------
        dims : str or sequence of str
        name : str
            Named in the errors.
        value_shape : tuple, optional
            The shape of its value (observed data or a Data's array): each dim's length must match it,
            and a dim the model does not know gets the coord ``range(length)``.

        Returns
        -------
        dims : tuple of str
        shape : tuple of int
        """
        dims = (dims,) if isinstance(dims, str) else dims
        if not isinstance(dims, (tuple, list)) or not all(isinstance(d, str) and d for d in dims):
            raise TypeError(f"dims of '{name}' must be a dim name or a tuple of them (e.g. dims=\"county\" or "
                            f"dims=(\"obs_id\",)), got {dims!r}")
        dims = tuple(dims)
        if value_shape is not None and len(value_shape) != len(dims):
            raise ValueError(f"dims {dims} of '{name}' name {len(dims)} axes but its value has shape {value_shape}")
        shape, made_up = [], []
        for axis, dim in enumerate(dims):
            if dim in self.coords:
                length = len(self.coords[dim])
                if value_shape is not None and value_shape[axis] != length:
                    raise ValueError(f"'{name}' has {value_shape[axis]} entries along dim '{dim}' (axis {axis}, "
                                     f"shape {value_shape}), but the model's coord '{dim}' has {length} values")
            elif value_shape is not None:
                length = value_shape[axis]
                made_up.append((dim, length))
            else:
                raise ValueError(f"dims of '{name}': '{dim}' is not a coord of the model (its coords: "
                                 f"{sorted(self.coords)}); add it with nbvi.Model(coords={{'{dim}': values}}) or "
                                 f"model.add_coord('{dim}', values)")
            shape.append(length)
        for dim, length in made_up:
            self.add_coord(dim, range(length))
            self._index_dims.add(dim)
        return dims, tuple(shape)

    def register_data(self, name, data, dims=None):
        """Add a named :class:`~nbvi.data.Data` (created inside the model); ``dims`` name its axes."""
        self._check_name(name)
        if dims is not None:
            dims, _shape = self.shape_from_dims(dims, name, data.shape)
            self.named_vars_to_dims[name] = dims
        self.named_vars[name] = data

    # -- registering ------------------------------------------------------------------------------------
    def _check_name(self, name):
        if not isinstance(name, str) or not name:
            raise TypeError(f"a variable name must be a non-empty string, got {name!r}")
        if name in self.named_vars:
            raise ValueError(f"the model already has a variable named '{name}'")

    def register_rv(self, name, dist, observed=None, total_size=None, transform="default", initval=None):
        """Add a variable; called by ``Family("name", ...)``. Returns its :class:`RandomVariable` node.

        ``initval`` (free variables only) is its initial constrained value, see :meth:`initial_point`."""
        self._check_name(name)
        family = type(dist).__name__
        if observed is None:
            if dist.discrete or dist.observed_only:
                raise TypeError(
                    f"{family} variable '{name}' is discrete: nbvi fits continuous latent variables only. "
                    f"Give it observed data, or marginalise it out (e.g. with a mixture)"
                )
            if 0 in dist.shape:
                raise ValueError(f"{family} variable '{name}': shape {dist.shape} has no elements; a free "
                                 f"variable needs at least one")
            if total_size is not None:
                raise ValueError(f"total_size of '{name}' is meaningful only for observed variables")
            transform = dist.default_transform() if isinstance(transform, str) and transform == "default" else transform
            if transform is not None and not isinstance(transform, Transform):
                raise TypeError(f"transform of '{name}' must be None, \"default\" or a transform of nbvi.transforms "
                                f"(e.g. nbvi.transforms.log), got {transform!r}")
            rv = RandomVariable(name, dist, self, transform=transform)
            rv.initval = _checked_initval(rv, initval)
            self.free_RVs.append(rv)
        else:
            if initval is not None:
                raise ValueError(f"initval of '{name}' applies to free variables only; '{name}' is observed "
                                 f"(its value is data), so leave initval out")
            if not (transform is None or isinstance(transform, str) and transform == "default"):
                raise ValueError(f"transform of '{name}' applies to free variables only; '{name}' is observed "
                                 f"(its value is data), so leave transform out")
            observed = self._observed_node(name, dist, observed)
            if total_size is None and depends_on_minibatch(observed):
                warnings.warn(
                    f"observed variable '{name}' reads a Minibatch but has no total_size: its log-density "
                    f"counts only the batch, so the posterior will be wrong (too wide). Pass e.g. "
                    f"total_size=data.shape",
                    UserWarning,
                    stacklevel=3,
                )
            batched = None
            if isinstance(observed, Minibatch):
                batched = {axis: observed.shared.shape[axis] for axis, _source in observed._axes}
            scale = total_size_scale(total_size, name, observed.shape, batched)
            rv = RandomVariable(name, dist, self, observed=observed, total_size=total_size)
            rv.scale = scale
            storage = observed.shared if isinstance(observed, Minibatch) else observed
            if isinstance(storage, Data):  # its set_value checks new values against this variable's support
                storage._readers.append(weakref.ref(rv))
            self.observed_RVs.append(rv)
        self.named_vars[name] = rv
        self._plan = None
        self._density = None
        return rv

    @staticmethod
    def _observed_node(name, dist, observed):
        family = type(dist).__name__
        if isinstance(observed, np.ma.MaskedArray):
            masked = int(np.count_nonzero(np.ma.getmaskarray(observed)))
            if masked:
                raise ValueError(
                    f"observed data of {family} variable '{name}' is a masked array with {masked} masked entries "
                    f"of {observed.size}: PyMC imputes masked observations as free variables, nbvi does not yet. "
                    f"Drop the masked entries (e.g. observed=data.compressed() for 1-d data), or model them explicitly")
            observed = observed.data  # nothing masked: the plain data
        if isinstance(observed, Node):
            node = observed
        else:
            array = np.asarray(observed)
            if array.dtype.kind not in "biuf":
                raise TypeError(f"observed data of '{name}' must be real numbers, got dtype {array.dtype}")
            if array.size == 0:
                raise ValueError(f"observed data of '{name}' is empty")
            if array.dtype.kind in "fc" and not np.all(np.isfinite(array)):
                bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
                raise ValueError(f"observed data of {family} variable '{name}' contains {bad} NaN or inf values")
            node = Constant(array.astype(np.float64))
        if node.shape != dist.shape:
            raise ValueError(
                f"observed data of {family} variable '{name}' has shape {node.shape}, but the variable's "
                f"shape is {dist.shape}"
            )
        if isinstance(node, Leaf) and node.value() is not None:
            # all of a minibatch's data, not only the batch it holds now
            value = node.shared.get_value() if isinstance(node, Minibatch) else node.value()[0]
            try:
                dist.check_observed_values(value)
            except ValueError as err:
                raise ValueError(f"{family} variable '{name}': {err}") from None
        return node

    def add_deterministic(self, name, node):
        self._check_name(name)
        if not isinstance(node, Node):
            array = arguments.real_array(node, f"Deterministic '{name}': the value (a graph node or numbers)")
            if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
                raise ValueError(f"Deterministic '{name}': the value contains NaN or inf")
            node = Constant(array)
        elif node.op is None or node.name is not None:
            # a variable, data or an already named expression: name a new node, leave the original's name
            node = reshape(node, node.shape)
        node.name = name
        self.deterministics.append(node)
        self.named_vars[name] = node
        return node

    # -- the flat unconstrained layout --------------------------------------------------------------------
    def _layout(self):
        """Per free variable: (rv, slice into theta, unconstrained shape)."""
        entries, start = [], 0
        for rv in self.free_RVs:
            ushape = rv.transform.unconstrained_shape(rv.shape) if rv.transform is not None else rv.shape
            size = int(np.prod(ushape, dtype=np.int64))
            entries.append((rv, slice(start, start + size), tuple(ushape)))
            start += size
        return entries, start

    @property
    def ndim(self):
        """Size of the flat unconstrained parameter vector."""
        return self._layout()[1]

    def variable_layout(self):
        """Where each free variable lives in theta: a list of (variable, slice of theta, unconstrained shape)."""
        return self._layout()[0]

    def constrained_values(self, theta):
        """Constrained values of the free variables at theta (D, ndim), in ``free_RVs`` order: ``(D, *shape)`` each."""
        _, layout, ndim = self._joint()
        return self._constrained(self._as_theta(theta, ndim), layout)[1]

    def initial_point(self):
        """Initial constrained value of every free variable: {name: array of its shape}.

        A variable's ``initval=`` if it was given one, else its family's moment (mean, median or mode) at
        the initial values of the variables its parameters read."""
        values = {}
        # an observed variable whose data is an expression (not a leaf) stands for that expression's value
        expressions = [rv for rv in self.observed_RVs if not isinstance(rv.observed, Leaf)]
        for rv in self.free_RVs:
            if rv.initval is not None:
                values[rv] = rv.initval.copy()
                continue
            known = dict(values)
            for observed in expressions:
                try:
                    known[observed] = np.asarray(eval_node(observed.observed, values))
                except ValueError:  # it reads a free variable that has no value yet
                    continue
            try:
                values[rv] = rv.dist.initial_value(replacements=known)
            except ValueError as err:
                raise ValueError(f"initial point of '{rv.name}': {err}") from None
        return {rv.name: value for rv, value in values.items()}

    def initial_point_flat(self):
        """Initial point in the flat unconstrained space, shape (ndim,)."""
        return self.flat_from_point(self.initial_point())

    def flat_from_point(self, point):
        """Map {name: constrained value} of every free variable to the flat unconstrained space (ndim,)."""
        layout, ndim = self._layout()
        missing = [rv.name for rv, _, _ in layout if rv.name not in point]
        if missing:
            raise ValueError(f"the point needs a value for every free variable; missing: {missing}")
        theta = np.empty(ndim)
        for rv, where, _ushape in layout:
            x = arguments.real_array(point[rv.name], f"value of '{rv.name}'").astype(np.float64)
            if x.shape != rv.shape:
                raise ValueError(f"value of '{rv.name}' has shape {x.shape}, the variable has shape {rv.shape}")
            if not np.all(np.isfinite(x)):
                raise ValueError(f"value of '{rv.name}' contains NaN or inf")
            x = x[None]
            with np.errstate(invalid="ignore", divide="ignore"):  # (a value outside the support is named below)
                u = np.asarray(rv.transform.forward(x) if rv.transform is not None else x)
            if not np.all(np.isfinite(u)):
                raise ValueError(f"value of '{rv.name}' lies outside its support {rv.dist.support} "
                                 f"(got {x[0].tolist()})")
            theta[where] = u.reshape(-1)
        return theta

    # -- evaluation ---------------------------------------------------------------------------------------
    def _joint(self):
        """The planned walk from free-variable values to the joint log-density (built once, then reused)."""
        if self._plan is None:
            terms = []
            for rv in self.free_RVs:
                if not rv.dist.logp_is_zero:  # (a Flat prior adds 0 to the density and to every gradient)
                    terms.extend(rv.dist.logp_terms(rv))
            for rv in self.observed_RVs:
                terms.extend(rv.dist.logp_terms(rv.observed, rv.scale))
            if self.potentials:
                from nbvi.potential import PotentialTerm

                terms.extend(PotentialTerm()(node) for node in self.potentials)
            if not terms and self.free_RVs:  # only Flat variables: one zero term keeps the program's shape
                rv = self.free_RVs[0]
                terms.extend(rv.dist.logp_terms(rv))
            if not terms:
                raise ValueError("the model has no variables")
            total = terms[0] if len(terms) == 1 else add_n(*terms)
            swaps = {rv: rv.observed for rv in self.observed_RVs if not isinstance(rv.observed, Leaf)}
            layout, ndim = self._layout()
            self._plan = (Program([total], list(self.free_RVs), swaps), layout, ndim)
        return self._plan

    def work_per_draw(self):
        """Elements the log-density's kernels loop over at one point: every observed value (a minibatch's
        batch) and every free variable. A fit uses it to decide whether threads pay off."""
        sizes = [rv.observed.size for rv in self.observed_RVs] + [rv.size for rv in self.free_RVs]
        return int(sum(sizes))

    def minibatches(self):
        """The Minibatch nodes the joint log-density reads; a fit draws new batches for them every step."""
        program = self._joint()[0]
        found = {}
        for _slot, leaf in program.leaves + program.leaves_in_place:
            for node in (leaf, getattr(leaf, "observed", None)):  # an observed variable reads its data
                if isinstance(node, Minibatch) and node._axes:
                    found[id(node)] = node
        return list(found.values())

    def _as_theta(self, theta, ndim):
        theta = arguments.real_array(theta, "theta").astype(np.float64, copy=False)
        if theta.ndim == 1:
            theta = theta[None]
        if theta.ndim != 2 or theta.shape[1] != ndim:
            raise ValueError(f"theta must have shape (D, {ndim}) or ({ndim},), got {theta.shape}")
        return theta

    def _constrained(self, theta, layout):
        """Split theta into per-variable unconstrained values and map them to constrained space."""
        draws = theta.shape[0]
        us, xs = [], []
        if len(layout) == 1 and theta.flags.c_contiguous:  # one variable: theta itself, reshaped
            rv, _, ushape = layout[0]
            u = theta.reshape((draws,) + ushape)
            return [u], [rv.transform.backward(u) if rv.transform is not None else u]
        for rv, where, ushape in layout:
            u = np.ascontiguousarray(theta[:, where]).reshape((draws,) + ushape)
            us.append(u)
            xs.append(rv.transform.backward(u) if rv.transform is not None else u)
        return us, xs

    def logp_dlogp(self, theta):
        """Joint log-density in unconstrained space and its gradient, at D points.

        Models that are a sum of scalar terms over variables and data run one specialised kernel
        (:class:`~nbvi.fused.density.FusedDensity`), most others the tape interpreter
        (:class:`~nbvi.compiled.density.CompiledDensity`): see :meth:`compiled_density`; the rest walk the
        graph (``nbvi.explain``).

        Parameters
        ----------
        theta : ndarray, shape (D, ndim)

        Returns
        -------
        logp : ndarray, shape (D,)
        grad : ndarray, shape (D, ndim)
        """
        program, layout, ndim = self._plan or self._joint()
        if not (type(theta) is np.ndarray and theta.ndim == 2 and theta.dtype == np.float64 and theta.shape[1] == ndim):
            theta = self._as_theta(theta, ndim)
        density = self.compiled_density()
        if density is not None:
            return density.logp_dlogp(theta)
        return self._graph_logp_dlogp(theta)

    def compiled_density(self):
        """The compiled density ``logp_dlogp`` runs: the first of ``DENSITY_BUILDERS`` that takes the model
        (the fused kernel for a sum of scalar terms, else the tape), or None (the graph is walked, with a
        NotCompiledWarning unless that is a documented case; ``nbvi.explain`` says why). Built again after a
        ``set_value`` of data it copied. None as well when ``logp_dlogp`` is overridden (by a subclass or on
        the instance), which the inference methods must then ask instead."""
        if type(self).logp_dlogp is not Model.logp_dlogp or "logp_dlogp" in vars(self):
            return None
        density = self._density
        if density is None or not density.is_current():
            density = self._density = self._build_density()
        return density if density else None

    def _build_density(self):
        refusals = []
        for build in DENSITY_BUILDERS:
            density = build(self)
            if density:
                return density
            refusals.append(density)
        refusal = NoCompiledDensity(refusals)
        if not refusal.expected:
            warnings.warn(
                f"the model's log-density is not compiled ({refusal.reason}): logp_dlogp walks the graph op "
                f"by op from Python, which is much slower. nbvi.explain(model) says more.",
                NotCompiledWarning, stacklevel=4)
        return refusal

    def _graph_logp_dlogp(self, theta):
        """``logp_dlogp`` by walking the graph (every model; theta already checked)."""
        program, layout, ndim = self._plan or self._joint()
        us, xs = self._constrained(theta, layout)
        logp, grads_x = program.value_and_grad(xs)
        draws = theta.shape[0]
        if logp.shape[0] != draws:  # a model whose density does not depend on theta
            logp = np.full(draws, logp[0])
        if len(layout) == 1 and layout[0][0].transform is None:  # one untransformed variable
            return logp, grads_x[0].reshape(draws, ndim)  # the program's gradients are fresh arrays
        grad = np.empty_like(theta)
        for (rv, where, _ushape), u, x, gx in zip(layout, us, xs, grads_x):
            if rv.transform is None:
                grad[:, where] = gx.reshape(draws, -1)
                continue
            log_jac, gu = rv.transform.density_terms(u, x, gx)
            logp = logp + log_jac
            grad[:, where] = gu.reshape(draws, -1)
        return logp, grad

    def logp(self, point, jacobian=False):
        """Joint log-density at one point.

        Parameters
        ----------
        point : dict
            {name: constrained value} for every free variable (e.g. ``initial_point()``).
        jacobian : bool
            Add the log-Jacobians of the transforms (the density in unconstrained space).

        Returns
        -------
        float
        """
        program, layout, ndim = self._joint()
        missing = [rv.name for rv in self.free_RVs if rv.name not in point]
        if missing:
            raise ValueError(f"logp needs a value for every free variable; missing: {missing}")
        xs = []
        for rv in self.free_RVs:
            x = arguments.real_array(point[rv.name], f"value of '{rv.name}'").astype(np.float64, copy=False)
            if x.shape != rv.shape:
                raise ValueError(f"value of '{rv.name}' has shape {x.shape}, the variable has shape {rv.shape}")
            xs.append(x[None])
        (total,) = program.run(xs)
        value = float(total[0])
        if jacobian:
            for rv, x in zip(self.free_RVs, xs):
                if rv.transform is not None:
                    value += float(rv.transform.log_jac_det(rv.transform.forward(x))[0])
        return value

    # -- PyMC's views of the variables and its point functions ------------------------------------------
    @property
    def value_vars(self):
        """The free variables, whose values a point holds (PyMC's value variables), in ``free_RVs`` order."""
        return list(self.free_RVs)

    @property
    def basic_RVs(self):
        """Free then observed variables (PyMC's ``basic_RVs``)."""
        return self.free_RVs + self.observed_RVs

    @property
    def unobserved_RVs(self):
        """Free variables then deterministics (PyMC's ``unobserved_RVs``)."""
        return self.free_RVs + self.deterministics

    @property
    def continuous_value_vars(self):
        """The free variables: all of nbvi's are continuous."""
        return list(self.free_RVs)

    @property
    def discrete_value_vars(self):
        """An empty list: nbvi has no discrete free variables."""
        return []

    def _factors(self, vars, what):
        """The free and observed variables and potentials named by ``vars`` (nodes or names; None: all)."""
        everything = self.free_RVs + self.observed_RVs + self.potentials
        if vars is None:
            return everything
        if isinstance(vars, (str, Node)):
            vars = [vars]
        if not isinstance(vars, (list, tuple)):
            raise TypeError(f"{what}: vars must be a list of variables, potentials or their names, got "
                            f"{type(vars).__name__}")
        factors = []
        for var in vars:
            node = self.named_vars.get(var) if isinstance(var, str) else var
            if not any(node is factor for factor in everything):
                shown = var if isinstance(var, str) else getattr(var, "name", None) or var
                raise ValueError(f"{what}: vars: {shown!r} is not a free or observed variable or a potential of the "
                                 f"model; those are {[factor.name for factor in everything]}")
            if not any(node is factor for factor in factors):
                factors.append(node)
        return factors

    def _factor_term(self, factor):
        """The log-density term (a 0-d node) of a free or observed variable or a potential."""
        if any(factor is potential for potential in self.potentials):
            from nbvi.potential import PotentialTerm

            return PotentialTerm()(factor)
        if factor.observed is None:
            terms = factor.dist.logp_terms(factor)
        else:
            terms = factor.dist.logp_terms(factor.observed, factor.scale)
        return terms[0] if len(terms) == 1 else add_n(*terms)

    def _swaps(self):
        """Observed variables whose data is an expression stand for that expression in every Program."""
        return {rv: rv.observed for rv in self.observed_RVs if not isinstance(rv.observed, Leaf)}

    def _point_values(self, point, what):
        """Constrained values ``(1, *shape)`` of the free variables at ``point``, in ``free_RVs`` order.

        A point holds each free variable's constrained value under its name (as :meth:`initial_point`), or a
        transformed variable's unconstrained value under PyMC's name ``<name>_<transform>__``
        (``sigma_log__``, as ``find_MAP`` reports it); other entries are ignored. None: the initial point.
        """
        if point is None:
            point = self.initial_point()
        if not isinstance(point, dict):
            raise TypeError(f"{what}: the point must be a dict name -> value, got {type(point).__name__}")
        xs, missing = [], []
        for rv in self.free_RVs:
            pymc_key = pymc_name(rv)
            if rv.name in point:
                x = arguments.real_array(point[rv.name], f"{what}: value of '{rv.name}'").astype(np.float64)
                if x.shape != rv.shape:
                    raise ValueError(f"{what}: value of '{rv.name}' has shape {x.shape}, the variable has shape "
                                     f"{rv.shape}")
                xs.append(x[None])
            elif pymc_key is not None and pymc_key in point:
                xs.append(value_from_pymc_name(rv, point[pymc_key], what))
            else:
                missing.append(rv.name)
        if missing:
            raise ValueError(f"{what}: the point has no value of the free variable(s) {missing}; give each "
                             f"constrained value by its name (as model.initial_point() does)")
        return xs

    @staticmethod
    def _log_jacobian(rv, x):
        """log|det dx/du| of ``rv``'s transform at constrained ``x`` (1, *shape); -inf outside the support."""
        with np.errstate(invalid="ignore", divide="ignore"):
            value = float(rv.transform.log_jac_det(rv.transform.forward(x))[0])
        return value if np.isfinite(value) else -np.inf

    def _factor_logps(self, factors, jacobian):
        """A function of the free values (see :meth:`_point_values`) giving each factor's log-density (floats),
        with the log-Jacobian of a transformed free variable's transform added to its own term."""
        program = Program([self._factor_term(f) for f in factors], list(self.free_RVs), self._swaps()) if factors else None
        position = {id(rv): i for i, rv in enumerate(self.free_RVs)}

        def factor_logps(xs):
            values = [float(np.asarray(v).reshape(-1)[0]) for v in program.run(xs)] if factors else []
            if jacobian:
                for k, factor in enumerate(factors):
                    i = position.get(id(factor))
                    if i is not None and factor.transform is not None:
                        values[k] += self._log_jacobian(factor, xs[i])
            return values

        return factor_logps

    def compile_logp(self, vars=None, jacobian=True, sum=True):
        """PyMC's ``model.compile_logp``: a function of a point giving the log-density.

        Parameters
        ----------
        vars : list of variables, potentials or their names, optional
            The terms to add (free and observed variables, potentials); default: all of them.
        jacobian : bool
            Add the log-Jacobians of the transforms of the free variables among ``vars`` (the density of the
            unconstrained values, which the samplers see).
        sum : bool
            True: one float. False: a list with one array per term, the log-density of each element (event)
            of a variable, of shape its batch shape (``compute_log_likelihood``'s), or a potential's values.

        Returns
        -------
        callable
            ``point -> float`` (or list of ndarray). ``point``: a dict of every free variable's constrained
            value by name, as :meth:`initial_point` gives (a transformed one may instead be given
            unconstrained under PyMC's name, ``sigma_log__``); other entries are ignored. A value outside
            the support gives -inf.
        """
        factors = self._factors(vars, "compile_logp")
        jacobian = arguments.flag(jacobian, "jacobian")
        if not arguments.flag(sum, "sum"):
            return self._elementwise_logp(factors, jacobian)
        factor_logps = self._factor_logps(factors, jacobian)

        def logp(point):
            return float(np.sum(factor_logps(self._point_values(point, "compile_logp"))))

        return logp

    def _elementwise_logp(self, factors, jacobian):
        """``compile_logp(sum=False)``: point -> [elementwise log-density of each factor]."""
        from nbvi.predictive import family_params, parameter_values

        inputs, swaps = list(self.free_RVs), self._swaps()
        position = {id(rv): i for i, rv in enumerate(self.free_RVs)}
        for factor in factors:
            if isinstance(getattr(factor, "observed", None), Minibatch):
                raise ValueError(f"compile_logp(sum=False): '{factor.name}' is observed through a Minibatch; its "
                                 f"elementwise log-density needs the full data (build the model with nbvi.Data)")

        def logp(point):
            xs = self._point_values(point, "compile_logp")
            out = []
            for factor in factors:
                if not isinstance(factor, RandomVariable):  # a potential: its own values
                    (value,) = Program([factor], inputs, swaps).run(xs)
                    out.append(np.array(np.broadcast_to(value[0], factor.shape), dtype=np.float64))
                    continue
                i = position.get(id(factor))
                value = xs[i] if i is not None else Program([factor.observed], inputs, swaps).run(xs)[0]
                known = {rv.name: x for rv, x in zip(self.free_RVs, xs)}
                params, _ndims = family_params(factor.dist, parameter_values(self, factor, known))
                with np.errstate(invalid="ignore", divide="ignore"):
                    lp = np.asarray(factor.dist.logp_elementwise(value, **params), dtype=np.float64)[0]
                if factor.observed is not None and factor.scale is not None:
                    lp = lp * factor.scale(value.shape[1:])
                if jacobian and i is not None and factor.transform is not None:
                    lp = lp + self._elementwise_log_jacobian(factor, value, lp.shape)
                out.append(np.asarray(lp))
            return out

        return logp

    def _elementwise_log_jacobian(self, rv, x, shape):
        """The log-Jacobian of ``rv``'s transform at ``x`` (1, *shape) per element (per event), shape ``shape``."""
        from nbvi.transforms import ElementwiseTransform

        with np.errstate(invalid="ignore", divide="ignore"):
            u = rv.transform.forward(x)
            if isinstance(rv.transform, ElementwiseTransform):
                return np.broadcast_to(rv.transform._log_dx_du(u), u.shape)[0]
            events = int(np.prod(shape, dtype=np.int64))
            if u.size != events * u.shape[-1]:
                raise ValueError(f"compile_logp(sum=False, jacobian=True): the {type(rv.transform).__name__} of "
                                 f"'{rv.name}' maps events of more than its last axis; use jacobian=False or sum=True")
            # an event is the last axis (a simplex): each event a row, as the draws of one call
            return np.reshape(rv.transform.log_jac_det(u.reshape(events, u.shape[-1])), shape)

    def compile_dlogp(self, vars=None, jacobian=True):
        """PyMC's ``model.compile_dlogp``: a function of a point giving the gradient of the log-density.

        Parameters
        ----------
        vars : list of free variables or their names, optional
            The variables to differentiate with respect to, in this order; default: all free variables.
        jacobian : bool
            Include the log-Jacobians of the transforms (as ``logp_dlogp`` does).

        Returns
        -------
        callable
            ``point -> ndarray (n,)``: the gradient with respect to each variable's *unconstrained* value
            (PyMC's value variables: ``log(sigma)`` for a positive ``sigma``), flattened and concatenated
            in the order of ``vars``; ``n`` the sum of their unconstrained sizes (``model.ndim`` for all).
            ``point`` as for :meth:`compile_logp`; a value outside the support is a ValueError.
        """
        if vars is None:
            wrt = list(self.free_RVs)
        else:
            wrt = self._factors(vars, "compile_dlogp")
            observed = [v.name for v in wrt if not any(v is rv for rv in self.free_RVs)]
            if observed:
                raise ValueError(f"compile_dlogp: vars: {observed} are not free variables: the gradient is taken "
                                 f"with respect to free variables only ({[rv.name for rv in self.free_RVs]})")
        jacobian = arguments.flag(jacobian, "jacobian")
        where = {id(rv): slot for rv, slot, _ in self.variable_layout()}
        slots = [where[id(rv)] for rv in wrt]

        def dlogp(point):
            xs = self._point_values(point, "compile_dlogp")
            try:
                theta = self.flat_from_point({rv.name: x[0] for rv, x in zip(self.free_RVs, xs)})
            except ValueError as err:
                raise ValueError(f"compile_dlogp: {err}") from None
            if jacobian:
                _, grad = self.logp_dlogp(theta[None])
            else:
                from nbvi.optimize import jacobian_free

                _, grad = jacobian_free(self)(theta[None])
            return np.concatenate([grad[0, slot] for slot in slots]) if slots else np.zeros(0)

        return dlogp

    def point_logps(self, point=None, round_vals=2):
        """PyMC's ``model.point_logps``: the log-density of each variable and potential at a point.

        Parameters
        ----------
        point : dict, optional
            As for :meth:`compile_logp`; default: :meth:`initial_point`.
        round_vals : int
            Decimals to round to.

        Returns
        -------
        dict name -> float
            Free variables (log-Jacobian of the transform included, as PyMC), observed variables and
            potentials, in that order.
        """
        round_vals = arguments.integer(round_vals, "round_vals")
        factors = self.free_RVs + self.observed_RVs + self.potentials
        values = self._factor_logps(factors, True)(self._point_values(point, "point_logps"))
        return {factor.name: float(np.round(value, round_vals)) for factor, value in zip(factors, values)}

    def debug(self, point=None, fn="logp", verbose=False):
        """Print why the log-density or its gradient is not finite at a point (PyMC's ``model.debug``).

        Each free value is checked against its support, then each variable's term, each transform's
        log-Jacobian and the gradient (the check ``sample`` and ``find_MAP`` run when they cannot start).

        Parameters
        ----------
        point : dict, optional
            As for :meth:`compile_logp`; default: :meth:`initial_point`.
        fn : {"logp", "dlogp"}
            Taken as PyMC takes it; both check the log-density and its gradient.
        verbose : bool
            Also print every term's log-density (:meth:`point_logps`).
        """
        if fn not in ("logp", "dlogp"):
            raise ValueError(f"debug: fn must be 'logp' or 'dlogp', got {fn!r}")
        arguments.flag(verbose, "verbose")
        xs = self._point_values(point, "debug")
        named = {rv.name: x[0] for rv, x in zip(self.free_RVs, xs)}
        if verbose:
            print(f"point_logps: {self.point_logps(named)}")
        outside = []
        for rv, x in zip(self.free_RVs, xs):
            try:
                _checked_initval(rv, x[0], what=f"the value of '{rv.name}'")
            except ValueError as err:
                outside.append(str(err))
        if outside:
            print("The point is outside the support: " + "; ".join(outside) + ".")
            return
        from nbvi.sampling.sample import support_report

        theta = self.flat_from_point(named)
        logp, grad = self.logp_dlogp(theta[None])
        if np.isfinite(logp[0]) and np.all(np.isfinite(grad)):
            print(f"No problems found: the log-density ({float(logp[0])}) and its gradient are finite at the point.")
            return
        print(f"The log-density at the point is {float(logp[0])}. {support_report(self, theta)}")

    def unravel(self, theta):
        """Constrained draws of every free variable and deterministic.

        Parameters
        ----------
        theta : ndarray, shape (D, ndim) or (ndim,)

        Returns
        -------
        dict name -> ndarray (D, *shape)
        """
        _, layout, ndim = self._joint()
        theta = self._as_theta(theta, ndim)
        draws = theta.shape[0]
        _, xs = self._constrained(theta, layout)
        out = {rv.name: x for (rv, _, _), x in zip(layout, xs)}
        if self.deterministics:
            swaps = {rv: rv.observed for rv in self.observed_RVs if not isinstance(rv.observed, Leaf)}
            program = Program(self.deterministics, list(self.free_RVs), swaps)
            for node, value in zip(self.deterministics, program.run(xs)):
                out[node.name] = np.broadcast_to(value, (draws,) + value.shape[1:]).copy()
        return out


def pymc_name(rv):
    """PyMC's name of a transformed free variable's unconstrained value (``sigma_log__``), else None."""
    return f"{rv.name}_{rv.transform.name}__" if rv.transform is not None else None


def value_from_pymc_name(rv, u, what):
    """The constrained value ``(1, *shape)`` of ``rv`` from its unconstrained value ``u`` given under PyMC's
    name (:func:`pymc_name`); ValueError or TypeError naming ``what`` and the name for a wrong value."""
    name = pymc_name(rv)
    u = arguments.real_array(u, f"{what}: value of '{name}'").astype(np.float64)
    ushape = tuple(rv.transform.unconstrained_shape(rv.shape))
    if u.shape != ushape:
        raise ValueError(f"{what}: value of '{name}' has shape {u.shape}, the unconstrained shape of '{rv.name}' "
                         f"is {ushape}")
    with np.errstate(over="ignore"):  # (an infinite value is named where it is used)
        return np.asarray(rv.transform.backward(u[None]), dtype=np.float64)


def Deterministic(name, node, dims=None, model=None):
    """Register ``node`` under ``name`` so that traces and ``unravel`` report its value.

    ``dims`` (a dim name or a tuple of them) names its axes, as for a variable; they must fit its shape.
    ``model``: the model (by default that of the ``with`` block). Returns the node (with its name set).
    """
    model = Model.get_context(f"Deterministic '{name}'") if model is None else modelcontext(model)
    if dims is not None:
        dims = model.shape_from_dims(dims, name, node.shape if isinstance(node, Node) else np.shape(node))[0]
    node = model.add_deterministic(name, node)
    if dims is not None:
        model.named_vars_to_dims[name] = dims
    return node


def modelcontext(model=None):
    """``model`` if given, else the model of the innermost ``with`` block; TypeError when there is none, and
    for something that is not a model (neither an nbvi Model nor an object with its ``ndim`` and
    ``logp_dlogp``)."""
    if model is None:
        stack = getattr(_context, "stack", None)
        if not stack:
            raise TypeError("no model given and none in context: pass model=... or call this inside "
                            "`with model:`")
        return stack[-1]
    if not isinstance(model, Model) and not (hasattr(model, "ndim") and hasattr(model, "logp_dlogp")):
        raise TypeError(f"model must be an nbvi.Model, got {model!r}")
    return model


def set_data(new_data, model=None, coords=None):
    """Set the values of named Data of a model, as PyMC's ``pm.set_data``.

    Each value goes through :meth:`~nbvi.data.Data.set_value` (same rank, only the rows may change, inside
    the support of the observed variables that read it); the compiled log-density is rebuilt on its next
    call. A Data created with ``dims`` that changes length along a dim needs that dim's new values in
    ``coords``, unless the dim was made up as ``range(n)`` (then it follows the data). Nothing changes when
    any value or coord is refused.

    Parameters
    ----------
    new_data : dict name -> array_like
        Names of Data created inside the model (``nbvi.Data("x", value)``).
    model : Model, optional
        Default: the model of the innermost ``with`` block.
    coords : dict name -> values, optional
        New values of coords whose length changes (e.g. ``{"obs_id": range(len(x_new))}``).
    """
    model = modelcontext(model)
    if not isinstance(model, Model):
        raise TypeError(f"set_data needs an nbvi.Model, got {type(model).__name__}")
    if not isinstance(new_data, dict):
        raise TypeError(f"set_data: new_data must be a dict name -> value, got {type(new_data).__name__}")
    coords = {} if coords is None else coords
    if not isinstance(coords, dict):
        raise TypeError(f"set_data: coords must be a dict name -> values, got {type(coords).__name__}")
    known = [name for name, node in model.named_vars.items() if isinstance(node, Data)]
    for name in new_data:
        if not isinstance(model.named_vars.get(name), Data):
            what = "a variable, not a Data," if name in model.named_vars else "not in the model"
            raise ValueError(f"set_data: '{name}' is {what}; the model's Data are {known}. (A Data is registered "
                             f"when created by name inside the model: nbvi.Data('{name}', value))")
    new_coords = {dim: _coord_values(dim, values) for dim, values in coords.items()}
    for name, value in new_data.items():
        dims, shape = model.named_vars_to_dims.get(name, ()), np.shape(value)
        if len(shape) != len(dims):  # (a wrong rank is set_value's error)
            continue
        for dim, length in zip(dims, shape):
            if dim in new_coords:
                if len(new_coords[dim]) != length:
                    raise ValueError(f"set_data: Data '{name}' gets {length} entries along dim '{dim}' but "
                                     f"coords['{dim}'] has {len(new_coords[dim])} values")
            elif length != len(model.coords[dim]):
                if dim not in model._index_dims:
                    raise ValueError(f"set_data: Data '{name}' gets {length} entries along dim '{dim}', whose coord "
                                     f"has {len(model.coords[dim])} values: pass its new values, "
                                     f"coords={{'{dim}': ...}}")
                new_coords[dim] = tuple(range(length))
    for dim, values in new_coords.items():
        if dim in model.coords and len(values) != len(model.coords[dim]):
            fixed = [rv.name for rv in model.free_RVs if dim in model.named_vars_to_dims.get(rv.name, ())]
            if fixed:
                raise ValueError(f"set_data: coord '{dim}' cannot change length ({len(model.coords[dim])} -> "
                                 f"{len(values)}): free variables {fixed} have that dim, and their shape is fixed")
    old = {name: model.named_vars[name]._value for name in new_data}
    try:
        for name, value in new_data.items():
            model.named_vars[name].set_value(value)
    except (TypeError, ValueError):
        for name, value in old.items():
            model.named_vars[name]._store(value)
        raise
    model.coords.update(new_coords)


__all__ = ["Deterministic", "Model", "NotCompiledWarning", "RandomVariable", "eval_node", "modelcontext", "set_data"]
